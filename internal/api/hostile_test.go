package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/agents"
	"github.com/firstmate-oss/firstmate/internal/api"
	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/config"
)

// hostileFixture is one workspace with an object for every path wildcard, so
// that bad bodies reach the decoder of every body-taking route.
type hostileFixture struct {
	env      *apitest.Env
	owner    string
	ops      member
	identity string
	invites  int
	schedule string // "" until the schedule routes exist
}

func newHostileFixture(t *testing.T, env *apitest.Env) *hostileFixture {
	f := &hostileFixture{env: env, owner: env.NewWorkspace("Hostile", "unlimited")}
	f.ops = addMember(t, env, f.owner, "ops@hostile.test", "ops")
	id := env.Must(200, "POST", "/v4/identities", f.owner, map[string]any{"name": "Hostile identity"}).Obj()
	f.identity = id["uid"].(string)
	if hasRoute(env, "POST", "/actions/{slug}/run/schedule") {
		sc := env.Must(200, "POST", "/v4/actions/googlemaps-search-places/run/schedule", f.owner,
			validBodies["POST /actions/{slug}/run/schedule"]).Obj()
		f.schedule, _ = sc["schedule_uid"].(string)
	}
	return f
}

// validBody is the valid body of a route, for this fixture.
func (f *hostileFixture) validBody(name string) (map[string]any, bool) {
	switch name {
	case "POST /api/schedules/manage":
		return map[string]any{"uid": f.schedule, "action": "pause"}, f.schedule != ""
	case "POST /identities/{uid}/integrations/{integration}/checkpoint":
		// A login waiting for its 2FA code (sandbox account), which the valid
		// body answers.
		f.env.Must(200, "POST", "/v4/identities/"+f.identity+"/integrations/linkedin", f.owner, map[string]any{
			"auth_data": map[string]any{"basic": map[string]any{"username": "2fa@sim.test", "password": "sandbox"}}})
		return map[string]any{"code": "123456"}, true
	}
	b, ok := validBodies[name]
	return b, ok
}

// invite returns a fresh invitation token.
func (f *hostileFixture) invite(t *testing.T) string {
	t.Helper()
	f.invites++
	inv := f.env.Must(201, "POST", "/v4/members", f.owner,
		map[string]any{"email": fmt.Sprintf("invitee%d@hostile.test", f.invites), "role": "user"}).Obj()
	return inv["token"].(string)
}

// path fills a route's wildcards with this workspace's objects. Unknown
// wildcards fail: add a value here for new routes.
func (f *hostileFixture) path(t *testing.T, rt *api.Route) string {
	t.Helper()
	return fill(rt.Path, func(name, resource string) string {
		switch resource + "/{" + name + "}" {
		case "members/{uid}":
			return f.ops.UID
		case "identities/{uid}":
			return f.identity
		case "integrations/{integration}":
			return "linkedin"
		case "actions/{slug}":
			return "googlemaps-search-places"
		case "schedules/{uid}":
			return f.schedule
		case "invitations/{token}":
			return f.invite(t)
		case "api-keys/{uid}":
			if strings.HasSuffix(rt.Path, "/mcp") {
				return principal(t, f.env, f.owner).KeyUID
			}
			return "unused"
		case "approvals/{uid}":
			// A fresh pending approval each time: a valid decision uses it up.
			ap, err := f.env.App.Agents.RequestApproval(context.Background(), principal(t, f.env, f.owner), agents.Policy{},
				"linkedin-like-post", "linkedin-like-post", []byte(`{"input":{"linkedin_post_url":"https://www.linkedin.com/posts/x"}}`))
			if err != nil {
				t.Fatal(err)
			}
			return ap.UID
		case "login-links/{token}":
			return "unused"
		}
		t.Errorf("%s: no hostile-input fixture for %s/{%s}: add one to hostileFixture.path in internal/api/hostile_test.go",
			routeName(rt), resource, name)
		return "missing"
	})
}

