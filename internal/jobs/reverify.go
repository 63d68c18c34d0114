package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Background verification of connects the platform did not answer in time
// (identity.Service.Reverify): one job per connect, retried with River's
// backoff (1 s, 16 s, 81 s, 4 min, 10 min...) while the platform still
// cannot be asked.

// ReverifyArgs verifies one PENDING integration again.
type ReverifyArgs struct {
	IntegrationID int64 `json:"integration_id"`
}

func (ReverifyArgs) Kind() string { return "integration_reverify" }

func (ReverifyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueHealth, MaxAttempts: 6}
}

type reverifyWorker struct {
	river.WorkerDefaults[ReverifyArgs]
	ids *identity.Service
}

// Timeout covers one "me" call (the upstream client gives up at 45 s).
func (w *reverifyWorker) Timeout(*river.Job[ReverifyArgs]) time.Duration { return 50 * time.Second }

func (w *reverifyWorker) Work(ctx context.Context, job *river.Job[ReverifyArgs]) error {
	err := w.ids.Reverify(ctx, job.Args.IntegrationID)
	if errors.Is(err, identity.ErrStillPending) && job.Attempt >= job.MaxAttempts {
		return river.JobCancel(err) // it stays PENDING; a reconnect starts over
	}
	return err
}

// addReverify registers the worker (after addHealth, which creates the queue).
func addReverify(workers *river.Workers, ids *identity.Service) {
	if ids != nil {
		river.AddWorker(workers, &reverifyWorker{ids: ids})
	}
}

// Reverify enqueues the background verification of an integration in tx.
func (q *Queue) Reverify(ctx context.Context, tx *store.Tx, integrationID int64) error {
	if q.client == nil {
		return errNoClient
	}
	return store.InsertJob(ctx, q.client, tx, ReverifyArgs{IntegrationID: integrationID}, nil)
}
