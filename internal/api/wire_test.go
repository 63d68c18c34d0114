package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/reftest"
	"github.com/firstmate-oss/firstmate/internal/sim"
	"github.com/firstmate-oss/firstmate/internal/validate"
)

// Wire fidelity (issue 14, "Requests and responses"): each test here checks
// one item through the HTTP API, against the contract or the reference
// file, on both databases where storage is involved. Helpers are prefixed
// "wire".

// wireReference loads the vendor reference (skipped when it is absent, as
// the catalogue's reference tests are, and failed when CI requires it).
func wireReference(t testing.TB) map[string]any {
	t.Helper()
	raw := reftest.Read(t, reftest.ActionsOpenAPI)
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// wireResolve follows a components $ref of the reference.
func wireResolve(doc map[string]any, v any) map[string]any {
	m, _ := v.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		return wireResolve(doc, doc["components"].(map[string]any)["schemas"].(map[string]any)[name])
	}
	return m
}

// wireBody is the reference's request body schema of an action's mode.
func wireBody(doc map[string]any, slug, mode string) map[string]any {
	p, _ := doc["paths"].(map[string]any)["/actions/"+slug+"/run/"+mode].(map[string]any)
	if p == nil {
		return nil
	}
	post := p["post"].(map[string]any)
	return post["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
}

type wireOpts struct {
	plans  []config.Plan
	pool   string // FIRSTMATE_PROXY_POOL
	noJobs bool   // async runs are stored but never worked
}

// wireStart opens Firstmate on a fresh store of dialect with extra plans,
// an optional proxy pool, and the job workers unless noJobs.
func wireStart(t testing.TB, dialect string, o wireOpts) *apitest.Env {
	t.Helper()
	st := apitest.NewStore(t, dialect)
	cfg := st.Config()
	cfg.ProxyPool = o.pool
	if len(o.plans) > 0 {
		data, err := json.Marshal(o.plans)
		if err != nil {
			t.Fatal(err)
		}
		cfg.PlansFile = filepath.Join(t.TempDir(), "plans.json")
		if err := os.WriteFile(cfg.PlansFile, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logs := &apitest.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	srv := httptest.NewUnstartedServer(a.API)
	a.Cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	srv.Start()
	if !o.noJobs {
		if err := a.Jobs.Start(context.Background()); err != nil {
			t.Fatalf("start jobs: %v", err)
		}
	}
	env := &apitest.Env{T: t, Store: st, App: a, Server: srv, URL: srv.URL, Logs: logs}
	t.Cleanup(env.Close)
	return env
}

// wireWaitRun polls a run until it is terminal (bounded, not timed: the
// deadline only keeps a broken run from hanging the suite).
func wireWaitRun(t testing.TB, env *apitest.Env, key, uid string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		r := env.Must(200, "GET", "/v4/runs/"+uid, key, nil).Obj()
		switch r["status"] {
		case "SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "STOPPED", "INVALID":
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still %v", uid, r["status"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wireFix is a fixed set of well-formed entity URLs: enough for a request
// to pass validation (what the platform then says of them does not matter).
var wireFix = lvFix{
	profile: "https://www.linkedin.com/in/ada-lovelace", company: "https://www.linkedin.com/company/acme/",
	post: "https://www.linkedin.com/posts/ada_post-1", event: "https://www.linkedin.com/events/7123456789/",
	group: "https://www.linkedin.com/groups/12345/", job: "https://www.linkedin.com/jobs/view/123456/",
	school: "https://www.linkedin.com/school/oxford/", snid: "ACwAAAAbc123", thread: "2-abcDEF==",
	connection: "https://www.linkedin.com/in/alan-turing",
}

// wireInput is a well-formed input of every catalogue action.
func wireInput(t *testing.T, a *catalog.Action) map[string]any {
	t.Helper()
	switch a.Slug {
	case "hubspot-upsert-contact":
		return map[string]any{"email": "ada@example.com"}
	case "hubspot-search-contacts":
		return map[string]any{"query": "ada"}
	}
	s, ok := lvSamples[a.Slug]
	if !ok {
		t.Fatalf("no sample input for %s", a.Slug)
	}
	return s.input(wireFix, 0)
}

// TestWireEmptyParameters (item 7): "parameters": {} and null are accepted
// on every action in every mode, whether or not the reference gives the
// mode any parameters; only unknown keys inside are refused.
func TestWireEmptyParameters(t *testing.T) {
	doc := wireReference(t)
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := wireStart(t, dialect, wireOpts{noJobs: true})
		key := env.NewWorkspace("Empty parameters", "unlimited")
		// An identity without any integration: calls that need an account
		// stop at 424 after the body was accepted, and touch no platform.
		uid := lvIdentity(t, env, key, "No account", "")
		checked := 0
		for _, a := range catalog.All() {
			input := wireInput(t, a)
			for _, mode := range []string{"live", "async", "schedule"} {
				// What the reference requires inside parameters, if anything.
				var required []any
				if ref := wireBody(doc, a.Slug, mode); ref != nil {
					if p, ok := ref["properties"].(map[string]any)["parameters"]; ok {
						required, _ = wireResolve(doc, p)["required"].([]any)
					}
				} else if !a.Extension {
					t.Fatalf("%s %s: not in the reference", a.Slug, mode)
				}
				body := func(params any) map[string]any {
					b := map[string]any{"parameters": params}
					if mode == "live" {
						if a.LiveInput {
							b["input"] = input
						}
					} else {
						b["inputs"] = []any{input}
						b["callback"] = map[string]any{"url": "https://example.com/callback"}
					}
					if mode == "schedule" {
						b["cron"] = "0 9 * * 1"
					}
					if a.AcceptsIdentityIn(mode).IDs {
						b["identity_ids"] = []string{uid}
					}
					return b
				}
				path := "/v4/actions/" + a.Slug + "/run/" + mode
				for _, params := range []any{map[string]any{}, nil} {
					what := fmt.Sprintf("%s %s with parameters %v", a.Slug, mode, params)
					r := env.Do("POST", path, key, body(params))
					if len(required) > 0 {
						// Nothing to accept: the reference requires members inside.
						p := checkError(t, env, what, r, 400, "BAD_PARAMETERS")
						if msg, _ := p["message"].(string); !strings.HasPrefix(msg, "body/parameters must have required property") {
							t.Errorf("%s: %q, want the missing required parameter", what, msg)
						}
						continue
					}
					switch {
					case mode != "live" && r.Status == 200:
					case mode == "live" && (r.Status == 200 || r.Status == 424):
					default:
						t.Errorf("%s: %d %s", what, r.Status, trunc(r.Body))
					}
					checked++
				}
				r := env.Do("POST", path, key, body(map[string]any{"zz_unknown": true}))
				p := checkError(t, env, a.Slug+" "+mode+" with an unknown parameter", r, 400, "BAD_PARAMETERS")
				if msg, _ := p["message"].(string); len(required) == 0 && msg != "body/parameters must NOT have additional properties (zz_unknown)" {
					t.Errorf("%s %s with an unknown parameter: %q", a.Slug, mode, msg)
				}
			}
		}
		if checked < 300 {
			t.Fatalf("only %d accepted calls checked", checked)
		}
	})
}

// TestWireRunListDefaults (item 8): GET /runs sorts by created_at ascending
// by default (the reference's default), takes the reference's comma form of
// sort, and GET /runs/{uid}/outputs pages 100 at a time by default.
func TestWireRunListDefaults(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := wireStart(t, dialect, wireOpts{})
		key := env.NewWorkspace("Run defaults", "unlimited")
		var made []string
		for i := 0; i < 4; i++ {
			r := lvLive(env, key, "googlemaps-extract-place", map[string]any{"input": map[string]any{
				"google_maps_place_url": fmt.Sprintf("https://www.google.com/maps/place/Cafe+%d/", i)}}, "")
			if r.Status != 200 {
				t.Fatalf("live %d: %d %s", i, r.Status, trunc(r.Body))
			}
			made = append(made, r.Header.Get("X-Run-Uid"))
			time.Sleep(5 * time.Millisecond) // distinct created_at milliseconds
		}
		uids := func(q string) []string {
			var out []string
			for _, x := range env.Must(200, "GET", "/v4/runs"+q, key, nil).Arr() {
				out = append(out, x.(map[string]any)["uid"].(string))
			}
			return out
		}
		rev := make([]string, len(made))
		for i, u := range made {
			rev[len(made)-1-i] = u
		}
		for q, want := range map[string][]string{
			"":                  made,
			"?sort=created_at":  made,
			"?sort=-created_at": rev,
			"?sort=" + url.QueryEscape("-created_at, status"): rev,
			"?sort[]=-created_at&sort[]=status":               rev,
		} {
			if got := uids(q); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("GET /runs%s: %v, want %v", q, got, want)
			}
		}
		checkError(t, env, "sort on an unknown column", env.Do("GET", "/v4/runs?sort=-created_at,nope", key, nil), 400, "BAD_PARAMETERS")

		// One async search whose inputs bring more than 100 results.
		sub := env.Must(200, "POST", "/v4/actions/googlemaps-search-places/run/async", key, map[string]any{
			"inputs": []any{map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/bakery+in+lyon/"},
				map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza+in+paris/"}},
			"parameters": map[string]any{"max_results": 150},
			"callback":   map[string]any{"url": "https://example.com/callback", "on": "final"}}).Obj()
		run := wireWaitRun(t, env, key, sub["run_uid"].(string))
		total := int(run["output_count"].(float64))
		if total <= 100 {
			t.Fatalf("the search brought %d results; the test needs more than 100: %v", total, run)
		}
		out := env.Must(200, "GET", "/v4/runs/"+run["uid"].(string)+"/outputs", key, nil).Arr()
		if len(out) != 100 {
			t.Errorf("GET /runs/{uid}/outputs without limit: %d results of %d, want 100", len(out), total)
		}
		rest := env.Must(200, "GET", "/v4/runs/"+run["uid"].(string)+"/outputs?offset=100", key, nil).Arr()
		if len(rest) != total-100 {
			t.Errorf("outputs from offset 100: %d, want %d", len(rest), total-100)
		}
	})
}

// TestWireRateLimitHeadersOnEveryAnswer (item 13): the X-RateLimit headers
// come with refusals too: 403, a route that does not exist (404), and a
// method the path does not take (405), each counted in its route group.
func TestWireRateLimitHeadersOnEveryAnswer(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		clk := newClock(t0)
		env := start(t, apitest.NewStore(t, dialect), startOpts{now: clk.Now, plans: []config.Plan{minutePlan}})
		owner := env.NewWorkspace("Headers", "minute") // 5 a minute per group
		user := addMember(t, env, owner, "user@headers.test", "user")
		id := env.Must(200, "POST", "/v4/identities", owner, map[string]any{"name": "Headers identity"}).Obj()["uid"].(string)
		clk.Add(time.Hour)
		minuteEnd := clk.Now().Truncate(time.Minute).Add(time.Minute)
		for _, c := range []struct {
			method, path, key string
			status            int
			group             string
			remaining         int
		}{
			{"POST", "/v4/identities", user.Key, 403, "identities", 4},
			{"DELETE", "/v4/identities/" + id, user.Key, 403, "identities", 3},
			{"PATCH", "/v4/identities/" + id, owner, 405, "identities", 2},
			{"GET", "/v4/nothing-here", owner, 404, "workspace", 4},
			{"DELETE", "/v4/workspaces", owner, 405, "workspace", 3},
			{"GET", "/v1/runs/" + id + "/nothing", owner, 404, "runs", 4},
			{"GET", "/v4/schedules/" + id + "/nothing", owner, 404, "runs", 3},
			{"GET", "/v4/identities/" + id + "/nothing", user.Key, 404, "identities", 1},
		} {
			what := c.method + " " + c.path
			r := env.Do(c.method, c.path, c.key, nil)
			checkError(t, env, what, r, c.status, "")
			checkRateHeaders(t, what, r, 5, c.remaining, minuteEnd, c.group)
		}
		// They count: the identities group has one request left.
		r := env.Do("GET", "/v4/identities", owner, nil)
		checkRateHeaders(t, "GET /v4/identities", r, 5, 0, minuteEnd, "identities")
		checkError(t, env, "over the limit after refusals", env.Do("GET", "/v4/identities", owner, nil), 429, "STATUS_429")
		// A bad key learns nothing: no headers, the plain 404.
		r = env.Do("GET", "/v4/nothing-here", randomKey(), nil)
		checkError(t, env, "unknown route, unknown key", r, 404, "NOT_FOUND")
		if h := r.Header.Get("X-RateLimit-Limit"); h != "" {
			t.Errorf("an unknown key got X-RateLimit-Limit %q", h)
		}
	})
}

