package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/jobs"
)

// TestPeriodicJobOfDeadNodeRunsAgain (issue 19 item 2): a leader-only
// periodic job (the health tick, rentals' expiry, the prunes) that was
// running on a node killed with SIGKILL is worked again by a live node once
// the dead node's jobs are taken over, not discarded until its next period
// (an hour for the Smart Limit prune). Each such job is an idempotent
// sweep, so running it again is safe. The jobs are put in the running
// state by a node that is dead, as a kill -9 leaves them.
func TestPeriodicJobOfDeadNodeRunsAgain(t *testing.T) {
	if err := apitest.PostgresAvailable(); err != nil {
		apitest.Dialects(t) // FIRSTMATE_REQUIRE_POSTGRES: fail without PostgreSQL
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	st := apitest.NewStore(t, "postgres")
	cfg := st.Config()
	cfg.Jobs.NodeDeadAfter = 2 * time.Second
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	drv := riverdatabasesql.NewWithPgxListener(a.DB.Handles().Write, a.DB.Pool)
	exec := drv.GetExecutor()

	// The dead node: one heartbeat, then silence.
	const dead = "dead-node/1/deadbeef"
	if err := a.DB.NodeHeartbeat(ctx, dead, "dead-host", "test"); err != nil {
		t.Fatal(err)
	}
	// Started a little before the node died (River's own rescuer, for
	// jobs stuck far longer, is not what is tested).
	started := time.Now().Add(-2 * time.Second)
	var ids []int64
	for _, args := range []river.JobArgs{jobs.HealthTickArgs{}, jobs.RentalExpiryArgs{}, jobs.LimitPruneArgs{}, jobs.StagedSweepArgs{}} {
		res, err := a.Jobs.Client.Insert(ctx, args, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := exec.JobUpdateFull(ctx, &riverdriver.JobUpdateFullParams{ID: res.Job.ID,
			StateDoUpdate: true, State: rivertype.JobStateRunning, AttemptedAtDoUpdate: true, AttemptedAt: &started,
			AttemptDoUpdate: true, Attempt: 1, AttemptedByDoUpdate: true, AttemptedBy: []string{dead}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Job.ID)
	}
	if err := a.Jobs.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_ = a.Jobs.Stop(sctx)
	}()
	// Wait (bounded, not timed) until none of them is the dead node's any
	// more; then each must have run again, not been discarded.
	byDead := func(j *rivertype.JobRow) bool {
		return j.State == rivertype.JobStateRunning && len(j.AttemptedBy) > 0 && j.AttemptedBy[len(j.AttemptedBy)-1] == dead
	}
	for end := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		left := 0
		for _, id := range ids {
			j, err := exec.JobGetByID(ctx, &riverdriver.JobGetByIDParams{ID: id})
			if err != nil {
				t.Fatal(err)
			}
			if byDead(j) || j.State == rivertype.JobStateAvailable || j.State == rivertype.JobStateRunning || j.State == rivertype.JobStateRetryable {
				left++
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d of the dead node's periodic jobs neither discarded nor run again after 90 s", left)
		}
	}
	for _, id := range ids {
		j, err := exec.JobGetByID(ctx, &riverdriver.JobGetByIDParams{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if j.State != rivertype.JobStateCompleted || j.Attempt < 2 {
			t.Errorf("the dead node's %s job: %s after %d attempts (errors %v), want completed on a second attempt", j.Kind, j.State, j.Attempt, j.Errors)
		}
	}
}
