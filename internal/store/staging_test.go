package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

func stagedRun(t *testing.T, db *store.Store, ws int64, uid string, inputs int) int64 {
	t.Helper()
	ctx := context.Background()
	id, err := store.InsertStagedRun(ctx, db.Handles().W, store.NewRun{Run: model.Run{UID: uid, WorkspaceID: ws, MemberUID: "m",
		ActionName: "x", ExecutionMode: "ASYNC", Status: model.RunQueued, IdentityMode: "direct"}, IdempotencyKey: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	var in []store.NewInput
	for i := range inputs {
		in = append(in, store.NewInput{Idx: i, Chunk: i / 25, Input: fmt.Sprintf(`{"i":%d}`, i)})
		if len(in) == 700 || i == inputs-1 {
			if err := db.StageInputs(ctx, id, in); err != nil {
				t.Fatal(err)
			}
			in = in[:0]
		}
	}
	return id
}

func count(t *testing.T, db *store.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Handles().Write.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A staged run is invisible to every reader of runs until it is published,
// and then appears with its inputs and the fields given at publication.
func TestStagedRunHiddenUntilPublished(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := apitest.NewStore(t, dialect).OpenDB(t)
		ctx := context.Background()
		ws, _ := apitest.SeedIdentity(t, db)
		id := stagedRun(t, db, ws, "staged-1", 2000)
		if rs, err := store.ListRuns(ctx, db.Handles().R, ws, store.RunFilter{Limit: 10}); err != nil || len(rs) != 0 {
			t.Fatalf("a staged run listed: %v %v", rs, err)
		}
		if _, err := store.GetRun(ctx, db.Handles().R, ws, "staged-1"); err != store.ErrNotFound {
			t.Fatalf("a staged run found by uid: %v", err)
		}
		if _, err := store.GetRunByID(ctx, db.Handles().R, id); err != store.ErrNotFound {
			t.Fatalf("a staged run found by id: %v", err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM run_inputs WHERE run_id = $1`, id); got != 2000 {
			t.Fatalf("%d staged inputs, want 2000", got)
		}
		pub := store.NewRun{Run: model.Run{IdentityMode: "auto", IdentityUIDs: []string{"i"}, Parameters: `{"p":1}`,
			CallbackURL: "https://x.test/cb", CallbackOn: "final"}, IdempotencyKey: "key-1", RequestHash: "fingerprint-1"}
		var ok bool
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			ok, err = store.PublishStagedRun(ctx, tx, id, pub, 2000, 80)
			return err
		}); err != nil || !ok {
			t.Fatalf("publish: %v %v", ok, err)
		}
		r, hash, err := store.GetRunByIdempotencyKey(ctx, db.Handles().R, ws, "key-1")
		if err != nil {
			t.Fatal(err)
		}
		if hash != "fingerprint-1" {
			t.Errorf("request hash %q after publishing, want the submission's", hash)
		}
		if r.ID != id || r.Status != model.RunQueued || r.InputCount != 2000 || r.CallbackURL != "https://x.test/cb" ||
			r.CallbackOn != "final" || r.IdentityMode != "auto" || r.Parameters != `{"p":1}` {
			t.Fatalf("published run %+v", r)
		}
		if got := count(t, db, `SELECT pending_count FROM runs WHERE id = $1`, id); got != 2000 {
			t.Errorf("pending_count %d", got)
		}
		// Published once only; a published run is not discarded.
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			ok, err = store.PublishStagedRun(ctx, tx, id, pub, 2000, 80)
			return err
		}); err != nil || ok {
			t.Fatalf("published twice: %v %v", ok, err)
		}
		if err := db.DiscardStagedRun(ctx, id); err != nil {
			t.Fatal(err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM run_inputs WHERE run_id = $1`, id); got != 2000 {
			t.Fatalf("discarding a published run deleted its inputs: %d left", got)
		}
	})
}

// A discarded staged run goes with all its inputs, and can no longer be
// published; the sweep discards the staged runs idle for long, and only
// those.
func TestStagedRunDiscardAndSweep(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := apitest.NewStore(t, dialect).OpenDB(t)
		ctx := context.Background()
		ws, _ := apitest.SeedIdentity(t, db)
		gone := stagedRun(t, db, ws, "gone", 4500)
		if err := db.DiscardStagedRun(ctx, gone); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM run_inputs WHERE run_id = $1`, gone) + count(t, db, `SELECT COUNT(*) FROM runs WHERE id = $1`, gone); n != 0 {
			t.Fatalf("%d rows left after a discard", n)
		}
		var ok bool
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			ok, err = store.PublishStagedRun(ctx, tx, gone, store.NewRun{}, 4500, 180)
			return err
		}); err != nil || ok {
			t.Fatalf("a discarded run published: %v %v", ok, err)
		}

		old := stagedRun(t, db, ws, "old", 10)
		half := stagedRun(t, db, ws, "half-discarded", 10)
		recent := stagedRun(t, db, ws, "recent", 10)
		// "old" was last written to two hours ago; a discard of "half" was
		// cut short after its first step.
		if _, err := db.Handles().Write.ExecContext(ctx, `UPDATE runs SET updated_at = $2 WHERE id = $1`, old, store.Now()-2*3600_000); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Handles().Write.ExecContext(ctx, `UPDATE runs SET status = 'DISCARDED', updated_at = $2 WHERE id = $1`, half, store.Now()-2*3600_000); err != nil {
			t.Fatal(err)
		}
		n, err := db.SweepStagedRuns(ctx, store.Now()-3600_000)
		if err != nil || n != 2 {
			t.Fatalf("swept %d: %v", n, err)
		}
		for id, want := range map[int64]int{old: 0, half: 0, recent: 10} {
			if got := count(t, db, `SELECT COUNT(*) FROM run_inputs WHERE run_id = $1`, id); got != want {
				t.Errorf("run %d: %d inputs after the sweep, want %d", id, got, want)
			}
		}
	})
}
