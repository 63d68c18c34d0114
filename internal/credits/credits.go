// Package credits is the credit ledger: each plan period grants credits,
// actions are charged credit_ratio x results (1.5x in managed mode), and the
// balance never goes below zero. Amounts are millicredits so that 1.5x stays
// exact. Every charge carries a key; charging the same key twice (a worker
// that runs twice) changes nothing the second time.
package credits

import (
	"context"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Milli converts credits to millicredits.
func Milli(credits float64) int64 { return int64(math.Round(credits * 1000)) }

// Credits converts millicredits to credits.
func Credits(milli int64) float64 { return float64(milli) / 1000 }

type Ledger struct {
	DB    *store.Store
	Plans func(name string) config.Plan
	Now   func() time.Time

	// seen remembers each balance's use as this process last read it or
	// set it (every charge returns it), for a cached Balance.
	seenMu sync.Mutex
	seen   map[balanceRow]seenUse
}

// balanceRow names one workspace's balance for one period.
type balanceRow struct{ workspaceID, period int64 }

type seenUse struct {
	used int64
	at   time.Time
}

// see records a balance's use as a statement just read or wrote it. The
// latest reading wins, even one from a transaction that then rolls back:
// every charge path that rolls back charges again and records what it
// committed, and what is remembered only steers a check that the charge
// makes exact anyway.
func (l *Ledger) see(workspaceID, period, used int64) {
	l.seenMu.Lock()
	defer l.seenMu.Unlock()
	if l.seen == nil || len(l.seen) >= 10_000 {
		l.seen = map[balanceRow]seenUse{}
	}
	l.seen[balanceRow{workspaceID, period}] = seenUse{used: used, at: time.Now()}
}

// seenRecently returns a balance's use read less than store.ReadCacheTTL ago.
func (l *Ledger) seenRecently(workspaceID, period int64) (int64, bool) {
	l.seenMu.Lock()
	defer l.seenMu.Unlock()
	s, ok := l.seen[balanceRow{workspaceID, period}]
	if !ok || time.Since(s.at) >= store.ReadCacheTTL {
		return 0, false
	}
	return s.used, true
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
	// Workspace is the workspace row when the caller has read it already
	// (its plan and period anchor set the grant); nil reads it in the
	// transaction.
	Workspace *model.Workspace
	// Key identifies a ChargeTx charge: a repeated key is a no-op. The batch
	// charges (live calls, recorded on their runs) use none.
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

// payable is how many of the charge's results left millicredits pay for:
// all of them when they are free, none when AllOrNothing and not all.
func (c Charge) payable(left int64) int {
	if c.PerResult <= 0 {
		return c.Results
	}
	affordable := max(0, left/c.PerResult)
	if int64(c.Results) <= affordable {
		return c.Results
	}
	if c.AllOrNothing {
		return 0
	}
	return int(affordable)
}

// Charged says how many of the results were paid for; the caller returns only
// those. Paid < Results means the balance ran out.
type Charged struct {
	Paid   int
	Amount int64
	// Repeat is true when the key had already been charged.
	Repeat bool
	// Period is the start (stored unit) of the balance period that paid,
	// set by the batch charges (ChargeBatch, ChargeBatchDirect) when Paid > 0:
	// their callers record it on the run (model.Run.ChargePeriod).
	Period int64
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
	err := l.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = l.ChargeTx(ctx, tx, c)
		return err
	})
	return out, err
}

// ChargeTx charges inside the caller's transaction, so that the charge and
// what it pays for (stored outputs) commit or roll back together.
//
// The balance row is the one row every charge of a workspace writes; on
// PostgreSQL, writing it locks it until the transaction ends, which
// serialises the workspace's charges (and their commits). So the common case
// takes the credits with a single conditional UPDATE issued as the last
// statement of the charge, and the caller should charge as late in its
// transaction as it can. Only when that UPDATE finds too little left (or no
// balance row yet this period) does the charge lock the row and pay for what
// the balance allows.
func (l *Ledger) ChargeTx(ctx context.Context, tx *store.Tx, c Charge) (Charged, error) {
	p, err := l.Record(ctx, tx, c)
	if err != nil || p.Done {
		return p.Charged, err
	}
	used, moved, err := store.MoveBalanceWithin(ctx, tx, p.Move)
	if err != nil {
		return Charged{}, err
	}
	return l.Settle(ctx, tx, p, used, moved)
}

