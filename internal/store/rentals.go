package store

import (
	"context"
	"database/sql"
	"errors"
)

// Rental is a workspace's rental of a managed pool account (issue 5 §6).
type Rental struct {
	ID             int64
	UID            string
	WorkspaceID    int64
	IdentityID     int64 // the renter's identity
	IdentityUID    string
	PoolIdentityID int64
	Platform       string
	IntegrationUID string // the renter's SHARED integration
	StartsAt       int64  // unix ms
	EndsAt         int64
	EndedAt        *int64
}

const rentalCols = `r.id, r.uid, r.workspace_id, r.identity_id, i.uid, r.pool_identity_id, r.platform, r.integration_uid,
	r.starts_at, r.ends_at, r.ended_at`

func scanRental(row interface{ Scan(...any) error }) (Rental, error) {
	var r Rental
	var ended sql.NullInt64
	err := row.Scan(&r.ID, &r.UID, &r.WorkspaceID, &r.IdentityID, &r.IdentityUID, &r.PoolIdentityID, &r.Platform,
		&r.IntegrationUID, &r.StartsAt, &r.EndsAt, &ended)
	if ended.Valid {
		r.EndedAt = &ended.Int64
	}
	return r, err
}

// InsertRental records an active rental. A pool account already rented, or
// an identity already renting on the platform, is a unique violation.
func InsertRental(ctx context.Context, q Querier, r Rental) (int64, error) {
	var id int64
	err := q.queryRowContext(ctx, `
		INSERT INTO rentals (uid, workspace_id, identity_id, pool_identity_id, platform, integration_uid, starts_at, ends_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		r.UID, r.WorkspaceID, r.IdentityID, r.PoolIdentityID, r.Platform, r.IntegrationUID, r.StartsAt, r.EndsAt).Scan(&id)
	return id, unable(err, "insert rental")
}

// ActiveRental returns the identity's active rental on a platform.
func ActiveRental(ctx context.Context, q Querier, identityID int64, platform string) (Rental, error) {
	r, err := scanRental(q.queryRowContext(ctx, `SELECT `+rentalCols+` FROM rentals r JOIN identities i ON i.id = r.identity_id
		WHERE r.identity_id = $1 AND r.platform = $2 AND r.ended_at IS NULL`, identityID, platform))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, unable(err, "read active rental")
}

// DueRentals lists the active rentals that must end at now: their period is
// over, or their shared integration is gone (deleted by the renter).
func DueRentals(ctx context.Context, q Querier, now int64, limit int) ([]Rental, error) {
	out, err := queryAll(ctx, q, scanRental, `SELECT `+rentalCols+` FROM rentals r JOIN identities i ON i.id = r.identity_id
		WHERE r.ended_at IS NULL AND (r.ends_at <= $1 OR NOT EXISTS (SELECT 1 FROM integrations g WHERE g.uid = r.integration_uid))
		ORDER BY r.ends_at, r.id LIMIT $2`, now, limit)
	return out, unable(err, "read the due rentals")
}

// EndRental marks a rental ended at now; false when it already was.
func EndRental(ctx context.Context, q Querier, id, now int64) (bool, error) {
	res, err := q.execContext(ctx, `UPDATE rentals SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL`, id, now)
	if err != nil {
		return false, unable(err, "end rental %v", id)
	}
	n, err := res.RowsAffected()
	return n == 1, unable(err, "end rental %v", id)
}

// PoolRentalEnds returns, per pool identity id, when its active rental ends.
func PoolRentalEnds(ctx context.Context, q Querier) (map[int64]int64, error) {
	out := map[int64]int64{}
	err := queryEach(ctx, q, func(row scanner) error {
		var id, ends int64
		err := row.Scan(&id, &ends)
		out[id] = ends
		return err
	}, `SELECT pool_identity_id, ends_at FROM rentals WHERE ended_at IS NULL`)
	if err != nil {
		return nil, unable(err, "read the pool's rental ends")
	}
	return out, nil
}

// WorkspaceIDByUID finds a workspace by uid (operator commands).
func WorkspaceIDByUID(ctx context.Context, q Querier, uid string) (int64, error) {
	var id int64
	err := q.queryRowContext(ctx, `SELECT id FROM workspaces WHERE uid = $1 AND NOT operator_pool`, uid).Scan(&id)
	return id, notFound(err)
}
