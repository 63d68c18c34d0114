// Package runs is the async run lifecycle: submission (inputs stored durably
// in one transaction), admission under the plan's concurrency cap, the work
// of one chunk of inputs, completion, cancel and resume, and the callbacks
// each batch produces. Job scheduling is behind the Queue interface (River
// implements it); the state lives in Firstmate's own tables.
package runs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/engine"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// ChunkSize is how many inputs one job works, unless chunkOf allows more.
const ChunkSize = 25

// MaxChunkSize bounds the chunks of large runs of actions that need no
// account.
const MaxChunkSize = 100

// smallRun is how many first inputs of a run always go ChunkSize to a job.
const smallRun = 128 * ChunkSize

// chunkOf is the chunk (the job) that works input idx of a run.
//
// Inputs that run on a platform account go ChunkSize to a job: an account
// runs one call at a time and Smart Limits pace it, so a bigger job would
// only commit (and call back) its results later. Actions that need no
// account run as fast as the workers go, and on a large run a bigger job
// spreads River's per-job work (fetch, completion) and the chunk's commit
// over more inputs: past its first smallRun inputs (128 chunks, so every
// worker of the default 32 gets several), a run's inputs go MaxChunkSize to
// a job, and a 100,000-input run is worked as 1,096 jobs instead of 4,000.
// The chunk depends on the index alone, so that inputs can be stored as
// they arrive, before the run's size is known.
func chunkOf(a *catalog.Action, idx int) int {
	if a.NeedsIdentity || idx < smallRun {
		return idx / ChunkSize
	}
	return smallRun/ChunkSize + (idx-smallRun)/MaxChunkSize
}

// chunkCount is the number of chunks of a run of n inputs.
func chunkCount(a *catalog.Action, n int) int {
	if n == 0 {
		return 0
	}
	return chunkOf(a, n-1) + 1
}

// MaxInputAttempts bounds transient failures per input before it is
// recorded as failed.
const MaxInputAttempts = 5

// Queue enqueues work in the caller's transaction, so a job exists exactly
// when the state it works on is committed.
type Queue interface {
	// Chunks enqueues the work of the given chunks of a run.
	Chunks(ctx context.Context, tx *store.Tx, runID int64, chunks []int) error
	// Deliveries enqueues the sending of deliveries at a time (zero: now).
	Deliveries(ctx context.Context, tx *store.Tx, ids []int64, at time.Time) error
}

type Service struct {
	DB     *store.Store
	Keys   *secret.Keyring
	Engine *engine.Engine
	Ledger *credits.Ledger
	Plans  func(name string) config.Plan
	Queue  Queue
	// Callbacks checks callback URLs at submission (SSRF policy).
	Callbacks send.Policy
	Now       func() time.Time
	// Log receives the failed inputs' error references (nil: none).
	Log *slog.Logger
	// MaxWait, when set, caps how long a postponed chunk sleeps before it
	// checks again (0: until the Smart Limit frees up). Tests that move Now
	// set it, since a job's snooze runs on the real clock.
	MaxWait time.Duration
	// HaltEvery, when set, replaces HaltEvery (tests).
	HaltEvery time.Duration

	haltOnce sync.Once
	halts    haltWatch
	// batches are the group commits of the runs' chunk commits (batch.go).
	batches runBatches
	// beforeCommit, when set (tests), is called by every pass right
	// before it commits.
	beforeCommit func(runID int64, chunk int)
}

// haltCtx is a context that ends when run leaves RUNNING (haltWatch), and
// the function to call when the chunk is done with it.
func (s *Service) haltCtx(run int64) (context.Context, func()) {
	s.haltOnce.Do(func() {
		s.halts.check = s.DB.RunsNotRunning
		s.halts.every = s.HaltEvery
	})
	return s.halts.watch(run)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