// Recorded is a charge whose row Record wrote, as paid in full, and whose
// balance is still to be moved (Move) unless Done.
type Recorded struct {
	c Charge
	// Done: nothing is left to do (no results, a repeated key, or free
	// results); Charged is the outcome.
	Done    bool
	Charged Charged
	// Move is the conditional balance UPDATE that pays the charge in full;
	// the caller makes it (store.MoveBalanceWithin, or within another
	// statement) and hands its outcome to Settle.
	Move store.BalanceMove
}

// Record is the first half of ChargeTx: it writes the charge's row as fully
// paid and returns the balance move that pays it. Callers that hold other
// hot rows split the charge so that the balance's UPDATE comes as late as
// their own (see runs' chunk commit); everyone else calls ChargeTx.
func (l *Ledger) Record(ctx context.Context, tx *store.Tx, c Charge) (Recorded, error) {
	if c.Results <= 0 {
		return Recorded{c: c, Done: true}, nil
	}
	w := c.Workspace
	if w == nil {
		ws, err := store.GetWorkspace(ctx, tx, c.WorkspaceID)
		if err != nil {
			return Recorded{}, err
		}
		w = &ws
	}
	period, max := l.period(*w)
	full := Charged{Paid: c.Results, Amount: int64(c.Results) * c.PerResult}
	// Recorded as fully paid first, corrected by Settle in the rare partial
	// case, so that the balance UPDATE comes last. A key charged before (or
	// by a concurrent transaction that commits first) inserts nothing: the
	// charge is a repeat and returns what was paid then.
	inserted, err := store.InsertCharge(ctx, tx, store.NewCharge{WorkspaceID: c.WorkspaceID, Period: period, Key: c.Key,
		RunUID: c.RunUID, Action: c.Action, Results: full.Paid, Amount: full.Amount})
	if err != nil {
		return Recorded{}, err
	}
	if !inserted {
		results, amount, err := store.ChargeByKey(ctx, tx, c.Key)
		if err != nil {
			return Recorded{}, err
		}
		return Recorded{c: c, Done: true, Charged: Charged{Paid: results, Amount: amount, Repeat: true}}, nil
	}
	r := Recorded{c: c, Charged: full, Done: full.Amount == 0, // free results touch no balance
		Move: store.BalanceMove{WorkspaceID: c.WorkspaceID, Period: period, Amount: full.Amount, Cap: max}}
	return r, nil
}

// Settle is the second half of ChargeTx: given the outcome of r.Move (the
// use after it, and whether it was made), it returns what was paid; when
// the move was not made (too little left, or no balance row yet this
// period) it pays what the balance allows under the row's lock and corrects
// the charge's row.
func (l *Ledger) Settle(ctx context.Context, tx *store.Tx, r Recorded, used int64, moved bool) (Charged, error) {
	if r.Done {
		return r.Charged, nil
	}
	if moved {
		l.see(r.c.WorkspaceID, r.Move.Period, used)
		return r.Charged, nil
	}
	return l.chargeSlow(ctx, tx, r.c, r.Move.Period, r.Move.Cap)
}

// ChargeBatch charges a batch of live calls committed together, in tx, and
// chooses how: every charge paid in full with one balance update per
// workspace when the balances can pay (the common case), and otherwise each
// charge in turn for what its balance has left after those before it. Each
// charge needs its Workspace.
//
// The batch charges move balances only: they write no credit_charges row.
// Each charge is a live call's, and the caller records what was paid on the
// call's run row (credits_used, output_count, charge_period) in the same
// transaction; ByAction reads both. On PostgreSQL the balance rows stay
// locked until commit.
func (l *Ledger) ChargeBatch(ctx context.Context, tx *store.Tx, cs []Charge) ([]Charged, error) {
	charged, short, err := l.chargeAll(ctx, tx, cs)
	if err != nil || !short {
		return charged, err
	}
	return l.chargeEach(ctx, tx, cs)
}

