package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/config"
)

// TestLastOwner: §3, the last owner can be neither demoted nor removed; with
// two owners one can, even when both try at once.
func TestLastOwner(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		owner := env.NewWorkspace("Owners", "unlimited")
		me := principal(t, env, owner).MemberUID

		checkError(t, env, "demote the last owner", env.Do("PATCH", "/v4/members/"+me, owner, map[string]any{"role": "ops"}), 409, "CONFLICT")
		checkError(t, env, "remove the last owner", env.Do("DELETE", "/v4/members/"+me, owner, nil), 409, "CONFLICT")
		env.Must(200, "PATCH", "/v4/members/"+me, owner, map[string]any{"role": "owner"}) // a no-op is fine
		checkError(t, env, "bad role", env.Do("PATCH", "/v4/members/"+me, owner, map[string]any{"role": "admin"}), 400, "BAD_INPUT")
		checkError(t, env, "unknown member", env.Do("PATCH", "/v4/members/nope", owner, map[string]any{"role": "ops"}), 404, "NOT_FOUND")

		// A second owner: now the first can step down.
		second := addMember(t, env, owner, "second@owners.test", "owner")
		r := env.Must(200, "PATCH", "/v4/members/"+me, second.Key, map[string]any{"role": "ops"})
		if r.Obj()["role"] != "ops" {
			t.Errorf("demoted: %s", r.Body)
		}
		// The demoted owner's key now acts as ops, at once.
		checkError(t, env, "demoted owner invites", env.Do("POST", "/v4/members", owner, map[string]any{"email": "z@owners.test", "role": "user"}), 403, "FORBIDDEN")
		env.Must(200, "POST", "/v4/identities", owner, map[string]any{"name": "Ops can"})
		// And the second is now the last owner.
		checkError(t, env, "demote the new last owner", env.Do("PATCH", "/v4/members/"+second.UID, second.Key, map[string]any{"role": "user"}), 409, "CONFLICT")
		checkError(t, env, "remove the new last owner", env.Do("DELETE", "/v4/members/"+second.UID, second.Key, nil), 409, "CONFLICT")
		// Removing a non-owner works, and takes their keys with them.
		env.Must(200, "DELETE", "/v4/members/"+me, second.Key, nil)
		checkError(t, env, "removed member's key", env.Do("GET", "/v4/workspaces", owner, nil), 401, "UNAUTHORIZED")
		checkError(t, env, "remove twice", env.Do("DELETE", "/v4/members/"+me, second.Key, nil), 404, "NOT_FOUND")

		// Two owners demote each other at once: one wins, one owner is left.
		third := addMember(t, env, second.Key, "third@owners.test", "owner")
		for round := 0; round < 3; round++ {
			codes, bodies := parallel(2, func(i int) apitest.Resp {
				if i == 0 {
					return env.Do("PATCH", "/v4/members/"+third.UID, second.Key, map[string]any{"role": "ops"})
				}
				return env.Do("PATCH", "/v4/members/"+second.UID, third.Key, map[string]any{"role": "ops"})
			})
			// The loser gets 409 (one owner left) or, when its key was
			// resolved after the winner's commit, 403 (it is ops now).
			c := count(codes)
			if c[200] != 1 || c[409]+c[403] != 1 {
				t.Errorf("round %d: concurrent demotions of the two owners: %v %q", round, c, bodies)
			}
			owners := 0
			var ownerKey, otherUID string
			for _, m := range env.Must(200, "GET", "/v4/members", second.Key, nil).Arr() {
				m := m.(map[string]any)
				if m["role"] == "owner" {
					owners++
					if m["uid"] == second.UID {
						ownerKey, otherUID = second.Key, third.UID
					} else {
						ownerKey, otherUID = third.Key, second.UID
					}
				}
			}
			if owners != 1 {
				t.Fatalf("round %d: %d owners left", round, owners)
			}
			env.Must(200, "PATCH", "/v4/members/"+otherUID, ownerKey, map[string]any{"role": "owner"})
		}
		// Concurrent removals likewise.
		codes, _ := parallel(2, func(i int) apitest.Resp {
			if i == 0 {
				return env.Do("DELETE", "/v4/members/"+third.UID, second.Key, nil)
			}
			return env.Do("DELETE", "/v4/members/"+second.UID, third.Key, nil)
		})
		if c := count(codes); c[200] != 1 || c[409]+c[401] != 1 {
			t.Errorf("concurrent removals of the two owners: %v", c)
		}
	})
}