// TestWireLoginLinksAndIntegrationShape (items 10 and 11): login links
// answer {"linkedin": URL} at the top level (the identity object keeps
// identity_login_links); an integration is named after the account
// (account_name, else the platform's name for it), its
// integration_permalink is the integration slug, and the profile URL has
// its own field.
func TestWireLoginLinksAndIntegrationShape(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := wireStart(t, dialect, wireOpts{noJobs: true})
		key := env.NewWorkspace("Shapes", "unlimited")
		id := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Shape identity"}).Obj()
		uid := id["uid"].(string)
		if l, _ := id["identity_login_links"].(map[string]any); !strings.Contains(fmt.Sprint(l["linkedin"]), "/connect/") {
			t.Errorf("the identity object lost identity_login_links: %v", id)
		}
		for _, p := range []string{"/generate-login-links", "/login-links"} {
			for _, prefix := range []string{"/v4", "/v1"} {
				b := env.Must(200, "POST", prefix+"/identities/"+uid+p, key, nil).Obj()
				link, _ := b["linkedin"].(string)
				if !strings.HasPrefix(link, "http") || !strings.Contains(link, "/connect/") {
					t.Errorf("%s%s: %v, want {\"linkedin\": URL}", prefix, p, b)
				}
				for k, v := range b {
					if _, ok := v.(string); !ok {
						t.Errorf("%s%s: member %s is %T, want a URL string", prefix, p, k, v)
					}
				}
			}
		}

		platformName := func(cookie string) (name, profileURL string) {
			req, _ := http.NewRequest("GET", env.App.SimURL+"/linkedin/me", nil)
			req.AddCookie(&http.Cookie{Name: "li_at", Value: cookie})
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var me struct {
				Profile struct {
					FirstName, LastName string
					ProfileURL          string `json:"profileUrl"`
				} `json:"profile"`
			}
			if err := json.NewDecoder(res.Body).Decode(&me); err != nil {
				t.Fatal(err)
			}
			return me.Profile.FirstName + " " + me.Profile.LastName, me.Profile.ProfileURL
		}
		connect := func(uid, integ string, body map[string]any) map[string]any {
			return env.Must(200, "POST", "/v4/identities/"+uid+"/integrations/"+integ, key, body).Obj()
		}
		cookie := func(c string) map[string]any {
			return map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": c}}}
		}

		// No account_name: the platform's name for the account.
		name, profile := platformName("sim_classic")
		g := connect(uid, "linkedin", cookie("sim_classic"))
		if g["status"] != "VALID" || g["name"] != name || g["integration_permalink"] != "linkedin" || g["profile_url"] != profile {
			t.Errorf("linkedin without account_name: name %v permalink %v profile_url %v, want %q linkedin %q: %v",
				g["name"], g["integration_permalink"], g["profile_url"], name, profile, g)
		}
		// account_name wins, on connect and on reads.
		b := cookie("sim_classic")
		b["account_name"] = "Ada's work account"
		connect(uid, "linkedin", b)
		g = env.Must(200, "GET", "/v4/identities/"+uid+"/integrations/linkedin", key, nil).Obj()
		if g["name"] != "Ada's work account" || g["profile_url"] != profile {
			t.Errorf("with account_name: %v", g)
		}
		listed := env.Must(200, "GET", "/v4/identities/"+uid, key, nil).Obj()["integrations"].([]any)
		if len(listed) != 1 || listed[0].(map[string]any)["name"] != "Ada's work account" {
			t.Errorf("the identity's integrations: %v", listed)
		}
		// The integration slug, for a Sales Navigator account.
		sn := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Shape salesnav"}).Obj()["uid"].(string)
		g = connect(sn, "salesnavigator", cookie("sim_salesnav"))
		snName, snProfile := platformName("sim_salesnav")
		if g["integration_permalink"] != "salesnavigator" || g["name"] != snName || g["profile_url"] != snProfile {
			t.Errorf("salesnavigator: %v", g)
		}
		// A login through a checkpoint keeps the name given on connect.
		lg := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Shape login"}).Obj()["uid"].(string)
		g = connect(lg, "linkedin", map[string]any{"account_name": "Two-factor account",
			"auth_data": map[string]any{"basic": map[string]any{"username": "2fa@sim.test", "password": sim.SandboxPassword}}})
		if g["status"] != "PENDING" || g["name"] != "Two-factor account" {
			t.Fatalf("login waiting for its code: %v", g)
		}
		g = env.Must(200, "POST", "/v4/identities/"+lg+"/integrations/linkedin/checkpoint", key, map[string]any{"code": "123456"}).Obj()
		if g["status"] != "VALID" || g["name"] != "Two-factor account" || !strings.HasPrefix(fmt.Sprint(g["profile_url"]), "https://www.linkedin.com/in/") {
			t.Errorf("after the checkpoint: %v", g)
		}
	})
}

