package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
)

const memberCols = `id, uid, workspace_id, email, name, role, created_at, updated_at`

func scanMember(row interface{ Scan(...any) error }) (model.Member, error) {
	var m model.Member
	var created, updated int64
	err := row.Scan(&m.ID, &m.UID, &m.WorkspaceID, &m.Email, &m.Name, &m.Role, &created, &updated)
	m.CreatedAt, m.UpdatedAt = Time(created), Time(updated)
	return m, notFound(err)
}

func InsertMember(ctx context.Context, q Querier, m model.Member, passwordHash string) (model.Member, error) {
	now := Now()
	err := q.queryRowContext(ctx, `
		INSERT INTO members (uid, workspace_id, email, name, role, password_hash, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		RETURNING id`,
		m.UID, m.WorkspaceID, m.Email, m.Name, m.Role, passwordHash, now).Scan(&m.ID)
	m.CreatedAt, m.UpdatedAt = Time(now), Time(now)
	return m, unable(err, "insert member")
}

func ListMembers(ctx context.Context, q Querier, workspaceID int64) ([]model.Member, error) {
	out, err := queryAll(ctx, q, scanMember, `SELECT `+memberCols+` FROM members WHERE workspace_id = $1 ORDER BY id`, workspaceID)
	return out, unable(err, "list the members of workspace %d", workspaceID)
}

// GetMember finds a member by uid inside one workspace only.
func GetMember(ctx context.Context, q Querier, workspaceID int64, uid string) (model.Member, error) {
	return scanMember(q.queryRowContext(ctx,
		`SELECT `+memberCols+` FROM members WHERE workspace_id = $1 AND uid = $2`, workspaceID, uid))
}

func CountOwners(ctx context.Context, q Querier, workspaceID int64) (int, error) {
	var n int
	err := q.queryRowContext(ctx, `SELECT COUNT(*) FROM members WHERE workspace_id = $1 AND role = 'owner'`, workspaceID).Scan(&n)
	return n, unable(err, "count owners")
}

func SetMemberRole(ctx context.Context, q Querier, id int64, role string) error {
	_, err := q.execContext(ctx, `UPDATE members SET role = $2, updated_at = $3 WHERE id = $1`, id, role, Now())
	return unable(err, "set member role %v", id)
}

func DeleteMember(ctx context.Context, q Querier, id int64) error {
	_, err := q.execContext(ctx, `DELETE FROM members WHERE id = $1`, id)
	return unable(err, "delete member %v", id)
}

// MemberPasswordHash is for dashboard sign-in.
func MemberPasswordHash(ctx context.Context, q Querier, workspaceID int64, email string) (model.Member, string, error) {
	var hash string
	var m model.Member
	var created, updated int64
	err := q.queryRowContext(ctx, `SELECT `+memberCols+`, password_hash FROM members WHERE workspace_id = $1 AND email = $2`,
		workspaceID, email).Scan(&m.ID, &m.UID, &m.WorkspaceID, &m.Email, &m.Name, &m.Role, &created, &updated, &hash)
	m.CreatedAt, m.UpdatedAt = Time(created), Time(updated)
	return m, hash, notFound(err)
}

// Invitations.

func InsertInvitation(ctx context.Context, q Querier, inv model.Invitation, tokenHash string, invitedBy int64) (model.Invitation, error) {
	now := Now()
	err := q.queryRowContext(ctx, `
		INSERT INTO invitations (uid, workspace_id, email, role, token_hash, invited_by, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		RETURNING id`,
		inv.UID, inv.WorkspaceID, inv.Email, inv.Role, tokenHash, invitedBy, Millis(inv.ExpiresAt), now).Scan(&inv.ID)
	inv.CreatedAt = Time(now)
	return inv, unable(err, "insert invitation")
}

// ClaimInvitation marks an unexpired, unused invitation as accepted and
// returns it. A second claim of the same token finds nothing: the UPDATE's
// WHERE clause makes acceptance single-use even under concurrency.
func ClaimInvitation(ctx context.Context, q Querier, tokenHash string) (model.Invitation, error) {
	now := Now()
	var inv model.Invitation
	var expires, created int64
	err := q.queryRowContext(ctx, `
		UPDATE invitations SET accepted_at = $2
		WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > $2
		RETURNING id, uid, workspace_id, email, role, expires_at, created_at`,
		tokenHash, now).Scan(&inv.ID, &inv.UID, &inv.WorkspaceID, &inv.Email, &inv.Role, &expires, &created)
	inv.ExpiresAt, inv.CreatedAt = Time(expires), Time(created)
	t := Time(now)
	inv.AcceptedAt = &t
	return inv, notFound(err)
}

func ListInvitations(ctx context.Context, q Querier, workspaceID int64) ([]model.Invitation, error) {
	out, err := queryAll(ctx, q, func(row scanner) (model.Invitation, error) {
		var inv model.Invitation
		var expires, created int64
		var accepted sql.NullInt64
		err := row.Scan(&inv.ID, &inv.UID, &inv.WorkspaceID, &inv.Email, &inv.Role, &expires, &accepted, &created)
		inv.ExpiresAt, inv.CreatedAt, inv.AcceptedAt = Time(expires), Time(created), NullTime(accepted)
		return inv, err
	}, `
		SELECT id, uid, workspace_id, email, role, expires_at, accepted_at, created_at
		FROM invitations WHERE workspace_id = $1 ORDER BY id`, workspaceID)
	return out, unable(err, "list the invitations of workspace %d", workspaceID)
}

// DeleteInvitation removes a workspace's invitation that was not accepted
// (its token stops working); ErrNotFound when there is none to remove.
func DeleteInvitation(ctx context.Context, q Querier, workspaceID int64, uid string) error {
	res, err := q.execContext(ctx, `DELETE FROM invitations WHERE workspace_id = $1 AND uid = $2 AND accepted_at IS NULL`,
		workspaceID, uid)
	if err != nil {
		return fmt.Errorf("store: unable to delete invitation %s: %w", uid, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ReissueInvitation gives an invitation that was not accepted a new token
// and expiry (the old token stops working) and returns it.
func ReissueInvitation(ctx context.Context, q Querier, workspaceID int64, uid, tokenHash string, expires time.Time) (model.Invitation, error) {
	var inv model.Invitation
	var exp, created int64
	err := q.queryRowContext(ctx, `
		UPDATE invitations SET token_hash = $3, expires_at = $4
		WHERE workspace_id = $1 AND uid = $2 AND accepted_at IS NULL
		RETURNING id, uid, workspace_id, email, role, expires_at, created_at`,
		workspaceID, uid, tokenHash, Millis(expires)).Scan(&inv.ID, &inv.UID, &inv.WorkspaceID, &inv.Email, &inv.Role, &exp, &created)
	inv.ExpiresAt, inv.CreatedAt = Time(exp), Time(created)
	return inv, notFound(err)
}