// validBodies are bodies each body-taking route accepts. The bad bodies are
// built from them, one defect at a time. A new body-taking route without an
// entry here fails TestHostileBodies.
var validBodies = map[string]map[string]any{
	"PUT /workspaces/settings":                          {"webhook_url": "https://example.com/hook", "engagement_enabled": false},
	"POST /members":                                     {"email": "someone@hostile.test", "role": "user"},
	"PATCH /members/{uid}":                              {"role": "ops"},
	"POST /invitations/{token}/accept":                  {"name": "Invitee", "password": "a long enough password"},
	"POST /api-keys":                                    {"name": "a key"},
	"POST /identities":                                  {"name": "Created by hostile test"},
	"PUT /identities/{uid}":                             {"name": "Renamed identity"},
	"POST /identities/{uid}/integrations/{integration}": {"auth_data": map[string]any{"cookies": map[string]any{"li_at": "AQEDAR-cookie"}}},
	"PUT /identities/{uid}/limits":                      {"profile_visits": 40},
	"POST /identities/{uid}/rent":                       {"days": 1},
	// {slug} is googlemaps-search-places (hostileFixture.path). Callbacks
	// go to example.com, which never answers here: deliveries just retry.
	"POST /actions/{slug}/run/live": {"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza",
		"custom_data": map[string]any{"note": "kept"}}},
	"POST /actions/{slug}/run/async": {"inputs": []any{map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza",
		"custom_data": map[string]any{"note": "kept"}}}, "callback": map[string]any{"url": "https://example.com/callback"}},
	"POST /actions/{slug}/run/schedule": {"inputs": []any{map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza",
		"custom_data": map[string]any{"note": "kept"}}}, "callback": map[string]any{"url": "https://example.com/callback"},
		"cron": "0 9 * * 1", "timezone": "Europe/Paris", "name": "Weekly"},
	"PATCH /schedules/{uid}": {"name": "Renamed schedule", "timezone": "Europe/Berlin"},

	// The early v4 and Edges aliases take the same bodies.
	"POST /users": {"name": "Created by the users alias"},
	"POST /api/actions/{slug}/async": {"inputs": []any{map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza",
		"custom_data": map[string]any{"note": "kept"}}}, "callback": map[string]any{"url": "https://example.com/callback"}},
	"POST /actions/{slug}/schedule": {"inputs": []any{map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza",
		"custom_data": map[string]any{"note": "kept"}}}, "callback": map[string]any{"url": "https://example.com/callback"},
		"cron": "0 9 * * 1", "timezone": "Europe/Paris", "name": "Weekly"},
	// POST /api/schedules/manage: see hostileFixture.validBody.

	"PUT /workspaces/mcp":     {"outreach_enabled": false, "approval_required": true, "approval_ttl_seconds": 600},
	"PUT /api-keys/{uid}/mcp": {"outreach_enabled": nil, "approval_required": true},
	"POST /approvals/{uid}":   {"decision": "reject"},
}

// textInjections puts hostile text where each route stores free text, as
// a JSON fragment replacing the string "kept" (or added as "x").
var textInjections = []struct{ name, raw string }{
	{"NUL in free text", `"a\u0000b"`},
	{"invalid UTF-8 in free text", "\"a\xff\xfeb\""},
	{"lone surrogate in free text", `"a\ud800b"`},
}

