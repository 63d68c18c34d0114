package runs_test

// The in-flight budget (issue 20): with the simulator answering at a
// platform's pace, a node keeps thousands of upstream calls going, and the
// rules that must not change still hold under it.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

// finalOnly asks for the final callback alone, to a port where nothing
// listens (these tests check the runs, not their callbacks).
var finalOnly = map[string]any{"url": "http://127.0.0.1:9/cb", "on": "final"}

// simOf is the instance's embedded simulator.
func simOf(t *testing.T, e *asyncEnv) *sim.Server {
	t.Helper()
	if e.App.Sim == nil {
		t.Fatal("no embedded simulator")
	}
	return e.App.Sim
}

// manyIdentities connects sim_user_1..n to new identities of the
// workspace, each with its own Smart Limit of profile visits, in parallel.
func (e *asyncEnv) manyIdentities(key string, n, visits int) []string {
	e.T.Helper()
	uids := make([]string, n)
	errs := make(chan string, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := e.Do("POST", "/v4/identities", key, map[string]any{"name": fmt.Sprintf("User %d", i+1)})
				uid, _ := r.Obj()["uid"].(string)
				if r.Status != 200 || uid == "" {
					errs <- fmt.Sprintf("identity %d: %d %s", i+1, r.Status, r.Body)
					continue
				}
				r = e.Do("POST", "/v4/identities/"+uid+"/integrations/linkedin", key,
					map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": sim.UserCookie(i + 1)}}})
				if r.Status != 200 || r.Obj()["status"] != "VALID" {
					errs <- fmt.Sprintf("connect %d: %d %s", i+1, r.Status, r.Body)
					continue
				}
				r = e.Do("PUT", "/v4/identities/"+uid+"/limits", key, map[string]any{"profile_visits": visits})
				if r.Status != 200 {
					errs <- fmt.Sprintf("limits %d: %d %s", i+1, r.Status, r.Body)
					continue
				}
				uids[i] = uid
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for msg := range errs {
		e.T.Fatal(msg)
	}
	return uids
}

// exactlyOnce checks a finished run against its inputs: one output per
// input index (the model: every input of the actions used here gives one
// result), and the workspace charged one credit per output.
func (e *asyncEnv) exactlyOnce(key, uid string, n int, credits float64) {
	e.T.Helper()
	var runID int64
	if err := e.App.DB.Handles().R.QueryRowContext(context.Background(), `SELECT id FROM runs WHERE uid = $1`, uid).Scan(&runID); err != nil {
		e.T.Fatal(err)
	}
	if got := e.count(`SELECT COUNT(*) FROM run_outputs WHERE run_id = $1`, runID); got != n {
		e.T.Errorf("%d outputs, want %d", got, n)
	}
	if got := e.count(`SELECT COUNT(DISTINCT input_idx) FROM run_outputs WHERE run_id = $1`, runID); got != n {
		e.T.Errorf("outputs of %d distinct inputs, want %d", got, n)
	}
	if got := e.count(`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'DONE' AND result_count = 1`, runID); got != n {
		e.T.Errorf("%d inputs DONE with one result, want %d", got, n)
	}
	if got := e.creditsUsed(key); got != credits {
		e.T.Errorf("credits_used %v, want %v", got, credits)
	}
}

// TestInflightManyIdentities: 4,000 inputs over 400 identities in auto mode
// at 500 ms of platform latency finish with one output and one charge per
// input, no account ever ran two calls at once (the simulator's view), and
// each identity's Smart Limit of 10 profile visits on its first day was
// used exactly:
// 400 x 10 is 4,000, so an identity that went over would leave another
// short, and the run could not finish.
func TestInflightManyIdentities(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		const identities, perIdentity = 400, 10
		const n = identities * perIdentity
		e := startAsync(t, dialect, asyncOpts{})
		key := e.workspace("Many "+dialect, "async_many")
		s := simOf(t, e)
		// New accounts ramp up over five days: on day 1 a maximum of 50
		// profile visits a day allows (50+4)/5 = 10.
		e.manyIdentities(key, identities, 5*perIdentity)
		s.Reset() // the connections' own calls
		s.SetLatency(500 * time.Millisecond)
		defer s.SetLatency(0)

		start := time.Now()
		uid := e.submit(key, "linkedin-extract-people", map[string]any{"inputs": profileInputs(n, "many"), "identity_mode": "auto", "callback": finalOnly})["run_uid"].(string)
		// However long a loaded box takes: what is checked is the outcome.
		r := e.waitStatus(key, uid, untilDeadline(t), "SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "BLOCKED")
		t.Logf("%s: %d inputs over %d identities at 500 ms in %s", dialect, n, identities, time.Since(start).Round(time.Millisecond))
		if r["status"] != "SUCCEEDED" || r["output_count"] != float64(n) {
			t.Fatalf("run: %v", r)
		}
		e.exactlyOnce(key, uid, n, n)

		// Smart Limits, as recorded: exactly 10 profile visits per identity.
		rows, err := e.App.DB.Handles().R.QueryContext(context.Background(),
			`SELECT identity_id, SUM(n) FROM limit_events WHERE key = 'profile_visits' GROUP BY identity_id`)
		if err != nil {
			t.Fatal(err)
		}
		counted := 0
		for rows.Next() {
			var id, sum int64
			if err := rows.Scan(&id, &sum); err != nil {
				t.Fatal(err)
			}
			counted++
			if sum != perIdentity {
				t.Errorf("identity %d: %d profile visits counted, want %d", id, sum, perIdentity)
			}
		}
		rows.Close()
		if counted != identities {
			t.Errorf("%d identities with visits counted, want %d", counted, identities)
		}
		// The platform's view: one call at a time per account, and every
		// account called.
		stats := s.Stats()
		extra := 0
		for i := 1; i <= identities; i++ {
			st := stats[fmt.Sprintf("user_%d", i)]
			if st.Calls < perIdentity || st.MaxConcurrent != 1 {
				t.Errorf("user_%d: %d calls, at most %d at once; want %d, one at a time (%v)", i, st.Calls, st.MaxConcurrent, perIdentity, st.Statuses)
			}
			extra += int(st.Calls) - perIdentity
		}
		// A call the platform answered after the pass gave up on it (its
		// Smart Limit unit released) is made again: logged, not failed.
		t.Logf("%d calls made again after the pass gave up on them", extra)
	})
}

// TestInflightFairness: workspace A runs a large run (8,000 inputs, scaled
// down from the 50,000 to keep the test well under a minute at
// 500 ms of latency on two busy cores), and B's 100-input run, started once
// A's is under way, finishes within a bound proportional to B's own size
// while A still has most of its run ahead of it. The budget is small (256
// calls in flight) so that the two runs compete for it.
func TestInflightFairness(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		const bigN, smallN = 8000, 100
		e := startAsync(t, dialect, asyncOpts{config: func(c *config.Config) { c.Jobs.Inflight = 256 }})
		keyB := e.workspace("Small "+dialect, "async_test")
		s := simOf(t, e)
		s.SetLatency(500 * time.Millisecond)
		defer s.SetLatency(0)

		big := e.submit(e.Key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(bigN, "big"), "callback": finalOnly})["run_uid"].(string)
		e.waitRun(e.Key, big, untilDeadline(t), "A's run under way", func(r map[string]any) bool {
			oc, _ := r["output_count"].(float64)
			return oc >= 300
		})
		start := time.Now()
		small := e.submit(keyB, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(smallN, "small"), "callback": finalOnly})["run_uid"].(string)
		// The bound: 3 s to get going, then 50 ms per input (each input's
		// call takes 500 ms, with a fair share of the budget of at least a
		// hundred calls at once: B's run could take 1 s).
		bound := 3*time.Second + smallN*50*time.Millisecond
		r := e.waitStatus(keyB, small, bound, "SUCCEEDED")
		took := time.Since(start)
		a := e.run(e.Key, big)
		t.Logf("%s: B's %d inputs took %s (bound %s); A had %v of %d outputs then", dialect, smallN, took.Round(time.Millisecond), bound,
			a["output_count"], bigN)
		if r["output_count"] != float64(smallN) {
			t.Fatalf("B's run: %v", r)
		}
		if oc, _ := a["output_count"].(float64); a["status"] != "RUNNING" || oc > bigN/2 {
			t.Fatalf("A's run was no longer a backlog for B to compete with: %v", a)
		}
		if inflight, peak := e.App.Engine.Budget.Stats(); peak > 256 || inflight > 256 {
			t.Fatalf("budget of 256: %d in flight, %d at most", inflight, peak)
		}
		e.waitStatus(e.Key, big, untilDeadline(t), "SUCCEEDED")
		e.exactlyOnce(e.Key, big, bigN, bigN)
	})
}

