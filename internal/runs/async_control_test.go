package runs_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// TestAsyncConcurrencyCap: on a plan with 2 concurrent runs, 4 submitted
// runs never have more than 2 RUNNING (sampled through GET /runs while they
// work, and checked afterwards on their started_at/finished_at intervals);
// the others wait QUEUED and all finish (contract §8).
func TestAsyncConcurrencyCap(t *testing.T) {
	t.Setenv("FIRSTMATE_SIM_LATENCY", "15ms") // so that the runs overlap long enough to be seen
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		// The runs are submitted before River starts, so that admission,
		// not the speed of the machine, decides which two run first.
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		key := e.workspace("Cap two", "async_cap2")
		rc := newReceiver(t)
		var uids []string
		for i := 0; i < 4; i++ {
			r := e.submit(key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(40, fmt.Sprint("cap", i)),
				"callback": map[string]any{"url": rc.URL, "on": "final"}})
			uids = append(uids, r["run_uid"].(string))
			want := "RUNNING"
			if i >= 2 {
				want = "QUEUED"
			}
			if r["status"] != want {
				t.Errorf("run %d submitted as %v, want %s", i+1, r["status"], want)
			}
		}
		e.startWorkers()
		seen := map[string]bool{}
		maxRunning := 0
		end := time.Now().Add(90 * time.Second)
		for {
			rs := e.Must(200, "GET", "/v4/runs?limit=10", key, nil).Arr()
			running, finished := 0, 0
			for _, x := range rs {
				st := x.(map[string]any)["status"].(string)
				seen[st] = true
				switch st {
				case "RUNNING":
					running++
				case "SUCCEEDED":
					finished++
				case "QUEUED":
				default:
					t.Fatalf("unexpected status %s: %v", st, x)
				}
			}
			maxRunning = max(maxRunning, running)
			if running > 2 {
				t.Fatalf("%d runs RUNNING at once on a plan of 2: %v", running, rs)
			}
			if finished == 4 {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("the 4 runs did not finish: %v", rs)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if maxRunning != 2 || !seen["QUEUED"] {
			t.Errorf("sampled at most %d RUNNING, statuses seen %v: the cap was never exercised", maxRunning, seen)
		}
		// The recorded intervals never overlap by more than two.
		type ev struct {
			at    time.Time
			delta int
		}
		var evs []ev
		for _, uid := range uids {
			r := e.run(key, uid)
			if r["output_count"] != float64(40) {
				t.Errorf("run %s: %v", uid, r)
			}
			s, _ := time.Parse(time.RFC3339Nano, r["started_at"].(string))
			f, _ := time.Parse(time.RFC3339Nano, r["finished_at"].(string))
			evs = append(evs, ev{s, +1}, ev{f, -1})
		}
		sort.Slice(evs, func(i, j int) bool {
			if !evs[i].at.Equal(evs[j].at) {
				return evs[i].at.Before(evs[j].at)
			}
			return evs[i].delta < evs[j].delta // a finish frees its slot before the next start
		})
		n := 0
		for _, x := range evs {
			if n += x.delta; n > 2 {
				t.Errorf("started_at/finished_at show %d runs at once: %v", n, evs)
				break
			}
		}
	})
}

