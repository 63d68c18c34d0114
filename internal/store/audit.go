package store

import (
	"context"
	"strconv"
	"strings"
)

// AuditEvent is one row of the audit log.
type AuditEvent struct {
	UID            string
	WorkspaceID    int64
	ActorMemberUID string
	ActorKeyUID    string
	ActorKeyPrefix string
	Action         string
	TargetType     string
	TargetUID      string
	Detail         string // JSON object, never a secret
	CreatedAt      int64  // unix ms
}

// InsertAuditEvent records one audit event. When actorKeyID is non-zero the
// key's display prefix is copied from api_keys.
func InsertAuditEvent(ctx context.Context, q Querier, e AuditEvent, actorKeyID int64) error {
	_, err := q.execContext(ctx, `
		INSERT INTO audit_events (uid, workspace_id, actor_member_uid, actor_key_uid, actor_key_prefix, action,
			target_type, target_uid, detail, created_at)
		VALUES ($1, $2, $3, $4, COALESCE((SELECT prefix FROM api_keys WHERE id = $5), $6), $7, $8, $9, $10, $11)`,
		e.UID, e.WorkspaceID, e.ActorMemberUID, e.ActorKeyUID, actorKeyID, e.ActorKeyPrefix, e.Action,
		e.TargetType, e.TargetUID, e.Detail, e.CreatedAt)
	return unable(err, "insert audit event")
}

// MemberWorkspace returns the workspace id of a member by uid (0 when none).
func MemberWorkspace(ctx context.Context, q Querier, memberUID string) (int64, error) {
	var id int64
	err := q.queryRowContext(ctx, `SELECT workspace_id FROM members WHERE uid = $1`, memberUID).Scan(&id)
	return id, unable(err, "read member workspace")
}

// AuditFilter narrows ListAuditEvents. Zero values do not filter.
type AuditFilter struct {
	Actor      string // member uid, key uid or key prefix
	Action     string
	TargetType string
	TargetUID  string
	Since      int64 // unix ms, inclusive
	Until      int64 // unix ms, exclusive
	Limit      int
	Offset     int
}

// ListAuditEvents lists a workspace's audit events, newest first.
func ListAuditEvents(ctx context.Context, q Querier, workspaceID int64, f AuditFilter) ([]AuditEvent, error) {
	var where []string
	args := []any{workspaceID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Actor != "" {
		add("(actor_member_uid = ? OR actor_key_uid = ? OR actor_key_prefix = ?)", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.TargetType != "" {
		add("target_type = ?", f.TargetType)
	}
	if f.TargetUID != "" {
		add("target_uid = ?", f.TargetUID)
	}
	if f.Since > 0 {
		add("created_at >= ?", f.Since)
	}
	if f.Until > 0 {
		add("created_at < ?", f.Until)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	sqlText := `SELECT uid, workspace_id, actor_member_uid, actor_key_uid, actor_key_prefix, action, target_type, target_uid,
		detail, created_at FROM audit_events WHERE workspace_id = $1`
	for _, w := range where {
		sqlText += " AND " + w
	}
	args = append(args, f.Limit, f.Offset)
	sqlText += " ORDER BY created_at DESC, id DESC LIMIT $" + strconv.Itoa(len(args)-1) + " OFFSET $" + strconv.Itoa(len(args))
	out, err := queryAll(ctx, q, func(row scanner) (AuditEvent, error) {
		var e AuditEvent
		err := row.Scan(&e.UID, &e.WorkspaceID, &e.ActorMemberUID, &e.ActorKeyUID, &e.ActorKeyPrefix, &e.Action,
			&e.TargetType, &e.TargetUID, &e.Detail, &e.CreatedAt)
		return e, err
	}, sqlText, args...)
	return out, unable(err, "list the audit events of workspace %d", workspaceID)
}
