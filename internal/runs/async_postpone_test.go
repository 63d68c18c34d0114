package runs_test

import (
	"context"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
)

// TestAsyncSmartLimitPostpones: an async run over an identity's Smart Limit
// (profile visits overridden to 3 a day) is postponed, not failed: it stays
// RUNNING with postponed_until at the moment the window frees up, and
// continues by itself when it does. The engine's and the runs' clock is
// injected and moved a day at a time; chunks re-check every 100 ms.
func TestAsyncSmartLimitPostpones(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		// Start past the 5-day ramp-up of a fresh connection.
		clk := &clock{t: time.Now().Add(6 * 24 * time.Hour).Truncate(time.Second)}
		e := startAsync(t, dialect, asyncOpts{setup: func(a *app.App) {
			a.Engine.Now, a.Runs.Now, a.Runs.MaxWait = clk.Now, clk.Now, 100*time.Millisecond
		}})
		rc := newReceiver(t)
		rc.setSecret(e.secret(e.Key))
		id := e.identity(e.Key, "Limited identity", "sim_classic")
		e.Must(200, "PUT", "/v4/identities/"+id+"/limits", e.Key, map[string]any{"profile_visits": 3})
		const n = 7
		sub := e.submit(e.Key, "linkedin-extract-people", map[string]any{"inputs": profileInputs(n, "limited"),
			"identity_ids": []string{id}, "callback": map[string]any{"url": rc.URL, "on": "all"}})
		uid := sub["run_uid"].(string)

		day := func(k int, want float64) {
			t.Helper()
			start := clk.Now()
			r := e.waitRun(e.Key, uid, time.Minute, "a postponement", func(r map[string]any) bool {
				return r["output_count"] == want && r["postponed_until"] != nil
			})
			if r["status"] != "RUNNING" {
				t.Errorf("day %d: a postponed run is %v, want RUNNING", k, r["status"])
			}
			until, err := time.Parse(time.RFC3339Nano, r["postponed_until"].(string))
			if err != nil || until.Before(start.Add(24*time.Hour-time.Minute)) || until.After(start.Add(24*time.Hour+time.Minute)) {
				t.Errorf("day %d: postponed_until %v, want about %s (the window frees up a day after the first visit)",
					k, r["postponed_until"], start.Add(24*time.Hour).Format(time.RFC3339))
			}
			if r["last_error"] != nil {
				t.Errorf("day %d: a postponement is not an error: %v", k, r["last_error"])
			}
			lim := e.Must(200, "GET", "/v4/identities/"+id+"/actions/linkedin-extract-people/limits", e.Key, nil).Arr()
			for _, x := range lim {
				if l := x.(map[string]any); l["key"] == "profile_visits" && (l["remaining"] != float64(0) || l["max_limit"] != float64(3)) {
					t.Errorf("day %d: profile_visits window %v", k, l)
				}
			}
			// It waits: nothing moves while the clock stands still.
			time.Sleep(400 * time.Millisecond)
			if r := e.run(e.Key, uid); r["output_count"] != want || r["status"] != "RUNNING" {
				t.Errorf("day %d: the run moved without capacity: %v", k, r)
			}
			clk.Add(24*time.Hour + 2*time.Second)
		}
		day(1, 3)
		day(2, 6)
		done := e.waitStatus(e.Key, uid, 2*time.Minute, "SUCCEEDED", "FAILED", "PARTIAL_SUCCEEDED", "BLOCKED")
		if done["status"] != "SUCCEEDED" || done["output_count"] != float64(n) || done["postponed_until"] != nil {
			t.Fatalf("after the windows slid: %v", done)
		}
		var runID int64
		if err := e.App.DB.Handles().R.QueryRowContext(context.Background(), `SELECT id FROM runs WHERE uid = $1`, uid).Scan(&runID); err != nil {
			t.Fatal(err)
		}
		if got := e.count(`SELECT COUNT(DISTINCT input_idx) FROM run_outputs WHERE run_id = $1`, runID); got != n {
			t.Errorf("outputs cover %d inputs, want %d", got, n)
		}
		if got := e.count(`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'DONE'`, runID); got != n {
			t.Errorf("%d inputs DONE, want %d", got, n)
		}
		got := rc.waitFor(t, time.Minute, "all callbacks", func(c []callback) bool { return len(finalOf(c, uid)) > 0 && len(c) >= n+1 })
		for _, c := range got {
			if c.SigErr != nil || c.Body["error"] != nil {
				t.Errorf("callback %s (%v)", c.Raw, c.SigErr)
			}
		}
	})
}