// TestAsyncCancel: cancelling a running run stops it (STOPPED), keeps its
// results, records no further output and sends no further callback, not even
// a final one; cancelling a queued run means it never starts; cancelling a
// finished run is a 409.
func TestAsyncCancel(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{})
		rc := newReceiver(t)
		rc.setSecret(e.secret(e.Key))
		key := e.workspace("Cancel cap", "async_cap2")
		rc.setSecret(e.secret(key))
		id := e.identity(key, "Cancel identity", "sim_salesnav")
		e.Must(200, "PUT", "/v4/identities/"+id+"/limits", key, map[string]any{"profile_visits": 5000, "profile_enrichments": 5000})
		id2 := e.identity(key, "Second cancel identity", "sim_classic")
		e.Must(200, "PUT", "/v4/identities/"+id2+"/limits", key, map[string]any{"profile_visits": 500, "profile_enrichments": 500})
		cb := map[string]any{"url": rc.URL + "/cancel", "on": "all"}
		// Two runs fill the plan's two slots (the first long enough to be
		// cancelled midway: one account works one input at a time); the
		// third waits.
		var uids []string
		for i, size := range []int{1000, 40, 40} {
			ident := id
			if i > 0 {
				ident = id2
			}
			r := e.submit(key, "linkedin-extract-people", map[string]any{"inputs": profileInputs(size, fmt.Sprint("cancel", i)),
				"identity_ids": []string{ident}, "callback": cb})
			uids = append(uids, r["run_uid"].(string))
		}
		if r := e.run(key, uids[2]); r["status"] != "QUEUED" {
			t.Fatalf("third run: %v", r)
		}
		// Cancel the queued one: it never starts.
		if r := e.Must(200, "POST", "/v4/runs/"+uids[2]+"/cancel", key, nil).Obj(); r["status"] != "STOPPED" {
			t.Errorf("cancel a QUEUED run: %v", r)
		}
		e.waitRun(key, uids[0], 60*time.Second, "some outputs", func(r map[string]any) bool { return r["output_count"].(float64) >= 5 })
		stopped := e.Must(200, "POST", "/v4/runs/"+uids[0]+"/cancel", key, nil).Obj()
		if stopped["status"] != "STOPPED" || stopped["finished_at"] == nil {
			t.Fatalf("cancel a RUNNING run: %v", stopped)
		}
		kept := stopped["output_count"].(float64)
		if kept < 5 || kept >= 1000 {
			t.Fatalf("output_count at cancel: %v", kept)
		}
		// The other run goes on to the end meanwhile; then nothing of the
		// stopped one has moved.
		e.waitStatus(key, uids[1], 120*time.Second, "SUCCEEDED")
		time.Sleep(time.Second)
		after := e.run(key, uids[0])
		if after["status"] != "STOPPED" || after["output_count"] != kept {
			t.Errorf("after cancel: %v (output_count was %v)", after, kept)
		}
		if got := len(e.outputs(key, uids[0])); got != int(kept) {
			t.Errorf("%d outputs kept, want %v", got, kept)
		}
		if r := e.run(key, uids[2]); r["status"] != "STOPPED" || r["started_at"] != nil || r["output_count"] != float64(0) {
			t.Errorf("the cancelled queued run: %v", r)
		}
		// Callbacks: every delivery of the stopped run is either one sent
		// before the cancel or dropped; none is final, none comes later.
		ctx := context.Background()
		var runID int64
		if err := e.App.DB.Handles().R.QueryRowContext(ctx, `SELECT id FROM runs WHERE uid = $1`, uids[0]).Scan(&runID); err != nil {
			t.Fatal(err)
		}
		var ds []map[string]any
		end := time.Now().Add(time.Minute)
		for {
			ds = e.callbacks(key, uids[0], "")
			pending := 0
			for _, d := range ds {
				if d["status"] == "PENDING" || d["status"] == "RUNNING" {
					pending++
				}
			}
			if pending == 0 {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("deliveries of the stopped run still pending: %d", pending)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(ds) != int(kept) {
			t.Errorf("%d deliveries for %v recorded inputs", len(ds), kept)
		}
		count := func() (sent int) {
			for _, c := range rc.all() {
				if run, _ := c.Body["run"].(map[string]any); run["run_uid"] == uids[0] {
					sent++
					if run["status"] != "RUNNING" || run["batch_uid"] == nil {
						t.Errorf("a callback of the stopped run: %s", c.Raw)
					}
				}
			}
			return sent
		}
		sent := count()
		success := 0
		for _, d := range ds {
			if d["status"] == "SUCCESS" {
				success++
			} else if le, _ := d["last_error"].(string); d["status"] != "FAILED" || le == "" {
				t.Errorf("delivery of the stopped run: %v", d)
			}
		}
		if sent != success {
			t.Errorf("the receiver got %d callbacks of the stopped run, %d deliveries succeeded", sent, success)
		}
		time.Sleep(1500 * time.Millisecond)
		if n := count(); n != sent {
			t.Errorf("callbacks kept coming after the cancel: %d then %d", sent, n)
		}
		if got := e.count(`SELECT COUNT(*) FROM run_outputs WHERE run_id = $1`, runID); got != int(kept) {
			t.Errorf("%d outputs stored, want %v", got, kept)
		}

		// Finished and unknown runs.
		for _, uid := range []string{uids[0], uids[1]} {
			if r := e.Do("POST", "/v4/runs/"+uid+"/cancel", key, nil); r.Status != 409 || r.Label() != "CONFLICT" {
				t.Errorf("cancel a %v run: %d %s", e.run(key, uid)["status"], r.Status, r.Body)
			}
		}
		if r := e.Do("POST", "/v4/runs/00000000-0000-0000-0000-000000000000/cancel", key, nil); r.Status != 404 {
			t.Errorf("cancel an unknown run: %d", r.Status)
		}
		if r := e.Do("POST", "/v4/runs/"+uids[1]+"/cancel", e.Key, nil); r.Status != 404 {
			t.Errorf("cancel another workspace's run: %d", r.Status)
		}
	})
}

