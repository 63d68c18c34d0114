package credits_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

func openDB(t *testing.T, dialect string) *store.Store {
	t.Helper()
	return apitest.NewStore(t, dialect).OpenDB(t)
}

var wsSeq atomic.Int64

// newWorkspace adds a workspace whose plan grants grant credits.
func newWorkspace(t interface{ Fatal(...any) }, db *store.Store, grant int64) (*credits.Ledger, int64) {
	ws, err := store.InsertWorkspace(context.Background(), db.Handles().W, store.NewWorkspace{UID: fmt.Sprint("ws-", wsSeq.Add(1)),
		Name: "w", Plan: "p", SecretKID: "k", Secret: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	plan := config.Plan{Name: "p", CreditsPerPeriod: grant, Identities: 1, ConcurrentRuns: 1}
	return &credits.Ledger{DB: db, Plans: func(string) config.Plan { return plan }}, ws
}

func open(t *testing.T, dialect string, grant int64) (*store.Store, *credits.Ledger, int64) {
	db := openDB(t, dialect)
	l, ws := newWorkspace(t, db, grant)
	return db, l, ws
}

// Concurrent charges never spend more than the balance, and every result
// returned was paid for.
func TestChargeUnderConcurrency(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		_, l, ws := open(t, dialect, 25)
		ctx := context.Background()
		var mu sync.Mutex
		paid := 0
		var wg sync.WaitGroup
		for i := 0; i < 60; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				c, err := l.Charge(ctx, credits.Charge{WorkspaceID: ws, Key: fmt.Sprint("k", i), Action: "a", Results: 3,
					PerResult: credits.Milli(1.5)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				paid += c.Paid
				mu.Unlock()
			}(i)
		}
		wg.Wait()
		max, used, err := maxUsed(ctx, l, ws)
		if err != nil {
			t.Fatal(err)
		}
		// 25 credits at 1.5 per result pay for 16 results (24 credits).
		if paid != 16 || used != credits.Milli(24) || used > max {
			t.Fatalf("paid %d results, used %d of %d millicredits", paid, used, max)
		}
	})
}

// A property test of the ledger against a model: random charges with random
// keys (some repeated), prices and result counts.
func TestLedgerProperties(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := openDB(t, dialect)
		rapid.Check(t, func(rt *rapid.T) {
			grant := rapid.Int64Range(0, 50).Draw(rt, "grant")
			l, ws := newWorkspace(rt, db, grant)
			ctx := context.Background()
			model := map[string]credits.Charged{}
			var spent int64
			for i, n := 0, rapid.IntRange(1, 25).Draw(rt, "n"); i < n; i++ {
				key := fmt.Sprint(ws, "-key-", rapid.IntRange(0, 8).Draw(rt, "key"))
				results := rapid.IntRange(0, 6).Draw(rt, "results")
				per := rapid.SampledFrom([]int64{0, 1000, 1500, 2000, 3000}).Draw(rt, "per")
				got, err := l.Charge(ctx, credits.Charge{WorkspaceID: ws, Key: key, Action: "a", Results: results, PerResult: per})
				if err != nil {
					rt.Fatal(err)
				}
				if prev, ok := model[key]; ok && results > 0 {
					if got.Paid != prev.Paid || got.Amount != prev.Amount {
						rt.Fatalf("repeat of %s charged again: %+v then %+v", key, prev, got)
					}
					continue
				}
				if results == 0 {
					if got.Paid != 0 || got.Amount != 0 {
						rt.Fatalf("zero results charged: %+v", got)
					}
					continue
				}
				if got.Paid > 0 {
					model[key] = got // an unpaid charge records nothing and may be retried
				}
				if got.Paid > results || got.Amount != int64(got.Paid)*per {
					rt.Fatalf("charge %+v for %d results at %d", got, results, per)
				}
				left := grant*1000 - spent
				if per > 0 && got.Paid < results && left-got.Amount >= per {
					rt.Fatalf("refused results it could pay for: left %d, per %d, %+v", left, per, got)
				}
				spent += got.Amount
			}
			max, used, err := maxUsed(ctx, l, ws)
			if err != nil {
				rt.Fatal(err)
			}
			if used != spent || used > max || used < 0 {
				rt.Fatalf("balance used %d, model %d, max %d", used, spent, max)
			}
		})
	})
}