type badBody struct {
	name   string
	body   []byte
	status int    // 400 unless set
	msg    string // exact message, when the contract fixes it
	substr string // message substring
	// lenient accepts a success too: only a 5xx or a non-standard error
	// body fails. Free-form action data (custom_data) is the caller's to
	// shape; it must only never break the server.
	lenient bool
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func with(base map[string]any, k string, v any) map[string]any {
	c := map[string]any{}
	for kk, vv := range base {
		c[kk] = vv
	}
	if v == nil {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

// rawWith replaces property k of base with a raw JSON fragment.
func rawWith(base map[string]any, k, raw string) []byte {
	c := with(base, k, "\x01PLACEHOLDER\x01")
	b := mustJSON(c)
	return []byte(strings.Replace(string(b), `"\u0001PLACEHOLDER\u0001"`, raw, 1))
}

// badBodiesFor derives the hostile bodies of a route from its schema.
func badBodiesFor(rt *api.Route, valid map[string]any) []badBody {
	v := mustJSON(valid)
	out := []badBody{
		{name: "truncated JSON", body: v[:len(v)-1]},
		{name: "single quotes", body: []byte(`{'name': 'x'}`)},
		{name: "bare word", body: []byte(`hello`)},
		{name: "trailing garbage", body: append(append([]byte{}, v...), " garbage"...)},
		{name: "two values", body: append(append([]byte{}, v...), v...)},
		{name: "array instead of object", body: []byte("[" + string(v) + "]"), msg: closedMsg(rt, "body must be object")},
		{name: "string instead of object", body: []byte(`"body"`), msg: closedMsg(rt, "body must be object")},
		{name: "number instead of object", body: []byte(`42`), msg: closedMsg(rt, "body must be object")},
		{name: "null instead of object", body: []byte(`null`), msg: closedMsg(rt, "body must be object")},
		{name: "unknown field", body: mustJSON(with(valid, "x", 1)), msg: closedMsg(rt, "body must NOT have additional properties (x)")},
		{name: "raw NUL byte", body: []byte("{\"name\": \"a\x00b\"}")},
		{name: "deeply nested array", body: []byte(strings.Repeat("[", 30000) + strings.Repeat("]", 30000))},
		{name: "deeply nested value", body: rawWith(valid, "x", strings.Repeat(`{"a":`, 9000)+"1"+strings.Repeat("}", 9000))},
		{name: "absurd number", body: rawWith(valid, "x", "1e999999999")},
	}
	if rt.MaxBody <= 4<<20 {
		// The bulk routes' limit (128 MiB) is too big to send on a shared test box.
		out = append(out, badBody{name: "oversized body", body: rawWith(valid, "x", `"`+strings.Repeat("a", int(rt.MaxBody))+`"`), status: 413})
	}
	if kept := string(v); strings.Contains(kept, `"kept"`) {
		for _, in := range textInjections {
			out = append(out, badBody{name: in.name, body: []byte(strings.Replace(kept, `"kept"`, in.raw, 1)), lenient: true})
		}
	}
	if !rt.BodyOptional {
		out = append(out, badBody{name: "empty body", body: []byte{}}, badBody{name: "whitespace body", body: []byte(" \n\t")})
	}
	props, _ := rt.Body["properties"].(map[string]any)
	required, _ := rt.Body["required"].([]string)
	for _, r := range required {
		out = append(out, badBody{name: "missing " + r, body: mustJSON(with(valid, r, nil)),
			msg: "body must have required property '" + r + "'"})
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p, _ := props[k].(map[string]any)
		switch p["type"] {
		case "string":
			out = append(out,
				badBody{name: k + " as number", body: mustJSON(with(valid, k, 12345)), msg: "body/" + k + " must be string"},
				badBody{name: k + " as object", body: mustJSON(with(valid, k, map[string]any{"a": 1})), msg: "body/" + k + " must be string"},
				badBody{name: k + " with NUL", body: mustJSON(with(valid, k, "abc\x00def@x.test"))},
				badBody{name: k + " with invalid UTF-8", body: rawWith(valid, k, "\"abc\xff\xfedef\"")},
				badBody{name: k + " huge", body: mustJSON(with(valid, k, strings.Repeat("é", 30000)))},
			)
			if ml, ok := p["maxLength"].(int); ok {
				out = append(out, badBody{name: k + " one over maxLength", body: mustJSON(with(valid, k, strings.Repeat("x", ml+1))),
					msg: fmt.Sprintf("body/%s must NOT have more than %d characters", k, ml)})
			}
		case "boolean":
			out = append(out, badBody{name: k + " as string", body: mustJSON(with(valid, k, "true")), msg: "body/" + k + " must be boolean"})
		case "object":
			out = append(out,
				badBody{name: k + " as array", body: mustJSON(with(valid, k, []any{1})), msg: "body/" + k + " must be object"},
				badBody{name: k + " with invalid UTF-8 inside", body: rawWith(valid, k, "{\"a\":\"\xff\xfe\"}")},
				badBody{name: k + " with NUL inside", body: rawWith(valid, k, `{"a\u0000":"b\u0000"}`)},
			)
		}
	}
	return out
}

// closedMsg is msg when the route's own schema decides the message (a
// closed object schema), and "" (any message) when a decoder of its own does.
func closedMsg(rt *api.Route, msg string) string {
	if rt.Body != nil && rt.Body["additionalProperties"] == false {
		return msg
	}
	return ""
}

// TestHostileBodies throws a table of bad bodies at every body-taking route.
// Every answer is a 4xx in the standard body, logged with its error_ref;
// never a 5xx.
func TestHostileBodies(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		f := newHostileFixture(t, env)
		n := 0
		for _, rt := range env.App.API.Routes() {
			if rt.MaxBody == 0 {
				continue
			}
			name := routeName(rt)
			valid, ok := f.validBody(name)
			if !ok {
				t.Errorf("%s takes a body but validBodies (internal/api/hostile_test.go) has none for it: add a valid body", name)
				continue
			}
			key := f.owner
			if strings.HasPrefix(rt.Path, "/invitations/") {
				key = ""
			}
			// The valid body works, so the failures below are the defects'.
			if r := env.Do(rt.Method, "/v4"+f.path(t, rt), key, valid); r.Status >= 300 {
				t.Errorf("%s with its valid body: %d: %s", name, r.Status, trunc(r.Body))
			}
			for _, bb := range badBodiesFor(rt, valid) {
				what := fmt.Sprintf("%s, %s", name, bb.name)
				r := env.Do(rt.Method, "/v4"+f.path(t, rt), key, bb.body)
				want := bb.status
				if want == 0 {
					want = 400
				}
				if bb.lenient && r.Status < 300 {
					continue
				}
				if bb.lenient && r.Status >= 400 && r.Status < 500 {
					want = r.Status
				}
				body := checkError(t, env, what, r, want, "BAD_INPUT")
				n++
				if body == nil {
					continue
				}
				msg, _ := body["message"].(string)
				if bb.msg != "" && msg != bb.msg {
					t.Errorf("%s: message %q, want %q", what, msg, bb.msg)
				}
				if bb.substr != "" && !strings.Contains(msg, bb.substr) {
					t.Errorf("%s: message %q lacks %q", what, msg, bb.substr)
				}
			}
		}
		if n == 0 {
			t.Fatal("no body-taking route found")
		}
		t.Logf("%d hostile bodies checked", n)
	})
}

// TestHostileSpecifics covers the contract's named cases.
func TestHostileSpecifics(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		f := newHostileFixture(t, env)
		o := f.owner
		idPath := "/v4/identities/" + f.identity

		b := checkError(t, env, "create without name", env.Do("POST", "/v4/identities", o, "{}"), 400, "BAD_INPUT")
		if b != nil && b["message"] != "body must have required property 'name'" {
			t.Errorf("create without name: message %q", b["message"])
		}
		b = checkError(t, env, "create with an unknown field", env.Do("POST", "/v4/identities", o, `{"name":"Valid name","x":1}`), 400, "BAD_INPUT")
		if b != nil && b["message"] != "body must NOT have additional properties (x)" {
			t.Errorf("unknown field: message %q", b["message"])
		}
		checkError(t, env, "short name", env.Do("POST", "/v4/identities", o, `{"name":"ab"}`), 400, "BAD_INPUT")
		checkError(t, env, "blank name", env.Do("POST", "/v4/identities", o, `{"name":"     "}`), 400, "BAD_INPUT")

		// §4: a non-canonical zone is 400; the canonical one works.
		for _, tz := range []string{"Europe/Kiev", "US/Pacific", "Mars/Olympus", "europe/paris", "UTC+2", "Local", "../../etc/passwd"} {
			checkError(t, env, "timezone "+tz, env.Do("POST", "/v4/identities", o, map[string]any{"name": "Zoned", "timezone": tz}), 400, "BAD_INPUT")
			checkError(t, env, "update timezone "+tz, env.Do("PUT", idPath, o, map[string]any{"timezone": tz}), 400, "BAD_INPUT")
		}
		r := env.Must(200, "POST", "/v4/identities", o, map[string]any{"name": "Kyiv based", "timezone": "Europe/Kyiv"})
		if r.Obj()["timezone"] != "Europe/Kyiv" {
			t.Errorf("timezone: %s", r.Body)
		}
		if r := env.Must(200, "POST", "/v4/identities", o, map[string]any{"name": "Default zone"}); r.Obj()["timezone"] != "Europe/Paris" {
			t.Errorf("default timezone: %s", r.Body)
		}

		// §4: the type is immutable.
		checkError(t, env, "change type", env.Do("PUT", idPath, o, map[string]any{"type": "engagement"}), 400, "BAD_INPUT")
		checkError(t, env, "unknown type", env.Do("PUT", idPath, o, map[string]any{"type": "robot"}), 400, "BAD_INPUT")
		env.Must(200, "PUT", idPath, o, map[string]any{"type": "standard", "name": "Same type"})
		if got := env.Must(200, "GET", idPath, o, nil).Obj()["type"]; got != "standard" {
			t.Errorf("type after the refused change: %v", got)
		}

		// §4: unknown integrations are 404, on every integration route.
		for _, m := range []string{"POST", "GET", "DELETE"} {
			checkError(t, env, m+" unknown integration", env.Do(m, idPath+"/integrations/myspace", o,
				map[string]any{"auth_data": map[string]any{"token": "t"}}), 404, "NOT_FOUND")
		}
		checkError(t, env, "two auth methods", env.Do("POST", idPath+"/integrations/linkedin", o,
			map[string]any{"auth_data": map[string]any{"token": "t", "cookies": map[string]any{"li_at": "x"}}}), 400, "BAD_INPUT")
		checkError(t, env, "no auth method", env.Do("POST", idPath+"/integrations/linkedin", o,
			map[string]any{"auth_data": map[string]any{}}), 400, "BAD_INPUT")
		checkError(t, env, "hubspot with cookies", env.Do("POST", idPath+"/integrations/hubspot", o,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "x"}}}), 400, "BAD_INPUT")
		checkError(t, env, "blank li_at", env.Do("POST", idPath+"/integrations/linkedin", o,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "   "}}}), 400, "BAD_INPUT")
		checkError(t, env, "cookie of the wrong type", env.Do("POST", idPath+"/integrations/linkedin", o,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "x", "JSESSIONID": 5}}}), 400, "BAD_INPUT")

		// Hostile path values and query strings.
		for _, p := range []string{"%00", "a%00b", "%FF%FE", "..%2F..%2Fworkspaces", strings.Repeat("a", 4000), "%27%20OR%201=1--"} {
			for _, m := range []string{"GET", "PUT", "DELETE"} {
				checkError(t, env, m+" identity "+p[:min(len(p), 20)], env.Do(m, "/v4/identities/"+p, o, `{"name":"Renamed"}`), 404, "NOT_FOUND")
			}
			checkError(t, env, "PATCH member "+p[:min(len(p), 20)], env.Do("PATCH", "/v4/members/"+p, o, `{"role":"ops"}`), 404, "NOT_FOUND")
			checkError(t, env, "DELETE key "+p[:min(len(p), 20)], env.Do("DELETE", "/v4/api-keys/"+p, o, nil), 404, "NOT_FOUND")
			checkError(t, env, "GET integration "+p[:min(len(p), 20)], env.Do("GET", idPath+"/integrations/"+p, o, nil), 404, "NOT_FOUND")
			checkError(t, env, "login link "+p[:min(len(p), 20)], env.Do("GET", "/v4/login-links/"+p, "", nil), 404, "NOT_FOUND")
		}
		for _, q := range []string{"page=abc", "page=0", "page=-1", "page=1e3", "page=99999999999999999999", "retrieve_accounts=maybe",
			"query=" + strings.Repeat("q", 201), "query=%00", "query=a%FFb"} {
			checkError(t, env, "GET /identities?"+q[:min(len(q), 30)], env.Do("GET", "/v4/identities?"+q, o, nil), 400, "BAD_PARAMETERS")
		}
		for _, q := range []string{"query=%25", "query=_", "query=%5C", "query=%27", "page=1000000"} {
			if r := env.Do("GET", "/v4/identities?"+q, o, nil); r.Status != 200 || r.Arr() == nil {
				t.Errorf("GET /identities?%s: %d %s", q, r.Status, trunc(r.Body))
			}
		}
		// LIKE wildcards are literal.
		if n := len(env.Must(200, "GET", "/v4/identities?query=%25", o, nil).Arr()); n != 0 {
			t.Errorf("query=%% matched %d identities; %% must be literal", n)
		}

		// A body on a route that takes none: small ones are ignored, big ones are 413.
		env.Must(200, "GET", "/v4/workspaces", o, "{}")
		checkError(t, env, "GET with a 100 KB body", env.Do("GET", "/v4/workspaces", o, strings.Repeat("x", 100<<10)), 413, "BAD_INPUT")

		// Unknown routes and wrong methods, in the standard body.
		for _, p := range []string{"/v4/nope", "/nope", "/v4", "/v4/", "/", "/v2/identities", "/v4/identities/x/y/z", "/v4/workspaces/x"} {
			checkError(t, env, "GET "+p, env.Do("GET", p, o, nil), 404, "NOT_FOUND")
		}
		for _, c := range []struct{ method, path, allow string }{
			{"DELETE", "/v4/workspaces", "GET"},
			{"PATCH", "/v4/identities", "GET, POST"},
			{"POST", "/v1/workspaces/settings", "GET, PUT"},
			{"POST", "/healthz", "GET"},
			{"PUT", "/v4/openapi.json", "GET"},
			{"GET", "/v4/invitations/abc/accept", "POST"},
		} {
			r := env.Do(c.method, c.path, o, "{}")
			checkError(t, env, c.method+" "+c.path, r, 405, "")
			if got := r.Header.Get("Allow"); !strings.Contains(got, c.allow) {
				t.Errorf("%s %s: Allow %q, want it to list %s", c.method, c.path, got, c.allow)
			}
		}
	})
}

