package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// CreditGuard is a credits check that rides with a live call's Smart Limit
// reservation, in the same group-commit round (smartlimits.Limiter.Consume):
// the reservation is recorded only when the workspace's balance, read
// fresh in that round, still has Need millicredits left under Max in
// Period. Outreach calls carry one: what they do on the platform cannot be
// taken back if it turns out unpaid, so their balance is read fresh rather
// than from the read cache, and the guard makes that read part of the
// call's one admission step instead of a store entry of its own.
//
// Max is the grant of Plan, which the caller computed from a workspace row
// that may be up to ReadCacheTTL old; the guard also reads the row's plan
// and period anchor, and when either changed meanwhile it holds no verdict
// (ErrGuardStale): the caller reads the balance afresh and tries again.
type CreditGuard struct {
	WorkspaceID int64
	Plan        string
	// Anchor is the workspace's period_start (unix ms), Period the start of
	// the period the balance is read for (unix ms).
	Anchor, Period int64
	Max, Need      int64
}

// ErrGuardShort: a CreditGuard's balance cannot pay its call.
var ErrGuardShort = errors.New("store: the balance cannot pay for the call")

// ErrGuardStale: a CreditGuard's workspace changed plan or period since the
// row it was computed from.
var ErrGuardStale = errors.New("store: the workspace's plan changed since its balance was read")

// CheckCreditGuards reads, in one statement, the current plan, period
// anchor and use of every guard's workspace, and returns each guard's
// verdict: nil (it holds), ErrGuardShort or ErrGuardStale. tx nil reads
// outside any transaction.
func (db *Store) CheckCreditGuards(ctx context.Context, tx *Tx, guards []CreditGuard) ([]error, error) {
	out := make([]error, len(guards))
	if len(guards) == 0 {
		return out, nil
	}
	var q Querier = db.r
	if tx != nil {
		q = tx
	}
	args := make([]any, 0, 2*len(guards))
	var values strings.Builder
	for i, g := range guards {
		if i > 0 {
			values.WriteString(", ")
		}
		args = append(args, g.WorkspaceID, g.Period)
		fmt.Fprintf(&values, "(CAST($%d AS BIGINT), CAST($%d AS BIGINT))", len(args)-1, len(args))
	}
	// VALUES columns are column1, column2, ... on both databases.
	rows, err := q.queryContext(ctx, `
		SELECT w.id, v.column2, w.plan, w.period_start,
			(SELECT COALESCE(SUM(b.used), 0)
			FROM credit_balances b
			WHERE b.workspace_id = w.id AND b.period_start = v.column2)
		FROM (VALUES `+values.String()+`) AS v
		JOIN workspaces w ON w.id = v.column1`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the balances of %d credit guards: %w", len(guards), err)
	}
	defer rows.Close()
	type key struct{ ws, period int64 }
	type state struct {
		plan   string
		anchor int64
		used   int64
	}
	seen := map[key]state{}
	for rows.Next() {
		var k key
		var s state
		if err := rows.Scan(&k.ws, &k.period, &s.plan, &s.anchor, &s.used); err != nil {
			return nil, fmt.Errorf("store: unable to read a credit guard's balance: %w", err)
		}
		seen[k] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read the balances of %d credit guards: %w", len(guards), err)
	}
	for i, g := range guards {
		s, ok := seen[key{g.WorkspaceID, g.Period}]
		switch {
		case !ok || s.plan != g.Plan || s.anchor != g.Anchor:
			// A workspace deleted meanwhile is stale too: the fresh read
			// that follows reports it.
			out[i] = ErrGuardStale
		case g.Max-s.used < g.Need:
			out[i] = ErrGuardShort
		}
	}
	return out, nil
}
