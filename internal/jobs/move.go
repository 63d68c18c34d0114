package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/firstmate-oss/firstmate/internal/store"
)

// rawArgs re-enqueues a job whose arguments are already JSON.
type rawArgs struct {
	kind string
	args json.RawMessage
}

func (r rawArgs) Kind() string                 { return r.kind }
func (r rawArgs) MarshalJSON() ([]byte, error) { return r.args, nil }

// CopyPending enqueues on dst (PostgreSQL) the jobs src (SQLite) had not
// finished: the chunks of unfinished runs, deliveries still to send. They
// keep their kind, arguments, queue, priority, attempts allowed and
// schedule; a job that was running starts over (its work is idempotent).
// Periodic jobs are left out: the new leader enqueues them. It returns how
// many it enqueued.
func CopyPending(ctx context.Context, src, dst *store.Store) (int, error) {
	pending, err := src.PendingJobs(ctx)
	if err != nil {
		return 0, err
	}
	periodic := map[string]bool{}
	for _, k := range periodicKinds() {
		periodic[k] = true
	}
	var params []river.InsertManyParams
	for _, j := range pending {
		if periodic[j.Kind] {
			continue
		}
		params = append(params, river.InsertManyParams{Args: rawArgs{kind: j.Kind, args: j.Args},
			InsertOpts: &river.InsertOpts{Queue: j.Queue, Priority: j.Priority, MaxAttempts: j.MaxAttempts,
				ScheduledAt: j.ScheduledAt}})
	}
	if len(params) == 0 {
		return 0, nil
	}
	c, err := river.NewClient(driver(dst), &river.Config{})
	if err != nil {
		return 0, err
	}
	err = dst.Tx(ctx, func(tx *store.Tx) error {
		for start := 0; start < len(params); start += 1000 {
			if err := store.InsertJobs(ctx, c, tx, params[start:min(start+1000, len(params))]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("jobs: enqueue the pending jobs on the new database: %w", err)
	}
	return len(params), nil
}

// periodicKinds are the kinds River's leader enqueues by itself (addTick).
func periodicKinds() []string {
	return []string{HealthTickArgs{}.Kind(), LimitPruneArgs{}.Kind(), StagedSweepArgs{}.Kind(), RentalExpiryArgs{}.Kind()}
}