// TestConcurrentDuplicates: concurrent creates of the same thing leave one
// consistent row, and nothing answers 5xx.
func TestConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := start(t, apitest.NewStore(t, dialect), startOpts{plans: []config.Plan{
			{Name: "tiny", CreditsPerPeriod: 100, Identities: 3, ConcurrentRuns: 1},
		}})
		const n = 12

		// The same integration connected n times at once: one row, one uid,
		// and its credentials decrypt.
		o := env.NewWorkspace("Dup", "unlimited")
		id := env.Must(200, "POST", "/v4/identities", o, map[string]any{"name": "Dup identity"}).Obj()["uid"].(string)
		codes, bodies := parallel(n, func(i int) apitest.Resp {
			return env.Do("POST", "/v4/identities/"+id+"/integrations/linkedin", o,
				map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": fmt.Sprintf("cookie-%d", i)}}})
		})
		uids := map[string]bool{}
		for i, c := range codes {
			if c != 200 {
				t.Errorf("concurrent connect %d: %d %s", i, c, bodies[i])
				continue
			}
			var g map[string]any
			_ = json.Unmarshal(bodies[i], &g)
			uids[g["uid"].(string)] = true
		}
		if len(uids) != 1 {
			t.Errorf("concurrent connects answered %d different integration uids, want 1", len(uids))
		}
		p := principal(t, env, o)
		got, err := env.App.Identities.Get(context.Background(), p.WorkspaceID, id)
		if err != nil || len(got.Integrations) != 1 {
			t.Fatalf("after concurrent connects: %v, %d integrations", err, len(got.Integrations))
		}
		cred, err := env.App.Identities.OpenCredentials(got.Integrations[0])
		if err != nil {
			t.Errorf("credentials of the concurrently connected integration do not decrypt: %v", err)
		} else if !strings.HasPrefix(cred.Cookies["li_at"], "cookie-") {
			t.Errorf("li_at %q", cred.Cookies["li_at"])
		}

		// n identities at once on a 3-licence plan: exactly 3.
		tiny := env.NewWorkspace("Tiny", "tiny")
		codes, bodies = parallel(n, func(i int) apitest.Resp {
			return env.Do("POST", "/v4/identities", tiny, map[string]any{"name": fmt.Sprintf("Racer %d", i)})
		})
		count := map[int]int{}
		for i, c := range codes {
			count[c]++
			if c != 200 {
				b, problems := standardErrorProblems(bodies[i], c)
				if c != 402 || b["error_label"] != "NO_ACCESS" || len(problems) > 0 {
					t.Errorf("concurrent create %d: %d %s %v", i, c, bodies[i], problems)
				}
			}
		}
		if count[200] != 3 || count[402] != n-3 {
			t.Errorf("concurrent creates on a 3-licence plan: %v, want 3×200 and %d×402", count, n-3)
		}
		if got := len(env.Must(200, "GET", "/v4/identities", tiny, nil).Arr()); got != 3 {
			t.Errorf("%d identities exist, want 3", got)
		}

		// One invitation token accepted n times at once: one member.
		inv := env.Must(201, "POST", "/v4/members", o, map[string]any{"email": "race@dup.test", "role": "ops"}).Obj()["token"].(string)
		codes, bodies = parallel(4, func(i int) apitest.Resp {
			return env.Do("POST", "/v4/invitations/"+inv+"/accept", "", map[string]any{"password": "a long enough password"})
		})
		count = map[int]int{}
		for i, c := range codes {
			count[c]++
			if c != 201 {
				if _, problems := standardErrorProblems(bodies[i], c); c != 404 || len(problems) > 0 {
					t.Errorf("concurrent accept %d: %d %s", i, c, bodies[i])
				}
			}
		}
		if count[201] != 1 {
			t.Errorf("concurrent accepts of one token: %v, want exactly one 201", count)
		}

		// Two invitations for one email, accepted at once: one member, one 409.
		t1 := env.Must(201, "POST", "/v4/members", o, map[string]any{"email": "twice@dup.test", "role": "user"}).Obj()["token"].(string)
		t2 := env.Must(201, "POST", "/v4/members", o, map[string]any{"email": "twice@dup.test", "role": "ops"}).Obj()["token"].(string)
		codes, bodies = parallel(2, func(i int) apitest.Resp {
			return env.Do("POST", "/v4/invitations/"+[]string{t1, t2}[i]+"/accept", "", map[string]any{"password": "a long enough password"})
		})
		count = map[int]int{}
		for i, c := range codes {
			count[c]++
			if c != 201 {
				if b, problems := standardErrorProblems(bodies[i], c); c != 409 || b["error_label"] != "CONFLICT" || len(problems) > 0 {
					t.Errorf("accepting the second invitation of one email: %d %s", c, bodies[i])
				}
			}
		}
		if count[201] != 1 {
			t.Errorf("two invitations of one email accepted at once: %v, want one 201 and one 409", count)
		}
		members := 0
		for _, m := range env.Must(200, "GET", "/v4/members", o, nil).Arr() {
			if m.(map[string]any)["email"] == "twice@dup.test" {
				members++
			}
		}
		if members != 1 {
			t.Errorf("%d members with one email", members)
		}
		// Inviting an existing member is a conflict.
		checkError(t, env, "invite an existing member", env.Do("POST", "/v4/members", o,
			map[string]any{"email": "TWICE@dup.test", "role": "user"}), 409, "CONFLICT")
	})
}

// parallel runs fn n times at once and returns the statuses and bodies.
func parallel(n int, fn func(i int) apitest.Resp) ([]int, [][]byte) {
	codes := make([]int, n)
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-startGate
			r := fn(i)
			codes[i], bodies[i] = r.Status, r.Body
		}(i)
	}
	close(startGate)
	wg.Wait()
	return codes, bodies
}
