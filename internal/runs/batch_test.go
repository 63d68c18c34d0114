package runs_test

// Group commit of a run's chunk commits (issue 20, batch.go): chunks of one
// run that commit together commit in one transaction, and the rules hold as
// if each had committed on its own.

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/runs"
)

// batchChunks is how many chunks the tests commit together: chunks 1-8 of
// 25 place inputs each (runs.ChunkSize; the first inputs of a run always go
// 25 to a chunk). Chunk 0 commits first, alone: the first charge of a
// workspace's period creates its balance row, which a batch leaves to the
// chunks' own commits (a fallback).
const batchChunks, batchInputs = 8, (8 + 1) * 25

// commitGate holds every pass right before its commit until opened, so
// that the passes of a run commit at once.
type commitGate struct {
	arrived chan struct{}
	open    chan struct{}
}

func holdCommits(e *asyncEnv) *commitGate {
	g := &commitGate{arrived: make(chan struct{}, 1024), open: make(chan struct{})}
	runs.SetBeforeCommit(e.App.Runs, func(int64, int) {
		g.arrived <- struct{}{}
		<-g.open
	})
	return g
}

// workHeld works chunk 0 of a run, then every other chunk concurrently:
// it lets them all reach their commit, calls meanwhile (if set), then lets
// them commit together. It returns the group commit's counters of the
// concurrent chunks alone.
func workHeld(t *testing.T, e *asyncEnv, runID int64, meanwhile func()) batchCounts {
	t.Helper()
	if _, err := e.App.Runs.WorkChunk(context.Background(), runID, 0); err != nil {
		t.Fatalf("chunk 0: %v", err)
	}
	b0, i0, f0 := e.App.Runs.CommitBatches()
	g := holdCommits(e)
	var wg sync.WaitGroup
	errs := make([]error, batchChunks+1)
	for c := 1; c <= batchChunks; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[c] = e.App.Runs.WorkChunk(context.Background(), runID, c)
		}()
	}
	for range batchChunks {
		select {
		case <-g.arrived:
		case <-time.After(untilDeadline(t)):
			t.Fatal("the chunks never all reached their commit")
		}
	}
	if meanwhile != nil {
		meanwhile()
	}
	close(g.open)
	wg.Wait()
	for c, err := range errs {
		if err != nil {
			t.Fatalf("chunk %d: %v", c, err)
		}
	}
	b, i, f := e.App.Runs.CommitBatches()
	return batchCounts{b - b0, i - i0, f - f0}
}

// batchCounts are the group commit's counters (runs.Service.CommitBatches).
type batchCounts struct{ batches, items, fallbacks int64 }

// batched checks that the concurrent chunks went through the group commit
// and that some shared a transaction (otherwise the test proves nothing
// about it).
func batched(t *testing.T, c batchCounts) int64 {
	t.Helper()
	batches, items, fallbacks := c.batches, c.items, c.fallbacks
	t.Logf("%d chunk commits in %d batches, %d fallbacks", items, batches, fallbacks)
	if items != batchChunks || items <= batches {
		t.Fatalf("%d chunks in %d batches: want all %d chunks, fewer batches than chunks", items, batches, batchChunks)
	}
	return fallbacks
}

// runIDOf submits batchInputs places with every callback to a receiver
// (not delivered: River is stopped) and returns the run's uid and id.
func submitBatchRun(t *testing.T, e *asyncEnv, key, tag string) (string, int64) {
	t.Helper()
	rc := newReceiver(t)
	sub := e.submit(key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(batchInputs, tag),
		"callback": map[string]any{"url": rc.URL, "on": "all"}})
	return sub["run_uid"].(string), int64(sub["run_id"].(float64))
}

// TestChunkBatchExactlyOnce: 8 chunks of one run commit together; each of
// the 200 inputs is recorded once (one output, DONE), called back once,
// and charged once: 1 credit per place result (catalog ratio 1), so 200
// credits on the run and on the workspace's balance, in one charge row per
// chunk.
func TestChunkBatchExactlyOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		uid, runID := submitBatchRun(t, e, e.Key, "batch")
		if f := batched(t, workHeld(t, e, runID, nil)); f != 0 {
			t.Errorf("%d batches fell back to single commits; the balance could pay", f)
		}
		r := e.run(e.Key, uid)
		if r["status"] != "SUCCEEDED" || r["output_count"] != float64(batchInputs) {
			t.Fatalf("run: %v", r)
		}
		if got := e.count(`SELECT credits_used FROM runs WHERE id = $1`, runID); got != batchInputs*1000 {
			t.Errorf("run's credits_used %d millicredits, want %d", got, batchInputs*1000)
		}
		e.exactlyOnce(e.Key, uid, batchInputs, batchInputs)
		if got := e.count(`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'DONE'`, runID); got != batchInputs {
			t.Errorf("%d inputs DONE, want %d", got, batchInputs)
		}
		if got := e.count(`SELECT COUNT(*) FROM credit_charges WHERE run_uid = $1`, uid); got != batchChunks+1 {
			t.Errorf("%d charge rows, want one per chunk (%d)", got, batchChunks+1)
		}
		if got := e.count(`SELECT COALESCE(SUM(amount), 0) FROM credit_charges WHERE run_uid = $1`, uid); got != batchInputs*1000 {
			t.Errorf("charges of %d millicredits, want %d", got, batchInputs*1000)
		}
		if got := e.count(`SELECT COALESCE(SUM(used), 0) FROM credit_balances b JOIN runs r ON r.workspace_id = b.workspace_id WHERE r.id = $1`,
			runID); got != batchInputs*1000 {
			t.Errorf("balance used %d millicredits, want %d", got, batchInputs*1000)
		}
		// One callback per input and the final one, each queued once.
		if got := e.count(`SELECT COUNT(*) FROM deliveries WHERE run_id = $1`, runID); got != batchInputs+1 {
			t.Errorf("%d callbacks, want %d", got, batchInputs+1)
		}
		if got := e.count(`SELECT COUNT(DISTINCT ref_uid) FROM deliveries WHERE run_id = $1`, runID); got != batchInputs+1 {
			t.Errorf("%d distinct callback refs, want %d", got, batchInputs+1)
		}
	})
}

