package workspace

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/store"
)

// The audit log: one event per successful change made through the API
// (the api package decides which routes are audited and what they record).

// RecordAudit stores an audit event; keyID is the acting API key's (0 for a
// member's session or the operator).
func (s *Service) RecordAudit(ctx context.Context, e store.AuditEvent, keyID int64) error {
	return s.DB.RecordAuditEvent(ctx, e, keyID)
}

// MemberWorkspaceID is the workspace of a member, for an event whose actor
// has no principal yet (an invitation just accepted).
func (s *Service) MemberWorkspaceID(ctx context.Context, memberUID string) (int64, error) {
	return s.DB.MemberWorkspaceID(ctx, memberUID)
}

// AuditEvents lists a workspace's audit events.
func (s *Service) AuditEvents(ctx context.Context, workspaceID int64, f store.AuditFilter) ([]store.AuditEvent, error) {
	return s.DB.AuditEvents(ctx, workspaceID, f)
}