// TestInvitations: a token accepts once, expires, and gives a working key
// with the invited role.
func TestInvitations(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		owner := env.NewWorkspace("Invites", "unlimited")

		inv := env.Must(201, "POST", "/v4/members", owner, map[string]any{"email": "  Ops.Person@Invites.TEST ", "role": "ops"}).Obj()
		token, _ := inv["token"].(string)
		if len(token) < 43 || inv["email"] != "ops.person@invites.test" || inv["role"] != "ops" {
			t.Errorf("invitation: %v", inv)
		}
		if exp, err := time.Parse(time.RFC3339, fmt.Sprint(inv["expires_at"])); err != nil || exp.Before(time.Now().Add(6*24*time.Hour)) {
			t.Errorf("expires_at %v: %v", inv["expires_at"], err)
		}
		if strings.Contains(string(env.Must(200, "GET", "/v4/members", owner, nil).Body), token) {
			t.Error("the member list shows an invitation token")
		}

		acc := env.Must(201, "POST", "/v4/invitations/"+token+"/accept", "", map[string]any{"name": "Ops Person", "password": "a long enough password"}).Obj()
		key, _ := acc["api_key"].(string)
		m, _ := acc["member"].(map[string]any)
		if !strings.HasPrefix(key, auth.KeyPrefix) || m["role"] != "ops" || m["email"] != "ops.person@invites.test" || m["name"] != "Ops Person" {
			t.Errorf("accepted: %v", acc)
		}
		// The key works, with the ops role.
		if p := principal(t, env, key); p.Role != "ops" || p.MemberUID != m["uid"] {
			t.Errorf("accepted key acts as %+v", p)
		}
		env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "By the invitee"})
		checkError(t, env, "invitee (ops) invites", env.Do("POST", "/v4/members", key, map[string]any{"email": "a@b.test", "role": "user"}), 403, "FORBIDDEN")

		// Once only.
		for _, prefix := range []string{"/v4", "/v1"} {
			checkError(t, env, "second accept", env.Do("POST", prefix+"/invitations/"+token+"/accept", "",
				map[string]any{"password": "another long password"}), 404, "NOT_FOUND")
		}
		// A user-role invitation gives a read-only key.
		user := addMember(t, env, owner, "reader@invites.test", "user")
		env.Must(200, "GET", "/v4/identities", user.Key, nil)
		checkError(t, env, "user creates an identity", env.Do("POST", "/v4/identities", user.Key, map[string]any{"name": "Nope"}), 403, "FORBIDDEN")

		// Expired tokens are refused; the store ages one past its 7 days.
		old := env.Must(201, "POST", "/v4/members", owner, map[string]any{"email": "late@invites.test", "role": "ops"}).Obj()["token"].(string)
		if n := execSQL(t, env, `UPDATE invitations SET expires_at = $1 WHERE token_hash = $2`, pastMillis(time.Second), auth.HashToken(old)); n != 1 {
			t.Fatalf("aged %d invitations", n)
		}
		checkError(t, env, "expired invitation", env.Do("POST", "/v4/invitations/"+old+"/accept", "",
			map[string]any{"password": "a long enough password"}), 404, "NOT_FOUND")
		for _, mm := range env.Must(200, "GET", "/v4/members", owner, nil).Arr() {
			if mm.(map[string]any)["email"] == "late@invites.test" {
				t.Error("an expired invitation made a member")
			}
		}

		// Bad invitations and bad acceptances.
		checkError(t, env, "bad email", env.Do("POST", "/v4/members", owner, map[string]any{"email": "not an email", "role": "ops"}), 400, "BAD_INPUT")
		checkError(t, env, "named email", env.Do("POST", "/v4/members", owner, map[string]any{"email": "Bob <bob@x.test>", "role": "ops"}), 400, "BAD_INPUT")
		checkError(t, env, "bad role", env.Do("POST", "/v4/members", owner, map[string]any{"email": "x@x.test", "role": "admin"}), 400, "BAD_INPUT")
		tok := env.Must(201, "POST", "/v4/members", owner, map[string]any{"email": "short@invites.test", "role": "ops"}).Obj()["token"].(string)
		checkError(t, env, "short password", env.Do("POST", "/v4/invitations/"+tok+"/accept", "", map[string]any{"password": "short"}), 400, "BAD_INPUT")
		// A refused acceptance does not use the token up.
		env.Must(201, "POST", "/v4/invitations/"+tok+"/accept", "", map[string]any{"password": "now long enough"})
	})
}

