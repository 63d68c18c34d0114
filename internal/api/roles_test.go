package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/auth"
)

// caller is one column of the role matrix.
type caller struct {
	name string
	role string // "" for callers without a working key
	key  string
}

// roleFixture is a workspace with one member per role, plus keys that must
// not work: revoked, unknown, malformed, and the key of a removed member.
func roleFixture(t *testing.T, env *apitest.Env) []caller {
	owner := env.NewWorkspace("Roles", "unlimited")
	ops := addMember(t, env, owner, "ops@roles.test", "ops")
	user := addMember(t, env, owner, "user@roles.test", "user")
	gone := addMember(t, env, owner, "gone@roles.test", "ops")
	env.Must(200, "DELETE", "/v4/members/"+gone.UID, owner, nil)

	k := env.Must(201, "POST", "/v4/api-keys", owner, map[string]any{"name": "to revoke"}).Obj()
	revoked, _ := k["key"].(string)
	env.Must(200, "DELETE", "/v4/api-keys/"+k["uid"].(string), owner, nil)

	return []caller{
		{"owner", "owner", owner},
		{"ops", "ops", ops.Key},
		{"user", "user", user.Key},
		{"no key", "", ""},
		{"revoked key", "", revoked},
		{"unknown key", "", randomKey()},
		{"malformed key", "", "Bearer not-a-key"},
		{"removed member's key", "", gone.Key},
	}
}

// dummyBody is what the matrix sends to body-taking routes: a body that
// parses, so a role with permission gets at most a 400 for its content.
func dummyBody(method string, hasBody bool) any {
	if hasBody {
		return "{}"
	}
	return nil
}

// TestRoleMatrix walks every route of the live route table, under both
// prefixes, with every kind of caller. The expectation comes from the
// permission table; TestRoleMatrixIndependent pins a few by hand.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		callers := roleFixture(t, env)
		routes := env.App.API.Routes()
		if len(routes) == 0 {
			t.Fatal("empty route table")
		}
		for _, rt := range routes {
			path := fill(rt.Path, func(name, _ string) string { return "dummy-" + name })
			for i, url := range urlsFor(rt, path) {
				for _, c := range callers {
					if i > 0 && c.role == "" && c.name != "no key" {
						// /v1 is the same handler: one keyless caller suffices there.
						continue
					}
					what := fmt.Sprintf("%s %s as %s", rt.Method, url, c.name)
					r := env.Do(rt.Method, url, c.key, dummyBody(rt.Method, rt.Body != nil))
					if r.Status >= 500 {
						t.Errorf("%s: %d: %s", what, r.Status, trunc(r.Body))
						continue
					}
					switch {
					case rt.Perm == auth.Public:
						if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
							t.Errorf("%s: public route answered %d: %s", what, r.Status, trunc(r.Body))
						}
					case c.role == "":
						checkError(t, env, what, r, http.StatusUnauthorized, "UNAUTHORIZED")
					case auth.Allows(c.role, rt.Perm):
						if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
							t.Errorf("%s: role %s has %s permission but got %d: %s", what, c.role, rt.Perm, r.Status, trunc(r.Body))
						}
						if r.Status >= 400 {
							checkError(t, env, what, r, r.Status, "")
						}
					default:
						checkError(t, env, what, r, http.StatusForbidden, "FORBIDDEN")
					}
				}
			}
		}
	})
}

// TestRoleMatrixIndependent hard-codes what the contract says about a few
// sensitive routes, so a wrong entry in the permission table (or a route
// given the wrong Perm) fails even though the matrix above would agree with it.
func TestRoleMatrixIndependent(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, "sqlite")
	callers := roleFixture(t, env)
	keys := map[string]string{}
	for _, c := range callers {
		if c.role != "" {
			keys[c.role] = c.key
		}
	}
	const allowed = 0 // neither 401 nor 403
	cases := []struct {
		role, method, path string
		body               any
		want               int
	}{
		// §3: user is read-only.
		{"user", "POST", "/identities", map[string]any{"name": "Nope"}, 403},
		{"user", "PUT", "/identities/{uid}", map[string]any{"name": "Nope"}, 403},
		{"user", "DELETE", "/identities/{uid}", nil, 403},
		{"user", "POST", "/identities/{uid}/integrations/{integration}", "{}", 403},
		{"user", "POST", "/identities/{uid}/generate-login-links", nil, 403},
		{"user", "PUT", "/workspaces/settings", "{}", 403},
		// The settings carry the callback signing secret: not for read-only members.
		{"user", "GET", "/workspaces/settings", nil, 403},
		{"user", "GET", "/identities", nil, 200},
		{"user", "GET", "/workspaces", nil, 200},
		{"user", "GET", "/members", nil, 200},
		// A member manages their own keys, whatever their role.
		{"user", "GET", "/api-keys", nil, 200},
		{"user", "POST", "/api-keys", "{}", 201},
		// §3: ops has no members or billing.
		{"ops", "POST", "/members", map[string]any{"email": "x@y.test", "role": "user"}, 403},
		{"ops", "PATCH", "/members/{uid}", map[string]any{"role": "owner"}, 403},
		{"ops", "DELETE", "/members/{uid}", nil, 403},
		{"ops", "POST", "/identities", map[string]any{"name": "Ops made"}, allowed},
		{"ops", "PUT", "/workspaces/settings", "{}", 200},
		{"ops", "GET", "/workspaces/settings", nil, 200},
		{"owner", "POST", "/members", map[string]any{"email": "new@y.test", "role": "user"}, 201},
		// Public routes.
		{"", "GET", "/openapi.json", nil, 200},
		{"", "GET", "!/healthz", nil, 200},
	}
	for _, tc := range cases {
		rt := findRoute(t, env, tc.method, tc.path)
		path := fill(rt.Path, func(name, _ string) string { return "dummy-" + name })
		for _, url := range urlsFor(rt, path) {
			what := fmt.Sprintf("%s %s as %q", tc.method, url, tc.role)
			r := env.Do(tc.method, url, keys[tc.role], tc.body)
			switch tc.want {
			case allowed:
				if r.Status == 401 || r.Status == 403 || r.Status >= 500 {
					t.Errorf("%s: got %d, want it allowed: %s", what, r.Status, trunc(r.Body))
				}
			case 403:
				checkError(t, env, what, r, 403, "FORBIDDEN")
			default:
				if r.Status != tc.want {
					t.Errorf("%s: got %d, want %d: %s", what, r.Status, tc.want, trunc(r.Body))
				}
			}
		}
	}
}

// TestAPIKeyHeaderCaseInsensitive: §1 says the header name is case-insensitive.
func TestAPIKeyHeaderCaseInsensitive(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, "sqlite")
	key := env.NewWorkspace("Case", "unlimited")
	for _, name := range []string{"x-api-key", "X-API-KEY", "X-Api-Key"} {
		req, _ := http.NewRequest("GET", env.URL+"/v4/workspaces", nil)
		req.Header[name] = []string{key} // bypass canonicalisation on the client
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("header %q: %d: %s", name, res.StatusCode, body)
		}
	}
	// A key with surrounding junk is not the key.
	r := env.Do("GET", "/v4/workspaces", key+"x", nil)
	checkError(t, env, "key with a trailing character", r, 401, "UNAUTHORIZED")
	r = env.Do("GET", "/v4/workspaces", strings.ToUpper(key), nil)
	checkError(t, env, "upper-cased key", r, 401, "UNAUTHORIZED")
}
