package store

import (
	"context"
	"database/sql"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Integration status transitions and health-check scheduling. A transition
// reads the row under its lock, changes it, and records the webhook event it
// causes, all in the caller's transaction (see identity.Service).

// LockIntegration takes the row lock of an identity's integration for a
// platform and returns it as last committed. The lock is taken with a no-op
// UPDATE so that the same statement works on both databases: on PostgreSQL
// it waits for a concurrent transition to commit (the SELECT that follows
// then sees it), on SQLite the write transaction already excludes every
// other writer. ErrNotFound when the identity has no such integration.
func LockIntegration(ctx context.Context, q Querier, identityID int64, platform string) (model.Integration, error) {
	res, err := q.execContext(ctx, `UPDATE integrations SET status = status WHERE identity_id = $1 AND platform = $2`,
		identityID, platform)
	if err != nil {
		return model.Integration{}, unable(err, "lock integration")
	}
	if n, err := res.RowsAffected(); err != nil {
		return model.Integration{}, unable(err, "lock integration")
	} else if n == 0 {
		return model.Integration{}, ErrNotFound
	}
	return IntegrationOf(ctx, q, identityID, platform)
}

// IntegrationOf reads an identity's integration for a platform (no
// workspace scope: callers hold the identity already).
func IntegrationOf(ctx context.Context, q Querier, identityID int64, platform string) (model.Integration, error) {
	return scanIntegration(q.queryRowContext(ctx, `SELECT `+integrationCols+integrationFrom+`
		WHERE g.identity_id = $1 AND g.platform = $2`, identityID, platform))
}

// GetIntegrationByID is for workers, which carry ids in job arguments.
func GetIntegrationByID(ctx context.Context, q Querier, id int64) (model.Integration, error) {
	return scanIntegration(q.queryRowContext(ctx, `SELECT `+integrationCols+integrationFrom+`WHERE g.id = $1`, id))
}

// ScheduleIntegrationCheck sets when the integration's next health check is
// due, and records a successful check when checkedAt is not nil.
func ScheduleIntegrationCheck(ctx context.Context, q Querier, id int64, checkedAt *int64, next int64) error {
	var checked sql.NullInt64
	if checkedAt != nil {
		checked = sql.NullInt64{Int64: *checkedAt, Valid: true}
	}
	_, err := q.execContext(ctx, `UPDATE integrations SET next_check_at = $2, checked_at = COALESCE($3, checked_at)
		WHERE id = $1`, id, next, checked)
	return unable(err, "schedule integration check %v", id)
}

// ClaimDueIntegrations picks up to limit VALID integrations (and paused
// ones, LIMIT_REACHED, whose check resumes them) whose health
// check is due at now, most overdue first, and pushes their next_check_at
// to leaseUntil so that a concurrent or later tick does not pick them again
// before the check reschedules them. A row that never had a check scheduled
// (connected before health checks existed, or set VALID by code that does
// not schedule one) is due one interval after its last update, so that an
// upgrade spreads the first checks out rather than running them all at
// once. The conditions are repeated outside the subquery: on PostgreSQL a
// row claimed by a concurrent tick is re-checked once its lock is released,
// and skipped.
func ClaimDueIntegrations(ctx context.Context, q Querier, now, leaseUntil int64, interval int64, limit int) ([]int64, error) {
	ids, err := queryAll(ctx, q, scanInt64, `
		UPDATE integrations SET next_check_at = $2
		WHERE id IN (
			SELECT id FROM integrations
			WHERE status IN ('VALID', 'LIMIT_REACHED') AND COALESCE(next_check_at, updated_at + $4) <= $1
			ORDER BY COALESCE(next_check_at, updated_at + $4), id
			LIMIT $3)
		AND status IN ('VALID', 'LIMIT_REACHED') AND COALESCE(next_check_at, updated_at + $4) <= $1
		RETURNING id`, now, leaseUntil, limit, interval)
	return ids, unable(err, "claim due integrations")
}

// IntegrationCheckTimes returns when an integration was last confirmed and
// when its next check is due (nil when never / not scheduled).
func IntegrationCheckTimes(ctx context.Context, q Querier, id int64) (checked, next *int64, err error) {
	var c, n sql.NullInt64
	err = q.queryRowContext(ctx, `SELECT checked_at, next_check_at FROM integrations WHERE id = $1`, id).Scan(&c, &n)
	if c.Valid {
		checked = &c.Int64
	}
	if n.Valid {
		next = &n.Int64
	}
	return checked, next, notFound(err)
}
