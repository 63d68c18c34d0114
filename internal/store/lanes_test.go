package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Two lanes written by concurrent callers: every item gets its own outcome
// from its lane's write (odd items are refused and leave no row), after runs
// once per committed transaction with exactly the items it held, and a
// transaction that fails fails every item in it and runs no after. On
// SQLite the lanes share transactions; on PostgreSQL they never do.
func TestLanesOutcomesAndSharing(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := openGroupDB(t, dialect)
		ctx := context.Background()
		var shared atomic.Int64 // transactions that held items of both lanes
		var mu sync.Mutex
		inTx := map[*store.Tx]map[string]bool{}
		committed := map[int]bool{}
		mark := func(tx *store.Tx, lane string) {
			mu.Lock()
			defer mu.Unlock()
			if inTx[tx] == nil {
				inTx[tx] = map[string]bool{}
			}
			inTx[tx][lane] = true
			if len(inTx[tx]) == 2 {
				shared.Add(1)
			}
		}
		var refused = errors.New("refused")
		write := func(lane string, offset int) func(ctx context.Context, tx *store.Tx, items []int) ([]error, error) {
			return func(ctx context.Context, tx *store.Tx, items []int) ([]error, error) {
				mark(tx, lane)
				errs := make([]error, len(items))
				for k, i := range items {
					if i == 7 {
						// A broken statement: the transaction's error.
						return nil, fmt.Errorf("broken: %w", sql.ErrConnDone)
					}
					if i%2 == 1 {
						errs[k] = refused
						continue
					}
					if _, err := db.Handles().Tx(tx).ExecContext(ctx, `INSERT INTO g_rows (caller) VALUES ($1)`, offset+i); err != nil {
						return nil, err
					}
				}
				return errs, nil
			}
		}
		after := func(items []int) {
			mu.Lock()
			defer mu.Unlock()
			for _, i := range items {
				if committed[i] {
					t.Errorf("item %d committed twice", i)
				}
				committed[i] = true
			}
		}
		a := store.NewLane(db, write("a", 0), after)
		b := store.NewLane(db, write("b", 10_000), func([]int) {})
		const n = 400
		errs := make([]error, 2*n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(2)
			go func() { defer wg.Done(); errs[i] = a.Do(ctx, i) }()
			go func() { defer wg.Done(); errs[n+i] = b.Do(ctx, i) }()
		}
		wg.Wait()
		rows := map[int]bool{}
		r, err := db.Handles().Write.QueryContext(ctx, `SELECT caller FROM g_rows`)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var c int
			_ = r.Scan(&c)
			rows[c] = true
		}
		r.Close()
		failed := 0
		for i := range n {
			for lane, off := range map[int]int{0: 0, 1: 10_000} {
				err := errs[lane*n+i]
				switch {
				case errors.Is(err, sql.ErrConnDone):
					// Item 7's transaction, and whatever shared it.
					failed++
					if rows[off+i] {
						t.Errorf("lane %d item %d: failed (%v) but its row is there", lane, i, err)
					}
				case i == 7:
					t.Errorf("lane %d item 7: %v, want the transaction's error", lane, err)
				case i%2 == 1:
					if !errors.Is(err, refused) || rows[off+i] {
						t.Errorf("lane %d item %d: %v (row %v), want refused and no row", lane, i, err, rows[off+i])
					}
				case err != nil:
					t.Errorf("lane %d item %d: %v", lane, i, err)
				case !rows[off+i]:
					t.Errorf("lane %d item %d: committed without its row", lane, i)
				}
			}
			if want := errs[i] == nil || errors.Is(errs[i], refused); committed[i] != want {
				t.Errorf("lane a item %d: after saw it %v, want %v (error %v)", i, committed[i], want, errs[i])
			}
		}
		if failed < 2 || failed > 4*64 {
			t.Errorf("%d items failed with item 7's transactions", failed)
		}
		if got := shared.Load(); (dialect == "sqlite") != (got > 0) {
			t.Errorf("%s: %d transactions held both lanes", dialect, got)
		}
		batches, items := a.Stats()
		if items != n || batches == 0 || batches > items {
			t.Errorf("lane a stats: %d batches, %d items; want %d items", batches, items, n)
		}
	})
}

// A lane's direct write replaces its transaction on PostgreSQL only: its
// outcomes are the items', after runs when it returns no batch error, and
// a batch error fails every item without after. On SQLite the lane's write
// runs in the shared transaction as before.
func TestLaneDirectWrite(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := openGroupDB(t, dialect)
		ctx := context.Background()
		var wrote, direct, afters atomic.Int64
		refused, broken := errors.New("refused"), errors.New("broken")
		l := store.NewLane(db, func(ctx context.Context, tx *store.Tx, items []int) ([]error, error) {
			wrote.Add(int64(len(items)))
			return make([]error, len(items)), nil
		}, func(items []int) { afters.Add(int64(len(items))) })
		l.SetDirect(func(ctx context.Context, db *store.Store, items []int) ([]error, error) {
			direct.Add(int64(len(items)))
			errs := make([]error, len(items))
			for k, i := range items {
				switch {
				case i == 3:
					return nil, broken
				case i%2 == 1:
					errs[k] = refused
				}
			}
			return errs, nil
		})
		for _, i := range []int{2, 5, 3} {
			err := l.Do(ctx, i)
			switch {
			case dialect == store.SQLite && err != nil:
				t.Fatalf("item %d on SQLite: %v", i, err)
			case dialect == store.Postgres && i == 2 && err != nil,
				dialect == store.Postgres && i == 5 && !errors.Is(err, refused),
				dialect == store.Postgres && i == 3 && !errors.Is(err, broken):
				t.Fatalf("item %d on PostgreSQL: %v", i, err)
			}
		}
		if dialect == store.SQLite {
			if wrote.Load() != 3 || direct.Load() != 0 || afters.Load() != 3 {
				t.Fatalf("SQLite: write saw %d items, direct %d, after %d; want 3, 0, 3", wrote.Load(), direct.Load(), afters.Load())
			}
			return
		}
		if wrote.Load() != 0 || direct.Load() != 3 || afters.Load() != 2 {
			t.Fatalf("PostgreSQL: write saw %d items, direct %d, after %d; want 0, 3, 2", wrote.Load(), direct.Load(), afters.Load())
		}
		// WriteTx, a direct write's fallback, runs the lane's write in a
		// transaction of its own.
		if errs, err := l.WriteTx(ctx, []int{8, 9}); err != nil || len(errs) != 2 || wrote.Load() != 2 {
			t.Fatalf("WriteTx: %v %v, write saw %d items", errs, err, wrote.Load())
		}
	})
}
