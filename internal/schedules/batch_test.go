package schedules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/model"
)

// TestBatchWithInvalidRequests: one batch fires valid schedules together
// with two whose stored request can no longer make a run (a deleted
// identity, a stored request that no longer decodes). The two get INVALID
// runs with the reason, the others their runs with their inputs, each
// schedule records its own run as last_run_uid, and the concurrency slots
// count the valid runs only.
func TestBatchWithInvalidRequests(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-03-01T00:00:00Z")
		ctx := context.Background()
		var valid []string
		for i := 0; i < 30; i++ {
			valid = append(valid, f.create(map[string]any{"cron": "0 9 * * *", "inputs": []any{placeInput(fmt.Sprint("b", i))}})["uid"].(string))
		}
		id := f.env.Must(200, "POST", "/v4/identities", f.key, map[string]any{"name": "Batch identity"}).Obj()["uid"].(string)
		gone := f.env.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/schedule", f.key, map[string]any{
			"inputs":   []any{map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/someone"}},
			"callback": map[string]any{"url": nil}, "cron": "0 9 * * *", "identity_ids": []any{id}}).Obj()["uid"].(string)
		f.env.Must(200, "DELETE", "/v4/identities/"+id, f.key, nil)
		broken := f.create(map[string]any{"cron": "0 9 * * *"})["uid"].(string)
		if _, err := f.env.App.DB.Handles().Write.ExecContext(ctx, `UPDATE schedules SET request = 'not json' WHERE uid = $1`, broken); err != nil {
			t.Fatal(err)
		}

		if st := f.fireAt("2031-03-01T09:00:00.100Z"); st.Fired != 32 || st.Failed != 0 || st.Lost != 0 {
			t.Fatalf("one batch of 32: %+v", st)
		}
		for _, uid := range []string{gone, broken} {
			rs := f.runs(uid)
			if len(rs) != 1 || rs[0]["status"] != model.RunInvalid || rs[0]["last_error"] == nil {
				t.Fatalf("schedule %s: runs %v", uid, rs)
			}
			if sc := f.get(uid); sc["status"] != "ACTIVE" || lastRun(t, f.env, uid) != rs[0]["uid"] {
				t.Errorf("schedule %s after an INVALID firing: %v, last_run_uid %s", uid, sc, lastRun(t, f.env, uid))
			}
		}
		if rs := f.runs(gone); rs[0]["last_error"].(map[string]any)["label"] != "NOT_FOUND" {
			t.Errorf("vanished identity: %v", rs[0]["last_error"])
		}
		for i, uid := range valid {
			rs := f.runs(uid)
			if len(rs) != 1 || rs[0]["status"] != "RUNNING" || rs[0]["input_count"] != float64(1) {
				t.Fatalf("schedule %d: runs %v", i, rs)
			}
			if l := lastRun(t, f.env, uid); l != rs[0]["uid"] {
				t.Errorf("schedule %d: last_run_uid %v, run %v", i, l, rs[0]["uid"])
			}
			var input string
			if err := f.env.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT i.input FROM run_inputs i JOIN runs r ON r.id = i.run_id
				WHERE r.uid = $1`, rs[0]["uid"]).Scan(&input); err != nil || input != fmt.Sprintf(`{"google_maps_place_url":"https://www.google.com/maps/place/Cafe+b%d/"}`, i) {
				t.Errorf("schedule %d: input %q %v", i, input, err)
			}
		}
		if n := slots(t, f.env, valid[0]); n != 30 {
			t.Errorf("run_slots.running = %d, want 30", n)
		}
	})
}

// TestBatchAdmissionUnderCap: a batch of firings in a workspace whose plan
// runs 2 at once starts 2 and queues the rest; cancelling a RUNNING one
// promotes the oldest QUEUED one, cancelling a QUEUED one changes no slot.
func TestBatchAdmissionUnderCap(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-03-01T00:00:00Z")
		ctx := context.Background()
		var uids []string
		for i := 0; i < 6; i++ {
			uids = append(uids, f.create(map[string]any{"cron": "0 9 * * *", "callback": map[string]any{"url": nil}})["uid"].(string))
		}
		// The trial plan runs 2 at once (and rate-limits the API to 1 call
		// a second, hence the direct reads and service calls below).
		var wsID int64
		if err := f.env.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT workspace_id FROM schedules WHERE uid = $1`, uids[0]).Scan(&wsID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.env.App.DB.Handles().Write.ExecContext(ctx, `UPDATE workspaces SET plan = 'trial' WHERE id = $1`, wsID); err != nil {
			t.Fatal(err)
		}
		if st := f.fireAt("2031-03-01T09:00:00.100Z"); st.Fired != 6 {
			t.Fatalf("%+v", st)
		}
		byStatus := func() map[string][]string {
			rows, err := f.env.App.DB.Handles().Read.QueryContext(ctx, `SELECT uid, status FROM runs WHERE workspace_id = $1 ORDER BY id`, wsID)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[string][]string{}
			for rows.Next() {
				var uid, st string
				if err := rows.Scan(&uid, &st); err != nil {
					t.Fatal(err)
				}
				out[st] = append(out[st], uid)
			}
			return out
		}
		cancel := func(uid string) {
			if _, err := f.env.App.Runs.Cancel(ctx, wsID, uid); err != nil {
				t.Fatalf("cancel %s: %v", uid, err)
			}
		}
		got := byStatus()
		if len(got["RUNNING"]) != 2 || len(got["QUEUED"]) != 4 {
			t.Fatalf("after the batch: %v", got)
		}
		if n := slots(t, f.env, uids[0]); n != 2 {
			t.Fatalf("run_slots.running = %d, want 2", n)
		}
		oldestQueued := got["QUEUED"][0]
		cancel(got["RUNNING"][0])
		got = byStatus()
		if len(got["RUNNING"]) != 2 || len(got["QUEUED"]) != 3 || !contains(got["RUNNING"], oldestQueued) {
			t.Fatalf("after cancelling a RUNNING run: %v (oldest QUEUED was %s)", got, oldestQueued)
		}
		cancel(got["QUEUED"][1])
		got = byStatus()
		if len(got["RUNNING"]) != 2 || len(got["QUEUED"]) != 2 || len(got["STOPPED"]) != 2 {
			t.Fatalf("after cancelling a QUEUED run: %v", got)
		}
		if n := slots(t, f.env, uids[0]); n != 2 {
			t.Errorf("run_slots.running = %d, want 2", n)
		}
	})
}

