// Package credits is the credit ledger: each plan period grants credits,
// actions are charged credit_ratio x results (1.5x in managed mode), and the
// balance never goes below zero. Amounts are millicredits so that 1.5x stays
// exact. Every charge carries a key; charging the same key twice (a worker
// that runs twice) changes nothing the second time.
package credits

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"

	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/workspace"
)

// Milli converts credits to millicredits.
func Milli(credits float64) int64 { return int64(math.Round(credits * 1000)) }

// Credits converts millicredits to credits.
func Credits(milli int64) float64 { return float64(milli) / 1000 }

type Ledger struct {
	DB    *store.DB
	Plans func(name string) config.Plan
	Now   func() time.Time
}

func (l *Ledger) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Charge is one charge request.
type Charge struct {
	WorkspaceID int64
	// Key identifies the charge: a repeated key is a no-op.
	Key    string
	RunUID string
	Action string
	// Results is how many results the call produced.
	Results int
	// PerResult is the price of one result in millicredits (ratio x mode factor).
	PerResult int64
	// AllOrNothing pays for every result or for none (async batches keep
	// an input whole rather than cut its results).
	AllOrNothing bool
}

// Charged says how many of the results were paid for; the caller returns only
// those. Paid < Results means the balance ran out.
type Charged struct {
	Paid   int
	Amount int64
	// Repeat is true when the key had already been charged.
	Repeat bool
}

// Charge pays for as many results as the balance allows, atomically.
func (l *Ledger) Charge(ctx context.Context, c Charge) (Charged, error) {
	if c.Results <= 0 {
		return Charged{}, nil // a call with no results is free
	}
	for attempt := 0; ; attempt++ {
		out, err := l.charge(ctx, c)
		if err != nil && store.IsUniqueViolation(err) && attempt < 3 {
			continue // a concurrent duplicate won: the next pass reads its result
		}
		return out, err
	}
}

func (l *Ledger) charge(ctx context.Context, c Charge) (Charged, error) {
	var out Charged
	err := l.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = l.ChargeTx(ctx, tx, c)
		return err
	})
	return out, err
}

// ChargeTx charges inside the caller's transaction, so that the charge and
// what it pays for (stored outputs) commit or roll back together.
func (l *Ledger) ChargeTx(ctx context.Context, tx *sql.Tx, c Charge) (Charged, error) {
	if c.Results <= 0 {
		return Charged{}, nil
	}
	var out Charged
	err := func() error {
		var results int
		var amount int64
		err := tx.QueryRowContext(ctx, `SELECT results, amount FROM credit_charges WHERE charge_key = $1`, c.Key).
			Scan(&results, &amount)
		if err == nil {
			out = Charged{Paid: results, Amount: amount, Repeat: true}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		period, max, used, err := l.lockBalance(ctx, tx, c.WorkspaceID)
		if err != nil {
			return err
		}
		paid := c.Results
		if c.PerResult > 0 {
			affordable := (max - used) / c.PerResult
			if affordable < 0 {
				affordable = 0
			}
			if int64(paid) > affordable {
				paid = int(affordable)
				if c.AllOrNothing {
					paid = 0
				}
			}
		}
		out = Charged{Paid: paid, Amount: int64(paid) * c.PerResult}
		if paid == 0 {
			return nil // nothing paid, nothing recorded: the key stays free for a retry
		}
		if out.Amount > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE credit_balances SET used = used + $3 WHERE workspace_id = $1 AND period_start = $2`,
				c.WorkspaceID, period, out.Amount); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO credit_charges (workspace_id, period_start, charge_key, run_uid, action_slug, results, amount, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.WorkspaceID, period, c.Key, c.RunUID, c.Action, paid, out.Amount, store.Now())
		return err
	}()
	return out, err
}

// lockBalance returns the current period's balance row, creating it, and on
// PostgreSQL locks it for the transaction (SQLite serialises write
// transactions already).
func (l *Ledger) lockBalance(ctx context.Context, tx *sql.Tx, workspaceID int64) (period, max, used int64, err error) {
	w, err := store.GetWorkspace(ctx, tx, workspaceID)
	if err != nil {
		return 0, 0, 0, err
	}
	start, _ := workspace.Period(w.PeriodStart, l.now())
	period = store.Millis(start)
	max = Milli(float64(l.Plans(w.Plan).CreditsPerPeriod))
	if _, err = tx.ExecContext(ctx, `INSERT INTO credit_balances (workspace_id, period_start, used) VALUES ($1, $2, 0)
		ON CONFLICT (workspace_id, period_start) DO NOTHING`, workspaceID, period); err != nil {
		return
	}
	lock := ""
	if l.DB.Dialect == store.Postgres {
		lock = " FOR UPDATE"
	}
	err = tx.QueryRowContext(ctx, `SELECT used FROM credit_balances WHERE workspace_id = $1 AND period_start = $2`+lock,
		workspaceID, period).Scan(&used)
	return
}

// Balance reports the current period's grant and use, in millicredits.
func (l *Ledger) Balance(ctx context.Context, workspaceID int64) (max, used int64, err error) {
	w, err := store.GetWorkspace(ctx, l.DB.R, workspaceID)
	if err != nil {
		return 0, 0, err
	}
	start, _ := workspace.Period(w.PeriodStart, l.now())
	max = Milli(float64(l.Plans(w.Plan).CreditsPerPeriod))
	err = l.DB.R.QueryRowContext(ctx, `SELECT COALESCE(SUM(used), 0) FROM credit_balances WHERE workspace_id = $1 AND period_start = $2`,
		workspaceID, store.Millis(start)).Scan(&used)
	return max, used, err
}

// Left is the remaining balance in millicredits.
func (l *Ledger) Left(ctx context.Context, workspaceID int64) (int64, error) {
	max, used, err := l.Balance(ctx, workspaceID)
	return max - used, err
}

// Used sums the credits charged since a period start (for GET /workspaces).
func (l *Ledger) Used(ctx context.Context, workspaceID int64, since time.Time) (float64, error) {
	var used int64
	err := l.DB.R.QueryRowContext(ctx, `SELECT COALESCE(SUM(used), 0) FROM credit_balances WHERE workspace_id = $1 AND period_start = $2`,
		workspaceID, store.Millis(since)).Scan(&used)
	return Credits(used), err
}

// Consumption is one action's share of a period.
type Consumption struct {
	ActionSlug  string  `json:"action_slug"`
	CreditsUsed float64 `json:"credits_used"`
	Runs        int     `json:"runs"`
	Results     int     `json:"results"`
}

// ByAction breaks a period's charges down by action.
func (l *Ledger) ByAction(ctx context.Context, workspaceID int64, since time.Time) ([]Consumption, error) {
	rows, err := l.DB.R.QueryContext(ctx, `
		SELECT action_slug, SUM(amount), COUNT(DISTINCT run_uid), SUM(results)
		FROM credit_charges WHERE workspace_id = $1 AND period_start = $2
		GROUP BY action_slug ORDER BY action_slug`, workspaceID, store.Millis(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Consumption{}
	for rows.Next() {
		var c Consumption
		var amount int64
		if err := rows.Scan(&c.ActionSlug, &amount, &c.Runs, &c.Results); err != nil {
			return nil, err
		}
		c.CreditsUsed = Credits(amount)
		out = append(out, c)
	}
	return out, rows.Err()
}
