// Package jobs runs Firstmate's background work on River: the chunks of
// async runs (run_chunk: runs.Service.WorkChunk) and the delivery of
// callbacks and webhooks (deliver: webhook.Dispatcher), each in its own
// queue; the re-verification of a connect the platform did not answer in
// time (reverify.go); and the leader's periodic jobs: integration health
// checks (health.go), the end of rentals (rentals.go), pruning of Smart
// Limit events and of abandoned staged submissions (prune.go). Beside
// River it keeps node heartbeats and rescues the jobs of dead nodes
// (nodes.go, rescue.go). Schedules do not fire here: package schedules
// polls on every node.
//
// Job arguments carry ids only; the state lives in Firstmate's tables, and
// workers are written so that running twice changes nothing the second time.
//
// One River client type serves both databases: riversqlite on SQLite, and on
// PostgreSQL riverdatabasesql with a pgx listener (the riverpgxv5 driver
// underneath for LISTEN/NOTIFY). Both work on database/sql transactions, so
// jobs are enqueued in the same transaction as the state they work on.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/firstmate-oss/firstmate/internal/runs"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/webhook"
)

// Queues.
const (
	QueueRuns       = "runs"
	QueueDeliveries = "deliveries"
	// QueueTakenOver holds the chunks taken over from a dead node
	// (nodes.go): every node keeps workers for them, otherwise idle, so
	// that they resume at once rather than after the live nodes' own
	// chunks. A chunk stays there for its remaining passes.
	QueueTakenOver = "runs_taken_over"
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
	// RunWorkers is the least number of chunks worked at once; Inflight
	// (the node's in-flight budget) raises it to enough chunks to fill the
	// budget, since a chunk's inputs run concurrently (runs.WorkChunk).
	RunWorkers      int
	Inflight        int
	DeliveryWorkers int
	// RescueAfter is how long after it started a chunk or delivery job
	// whose worker is gone (a crash) goes to another worker; see rescue.go.
	// 0 means DefaultRescueAfter; it is at least MinRescueAfter (more when
	// the sender's timeout is longer than its default).
	RescueAfter time.Duration
	Logger      *slog.Logger
	// Health tunes the integration health checks (health.go).
	Health HealthConfig
	// NodeDeadAfter is how long a node may miss its heartbeat before
	// another takes over its jobs and leadership (nodes.go; PostgreSQL).
	// 0 means DefaultNodeDeadAfter.
	NodeDeadAfter time.Duration
	// Version is recorded with the node's heartbeat.
	Version string
	// Tracer, when set, makes a span of every chunk and delivery job, in
	// the trace of the request (or job) that enqueued it (trace.go); nil:
	// tracing is off.
	Tracer trace.Tracer
}

// Jobs owns the River client. It enqueues through its Queue (the one given
// to New).
type Jobs struct {
	*Queue
	Client      *store.JobClient
	db          *store.Store
	health      HealthConfig
	driver      store.JobDriver
	rescueAfter time.Duration
	log         *slog.Logger
	stopRescue  context.CancelFunc

	// Heartbeats and leases (nodes.go).
	nodeID    string
	version   string
	deadAfter time.Duration
	leases    *leases
	stopNode  context.CancelFunc
	nodeDone  chan struct{}
}