// wireOwnData lists, by hand from the reference's descriptions of the
// actions, those that read the running account's own data: its inbox, its
// network, who viewed it, what it sent, its saved lists.
var wireOwnData = []string{
	"linkedin-extract-conversations", "linkedin-extract-messages", "linkedin-extract-messages-legacy",
	"linkedin-extract-connections", "linkedin-extract-followers", "linkedin-extract-profile-viewers",
	"linkedin-extract-sent-invitations", "salesnavigator-extract-leads-list", "salesnavigator-extract-accounts-list",
}

// TestWireManagedOwnData (item 12): managed identities run extraction and
// search of public data only. Reading a pool account's own data is refused
// with the very 400 outreach gets, in every mode, and nothing runs.
func TestWireManagedOwnData(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := wireStart(t, dialect, wireOpts{noJobs: true})
		key := env.NewWorkspace("Managed own data", "unlimited")
		body := func(slug, mode string) map[string]any {
			a := lvAction(t, slug)
			b := map[string]any{"identity_mode": "managed", "identity_ids": []string{}}
			in := wireInput(t, a)
			if mode == "live" {
				if a.LiveInput {
					b["input"] = in
				}
			} else {
				b["inputs"] = []any{in}
				b["callback"] = map[string]any{"url": "https://example.com/callback"}
			}
			if mode == "schedule" {
				b["cron"] = "0 9 * * 1"
			}
			return b
		}
		for _, mode := range []string{"live", "async", "schedule"} {
			outreach := env.Do("POST", "/v4/actions/linkedin-connect-profile/run/"+mode, key, body("linkedin-connect-profile", mode))
			want := checkError(t, env, "outreach in managed mode", outreach, 400, "BAD_INPUT")
			for _, slug := range wireOwnData {
				r := env.Do("POST", "/v4/actions/"+slug+"/run/"+mode, key, body(slug, mode))
				got := checkError(t, env, slug+" "+mode+" in managed mode", r, 400, "BAD_INPUT")
				if got != nil && want != nil && (got["message"] != want["message"] || fmt.Sprint(got["params"]) != fmt.Sprint(want["params"])) {
					t.Errorf("%s %s: %v %v, want the outreach refusal %v %v", slug, mode, got["message"], got["params"], want["message"], want["params"])
				}
			}
		}
		if n := len(env.Must(200, "GET", "/v4/runs", key, nil).Arr()); n != 0 {
			t.Errorf("refused calls recorded %d runs", n)
		}
		if n := len(env.Must(200, "GET", "/v4/schedules", key, nil).Arr()); n != 0 {
			t.Errorf("refused calls recorded %d schedules", n)
		}
		// Public data still runs on the pool.
		r := lvLive(env, key, "linkedin-extract-people", map[string]any{"identity_mode": "managed", "identity_ids": []string{},
			"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/ada-lovelace"}}, "")
		if r.Status != 200 {
			t.Errorf("a public extraction in managed mode: %d %s", r.Status, trunc(r.Body))
		}
		d := env.Must(200, "GET", "/v4/actions/linkedin-extract-connections", key, nil).Obj()
		if d["managed_identities"] != false {
			t.Errorf("GET /actions/linkedin-extract-connections: managed_identities %v", d["managed_identities"])
		}
	})
}

