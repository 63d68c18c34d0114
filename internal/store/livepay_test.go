package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// PayAndRecord writes the moves and the runs (with their charges) of a batch together, or,
// when one balance cannot take its move, none of them: not even the other
// workspace's move that could.
func TestPayAndRecordAllOrNothing(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		if dialect != store.Postgres {
			t.Skip("PayAndRecord is PostgreSQL's")
		}
		testPayAndRecord(t, apitest.NewStore(t, dialect).OpenDB(t))
	})
}

func testPayAndRecord(t *testing.T, db *store.Store) {
	ctx := context.Background()
	const period = 1_800_000_000_000
	var ws [2]int64
	for i, uid := range []string{"a", "b"} {
		id, err := store.InsertWorkspace(ctx, db.Handles().W, store.NewWorkspace{UID: uid, Name: uid, Plan: "p", SecretKID: "k", Secret: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		ws[i] = id
		if _, err := db.Handles().Write.ExecContext(ctx, `INSERT INTO credit_balances (workspace_id, period_start, used) VALUES ($1, $2, 0)`, id, period); err != nil {
			t.Fatal(err)
		}
	}
	finished := time.Now()
	run := func(uid string, w, amount int64) model.Run {
		return model.Run{UID: uid, WorkspaceID: w, MemberUID: "m", ActionName: "x", ExecutionMode: "LIVE", Status: model.RunSucceeded,
			IdentityMode: "direct", InputCount: 1, OutputCount: 2, CreditsUsed: amount, ChargePeriod: period,
			StartedAt: &finished, FinishedAt: &finished}
	}
	batch := func(amountB int64, uids ...string) ([]int64, error) {
		moves := []store.BalanceMove{{WorkspaceID: ws[0], Period: period, Amount: 2000, Cap: 5000},
			{WorkspaceID: ws[1], Period: period, Amount: amountB, Cap: 5000}}
		return store.PayAndRecord(ctx, db, moves, []model.Run{run(uids[0], ws[0], 2000), run(uids[1], ws[1], amountB)})
	}
	count := func(q string) (n int) {
		if err := db.Handles().R.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	used, err := batch(3000, "r1", "r2")
	if err != nil || len(used) != 2 || used[0] != 2000 || used[1] != 3000 {
		t.Fatalf("first batch: used %v, %v", used, err)
	}
	if r, err := store.GetRun(ctx, db.Handles().R, ws[1], "r2"); err != nil || r.OutputCount != 2 || r.CreditsUsed != 3000 || r.FinishedAt == nil {
		t.Fatalf("run r2: %+v, %v", r, err)
	}
	if n := count(`SELECT COUNT(*) FROM runs WHERE charge_period = 1800000000000`); n != 2 {
		t.Fatalf("%d runs carry the period of their charge, want 2", n)
	}
	// Workspace b has 2,000 left: a move of 2,500 fails the whole batch.
	if _, err := batch(2500, "r3", "r4"); !errors.Is(err, store.ErrShort) {
		t.Fatalf("short batch: %v, want ErrShort", err)
	}
	if n := count(`SELECT COUNT(*) FROM runs`); n != 2 {
		t.Fatalf("%d runs after the short batch, want 2", n)
	}
	if n := count(`SELECT SUM(used) FROM credit_balances`); n != 5000 {
		t.Fatalf("balances use %d after the short batch, want 5000", n)
	}
	// A workspace with no balance row this period is short too.
	if _, err := db.Handles().Write.ExecContext(ctx, `DELETE FROM credit_balances WHERE workspace_id = $1`, ws[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := batch(1000, "r5", "r6"); !errors.Is(err, store.ErrShort) {
		t.Fatalf("batch without a balance row: %v, want ErrShort", err)
	}
}
