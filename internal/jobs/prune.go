package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/firstmate-oss/firstmate/internal/smartlimits"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Smart Limit events older than every window are deleted by a periodic job
// (smartlimits.PruneEvents): the leader runs LimitPruneArgs every LimitPruneTick.

// LimitPruneTick is how often old Smart Limit events are deleted.
const LimitPruneTick = time.Hour

// LimitPruneArgs deletes the Smart Limit events no window counts any more.
type LimitPruneArgs struct{}

func (LimitPruneArgs) Kind() string { return "limit_events_prune" }

func (LimitPruneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueHealth, MaxAttempts: periodicAttempts}
}

type limitPruneWorker struct {
	river.WorkerDefaults[LimitPruneArgs]
	db *store.Store
}

func (w *limitPruneWorker) Work(ctx context.Context, job *river.Job[LimitPruneArgs]) error {
	_, err := smartlimits.PruneEvents(ctx, w.db, time.Now())
	return err
}

// addLimitPrune registers the pruning worker and its periodic job (after
// addHealth, which creates the queue).
func addLimitPrune(workers *river.Workers, rc *river.Config, db *store.Store) {
	river.AddWorker(workers, &limitPruneWorker{db: db})
	addTick(rc, LimitPruneTick, LimitPruneArgs{})
}

// Async submissions cut short by a crash leave a staged run and part of its
// inputs (store.StageInputs); the leader deletes those idle for
// StagedIdle, every StagedSweepTick. A submission in progress writes a batch
// every few milliseconds and is cut off by the server's read timeout (2
// minutes) at worst, so an hour without a batch means nobody is coming back.
const (
	StagedSweepTick = 10 * time.Minute
	StagedIdle      = time.Hour
)

// StagedSweepArgs deletes the staged runs of submissions that never finished.
type StagedSweepArgs struct{}

func (StagedSweepArgs) Kind() string { return "staged_runs_sweep" }

func (StagedSweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueHealth, MaxAttempts: periodicAttempts}
}

type stagedSweepWorker struct {
	river.WorkerDefaults[StagedSweepArgs]
	db *store.Store
}

func (w *stagedSweepWorker) Work(ctx context.Context, job *river.Job[StagedSweepArgs]) error {
	_, err := w.db.SweepStagedRuns(ctx, store.Millis(time.Now().Add(-StagedIdle)))
	return err
}

// addStagedSweep registers the sweep and its periodic job (after addHealth).
func addStagedSweep(workers *river.Workers, rc *river.Config, db *store.Store) {
	river.AddWorker(workers, &stagedSweepWorker{db: db})
	addTick(rc, StagedSweepTick, StagedSweepArgs{})
}
