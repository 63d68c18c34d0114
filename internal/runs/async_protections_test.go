package runs_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/platform"
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
		rows, err := e.App.DB.Handles().R.QueryContext(context.Background(), `SELECT e.at, e.n FROM limit_events e
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

// pagedOutreach stands in for the LinkedIn driver on
// linkedin-accept-invitations: three pages of two invitations each. It
// counts the calls per page.
type pagedOutreach struct {
	platform.Driver
	mu    sync.Mutex
	pages map[int]int
}

func (d *pagedOutreach) Run(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error) {
	if call.Action.Slug != "linkedin-accept-invitations" {
		return d.Driver.Run(ctx, hc, cred, call)
	}
	d.mu.Lock()
	d.pages[call.Page]++
	d.mu.Unlock()
	var out []map[string]any
	for i := range 2 {
		out = append(out, map[string]any{"linkedin_profile_url": fmt.Sprintf("https://www.linkedin.com/in/inviter-%d-%d", call.Page, i)})
	}
	return platform.Page{Results: out, More: call.Page < 3}, nil
}

// TestAsyncPagedOutreachIsOneAction: the pages async work fetches for one
// input of a paged outreach action (accepting a list of invitations) are
// one action: the outreach gap spaces it from the next action, not its
// pages from one another, which would stop it half-way each time and lose
// what its first pages did. With the default 30-120 s gap and a clock that
// stands still, the run gets all three pages, each fetched once.
func TestAsyncPagedOutreachIsOneAction(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			t.Fatal(err)
		}
		y, m, d := time.Now().In(paris).Date()
		tuesday := time.Date(y, m, d+1, 10, 0, 0, 0, paris) // within the default working hours
		for tuesday.Weekday() != time.Tuesday {
			tuesday = tuesday.AddDate(0, 0, 1)
		}
		clk := &clock{t: tuesday}
		drv := &pagedOutreach{pages: map[int]int{}}
		e := startAsync(t, dialect, asyncOpts{setup: func(a *app.App) {
			a.Engine.Now, a.Runs.Now, a.Runs.MaxWait = clk.Now, clk.Now, 100*time.Millisecond
			a.Plane.Wrap("linkedin", func(d platform.Driver) platform.Driver { drv.Driver = d; return drv })
		}})
		key := e.NewWorkspaceWithDefaults("Paged outreach "+dialect, "async_test")
		id := e.identity(key, "Paged identity", "sim_classic")
		rc := newReceiver(t)
		rc.setSecret(e.secret(key))
		sub := e.submit(key, "linkedin-accept-invitations", map[string]any{"inputs": []any{map[string]any{}},
			"identity_ids": []string{id}, "callback": map[string]any{"url": rc.URL, "on": "final"}})
		r := e.waitStatus(key, sub["run_uid"].(string), 30*time.Second, "SUCCEEDED", "FAILED", "PARTIAL_SUCCEEDED", "BLOCKED")
		if r["status"] != "SUCCEEDED" || r["output_count"] != float64(6) {
			t.Fatalf("a paged outreach run: %v", r)
		}
		drv.mu.Lock()
		defer drv.mu.Unlock()
		if drv.pages[1] != 1 || drv.pages[2] != 1 || drv.pages[3] != 1 {
			t.Fatalf("calls per page %v, want each of the 3 pages once", drv.pages)
		}
		// The action still spaces the next one.
		lim := e.Must(200, "GET", "/v4/identities/"+id+"/actions/linkedin-accept-invitations/limits", key, nil).Arr()
		for _, x := range lim {
			if l := x.(map[string]any); l["key"] == "outreach_gap" && l["remaining"] != float64(0) {
				t.Fatalf("after the action: %v, want a pause running", l)
			}
		}
	})
}
