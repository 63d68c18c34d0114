package runs

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/store/groupcommit"
)

// Group commit of a run's chunk commits (issue 20).
//
// Every chunk commit ends on the run's row and the workspace's balance row
// (store.RunProgressPaying), locked from that statement to the commit: on
// PostgreSQL the chunks of a run that finish together (a wave of upstream
// answers) queued there one behind the other, each holding both rows while
// the Go side, saturated by the same wave, got round to its COMMIT. So the
// chunks of one run that are ready to commit at once commit in one
// transaction: each chunk's own rows as before (writeRecords, recordCharges:
// its inputs, outputs, callbacks and charge rows, under its own keys), then
// ONE hot-row section with the summed counters and the summed balance move,
// and one COMMIT.
//
// The batcher is per run, not per workspace: the run's row is the one every
// chunk of the run writes (the balance row is shared with the workspace's
// other runs and live calls, which keep their own commits), a run's row
// refusing (a cancel) then refuses the whole batch and nothing else, and
// one statement can sum the counters only onto one run's row. Runs of one
// workspace still meet on the balance row, each once per batch.
//
// Only the common case is batched: a chunk with one price, no blocking
// error, not a resumed chunk's pass. Whenever the batch cannot be written
// as the simple case (the summed move is refused: the balance is short or
// has no row yet this period; a chunk with several prices; any error), it
// rolls back whole and every chunk of it commits on its own, with commit,
// exactly as without batching. Either the batch's transaction records all
// its chunks or none: exactly-once is FinishInputs' ownership, as before.

// errUnbatched: the batch was not written; each chunk commits on its own.
var errUnbatched = errors.New("runs: the chunks cannot be committed as a batch")

// runBatches holds the group commit of each run that has a chunk
// committing on this node. An entry lives while a chunk uses it.
type runBatches struct {
	mu sync.Mutex
	m  map[int64]*runBatch

	batches, items, fallbacks atomic.Int64
}

type runBatch struct {
	b    groupcommit.Batcher[*batchedChunk]
	refs int
}

func (r *runBatches) acquire(runID int64) *runBatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[int64]*runBatch{}
	}
	rb := r.m[runID]
	if rb == nil {
		rb = &runBatch{}
		r.m[runID] = rb
	}
	rb.refs++
	return rb
}

func (r *runBatches) release(runID int64, rb *runBatch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rb.refs--; rb.refs == 0 {
		delete(r.m, runID)
	}
}

// CommitBatches reports how many transactions (batches) have committed the
// chunks that went through the group commit, how many chunks they held, and
// how many batches fell back to committing their chunks one by one.
func (s *Service) CommitBatches() (batches, items, fallbacks int64) {
	return s.batches.batches.Load(), s.batches.items.Load(), s.batches.fallbacks.Load()
}

// ChunkCommits is the group commit of chunk commits as metrics read it
// (firstmate_group_commit_*_total{group="run_chunks"}): transactions and
// the chunks they held.
func (s *Service) ChunkCommits() groupcommit.Batches { return chunkCommits{s} }

type chunkCommits struct{ s *Service }

func (c chunkCommits) Stats() (batches, items int64) {
	b, i, _ := c.s.CommitBatches()
	return b, i
}

// batchedChunk is one chunk's commit, queued in its run's group commit.
type batchedChunk struct {
	ctx       context.Context // the pass's commit context (its deadline)
	run       model.Run
	a         *catalog.Action
	chunk     int
	done      []inputResult
	transient []store.Input
	out       Outcome
	// failed is set by the batch that commits it: its inputs recorded FAILED.
	failed []inputResult
}

// commitChunk commits a pass's work: through its run's group commit in the
// common case, otherwise with commit alone.
func (s *Service) commitChunk(ctx context.Context, run model.Run, a *catalog.Action, chunk int, done []inputResult,
	transient []store.Input, blockErr error, out Outcome, resumed bool) error {
	if s.beforeCommit != nil {
		s.beforeCommit(run.ID, chunk)
	}
	if blockErr != nil || resumed || !onePrice(done) {
		return s.commit(ctx, run, a, done, transient, blockErr, out)
	}
	it := &batchedChunk{ctx: ctx, run: run, a: a, chunk: chunk, done: done, transient: transient, out: out}
	rb := s.batches.acquire(run.ID)
	err := rb.b.Do(ctx, it, s.commitBatch)
	s.batches.release(run.ID, rb)
	switch {
	case err == nil:
		s.logInputErrors(run, it.failed)
		return nil
	case errors.Is(err, errNotRunning):
		return nil // cancelled meanwhile: keep nothing of this pass (as commit)
	case errors.Is(err, errUnbatched):
		return s.commit(ctx, run, a, done, transient, nil, out)
	}
	return err
}

// onePrice says whether every input with results has the same price (one
// charge per chunk: the batched case).
func onePrice(done []inputResult) bool {
	per := int64(-1)
	for _, r := range done {
		if r.err != nil || len(r.results) == 0 {
			continue
		}
		if per >= 0 && r.per != per {
			return false
		}
		per = r.per
	}
	return true
}