// Migrate applies River's own migrations.
func Migrate(ctx context.Context, db *store.Store) error {
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

func driver(db *store.Store) store.JobDriver { return db.RiverDriver() }

// New builds the client and registers the workers, and makes q enqueue
// through the client. Call Start to work jobs; a client that is never
// started can still enqueue (operator subcommands).
func New(db *store.Store, cfg Config, q *Queue, r *runs.Service, d *webhook.Dispatcher) (*Jobs, error) {
	rescueAfter := cfg.RescueAfter
	if rescueAfter == 0 {
		rescueAfter = DefaultRescueAfter
	}
	deliverTO := deliverTimeout(d.Sender.Timeout())
	rescueAfter = max(rescueAfter, deliverTO+rescueMargin)
	ls := &leases{}
	workers := river.NewWorkers()
	river.AddWorker(workers, &chunkWorker{runs: r, timeout: rescueAfter - rescueMargin, leases: ls, tracer: cfg.Tracer})
	river.AddWorker(workers, &deliverWorker{d: d, timeout: deliverTO, leases: ls, tracer: cfg.Tracer})
	nodeID := newNodeID()
	rc := &river.Config{
		// The node's id in River's attempted_by and leader rows, and in
		// the nodes table (nodes.go).
		ID: nodeID,
		Queues: map[string]river.QueueConfig{
			QueueRuns:       {MaxWorkers: RunWorkers(cfg.RunWorkers, cfg.Inflight)},
			QueueDeliveries: {MaxWorkers: max(cfg.DeliveryWorkers, 1)},
		},
		Workers: workers,
		// Every job's reads run on the node's main pool, not on the
		// connections kept for API reads (store.Background).
		Middleware: []rivertype.Middleware{river.WorkerMiddlewareFunc(
			func(ctx context.Context, _ *rivertype.JobRow, doInner func(context.Context) error) error {
				return doInner(store.Background(ctx))
			})},
		Logger: cfg.Logger,
		// Chunks and deliveries set their own timeouts and are rescued by
		// the sweep of rescue.go; River's rescuer takes the other kinds
		// once their timeout and a margin have passed.
		JobTimeout:           otherTimeout,
		RescueStuckJobsAfter: max(rescueAfter, otherTimeout+rescueMargin, healthCheckTimeout+rescueMargin),
		FetchCooldown:        10 * time.Millisecond,
		FetchPollInterval:    200 * time.Millisecond,
		MaxAttempts:          25,
	}
	if !db.SharedByNodes() {
		// One node: jobs are fetched here or nowhere.
		rc.FetchPollInterval = 100 * time.Millisecond
	} else {
		// A few at a time: their calls share this node's in-flight
		// budget, first come first served within a run, with this
		// node's own chunks. All of a dead node's chunks at once would
		// interleave their calls so that none finishes its pass (and
		// writes outputs) before all of them do (measured: 20 s after
		// they started on a busy node); a few finish theirs one pass
		// after the takeover, and the next ones follow.
		rc.Queues[QueueTakenOver] = river.QueueConfig{MaxWorkers: max(RunWorkers(cfg.RunWorkers, cfg.Inflight)/8, 2)}
	}
	addHealth(workers, rc, db, r.Engine, cfg.Health)
	addRentals(workers, rc, r.Engine.Identities)
	addReverify(workers, r.Engine.Identities)
	addLimitPrune(workers, rc, db)
	addStagedSweep(workers, rc, db)
	drv := driver(db)
	c, err := river.NewClient(drv, rc)
	if err != nil {
		return nil, err
	}
	q.client = c
	deadAfter := cfg.NodeDeadAfter
	if deadAfter <= 0 {
		deadAfter = DefaultNodeDeadAfter
	}
	return &Jobs{Queue: q, Client: c, db: db, health: cfg.Health, driver: drv, rescueAfter: rescueAfter, log: cfg.Logger,
		nodeID: nodeID, version: cfg.Version, deadAfter: deadAfter, leases: ls}, nil
}

// RunWorkers is the number of chunk workers of a node: at least runWorkers,
// and enough chunks of runs.ChunkSize inputs to keep an in-flight budget of
// inflight calls busy. A worker waiting on its chunk's calls costs a
// goroutine, not a thread.
func RunWorkers(runWorkers, inflight int) int {
	return max(runWorkers, (inflight+runs.ChunkSize-1)/runs.ChunkSize, 1)
}

// addTick makes River's leader enqueue args every interval, and as soon as a
// node becomes leader: a new leader acts at once rather than a tick later,
// so frequent restarts do not starve the work. The periodic job's ID is the
// args' kind.
// periodicAttempts are the attempts of a periodic job (the health tick,
// rentals' expiry, the prunes and sweeps). They are idempotent sweeps, so
// one more attempt is safe; with a single attempt, a tick that was running
// on a node killed with SIGKILL was discarded by the takeover (its attempt
// used up) and its work waited for the next period, an hour for the Smart
// Limit prune. With three, the takeover makes it available again at once
// and a live node works it within seconds of the node's death.
const periodicAttempts = 3

func addTick(rc *river.Config, every time.Duration, args river.JobArgs) {
	rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return args, nil },
		&river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true}))
}

