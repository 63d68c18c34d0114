package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
)

func openGroupDB(t *testing.T, dialect string) *store.Store {
	t.Helper()
	db := apitest.NewStore(t, dialect).OpenDB(t)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE g_rows (caller BIGINT PRIMARY KEY)`,
		`CREATE TABLE g_counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)`,
		`INSERT INTO g_counter (id, n) VALUES (1, 0)`,
	} {
		if _, err := db.Handles().Write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

var errMine = errors.New("caller's own failure")

// Concurrent callers share transactions, yet each one's outcome is its own:
// a function that fails (with an error, a failed statement or a panic)
// leaves nothing behind and is the only one to see its error; every other
// function's writes are committed once, and each saw the writes of those
// committed before it (a conditional UPDATE admits exactly 25 of 300).
func TestGroupTxOutcomesAreEachCallers(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := openGroupDB(t, dialect)
		var g store.Group
		const callers = 300
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := context.Background()
				errs[i] = g.Tx(ctx, db, func(tx *store.Tx) error {
					if _, err := db.Handles().Tx(tx).ExecContext(ctx, `INSERT INTO g_rows (caller) VALUES ($1)`, i); err != nil {
						return err
					}
					switch i % 10 {
					case 3:
						return errMine
					case 5:
						// A failed statement: on PostgreSQL it aborts the
						// transaction, which must not cost the others.
						_, err := db.Handles().Tx(tx).ExecContext(ctx, `INSERT INTO g_rows (caller) VALUES ($1)`, i)
						return err
					case 7:
						panic("boom")
					}
					res, err := db.Handles().Tx(tx).ExecContext(ctx, `UPDATE g_counter SET n = n + 1 WHERE id = 1 AND n < 25`)
					if err != nil {
						return err
					}
					if n, _ := res.RowsAffected(); n == 0 {
						return fmt.Errorf("full")
					}
					return nil
				})
			}()
		}
		wg.Wait()
		ctx := context.Background()
		succeeded := 0
		for i, err := range errs {
			switch i % 10 {
			case 3:
				if !errors.Is(err, errMine) {
					t.Errorf("caller %d: %v, want its own error", i, err)
				}
			case 5:
				if !store.IsUniqueViolation(err) {
					t.Errorf("caller %d: %v, want a unique violation", i, err)
				}
			case 7:
				if err == nil {
					t.Errorf("caller %d: a panic returned no error", i)
				}
			default:
				if err == nil {
					succeeded++
				} else if err.Error() != "full" {
					t.Errorf("caller %d: %v", i, err)
				}
			}
			var n int
			if err := db.Handles().Write.QueryRowContext(ctx, `SELECT COUNT(*) FROM g_rows WHERE caller = $1`, i).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 1, false: 0}[err == nil]; n != want {
				t.Errorf("caller %d (err %v): %d rows, want %d", i, err, n, want)
			}
		}
		var counter int
		if err := db.Handles().Write.QueryRowContext(ctx, `SELECT n FROM g_counter WHERE id = 1`).Scan(&counter); err != nil {
			t.Fatal(err)
		}
		if succeeded != 25 || counter != 25 {
			t.Errorf("%d callers succeeded and the counter is %d, want 25 and 25", succeeded, counter)
		}
	})
}

// A caller whose context is done before its turn writes nothing and gets
// the context's error.
func TestGroupTxCancelled(t *testing.T) {
	db := openGroupDB(t, "sqlite")
	var g store.Group
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := g.Tx(ctx, db, func(tx *store.Tx) error {
		_, err := db.Handles().Tx(tx).ExecContext(context.Background(), `INSERT INTO g_rows (caller) VALUES (1)`)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var n int
	if err := db.Handles().Write.QueryRow(`SELECT COUNT(*) FROM g_rows`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows (%v), want 0", n, err)
	}
}
