package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// freePool lists the pool accounts managed mode may use now, by identity uid.
func freePool(t *testing.T, env *apitest.Env) map[string]bool {
	t.Helper()
	accs, err := store.Accounts(context.Background(), env.App.DB.Handles().R, store.AccountQuery{Pool: true, Platforms: []string{"linkedin"}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, a := range accs {
		out[a.Identity.UID] = true
	}
	return out
}

func rentedPoolUID(t *testing.T, env *apitest.Env, rentalUID string) string {
	t.Helper()
	var uid string
	if err := env.App.DB.Handles().R.QueryRowContext(context.Background(), `SELECT i.uid FROM rentals r JOIN identities i ON i.id = r.pool_identity_id
		WHERE r.uid = $1`, rentalUID).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	return uid
}

// TestRentals: renting a pool account (issue 5 §6) gives the identity a
// SHARED integration that runs live actions with the pool account, takes the
// account out of managed mode and of other rentals, answers 409 once the
// pool is exhausted, is owner-only and tenant-isolated, and ends at expiry
// (injected time): the integration is deleted with a DELETED webhook and the
// account is back in the managed rotation.
func TestRentals(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := lvStart(t, dialect, nil)
		ctx := context.Background()
		owner := env.NewWorkspace("Renters", "unlimited")
		env.Must(200, "PUT", "/v4/workspaces/settings", owner, map[string]any{"webhook_url": "https://hooks.example.com/rent"})
		pool := freePool(t, env)
		if len(pool) < 2 {
			t.Fatalf("the managed pool has %d linkedin accounts, want at least 2", len(pool))
		}
		renter := lvIdentity(t, env, owner, "Renter One", "")

		// Owners only; tenant isolation.
		ops := addMember(t, env, owner, "ops@renters.test", "ops")
		checkError(t, env, "ops rents", env.Do("POST", "/v4/identities/"+renter+"/rent", ops.Key, map[string]any{"days": 30}), 403, "FORBIDDEN")
		other := env.NewWorkspace("Elsewhere Renters", "unlimited")
		checkError(t, env, "another workspace rents for my identity",
			env.Do("POST", "/v4/identities/"+renter+"/rent", other, map[string]any{"days": 30}), 404, "NOT_FOUND")
		checkError(t, env, "bad days", env.Do("POST", "/v4/identities/"+renter+"/rent", owner, map[string]any{"days": 0}), 400, "")
		checkError(t, env, "bad platform", env.Do("POST", "/v4/identities/"+renter+"/rent", owner,
			map[string]any{"days": 3, "platform": "hubspot"}), 400, "")

		rent := env.Must(201, "POST", "/v4/identities/"+renter+"/rent", owner, map[string]any{"platform": "linkedin", "days": 30}).Obj()
		g, _ := rent["integration"].(map[string]any)
		if g["setup_source"] != "SHARED" || g["is_shared"] != true || g["status"] != "VALID" || rent["identity_uid"] != renter {
			t.Fatalf("rental: %v", rent)
		}
		rented := rentedPoolUID(t, env, rent["uid"].(string))
		if free := freePool(t, env); free[rented] || len(free) != len(pool)-1 {
			t.Fatalf("the rented pool account %s is still free for managed mode (%d free of %d)", rented, len(free), len(pool))
		}
		checkError(t, env, "rent twice for one identity",
			env.Do("POST", "/v4/identities/"+renter+"/rent", owner, map[string]any{"days": 30}), 409, "CONFLICT")

		// The copy is sealed for the renter's integration uid and opens to
		// the pool account's cookie; the identity runs live actions with it.
		renterG, err := env.App.Identities.Integration(ctx, principal(t, env, owner).WorkspaceID, renter, "linkedin")
		if err != nil {
			t.Fatal(err)
		}
		cred, err := env.App.Identities.OpenCredentials(renterG)
		if err != nil || !strings.HasPrefix(cred.Cookies["li_at"], "sim_managed") {
			t.Fatalf("rented credentials: %v %v", err, cred.Cookies)
		}
		if _, err := env.App.Keys.Open(renterG.SecretKID, renterG.Secret, []byte("another-uid")); err == nil {
			t.Fatalf("the rented secret opens with another uid as additional data")
		}
		env.Must(200, "POST", "/v4/actions/linkedin-search-people/run/live", owner, lvSearchBody(renter, "direct", "designer"))
		// A rented account is warmed up: no ramp-up of its Smart Limits, unlike
		// an account of the same level connected today.
		fresh := lvIdentity(t, env, owner, "Fresh salesnav", "sim_salesnav")
		maxOf := func(uid string) int {
			n := 0
			for _, w := range env.Must(200, "GET", "/v4/identities/"+uid+"/actions/linkedin-search-people/limits", owner, nil).Arr() {
				n += int(w.(map[string]any)["max_limit"].(float64))
			}
			return n
		}
		if r, f := maxOf(renter), maxOf(fresh); r <= f {
			t.Errorf("rented account limits %d, fresh account %d: the rented one should not ramp up", r, f)
		}
		env.Must(200, "DELETE", "/v4/identities/"+fresh, owner, nil)

		// Managed mode never picks the rented account meanwhile.
		a, _ := catalog.Get("linkedin-search-people")
		for i := 0; i < 3; i++ {
			cands, err := env.App.Engine.Candidates(ctx, model.Principal{}, a, "managed", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cands {
				if c.Identity.UID == rented {
					t.Fatalf("managed mode offers the rented pool account")
				}
			}
			env.Must(200, "POST", "/v4/actions/linkedin-search-people/run/live", owner, lvSearchBody("", "managed", "engineer"))
		}

		// Rent the rest of the pool; then the pool is exhausted: 409.
		var renters []string
		for i := 1; i < len(pool); i++ {
			u := lvIdentity(t, env, owner, "Renter more "+string(rune('A'+i)), "")
			env.Must(201, "POST", "/v4/identities/"+u+"/rent", owner, map[string]any{"days": 7})
			renters = append(renters, u)
		}
		last := lvIdentity(t, env, owner, "Renter too late", "")
		body := checkError(t, env, "pool exhausted", env.Do("POST", "/v4/identities/"+last+"/rent", owner, map[string]any{"days": 7}), 409, "CONFLICT")
		if body != nil && !strings.Contains(body["message"].(string), "no free managed pool account") {
			t.Errorf("exhausted message: %v", body["message"])
		}
		if len(freePool(t, env)) != 0 {
			t.Fatalf("accounts left in managed mode with the whole pool rented")
		}

		// Expiry with an injected time: the 7-day rentals end first.
		n, err := env.App.Identities.ExpireRentals(ctx, time.Now().Add(8*24*time.Hour))
		if err != nil || n != len(pool)-1 {
			t.Fatalf("expire at +8 days: %d %v, want %d", n, err, len(pool)-1)
		}
		env.Must(200, "GET", "/v4/identities/"+renter+"/integrations/linkedin", owner, nil)
		for _, u := range renters {
			checkError(t, env, "expired integration", env.Do("GET", "/v4/identities/"+u+"/integrations/linkedin", owner, nil), 404, "NOT_FOUND")
		}
		n, err = env.App.Identities.ExpireRentals(ctx, time.Now().Add(31*24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("expire at +31 days: %d %v", n, err)
		}
		checkError(t, env, "expired integration", env.Do("GET", "/v4/identities/"+renter+"/integrations/linkedin", owner, nil), 404, "NOT_FOUND")
		if free := freePool(t, env); len(free) != len(pool) || !free[rented] {
			t.Fatalf("after expiry %d of %d pool accounts are free (rented one back: %v)", len(free), len(pool), free[rented])
		}
		if n, _ := env.App.Identities.ExpireRentals(ctx, time.Now().Add(400*24*time.Hour)); n != 0 {
			t.Fatalf("expired %d rentals twice", n)
		}
		// One DELETED webhook per ended rental (plus the fresh identity's).
		deleted := 0
		for _, d := range env.Must(200, "GET", "/v4/webhooks/deliveries?limit=100", owner, nil).Arr() {
			if strings.Contains(auditJSON(d), `DELETED`) {
				deleted++
			}
		}
		if deleted != len(pool)+1 {
			t.Errorf("%d DELETED webhooks, want %d", deleted, len(pool)+1)
		}
		// The pool account is in managed rotation and rentable again.
		env.Must(200, "POST", "/v4/actions/linkedin-search-people/run/live", owner, lvSearchBody("", "managed", "writer"))
		r2 := env.Must(201, "POST", "/v4/identities/"+last+"/rent", owner, map[string]any{"days": 1}).Obj()
		ended := env.Must(200, "DELETE", "/v4/identities/"+last+"/rent", owner, nil).Obj()
		if ended["uid"] != r2["uid"] || ended["ended_at"] == nil {
			t.Errorf("end early: %v", ended)
		}
		checkError(t, env, "end twice", env.Do("DELETE", "/v4/identities/"+last+"/rent", owner, nil), 404, "NOT_FOUND")
		if len(freePool(t, env)) != len(pool) {
			t.Errorf("ending early did not free the account")
		}
		// Audited.
		if evs := auditEvents(t, env, owner, "?action=identity.rent"); len(evs) != len(pool)+1 {
			t.Errorf("%d identity.rent audit events, want %d", len(evs), len(pool)+1)
		}
	})
}

// TestManagedSpread: managed-mode calls are spread over the pool accounts by
// remaining Smart Limit capacity (issue 5 §6): N calls land on several
// accounts and none goes over a limit window.
func TestManagedSpread(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := lvStart(t, dialect, nil)
		ctx := context.Background()
		owner := env.NewWorkspace("Spread", "unlimited")
		accs, err := store.Accounts(ctx, env.App.DB.Handles().R, store.AccountQuery{Pool: true, Platforms: []string{"linkedin"}})
		if err != nil || len(accs) < 3 {
			t.Fatalf("pool: %d accounts, %v", len(accs), err)
		}
		calls := len(accs)
		for i := 0; i < calls; i++ {
			r := env.Do("POST", "/v4/actions/linkedin-search-people/run/live", owner, lvSearchBody("", "managed", "spread"+string(rune('a'+i))))
			if r.Status != 200 {
				t.Fatalf("managed call %d: %d %s", i, r.Status, r.Body)
			}
		}
		used := 0
		for _, a := range accs {
			rows, err := env.App.DB.Handles().R.QueryContext(ctx, `SELECT DISTINCT key FROM limit_events WHERE identity_id = $1`, a.Identity.ID)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for rows.Next() {
				var k string
				_ = rows.Scan(&k)
				keys = append(keys, k)
			}
			rows.Close()
			if len(keys) == 0 {
				continue
			}
			used++
			sts, err := env.App.Limits.Report(ctx, smartlimits.Account{IdentityID: a.Identity.ID, Level: a.Integration.Level,
				FirstConnected: a.Integration.FirstConnectedAt}, keys, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range sts {
				if st.Consumed > st.MaxLimit {
					t.Errorf("pool account %s over its %s %s limit: %d > %d", a.Identity.Name, st.Key, st.Window, st.Consumed, st.MaxLimit)
				}
			}
		}
		if used < 3 {
			t.Errorf("%d managed calls landed on %d of %d pool accounts, want them spread over at least 3", calls, used, len(accs))
		}
	})
}

// TestRentalsConcurrent: more identities than pool accounts rent at once;
// each pool account goes to exactly one of them, the rest get 409.
func TestRentalsConcurrent(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := lvStart(t, dialect, nil)
		owner := env.NewWorkspace("Rush", "unlimited")
		pool := freePool(t, env)
		if len(pool) < 2 {
			t.Fatalf("the managed pool has %d linkedin accounts", len(pool))
		}
		n := len(pool) + 2
		uids := make([]string, n)
		for i := range uids {
			uids[i] = lvIdentity(t, env, owner, "Rush renter "+string(rune('A'+i)), "")
		}
		codes, bodies := parallel(n, func(i int) apitest.Resp {
			return env.Do("POST", "/v4/identities/"+uids[i]+"/rent", owner, map[string]any{"days": 2})
		})
		c := count(codes)
		if c[201] != len(pool) || c[409] != 2 {
			t.Fatalf("concurrent rents: %v %q", c, bodies)
		}
		seen := map[string]bool{}
		for i, code := range codes {
			if code != 201 {
				continue
			}
			var r struct{ UID string }
			_ = json.Unmarshal(bodies[i], &r)
			p := rentedPoolUID(t, env, r.UID)
			if seen[p] {
				t.Fatalf("pool account %s rented twice", p)
			}
			seen[p] = true
		}
		if len(freePool(t, env)) != 0 {
			t.Errorf("pool accounts left free")
		}
	})
}