// Start works jobs, and rescues those of workers that are gone.
func (j *Jobs) Start(ctx context.Context) error {
	if err := j.Client.Start(ctx); err != nil {
		return err
	}
	if j.stopRescue == nil {
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		j.stopRescue = cancel
		go j.rescueLoop(rctx, j.log)
	}
	if j.stopNode == nil && j.db.SharedByNodes() {
		nctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		j.stopNode, j.nodeDone = cancel, make(chan struct{})
		go j.nodeLoop(nctx)
	}
	return nil
}

// Stop stops taking jobs at once and lets the running ones finish, bounded
// by ctx; those still running then are cancelled. Last, the node marks
// itself gone, so that the other nodes take over at once whatever it could
// not finish (and its leadership, which River resigns as it stops).
func (j *Jobs) Stop(ctx context.Context) error {
	err := j.Client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err = j.Client.StopAndCancel(cctx)
		cancel()
	}
	if j.stopRescue != nil {
		j.stopRescue()
	}
	if j.stopNode != nil {
		j.stopNode()
		<-j.nodeDone
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		if gerr := j.db.NodeGone(gctx, j.nodeID); gerr != nil && j.log != nil {
			j.log.Warn("jobs: marking this node gone", "error", gerr.Error())
		}
		cancel()
	}
	return err
}

// Chunks implements runs.Queue.
func (q *Queue) Chunks(ctx context.Context, tx *store.Tx, runID int64, chunks []int) error {
	if q.client == nil {
		return errNoClient
	}
	params := make([]river.InsertManyParams, len(chunks))
	meta := traceMetadata(ctx)
	for i, c := range chunks {
		params[i] = chunkParams(runID, c, i, meta)
	}
	err := store.InsertJobs(ctx, q.client, tx, params)
	return err
}

// Deliveries implements runs.Queue and webhook.Queue. Ids are grouped into
// jobs of up to 50 so that a 100,000-input run does not mean 100,000 jobs.
func (q *Queue) Deliveries(ctx context.Context, tx *store.Tx, ids []int64, at time.Time) error {
	if q.client == nil {
		return errNoClient
	}
	var params []river.InsertManyParams
	meta := traceMetadata(ctx)
	for start := 0; start < len(ids); start += 50 {
		end := min(start+50, len(ids))
		p := river.InsertManyParams{Args: DeliverArgs{IDs: append([]int64(nil), ids[start:end]...)}}
		if !at.IsZero() || meta != nil {
			p.InsertOpts = &river.InsertOpts{ScheduledAt: at, Metadata: meta}
		}
		params = append(params, p)
	}
	if len(params) == 0 {
		return nil
	}
	err := store.InsertJobs(ctx, q.client, tx, params)
	return err
}

// chunkParams enqueues a chunk, the pos-th of its run enqueued together.
//
// A run's first chunks go first: River works jobs by priority, then in the
// order they were enqueued, and a run's later chunks have a lower priority
// (the first 4 chunks 1, to 40 2, to 400 3, then 4). A small run submitted
// after a large one of another workspace therefore does not wait for the
// large one's backlog: its chunks are worked as soon as a worker frees up,
// and the in-flight budget shares the calls between the two (engine.Budget).
//
// meta is the job's metadata (traceMetadata; nil for none).
func chunkParams(runID int64, chunk, pos int, meta []byte) river.InsertManyParams {
	prio := 4
	switch {
	case pos < 4:
		prio = 1
	case pos < 40:
		prio = 2
	case pos < 400:
		prio = 3
	}
	return river.InsertManyParams{Args: ChunkArgs{RunID: runID, Chunk: chunk},
		InsertOpts: &river.InsertOpts{Queue: QueueRuns, MaxAttempts: 25, Priority: prio, Metadata: meta}}
}

