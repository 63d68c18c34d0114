package jobs_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/jobs"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// TestRescueStuck: the chunk and delivery jobs of a worker that is gone
// (left running by a kill -9) go back to work once DefaultRescueAfter has
// passed since they started, and not before: until then their worker may
// still be working them. A job that used its last attempt is discarded;
// other kinds (a health check, whose timeout is longer) are left to River's
// own rescuer.
func TestRescueStuck(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		st := apitest.NewStore(t, dialect)
		ctx := context.Background()
		a, err := app.Open(ctx, st.Config(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() }) // River is never started: the test moves the jobs itself
		var drv riverdriver.Driver[*sql.Tx]
		if a.DB.Dialect == store.Postgres {
			drv = riverdatabasesql.NewWithPgxListener(a.DB.Handles().Write, a.DB.Pool)
		} else {
			drv = riversqlite.New(a.DB.Handles().Write)
		}
		exec := drv.GetExecutor()
		now := time.Now()
		after := jobs.DefaultRescueAfter
		stuck := func(args river.JobArgs, started time.Time, attempt int) int64 {
			t.Helper()
			res, err := a.Jobs.Client.Insert(ctx, args, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := exec.JobUpdateFull(ctx, &riverdriver.JobUpdateFullParams{ID: res.Job.ID,
				StateDoUpdate: true, State: rivertype.JobStateRunning, AttemptedAtDoUpdate: true, AttemptedAt: &started,
				AttemptDoUpdate: true, Attempt: attempt, AttemptedByDoUpdate: true, AttemptedBy: []string{"a-dead-worker"}}); err != nil {
				t.Fatal(err)
			}
			return res.Job.ID
		}
		chunkOld := stuck(jobs.ChunkArgs{RunID: 1, Chunk: 0}, now.Add(-after-time.Second), 1)
		chunkYoung := stuck(jobs.ChunkArgs{RunID: 1, Chunk: 1}, now.Add(-after+5*time.Second), 1)
		deliverOld := stuck(jobs.DeliverArgs{IDs: []int64{1, 2}}, now.Add(-after-time.Second), 2)
		chunkSpent := stuck(jobs.ChunkArgs{RunID: 1, Chunk: 2}, now.Add(-after-time.Second), 25) // MaxAttempts 25
		health := stuck(jobs.HealthCheckArgs{IntegrationID: 1}, now.Add(-after-time.Second), 1)

		n, err := a.Jobs.RescueStuck(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("rescued %d jobs, want 3", n)
		}
		for id, want := range map[int64]rivertype.JobState{chunkOld: rivertype.JobStateAvailable,
			chunkYoung: rivertype.JobStateRunning, deliverOld: rivertype.JobStateAvailable,
			chunkSpent: rivertype.JobStateDiscarded, health: rivertype.JobStateRunning} {
			j, err := exec.JobGetByID(ctx, &riverdriver.JobGetByIDParams{ID: id})
			if err != nil {
				t.Fatal(err)
			}
			if j.State != want {
				t.Errorf("job %d (%s, attempted %s ago): %s, want %s", id, j.Kind, time.Since(*j.AttemptedAt).Round(time.Second),
					j.State, want)
			}
			if want == rivertype.JobStateAvailable && (j.ScheduledAt.After(time.Now()) || len(j.Errors) != 1) {
				t.Errorf("rescued job %d: scheduled at %s, errors %v", id, j.ScheduledAt, j.Errors)
			}
		}
		if n, err := a.Jobs.RescueStuck(ctx); err != nil || n != 0 {
			t.Errorf("a second sweep rescued %d (%v), want 0", n, err)
		}
	})
}
