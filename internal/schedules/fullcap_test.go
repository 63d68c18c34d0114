package schedules_test

import (
	"context"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// TestBatchIntoAFullWorkspaceTakesNoSlotLock: on PostgreSQL, a batch of
// firings into a workspace already at its cap queues its runs without
// taking the workspace's run_slots row lock, so it commits while a
// finishing run holds that row; a slot freed meanwhile (by a finisher that
// could not see the batch's runs yet) is still taken, by the promote that
// follows the round. No free slot is left behind a QUEUED run, and the
// count stays exact. (SQLite has one writer and no row locks: its path is
// unchanged and covered by TestBatchAdmission*.)
func TestBatchIntoAFullWorkspaceTakesNoSlotLock(t *testing.T) {
	if err := apitest.PostgresAvailable(); err != nil {
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	f := newFixture(t, store.Postgres, "2031-03-01T00:00:00Z")
	ctx := context.Background()
	first := []string{
		f.create(map[string]any{"cron": "0 8 * * *", "callback": map[string]any{"url": nil}})["uid"].(string),
		f.create(map[string]any{"cron": "0 8 * * *", "callback": map[string]any{"url": nil}})["uid"].(string),
	}
	for i := 0; i < 4; i++ {
		f.create(map[string]any{"cron": "0 9 * * *", "callback": map[string]any{"url": nil}})
	}
	var wsID int64
	if err := f.env.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT workspace_id FROM schedules WHERE uid = $1`, first[0]).Scan(&wsID); err != nil {
		t.Fatal(err)
	}
	// The trial plan runs 2 at once.
	if _, err := f.env.App.DB.Handles().Write.ExecContext(ctx, `UPDATE workspaces SET plan = 'trial' WHERE id = $1`, wsID); err != nil {
		t.Fatal(err)
	}
	if st := f.fireAt("2031-03-01T08:00:00.100Z"); st.Fired != 2 {
		t.Fatalf("08:00: %+v", st)
	}
	count := func(status string) int {
		var n int
		if err := f.env.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE workspace_id = $1 AND status = $2`,
			wsID, status).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count("RUNNING") != 2 || slots(t, f.env, first[0]) != 2 {
		t.Fatalf("08:00: %d RUNNING, run_slots %d; want the workspace full", count("RUNNING"), slots(t, f.env, first[0]))
	}

	// A run finishes in a transaction that stays open: it holds the
	// workspace's run_slots row (the trigger's update) and promotes nothing.
	fin, err := f.env.App.DB.Handles().Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fin.Rollback()
	var finished string
	if err := fin.QueryRowContext(ctx, `UPDATE runs SET status = 'SUCCEEDED', finished_at = $2
		WHERE id = (SELECT MIN(id) FROM runs WHERE workspace_id = $1 AND status = 'RUNNING') RETURNING uid`,
		wsID, store.Now()).Scan(&finished); err != nil {
		t.Fatal(err)
	}

	fired := make(chan error, 1)
	go func() {
		f.clk.Set(mustTime("2031-03-01T09:00:00.100Z"))
		_, err := f.env.App.Schedules.FireDue(ctx)
		fired <- err
	}()
	// The batch commits its 4 QUEUED runs while the row is held (before, it
	// waited for the row inside its transaction: nothing would show).
	deadline := time.Now().Add(20 * time.Second)
	for count("QUEUED") < 4 {
		if time.Now().After(deadline) {
			fin.Rollback()
			t.Fatalf("the batch did not commit while a finishing run held run_slots (QUEUED %d)", count("QUEUED"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := fin.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-fired; err != nil {
		t.Fatalf("FireDue: %v", err)
	}
	// The slot the finisher freed went to the oldest QUEUED run.
	if r, q, n := count("RUNNING"), count("QUEUED"), slots(t, f.env, first[0]); r != 2 || q != 3 || n != 2 {
		t.Fatalf("after the round: %d RUNNING, %d QUEUED, run_slots %d; want 2, 3, 2", r, q, n)
	}
}
