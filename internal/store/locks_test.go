package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// LockWorkspace serialises its callers but does not wait for transactions
// that merely reference the workspace (an uncommitted run or schedule
// firing: its foreign key holds KEY SHARE on the workspace's row until it
// ends). PostgreSQL only: on SQLite the row locks are no-ops (one writer).
func TestLockWorkspaceWaitsForLockersOnly(t *testing.T) {
	if !slices.Contains(apitest.Dialects(t), "postgres") {
		t.Skip("PostgreSQL unreachable")
	}
	db := apitest.NewStore(t, "postgres").OpenDB(t)
	ctx := context.Background()
	ws, err := store.InsertWorkspace(ctx, db.Handles().W, store.NewWorkspace{UID: "ws_lock", Name: "lock", Plan: "free", SecretKID: "k1", Secret: []byte("sealed")})
	if err != nil {
		t.Fatal(err)
	}

	// What an uncommitted insert referencing the workspace holds.
	referencing, err := db.Handles().Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer referencing.Rollback()
	if _, err := referencing.ExecContext(ctx, `SELECT id FROM workspaces WHERE id = $1 FOR KEY SHARE`, ws); err != nil {
		t.Fatal(err)
	}
	// A bound only so that a regression fails instead of hanging: with FOR
	// UPDATE this waits until the referencing transaction ends, i.e. never.
	bounded, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := db.Tx(bounded, func(tx *store.Tx) error { return db.LockWorkspace(bounded, tx, ws) }); err != nil {
		t.Fatalf("LockWorkspace waited for a transaction that only references the workspace: %v", err)
	}

	// Two lockers still run one after the other: the second waits on a lock
	// (seen in pg_stat_activity) until the first ends.
	release := make(chan struct{})
	holding := make(chan error, 1)
	go func() {
		holding <- db.Tx(ctx, func(tx *store.Tx) error {
			if err := db.LockWorkspace(ctx, tx, ws); err != nil {
				return err
			}
			<-release
			return nil
		})
	}()
	second := make(chan error, 1)
	time.Sleep(100 * time.Millisecond) // let the first take the lock (not an assertion: checked below)
	go func() {
		second <- db.Tx(ctx, func(tx *store.Tx) error { return db.LockWorkspace(ctx, tx, ws) })
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		var waiting int
		if err := db.Handles().Write.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = current_setting('application_name')
				AND wait_event_type = 'Lock' AND query LIKE '%FROM workspaces%FOR NO KEY UPDATE%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 1 {
			break
		}
		select {
		case err := <-second:
			t.Fatalf("the second LockWorkspace did not wait for the first (err %v)", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the second LockWorkspace never waited on a lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(release)
	if err := <-holding; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}