// TestAPIKeys: keys are shown once, start with fm_, are stored hashed, work
// at once and stop at once when revoked; a member only touches their own.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		owner := env.NewWorkspace("Keys", "unlimited")
		ops := addMember(t, env, owner, "ops@keys.test", "ops")

		r := env.Must(201, "POST", "/v4/api-keys", ops.Key, map[string]any{"name": "ci"}).Obj()
		key, _ := r["key"].(string)
		uid, _ := r["uid"].(string)
		if !strings.HasPrefix(key, "fm_") || len(key) < len("fm_")+43 || r["prefix"] != key[:len("fm_")+8] || r["name"] != "ci" || r["revoked_at"] != nil {
			t.Errorf("created key: %v", r)
		}
		r2 := env.Must(201, "POST", "/v4/api-keys", ops.Key, nil).Obj() // body optional
		if r2["key"] == key || r2["uid"] == uid {
			t.Error("two keys are the same")
		}
		env.Must(200, "GET", "/v4/workspaces", key, nil)

		// Never shown again.
		list := env.Must(200, "GET", "/v4/api-keys", ops.Key, nil)
		if strings.Contains(string(list.Body), key) || strings.Contains(string(list.Body), `"key"`) {
			t.Errorf("the key list shows a key: %s", list.Body)
		}
		if n := len(list.Arr()); n != 3 {
			t.Errorf("ops has %d keys, want 3 (first key + 2)", n)
		}
		// Stored hashed.
		rows, err := env.App.DB.Handles().Read.QueryContext(context.Background(), `SELECT uid, name, prefix, hash FROM api_keys`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, b, c, d string
			_ = rows.Scan(&a, &b, &c, &d)
			if strings.Contains(a+b+c+d, key) || strings.Contains(a+b+c+d, key[len("fm_")+8:]) {
				t.Errorf("api_keys row %s holds the key", a)
			}
		}
		rows.Close()

		// Somebody else's key is not found, not forbidden — even for the owner.
		ownerKeyUID := principal(t, env, owner).KeyUID
		checkError(t, env, "ops revokes the owner's key", env.Do("DELETE", "/v4/api-keys/"+ownerKeyUID, ops.Key, nil), 404, "NOT_FOUND")
		checkError(t, env, "owner revokes ops's key", env.Do("DELETE", "/v4/api-keys/"+uid, owner, nil), 404, "NOT_FOUND")
		env.Must(200, "GET", "/v4/workspaces", owner, nil)
		env.Must(200, "GET", "/v4/workspaces", key, nil)
		if strings.Contains(string(env.Must(200, "GET", "/v4/api-keys", owner, nil).Body), uid) {
			t.Error("the owner's key list shows ops's key")
		}

		// Revocation takes effect on the next request.
		rv := env.Must(200, "DELETE", "/v4/api-keys/"+uid, ops.Key, nil).Obj()
		if rv["uid"] != uid || rv["revoked_at"] == nil || rv["key"] != nil {
			t.Errorf("revoked: %v", rv)
		}
		for _, p := range []string{"/v4/workspaces", "/v1/identities", "/v4/api-keys"} {
			checkError(t, env, "revoked key on "+p, env.Do("GET", p, key, nil), 401, "UNAUTHORIZED")
		}
		checkError(t, env, "revoke twice", env.Do("DELETE", "/v4/api-keys/"+uid, ops.Key, nil), 404, "NOT_FOUND")
		env.Must(200, "GET", "/v4/workspaces", ops.Key, nil) // the member's other keys still work
		for _, k := range env.Must(200, "GET", "/v4/api-keys", ops.Key, nil).Arr() {
			k := k.(map[string]any)
			if (k["uid"] == uid) != (k["revoked_at"] != nil) {
				t.Errorf("key list after revocation: %v", k)
			}
		}
		// A member may revoke the key they are calling with.
		self := principal(t, env, r2["key"].(string)).KeyUID
		env.Must(200, "DELETE", "/v4/api-keys/"+self, r2["key"].(string), nil)
		checkError(t, env, "self-revoked key", env.Do("GET", "/v4/workspaces", r2["key"].(string), nil), 401, "UNAUTHORIZED")
	})
}

