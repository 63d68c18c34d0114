package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Queries of the operator's command line (firstmate keys ...): they look
// across workspaces, which no API route does.

// WorkspacesByRef finds the tenant workspaces (never the operator's pool)
// whose uid is ref, or else whose name is ref, compared without case.
func WorkspacesByRef(ctx context.Context, q Querier, ref string) ([]model.Workspace, error) {
	list := func(query string) ([]model.Workspace, error) {
		out, err := queryAll(ctx, q, scanWorkspace,
			`SELECT `+workspaceCols+` FROM workspaces WHERE NOT operator_pool AND `+query+` ORDER BY id`, ref)
		return out, unable(err, "find workspace %q", ref)
	}
	byUID, err := list(`uid = $1`)
	if err != nil || len(byUID) > 0 {
		return byUID, err
	}
	return list(`LOWER(name) = LOWER($1)`)
}

// MemberByRole returns the earliest member of a workspace with a role.
func MemberByRole(ctx context.Context, q Querier, workspaceID int64, role string) (model.Member, error) {
	return scanMember(q.queryRowContext(ctx,
		`SELECT `+memberCols+` FROM members WHERE workspace_id = $1 AND role = $2 ORDER BY id LIMIT 1`, workspaceID, role))
}

// MemberByUIDOrEmail finds a member of a workspace by uid or e-mail.
func MemberByUIDOrEmail(ctx context.Context, q Querier, workspaceID int64, ref string) (model.Member, error) {
	return scanMember(q.queryRowContext(ctx,
		`SELECT `+memberCols+` FROM members WHERE workspace_id = $1 AND (uid = $2 OR LOWER(email) = LOWER($2)) ORDER BY id LIMIT 1`,
		workspaceID, ref))
}

// WorkspaceKey is an API key with the member it acts as.
type WorkspaceKey struct {
	model.APIKey
	MemberUID   string
	MemberEmail string
	MemberRole  string
}

// ListWorkspaceKeys lists every API key of a workspace's members, revoked
// ones included, oldest first.
func ListWorkspaceKeys(ctx context.Context, q Querier, workspaceID int64) ([]WorkspaceKey, error) {
	out, err := queryAll(ctx, q, func(row scanner) (WorkspaceKey, error) {
		var k WorkspaceKey
		var created int64
		var revoked sql.NullInt64
		err := row.Scan(&k.ID, &k.UID, &k.WorkspaceID, &k.MemberID, &k.Name, &k.Prefix, &created, &revoked,
			&k.MemberUID, &k.MemberEmail, &k.MemberRole)
		k.CreatedAt, k.RevokedAt = Time(created), NullTime(revoked)
		return k, err
	}, `
		SELECT k.id, k.uid, k.workspace_id, k.member_id, k.name, k.prefix, k.created_at, k.revoked_at, m.uid, m.email, m.role
		FROM api_keys k JOIN members m ON m.id = k.member_id
		WHERE k.workspace_id = $1 ORDER BY k.id`, workspaceID)
	return out, unable(err, "list the API keys of workspace %d", workspaceID)
}

// RevokeWorkspaceKey revokes a key of a workspace by id; it reports whether
// the key was live.
func RevokeWorkspaceKey(ctx context.Context, q Querier, workspaceID, keyID int64) (bool, error) {
	res, err := q.execContext(ctx, `
		UPDATE api_keys SET revoked_at = $3
		WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL`, workspaceID, keyID, Now())
	if err != nil {
		return false, fmt.Errorf("store: unable to revoke API key: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, unable(err, "revoke workspace key")
}