// Retries of chunk and delivery jobs. A chunk or delivery job fails (rather
// than snoozing) for what is around it, not for its own inputs: its node
// shut down or lost its lease mid-pass (context canceled), or PostgreSQL
// restarted or was unreachable (a connection refused or ended). River's
// default backoff waits errors^4 seconds (1 s, 16 s, 81 s, 256 s, 625 s):
// in the chaos suite (a kill every 20-40 s, a PostgreSQL restart, a rolling
// restart) some chunks failed four or five times in two minutes and then
// waited 4 to 10 minutes, which left their runs RUNNING long after the
// faults (at a load of 40, some chunks failed 6 times, a takeover from a
// dead node counting as one). The first quickRetries failures are retried
// within quickRetryMax; later ones follow River's default (21^4 s, 2.3 days,
// for the 21st), so a job failing for good still backs off over days
// before its 25 attempts are used up and it is discarded.
const (
	quickRetries  = 20
	quickRetryMax = 5 * time.Second
)

// quickRetry is the chunk and delivery workers' NextRetry: errors^2 seconds
// up to quickRetryMax for the first quickRetries failures, then River's
// default (the zero time).
func quickRetry(row *rivertype.JobRow, now time.Time) time.Time {
	n := len(row.Errors) + 1 // this failure's number, as River counts it
	if n > quickRetries {
		return time.Time{}
	}
	return now.Add(min(time.Duration(n*n)*time.Second, quickRetryMax))
}

type chunkWorker struct {
	river.WorkerDefaults[ChunkArgs]
	runs    *runs.Service
	timeout time.Duration
	leases  *leases
	tracer  trace.Tracer
}

// Timeout ends a chunk's pass (its fetching, then its commit) a margin
// before its rescue.
func (w *chunkWorker) Timeout(*river.Job[ChunkArgs]) time.Duration { return w.timeout }

// NextRetry retries a failed pass soon (quickRetry).
func (w *chunkWorker) NextRetry(job *river.Job[ChunkArgs]) time.Time {
	return quickRetry(job.JobRow, time.Now())
}

func (w *chunkWorker) Work(ctx context.Context, job *river.Job[ChunkArgs]) (err error) {
	ctx, release := w.leases.hold(ctx)
	defer release()
	if w.tracer != nil {
		var span trace.Span
		ctx, span = startJobSpan(ctx, w.tracer, job.JobRow, attribute.Int64("firstmate.run_id", job.Args.RunID),
			attribute.Int("firstmate.chunk", job.Args.Chunk))
		defer func() { endJobSpan(span, err) }()
	}
	work := w.runs.WorkChunk
	if job.Queue == QueueTakenOver {
		work = w.runs.ResumeChunk // taken over from a dead node (nodes.go)
	}
	out, err := work(ctx, job.Args.RunID, job.Args.Chunk)
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
	d       *webhook.Dispatcher
	timeout time.Duration
	leases  *leases
	tracer  trace.Tracer
}

// Timeout covers a batch sent in parallel, each attempt bounded by the
// sender's own timeout.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return w.timeout }

// NextRetry retries a failed job soon (quickRetry): its callbacks' own
// retry schedule is kept by the dispatcher (it snoozes), so an error here
// is the node's or the database's, not the receiver's.
func (w *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return quickRetry(job.JobRow, time.Now())
}

// Work sends the job's deliveries. A job holding only final callbacks that
// wait for their runs' batch callbacks sleeps and runs again.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) (err error) {
	ctx, release := w.leases.hold(ctx)
	defer release()
	if w.tracer != nil {
		var span trace.Span
		ctx, span = startJobSpan(ctx, w.tracer, job.JobRow, attribute.Int("firstmate.deliveries", len(job.Args.IDs)))
		defer func() { endJobSpan(span, err) }()
	}
	wait, err := w.d.Work(ctx, job.Args.IDs)
	if err != nil {
		return err
	}
	if wait > 0 {
		return river.JobSnooze(wait)
	}
	return nil
}
