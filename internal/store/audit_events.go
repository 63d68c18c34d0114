package store

import "context"

// The audit log's entry points: each reads or writes on the handle it needs,
// so that callers never pick one.

// RecordAuditEvent stores an audit event (see InsertAuditEvent).
func (db *Store) RecordAuditEvent(ctx context.Context, e AuditEvent, actorKeyID int64) error {
	return InsertAuditEvent(ctx, sqlQ{db.write}, e, actorKeyID)
}

// MemberWorkspaceID is the workspace of a member (see MemberWorkspace).
func (db *Store) MemberWorkspaceID(ctx context.Context, memberUID string) (int64, error) {
	return MemberWorkspace(ctx, db.r, memberUID)
}

// AuditEvents lists a workspace's audit events (see ListAuditEvents).
func (db *Store) AuditEvents(ctx context.Context, workspaceID int64, f AuditFilter) ([]AuditEvent, error) {
	return ListAuditEvents(ctx, db.r, workspaceID, f)
}
