// Package jobs runs Firstmate's background work on River: the chunks of
// async runs and the delivery of callbacks and webhooks. Job arguments carry
// ids only; the state lives in Firstmate's tables, and workers are written
// so that running twice changes nothing the second time.
//
// One River client type serves both databases: riversqlite on SQLite, and on
// PostgreSQL riverdatabasesql with a pgx listener (the riverpgxv5 driver
// underneath for LISTEN/NOTIFY). Both work on database/sql transactions, so
// jobs are enqueued in the same transaction as the state they work on.
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/firstmate-oss/firstmate/internal/dispatch"
	"github.com/firstmate-oss/firstmate/internal/runs"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Queues.
const (
	QueueRuns       = "runs"
	QueueDeliveries = "deliveries"
)

// ChunkArgs works one chunk of an async run.
type ChunkArgs struct {
	RunID int64 `json:"run_id"`
	Chunk int   `json:"chunk"`
}

func (ChunkArgs) Kind() string { return "run_chunk" }

func (ChunkArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueRuns, MaxAttempts: 25}
}

// DeliverArgs makes one attempt for each of a set of deliveries.
type DeliverArgs struct {
	IDs []int64 `json:"ids"`
}

func (DeliverArgs) Kind() string { return "deliver" }

func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDeliveries, MaxAttempts: 10}
}

// Config tunes the workers.
type Config struct {
	RunWorkers      int
	DeliveryWorkers int
	// RescueAfter is how long a job may run before River considers its
	// worker dead and runs it again (after a crash).
	RescueAfter time.Duration
	Logger      *slog.Logger
	// Health tunes the integration health checks (health.go).
	Health HealthConfig
}

// Jobs owns the River client.
type Jobs struct {
	Client *river.Client[*sql.Tx]
	db     *store.DB
	health HealthConfig
}

// Migrate applies River's own migrations.
func Migrate(ctx context.Context, db *store.DB) error {
	m, err := rivermigrate.New(driver(db), nil)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err == nil || attempt >= 3 {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 300 * time.Millisecond) // another node migrating at once
	}
	if err != nil {
		return fmt.Errorf("jobs: river migrations: %w", err)
	}
	return nil
}

func driver(db *store.DB) riverdriver.Driver[*sql.Tx] {
	if db.Dialect == store.Postgres {
		return riverdatabasesql.NewWithPgxListener(db.Write, db.Pool)
	}
	return riversqlite.New(db.Write)
}

// New builds the client and registers the workers. Call Start to work jobs;
// a client that is never started can still enqueue (operator subcommands).
func New(db *store.DB, cfg Config, r *runs.Service, d *dispatch.Dispatcher) (*Jobs, error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &chunkWorker{runs: r})
	river.AddWorker(workers, &deliverWorker{d: d})
	rc := &river.Config{
		Queues: map[string]river.QueueConfig{
			QueueRuns:       {MaxWorkers: max(cfg.RunWorkers, 1)},
			QueueDeliveries: {MaxWorkers: max(cfg.DeliveryWorkers, 1)},
		},
		Workers: workers,
		Logger:  cfg.Logger,
		// A job cut off by a crash is worked again after RescueAfter; no
		// job may legitimately run longer than that.
		JobTimeout:           max(cfg.RescueAfter, 30*time.Second),
		RescueStuckJobsAfter: max(cfg.RescueAfter, 30*time.Second),
		FetchCooldown:        10 * time.Millisecond,
		FetchPollInterval:    200 * time.Millisecond,
		MaxAttempts:          25,
	}
	if db.Dialect == store.SQLite {
		rc.FetchPollInterval = 100 * time.Millisecond
	}
	addHealth(workers, rc, db, r.Engine, cfg.Health)
	addRentals(workers, rc, r.Engine.Identities)
	addLimitPrune(workers, rc, db)
	addStagedSweep(workers, rc, db)
	c, err := river.NewClient(driver(db), rc)
	if err != nil {
		return nil, err
	}
	return &Jobs{Client: c, db: db, health: cfg.Health}, nil
}

// addTick makes River's leader enqueue args every interval, and as soon as a
// node becomes leader: a new leader acts at once rather than a tick later,
// so frequent restarts do not starve the work. The periodic job's ID is the
// args' kind.
func addTick(rc *river.Config, every time.Duration, args river.JobArgs) {
	rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return args, nil },
		&river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true}))
}

func (j *Jobs) Start(ctx context.Context) error { return j.Client.Start(ctx) }

// Stop lets running jobs finish (bounded by ctx).
func (j *Jobs) Stop(ctx context.Context) error { return j.Client.Stop(ctx) }

// Chunks implements runs.Queue.
func (j *Jobs) Chunks(ctx context.Context, tx *sql.Tx, runID int64, chunks []int) error {
	params := make([]river.InsertManyParams, len(chunks))
	for i, c := range chunks {
		params[i] = river.InsertManyParams{Args: ChunkArgs{RunID: runID, Chunk: c}}
	}
	_, err := j.Client.InsertManyFastTx(ctx, tx, params)
	return err
}

// Deliveries implements runs.Queue and dispatch.Queue. Ids are grouped into
// jobs of up to 50 so that a 100,000-input run does not mean 100,000 jobs.
func (j *Jobs) Deliveries(ctx context.Context, tx *sql.Tx, ids []int64, at time.Time) error {
	var params []river.InsertManyParams
	for start := 0; start < len(ids); start += 50 {
		end := min(start+50, len(ids))
		p := river.InsertManyParams{Args: DeliverArgs{IDs: append([]int64(nil), ids[start:end]...)}}
		if !at.IsZero() {
			p.InsertOpts = &river.InsertOpts{ScheduledAt: at}
		}
		params = append(params, p)
	}
	if len(params) == 0 {
		return nil
	}
	_, err := j.Client.InsertManyFastTx(ctx, tx, params)
	return err
}

type chunkWorker struct {
	river.WorkerDefaults[ChunkArgs]
	runs *runs.Service
}

func (w *chunkWorker) Work(ctx context.Context, job *river.Job[ChunkArgs]) error {
	out, err := w.runs.WorkChunk(ctx, job.Args.RunID, job.Args.Chunk)
	if err != nil {
		return err
	}
	if out.Retry > 0 {
		return river.JobSnooze(out.Retry)
	}
	return nil
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	d *dispatch.Dispatcher
}

// Timeout covers a batch sent in parallel, each attempt bounded by the
// sender's own 15 s timeout.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return 25 * time.Second }

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return w.d.Deliver(ctx, job.Args.IDs)
}
