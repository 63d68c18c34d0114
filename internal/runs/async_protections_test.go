package runs_test

import (
	"context"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
)

// TestAsyncOutreachKeepsWorkingHoursAndTheGap: with the product's defaults,
// an async outreach run submitted on a Saturday waits, RUNNING with
// postponed_until at Monday 08:00 in the identity's zone (Europe/Paris, the
// default), and touches nothing meanwhile; an extraction run submitted at
// the same time is not held back. From Monday's opening, each visit waits
// out the random 30-120 s gap after the one before, postponed each time to
// the gap's end. The engine's and the runs' clock is the test's.
func TestAsyncOutreachKeepsWorkingHoursAndTheGap(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			t.Fatal(err)
		}
		// Ahead of the machine's clock, so that the hourly pruning of old
		// Smart Limit events never finds the ones this test records.
		y, m, d := time.Now().In(paris).Date()
		saturday := time.Date(y, m, d+1, 13, 0, 0, 0, paris)
		for saturday.Weekday() != time.Saturday {
			saturday = saturday.AddDate(0, 0, 1)
		}
		monday := time.Date(saturday.Year(), saturday.Month(), saturday.Day()+2, 8, 0, 0, 0, paris)
		clk := &clock{t: saturday}
		e := startAsync(t, dialect, asyncOpts{setup: func(a *app.App) {
			a.Engine.Now, a.Runs.Now, a.Runs.MaxWait = clk.Now, clk.Now, 100*time.Millisecond
		}})
		key := e.NewWorkspaceWithDefaults("Protected async "+dialect, "async_test")
		id := e.identity(key, "Protected identity", "sim_classic")
		rc := newReceiver(t)
		rc.setSecret(e.secret(key))
		callback := map[string]any{"url": rc.URL, "on": "final"}
		const n = 3
		sub := e.submit(key, "linkedin-visit-profile", map[string]any{"inputs": profileInputs(n, "protected"),
			"identity_ids": []string{id}, "callback": callback})
		uid := sub["run_uid"].(string)

		postponed := func(what string, outputs float64) time.Time {
			t.Helper()
			r := e.waitRun(key, uid, time.Minute, what, func(r map[string]any) bool {
				return r["output_count"] == outputs && r["postponed_until"] != nil
			})
			if r["status"] != "RUNNING" || r["last_error"] != nil {
				t.Fatalf("%s: %v", what, r)
			}
			until, err := time.Parse(time.RFC3339Nano, r["postponed_until"].(string))
			if err != nil {
				t.Fatal(err)
			}
			return until
		}
		until := postponed("postponed to the working hours", 0)
		if until.Before(monday) || until.After(monday.Add(2*time.Second)) {
			t.Fatalf("postponed_until %s on Saturday, want Monday's opening %s", until, monday.UTC())
		}
		// Extraction is not held to working hours by default.
		ex := e.submit(key, "linkedin-extract-people", map[string]any{"inputs": profileInputs(2, "weekend"), "identity_ids": []string{id},
			"callback": callback})
		if r := e.waitStatus(key, ex["run_uid"].(string), time.Minute, "SUCCEEDED", "FAILED", "PARTIAL_SUCCEEDED", "BLOCKED"); r["status"] != "SUCCEEDED" {
			t.Fatalf("an extraction on Saturday: %v", r)
		}
		time.Sleep(300 * time.Millisecond)
		if r := e.run(key, uid); r["output_count"] != float64(0) {
			t.Fatalf("the outreach run moved on Saturday: %v", r)
		}

		clk.Add(monday.Sub(clk.Now()))
		prev := monday
		for i := 1; i < n; i++ {
			until := postponed("postponed by the outreach gap", float64(i))
			if until.Before(prev.Add(30*time.Second)) || until.After(clk.Now().Add(122*time.Second)) {
				t.Fatalf("visit %d: postponed_until %s, want 30 to 120 s after the visit before (%s)", i+1, until, prev)
			}
			clk.Add(until.Sub(clk.Now()))
			prev = until
		}
		if r := e.waitStatus(key, uid, time.Minute, "SUCCEEDED", "FAILED", "PARTIAL_SUCCEEDED", "BLOCKED"); r["status"] != "SUCCEEDED" ||
			r["output_count"] != float64(n) {
			t.Fatalf("after the gaps: %v", r)
		}
		// The visits as recorded: each one at least its predecessor's pause
		// after it, and none before Monday's opening.
		rows, err := e.App.DB.R.QueryContext(context.Background(), `SELECT e.at, e.n FROM limit_events e
			JOIN identities i ON i.id = e.identity_id WHERE i.uid = $1 AND e.key = 'outreach_gap' ORDER BY e.at`, id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ats, pauses []int64
		for rows.Next() {
			var at, pause int64
			if err := rows.Scan(&at, &pause); err != nil {
				t.Fatal(err)
			}
			ats, pauses = append(ats, at), append(pauses, pause)
		}
		if len(ats) != n || ats[0] < monday.UnixMilli() {
			t.Fatalf("outreach recorded at %v, want %d visits from %d", ats, n, monday.UnixMilli())
		}
		for i := 1; i < n; i++ {
			if ats[i]-ats[i-1] < pauses[i-1] {
				t.Fatalf("visits %d ms apart within a pause of %d ms", ats[i]-ats[i-1], pauses[i-1])
			}
		}
	})
}
