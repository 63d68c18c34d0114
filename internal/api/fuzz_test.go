package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/api"
	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// fuzzTarget is one in-process Firstmate with a workspace to aim at.
type fuzzTarget struct {
	env    *apitest.Env
	keys   [3]string // none, owner, user
	values map[string]string
}

func newFuzzTarget(f *testing.F, dialect string) *fuzzTarget {
	env := start(f, apitest.NewStore(f, dialect), startOpts{discardLogs: true})
	owner := env.NewWorkspace("Fuzz", "unlimited")
	user := addMember(f, env, owner, "user@fuzz.test", "user")
	ops := addMember(f, env, owner, "ops@fuzz.test", "ops")
	id := env.Must(200, "POST", "/v4/identities", owner, map[string]any{"name": "Fuzzed identity"}).Obj()
	k := env.Must(201, "POST", "/v4/api-keys", owner, map[string]any{"name": "spare"}).Obj()
	return &fuzzTarget{env: env, keys: [3]string{"", owner, user.Key}, values: map[string]string{
		"members/{uid}": ops.UID, "identities/{uid}": id["uid"].(string), "api-keys/{uid}": k["uid"].(string),
		"integrations/{integration}": "linkedin",
	}}
}

// FuzzRequestDecoding sends arbitrary bodies, path values and query values
// to the routes of the table, in-process, and fails on any 5xx or any error
// that is not in the standard body. Plain `go test` runs the seeds only; run
// `go test -run '^$' -fuzz FuzzRequestDecoding ./internal/api` to search.
func FuzzRequestDecoding(f *testing.F) {
	var targets []*fuzzTarget
	for _, d := range apitest.Dialects(f) {
		targets = append(targets, newFuzzTarget(f, d))
	}
	routes := targets[0].env.App.API.Routes()

	for i, rt := range routes {
		valid := []byte("{}")
		if b, ok := validBodies[routeName(rt)]; ok {
			valid = mustJSON(b)
		}
		f.Add(uint8(i), "", valid, "", uint8(1), false)
		if rt.Body != nil || len(pathParams(rt.Path)) > 0 || len(rt.Query) > 0 {
			f.Add(uint8(i), "a\x00b", []byte(`{"name":"a\u0000b","email":"x\u0000@y.z","role":"ops","password":"\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"}`), "\x00", uint8(1), true)
			f.Add(uint8(i), "\xff\xfe", []byte("{\"name\":\"\xff\xfe\xfd\"}"), "\xff", uint8(1), false)
		}
	}
	f.Add(uint8(0), "x", []byte(strings.Repeat("[", 20000)), "", uint8(1), false)
	f.Add(uint8(0), "x", []byte(`{"smart_limit_overrides":{"a":{"b":[1,2,{"c":"\ud800"}]}}}`), "", uint8(2), false)
	f.Add(uint8(0), "%2F..%2F", []byte(`{"auth_data":{"cookies":{"li_at":"x","li_a":null}}}`), "1e400", uint8(0), true)

	f.Fuzz(func(t *testing.T, routeIdx uint8, pathValue string, body []byte, query string, who uint8, v1 bool) {
		rt := routes[int(routeIdx)%len(routes)]
		if pathValue == "." || pathValue == ".." {
			t.Skip("dot segments are cleaned and redirected by net/http before any route runs")
		}
		for _, tg := range targets {
			fuzzOne(t, tg, rt, pathValue, body, query, who, v1)
		}
	})
}

func fuzzOne(t *testing.T, tg *fuzzTarget, rt *api.Route, pathValue string, body []byte, query string, who uint8, v1 bool) {
	path := fill(rt.Path, func(name, resource string) string {
		if pathValue == "" {
			if v, ok := tg.values[resource+"/{"+name+"}"]; ok {
				return v
			}
			return "x"
		}
		return url.PathEscape(pathValue)
	})
	target := strings.TrimPrefix(path, "!")
	if !strings.HasPrefix(path, "!") {
		target = map[bool]string{false: "/v4", true: "/v1"}[v1] + path
	}
	if len(rt.Query) > 0 && query != "" {
		q := url.Values{}
		for _, p := range rt.Query {
			q.Set(p.Name, query)
		}
		target += "?" + q.Encode()
	}
	var rd *bytes.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(rt.Method, target, nil)
	if rd != nil {
		req = httptest.NewRequest(rt.Method, target, rd)
	}
	if k := tg.keys[int(who)%len(tg.keys)]; k != "" {
		req.Header.Set("X-API-Key", k)
	}
	rec := httptest.NewRecorder()
	tg.env.App.API.ServeHTTP(rec, req)
	res := rec.Result()
	raw := rec.Body.Bytes()
	what := rt.Method + " " + target
	if res.StatusCode >= 500 {
		t.Fatalf("%s (%d-byte body): %d: %s", what, len(body), res.StatusCode, trunc(raw))
	}
	if res.StatusCode >= 400 {
		if _, problems := standardErrorProblems(raw, res.StatusCode); len(problems) > 0 {
			t.Fatalf("%s: %d in a non-standard body %v: %s", what, res.StatusCode, problems, trunc(raw))
		}
		return
	}
	if res.StatusCode >= 300 {
		t.Fatalf("%s: unexpected %d: %s", what, res.StatusCode, trunc(raw))
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && !json.Valid(raw) {
		t.Fatalf("%s: %d with invalid JSON: %s", what, res.StatusCode, trunc(raw))
	}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusCreated {
		t.Fatalf("%s: unexpected success status %d", what, res.StatusCode)
	}
}