// TestBatchAdmissionPartlyFree: in a workspace whose plan runs 2 at once
// and already runs one, a batch of 5 firings starts exactly one, with its
// chunk job, and queues 4; run_slots counts 2. On PostgreSQL
// the batch's runs are inserted QUEUED and started under the slot lock
// afterwards (runs.SubmitManyTx), on SQLite inserted RUNNING.
func TestBatchAdmissionPartlyFree(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-03-01T00:00:00Z")
		ctx := context.Background()
		var uids []string
		for i := 0; i < 5; i++ {
			uids = append(uids, f.create(map[string]any{"cron": "0 9 * * *", "callback": map[string]any{"url": nil}})["uid"].(string))
		}
		var wsID int64
		if err := f.env.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT workspace_id FROM schedules WHERE uid = $1`, uids[0]).Scan(&wsID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.env.App.DB.Handles().Write.ExecContext(ctx, `UPDATE workspaces SET plan = 'trial' WHERE id = $1`, wsID); err != nil {
			t.Fatal(err)
		}
		// One run RUNNING before the firing, from a plain submission.
		r := f.env.Must(200, "POST", "/v4/actions/"+placeSlug+"/run/async", f.key, map[string]any{
			"inputs": []any{placeInput("before")}, "callback": map[string]any{"url": nil}}).Obj()
		if r["status"] != "RUNNING" {
			t.Fatalf("the first run is %v", r["status"])
		}
		if st := f.fireAt("2031-03-01T09:00:00.100Z"); st.Fired != 5 {
			t.Fatalf("%+v", st)
		}
		count := func(q string, args ...any) int {
			var n int
			if err := f.env.App.DB.Handles().Read.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		running := count(`SELECT COUNT(*) FROM runs WHERE workspace_id = $1 AND status = 'RUNNING'`, wsID)
		queued := count(`SELECT COUNT(*) FROM runs WHERE workspace_id = $1 AND status = 'QUEUED'`, wsID)
		fired := count(`SELECT COUNT(*) FROM runs WHERE workspace_id = $1 AND status = 'RUNNING' AND scheduled_run_uid <> ''
			AND started_at IS NOT NULL`, wsID)
		if running != 2 || queued != 4 || fired != 1 {
			t.Fatalf("%d RUNNING (%d fired, started), %d QUEUED; want 2 (1), 4", running, fired, queued)
		}
		if n := slots(t, f.env, uids[0]); n != 2 {
			t.Errorf("run_slots.running = %d, want 2", n)
		}
		// The started firing has its chunk job: River's table holds one
		// chunk job for it and one for the plain run.
		if n := count(`SELECT COUNT(*) FROM river_job WHERE kind = 'run_chunk'`); n != 2 {
			t.Errorf("%d chunk jobs, want 2", n)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// slots reads run_slots.running of the workspace of a schedule.
func slots(t *testing.T, env *apitest.Env, scheduleUID string) int {
	t.Helper()
	var n int
	if err := env.App.DB.Handles().Read.QueryRowContext(context.Background(), `SELECT running FROM run_slots
		WHERE workspace_id = (SELECT workspace_id FROM schedules WHERE uid = $1)`, scheduleUID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// lastRun reads a schedule's last_run_uid (not part of the API).
func lastRun(t *testing.T, env *apitest.Env, scheduleUID string) string {
	t.Helper()
	var uid string
	if err := env.App.DB.Handles().Read.QueryRowContext(context.Background(), `SELECT last_run_uid FROM schedules WHERE uid = $1`,
		scheduleUID).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	return uid
}

// TestPromoteWaiting: runs a firing left QUEUED while slots are free (its
// promote lost, as when the node stops between the batch's commit and the
// promote) are started by runs.Service.PromoteWaiting, the sweep the
// firing loop runs every few seconds: the oldest ones, as many as the plan
// has free slots, each with a River job for its chunk; a workspace at its
// cap is left alone.
func TestPromoteWaiting(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, "2031-03-01T00:00:00Z")
		ctx := context.Background()
		db := f.env.App.DB.Handles()
		var first string
		for i := 0; i < 5; i++ {
			uid := f.create(map[string]any{"cron": "0 9 * * *", "callback": map[string]any{"url": nil}})["uid"].(string)
			if first == "" {
				first = uid
			}
		}
		var wsID int64
		if err := db.Read.QueryRowContext(ctx, `SELECT workspace_id FROM schedules LIMIT 1`).Scan(&wsID); err != nil {
			t.Fatal(err)
		}
		// The trial plan runs 2 at once.
		if _, err := db.Write.ExecContext(ctx, `UPDATE workspaces SET plan = 'trial' WHERE id = $1`, wsID); err != nil {
			t.Fatal(err)
		}
		if st := f.fireAt("2031-03-01T09:00:00.100Z"); st.Fired != 5 {
			t.Fatalf("%+v", st)
		}
		ids := func(status string) []int64 {
			rows, err := db.Read.QueryContext(ctx, `SELECT id FROM runs WHERE workspace_id = $1 AND status = $2 ORDER BY id`, wsID, status)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				out = append(out, id)
			}
			return out
		}
		chunkJobs := func() map[int64]int {
			q := `SELECT args::text FROM river_job WHERE kind = 'run_chunk'`
			if dialect == "sqlite" {
				q = `SELECT json(args) FROM river_job WHERE kind = 'run_chunk'` // stored as JSONB
			}
			rows, err := db.Read.QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[int64]int{}
			for rows.Next() {
				var raw string
				if err := rows.Scan(&raw); err != nil {
					t.Fatal(err)
				}
				var a struct {
					RunID int64 `json:"run_id"`
				}
				if err := json.Unmarshal([]byte(raw), &a); err != nil {
					t.Fatal(err)
				}
				out[a.RunID]++
			}
			return out
		}
		running, queued := ids("RUNNING"), ids("QUEUED")
		if len(running) != 2 || len(queued) != 3 {
			t.Fatalf("after the firing: RUNNING %v, QUEUED %v; want 2, 3", running, queued)
		}
		// At its cap: nothing to promote.
		if err := f.env.App.Runs.PromoteWaiting(ctx); err != nil {
			t.Fatal(err)
		}
		if r := ids("RUNNING"); len(r) != 2 {
			t.Fatalf("PromoteWaiting at the cap started runs: RUNNING %v", r)
		}
		// The two RUNNING runs end without promoting anyone (as if their
		// node died after the commit): two free slots, three QUEUED runs.
		for _, id := range running {
			if _, err := db.Write.ExecContext(ctx, `UPDATE runs SET status = 'STOPPED' WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
		}
		before := chunkJobs()
		if err := f.env.App.Runs.PromoteWaiting(ctx); err != nil {
			t.Fatal(err)
		}
		got := ids("RUNNING")
		if len(got) != 2 || got[0] != queued[0] || got[1] != queued[1] {
			t.Fatalf("after PromoteWaiting: RUNNING %v, want the two oldest QUEUED %v", got, queued[:2])
		}
		after := chunkJobs()
		for _, id := range got {
			if after[id]-before[id] != 1 {
				t.Errorf("run %d: %d new chunk jobs, want 1", id, after[id]-before[id])
			}
		}
		if after[queued[2]] != before[queued[2]] {
			t.Errorf("the QUEUED run %d got a chunk job", queued[2])
		}
		if n := slots(t, f.env, first); n != 2 {
			t.Errorf("run_slots.running = %d, want 2", n)
		}
	})
}
