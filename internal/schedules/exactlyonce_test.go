package schedules_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// TestExactlyOnceAcrossNodes: on PostgreSQL, two Firstmate nodes share one
// schema; both firing loops run (on the shared injected clock) while each
// node also calls FireDue from several goroutines at once, round after
// round, over many due schedules. Every (schedule, firing time) gets exactly
// one run. On SQLite the same race runs inside one node.
func TestExactlyOnceAcrossNodes(t *testing.T) {
	exactlyOnce(t, 150, 4)
}

// TestExactlyOnceAcrossNodesInBatches is the same race with more due
// schedules than one transaction fires (txBatch), so that each FireDue
// fires several batches, in parallel on PostgreSQL, and the two nodes'
// batches overlap partly (rows locked by the other node are skipped, then
// waited for).
func TestExactlyOnceAcrossNodesInBatches(t *testing.T) {
	exactlyOnce(t, 1100, 2)
}

func exactlyOnce(t *testing.T, n, rounds int) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		const callers = 2
		st := apitest.NewStore(t, dialect)
		nodes := []*apitest.Env{apitest.StartOn(t, st)}
		if dialect == store.Postgres {
			nodes = append(nodes, apitest.StartOn(t, st))
		}
		clk := &clock{t: mustTime("2031-09-01T12:00:30Z")}
		for _, e := range nodes {
			// River workers off, so runs stay unfinished until the test ends
			// them; the schedule firing loops stay on and race too.
			if err := e.App.Jobs.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			e.App.Schedules.SetClock(clk.Now)
		}
		a := nodes[0]
		key := a.NewWorkspace("Racers", "unlimited")
		uids := make([]string, n)
		for i := range uids {
			uids[i] = a.Must(200, "POST", "/v4/actions/"+placeSlug+"/run/schedule", key, map[string]any{
				"inputs": []any{placeInput(fmt.Sprint(i))}, "callback": map[string]any{"url": nil}, "cron": "* * * * *",
			}).Obj()["uid"].(string)
		}
		ctx := context.Background()
		for r := 1; r <= rounds; r++ {
			due := mustTime("2031-09-01T12:00:00Z").Add(time.Duration(r) * time.Minute)
			clk.Set(due.Add(137 * time.Millisecond))
			var wg sync.WaitGroup
			errs := make(chan error, len(nodes)*callers)
			for _, e := range nodes {
				for c := 0; c < callers; c++ {
					wg.Add(1)
					go func(e *apitest.Env) {
						defer wg.Done()
						if _, err := e.App.Schedules.FireDue(ctx); err != nil {
							errs <- err
						}
					}(e)
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("round %d: FireDue: %v", r, err)
			}
			// Every FireDue has returned, so every due schedule's firing is
			// committed (by a caller or a loop); count them.
			counts := map[string]int{}
			last := map[string]int64{}
			rows, err := a.App.DB.Handles().Read.QueryContext(ctx, `SELECT s.uid, COUNT(r.id), COALESCE(s.last_executed_at, 0)
				FROM schedules s LEFT JOIN runs r ON r.scheduled_run_uid = s.uid GROUP BY s.uid, s.last_executed_at`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var u string
				var c int
				var l int64
				if err := rows.Scan(&u, &c, &l); err != nil {
					t.Fatal(err)
				}
				counts[u], last[u] = c, l
			}
			rows.Close()
			bad := 0
			for _, u := range uids {
				if counts[u] != r || last[u] != store.Millis(due) {
					if bad++; bad <= 5 {
						t.Errorf("round %d: schedule %s has %d runs (want %d), last_executed_at %v (want %v)",
							r, u, counts[u], r, store.Time(last[u]), due)
					}
				}
			}
			if bad > 0 {
				t.Fatalf("round %d: %d of %d schedules did not fire exactly once", r, bad, n)
			}
			// Admission under the plan's cap (unlimited: 1,000 at once) held
			// across the nodes' concurrent batches, and run_slots counts
			// exactly the RUNNING runs.
			var running, queued, slots int
			if err := a.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT
				(SELECT COUNT(*) FROM runs WHERE status = 'RUNNING' AND execution_mode = 'ASYNC'),
				(SELECT COUNT(*) FROM runs WHERE status = 'QUEUED' AND execution_mode = 'ASYNC'),
				(SELECT SUM(running) FROM run_slots)`).Scan(&running, &queued, &slots); err != nil {
				t.Fatal(err)
			}
			if want := min(n, 1000); running != want || queued != n-want || slots != running {
				t.Fatalf("round %d: %d RUNNING, %d QUEUED, run_slots %d; want %d, %d, %d", r, running, queued, slots,
					want, n-want, want)
			}
			// Finish the runs so that the next round is not skipped as an overlap.
			if _, err := a.App.DB.Handles().Write.ExecContext(ctx, `UPDATE runs SET status = 'STOPPED' WHERE scheduled_run_uid <> ''
				AND status NOT IN ('SUCCEEDED', 'PARTIAL_SUCCEEDED', 'FAILED', 'STOPPED', 'INVALID')`); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestPollerFiresInBackground checks the wiring: the firing loop that
// apitest.StartOn starts (as App.Serve does) fires a due schedule by itself.
// It waits for an event, not for a duration: the deadline only bounds a
// failure.
func TestPollerFiresInBackground(t *testing.T) {
	env := apitest.Start(t, store.SQLite)
	clk := &clock{t: mustTime("2031-01-01T00:00:00Z")}
	env.App.Schedules.SetClock(clk.Now)
	key := env.NewWorkspace("Background", "unlimited")
	uid := env.Must(200, "POST", "/v4/actions/"+placeSlug+"/run/schedule", key, map[string]any{
		"inputs": []any{placeInput("bg")}, "callback": map[string]any{"url": nil}, "schedule_at": "2031-01-01T00:00:05Z",
	}).Obj()["uid"].(string)
	clk.Set(mustTime("2031-01-01T00:00:06Z"))
	deadline := time.Now().Add(30 * time.Second)
	for {
		if sc := env.Must(200, "GET", "/v4/schedules/"+uid, key, nil).Obj(); sc["status"] == "COMPLETED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background firing loop did not fire a due one-shot")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(env.Must(200, "GET", "/v4/runs?scheduled_run_uid="+uid, key, nil).Arr()); n != 1 {
		t.Fatalf("%d runs, want 1", n)
	}
}