// ChargeBatchDirect is ChargeBatch on PostgreSQL outside any transaction:
// when the balances can pay for every charge in full, the balance moves and
// the runs that record them (runs, given what each charge paid) commit
// together in one round trip (store.PayAndRecord). When a balance cannot,
// nothing is written and it returns store.ErrShort: the caller charges the
// batch with ChargeBatch in a transaction.
func (l *Ledger) ChargeBatchDirect(ctx context.Context, cs []Charge, runs func([]Charged) []model.Run) ([]Charged, error) {
	moves, charged := l.inFull(cs)
	used, err := store.PayAndRecord(ctx, l.DB, moves, runs(charged))
	if err != nil {
		return nil, err
	}
	l.moved(moves, used)
	return charged, nil
}

// chargeAll pays in full for every charge of a batch, or reports short:
// some workspace's balance cannot pay for its share (or has no row yet this
// period). Short, it leaves the transaction as it found it, for chargeEach.
// A workspace's balance is updated once, with the sum of its charges.
func (l *Ledger) chargeAll(ctx context.Context, tx *store.Tx, cs []Charge) (charged []Charged, short bool, err error) {
	moves, charged := l.inFull(cs)
	// Balances first: a short one is found before anything else is written,
	// and the balances already updated are put back.
	used := make([]int64, len(moves))
	for i, m := range moves {
		u, ok, err := store.MoveBalanceWithin(ctx, tx, m)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			for _, done := range moves[:i] {
				if err := store.MoveBalance(ctx, tx, done.WorkspaceID, done.Period, -done.Amount); err != nil {
					return nil, false, err
				}
			}
			return nil, true, nil
		}
		used[i] = u
	}
	l.moved(moves, used)
	return charged, false, nil
}

// inFull is what paying every charge of a batch in full writes and pays:
// one move per balance (in workspace order, as every transaction that locks
// several takes them), with the sum of its charges, and each charge paid in
// full. Charges with no results pay nothing; free ones move no balance.
func (l *Ledger) inFull(cs []Charge) ([]store.BalanceMove, []Charged) {
	charged := make([]Charged, len(cs))
	totals := map[balanceKey]int64{}
	for i, c := range cs {
		if c.Results <= 0 {
			continue
		}
		period, max := l.period(*c.Workspace)
		charged[i] = Charged{Paid: c.Results, Amount: int64(c.Results) * c.PerResult, Period: period}
		if c.PerResult > 0 {
			totals[balanceKey{c.WorkspaceID, period, max}] += int64(c.Results) * c.PerResult
		}
	}
	moves := make([]store.BalanceMove, 0, len(totals))
	for _, b := range sortedBalances(totals) {
		moves = append(moves, store.BalanceMove{WorkspaceID: b.workspaceID, Period: b.period, Amount: totals[b], Cap: b.max})
	}
	return moves, charged
}

// moved records the balances' use once moves have committed (used: each
// one's use after its move), for a cached Balance.
func (l *Ledger) moved(moves []store.BalanceMove, used []int64) {
	for i, m := range moves {
		l.see(m.WorkspaceID, m.Period, used[i])
	}
}