// wireActionID is the documented action_id: the 31-bit FNV-1a hash of the
// slug.
func wireActionID(slug string) float64 {
	h := fnv.New32a()
	h.Write([]byte(slug))
	return float64(h.Sum32() & 0x7fffffff)
}

var wireCreditPlans = []config.Plan{
	{Name: "wire-credits-0", CreditsPerPeriod: 0, Identities: 10, ConcurrentRuns: 2},
	{Name: "wire-credits-3", CreditsPerPeriod: 3, Identities: 10, ConcurrentRuns: 2},
}

// TestWireRunAndScheduleFields (item 14): the reference's action_id and
// synced_at on runs, synced_at on the async reply, action_id and
// postponed_until on schedules; last_error always carries params, and a
// PARTIAL_SUCCEEDED run says what failed.
func TestWireRunAndScheduleFields(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := wireStart(t, dialect, wireOpts{plans: wireCreditPlans})
		key := env.NewWorkspace("Run fields", "unlimited")
		place := func(name string) map[string]any {
			return map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/" + name + "/"}
		}

		// A live run: synced when it answered.
		r := lvLive(env, key, "googlemaps-extract-place", map[string]any{"input": place("Cafe+Lumiere")}, "")
		if r.Status != 200 {
			t.Fatalf("live: %d %s", r.Status, trunc(r.Body))
		}
		run := env.Must(200, "GET", "/v4/runs/"+r.Header.Get("X-Run-Uid"), key, nil).Obj()
		if run["action_id"] != wireActionID("googlemaps-extract-place") || run["synced_at"] == nil || run["synced_at"] != run["finished_at"] {
			t.Errorf("live run: action_id %v (want %v), synced_at %v, finished_at %v", run["action_id"],
				wireActionID("googlemaps-extract-place"), run["synced_at"], run["finished_at"])
		}
		if d := env.Must(200, "GET", "/v4/actions/googlemaps-extract-place", key, nil).Obj(); d["id"] != run["action_id"] {
			t.Errorf("GET /actions/{slug} id %v, the run's action_id %v", d["id"], run["action_id"])
		}
		ids := map[float64]string{}
		for _, a := range env.Must(200, "GET", "/v4/actions", key, nil).Arr() {
			m := a.(map[string]any)
			if m["id"] != wireActionID(m["slug"].(string)) {
				t.Errorf("%s: id %v, want %v", m["slug"], m["id"], wireActionID(m["slug"].(string)))
			}
			if other, dup := ids[m["id"].(float64)]; dup {
				t.Errorf("%s and %s share id %v", other, m["slug"], m["id"])
			}
			ids[m["id"].(float64)] = m["slug"].(string)
		}

		// A failed live run: last_error carries params, even empty ones; it
		// synced nothing.
		broke := env.NewWorkspace("Run fields broke", "wire-credits-0")
		r = lvLive(env, broke, "googlemaps-extract-place", map[string]any{"input": place("Cafe+Lumiere")}, "")
		lvErr(t, "no credits", r, 402, "NO_ACCESS")
		for _, p := range []string{"/v4/runs/" + r.Header.Get("X-Run-Uid"), "/v4/runs/" + r.Header.Get("X-Run-Uid") + "/status"} {
			fr := env.Must(200, "GET", p, broke, nil).Obj()
			le, _ := fr["last_error"].(map[string]any)
			if params, ok := le["params"].(map[string]any); !ok || len(params) != 0 || le["label"] != "NO_ACCESS" {
				t.Errorf("GET %s: last_error %v, want NO_ACCESS with params {}", p, fr["last_error"])
			}
			if v, ok := fr["synced_at"]; !ok || v != nil {
				t.Errorf("GET %s: synced_at %v (present %v), want null", p, v, ok)
			}
		}

		// An async run, one of whose two inputs names a place that does not
		// exist: the reply has synced_at (null yet), the run ends
		// PARTIAL_SUCCEEDED and says what failed.
		sub := env.Must(200, "POST", "/v4/actions/googlemaps-extract-place/run/async", key, map[string]any{
			"inputs":   []any{place("Cafe+Lumiere"), place("missing-place")},
			"callback": map[string]any{"url": "https://example.com/callback", "on": "final"}}).Obj()
		if v, ok := sub["synced_at"]; !ok || v != nil {
			t.Errorf("async reply: synced_at %v (present %v), want null", v, ok)
		}
		run = wireWaitRun(t, env, key, sub["run_uid"].(string))
		le, _ := run["last_error"].(map[string]any)
		params, _ := le["params"].(map[string]any)
		if run["status"] != "PARTIAL_SUCCEEDED" || le["label"] != "STATUS_404" || params["failed_count"] != "1" ||
			params["input_count"] != "2" || params["input_index"] != "1" || !strings.Contains(fmt.Sprint(le["message"]), "1 of 2 inputs failed") {
			t.Errorf("partial run: status %v, last_error %v", run["status"], run["last_error"])
		}
		if run["synced_at"] == nil || run["action_id"] != wireActionID("googlemaps-extract-place") {
			t.Errorf("async run: synced_at %v action_id %v", run["synced_at"], run["action_id"])
		} else {
			synced, _ := time.Parse(time.RFC3339Nano, run["synced_at"].(string))
			started, _ := time.Parse(time.RFC3339Nano, run["started_at"].(string))
			finished, _ := time.Parse(time.RFC3339Nano, run["finished_at"].(string))
			if synced.Before(started) || synced.After(finished) {
				t.Errorf("async run synced at %v, outside %v..%v", synced, started, finished)
			}
		}
		// A run whose every input failed says so too.
		sub = env.Must(200, "POST", "/v4/actions/googlemaps-extract-place/run/async", key, map[string]any{
			"inputs": []any{place("missing-one")}, "callback": map[string]any{"url": "https://example.com/callback", "on": "final"}}).Obj()
		run = wireWaitRun(t, env, key, sub["run_uid"].(string))
		if le, _ := run["last_error"].(map[string]any); run["status"] != "FAILED" || le["label"] != "STATUS_404" {
			t.Errorf("failed run: %v %v", run["status"], run["last_error"])
		}

		// Schedules: action_id, and postponed_until while the last run they
		// created waits on a Smart Limit.
		sc := env.Must(200, "POST", "/v4/actions/googlemaps-extract-place/run/schedule", key, map[string]any{
			"inputs": []any{place("Cafe+Lumiere")}, "callback": map[string]any{"url": "https://example.com/callback"},
			"cron": "0 9 * * 1"}).Obj()
		scUID := sc["schedule_uid"].(string)
		got := env.Must(200, "GET", "/v4/schedules/"+scUID, key, nil).Obj()
		if v, ok := got["postponed_until"]; !ok || v != nil || got["action_id"] != wireActionID("googlemaps-extract-place") {
			t.Errorf("schedule: postponed_until %v (present %v), action_id %v", v, ok, got["action_id"])
		}
		// The last run it created, postponed (the database is the only way to
		// make a schedule's run wait on a limit without waiting for cron).
		waiting := env.Must(200, "POST", "/v4/actions/googlemaps-extract-place/run/async", key, map[string]any{
			"inputs": []any{place("Cafe+Lumiere")}, "callback": map[string]any{"url": "https://example.com/callback", "on": "final"}}).Obj()
		wireWaitRun(t, env, key, waiting["run_uid"].(string))
		until := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
		execSQL(t, env, `UPDATE runs SET postponed_until = $1 WHERE uid = $2`, until.UnixMilli(), waiting["run_uid"])
		execSQL(t, env, `UPDATE schedules SET last_run_uid = $1 WHERE uid = $2`, waiting["run_uid"], scUID)
		for _, p := range []string{"/v4/schedules/" + scUID, "/v4/api/schedules/get?uid=" + scUID} {
			got = env.Must(200, "GET", p, key, nil).Obj()
			if got["postponed_until"] != until.Format(time.RFC3339) {
				t.Errorf("GET %s: postponed_until %v, want %s", p, got["postponed_until"], until.Format(time.RFC3339))
			}
		}
		list := env.Must(200, "GET", "/v4/schedules", key, nil).Arr()
		if len(list) != 1 || list[0].(map[string]any)["postponed_until"] != until.Format(time.RFC3339) {
			t.Errorf("GET /schedules: %v", list)
		}
	})
}