// Many concurrent charges against a balance that fits exactly 25 of them:
// the conditional UPDATE pays 25 in full, the rest get nothing, whether the
// caller passes the workspace row or lets the charge read it, and whether
// the balance row exists yet (the first charges of a period create it).
func TestConditionalChargeExactUnderConcurrency(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, l, ws := open(t, dialect, 25)
		ctx := context.Background()
		w, err := store.GetWorkspace(ctx, db.Handles().R, ws)
		if err != nil {
			t.Fatal(err)
		}
		var paid, full, none atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				c := credits.Charge{WorkspaceID: ws, Key: fmt.Sprint("c", i), Action: "a", Results: 2, PerResult: 500,
					AllOrNothing: i%3 == 0}
				if i%2 == 0 {
					c.Workspace = &w
				}
				got, err := l.Charge(ctx, c)
				if err != nil {
					t.Error(err)
					return
				}
				if got.Amount != int64(got.Paid)*500 {
					t.Errorf("charge %d: %+v", i, got)
				}
				paid.Add(int64(got.Paid))
				switch got.Paid {
				case 2:
					full.Add(1)
				case 0:
					none.Add(1)
				}
			}(i)
		}
		wg.Wait()
		max, used, err := maxUsed(ctx, l, ws)
		if err != nil {
			t.Fatal(err)
		}
		if paid.Load() != 50 || full.Load() != 25 || none.Load() != 175 || used != max || used != credits.Milli(25) {
			t.Fatalf("paid %d results (%d in full, %d none), used %d of %d", paid.Load(), full.Load(), none.Load(), used, max)
		}
		// Every paid charge is recorded once with what it paid; unpaid ones
		// left no row.
		var rows, sum int64
		if err := db.Handles().R.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM credit_charges WHERE workspace_id = $1`, ws).
			Scan(&rows, &sum); err != nil {
			t.Fatal(err)
		}
		if rows != 25 || sum != used {
			t.Fatalf("%d charge rows summing %d, used %d", rows, sum, used)
		}
	})
}

// A charge that does not fit in full falls back to paying what is left, and
// corrects the charge row it recorded; a repeat returns the corrected row.
func TestConditionalChargePartialFallback(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, l, ws := open(t, dialect, 10)
		ctx := context.Background()
		c := credits.Charge{WorkspaceID: ws, Key: "big", Action: "a", Results: 8, PerResult: 1500}
		got, err := l.Charge(ctx, c)
		if err != nil || got.Paid != 6 || got.Amount != 9000 || got.Repeat {
			t.Fatalf("first: %+v, %v", got, err)
		}
		again, err := l.Charge(ctx, c)
		if err != nil || again.Paid != 6 || again.Amount != 9000 || !again.Repeat {
			t.Fatalf("repeat: %+v, %v", again, err)
		}
		var results, amount int64
		if err := db.Handles().R.QueryRowContext(ctx, `SELECT results, amount FROM credit_charges WHERE charge_key = $1`, "big").
			Scan(&results, &amount); err != nil || results != 6 || amount != 9000 {
			t.Fatalf("row: %d results, %d, %v", results, amount, err)
		}
		// 1 credit left: an all-or-nothing charge of two pays nothing and
		// leaves its key free; one result at 1 credit still fits exactly.
		none, err := l.Charge(ctx, credits.Charge{WorkspaceID: ws, Key: "aon", Action: "a", Results: 2, PerResult: 1000, AllOrNothing: true})
		if err != nil || none.Paid != 0 {
			t.Fatalf("all or nothing: %+v, %v", none, err)
		}
		last, err := l.Charge(ctx, credits.Charge{WorkspaceID: ws, Key: "aon", Action: "a", Results: 1, PerResult: 1000})
		if err != nil || last.Paid != 1 || last.Repeat {
			t.Fatalf("last credit: %+v, %v", last, err)
		}
		if left, err := left(ctx, l, ws); err != nil || left != 0 {
			t.Fatalf("left %d, %v", left, err)
		}
	})
}

// Concurrent charges of one key (a worker that runs twice at once) pay once:
// every caller gets the same answer, one of them as the first charge.
func TestConcurrentRepeatsPayOnce(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		_, l, ws := open(t, dialect, 100)
		ctx := context.Background()
		var first atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := l.Charge(ctx, credits.Charge{WorkspaceID: ws, Key: "same", Action: "a", Results: 4, PerResult: 1500})
				if err != nil {
					t.Error(err)
					return
				}
				if got.Paid != 4 || got.Amount != 6000 {
					t.Errorf("charged %+v", got)
				}
				if !got.Repeat {
					first.Add(1)
				}
			}()
		}
		wg.Wait()
		if _, used, err := maxUsed(ctx, l, ws); err != nil || used != 6000 || first.Load() != 1 {
			t.Fatalf("used %d (%v), %d first charges", used, err, first.Load())
		}
	})
}

// A cached Balance (the live path's) agrees with a fresh one: before any charge, after
// charges, with only an earlier period's row, and with a later period's row
// (a clock that went back).
func TestCachedBalanceMatchesFresh(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, l, ws := open(t, dialect, 10)
		ctx := context.Background()
		check := func(step string) {
			t.Helper()
			// Fresh, and from memory: this ledger's own charges keep what it
			// remembers exact.
			for _, fresh := range []bool{true, false} {
				w, max, used, err := reading(ctx, l, ws, fresh)
				if err != nil {
					t.Fatal(step, err)
				}
				wantMax, wantUsed, err := maxUsed(ctx, l, ws)
				if err != nil {
					t.Fatal(step, err)
				}
				if w.ID != ws || max != wantMax || used != wantUsed {
					t.Fatalf("%s (fresh %v): workspace %d, %d of %d; Balance says %d of %d", step, fresh, w.ID, used, max,
						wantUsed, wantMax)
				}
			}
		}
		check("no balance row")
		var start int64
		if err := db.Handles().R.QueryRowContext(ctx, `SELECT period_start FROM workspaces WHERE id = $1`, ws).Scan(&start); err != nil {
			t.Fatal(err)
		}
		// An earlier period's row only (the workspace's anchor is now, so
		// anything before it is an earlier period).
		if _, err := db.Handles().Write.ExecContext(ctx, `INSERT INTO credit_balances (workspace_id, period_start, used) VALUES ($1, $2, 7000)`,
			ws, start-40*24*3600*1000); err != nil {
			t.Fatal(err)
		}
		check("earlier period only")
		if _, err := l.Charge(ctx, credits.Charge{WorkspaceID: ws, Key: "k", Action: "a", Results: 3, PerResult: 1000}); err != nil {
			t.Fatal(err)
		}
		check("after a charge")
		if _, err := db.Handles().Write.ExecContext(ctx, `INSERT INTO credit_balances (workspace_id, period_start, used) VALUES ($1, $2, 5000)`,
			ws, start+400*24*3600*1000); err != nil {
			t.Fatal(err)
		}
		check("later period row")
		if _, _, used, _ := reading(ctx, l, ws, false); used != 3000 {
			t.Fatalf("used %d, want 3000", used)
		}
	})
}

// A property test of batch charging as the live path uses it (ChargeBatch:
// all in full, then each in turn in the same transaction when a balance runs short; on
// PostgreSQL, first store.PayAndRecord, which must write nothing when it
// cannot pay for all), against a model: charges of two workspaces in random
// batches, each paid in order for what is left.
func TestBatchChargeProperties(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := openDB(t, dialect)
		rapid.Check(t, func(rt *rapid.T) {
			grant := rapid.Int64Range(0, 40).Draw(rt, "grant")
			l, wsA := newWorkspace(rt, db, grant)
			_, wsB := newWorkspace(rt, db, grant)
			ctx := context.Background()
			wsRows := map[int64]*model.Workspace{}
			for _, id := range []int64{wsA, wsB} {
				w, err := store.GetWorkspace(ctx, db.Handles().R, id)
				if err != nil {
					rt.Fatal(err)
				}
				wsRows[id] = &w
			}
			spent := map[int64]int64{}
			for b, batches := 0, rapid.IntRange(1, 6).Draw(rt, "batches"); b < batches; b++ {
				var cs []credits.Charge
				for i, n := 0, rapid.IntRange(1, 8).Draw(rt, "n"); i < n; i++ {
					ws := rapid.SampledFrom([]int64{wsA, wsB}).Draw(rt, "ws")
					cs = append(cs, credits.Charge{WorkspaceID: ws, Workspace: wsRows[ws], Key: fmt.Sprintf("%d-%d-%d", ws, b, i),
						RunUID: "r", Action: "a", Results: rapid.IntRange(0, 6).Draw(rt, "results"),
						PerResult: rapid.SampledFrom([]int64{0, 1000, 1500}).Draw(rt, "per")})
				}
				var got []credits.Charged
				if dialect == store.Postgres && rapid.Bool().Draw(rt, "direct") {
					// As writeLiveDirect (engine) does.
					charged, err := l.ChargeBatchDirect(ctx, cs, func([]credits.Charged) []model.Run { return nil })
					switch {
					case err == nil:
						got = charged
					case !errors.Is(err, store.ErrShort):
						rt.Fatal(err)
					}
				}
				// As writeLive (engine) does: ChargeBatch pays each in turn
				// after a short attempt to pay all in full in the same
				// transaction, so that attempt must leave nothing behind.
				if got == nil {
					err := db.TxKeepCaches(ctx, func(tx *store.Tx) error {
						charged, err := l.ChargeBatch(ctx, tx, cs)
						got = charged
						return err
					})
					if err != nil {
						rt.Fatal(err)
					}
				}
				// The model: in order, each pays for what its workspace has left.
				for i, c := range cs {
					want := c.Results
					if c.PerResult > 0 {
						want = min(c.Results, int((grant*1000-spent[c.WorkspaceID])/c.PerResult))
					}
					if got[i].Paid != want || got[i].Amount != int64(want)*c.PerResult {
						rt.Fatalf("charge %d %+v: got %+v, want %d paid (spent %d of %d)", i, c, got[i], want,
							spent[c.WorkspaceID], grant*1000)
					}
					// The period the caller records on the run: the one whose
					// balance paid (a charge that paid nothing has none).
					if wantPeriod := periodOf(rt, db, c.WorkspaceID, want); got[i].Period != wantPeriod {
						rt.Fatalf("charge %d %+v: period %d, want %d", i, c, got[i].Period, wantPeriod)
					}
					spent[c.WorkspaceID] += got[i].Amount
				}
			}
			for _, ws := range []int64{wsA, wsB} {
				max, used, err := maxUsed(ctx, l, ws)
				if err != nil {
					rt.Fatal(err)
				}
				// Batch charges are recorded on their runs, by the caller:
				// they write no charge row of their own.
				var rows int64
				if err := db.Handles().R.QueryRowContext(ctx, `SELECT COUNT(*) FROM credit_charges WHERE workspace_id = $1`,
					ws).Scan(&rows); err != nil {
					rt.Fatal(err)
				}
				if used != spent[ws] || rows != 0 || used > max {
					rt.Fatalf("workspace %d: balance used %d, %d charge rows, model %d, max %d", ws, used, rows, spent[ws], max)
				}
			}
		})
	})
}

// periodOf is the period a charge of paid results was paid from: the start
// of the workspace's current balance period, or 0 when nothing was paid.
func periodOf(t interface{ Fatal(...any) }, db *store.Store, ws int64, paid int) int64 {
	if paid == 0 {
		return 0
	}
	w, err := store.GetWorkspace(context.Background(), db.Handles().R, ws)
	if err != nil {
		t.Fatal(err)
	}
	start, _ := credits.Period(w.PeriodStart, time.Now())
	return store.Millis(start)
}

// The consumption of a period sums the credit_charges rows (async charges,
// several per run) and the live runs, which carry their own charge. A live
// run of another period, and a run whose charges are rows (charge_period
// NULL, whatever its credits_used), add nothing from the runs' side.
func TestByActionSumsChargesAndLiveRuns(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db, l, ws := open(t, dialect, 100)
		ctx := context.Background()
		for i, results := range []int{2, 3} {
			if _, err := l.Charge(ctx, credits.Charge{WorkspaceID: ws, Key: fmt.Sprint("async-", i), RunUID: "async-run",
				Action: "a", Results: results, PerResult: 1000}); err != nil {
				t.Fatal(err)
			}
		}
		period := periodOf(t, db, ws, 1)
		now := time.Now()
		run := func(uid, action string, results int, amount, period int64) model.Run {
			return model.Run{UID: uid, WorkspaceID: ws, MemberUID: "m", ActionName: action, ExecutionMode: "LIVE",
				Status: model.RunSucceeded, IdentityMode: "direct", InputCount: 1, OutputCount: results, CreditsUsed: amount,
				ChargePeriod: period, StartedAt: &now, FinishedAt: &now}
		}
		runs := []model.Run{
			run("live-1", "a", 1, 1000, period),
			run("live-2", "b", 4, 6000, period),
			run("live-3", "b", 1, 0, period), // free results still count as results
			run("live-old", "b", 9, 9000, period-1),
			run("async-run", "a", 5, 5000, 0),
		}
		if err := db.InsertFinishedRuns(ctx, db.Handles().W, runs); err != nil {
			t.Fatal(err)
		}
		got, err := l.ByAction(ctx, ws, store.Time(period))
		if err != nil {
			t.Fatal(err)
		}
		want := []credits.Consumption{
			{ActionSlug: "a", CreditsUsed: 6, Runs: 2, Results: 6},
			{ActionSlug: "b", CreditsUsed: 6, Runs: 2, Results: 5},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("consumption %+v, want %+v", got, want)
		}
	})
}

// maxUsed is a fresh balance as (grant, use), the way these tests compare it.
func maxUsed(ctx context.Context, l *credits.Ledger, ws int64) (max, used int64, err error) {
	b, err := l.Balance(ctx, ws, credits.Reading{})
	return b.Max, b.Used, err
}

// left is what a fresh balance has left.
func left(ctx context.Context, l *credits.Ledger, ws int64) (int64, error) {
	b, err := l.Balance(ctx, ws, credits.Reading{})
	return b.Left(), err
}

// reading is a balance as the live path reads it: fresh, or from memory.
func reading(ctx context.Context, l *credits.Ledger, ws int64, fresh bool) (model.Workspace, int64, int64, error) {
	b, err := l.Balance(ctx, ws, credits.Reading{Cached: !fresh})
	return b.Workspace, b.Max, b.Used, err
}