// chargeEach pays for a batch's charges in order, each for as many results
// as the balance has left after those before it, under the lock of each
// workspace's balance row. It is chargeAll's fallback when a balance runs
// short.
func (l *Ledger) chargeEach(ctx context.Context, tx *store.Tx, cs []Charge) ([]Charged, error) {
	out := make([]Charged, len(cs))
	byBalance := map[balanceKey][]int{}
	for i, c := range cs {
		if c.Results <= 0 {
			continue
		}
		period, max := l.period(*c.Workspace)
		k := balanceKey{c.WorkspaceID, period, max}
		byBalance[k] = append(byBalance[k], i)
	}
	totals := map[balanceKey]int64{}
	for _, b := range sortedBalances(byBalance) {
		used, err := l.DB.LockBalance(ctx, tx, b.workspaceID, b.period)
		if err != nil {
			return nil, err
		}
		for _, i := range byBalance[b] {
			c := cs[i]
			paid := c.payable(b.max - used)
			out[i] = Charged{Paid: paid, Amount: int64(paid) * c.PerResult}
			if paid > 0 {
				out[i].Period = b.period
			}
			used += out[i].Amount
			totals[b] += out[i].Amount
		}
		l.see(b.workspaceID, b.period, used)
	}
	for _, b := range sortedBalances(totals) {
		if totals[b] == 0 {
			continue
		}
		if err := store.MoveBalance(ctx, tx, b.workspaceID, b.period, totals[b]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// balanceKey is one workspace's balance row for a period, with its grant.
type balanceKey struct {
	workspaceID, period, max int64
}

// sortedBalances lists a map's balance rows in workspace order: every
// transaction that locks several takes them in the same order.
func sortedBalances[V any](m map[balanceKey]V) []balanceKey {
	out := make([]balanceKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].workspaceID != out[j].workspaceID {
			return out[i].workspaceID < out[j].workspaceID
		}
		return out[i].period < out[j].period
	})
	return out
}

// chargeSlow pays for what the balance allows, under the balance row's lock,
// and corrects (or drops) the charge row ChargeTx recorded as fully paid.
func (l *Ledger) chargeSlow(ctx context.Context, tx *store.Tx, c Charge, period, max int64) (Charged, error) {
	used, err := l.DB.LockBalance(ctx, tx, c.WorkspaceID, period)
	if err != nil {
		return Charged{}, err
	}
	paid := c.payable(max - used)
	out := Charged{Paid: paid, Amount: int64(paid) * c.PerResult}
	if paid == 0 {
		// Nothing paid, nothing recorded: the key stays free for a retry.
		return out, store.DeleteCharge(ctx, tx, c.Key)
	}
	if paid < c.Results {
		if err := store.SetChargePaid(ctx, tx, c.Key, out.Paid, out.Amount); err != nil {
			return Charged{}, err
		}
	}
	if err := store.MoveBalance(ctx, tx, c.WorkspaceID, period, out.Amount); err != nil {
		return Charged{}, err
	}
	l.see(c.WorkspaceID, period, used+out.Amount)
	return out, nil
}

// period is the workspace's current period start (stored unit) and grant in
// millicredits.
func (l *Ledger) period(w model.Workspace) (period, max int64) {
	start, _ := Period(w.PeriodStart, l.now())
	return store.Millis(start), Milli(float64(l.Plans(w.Plan).CreditsPerPeriod))
}

// Consumption is one action's share of a period.
type Consumption struct {
	ActionSlug  string  `json:"action_slug"`
	CreditsUsed float64 `json:"credits_used"`
	Runs        int     `json:"runs"`
	Results     int     `json:"results"`
}

// ByAction breaks a period's charges down by action: the credit_charges rows
// (async runs, several per run) and the live runs, which carry their own
// charge.
//
// A live run is recorded in the same batch that charges it, after its
// period was read from the clock, so its created_at is at or after its
// period's start. The bound lets the runs' (workspace_id, created_at) index
// skip earlier periods; the day's margin only absorbs a clock stepped back
// between the two readings. charge_period decides what counts.
func (l *Ledger) ByAction(ctx context.Context, workspaceID int64, since time.Time) ([]Consumption, error) {
	period := store.Millis(since)
	sums, err := l.DB.ChargesByAction(ctx, workspaceID, period, period-24*60*60*1000)
	if err != nil {
		return nil, err
	}
	out := make([]Consumption, len(sums))
	for i, c := range sums {
		out[i] = Consumption{ActionSlug: c.Action, CreditsUsed: Credits(c.Amount), Runs: c.Runs, Results: c.Results}
	}
	return out, nil
}