// TestWireAliases (item 15): the early v4 and Edges routes and the body
// field integration_users.
func TestWireAliases(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := wireStart(t, dialect, wireOpts{plans: wireCreditPlans})
		key := env.NewWorkspace("Aliases", "unlimited")

		// /users is /identities.
		u := env.Must(200, "POST", "/v4/users", key, map[string]any{"name": "Made as a user"}).Obj()
		uid, _ := u["uid"].(string)
		env.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", key,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_classic"}}})
		for _, p := range []string{"/v4/users", "/v1/users"} {
			l := env.Must(200, "GET", p, key, nil).Arr()
			if len(l) != 1 || l[0].(map[string]any)["uid"] != uid {
				t.Errorf("GET %s: %v", p, l)
			}
		}

		// integration_users is identity_ids.
		people := map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/ada-lovelace"}
		r := lvLive(env, key, "linkedin-extract-people", map[string]any{"input": people, "integration_users": []string{uid}}, "")
		if r.Status != 200 {
			t.Errorf("live with integration_users: %d %s", r.Status, trunc(r.Body))
		}
		r = lvLive(env, key, "linkedin-extract-people", map[string]any{"input": people,
			"integration_users": []string{"00000000-0000-4000-8000-000000000000"}}, "")
		checkError(t, env, "integration_users naming no identity", r, 404, "NOT_FOUND")
		r = lvLive(env, key, "linkedin-extract-people", map[string]any{"input": people, "integration_users": []string{uid},
			"identity_ids": []string{"00000000-0000-4000-8000-000000000000"}}, "")
		checkError(t, env, "integration_users and identity_ids that differ", r, 400, "BAD_INPUT")
		r = lvLive(env, key, "linkedin-extract-people", map[string]any{"input": people, "integration_users": []string{uid},
			"identity_ids": []string{uid}}, "")
		if r.Status != 200 {
			t.Errorf("integration_users and identity_ids alike: %d %s", r.Status, trunc(r.Body))
		}

		// /api/actions/{slug}/async is run/async, integration_users included.
		async := env.Must(200, "POST", "/v4/api/actions/linkedin-extract-people/async", key, map[string]any{
			"inputs": []any{people}, "integration_users": []string{uid},
			"callback": map[string]any{"url": "https://example.com/callback", "on": "final"}}).Obj()
		if run := wireWaitRun(t, env, key, async["run_uid"].(string)); run["status"] != "SUCCEEDED" || run["action_name"] != "linkedin-extract-people" {
			t.Errorf("run made through /api/actions/{slug}/async: %v", run)
		}

		// /v1/actions/{slug}/schedule is run/schedule.
		sc := env.Must(200, "POST", "/v1/actions/linkedin-extract-people/schedule", key, map[string]any{
			"inputs": []any{people}, "integration_users": []string{uid}, "cron": "0 9 * * 1",
			"callback": map[string]any{"url": "https://example.com/callback"}}).Obj()
		scUID, _ := sc["schedule_uid"].(string)
		if got := env.Must(200, "GET", "/v4/schedules/"+scUID, key, nil).Obj(); got["action_name"] != "linkedin-extract-people" || got["cron"] != "0 9 * * 1" {
			t.Errorf("schedule made through /v1/actions/{slug}/schedule: %v", got)
		}
		// PATCH takes integration_users too (an unknown identity: 404).
		checkError(t, env, "PATCH with integration_users naming no identity", env.Do("PATCH", "/v4/schedules/"+scUID, key,
			map[string]any{"integration_users": []string{"00000000-0000-4000-8000-000000000000"}}), 404, "NOT_FOUND")
		env.Must(200, "PATCH", "/v4/schedules/"+scUID, key, map[string]any{"integration_users": []string{uid}})

		// /api/runs/{uid}/resume is runs/{uid}/resume: a run BLOCKED for
		// want of credits goes back to the queue.
		broke := env.NewWorkspace("Aliases broke", "wire-credits-0")
		blocked := env.Must(200, "POST", "/v4/actions/googlemaps-extract-place/run/async", broke, map[string]any{
			"inputs":   []any{map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+Lumiere/"}},
			"callback": map[string]any{"url": "https://example.com/callback", "on": "final"}}).Obj()
		buid := blocked["run_uid"].(string)
		deadline := time.Now().Add(60 * time.Second)
		for env.Must(200, "GET", "/v4/runs/"+buid, broke, nil).Obj()["status"] != "BLOCKED" {
			if time.Now().After(deadline) {
				t.Fatalf("the run never blocked on the empty balance")
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, prefix := range []string{"/v4", "/v1"} {
			res := env.Must(200, "POST", prefix+"/api/runs/"+buid+"/resume", broke, nil).Obj()
			if res["uid"] != buid || res["status"] == "BLOCKED" {
				t.Errorf("%s/api/runs/{uid}/resume: %v", prefix, res)
			}
			for env.Must(200, "GET", "/v4/runs/"+buid, broke, nil).Obj()["status"] != "BLOCKED" {
				if time.Now().After(deadline) {
					t.Fatalf("the resumed run never blocked again")
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		checkError(t, env, "resume through the alias of a run of another workspace", env.Do("POST", "/v4/api/runs/"+buid+"/resume", key, nil), 404, "NOT_FOUND")
	})
}

// TestWireCreditsExhaustedPaging (item 16): a live page cut short by the
// balance keeps X-Pagination-Next and says why in X-Credits-Exhausted; the
// link goes on from the first result not paid for once credits return.
func TestWireCreditsExhaustedPaging(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := wireStart(t, dialect, wireOpts{plans: wireCreditPlans})
		for _, slug := range []string{"linkedin-search-people", "googlemaps-search-places"} {
			key := env.NewWorkspace("Exhausted "+slug, "wire-credits-3")
			var body map[string]any
			switch slug {
			case "linkedin-search-people":
				body = lvSearchBody(lvIdentity(t, env, key, "Exhausted classic", "sim_classic"), "", "engineer")
			default:
				body = map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/bakery+in+lyon/"}}
			}
			ws := env.Must(200, "GET", "/v4/workspaces", key, nil).Obj()["uid"]
			r := lvLive(env, key, slug, body, "")
			first := r.Arr()
			if len(first) != 3 || r.Header.Get("X-Credits-Exhausted") != "true" {
				t.Fatalf("%s with 3 credits: %d results, X-Credits-Exhausted %q", slug, len(first), r.Header.Get("X-Credits-Exhausted"))
			}
			next := r.Header.Get("X-Pagination-Next")
			if !strings.HasPrefix(next, env.URL+"/v4/actions/"+slug+"/run/live?") {
				t.Fatalf("%s: X-Pagination-Next %q", slug, next)
			}
			// Still nothing to pay with: 402.
			lvErr(t, "next page with no credits", lvDo(t, "POST", next, key, body), 402, "NO_ACCESS")
			// Credits return (a bigger plan): the link goes on from result 4.
			execSQL(t, env, `UPDATE workspaces SET plan = 'unlimited' WHERE uid = $1`, ws)
			var rest apitest.Resp
			deadline := time.Now().Add(30 * time.Second)
			for rest = lvDo(t, "POST", next, key, body); rest.Status == 402 && time.Now().Before(deadline); rest = lvDo(t, "POST", next, key, body) {
				time.Sleep(100 * time.Millisecond) // the balance is cached for a second
			}
			if rest.Status != 200 || rest.Header.Get("X-Credits-Exhausted") != "" {
				t.Fatalf("%s: following the link after the top-up: %d %s", slug, rest.Status, trunc(rest.Body))
			}
			full := lvLive(env, key, slug, body, "page=1")
			if full.Status != 200 {
				t.Fatalf("%s page 1 in full: %d", slug, full.Status)
			}
			var joined []any
			joined = append(append(joined, first...), rest.Arr()...)
			if a, b := string(mustJSON(joined)), string(mustJSON(full.Arr())); a != b {
				t.Errorf("%s: the cut page and its continuation\n%s\ndiffer from the whole page\n%s", slug, a, b)
			}
			if full.Header.Get("X-Pagination-Next") != "" && rest.Header.Get("X-Pagination-Next") == "" {
				t.Errorf("%s: the continuation lost the link to page 2", slug)
			}
		}
	})
}

// TestWireIdempotencyKeyReuse (item 17): the same Idempotency-Key with the
// same request returns the first run; with another body or another action
// it is 422 IDEMPOTENCY_KEY_REUSED, as Stripe answers.
func TestWireIdempotencyKeyReuse(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := wireStart(t, dialect, wireOpts{noJobs: true})
		key := env.NewWorkspace("Idempotency", "unlimited")
		post := func(path, idem, body string) apitest.Resp {
			req, _ := http.NewRequest("POST", env.URL+path, strings.NewReader(body))
			req.Header.Set("X-API-Key", key)
			req.Header.Set("Idempotency-Key", idem)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return apitest.Resp{Status: res.StatusCode, Header: res.Header, Body: b}
		}
		places := "/v4/actions/googlemaps-extract-place/run/async"
		body := `{"inputs":[{"google_maps_place_url":"https://www.google.com/maps/place/Cafe+Lumiere/","custom_data":{"a":1,"b":2}}],
			"callback":{"url":"https://example.com/callback","headers":{"Authorization":"Bearer x"}}}`
		first := post(places, "import-1", body)
		if first.Status != 200 {
			t.Fatalf("first: %d %s", first.Status, first.Body)
		}
		uid := first.Obj()["run_uid"]
		// The same request, spelled differently: the first run.
		same := `{"callback":{"headers":{"Authorization":"Bearer x"},"url":"https://example.com/callback"},"parameters":{},
			"inputs":[{"custom_data":{"b":2,"a":1},"url":"https://www.google.com/maps/place/Cafe+Lumiere/"}]}`
		for i, b := range []string{body, same} {
			if r := post(places, "import-1", b); r.Status != 200 || r.Obj()["run_uid"] != uid {
				t.Errorf("retry %d: %d %s, want the first run %v", i, r.Status, r.Body, uid)
			}
		}
		// Another request under the same key.
		for what, c := range map[string]struct{ path, body string }{
			"another input":       {places, strings.Replace(body, "Cafe+Lumiere", "Cafe+Noir", 1)},
			"another custom_data": {places, strings.Replace(body, `"b":2`, `"b":3`, 1)},
			"another callback":    {places, strings.Replace(body, "Bearer x", "Bearer y", 1)},
			"another action": {"/v4/actions/googlemaps-extract-reviews/run/async",
				strings.Replace(body, "google_maps_place_url", "google_maps_place_url", 1)},
		} {
			r := post(c.path, "import-1", c.body)
			if p := checkError(t, env, what, r, 422, "IDEMPOTENCY_KEY_REUSED"); p != nil {
				if params, _ := p["params"].(map[string]any); params["run_uid"] != uid {
					t.Errorf("%s: params %v, want run_uid %v", what, p["params"], uid)
				}
			}
		}
		// Concurrent reuse with different bodies: one run, the others 200
		// with it or 422.
		codes, bodies := parallel(8, func(i int) apitest.Resp {
			return post(places, "import-2", strings.Replace(body, "Cafe+Lumiere", fmt.Sprintf("Cafe+%d", i%2), 1))
		})
		runs := map[any]bool{}
		for i, c := range codes {
			switch c {
			case 200:
				var m map[string]any
				_ = json.Unmarshal(bodies[i], &m)
				runs[m["run_uid"]] = true
			case 422:
			default:
				t.Errorf("concurrent reuse: %d %s", c, bodies[i])
			}
		}
		if len(runs) != 1 {
			t.Errorf("concurrent submissions under one key made %d runs", len(runs))
		}
		// Another key is another run.
		if r := post(places, "import-3", body); r.Status != 200 || r.Obj()["run_uid"] == uid {
			t.Errorf("a new key: %d %s", r.Status, r.Body)
		}
	})
}

