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
		rows, err := q.queryContext(ctx, `SELECT `+workspaceCols+` FROM workspaces WHERE NOT operator_pool AND `+query+` ORDER BY id`, ref)
		if err != nil {
			return nil, fmt.Errorf("store: unable to find workspace %q: %w", ref, err)
		}
		defer rows.Close()
		var out []model.Workspace
		for rows.Next() {
			w, err := scanWorkspace(rows)
			if err != nil {
				return nil, fmt.Errorf("store: unable to read workspace %q: %w", ref, err)
			}
			out = append(out, w)
		}
		return out, rows.Err()
	}
	byUID, err := list(`uid = $1`)
	if err != nil || len(byUID) > 0 {
		return byUID, unable(err, "read workspaces by ref")
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
	rows, err := q.queryContext(ctx, `
		SELECT k.id, k.uid, k.workspace_id, k.member_id, k.name, k.prefix, k.created_at, k.revoked_at, m.uid, m.email, m.role
		FROM api_keys k JOIN members m ON m.id = k.member_id
		WHERE k.workspace_id = $1 ORDER BY k.id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list the workspace's API keys: %w", err)
	}
	defer rows.Close()
	var out []WorkspaceKey
	for rows.Next() {
		var k WorkspaceKey
		var created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&k.ID, &k.UID, &k.WorkspaceID, &k.MemberID, &k.Name, &k.Prefix, &created, &revoked,
			&k.MemberUID, &k.MemberEmail, &k.MemberRole); err != nil {
			return nil, fmt.Errorf("store: unable to read an API key: %w", err)
		}
		k.CreatedAt, k.RevokedAt = Time(created), NullTime(revoked)
		out = append(out, k)
	}
	return out, rows.Err()
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
