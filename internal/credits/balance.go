package credits

import (
	"context"
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Balance is a workspace's credits in one period, in millicredits: the one
// way the services read a balance (the live path's check, a dry run, an
// async chunk short of credits, GET /workspaces and /workspaces/consumption
// with their console and MCP views). Charges lock and move it inside their
// transaction instead (ChargeTx, ChargeBatch).
type Balance struct {
	// Workspace is the workspace row the period and the grant come from.
	Workspace   model.Workspace
	PeriodStart time.Time
	PeriodEnd   time.Time
	// Max is the plan's grant for the period, Used what was charged in it.
	Max, Used int64
}

// Left is what the period has left: negative when the use is above the
// grant (a plan changed to a smaller one during the period).
func (b Balance) Left() int64 { return b.Max - b.Used }

// Reading says how fresh a balance must be and which period counts.
type Reading struct {
	// Cached lets both halves come from memory: the workspace row from the
	// store's read cache, the use as this process last saw it, at most
	// store.ReadCacheTTL ago (every charge here refreshes it; charges made
	// on other nodes show within that time). The live path's check only
	// spares the platform calls that could not be paid; the charge itself
	// is exact. Otherwise both are read from the database.
	Cached bool
	// At picks the period that holds at that time (zero: now, by the
	// ledger's clock).
	At time.Time
}

// Balance reads a workspace's grant and use in the period r names. Cached,
// its store entry points are the read cache's workspace row
// (CachedWorkspace) and, when this process has not seen the period's use
// recently, BalanceUsed. Fresh, both come from one statement
// (WorkspaceWithUse), for the period the cached row names; should the row
// read name another, the use is read again for it.
func (l *Ledger) Balance(ctx context.Context, workspaceID int64, r Reading) (Balance, error) {
	at := r.At
	if at.IsZero() {
		at = l.now()
	}
	w, err := l.DB.CachedWorkspace(ctx, workspaceID)
	if err != nil {
		return Balance{}, err
	}
	var used int64
	fresh := false
	if !r.Cached {
		guess, _ := Period(w.PeriodStart, at)
		if w, used, err = l.DB.WorkspaceWithUse(ctx, workspaceID, store.Millis(guess)); err != nil {
			return Balance{}, err
		}
		start, _ := Period(w.PeriodStart, at)
		fresh = start.Equal(guess)
	}
	start, end := Period(w.PeriodStart, at)
	b := Balance{Workspace: w, PeriodStart: start, PeriodEnd: end, Max: Milli(float64(l.Plans(w.Plan).CreditsPerPeriod))}
	period := store.Millis(start)
	switch {
	case fresh:
		b.Used = used
	case r.Cached:
		if used, ok := l.seenRecently(w.ID, period); ok {
			b.Used = used
			return b, nil
		}
		fallthrough
	default:
		if b.Used, err = l.DB.BalanceUsed(ctx, w.ID, period); err != nil {
			return Balance{}, err
		}
	}
	l.see(w.ID, period, b.Used)
	return b, nil
}

// Period returns the monthly credit period containing now, anchored on the
// workspace's period start (a workspace created on the 31st renews on the
// last day of shorter months).
func Period(anchor, now time.Time) (start, end time.Time) {
	anchor = anchor.UTC()
	months := (now.Year()-anchor.Year())*12 + int(now.Month()-anchor.Month())
	for {
		start = addMonths(anchor, months)
		if start.After(now) {
			months--
			continue
		}
		end = addMonths(anchor, months+1)
		if !end.After(now) {
			months++
			continue
		}
		return start, end
	}
}

func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// Guard is the credits check that admits a call costing need millicredits
// against this balance read fresh, in the round that reserves its Smart
// Limits (store.CreditGuard); nil when the call costs nothing.
func (b Balance) Guard(need int64) *store.CreditGuard {
	if need <= 0 {
		return nil
	}
	return &store.CreditGuard{WorkspaceID: b.Workspace.ID, Plan: b.Workspace.Plan, Anchor: store.Millis(b.Workspace.PeriodStart),
		Period: store.Millis(b.PeriodStart), Max: b.Max, Need: need}
}