// wireProxy is a minimal recording HTTP forward proxy.
type wireProxy struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string // "METHOD URL li_at"
}

func newWireProxy(t *testing.T) *wireProxy {
	p := &wireProxy{}
	tr := &http.Transport{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() {
			http.Error(w, "absolute-form only", http.StatusBadRequest)
			return
		}
		c, _ := r.Cookie("li_at")
		v := ""
		if c != nil {
			v = c.Value
		}
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+r.URL.String()+" "+v)
		p.mu.Unlock()
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.Header.Del("Proxy-Authorization")
		res, err := tr.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		for k, vs := range res.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
	}))
	t.Cleanup(func() { p.srv.Close(); tr.CloseIdleConnections() })
	return p
}

func (p *wireProxy) saw(sub string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.seen {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestWireAttachments (items 9 and 18): message attachments have the
// reference's shape (type "file", lowercase), in the three actions that
// return them, and linkedin-download-attachment streams the file through
// the identity's account and its own proxy.
func TestWireAttachments(t *testing.T) {
	doc := wireReference(t)
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		px := newWireProxy(t)
		pool := "FR=http://u:p@" + px.srv.Listener.Addr().String()
		for i := range sim.ManagedCookies() {
			pool += fmt.Sprintf(",IS=http://m%d:p@%s", i, px.srv.Listener.Addr().String())
		}
		env := wireStart(t, dialect, wireOpts{pool: pool, noJobs: true})
		key := env.NewWorkspace("Attachments", "unlimited")
		uid := lvIdentity(t, env, key, "Attachments classic", "sim_classic")
		// A connection to write to, then a message with a PDF to them.
		conns := lvLive(env, key, "linkedin-extract-connections", map[string]any{"identity_ids": []string{uid}}, "")
		if conns.Status != 200 || len(conns.Arr()) == 0 {
			t.Fatalf("connections: %d %s", conns.Status, trunc(conns.Body))
		}
		to := conns.Arr()[0].(map[string]any)["linkedin_profile_url"].(string)
		pdf := "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K" // 48 bytes of base64
		sent := lvLive(env, key, "linkedin-message-profile", map[string]any{"identity_ids": []string{uid},
			"input":      map[string]any{"linkedin_profile_url": to},
			"parameters": map[string]any{"message": "The deck", "files": []any{map[string]any{"filename": "deck.pdf", "file_data": pdf}}}}, "")
		if sent.Status != 200 {
			t.Fatalf("message with a file: %d %s", sent.Status, trunc(sent.Body))
		}
		thread := sent.Obj()["linkedin_thread_id"].(string)

		// The reference's attachment item schemas, per action.
		schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
		attSchema := func(output string, path ...string) *validate.Schema {
			n := schemas[output].(map[string]any)
			for _, p := range path {
				if p == "[]" {
					n = n["items"].(map[string]any)
				} else {
					n = n["properties"].(map[string]any)[p].(map[string]any)
				}
			}
			s, err := validate.Compile(output+" attachment", n)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		var found []map[string]any
		check := func(what string, s *validate.Schema, atts any) {
			arr, ok := atts.([]any)
			if !ok {
				t.Fatalf("%s: attachments %T", what, atts)
			}
			for _, a := range arr {
				if err := s.Validate(what, a); err != nil {
					t.Errorf("%s: %v: %v", what, a, err)
				}
				if m, _ := a.(map[string]any); m["name"] == "deck.pdf" {
					found = append(found, m)
				}
			}
		}
		r := lvLive(env, key, "linkedin-extract-conversations", map[string]any{"identity_ids": []string{uid}}, "")
		convSchema := attSchema("LinkedinExtractConversationsOutput", "last_message", "attachments", "[]")
		for _, c := range r.Arr() {
			check("linkedin-extract-conversations", convSchema, c.(map[string]any)["last_message"].(map[string]any)["attachments"])
		}
		msgs := lvLive(env, key, "linkedin-extract-messages", map[string]any{"identity_ids": []string{uid},
			"input": map[string]any{"linkedin_thread_url": "https://www.linkedin.com/messaging/thread/" + thread + "/"}}, "")
		msgSchema := attSchema("LinkedinExtractMessagesOutput", "attachments", "[]")
		for _, m := range msgs.Arr() {
			check("linkedin-extract-messages", msgSchema, m.(map[string]any)["attachments"])
		}
		legacy := lvLive(env, key, "linkedin-extract-messages-legacy", map[string]any{"identity_ids": []string{uid},
			"input": map[string]any{"linkedin_thread_url": "https://www.linkedin.com/messaging/thread/" + thread + "/"}}, "")
		legSchema := attSchema("LinkedinExtractMessagesLegacyOutput", "messages", "[]", "attachments", "[]")
		lm, _ := legacy.Obj()["messages"].([]any)
		for _, x := range lm {
			check("linkedin-extract-messages-legacy", legSchema, x.(map[string]any)["attachments"])
		}
		if len(found) != 3 {
			t.Fatalf("the sent PDF shows %d times in the three actions, want 3", len(found))
		}
		att := found[0]
		if att["type"] != "file" || att["mediaType"] != "application/pdf" {
			t.Errorf("attachment %v", att)
		}
		urn := att["assetUrn"].(string)
		fileURL := "https://www.linkedin.com/dms/" + urn[strings.LastIndex(urn, ":")+1:]

		// Download it.
		dl := func(q url.Values, k string) apitest.Resp {
			return env.Do("GET", "/v4/actions/linkedin-download-attachment?"+q.Encode(), k, nil)
		}
		for _, q := range []url.Values{{"identity_id": {uid}, "url": {fileURL}}, {"url": {fileURL}}} {
			d := dl(q, key)
			if d.Status != 200 {
				t.Fatalf("download %v: %d %s", q, d.Status, trunc(d.Body))
			}
			size := int(att["byteSize"].(float64))
			if len(d.Body) != size || d.Header.Get("Content-Length") != fmt.Sprint(size) || !strings.HasPrefix(string(d.Body), "%PDF") ||
				d.Header.Get("Content-Type") != "application/pdf" || !strings.Contains(d.Header.Get("Content-Disposition"), `filename=deck.pdf`) {
				t.Errorf("download %v: %d bytes (want %d), headers %v", q, len(d.Body), size, d.Header)
			}
		}
		if !px.saw("/linkedin/dms/" + urn[strings.LastIndex(urn, ":")+1:] + " sim_classic") {
			t.Errorf("the download did not go through the identity's proxy with its account: %v", px.seen)
		}
		// Refusals.
		checkError(t, env, "a file no account of the workspace can see", dl(url.Values{"identity_id": {uid},
			"url": {"https://www.linkedin.com/dms/nosuchasset"}}, key), 424, "STATUS_404")
		checkError(t, env, "not a LinkedIn attachment URL", dl(url.Values{"identity_id": {uid},
			"url": {"https://evil.example/dms/x"}}, key), 400, "BAD_PARAMETERS")
		checkError(t, env, "no url", dl(url.Values{"identity_id": {uid}}, key), 400, "BAD_PARAMETERS")
		checkError(t, env, "an identity of another workspace", dl(url.Values{"identity_id": {uid}, "url": {fileURL}},
			env.NewWorkspace("Attachments other", "unlimited")), 404, "NOT_FOUND")
		checkError(t, env, "the user role", dl(url.Values{"identity_id": {uid}, "url": {fileURL}},
			addMember(t, env, key, "user@attachments.test", "user").Key), 403, "FORBIDDEN")
	})
}
