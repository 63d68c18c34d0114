package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Every call reads its API key's principal and its accounts through a read
// cache. A change made through this node is seen by the very next call; one
// made behind its back (another node, a CLI on the same file) within
// store.ReadCacheTTL.
func TestReadCacheNeverServesStaleWrites(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := lvStart(t, dialect, nil)
		owner := env.NewWorkspace("Cache", "unlimited")
		const slug = "linkedin-extract-people"

		// A revoked key fails on the next call.
		k := env.Must(201, "POST", "/v4/api-keys", owner, map[string]any{"name": "spare"}).Obj()
		spare := k["key"].(string)
		env.Must(200, "GET", "/v4/workspaces", spare, nil)
		env.Must(200, "GET", "/v4/workspaces", spare, nil) // now cached
		env.Must(200, "DELETE", "/v4/api-keys/"+k["uid"].(string), owner, nil)
		if r := env.Do("GET", "/v4/workspaces", spare, nil); r.Status != 401 {
			t.Fatalf("revoked key right after revocation: %d %s", r.Status, r.Body)
		}

		// A removed integration stops running calls at once.
		uid := lvIdentity(t, env, owner, "Cached", "sim_salesnav")
		for i := range 2 {
			if r := lvLive(env, owner, slug, lvPeopleBody(uid, "cache-"+string(rune('a'+i))), ""); r.Status != 200 {
				t.Fatalf("live call %d: %d %s", i, r.Status, r.Body)
			}
		}
		env.Must(200, "DELETE", "/v4/identities/"+uid+"/integrations/linkedin", owner, nil)
		if r := lvLive(env, owner, slug, lvPeopleBody(uid, "cache-after-delete"), ""); r.Status == 200 ||
			r.Label() != "NO_VALID_ACCOUNT_CONFIGURED" {
			t.Fatalf("live call after the integration was deleted: %d %s", r.Status, r.Body)
		}

		// Revoked behind the store's back: served at most ReadCacheTTL more.
		k = env.Must(201, "POST", "/v4/api-keys", owner, map[string]any{"name": "other-node"}).Obj()
		other := k["key"].(string)
		env.Must(200, "GET", "/v4/workspaces", other, nil)
		if _, err := env.App.DB.Handles().Write.ExecContext(context.Background(), `UPDATE api_keys SET revoked_at = $1 WHERE uid = $2`,
			store.Now(), k["uid"]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(store.ReadCacheTTL + 50*time.Millisecond)
		if r := env.Do("GET", "/v4/workspaces", other, nil); r.Status != 401 {
			t.Fatalf("key revoked by another writer, after the cache TTL: %d %s", r.Status, r.Body)
		}
	})
}
