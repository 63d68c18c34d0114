package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// authChanger makes a change to what a key's principal holds somewhere
// other than node A: on PostgreSQL through node B's API (another Firstmate
// on the same database), on SQLite through another handle on the same file
// (the CLI's way of writing).
type authChanger struct {
	revokeKey  func(keyUID string)
	demote     func(memberUID string)
	removeUser func(memberUID string)
}

func otherNode(t *testing.T, st apitest.Store, owner string) authChanger {
	if st.Dialect == store.Postgres {
		b := apitest.StartOn(t, st)
		return authChanger{
			revokeKey:  func(uid string) { b.Must(200, "DELETE", "/v4/api-keys/"+uid, owner, nil) },
			demote:     func(uid string) { b.Must(200, "PATCH", "/v4/members/"+uid, owner, map[string]any{"role": "user"}) },
			removeUser: func(uid string) { b.Must(200, "DELETE", "/v4/members/"+uid, owner, nil) },
		}
	}
	db := st.OpenDB(t)
	exec := func(q string, args ...any) {
		t.Helper()
		if err := db.Tx(context.Background(), func(tx *store.Tx) error {
			_, err := db.Handles().Tx(tx).ExecContext(context.Background(), q, args...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return authChanger{
		revokeKey:  func(uid string) { exec(`UPDATE api_keys SET revoked_at = $1 WHERE uid = $2`, store.Now(), uid) },
		demote:     func(uid string) { exec(`UPDATE members SET role = 'user' WHERE uid = $1`, uid) },
		removeUser: func(uid string) { exec(`DELETE FROM members WHERE uid = $1`, uid) },
	}
}

// refusedEventually calls path on node A with key, one call after another,
// from before the change (made by change, which returns once it is
// committed) until it has been refused with want and ReadCacheTTL has
// passed since the change, or 15 s. It checks that:
//   - A refuses eventually (polling, no timing assumed);
//   - once refused, never served again;
//   - no call that started ReadCacheTTL or more after the change was
//     committed is served: the cache never serves a revoked or demoted key
//     beyond that bound. (A call starting that late must find the cache
//     stale or already emptied, whatever the machine's speed.)
func refusedEventually(t *testing.T, a *apitest.Env, key, path string, want int, change func()) {
	t.Helper()
	a.Must(200, "GET", path, key, nil)
	a.Must(200, "GET", path, key, nil) // cached now
	change()
	committed := time.Now()
	refused := false
	calls := 0
	for deadline := committed.Add(15 * time.Second); time.Now().Before(deadline); {
		start := time.Now()
		r := a.Do("GET", path, key, nil)
		calls++
		switch {
		case r.Status == want:
			refused = true
		case r.Status == 200 && refused:
			t.Fatalf("%s: served again after a refusal (call %d, %v after the change)", path, calls, start.Sub(committed))
		case r.Status == 200 && start.Sub(committed) >= store.ReadCacheTTL:
			t.Fatalf("%s: still served %v after the change was committed elsewhere (bound %v)", path,
				start.Sub(committed), store.ReadCacheTTL)
		case r.Status != 200:
			t.Fatalf("%s: %d %s, want 200 or %d", path, r.Status, r.Body, want)
		}
		if refused && time.Since(committed) > store.ReadCacheTTL+200*time.Millisecond {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !refused {
		t.Fatalf("%s: never refused in 15 s after the change on another node", path)
	}
}

// TestAuthChangesReachEveryNode: a key revoked, a member demoted, a member
// removed on node B (PostgreSQL) or by another writer of the SQLite file
// is refused on node A, whose principal cache held the key, within
// store.ReadCacheTTL; never served after that.
func TestAuthChangesReachEveryNode(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		st := apitest.NewStore(t, dialect)
		a := apitest.StartOn(t, st)
		owner := a.NewWorkspace("Two nodes", "unlimited")
		b := otherNode(t, st, owner)

		spare := a.Must(201, "POST", "/v4/api-keys", owner, map[string]any{"name": "spare"}).Obj()
		refusedEventually(t, a, spare["key"].(string), "/v4/workspaces", 401,
			func() { b.revokeKey(spare["uid"].(string)) })

		ops := addMember(t, a, owner, "ops@example.com", "ops")
		refusedEventually(t, a, ops.Key, "/v4/workspaces/settings", 403, func() { b.demote(ops.UID) })
		// Demoted, not revoked: the key still reads.
		a.Must(200, "GET", "/v4/workspaces", ops.Key, nil)

		gone := addMember(t, a, owner, "gone@example.com", "ops")
		refusedEventually(t, a, gone.Key, "/v4/workspaces", 401, func() { b.removeUser(gone.UID) })

		// The owner's key, untouched by all this, still works on A.
		a.Must(200, "GET", "/v4/workspaces/settings", owner, nil)
	})
}

// TestAuthChangesOnThisNodeAreImmediate: a demotion and a removal made
// through a node are refused by that node on the very next call (the
// principal cache is not emptied by every write any more, so the services
// that change roles and members empty it themselves).
func TestAuthChangesOnThisNodeAreImmediate(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		owner := env.NewWorkspace("One node", "unlimited")
		ops := addMember(t, env, owner, "ops@example.com", "ops")
		env.Must(200, "GET", "/v4/workspaces/settings", ops.Key, nil)
		env.Must(200, "GET", "/v4/workspaces/settings", ops.Key, nil) // cached
		env.Must(200, "PATCH", "/v4/members/"+ops.UID, owner, map[string]any{"role": "user"})
		if r := env.Do("GET", "/v4/workspaces/settings", ops.Key, nil); r.Status != 403 {
			t.Fatalf("demoted on this node, next call: %d %s", r.Status, r.Body)
		}
		env.Must(200, "GET", "/v4/workspaces", ops.Key, nil)
		env.Must(200, "DELETE", "/v4/members/"+ops.UID, owner, nil)
		if r := env.Do("GET", "/v4/workspaces", ops.Key, nil); r.Status != 401 {
			t.Fatalf("removed on this node, next call: %d %s", r.Status, r.Body)
		}
	})
}
