package runs_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// TestSlotCounterMultiRowStatements: run_slots.running equals the RUNNING
// async runs of each workspace after multi-row statements that span two
// workspaces and mix every kind of row (migration 00045 counts per
// statement on PostgreSQL, 00044 per row on SQLite): one INSERT of RUNNING,
// QUEUED, INVALID and LIVE runs, UPDATEs moving some in and some out of
// RUNNING at once, an UPDATE touching RUNNING runs without changing the
// status, one that matches nothing, StartRuns, and a DELETE.
func TestSlotCounterMultiRowStatements(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		ctx := context.Background()
		var ws [2]model.Workspace
		for i := range ws {
			c, err := e.App.Workspaces.Create(ctx, fmt.Sprint("Slots ", i), "unlimited", fmt.Sprintf("slots%d@example.com", i), "")
			if err != nil {
				t.Fatal(err)
			}
			ws[i] = c.Workspace
		}
		check := func(step string) {
			t.Helper()
			for _, w := range ws {
				want := e.count(`SELECT COUNT(*) FROM runs WHERE workspace_id = $1 AND execution_mode = 'ASYNC' AND status = 'RUNNING'`, w.ID)
				if got := e.count(`SELECT running FROM run_slots WHERE workspace_id = $1`, w.ID); got != want {
					t.Fatalf("%s: workspace %d: run_slots.running = %d, %d RUNNING runs", step, w.ID, got, want)
				}
			}
		}
		tx := func(fn func(tx *store.Tx) error) {
			t.Helper()
			if err := e.App.DB.Tx(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := e.App.DB.Handles().Write.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		statuses := []string{model.RunRunning, model.RunQueued, model.RunRunning, model.RunInvalid, model.RunRunning, model.RunQueued}
		var rs []store.BulkRun
		for i := 0; i < 60; i++ {
			w := ws[i%2]
			r := model.Run{UID: fmt.Sprintf("slots-%s-%d", dialect, i), WorkspaceID: w.ID, ActionName: "googlemaps-extract-place",
				ExecutionMode: "ASYNC", Status: statuses[(i/2)%len(statuses)], IdentityMode: "direct", InputCount: 1}
			if i%10 == 9 {
				r.ExecutionMode = "LIVE" // never counted
			}
			rs = append(rs, store.BulkRun{NewRun: store.NewRun{Run: r}})
		}
		tx(func(tx *store.Tx) error { return e.App.DB.InsertRuns(ctx, tx, rs) })
		check("multi-row insert")
		if n := e.count(`SELECT running FROM run_slots WHERE workspace_id = $1`, ws[0].ID); n == 0 {
			t.Fatal("no RUNNING run inserted: the test checks nothing")
		}

		// In one statement, per workspace: RUNNING -> SUCCEEDED and QUEUED ->
		// RUNNING, and INVALID stays.
		exec(`UPDATE runs SET status = CASE status WHEN 'RUNNING' THEN 'SUCCEEDED' WHEN 'QUEUED' THEN 'RUNNING' ELSE status END
			WHERE id % 3 <> 0`)
		check("mixed update")
		exec(`UPDATE runs SET output_count = output_count + 1, status = status`)
		check("update without a status change")
		exec(`UPDATE runs SET status = 'RUNNING' WHERE id < 0`)
		check("update of no row")

		// Two transactions' worth of StartRuns over both workspaces, some
		// ids no longer QUEUED (left alone).
		var ids []int64
		rows, err := e.App.DB.Handles().R.QueryContext(ctx, `SELECT id FROM runs ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		exec(`UPDATE runs SET status = 'QUEUED' WHERE status = 'RUNNING' AND id % 2 = 0`)
		check("back to QUEUED")
		queued := e.count(`SELECT COUNT(*) FROM runs WHERE status = 'QUEUED' AND execution_mode = 'ASYNC'`)
		var moved []int64
		tx(func(tx *store.Tx) error {
			moved, err = e.App.DB.StartRuns(ctx, tx, ids, store.Time(store.Now()))
			return err
		})
		if len(moved) != queued {
			t.Errorf("StartRuns moved %d runs, %d were QUEUED", len(moved), queued)
		}
		check("StartRuns")

		exec(`DELETE FROM runs WHERE id % 4 = 1`)
		check("multi-row delete")
		exec(`UPDATE runs SET status = 'STOPPED' WHERE status = 'RUNNING'`)
		check("all stopped")
		if n := e.count(`SELECT running FROM run_slots WHERE workspace_id = $1`, ws[1].ID); n != 0 {
			t.Errorf("run_slots.running = %d after every run stopped", n)
		}
	})
}