// TestIdentityLicences: a trial workspace holds 5 identities; the sixth is
// 402 NO_ACCESS until one is deleted.
func TestIdentityLicences(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		clk := newClock(t0)
		env := start(t, apitest.NewStore(t, dialect), startOpts{now: clk.Now})
		key := env.NewWorkspace("Licences", "trial")
		do := func(method, path string, body any) apitest.Resp {
			clk.Add(time.Second) // stay inside trial's 1 req/s
			return env.Do(method, path, key, body)
		}
		var uids []string
		for i := 0; i < 5; i++ {
			r := do("POST", "/v4/identities", map[string]any{"name": fmt.Sprintf("Licensed %d", i)})
			if r.Status != 200 {
				t.Fatalf("identity %d: %d %s", i, r.Status, r.Body)
			}
			uids = append(uids, r.Obj()["uid"].(string))
		}
		checkError(t, env, "sixth identity", do("POST", "/v4/identities", map[string]any{"name": "One too many"}), 402, "NO_ACCESS")
		w := do("GET", "/v4/workspaces", nil).Obj()
		if w["users_included"] != 5.0 || w["users_synced"] != 5.0 || w["users_remaining"] != 0.0 || w["plan_name"] != "trial" {
			t.Errorf("workspace: %v", w)
		}
		if r := do("DELETE", "/v4/identities/"+uids[0], nil); r.Status != 200 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := do("POST", "/v4/identities", map[string]any{"name": "Freed licence"}); r.Status != 200 {
			t.Errorf("after freeing a licence: %d %s", r.Status, r.Body)
		}
		checkError(t, env, "again one too many", do("POST", "/v4/identities", map[string]any{"name": "One too many"}), 402, "NO_ACCESS")
		if n := len(do("GET", "/v4/identities", nil).Arr()); n != 5 {
			t.Errorf("%d identities, want 5", n)
		}
	})
}

