package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// On PostgreSQL, reads of API requests have connections of their own, and a
// job's reads (store.Background) never take them: with every read
// connection held by requests, a job's read is answered, and another
// request's read waits. The readers are held by an advisory lock the test
// owns, not by a time, so nothing here depends on the machine's speed.
func TestReadsOfJobsAndRequestsUseSeparatePools(t *testing.T) {
	st := apitest.NewStore(t, "postgres")
	if st.DatabaseURL == "" {
		t.Skip("needs PostgreSQL")
	}
	db := st.OpenDB(t)
	ctx := context.Background()
	h := db.Handles()
	holder, err := h.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_lock(4242)`); err != nil {
		t.Fatal(err)
	}
	// Requests' reads fill the read connections, each waiting for the lock.
	const readConns = 6 // the read pool's size, README "Sizing"
	var wg sync.WaitGroup
	for range readConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.R.ExecContext(ctx, `SELECT pg_advisory_lock_shared(4242), pg_advisory_unlock_shared(4242)`); err != nil {
				t.Error(err)
			}
		}()
	}
	for end := time.Now().Add(30 * time.Second); h.Read.Stats().InUse < readConns; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the read pool never filled: %+v", h.Read.Stats())
		}
	}

	// A job's read is answered meanwhile, on the main pool.
	var one int
	jobCtx, cancelJob := context.WithTimeout(store.Background(ctx), 20*time.Second) // a bound, not a measure
	defer cancelJob()
	if err := h.R.QueryRowContext(jobCtx, `SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Fatalf("a job's read with every read connection busy: %v", err)
	}
	// A request's read waits for a read connection: it cannot be answered
	// while the lock is held.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = h.R.QueryRowContext(short, `SELECT 1`).Scan(&one)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a request's read with every read connection busy: %v, want it to wait", err)
	}
	if got := h.Read.Stats().InUse; got != readConns {
		t.Fatalf("read connections in use %d, want %d", got, readConns)
	}

	if _, err := holder.ExecContext(ctx, `SELECT pg_advisory_unlock(4242)`); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := h.R.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Fatal(err)
	}
}