// commitBatch is the run's group commit's write: one chunk alone commits as
// without batching (commit, in the leader, so that the next chunks queue
// meanwhile); several commit in one transaction, or each on its own when
// that transaction cannot be the simple case (errUnbatched: the callers
// commit them, concurrently, as without batching).
func (s *Service) commitBatch(items []*batchedChunk) []error {
	s.batches.batches.Add(1)
	s.batches.items.Add(int64(len(items)))
	errs := make([]error, len(items))
	if len(items) == 1 {
		it := items[0]
		errs[0] = s.commit(it.ctx, it.run, it.a, it.done, it.transient, nil, it.out) // logs its failed inputs
		return errs
	}
	err := s.batchTx(items)
	if err != nil && !errors.Is(err, errNotRunning) {
		s.batches.fallbacks.Add(1)
		err = errUnbatched
	}
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// batchTx commits several chunks of one run in one transaction: each
// chunk's own rows, in chunk order (two nodes' batches that share chunks
// lock their inputs in the same order), then one hot-row section.
func (s *Service) batchTx(items []*batchedChunk) error {
	items = slices.Clone(items)
	slices.SortStableFunc(items, func(x, y *batchedChunk) int { return x.chunk - y.chunk })
	recs := make([]chunkRecords, len(items))
	for i, it := range items {
		var err error
		if recs[i], err = buildChunk(it.run, it.done, it.transient, -1); err != nil {
			return err
		}
	}
	ctx, cancel := batchCtx(items)
	defer cancel()
	run, a := items[0].run, items[0].a
	return s.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := s.DB.AsyncCommit(ctx, tx); err != nil { // see writeChunk
			return err
		}
		var sum chunkTally
		var charges []credits.Recorded
		var ws *model.Workspace
		for i, it := range items {
			t, err := s.writeRecords(ctx, tx, run, recs[i])
			if err != nil {
				return err
			}
			it.failed = t.failedInputs
			if len(t.groups) > 1 {
				return errUnbatched
			}
			r, err := s.recordCharges(ctx, tx, run, a, t.groups, &ws)
			if err != nil {
				return err
			}
			sum.add(t)
			charges = append(charges, r...)
		}
		pending, postponed, err := s.batchProgress(ctx, tx, run, sum, charges)
		if err != nil {
			return err
		}
		if pending == 0 {
			return s.finish(ctx, tx, run.ID)
		}
		return s.batchPostpone(ctx, tx, run, items, postponed)
	})
}

// batchCtx is the batch's commit context: it ends with the earliest of its
// chunks' deadlines (each pass's commit must be over by its job's).
func batchCtx(items []*batchedChunk) (context.Context, context.CancelFunc) {
	var end time.Time
	for _, it := range items {
		if dl, ok := it.ctx.Deadline(); ok && (end.IsZero() || dl.Before(end)) {
			end = dl
		}
	}
	if end.IsZero() {
		return context.WithCancel(context.Background())
	}
	return context.WithDeadline(context.Background(), end)
}

// batchProgress is a batch's hot-row section: the summed counters on the
// run's row and the summed balance move, in one statement. A move refused
// (the balance short, or no row yet this period) is errUnbatched: the
// chunks are then paid one by one, each all or nothing, by commit.
func (s *Service) batchProgress(ctx context.Context, tx *store.Tx, run model.Run, sum chunkTally,
	charges []credits.Recorded) (pending int, postponed int64, err error) {
	move, moving, ok := sumMoves(charges)
	if !ok {
		return 0, 0, errUnbatched
	}
	if !moving {
		pending, postponed, ok, err = store.RunProgress(ctx, tx, run.ID, sum.outputs, sum.failed, sum.finished, sum.spent, sum.retries)
		if err == nil && !ok {
			err = errNotRunning
		}
		return pending, postponed, err
	}
	pending, postponed, ok, used, moved, err := s.DB.RunProgressPaying(ctx, tx, run.ID, sum.outputs, sum.failed, sum.finished,
		sum.spent, sum.retries, move)
	switch {
	case err != nil:
		return 0, 0, err
	case !ok:
		return 0, 0, errNotRunning
	case !moved:
		return 0, 0, errUnbatched
	}
	for _, r := range charges {
		// Moved: each charge is paid in full; Settle records the balance's
		// final use (the per-node cache) and changes nothing else.
		if _, err := s.Ledger.Settle(ctx, tx, r, used, true); err != nil {
			return 0, 0, err
		}
	}
	return pending, postponed, nil
}

// sumMoves sums the balance moves of a batch's charges into one. ok is
// false when they are not all on the same balance row and grant (a period
// that turned between two chunks' charges): the batch is not the simple
// case. moving is false when no charge has a balance to move.
func sumMoves(charges []credits.Recorded) (m store.BalanceMove, moving, ok bool) {
	for _, r := range charges {
		if r.Done {
			continue
		}
		if !moving {
			m, moving = r.Move, true
			continue
		}
		if r.Move.WorkspaceID != m.WorkspaceID || r.Move.Period != m.Period || r.Move.Cap != m.Cap {
			return store.BalanceMove{}, false, false
		}
		m.Amount += r.Move.Amount
	}
	return m, moving, true
}

// batchPostpone leaves the run's postponement as the batch's chunks would
// have left it committing one after the other in the batch's order (as
// concurrent commits do, the last writer wins): a chunk that asks to retry
// later sets it, a chunk that does not clears one that is set.
func (s *Service) batchPostpone(ctx context.Context, tx *store.Tx, run model.Run, items []*batchedChunk, postponed int64) error {
	until, set := postponed, false
	for _, it := range items {
		switch {
		case it.out.Retry > 0:
			until, set = store.Millis(s.now().Add(it.out.Retry)), true
		case until != 0:
			until, set = 0, true
		}
	}
	if !set {
		return nil
	}
	if until == 0 {
		return store.SetRunPostponed(ctx, tx, run.ID, nil)
	}
	return store.SetRunPostponed(ctx, tx, run.ID, &until)
}