// TestIdentityPagination: GET /identities pages by 50 and filters by name.
func TestIdentityPagination(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := start(t, apitest.NewStore(t, dialect), startOpts{plans: []config.Plan{
			{Name: "many", CreditsPerPeriod: 1, Identities: 200, ConcurrentRuns: 1},
		}})
		key := env.NewWorkspace("Pages", "many")
		const total = 120
		all := map[string]string{}
		sales := 0
		for i := 0; i < total; i++ {
			name := fmt.Sprintf("Ops Bot %03d", i)
			if i%3 == 0 {
				name = fmt.Sprintf("Sales Rep %03d", i)
				sales++
			}
			all[env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": name}).Obj()["uid"].(string)] = name
		}
		seen := map[string]bool{}
		var order []string
		for page, want := range []int{50, 50, 20, 0} {
			arr := env.Must(200, "GET", fmt.Sprintf("/v4/identities?page=%d", page+1), key, nil).Arr()
			if len(arr) != want {
				t.Errorf("page %d: %d identities, want %d", page+1, len(arr), want)
			}
			for _, v := range arr {
				uid := v.(map[string]any)["uid"].(string)
				if seen[uid] {
					t.Errorf("identity %s on two pages", uid)
				}
				seen[uid] = true
				order = append(order, all[uid])
			}
		}
		if len(seen) != total {
			t.Errorf("the pages hold %d identities, want %d", len(seen), total)
		}
		if len(env.Must(200, "GET", "/v4/identities", key, nil).Arr()) != 50 {
			t.Error("no page parameter is page 1")
		}
		// Newest first.
		if len(order) == total && (order[0] != "Ops Bot 119" || order[total-1] != "Sales Rep 000") {
			t.Errorf("order: first %q, last %q", order[0], order[total-1])
		}

		// query is a case-insensitive name filter, and pages too.
		got := 0
		for page := 1; page <= 2; page++ {
			for _, v := range env.Must(200, "GET", fmt.Sprintf("/v4/identities?query=SALES&page=%d", page), key, nil).Arr() {
				got++
				if name := v.(map[string]any)["name"].(string); !strings.HasPrefix(name, "Sales Rep") {
					t.Errorf("query=SALES returned %q", name)
				}
			}
		}
		if got != sales {
			t.Errorf("query=SALES: %d identities, want %d", got, sales)
		}
		if arr := env.Must(200, "GET", "/v4/identities?query=bot%20007", key, nil).Arr(); len(arr) != 1 || arr[0].(map[string]any)["name"] != "Ops Bot 007" {
			t.Errorf("query=bot 007: %v", arr)
		}
		if n := len(env.Must(200, "GET", "/v4/identities?query=nobody", key, nil).Arr()); n != 0 {
			t.Errorf("query=nobody: %d", n)
		}
	})
}

// TestLoginLinks: links are valid for 48 hours, checked without a key, and
// fresh ones can be generated, which revokes the earlier ones; an aged link
// reports expired.
func TestLoginLinks(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		key := env.NewWorkspace("Links", "unlimited")
		id := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Linked"}).Obj()
		uid := id["uid"].(string)
		tokenOf := func(links any) string {
			l, _ := links.(map[string]any)
			u, _ := l["linkedin"].(string)
			if !strings.Contains(u, "/connect/") {
				t.Fatalf("login link %q", u)
			}
			return u[strings.LastIndex(u, "/")+1:]
		}
		first := tokenOf(id["identity_login_links"])
		created := time.Now()

		for _, prefix := range []string{"/v4", "/v1"} {
			v := env.Must(200, "GET", prefix+"/login-links/"+first, "", nil).Obj()
			if v["valid"] != true || v["platform"] != "linkedin" || v["reason"] != "" {
				t.Errorf("fresh link: %v", v)
			}
			exp, err := time.Parse(time.RFC3339, fmt.Sprint(v["expires_at"]))
			if err != nil || exp.Before(created.Add(47*time.Hour)) || exp.After(created.Add(49*time.Hour)) {
				t.Errorf("expires_at %v, want about 48 h from now", v["expires_at"])
			}
		}
		// Fresh links, under both routes; each revokes the one before.
		seen := map[string]bool{first: true}
		prev, last := first, first
		for _, p := range []string{"/generate-login-links", "/login-links"} {
			tok := tokenOf(env.Must(200, "POST", "/v4/identities/"+uid+p, key, nil).JSON())
			if seen[tok] {
				t.Errorf("%s returned a token already given", p)
			}
			seen[tok] = true
			if v := env.Must(200, "GET", "/v4/login-links/"+tok, "", nil).Obj(); v["valid"] != true {
				t.Errorf("generated link: %v", v)
			}
			if v := env.Must(200, "GET", "/v4/login-links/"+prev, "", nil).Obj(); v["valid"] != false || v["reason"] != "revoked" {
				t.Errorf("the link before %s: %v", p, v)
			}
			prev, last = tok, tok
		}
		// Aged past 48 hours, a link is expired.
		n := execSQL(t, env, `UPDATE login_links SET created_at = $1, expires_at = $2 WHERE token_hash = $3`,
			pastMillis(48*time.Hour+time.Minute), pastMillis(time.Minute), auth.HashToken(last))
		if n != 1 {
			t.Fatalf("aged %d links", n)
		}
		v := env.Must(200, "GET", "/v4/login-links/"+last, "", nil).Obj()
		if v["valid"] != false || v["reason"] != "expired" {
			t.Errorf("aged link: %v", v)
		}
		// Deleting the identity takes its links with it.
		env.Must(200, "DELETE", "/v4/identities/"+uid, key, nil)
		for tok := range seen {
			checkError(t, env, "link of a deleted identity", env.Do("GET", "/v4/login-links/"+tok, "", nil), 404, "NOT_FOUND")
		}
	})
}