// TestAsyncResumeAfterReconnect: an account whose session expires mid-run
// (sim_expiring) blocks the run (BLOCKED, last_error.label NOT_CONNECTED,
// integration INVALID) with its results kept; after a reconnect with a good
// cookie, POST /resume finishes it, every input recorded once. Resuming a
// SUCCEEDED run is a 409.
func TestAsyncResumeAfterReconnect(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{})
		rc := newReceiver(t)
		rc.setSecret(e.secret(e.Key))
		id := e.identity(e.Key, "Expiring identity", "sim_expiring")
		const n = 12
		sub := e.submit(e.Key, "linkedin-extract-people", map[string]any{"inputs": profileInputs(n, "resume"),
			"identity_ids": []string{id}, "callback": map[string]any{"url": rc.URL, "on": "all"}})
		uid := sub["run_uid"].(string)
		blocked := e.waitStatus(e.Key, uid, 2*time.Minute, "BLOCKED", "SUCCEEDED", "FAILED", "PARTIAL_SUCCEEDED")
		le, _ := blocked["last_error"].(map[string]any)
		if blocked["status"] != "BLOCKED" || le["label"] != "NOT_CONNECTED" {
			t.Fatalf("after the session expired: %v", blocked)
		}
		kept := blocked["output_count"].(float64)
		if kept < 1 || kept >= n {
			t.Errorf("outputs before the block: %v", kept)
		}
		g := e.Must(200, "GET", "/v4/identities/"+id+"/integrations/linkedin", e.Key, nil).Obj()
		if g["status"] != "INVALID" {
			t.Errorf("the expired integration: %v", g)
		}
		if r := e.Must(200, "GET", "/v4/runs/"+uid+"/status", e.Key, nil).Obj(); r["status"] != "BLOCKED" || r["output_count"] != kept {
			t.Errorf("GET status: %v", r)
		}
		if got := len(e.outputs(e.Key, uid)); got != int(kept) {
			t.Errorf("%d outputs kept while blocked, want %v", got, kept)
		}

		// Reconnect with a good cookie, then resume.
		e.connect(e.Key, id, "sim_classic")
		resumed := e.Must(200, "POST", "/v4/runs/"+uid+"/resume", e.Key, nil).Obj()
		if resumed["status"] != "RUNNING" && resumed["status"] != "QUEUED" {
			t.Errorf("resume: %v", resumed)
		}
		done := e.waitStatus(e.Key, uid, 2*time.Minute, "SUCCEEDED", "FAILED", "PARTIAL_SUCCEEDED", "BLOCKED")
		if done["status"] != "SUCCEEDED" || done["output_count"] != float64(n) {
			t.Fatalf("after resume: %v", done)
		}
		var runID int64
		if err := e.App.DB.Handles().R.QueryRowContext(context.Background(), `SELECT id FROM runs WHERE uid = $1`, uid).Scan(&runID); err != nil {
			t.Fatal(err)
		}
		if got := e.count(`SELECT COUNT(DISTINCT input_idx) FROM run_outputs WHERE run_id = $1`, runID); got != n {
			t.Errorf("outputs cover %d inputs, want %d", got, n)
		}
		if got := e.count(`SELECT COALESCE(SUM(results), 0) FROM credit_charges WHERE run_uid = $1`, uid); got != n {
			t.Errorf("%d results charged, want %d", got, n)
		}
		rc.waitFor(t, time.Minute, "the final callback", func(c []callback) bool { return len(finalOf(c, uid)) > 0 })
		for _, c := range finalOf(rc.all(), uid) {
			if c.Body["run"].(map[string]any)["status"] != "SUCCEEDED" || c.SigErr != nil {
				t.Errorf("final callback: %s (%v)", c.Raw, c.SigErr)
			}
		}
		for _, path := range []string{"/v4/runs/" + uid + "/resume", "/v4/runs/" + uid + "/cancel"} {
			if r := e.Do("POST", path, e.Key, nil); r.Status != 409 || r.Label() != "CONFLICT" {
				t.Errorf("POST %s on a SUCCEEDED run: %d %s", path, r.Status, r.Body)
			}
		}
	})
}

