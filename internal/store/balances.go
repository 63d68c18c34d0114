package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// The credit ledger's rows: credit_balances holds each workspace's use of a
// period's grant (millicredits), credit_charges one row per keyed charge (an
// async run's input), whose unique key makes a repeated charge a no-op.

// NewCharge is a keyed charge row, recorded as paid in full.
type NewCharge struct {
	WorkspaceID int64
	Period      int64
	Key         string
	RunUID      string
	Action      string
	Results     int
	Amount      int64
}

// InsertCharge records a keyed charge; inserted is false when the key was
// charged before (or by a concurrent transaction that committed first).
func InsertCharge(ctx context.Context, tx *Tx, c NewCharge) (inserted bool, err error) {
	var id int64
	err = tx.queryRowContext(ctx, `
		INSERT INTO credit_charges (workspace_id, period_start, charge_key, run_uid, action_slug, results, amount, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (charge_key) DO NOTHING
		RETURNING id`,
		c.WorkspaceID, c.Period, c.Key, c.RunUID, c.Action, c.Results, c.Amount, Now()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		// Wrapped with %w: the caller retries on a unique violation.
		return false, fmt.Errorf("store: unable to record charge %s: %w", c.Key, err)
	}
	return true, nil
}

// ChargeByKey reads what a keyed charge paid.
func ChargeByKey(ctx context.Context, q Querier, key string) (results int, amount int64, err error) {
	if err := q.queryRowContext(ctx, `
		SELECT results, amount
		FROM credit_charges
		WHERE charge_key = $1`, key).Scan(&results, &amount); err != nil {
		return 0, 0, fmt.Errorf("store: unable to fetch charge %s: %w", key, err)
	}
	return results, amount, nil
}

// SetChargePaid corrects a keyed charge to what was paid.
func SetChargePaid(ctx context.Context, tx *Tx, key string, results int, amount int64) error {
	if _, err := tx.execContext(ctx, `
		UPDATE credit_charges
		SET results = $2, amount = $3
		WHERE charge_key = $1`, key, results, amount); err != nil {
		return fmt.Errorf("store: unable to correct charge %s: %w", key, err)
	}
	return nil
}

// DeleteCharge drops a keyed charge that paid nothing, so that the key stays
// free for a retry.
func DeleteCharge(ctx context.Context, tx *Tx, key string) error {
	if _, err := tx.execContext(ctx, `
		DELETE FROM credit_charges
		WHERE charge_key = $1`, key); err != nil {
		return fmt.Errorf("store: unable to delete charge %s: %w", key, err)
	}
	return nil
}

// MoveBalanceWithin adds m.Amount to a balance's use if the use stays within
// m.Cap, in one conditional UPDATE; ok is false when it would not (or the
// balance has no row yet this period), and then nothing changed. On
// PostgreSQL the row stays locked until tx ends.
func MoveBalanceWithin(ctx context.Context, tx *Tx, m BalanceMove) (used int64, ok bool, err error) {
	err = tx.queryRowContext(ctx, `
		UPDATE credit_balances
		SET used = used + $3
		WHERE workspace_id = $1 AND period_start = $2 AND used + $3 <= $4
		RETURNING used`,
		m.WorkspaceID, m.Period, m.Amount, m.Cap).Scan(&used)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: unable to charge the balance of workspace %d: %w", m.WorkspaceID, err)
	}
	return used, true, nil
}

// MoveBalance adds amount (negative to give back) to a balance's use, with no
// cap: the caller holds the row's lock (LockBalance) and checked the grant.
func MoveBalance(ctx context.Context, tx *Tx, workspaceID, period, amount int64) error {
	if _, err := tx.execContext(ctx, `
		UPDATE credit_balances
		SET used = used + $3
		WHERE workspace_id = $1 AND period_start = $2`,
		workspaceID, period, amount); err != nil {
		return fmt.Errorf("store: unable to move the balance of workspace %d: %w", workspaceID, err)
	}
	return nil
}