// TestInvitationsRevokeReissue: pending invitations are listed to owners;
// a re-issued invitation's earlier link stops working and the new one
// works; a revoked one's link stops working; an accepted one is no longer
// listed and can be neither revoked nor re-issued (404).
func TestInvitationsRevokeReissue(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		owner := env.NewWorkspace("Inviters", "unlimited")
		a := env.Must(201, "POST", "/v4/members", owner, map[string]any{"email": "a@inviters.test", "role": "ops"}).Obj()
		b := env.Must(201, "POST", "/v4/members", owner, map[string]any{"email": "b@inviters.test", "role": "user"}).Obj()
		arr := env.Must(200, "GET", "/v4/invitations", owner, nil).Arr()
		list := make([]map[string]any, len(arr))
		for i, x := range arr {
			list[i], _ = x.(map[string]any)
		}
		if len(list) != 2 || list[0]["email"] != "a@inviters.test" || list[0]["role"] != "ops" || list[0]["expired"] != false ||
			list[0]["expires_at"] == "" {
			t.Fatalf("pending invitations: %v", list)
		}
		// Re-issue a: the old token is dead, the new one accepts.
		re := env.Must(200, "POST", "/v4/invitations/"+a["uid"].(string)+"/reissue", owner, nil).Obj()
		if re["token"] == "" || re["token"] == a["token"] || re["email"] != "a@inviters.test" {
			t.Fatalf("reissued: %v", re)
		}
		body := map[string]any{"password": "a long passphrase"}
		checkError(t, env, "the old link", env.Do("POST", "/v4/invitations/"+a["token"].(string)+"/accept", "", body), 404, "NOT_FOUND")
		env.Must(201, "POST", "/v4/invitations/"+re["token"].(string)+"/accept", "", body)
		// Revoke b: its link is dead.
		env.Must(200, "DELETE", "/v4/invitations/"+b["uid"].(string), owner, nil)
		checkError(t, env, "a revoked link", env.Do("POST", "/v4/invitations/"+b["token"].(string)+"/accept", "", body), 404, "NOT_FOUND")
		if l := env.Must(200, "GET", "/v4/invitations", owner, nil).Arr(); len(l) != 0 {
			t.Errorf("after accepting one and revoking the other: %v", l)
		}
		checkError(t, env, "revoke an accepted invitation", env.Do("DELETE", "/v4/invitations/"+a["uid"].(string), owner, nil), 404, "NOT_FOUND")
		checkError(t, env, "reissue an accepted invitation", env.Do("POST", "/v4/invitations/"+a["uid"].(string)+"/reissue", owner, nil), 404, "NOT_FOUND")
	})
}
