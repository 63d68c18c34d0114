package jobs

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"

	"github.com/firstmate-oss/firstmate/internal/engine"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Integration health checks. A periodic tick, enqueued by the elected River
// leader only (so one node ticks however many run), claims the VALID
// integrations whose check is due, at most Budget of them, and enqueues one
// check job for each at a random moment within the tick. A big install is
// thus checked at a bounded, even pace, and the checks run on a small queue
// of their own that never competes with runs or deliveries.

// QueueHealth holds the checks.
const QueueHealth = "health"

// HealthConfig tunes the checks.
type HealthConfig struct {
	// Off disables the periodic tick (checks can still be driven by hand).
	Off bool
	// Interval between two checks of one integration, jittered by ±20%.
	Interval time.Duration
	// Tick is how often due integrations are claimed; their checks are
	// spread over the following tick.
	Tick time.Duration
	// Budget bounds the checks claimed per tick.
	Budget int
	// Workers bounds the checks running at once on one node.
	Workers int
}

// Defaults of HealthConfig.
const (
	DefaultHealthTick    = 5 * time.Minute
	DefaultHealthBudget  = 100
	DefaultHealthWorkers = 2
)

func (h HealthConfig) withDefaults() HealthConfig {
	if h.Interval <= 0 {
		h.Interval = identity.DefaultHealthInterval
	}
	if h.Tick <= 0 {
		h.Tick = DefaultHealthTick
	}
	if h.Budget <= 0 {
		h.Budget = DefaultHealthBudget
	}
	if h.Workers <= 0 {
		h.Workers = DefaultHealthWorkers
	}
	return h
}

// HealthTickArgs claims the due integrations.
type HealthTickArgs struct{}

func (HealthTickArgs) Kind() string { return "health_tick" }

func (HealthTickArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueHealth, MaxAttempts: periodicAttempts}
}

// HealthCheckArgs checks one integration.
type HealthCheckArgs struct {
	IntegrationID int64 `json:"integration_id"`
}

func (HealthCheckArgs) Kind() string { return "health_check" }

func (HealthCheckArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueHealth, MaxAttempts: 3}
}

// addHealth registers the health workers, queue and periodic tick.
func addHealth(workers *river.Workers, rc *river.Config, db *store.Store, e *engine.Engine, h HealthConfig) {
	h = h.withDefaults()
	river.AddWorker(workers, &healthTickWorker{db: db, cfg: h})
	river.AddWorker(workers, &healthCheckWorker{e: e, cfg: h})
	rc.Queues[QueueHealth] = river.QueueConfig{MaxWorkers: h.Workers}
	if h.Off {
		return
	}
	addTick(rc, h.Tick, HealthTickArgs{})
}

// healthLease is how long past its tick a claimed integration waits for its
// check job before another tick may claim it again (a lost job).
const healthLease = 15 * time.Minute

// HealthTick claims the integrations due at now and enqueues their checks,
// spread at random over the tick, in one transaction. It returns the
// claimed integration ids. The periodic tick calls it; tests may too.
func (j *Jobs) HealthTick(ctx context.Context, now time.Time) ([]int64, error) {
	return healthTick(ctx, j.db, j.Client, j.health, now)
}

func healthTick(ctx context.Context, db *store.Store, c *store.JobClient, h HealthConfig, now time.Time) ([]int64, error) {
	h = h.withDefaults()
	var ids []int64
	err := db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		ids, err = store.ClaimDueIntegrations(ctx, tx, store.Millis(now), store.Millis(now.Add(h.Tick+healthLease)),
			h.Interval.Milliseconds(), h.Budget)
		if err != nil || len(ids) == 0 {
			return err
		}
		params := make([]river.InsertManyParams, len(ids))
		for i, id := range ids {
			at := now.Add(time.Duration(rand.Int64N(int64(h.Tick))))
			params[i] = river.InsertManyParams{Args: HealthCheckArgs{IntegrationID: id}, InsertOpts: &river.InsertOpts{ScheduledAt: at}}
		}
		err = store.InsertJobs(ctx, c, tx, params)
		return err
	})
	return ids, err
}

type healthTickWorker struct {
	river.WorkerDefaults[HealthTickArgs]
	db  *store.Store
	cfg HealthConfig
}

func (w *healthTickWorker) Work(ctx context.Context, job *river.Job[HealthTickArgs]) error {
	_, err := healthTick(ctx, w.db, store.JobClientFromContext(ctx), w.cfg, time.Now())
	return err
}

type healthCheckWorker struct {
	river.WorkerDefaults[HealthCheckArgs]
	e   *engine.Engine
	cfg HealthConfig
}

// Timeout covers one "me" call (the upstream client gives up at 45 s).
func (w *healthCheckWorker) Timeout(*river.Job[HealthCheckArgs]) time.Duration {
	return healthCheckTimeout
}

func (w *healthCheckWorker) Work(ctx context.Context, job *river.Job[HealthCheckArgs]) error {
	_, err := w.e.CheckIntegration(ctx, job.Args.IntegrationID, w.cfg.Interval)
	return err
}
