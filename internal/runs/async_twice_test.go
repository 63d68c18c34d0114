package runs_test

import (
	"context"
	"sync"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// TestAsyncWorkerRunsTwice: design.md promises that a worker that runs twice
// changes nothing the second time. River is left stopped and the test works
// the chunks itself: one chunk twice in a row (a worker that committed, then
// crashed before River recorded the job as done), another twice at the same
// time (a rescued job racing the original). Outputs, credit charges, the
// run's counters and the callback deliveries must each be recorded once, and
// delivering the same callbacks twice must send them once.
func TestAsyncWorkerRunsTwice(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		rc := newReceiver(t)
		rc.setSecret(e.secret(e.Key))
		id := e.identity(e.Key, "Twice identity", "sim_salesnav")
		const n = 60 // chunks 0 (inputs 0-24), 1 (25-49) and 2 (50-59)
		sub := e.submit(e.Key, "linkedin-extract-people", map[string]any{"inputs": profileInputs(n, "twice"),
			"identity_ids": []string{id}, "callback": map[string]any{"url": rc.URL, "on": "all"}})
		uid := sub["run_uid"].(string)
		runID := int64(sub["run_id"].(float64))
		ctx := context.Background()

		// Sequentially: the second pass finds nothing pending.
		for i := 0; i < 2; i++ {
			if _, err := e.App.Runs.WorkChunk(ctx, runID, 0); err != nil {
				t.Fatalf("chunk 0, pass %d: %v", i+1, err)
			}
		}
		// Concurrently, while the run still has work (chunk 2): both passes
		// fetch every input, only one records it.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = e.App.Runs.WorkChunk(ctx, runID, 1)
			}(i)
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("chunk 1, concurrent pass %d: %v", i+1, err)
			}
		}
		if _, err := e.App.Runs.WorkChunk(ctx, runID, 2); err != nil {
			t.Fatalf("chunk 2: %v", err)
		}
		// A late pass on each chunk changes nothing either.
		for _, c := range []int{0, 1, 2} {
			if _, err := e.App.Runs.WorkChunk(ctx, runID, c); err != nil {
				t.Fatalf("late pass on chunk %d: %v", c, err)
			}
		}

		r := e.run(e.Key, uid)
		if r["status"] != "SUCCEEDED" || r["output_count"] != float64(n) || r["input_count"] != float64(n) {
			t.Fatalf("run after double work: %v", r)
		}
		if got := e.count(`SELECT COUNT(*) FROM run_outputs WHERE run_id = $1`, runID); got != n {
			t.Errorf("%d outputs stored, want %d", got, n)
		}
		if got := e.count(`SELECT COUNT(DISTINCT input_idx) FROM run_outputs WHERE run_id = $1`, runID); got != n {
			t.Errorf("outputs cover %d inputs, want %d", got, n)
		}
		if got := len(e.outputs(e.Key, uid)); got != n {
			t.Errorf("GET outputs: %d, want %d", got, n)
		}
		if got := e.count(`SELECT COALESCE(SUM(results), 0) FROM credit_charges WHERE run_uid = $1`, uid); got != n {
			t.Errorf("%d results charged, want one per input (%d)", got, n)
		}
		if got := e.creditsUsed(e.Key); got != n {
			t.Errorf("credits_used %v, want %d", got, n)
		}
		var runCredits int64
		if err := e.App.DB.Handles().R.QueryRowContext(ctx, `SELECT credits_used FROM runs WHERE id = $1`, runID).Scan(&runCredits); err != nil {
			t.Fatal(err)
		}
		if runCredits != n*1000 {
			t.Errorf("the run records %d millicredits, want %d", runCredits, n*1000)
		}
		if got := e.count(`SELECT COUNT(*) FROM deliveries WHERE run_id = $1`, runID); got != n+1 {
			t.Errorf("%d deliveries, want one per input plus the final one (%d)", got, n+1)
		}
		if got := e.count(`SELECT COUNT(DISTINCT ref_uid) FROM deliveries WHERE run_id = $1`, runID); got != n+1 {
			t.Errorf("%d distinct callback_ref_uids, want %d", got, n+1)
		}

		// Deliver every callback, then deliver them all again.
		var ids []int64
		rows, err := e.App.DB.Handles().R.QueryContext(ctx, `SELECT id FROM deliveries WHERE run_id = $1 ORDER BY id`, runID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			_ = rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		for pass := 0; pass < 2; pass++ {
			if err := e.App.Dispatch.Deliver(ctx, ids); err != nil {
				t.Fatalf("deliver pass %d: %v", pass+1, err)
			}
		}
		got := rc.all()
		if len(got) != n+1 {
			t.Errorf("the receiver got %d callbacks, want %d (each once)", len(got), n+1)
		}
		for _, c := range got {
			if c.SigErr != nil || c.Attempt != 1 {
				t.Errorf("callback %s: signature %v, attempt %d", c.ID, c.SigErr, c.Attempt)
			}
		}
		ds, err := store.GetDeliveriesByID(ctx, e.App.DB.Handles().R, ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Status != "SUCCESS" || d.RetryCount != 0 {
				t.Errorf("delivery %s: %s, retry_count %d", d.UID, d.Status, d.RetryCount)
			}
		}
	})
}