// untilDeadline is how long a test may wait for a condition: until shortly
// before the test binary's deadline (go test -timeout), so that a loaded
// box only makes a test slower, never failed, while a real hang still ends
// with the test's own message rather than the binary's panic.
func untilDeadline(t testing.TB) time.Duration {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, ok := d.Deadline(); ok {
			return max(time.Until(end)-30*time.Second, time.Minute)
		}
	}
	return 10 * time.Minute
}

// inflightRun starts an n-input run at 2 s of latency and returns it
// once the simulator serves at least 1,000 of its calls at once (two busy
// cores reach a few thousand; the first thousand is reached reliably). It
// waits for that as long as it takes, and fails only if the run ends first
// (then the test would not be about calls in flight).
func inflightRun(t *testing.T, e *asyncEnv, key string, n int) string {
	t.Helper()
	s := simOf(t, e)
	// 2 s a call: with 3,840 async slots, 10,000 calls take about 5 s, long
	// enough for the test to see 1,000 in flight and act on the run while
	// they are, even on a loaded machine (at 500 ms the whole run took
	// 1.3 s and, at load 26, was over before the cancel landed).
	s.SetLatency(2 * time.Second)
	t.Cleanup(func() { s.SetLatency(0) })
	uid := e.submit(key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(n, "fly"), "callback": finalOnly})["run_uid"].(string)
	end := time.Now().Add(untilDeadline(t))
	for i := 0; s.Open("anonymous") < 1000; i++ {
		if i%100 == 99 { // every half second or so: has the run ended?
			if r := e.run(key, uid); r["status"] != "RUNNING" && r["status"] != "QUEUED" {
				t.Fatalf("the run ended before 1,000 of its calls were in flight at once: %v", r)
			}
		}
		if time.Now().After(end) {
			t.Fatalf("never 1,000 calls in flight (now %d): %v", s.Open("anonymous"), e.run(key, uid))
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("%d calls in flight", s.Open("anonymous"))
	return uid
}

// settled waits until a run's work is over and returns it: no chunk job
// running (a chunk that was working commits or gives up first), no call in
// flight at the platform, and the run's counters the same on two reads in
// a row. It waits as long as that takes on a loaded box.
func (e *asyncEnv) settled(key, uid string) map[string]any {
	e.T.Helper()
	s := e.App.Sim
	var last string
	for end := time.Now().Add(untilDeadline(e.T)); ; time.Sleep(500 * time.Millisecond) {
		r := e.run(key, uid)
		now := fmt.Sprint(r["status"], r["output_count"], r["credits_used"])
		working := e.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'run_chunk' AND state = 'running'`)
		if now == last && working == 0 && s.Open("anonymous") == 0 {
			return r
		}
		last = now
		if time.Now().After(end) {
			e.T.Fatalf("run %s never settled (%d chunks running, %d calls in flight): %v", uid, working, s.Open("anonymous"), r)
		}
	}
}

// TestInflightCancel: a run cancelled with thousands of calls in flight
// stops; what was recorded is charged once, and nothing is recorded after.
// The cancel also stops the run's upstream calls: once the counters settle,
// the simulator has answered at most one call more than it had when the
// cancel was answered per slot of the budget async work may hold (a call
// answered after that held its slot then: no call starts once the run is
// halted), far below the 10,000 inputs, which the chunks already started
// would otherwise call (the run's 196 chunks all start at once on 164 run
// workers).
func TestInflightCancel(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		const n = 10000
		e := startAsync(t, dialect, asyncOpts{})
		uid := inflightRun(t, e, e.Key, n)
		s := simOf(t, e)
		e.Must(200, "POST", "/v4/runs/"+uid+"/cancel", e.Key, nil)
		before := s.Stats()["anonymous"].Calls // the simulator counts a call once answered
		r := e.settled(e.Key, uid)
		if r["status"] != "STOPPED" {
			t.Fatalf("cancelled run: %v", r)
		}
		after := s.Stats()["anonymous"].Calls
		b := e.App.Engine.Budget
		t.Logf("%s: %d upstream calls answered when cancelled, %d once settled (of %d inputs)", dialect, before, after, n)
		if grew := after - before; grew > int64(b.Size()-b.Reserved()) || after >= n {
			t.Errorf("the platform answered %d calls after the cancel (%d in all, for %d inputs); at most %d slots were held",
				grew, after, n, b.Size()-b.Reserved())
		}
		oc, _ := r["output_count"].(float64)
		var runID int64
		if err := e.App.DB.Handles().R.QueryRowContext(context.Background(), `SELECT id FROM runs WHERE uid = $1`, uid).Scan(&runID); err != nil {
			t.Fatal(err)
		}
		outs := e.count(`SELECT COUNT(*) FROM run_outputs WHERE run_id = $1`, runID)
		done := e.count(`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'DONE'`, runID)
		pending := e.count(`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'PENDING'`, runID)
		t.Logf("%s: cancelled at %v outputs; %d DONE, %d PENDING", dialect, oc, done, pending)
		if outs != int(oc) || done != outs || done+pending != n || oc >= n {
			t.Fatalf("outputs %d, output_count %v, DONE %d, PENDING %d (of %d)", outs, oc, done, pending, n)
		}
		if used := e.creditsUsed(e.Key); used != oc {
			t.Fatalf("credits_used %v for %v outputs", used, oc)
		}
	})
}

// TestInflightBlocked: a run whose credits run out with thousands of calls
// in flight blocks on NO_ACCESS having charged exactly the 3,000 credits of
// the plan, one per recorded output, never more; nothing is lost: every
// other input is still PENDING, for a resume.
func TestInflightBlocked(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		const n = 5000
		e := startAsync(t, dialect, asyncOpts{})
		key := e.workspace("Credits "+dialect, "async_3000")
		uid := inflightRun(t, e, key, n)
		r := e.settled(key, uid)
		last, _ := r["last_error"].(map[string]any)
		if r["status"] != "BLOCKED" || last["error_label"] != "NO_ACCESS" && last["label"] != "NO_ACCESS" {
			t.Fatalf("run: %v", r)
		}
		var runID int64
		if err := e.App.DB.Handles().R.QueryRowContext(context.Background(), `SELECT id FROM runs WHERE uid = $1`, uid).Scan(&runID); err != nil {
			t.Fatal(err)
		}
		outs := e.count(`SELECT COUNT(*) FROM run_outputs WHERE run_id = $1`, runID)
		done := e.count(`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'DONE'`, runID)
		pending := e.count(`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'PENDING'`, runID)
		used := e.creditsUsed(key)
		t.Logf("%s: blocked with %d outputs, %v credits used, %d PENDING", dialect, outs, used, pending)
		if outs != 3000 || done != 3000 || pending != n-3000 || used != 3000 || r["output_count"] != float64(3000) {
			t.Fatalf("outputs %d, DONE %d, PENDING %d, credits_used %v, run %v", outs, done, pending, used, r)
		}
	})
}
