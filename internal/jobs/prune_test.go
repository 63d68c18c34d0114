package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/jobs"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// The pruning job runs when the jobs start (and every LimitPruneTick after):
// events older than every window written before a start are gone soon
// after it, and a recent one stays.
func TestLimitPruneRunsOnStart(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		st := apitest.NewStore(t, dialect)
		db := st.OpenDB(t)
		ctx := context.Background()
		_, identityID := apitest.SeedIdentity(t, db)
		now := time.Now()
		for _, at := range []time.Time{now.Add(-90 * smartlimits.Day), now.Add(-45 * smartlimits.Day), now.Add(-time.Hour)} {
			if _, err := db.Handles().Write.ExecContext(ctx, `INSERT INTO limit_events (identity_id, key, n, at) VALUES ($1, $2, 1, $3)`,
				identityID, smartlimits.Messages, store.Millis(at)); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()

		env := apitest.StartOn(t, st)
		deadline := time.Now().Add(20 * time.Second)
		for {
			var left, recent int
			if err := env.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN at > $1 THEN 1 ELSE 0 END), 0)
				FROM limit_events`, store.Millis(now.Add(-smartlimits.Day))).Scan(&left, &recent); err != nil {
				t.Fatal(err)
			}
			if recent != 1 {
				t.Fatalf("the recent event is gone (%d left)", left)
			}
			if left == 1 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d events left 20 s after the jobs started, want 1", left)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// A submission cut short by a crash leaves a staged run and part of its
// inputs; once the jobs start they are deleted if idle for long, and a
// staged run still being written is left alone.
func TestStagedSweepRunsOnStart(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		st := apitest.NewStore(t, dialect)
		db := st.OpenDB(t)
		ctx := context.Background()
		ws, _ := apitest.SeedIdentity(t, db)
		var ids []int64
		for _, uid := range []string{"crashed", "in-progress"} {
			id, err := store.InsertStagedRun(ctx, db.Handles().W, store.NewRun{Run: model.Run{UID: uid, WorkspaceID: ws, MemberUID: "m",
				ActionName: "x", ExecutionMode: "ASYNC", IdentityMode: "direct"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.StageInputs(ctx, id, []store.NewInput{{Idx: 0, Input: `{}`}, {Idx: 1, Input: `{}`}}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if _, err := db.Handles().Write.ExecContext(ctx, `UPDATE runs SET updated_at = $2 WHERE id = $1`, ids[0],
			store.Millis(time.Now().Add(-2*jobs.StagedIdle))); err != nil {
			t.Fatal(err)
		}
		db.Close()

		env := apitest.StartOn(t, st)
		deadline := time.Now().Add(20 * time.Second)
		for {
			var crashed, kept int
			if err := env.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT
					COALESCE(SUM(CASE WHEN run_id = $1 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN run_id = $2 THEN 1 ELSE 0 END), 0)
				FROM run_inputs`, ids[0], ids[1]).Scan(&crashed, &kept); err != nil {
				t.Fatal(err)
			}
			if kept != 2 {
				t.Fatalf("the staged run being written lost inputs: %d left", kept)
			}
			if crashed == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d inputs of the crashed submission left 20 s after the jobs started", crashed)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