// LockBalance returns a period's use, creating its balance row, and holds the
// row until tx ends. PostgreSQL needs the row lock (FOR UPDATE); SQLite
// serialises write transactions already.
func (db *Store) LockBalance(ctx context.Context, tx *Tx, workspaceID, period int64) (used int64, err error) {
	if _, err = tx.execContext(ctx, `
		INSERT INTO credit_balances (workspace_id, period_start, used)
		VALUES ($1, $2, 0)
		ON CONFLICT (workspace_id, period_start) DO NOTHING`, workspaceID, period); err != nil {
		return 0, fmt.Errorf("store: unable to create the balance of workspace %d: %w", workspaceID, err)
	}
	query := `
		SELECT used
		FROM credit_balances
		WHERE workspace_id = $1 AND period_start = $2`
	query += db.dialect.forUpdate("")
	if err = tx.queryRowContext(ctx, query, workspaceID, period).Scan(&used); err != nil {
		return 0, fmt.Errorf("store: unable to lock the balance of workspace %d: %w", workspaceID, err)
	}
	return used, nil
}

// BalanceUsed reads a workspace's use of a period, 0 before its first charge.
func (db *Store) BalanceUsed(ctx context.Context, workspaceID, period int64) (int64, error) {
	var used int64
	if err := db.r.queryRowContext(ctx, `
		SELECT COALESCE(SUM(used), 0)
		FROM credit_balances
		WHERE workspace_id = $1 AND period_start = $2`, workspaceID, period).Scan(&used); err != nil {
		return 0, fmt.Errorf("store: unable to fetch the balance of workspace %d: %w", workspaceID, err)
	}
	return used, nil
}

// ActionCharges is one action's share of a period's charges, in millicredits.
type ActionCharges struct {
	Action  string
	Amount  int64
	Runs    int
	Results int
}

// ChargesByAction sums a period's charges by action: the credit_charges rows
// (async runs, several per run) and the live runs, which carry their own
// charge (charge_period decides what counts). runsSince bounds the runs'
// created_at so that the (workspace_id, created_at) index skips earlier
// periods.
func (db *Store) ChargesByAction(ctx context.Context, workspaceID, period, runsSince int64) ([]ActionCharges, error) {
	out, err := list(ctx, db.r, `
		SELECT action, SUM(amount), SUM(runs), SUM(results)
		FROM (
			SELECT action_slug AS action, SUM(amount) AS amount, COUNT(DISTINCT run_uid) AS runs, SUM(results) AS results
			FROM credit_charges
			WHERE workspace_id = $1 AND period_start = $2
			GROUP BY action_slug
			UNION ALL
			SELECT action_name, SUM(credits_used), COUNT(*), SUM(output_count)
			FROM runs
			WHERE workspace_id = $1 AND created_at >= $3 AND charge_period = $2
			GROUP BY action_name
		) charged
		GROUP BY action
		ORDER BY action`, []any{workspaceID, period, runsSince}, func(row scanner) (ActionCharges, error) {
		var c ActionCharges
		err := row.Scan(&c.Action, &c.Amount, &c.Runs, &c.Results)
		return c, err
	})
	return out, unable(err, "sum the charges of workspace %d by action", workspaceID)
}

// WorkspaceWithUse reads a workspace row and its use of period in one
// statement: a fresh balance for the price of one round trip. The period
// depends on the row (its period_start): the caller computes it from the
// row it expects (the read cache's) and reads the use again (BalanceUsed)
// in the rare case the row read says otherwise.
func (db *Store) WorkspaceWithUse(ctx context.Context, id, period int64) (model.Workspace, int64, error) {
	var used int64
	w, err := scanWorkspace(withExtra{db.r.QueryRowContext(ctx, `
		SELECT `+workspaceCols+`,
			(SELECT COALESCE(SUM(used), 0)
			FROM credit_balances
			WHERE workspace_id = $1 AND period_start = $2)
		FROM workspaces
		WHERE id = $1`, id, period), &used})
	if err != nil {
		return model.Workspace{}, 0, fmt.Errorf("store: unable to fetch workspace %d with its balance: %w", id, err)
	}
	return w, used, nil
}

// withExtra scans a row into a scanner's columns, then into extra.
type withExtra struct {
	row   interface{ Scan(...any) error }
	extra any
}

func (r withExtra) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra)...) }