// TestAsyncBlockedOnCredits: a workspace that runs out of credits mid-run
// gets BLOCKED with last_error.label NO_ACCESS; it was charged exactly for
// the results it got, never below zero, and a resume without new credits
// blocks again without charging anything.
func TestAsyncBlockedOnCredits(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{})
		key := e.workspace("Poor workspace", "async_poor") // 5 credits
		rc := newReceiver(t)
		rc.setSecret(e.secret(key))
		sub := e.submit(key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(8, "poor"),
			"callback": map[string]any{"url": rc.URL, "on": "all"}})
		uid := sub["run_uid"].(string)
		r := e.waitStatus(key, uid, 2*time.Minute, "BLOCKED", "SUCCEEDED")
		le, _ := r["last_error"].(map[string]any)
		if r["status"] != "BLOCKED" || le["label"] != "NO_ACCESS" || r["output_count"] != float64(5) {
			t.Fatalf("out of credits: %v", r)
		}
		if got := e.creditsUsed(key); got != 5 {
			t.Errorf("credits_used %v, want 5", got)
		}
		ws := e.Must(200, "GET", "/v4/workspaces", key, nil).Obj()
		if ws["credits_left"] != float64(0) {
			t.Errorf("credits_left %v", ws["credits_left"])
		}
		e.Must(200, "POST", "/v4/runs/"+uid+"/resume", key, nil)
		r = e.waitStatus(key, uid, 2*time.Minute, "BLOCKED", "SUCCEEDED")
		if r["status"] != "BLOCKED" || r["output_count"] != float64(5) {
			t.Errorf("resume without credits: %v", r)
		}
		if got := e.count(`SELECT COALESCE(SUM(results), 0) FROM credit_charges WHERE run_uid = $1`, uid); got != 5 {
			t.Errorf("%d results charged, want 5", got)
		}
		if got := e.creditsUsed(key); got != 5 {
			t.Errorf("credits_used after resume %v, want 5", got)
		}
		// The five paid inputs were called back; nothing final yet.
		got := rc.waitFor(t, time.Minute, "5 callbacks", func(c []callback) bool { return len(c) >= 5 })
		time.Sleep(300 * time.Millisecond)
		if got = rc.all(); len(got) != 5 || len(finalOf(got, uid)) != 0 {
			t.Errorf("%d callbacks while blocked (want 5 batches and no final one)", len(got))
		}
		for _, c := range got {
			if c.SigErr != nil || c.Body["results_count"] != float64(1) {
				t.Errorf("callback: %s (%v)", c.Raw, c.SigErr)
			}
		}
	})
}
