package store_test

import (
	"context"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Deleting a workspace deletes its runs, and only its runs. On PostgreSQL
// runs have no foreign key to their workspace (migration 00079): a trigger
// on workspaces does the cascade.
func TestDeletingAWorkspaceDeletesItsRuns(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := apitest.NewStore(t, dialect).OpenDB(t)
		ctx := context.Background()
		var ws [2]int64
		for i, uid := range []string{"gone", "kept"} {
			id, err := store.InsertWorkspace(ctx, db.Handles().W, store.NewWorkspace{UID: uid, Name: uid, Plan: "p", SecretKID: "k", Secret: []byte("x")})
			if err != nil {
				t.Fatal(err)
			}
			ws[i] = id
			for _, r := range []string{uid + "-1", uid + "-2"} {
				if _, err := store.InsertRun(ctx, db.Handles().W, store.NewRun{Run: model.Run{UID: r, WorkspaceID: id, MemberUID: "m",
					ActionName: "x", ExecutionMode: "LIVE", Status: model.RunSucceeded, IdentityMode: "direct"}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := db.Handles().Write.ExecContext(ctx, `DELETE FROM workspaces WHERE id = $1`, ws[0]); err != nil {
			t.Fatal(err)
		}
		for i, want := range []int{0, 2} {
			var n int
			if err := db.Handles().R.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs WHERE workspace_id = $1`, ws[i]).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Fatalf("workspace %d: %d runs after deleting the first, want %d", i, n, want)
			}
		}
	})
}
