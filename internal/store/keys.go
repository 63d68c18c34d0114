package store

import (
	"context"
	"database/sql"

	"github.com/firstmate-oss/firstmate/internal/model"
)

func InsertAPIKey(ctx context.Context, q Querier, k model.APIKey, hash string) (model.APIKey, error) {
	now := Now()
	err := q.queryRowContext(ctx, `
		INSERT INTO api_keys (uid, workspace_id, member_id, name, prefix, hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING id`,
		k.UID, k.WorkspaceID, k.MemberID, k.Name, k.Prefix, hash, now).Scan(&k.ID)
	k.CreatedAt = Time(now)
	return k, unable(err, "insert api key")
}

// PrincipalByKeyHash resolves an API key to the member it acts as. Revoked
// keys, and keys of removed members, resolve to nothing.
func PrincipalByKeyHash(ctx context.Context, q Querier, hash string) (model.Principal, error) {
	var p model.Principal
	err := q.queryRowContext(ctx, `
		SELECT k.id, k.uid, m.id, m.uid, m.role, w.id, w.uid, w.name, w.plan
		FROM api_keys k
		JOIN members m ON m.id = k.member_id
		JOIN workspaces w ON w.id = k.workspace_id
		WHERE k.hash = $1 AND k.revoked_at IS NULL`, hash).
		Scan(&p.KeyID, &p.KeyUID, &p.MemberID, &p.MemberUID, &p.Role, &p.WorkspaceID, &p.WorkspaceUID, &p.WorkspaceName, &p.Plan)
	return p, notFound(err)
}

func ListAPIKeys(ctx context.Context, q Querier, memberID int64) ([]model.APIKey, error) {
	out, err := queryAll(ctx, q, func(row scanner) (model.APIKey, error) {
		var k model.APIKey
		var created int64
		var revoked sql.NullInt64
		err := row.Scan(&k.ID, &k.UID, &k.WorkspaceID, &k.MemberID, &k.Name, &k.Prefix, &created, &revoked)
		k.CreatedAt, k.RevokedAt = Time(created), NullTime(revoked)
		return k, err
	}, `
		SELECT id, uid, workspace_id, member_id, name, prefix, created_at, revoked_at
		FROM api_keys WHERE member_id = $1 ORDER BY id`, memberID)
	return out, unable(err, "list the API keys of member %d", memberID)
}

// RevokeAPIKey revokes one of a member's own keys; it reports whether the key
// existed for that member.
func RevokeAPIKey(ctx context.Context, q Querier, memberID int64, uid string) (bool, error) {
	res, err := q.execContext(ctx, `
		UPDATE api_keys SET revoked_at = $3
		WHERE member_id = $1 AND uid = $2 AND revoked_at IS NULL`, memberID, uid, Now())
	if err != nil {
		return false, unable(err, "revoke api key %v", uid)
	}
	n, err := res.RowsAffected()
	return n == 1, unable(err, "revoke api key %v", uid)
}
