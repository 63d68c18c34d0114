package runs_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// TestCapCounterUnderConcurrency: on a plan of 2 concurrent runs, 12 runs
// submitted at once from 6 clients start exactly 2 (River is stopped, so
// none finishes); cancelling 7 of them at once, RUNNING and QUEUED mixed,
// leaves exactly 2 RUNNING (each cancelled RUNNING run promoted a QUEUED
// one), and run_slots.running (migration 00044) equals the RUNNING runs
// counted throughout.
func TestCapCounterUnderConcurrency(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		key := e.workspace("Cap counter", "async_cap2")
		const clients, each = 6, 2
		uids := make([]string, clients*each)
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					r := e.Do("POST", "/v4/actions/googlemaps-extract-place/run/async", key, map[string]any{
						"inputs": placeInputs(3, fmt.Sprint("slots", c, i)), "callback": map[string]any{"url": nil}})
					if r.Status != 200 {
						t.Errorf("submit: %d %s", r.Status, r.Body)
						return
					}
					uids[c*each+i] = r.Obj()["run_uid"].(string)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		ws := e.count(`SELECT workspace_id FROM runs WHERE uid = $1`, uids[0])
		counts := func() (running, queued, slots int) {
			t.Helper()
			running = e.count(`SELECT COUNT(*) FROM runs WHERE workspace_id = $1 AND status = 'RUNNING'`, ws)
			queued = e.count(`SELECT COUNT(*) FROM runs WHERE workspace_id = $1 AND status = 'QUEUED'`, ws)
			slots = e.count(`SELECT running FROM run_slots WHERE workspace_id = $1`, ws)
			return
		}
		if r, q, s := counts(); r != 2 || q != 10 || s != 2 {
			t.Fatalf("after 12 concurrent submissions: %d RUNNING, %d QUEUED, run_slots %d; want 2, 10, 2", r, q, s)
		}
		// Cancel the 2 RUNNING runs and 5 others at once.
		var victims []string
		for _, uid := range uids {
			if e.run(key, uid)["status"] == "RUNNING" {
				victims = append(victims, uid)
			}
		}
		for _, uid := range uids {
			if len(victims) == 7 {
				break
			}
			if e.run(key, uid)["status"] == "QUEUED" {
				victims = append(victims, uid)
			}
		}
		ctx := context.Background()
		for _, uid := range victims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.App.Runs.Cancel(ctx, int64(ws), uid); err != nil {
					t.Errorf("cancel %s: %v", uid, err)
				}
			}()
		}
		wg.Wait()
		if r, q, s := counts(); r != 2 || q != 3 || s != 2 {
			t.Fatalf("after 7 concurrent cancels: %d RUNNING, %d QUEUED, run_slots %d; want 2, 3, 2", r, q, s)
		}
		for _, uid := range victims {
			if st := e.run(key, uid)["status"]; st != "STOPPED" {
				t.Errorf("cancelled run %s is %v", uid, st)
			}
		}
	})
}
