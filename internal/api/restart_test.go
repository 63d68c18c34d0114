package api_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// recorder keeps every response body so a test can grep them all.
type recorder struct {
	env    *apitest.Env
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) Do(method, path, key string, body any) apitest.Resp {
	r.env.T.Helper()
	res := r.env.Do(method, path, key, body)
	r.mu.Lock()
	r.bodies = append(r.bodies, res.Body)
	for k, vs := range res.Header {
		r.bodies = append(r.bodies, []byte(k+": "+strings.Join(vs, ",")))
	}
	r.mu.Unlock()
	return res
}

func (r *recorder) Must(status int, method, path, key string, body any) apitest.Resp {
	r.env.T.Helper()
	res := r.Do(method, path, key, body)
	if res.Status != status {
		r.env.T.Fatalf("%s %s: %d, want %d: %s", method, path, res.Status, status, res.Body)
	}
	return res
}

func (r *recorder) contains(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bodies {
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

// TestRestartKeepsEverything: everything made through the API survives
// closing the App and opening a new one on the same store, on both databases;
// credentials stay sealed at rest, decrypt after the restart, and never show
// up in a response or a log line.
func TestRestartKeepsEverything(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		st := apitest.NewStore(t, dialect)
		env := apitest.StartOn(t, st)
		rec := &recorder{env: env}
		ctx := context.Background()

		// Recognisable secrets, to grep for.
		const liAt = "AQEDARSECRETLIAT0123456789zzqx"
		const liA = "AQJSECRETLIA9876543210qqzx"
		const password = "SECRETPASSWORD-basic-77"
		const hubToken = "pat-na1-SECRETHUBSPOT-4242"

		owner := env.NewWorkspace("Durable", "unlimited")
		ws := principal(t, env, owner)
		ops := addMember(t, env, owner, "ops@durable.test", "ops")
		user := addMember(t, env, owner, "user@durable.test", "user")
		pending := rec.Must(201, "POST", "/v4/members", owner, map[string]any{"email": "later@durable.test", "role": "ops"}).Obj()["token"].(string)
		k1 := rec.Must(201, "POST", "/v4/api-keys", ops.Key, map[string]any{"name": "kept"}).Obj()
		k2 := rec.Must(201, "POST", "/v4/api-keys", ops.Key, map[string]any{"name": "revoked"}).Obj()
		rec.Must(200, "DELETE", "/v4/api-keys/"+k2["uid"].(string), ops.Key, nil)
		checkError(t, env, "revoked key before restart", rec.Do("GET", "/v4/workspaces", k2["key"].(string), nil), 401, "UNAUTHORIZED")
		rec.Must(200, "PUT", "/v4/workspaces/settings", owner, map[string]any{"webhook_url": "https://hooks.example.com/fm"})
		settings := rec.Must(200, "GET", "/v4/workspaces/settings", owner, nil).Obj()

		id1 := rec.Must(200, "POST", "/v4/identities", owner, map[string]any{"name": "Durable One", "timezone": "America/New_York"}).Obj()
		id2 := rec.Must(200, "POST", "/v4/identities", ops.Key, map[string]any{"name": "Durable Two"}).Obj()
		uid1, uid2 := id1["uid"].(string), id2["uid"].(string)
		rec.Must(200, "POST", "/v4/identities/"+uid1+"/integrations/linkedin", owner,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": liAt, "li_a": liA}}, "account_name": "Jane"})
		rec.Must(200, "POST", "/v4/identities/"+uid2+"/integrations/salesnavigator", owner,
			map[string]any{"auth_data": map[string]any{"basic": map[string]any{"username": "jane@example.com", "password": password}}})
		rec.Must(200, "POST", "/v4/identities/"+uid2+"/integrations/hubspot", owner,
			map[string]any{"auth_data": map[string]any{"token": hubToken}})
		// Failed connects carrying the secrets must not echo them either.
		for _, bad := range []any{
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": liAt, "x": 5}}},
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": liAt}, "token": hubToken}},
			map[string]any{"auth_data": map[string]any{"basic": map[string]any{"username": "u", "password": password, "otp": 1}}},
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": strings.Repeat(liAt, 300)}}},
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": liAt}}, "extra": liAt},
		} {
			if r := rec.Do("POST", "/v4/identities/"+uid1+"/integrations/linkedin", owner, bad); r.Status != 400 {
				t.Errorf("bad connect: %d %s", r.Status, r.Body)
			}
		}
		rec.Do("POST", "/v4/identities/"+uid1+"/integrations/hubspot", owner,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": liAt}}})
		rec.Do("POST", "/v4/identities/nope/integrations/linkedin", owner,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": liAt}}})

		// What the API shows before the restart.
		views := map[string]string{}
		for _, p := range []string{"/v4/workspaces", "/v4/members", "/v4/identities?retrieve_accounts=true",
			"/v4/identities/" + uid1, "/v4/identities/" + uid2, "/v4/identities/" + uid1 + "/integrations/linkedin",
			"/v4/identities/" + uid2 + "/integrations/hubspot"} {
			views[p] = string(rec.Must(200, "GET", p, owner, nil).Body)
		}
		opsKeys := string(rec.Must(200, "GET", "/v4/api-keys", ops.Key, nil).Body)
		logsBefore := env.Logs.String()

		env.Close()
		env2 := apitest.StartOn(t, st)
		rec2 := &recorder{env: env2}

		for p, want := range views {
			if got := string(rec2.Must(200, "GET", p, owner, nil).Body); got != want {
				t.Errorf("GET %s changed across the restart:\nbefore %s\nafter  %s", p, want, got)
			}
		}
		if got := string(rec2.Must(200, "GET", "/v4/api-keys", ops.Key, nil).Body); got != opsKeys {
			t.Errorf("ops keys changed across the restart:\nbefore %s\nafter  %s", opsKeys, got)
		}
		if got := rec2.Must(200, "GET", "/v4/workspaces/settings", owner, nil).Obj(); got["callback_signing_secret"] != settings["callback_signing_secret"] ||
			got["webhook_url"] != "https://hooks.example.com/fm" {
			t.Errorf("settings after the restart: %v, before %v", got, settings)
		}
		for _, k := range []string{owner, ops.Key, user.Key, k1["key"].(string)} {
			rec2.Must(200, "GET", "/v4/workspaces", k, nil)
		}
		checkError(t, env2, "revoked key after restart", rec2.Do("GET", "/v4/workspaces", k2["key"].(string), nil), 401, "UNAUTHORIZED")
		if got := len(rec2.Must(200, "GET", "/v4/members", owner, nil).Arr()); got != 3 {
			t.Errorf("%d members after the restart, want 3", got)
		}
		// The pending invitation still works once.
		acc := rec2.Must(201, "POST", "/v4/invitations/"+pending+"/accept", "", map[string]any{"password": "a long enough password"}).Obj()
		if m, _ := acc["member"].(map[string]any); m["role"] != "ops" {
			t.Errorf("accepted after restart: %v", acc)
		}
		checkError(t, env2, "second accept after restart", rec2.Do("POST", "/v4/invitations/"+pending+"/accept", "",
			map[string]any{"password": "a long enough password"}), 404, "NOT_FOUND")

		// Credentials decrypt after the restart, and only through OpenCredentials.
		want := map[string]map[string]string{
			uid1 + " linkedin":       {"li_at": liAt, "li_a": liA},
			uid2 + " salesnavigator": {"password": password},
			uid2 + " hubspot":        {"token": hubToken},
		}
		for _, uid := range []string{uid1, uid2} {
			id, err := env2.App.Identities.Get(ctx, ws.WorkspaceID, uid)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range id.Integrations {
				w := want[uid+" "+g.Platform]
				if w == nil {
					t.Errorf("unexpected integration %s on %s", g.Platform, uid)
					continue
				}
				delete(want, uid+" "+g.Platform)
				c, err := env2.App.Identities.OpenCredentials(g)
				if err != nil {
					t.Errorf("%s %s: credentials do not decrypt after the restart: %v", uid, g.Platform, err)
					continue
				}
				got := map[string]string{"li_at": c.Cookies["li_at"], "li_a": c.Cookies["li_a"], "password": c.Password, "token": c.Token}
				for k, v := range w {
					if got[k] != v {
						t.Errorf("%s %s: %s = %q, want %q", uid, g.Platform, k, got[k], v)
					}
				}
				if bytes.Contains(g.Secret, []byte("SECRET")) {
					t.Errorf("%s %s: the stored secret holds the credential in clear", uid, g.Platform)
				}
			}
		}
		for k := range want {
			t.Errorf("integration %s is gone after the restart", k)
		}

		// Secrets at rest: the raw rows, and for SQLite the database files.
		secrets := []string{liAt, liA, password, hubToken, "SECRET"}
		rows, err := env2.App.DB.Handles().Read.QueryContext(ctx, `SELECT uid, name, permalink, meta, error, secret FROM integrations WHERE workspace_id = $1`, ws.WorkspaceID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var uid, name, permalink, meta, errMsg string
			var sealed []byte
			if err := rows.Scan(&uid, &name, &permalink, &meta, &errMsg, &sealed); err != nil {
				t.Fatal(err)
			}
			n++
			row := strings.Join([]string{uid, name, permalink, meta, errMsg, string(sealed)}, "|")
			for _, s := range secrets {
				if strings.Contains(row, s) {
					t.Errorf("integration row %s holds %q in clear", uid, s)
				}
			}
		}
		rows.Close()
		if n != 3 {
			t.Errorf("%d integration rows, want 3", n)
		}
		if dialect == "sqlite" {
			files, _ := filepath.Glob(filepath.Join(st.DataDir, "firstmate.db*"))
			if len(files) == 0 {
				t.Fatal("no SQLite files found")
			}
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range secrets {
					if bytes.Contains(data, []byte(s)) {
						t.Errorf("%s holds %q in clear", filepath.Base(f), s)
					}
				}
			}
		}
		// Never in a response or a log line.
		for _, s := range secrets {
			if rec.contains(s) || rec2.contains(s) {
				t.Errorf("a response contains %q", s)
			}
			if strings.Contains(logsBefore, s) || strings.Contains(env2.Logs.String(), s) {
				t.Errorf("the logs contain %q", s)
			}
		}

		// DELETE erases the secret with the integration.
		rec2.Must(200, "DELETE", "/v4/identities/"+uid1+"/integrations/linkedin", owner, nil)
		rec2.Must(200, "DELETE", "/v4/identities/"+uid2, owner, nil)
		var left int
		if err := env2.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM integrations WHERE workspace_id = $1`, ws.WorkspaceID).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Errorf("%d integration rows left after deleting them and their identity", left)
		}
	})
}
