package runs_test

import (
	"context"
	"sync"
	"testing"
)

// TestResumeChunkRecordsOnce: a chunk taken over from a dead node
// (ResumeChunk) commits its first input on its own, then the rest of its
// pass. Whatever the passes (resumed alone, resumed racing an ordinary
// pass, resumed again when nothing is left), every input's outputs, charge
// and callback are recorded once; the counts come from the inputs
// submitted, one result per profile.
func TestResumeChunkRecordsOnce(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		rc := newReceiver(t)
		id := e.identity(e.Key, "Resume identity", "sim_salesnav")
		const n = 60 // chunks 0 (inputs 0-24), 1 (25-49) and 2 (50-59)
		sub := e.submit(e.Key, "linkedin-extract-people", map[string]any{"inputs": profileInputs(n, "resume"),
			"identity_ids": []string{id}, "callback": map[string]any{"url": rc.URL, "on": "all"}})
		uid := sub["run_uid"].(string)
		runID := int64(sub["run_id"].(float64))
		ctx := context.Background()

		if _, err := e.App.Runs.ResumeChunk(ctx, runID, 0); err != nil {
			t.Fatalf("resume chunk 0: %v", err)
		}
		if got := e.count(`SELECT COUNT(DISTINCT input_idx) FROM run_outputs WHERE run_id = $1`, runID); got != 25 {
			t.Fatalf("after resuming chunk 0, outputs cover %d inputs, want 25", got)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() { defer wg.Done(); _, errs[0] = e.App.Runs.ResumeChunk(ctx, runID, 1) }()
		go func() { defer wg.Done(); _, errs[1] = e.App.Runs.WorkChunk(ctx, runID, 1) }()
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("chunk 1, concurrent pass %d: %v", i+1, err)
			}
		}
		for _, c := range []int{2, 0, 1, 2} {
			if _, err := e.App.Runs.ResumeChunk(ctx, runID, c); err != nil {
				t.Fatalf("resume chunk %d: %v", c, err)
			}
		}
		r := e.run(e.Key, uid)
		if r["status"] != "SUCCEEDED" || r["output_count"] != float64(n) {
			t.Fatalf("run after resumed passes: %v", r)
		}
		if got := e.count(`SELECT COUNT(*) FROM run_outputs WHERE run_id = $1`, runID); got != n {
			t.Errorf("%d outputs stored, want %d", got, n)
		}
		if got := e.count(`SELECT COUNT(DISTINCT input_idx) FROM run_outputs WHERE run_id = $1`, runID); got != n {
			t.Errorf("outputs cover %d inputs, want %d", got, n)
		}
		if got := e.count(`SELECT COALESCE(SUM(results), 0) FROM credit_charges WHERE run_uid = $1`, uid); got != n {
			t.Errorf("%d results charged, want one per input (%d)", got, n)
		}
		if got := e.creditsUsed(e.Key); got != n {
			t.Errorf("credits_used %v, want %d", got, n)
		}
		if got := e.count(`SELECT COUNT(DISTINCT ref_uid) FROM deliveries WHERE run_id = $1`, runID); got != n+1 {
			t.Errorf("%d distinct callbacks, want one per input plus the final one (%d)", got, n+1)
		}
		if got := e.count(`SELECT COUNT(*) FROM deliveries WHERE run_id = $1`, runID); got != n+1 {
			t.Errorf("%d deliveries, want %d", got, n+1)
		}
	})
}
