package store_test

import (
	"context"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// auth_epoch (migration 00095) moves with every change to what a key's
// principal holds, and with nothing else that the hot paths write: other
// nodes empty their principal caches when it moves.
func TestAuthEpochMovesWithPrincipalChangesOnly(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := apitest.NewStore(t, dialect).OpenDB(t)
		ctx := context.Background()
		epoch := func() int64 {
			t.Helper()
			var n int64
			if err := db.Handles().R.QueryRowContext(ctx, `SELECT n FROM auth_epoch WHERE id = 1`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Handles().Write.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		ws, _ := apitest.SeedIdentity(t, db)
		m, err := store.InsertMember(ctx, db.Handles().W, model.Member{UID: "m", WorkspaceID: ws, Email: "m@example.com", Name: "M", Role: model.RoleOps}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, uid := range []string{"k1", "k2"} {
			if _, err := store.InsertAPIKey(ctx, db.Handles().W, model.APIKey{UID: uid, WorkspaceID: ws, MemberID: m.ID, Name: uid,
				Prefix: "fm_" + uid}, "hash-"+uid); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			what  string
			q     string
			args  []any
			moves bool
		}{
			{"workspace settings", `UPDATE workspaces SET webhook_url = 'https://example.com/h' WHERE id = $1`, []any{ws}, false},
			{"an identity renamed", `UPDATE identities SET name = 'other' WHERE workspace_id = $1`, []any{ws}, false},
			{"a key revoked", `UPDATE api_keys SET revoked_at = 1 WHERE uid = 'k1'`, nil, true},
			{"a role changed", `UPDATE members SET role = 'user' WHERE id = $1`, []any{m.ID}, true},
			{"a plan changed", `UPDATE workspaces SET plan = 'other' WHERE id = $1`, []any{ws}, true},
			{"a workspace renamed", `UPDATE workspaces SET name = 'renamed' WHERE id = $1`, []any{ws}, true},
			{"a key deleted", `DELETE FROM api_keys WHERE uid = 'k2'`, nil, true},
			{"a member removed", `DELETE FROM members WHERE id = $1`, []any{m.ID}, true},
			{"a workspace deleted", `DELETE FROM workspaces WHERE id = $1`, []any{ws}, true},
		}
		for _, s := range steps {
			before := epoch()
			exec(s.q, s.args...)
			if moved := epoch() != before; moved != s.moves {
				t.Errorf("%s: auth_epoch moved = %v, want %v", s.what, moved, s.moves)
			}
		}
	})
}
