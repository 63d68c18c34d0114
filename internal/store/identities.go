package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/model"
)

const identityCols = `i.id, i.uid, i.workspace_id, w.uid, i.name, i.timezone, i.type, i.managed, i.created_at, i.updated_at`

func scanIdentity(row interface{ Scan(...any) error }) (model.Identity, error) {
	var id model.Identity
	var created, updated int64
	err := row.Scan(&id.ID, &id.UID, &id.WorkspaceID, &id.WorkspaceUID, &id.Name, &id.Timezone, &id.Type, &id.Managed,
		&created, &updated)
	id.CreatedAt, id.UpdatedAt = Time(created), Time(updated)
	return id, notFound(err)
}

func InsertIdentity(ctx context.Context, q Querier, id model.Identity) (model.Identity, error) {
	now := Now()
	err := q.queryRowContext(ctx, `
		INSERT INTO identities (uid, workspace_id, name, timezone, type, managed, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		RETURNING id`,
		id.UID, id.WorkspaceID, id.Name, id.Timezone, id.Type, id.Managed, now).Scan(&id.ID)
	id.CreatedAt, id.UpdatedAt = Time(now), Time(now)
	return id, unable(err, "insert identity %v", id)
}

// CountIdentities counts the licences a workspace uses (managed pool
// identities belong to the operator and are not counted).
func CountIdentities(ctx context.Context, q Querier, workspaceID int64) (int, error) {
	var n int
	err := q.queryRowContext(ctx, `SELECT COUNT(*) FROM identities WHERE workspace_id = $1 AND NOT managed`, workspaceID).Scan(&n)
	return n, unable(err, "count identities")
}

// GetIdentity finds an identity by uid inside one workspace only.
func GetIdentity(ctx context.Context, q Querier, workspaceID int64, uid string) (model.Identity, error) {
	return scanIdentity(q.queryRowContext(ctx, `
		SELECT `+identityCols+` FROM identities i JOIN workspaces w ON w.id = i.workspace_id
		WHERE i.workspace_id = $1 AND i.uid = $2`, workspaceID, uid))
}

// ListIdentities pages a workspace's identities, newest first, optionally
// filtered by a case-insensitive name substring.
func ListIdentities(ctx context.Context, q Querier, workspaceID int64, query string, limit, offset int) ([]model.Identity, error) {
	args := []any{workspaceID, limit, offset}
	filter := ""
	if query != "" {
		filter = ` AND LOWER(i.name) LIKE $4 ESCAPE '\'`
		args = append(args, "%"+escapeLike(strings.ToLower(query))+"%")
	}
	out, err := queryAll(ctx, q, scanIdentity, `
		SELECT `+identityCols+` FROM identities i JOIN workspaces w ON w.id = i.workspace_id
		WHERE i.workspace_id = $1 AND NOT i.managed`+filter+`
		ORDER BY i.id DESC LIMIT $2 OFFSET $3`, args...)
	return out, unable(err, "list the identities of workspace %d", workspaceID)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func UpdateIdentity(ctx context.Context, q Querier, id int64, name, timezone string) error {
	_, err := q.execContext(ctx, `UPDATE identities SET name = $2, timezone = $3, updated_at = $4 WHERE id = $1`,
		id, name, timezone, Now())
	return unable(err, "update identity %v", id)
}

// DeleteIdentity removes an identity; its integrations (and their sealed
// secrets), login links and Smart Limit counter and events go with it (the
// events by a trigger on PostgreSQL: migration 00078).
func DeleteIdentity(ctx context.Context, q Querier, id int64) error {
	_, err := q.execContext(ctx, `DELETE FROM identities WHERE id = $1`, id)
	return unable(err, "delete identity %v", id)
}

// Login links.

func InsertLoginLink(ctx context.Context, q Querier, identityID int64, platform, tokenHash string, expiresAt int64) error {
	_, err := q.execContext(ctx, `
		INSERT INTO login_links (identity_id, platform, token_hash, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5)`, identityID, platform, tokenHash, expiresAt, Now())
	return unable(err, "insert login link")
}

// LoginLink is a stored link, looked up by the hash of its token.
type LoginLink struct {
	IdentityID int64
	Platform   string
	ExpiresAt  int64
	UsedAt     sql.NullInt64
	RevokedAt  sql.NullInt64
}

func GetLoginLink(ctx context.Context, q Querier, tokenHash string) (LoginLink, error) {
	var l LoginLink
	err := q.queryRowContext(ctx, `SELECT identity_id, platform, expires_at, used_at, revoked_at FROM login_links WHERE token_hash = $1`,
		tokenHash).Scan(&l.IdentityID, &l.Platform, &l.ExpiresAt, &l.UsedAt, &l.RevokedAt)
	return l, notFound(err)
}

// UseLoginLink marks a link used; it reports false when it was already used,
// was revoked or has expired, so a link works once.
func UseLoginLink(ctx context.Context, q Querier, tokenHash string) (bool, error) {
	now := Now()
	res, err := q.execContext(ctx, `UPDATE login_links SET used_at = $2
		WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2`, tokenHash, now)
	if err != nil {
		return false, unable(err, "use login link")
	}
	n, err := res.RowsAffected()
	return n == 1, unable(err, "use login link")
}

// RevokeLoginLinks revokes the identity's links that could still be used
// (not used, not revoked, not expired), except the one whose token hash is
// except ("" for none), and returns how many it revoked.
func RevokeLoginLinks(ctx context.Context, q Querier, identityID int64, except string) (int64, error) {
	now := Now()
	res, err := q.execContext(ctx, `UPDATE login_links SET revoked_at = $2
		WHERE identity_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 AND token_hash <> $3`,
		identityID, now, except)
	if err != nil {
		return 0, fmt.Errorf("store: unable to revoke login links: %w", err)
	}
	n, err := res.RowsAffected()
	return n, unable(err, "count revoked login links")
}