// TestChunkBatchShortBalance: a plan of 60 credits pays for chunk 0 (25),
// then cannot pay for the 200 results of the batch of chunks 1-8: it falls
// back to the chunks' own commits, which pay for whole inputs while the
// balance lasts (another chunk of 25, then 10 inputs of a third) and block
// the run on NO_ACCESS with exactly the plan's 60 credits charged, one per
// recorded output; every other input is still PENDING.
func TestChunkBatchShortBalance(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		const plan = 60
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		key := e.workspace("Short "+dialect, "async_60")
		uid, runID := submitBatchRun(t, e, key, "short")
		if f := batched(t, workHeld(t, e, runID, nil)); f == 0 {
			t.Error("no batch fell back to single commits, though the balance could not pay for one")
		}
		r := e.run(key, uid)
		last, _ := r["last_error"].(map[string]any)
		if r["status"] != "BLOCKED" || last["error_label"] != "NO_ACCESS" && last["label"] != "NO_ACCESS" {
			t.Fatalf("run: %v", r)
		}
		outs := e.count(`SELECT COUNT(*) FROM run_outputs WHERE run_id = $1`, runID)
		done := e.count(`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'DONE'`, runID)
		pending := e.count(`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'PENDING'`, runID)
		charged := e.count(`SELECT COALESCE(SUM(amount), 0) FROM credit_charges WHERE run_uid = $1`, uid)
		used := e.count(`SELECT credits_used FROM runs WHERE id = $1`, runID)
		if outs != plan || done != plan || pending != batchInputs-plan || r["output_count"] != float64(plan) ||
			used != plan*1000 || e.creditsUsed(key) != plan || charged != plan*1000 {
			t.Fatalf("outputs %d, DONE %d, PENDING %d, charged %d, run's credits_used %d, workspace credits_used %v, run %v",
				outs, done, pending, charged, used, e.creditsUsed(key), r)
		}
	})
}

// TestChunkBatchCancel: a run cancelled while chunks 1-8 wait to commit
// together records nothing after the cancel: chunk 0's 25 inputs (committed
// before) and nothing else are DONE, output, charged and called back; the
// run is STOPPED with the other inputs PENDING.
func TestChunkBatchCancel(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		const before = 25 // chunk 0
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		uid, runID := submitBatchRun(t, e, e.Key, "cancel")
		cancel := func() { e.Must(200, "POST", "/v4/runs/"+uid+"/cancel", e.Key, nil) }
		if f := batched(t, workHeld(t, e, runID, cancel)); f != 0 {
			t.Errorf("%d batches fell back to single commits; a cancel refuses the batch whole", f)
		}
		r := e.run(e.Key, uid)
		if r["status"] != "STOPPED" || r["output_count"] != float64(before) {
			t.Fatalf("run: %v", r)
		}
		if outs := e.count(`SELECT COUNT(*) FROM run_outputs WHERE run_id = $1`, runID); outs != before {
			t.Errorf("%d outputs, want chunk 0's %d", outs, before)
		}
		if done := e.count(`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'DONE'`, runID); done != before {
			t.Errorf("%d inputs DONE, want chunk 0's %d", done, before)
		}
		if pending := e.count(`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'PENDING'`, runID); pending != batchInputs-before {
			t.Errorf("%d inputs PENDING, want %d", pending, batchInputs-before)
		}
		if n := e.count(`SELECT COALESCE(SUM(amount), 0) FROM credit_charges WHERE run_uid = $1`, uid); n != before*1000 ||
			e.creditsUsed(e.Key) != before {
			t.Errorf("charges of %d millicredits, %v credits used; want chunk 0's %d credits", n, e.creditsUsed(e.Key), before)
		}
		if n := e.count(`SELECT COUNT(*) FROM deliveries WHERE run_id = $1 AND batch_uid <> ''`, runID); n != before {
			t.Errorf("%d batch callbacks, want chunk 0's %d", n, before)
		}
	})
}
