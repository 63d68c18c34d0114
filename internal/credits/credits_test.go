package credits_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/store"
)

func openDB(t *testing.T, dialect string) *store.DB {
	t.Helper()
	st := apitest.NewStore(t, dialect)
	db, err := store.Open(context.Background(), st.DatabaseURL, st.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

var wsSeq atomic.Int64

// newWorkspace adds a workspace whose plan grants grant credits.
func newWorkspace(t interface{ Fatal(...any) }, db *store.DB, grant int64) (*credits.Ledger, int64) {
	ws, err := store.InsertWorkspace(context.Background(), db.Write, store.NewWorkspace{UID: fmt.Sprint("ws-", wsSeq.Add(1)),
		Name: "w", Plan: "p", SecretKID: "k", Secret: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	plan := config.Plan{Name: "p", CreditsPerPeriod: grant, Identities: 1, ConcurrentRuns: 1}
	return &credits.Ledger{DB: db, Plans: func(string) config.Plan { return plan }}, ws
}

func open(t *testing.T, dialect string, grant int64) (*store.DB, *credits.Ledger, int64) {
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
		max, used, err := l.Balance(ctx, ws)
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
			max, used, err := l.Balance(ctx, ws)
			if err != nil {
				rt.Fatal(err)
			}
			if used != spent || used > max || used < 0 {
				rt.Fatalf("balance used %d, model %d, max %d", used, spent, max)
			}
		})
	})
}
