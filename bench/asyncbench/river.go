package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/firstmate-oss/firstmate/bench/internal/benchkit"
	"github.com/firstmate-oss/firstmate/internal/jobs"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// noopArgs is a job that does nothing: River's own ceiling on a database.
type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string { return "bench_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// rawResult is one raw River measurement.
type rawResult struct {
	driver string
	jobs   int
	insert time.Duration // InsertManyFast of every job, before the client starts
	work   time.Duration // client start to the last job completed
	err    error
}

func (r rawResult) perSec() float64 {
	if r.work <= 0 {
		return 0
	}
	return float64(r.jobs) / r.work.Seconds()
}

// rawRiver measures River alone on db, with Firstmate's own store settings
// (store.Open: on SQLite WAL, synchronous NORMAL, busy_timeout and the one
// writer connection River uses; on PostgreSQL the same pool) and its job
// settings (internal/jobs: 32 workers in the queue, fetch cooldown 10 ms,
// poll interval 100 ms on SQLite and 200 ms on PostgreSQL).
func rawRiver(ctx context.Context, o options, tmp, db string) []rawResult {
	var dbURL string
	dataDir := filepath.Join(tmp, db+"-river")
	if db == "postgres" {
		u, drop, err := benchkit.PostgresSchema(ctx, o.postgresURL, "asyncbench_river")
		if err != nil {
			return []rawResult{{driver: db, err: err}}
		}
		defer drop()
		dbURL = u
	}
	st, err := store.Open(ctx, dbURL, dataDir)
	if err != nil {
		return []rawResult{{driver: db, err: err}}
	}
	defer st.Close()
	if err := jobs.Migrate(ctx, st); err != nil {
		return []rawResult{{driver: db, err: err}}
	}
	if db == "sqlite" {
		return []rawResult{measureRiver(ctx, "riversqlite (the writer connection)", riversqlite.New(st.Handles().Write), o.rawJobs,
			100*time.Millisecond, o.rawCooldown, func(ctx context.Context) error { return truncate(ctx, st.Handles().Write) })}
	}
	var out []rawResult
	out = append(out, measureRiver(ctx, "riverdatabasesql + pgx listener (as Firstmate)",
		riverdatabasesql.NewWithPgxListener(st.Handles().Write, st.Pool), o.rawJobs, 200*time.Millisecond, o.rawCooldown,
		func(ctx context.Context) error { return truncate(ctx, st.Handles().Write) }))
	out = append(out, measureRiver[pgx.Tx](ctx, "riverpgxv5", riverpgxv5.New(st.Pool), o.rawJobs, 200*time.Millisecond, o.rawCooldown,
		func(ctx context.Context) error { return truncate(ctx, st.Handles().Write) }))
	return out
}

func truncate(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `DELETE FROM river_job`)
	return err
}

func measureRiver[TTx any](ctx context.Context, name string, drv riverdriver.Driver[TTx], n int, poll, cooldown time.Duration,
	clean func(context.Context) error) rawResult {
	res := rawResult{driver: name, jobs: n}
	res.err = func() error {
		if err := clean(ctx); err != nil {
			return err
		}
		workers := river.NewWorkers()
		river.AddWorker(workers, noopWorker{})
		c, err := river.NewClient(drv, &river.Config{
			Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 32}},
			Workers:           workers,
			Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
			FetchCooldown:     cooldown,
			FetchPollInterval: poll,
			JobTimeout:        time.Minute,
		})
		if err != nil {
			return err
		}
		events, cancel := c.SubscribeConfig(&river.SubscribeConfig{ChanSize: n + 1000,
			Kinds: []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed}})
		defer cancel()
		benchkit.Logf("raw River, %s: inserting %d no-op jobs (InsertManyFast, 1,000 a call)", name, n)
		t0 := time.Now()
		for start := 0; start < n; start += 1000 {
			params := make([]river.InsertManyParams, 0, 1000)
			for i := start; i < min(start+1000, n); i++ {
				params = append(params, river.InsertManyParams{Args: noopArgs{N: i}})
			}
			if _, err := c.InsertManyFast(ctx, params); err != nil {
				return fmt.Errorf("insert: %w", err)
			}
		}
		res.insert = time.Since(t0)
		t1 := time.Now()
		if err := c.Start(ctx); err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = c.Stop(sctx)
		}()
		timeout := time.After(5 * time.Minute)
		for done := 0; done < n; {
			select {
			case ev := <-events:
				if ev.Kind != river.EventKindJobCompleted {
					return fmt.Errorf("job %d: %s", ev.Job.ID, ev.Kind)
				}
				done++
			case <-timeout:
				return fmt.Errorf("only %d of %d jobs completed in 5 min", done, n)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		res.work = time.Since(t1)
		benchkit.Logf("raw River, %s: %d jobs worked in %v (%.0f jobs/s)", name, n, res.work.Round(time.Millisecond), res.perSec())
		return nil
	}()
	return res
}
