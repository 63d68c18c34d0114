package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

// Routing (issue 15, item 1): what serves each platform family is the
// operator's choice (FIRSTMATE_PLATFORM_<FAMILY>), and a user always knows,
// from the catalogue and the errors, what can run. Expected labels and
// settings come from the issue: 424 ACTION_UNAVAILABLE, scope config,
// params.setting naming FIRSTMATE_PLATFORM_<FAMILY>.

// unavailableError checks a refusal of an unavailable action.
func unavailableError(t *testing.T, env *apitest.Env, what string, r apitest.Resp, setting, reason string) {
	t.Helper()
	body := checkError(t, env, what, r, 424, "ACTION_UNAVAILABLE")
	if body == nil {
		return
	}
	params, _ := body["params"].(map[string]any)
	if body["error_scope"] != "config" || params["setting"] != setting || params["reason"] != reason ||
		!strings.Contains(body["message"].(string), setting) {
		t.Errorf("%s: %v", what, body)
	}
}

// actionEntry finds a slug in GET /actions.
func actionEntry(t *testing.T, list []any, slug string) map[string]any {
	t.Helper()
	for _, x := range list {
		if m, _ := x.(map[string]any); m["slug"] == slug {
			return m
		}
	}
	t.Fatalf("GET /actions has no %s", slug)
	return nil
}

// An unavailable action is refused at once in every mode, and nothing is
// recorded: no live run, no async run, no schedule.
func TestRoutingUnavailableActionInEveryMode(t *testing.T) {
	t.Setenv("FIRSTMATE_PLATFORM_THEFORK", "off")
	t.Setenv("FIRSTMATE_PLATFORM_LINKEDIN", "session")
	t.Setenv("FIRSTMATE_LINKEDIN_URL", "http://127.0.0.1:1") // nothing answers: no call may go there
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.StartWithLoopbackCallbacks(t, dialect)
		key := env.NewWorkspace("Routing", "unlimited")
		cb := map[string]any{"url": env.URL + "/nowhere"}

		// The catalogue says what is served, by what, and why not.
		list := env.Must(200, "GET", "/v4/actions", key, nil).Arr()
		fork := actionEntry(t, list, "thefork-extract-reviews")
		if fork["available"] != false || fork["driver"] != nil ||
			!strings.Contains(fork["unavailable_reason"].(string), "FIRSTMATE_PLATFORM_THEFORK") {
			t.Errorf("thefork: %v", fork)
		}
		post := actionEntry(t, list, "linkedin-extract-post")
		if post["available"] != false || !strings.Contains(post["unavailable_reason"].(string), "session") ||
			!strings.Contains(post["unavailable_reason"].(string), "FIRSTMATE_PLATFORM_LINKEDIN") {
			t.Errorf("linkedin-extract-post: %v", post)
		}
		people := actionEntry(t, list, "linkedin-extract-people")
		if d, _ := people["driver"].(map[string]any); people["available"] != true || d["kind"] != "builtin" || d["name"] != "session" {
			t.Errorf("linkedin-extract-people: %v", people)
		}
		if _, ok := people["unavailable_reason"]; ok {
			t.Errorf("an available action has a reason: %v", people)
		}
		place := env.Must(200, "GET", "/v4/actions/googlemaps-extract-place", key, nil).Obj()
		if d, _ := place["driver"].(map[string]any); place["available"] != true || d["kind"] != "sandbox" {
			t.Errorf("googlemaps-extract-place: %v", place)
		}
		one := env.Must(200, "GET", "/v4/actions/thefork-extract-reviews", key, nil).Obj()
		if one["available"] != false || one["unavailable_reason"] != fork["unavailable_reason"] {
			t.Errorf("GET /actions/thefork-extract-reviews: %v", one)
		}

		in := map[string]any{"thefork_reviews_url": "https://www.thefork.com/restaurant/le-petit-r12345"}
		unavailableError(t, env, "live", env.Do("POST", "/v4/actions/thefork-extract-reviews/run/live", key,
			map[string]any{"input": in}), "FIRSTMATE_PLATFORM_THEFORK", "family_off")
		unavailableError(t, env, "async", env.Do("POST", "/v4/actions/thefork-extract-reviews/run/async", key,
			map[string]any{"inputs": []any{in}, "callback": cb}), "FIRSTMATE_PLATFORM_THEFORK", "family_off")
		unavailableError(t, env, "schedule", env.Do("POST", "/v4/actions/thefork-extract-reviews/run/schedule", key,
			map[string]any{"inputs": []any{in}, "callback": cb, "cron": "0 9 * * *"}), "FIRSTMATE_PLATFORM_THEFORK", "family_off")
		// An action the built-in driver does not run, with the identity
		// mode's fields: refused before any account is looked at.
		postIn := map[string]any{"linkedin_post_url": "https://www.linkedin.com/posts/x-activity-1"}
		unavailableError(t, env, "live, driver", env.Do("POST", "/v4/actions/linkedin-extract-post/run/live", key,
			map[string]any{"input": postIn, "identity_ids": []string{"00000000-0000-0000-0000-000000000000"}}),
			"FIRSTMATE_PLATFORM_LINKEDIN", "driver_lacks_action")
		unavailableError(t, env, "async, driver", env.Do("POST", "/v4/actions/linkedin-extract-post/run/async", key,
			map[string]any{"inputs": []any{postIn}, "identity_mode": "auto", "callback": cb}),
			"FIRSTMATE_PLATFORM_LINKEDIN", "driver_lacks_action")

		if runs := env.Must(200, "GET", "/v4/runs", key, nil).Arr(); len(runs) != 0 {
			t.Errorf("refused calls left runs: %v", runs)
		}
		if scs := env.Must(200, "GET", "/v4/schedules", key, nil).Arr(); len(scs) != 0 {
			t.Errorf("a refused schedule was stored: %v", scs)
		}
	})
}

// hookReceiver records the integration webhooks' bodies.
type hookReceiver struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	h.mu.Lock()
	h.bodies = append(h.bodies, m)
	h.mu.Unlock()
}

func (h *hookReceiver) events() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.bodies...)
}

// FIRSTMATE_SIM=off and nothing else: the catalogue says the sandbox
// families are off, a cookie gets INVALID at once with an error naming the
// setting (and its AUTH_FAILED webhook), a password login is refused, and
// every call answers the 424 at once: nothing stays PENDING, nothing hangs.
func TestRoutingWithTheSimulatorOff(t *testing.T) {
	t.Setenv("FIRSTMATE_SIM", "off")
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.StartWithLoopbackCallbacks(t, dialect)
		if env.App.Sim != nil || env.App.SimURL != "" {
			t.Fatalf("a simulator runs at %q", env.App.SimURL)
		}
		key := env.NewWorkspace("Sim off", "unlimited")
		hooks := &hookReceiver{}
		hs := httptest.NewServer(hooks)
		defer hs.Close()
		env.Must(200, "PUT", "/v4/workspaces/settings", key, map[string]any{"webhook_url": hs.URL})

		for _, x := range env.Must(200, "GET", "/v4/actions", key, nil).Arr() {
			a := x.(map[string]any)
			want := a["platform"] == "hubspot"
			if a["available"] != want {
				t.Errorf("%s: available %v", a["slug"], a["available"])
			}
		}

		id := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Off identity"}).Obj()["uid"].(string)
		start := time.Now()
		g := env.Must(200, "POST", "/v4/identities/"+id+"/integrations/linkedin", key,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_classic"}}}).Obj()
		meta, _ := g["meta"].(map[string]any)
		if g["status"] != "INVALID" || g["error"] != "PLATFORM_UNAVAILABLE" || meta["setting"] != "FIRSTMATE_PLATFORM_LINKEDIN" ||
			!strings.Contains(meta["error_message"].(string), "FIRSTMATE_PLATFORM_LINKEDIN") {
			t.Fatalf("a cookie with no driver: %v", g)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("the connect took %s: it must not wait for a platform", took) // a bound against a hang, not a timing assertion
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			ev := hooks.events()
			if len(ev) > 0 {
				if ev[0]["event"] != "AUTH_FAILED" || ev[0]["status"] != "INVALID" || ev[0]["error"] != "PLATFORM_UNAVAILABLE" {
					t.Errorf("webhook: %v", ev[0])
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no AUTH_FAILED webhook")
			}
			time.Sleep(20 * time.Millisecond)
		}

		// A password login has nothing to log in with: refused, nothing stored.
		r := env.Do("POST", "/v4/identities/"+id+"/integrations/salesnavigator", key,
			map[string]any{"auth_data": map[string]any{"basic": map[string]any{"username": "classic@sim.test", "password": "sandbox"}}})
		if body := checkError(t, env, "basic", r, 424, "PLATFORM_UNAVAILABLE"); body != nil {
			if p, _ := body["params"].(map[string]any); p["setting"] != "FIRSTMATE_PLATFORM_SALESNAVIGATOR" {
				t.Errorf("basic: %v", body)
			}
		}
		checkError(t, env, "no salesnavigator integration stored", env.Do("GET", "/v4/identities/"+id+"/integrations/salesnavigator", key, nil), 404, "")

		unavailableError(t, env, "live", env.Do("POST", "/v4/actions/linkedin-extract-people/run/live", key,
			map[string]any{"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/ada"}, "identity_ids": []string{id}}),
			"FIRSTMATE_PLATFORM_LINKEDIN", "family_off")
		unavailableError(t, env, "live, no identity", env.Do("POST", "/v4/actions/googlemaps-search-places/run/live", key,
			map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/cafe/"}}),
			"FIRSTMATE_PLATFORM_GOOGLEMAPS", "family_off")
	})
}

// openWithoutJobs opens Firstmate on st with its API served but no job
// worker and no schedule loop: what is submitted waits, as on a server
// that stopped right after accepting it.
func openWithoutJobs(t *testing.T, st apitest.Store) *apitest.Env {
	t.Helper()
	logs := &apitest.SyncBuffer{}
	a, err := app.Open(context.Background(), st.Config(), slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.API)
	a.Cfg.PublicURL = srv.URL
	return &apitest.Env{T: t, Store: st, App: a, Server: srv, URL: srv.URL, Logs: logs}
}

func closeWithoutJobs(env *apitest.Env) {
	env.Server.Close()
	env.App.Close()
}

// A server restarted with other settings: an async run accepted before and
// a schedule's firing go BLOCKED with the 424 that names the setting, never
// FAILED; once the action is served again, resuming finishes the run.
func TestRoutingChangeBlocksWork(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		st := apitest.NewStore(t, dialect)
		st.AllowLoopbackCallbacks = true
		hooks := &hookReceiver{}
		rcv := httptest.NewServer(hooks)
		defer rcv.Close()
		in := map[string]any{"thefork_reviews_url": "https://www.thefork.com/restaurant/le-petit-r12345"}

		before := openWithoutJobs(t, st)
		key := before.NewWorkspace("Restart", "unlimited")
		run := before.Must(200, "POST", "/v4/actions/thefork-extract-reviews/run/async", key,
			map[string]any{"inputs": []any{in, in}, "callback": map[string]any{"url": rcv.URL, "on": "final"}}).Obj()
		at := time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)
		sc := before.Must(200, "POST", "/v4/actions/thefork-extract-reviews/run/schedule", key,
			map[string]any{"inputs": []any{in}, "callback": map[string]any{"url": rcv.URL, "on": "final"}, "schedule_at": at}).Obj()
		closeWithoutJobs(before)

		t.Setenv("FIRSTMATE_PLATFORM_THEFORK", "off")
		off := apitest.StartOn(t, st)
		runUID := run["run_uid"].(string)
		blocked := waitRun(t, off, key, "/v4/runs/"+runUID, "BLOCKED")
		le, _ := blocked["last_error"].(map[string]any)
		if le["label"] != "ACTION_UNAVAILABLE" || !strings.Contains(le["message"].(string), "FIRSTMATE_PLATFORM_THEFORK") {
			t.Errorf("blocked run: %v", blocked)
		}
		var fired map[string]any
		deadline := time.Now().Add(30 * time.Second)
		for fired == nil {
			for _, x := range off.Must(200, "GET", "/v4/runs?scheduled_run_uid[]="+sc["schedule_uid"].(string), key, nil).Arr() {
				fired = x.(map[string]any)
			}
			if time.Now().After(deadline) {
				t.Fatal("the schedule did not fire")
			}
			time.Sleep(50 * time.Millisecond)
		}
		fired = waitRun(t, off, key, "/v4/runs/"+fired["uid"].(string), "BLOCKED")
		if le, _ := fired["last_error"].(map[string]any); le["label"] != "ACTION_UNAVAILABLE" {
			t.Errorf("the firing: %v", fired)
		}
		if o := off.Must(200, "GET", "/v4/runs/"+runUID+"/outputs", key, nil).Arr(); len(o) != 0 {
			t.Errorf("outputs of a blocked run: %v", o)
		}
		off.Close()

		t.Setenv("FIRSTMATE_PLATFORM_THEFORK", "")
		on := apitest.StartOn(t, st)
		on.Must(200, "POST", "/v4/runs/"+runUID+"/resume", key, nil)
		done := waitRun(t, on, key, "/v4/runs/"+runUID, "SUCCEEDED")
		if done["input_count"] != float64(2) || done["output_count"] == float64(0) {
			t.Errorf("resumed run: %v", done)
		}
	})
}

// waitRun polls a run until it has status want (or a terminal other one).
func waitRun(t *testing.T, env *apitest.Env, key, path, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := env.Must(200, "GET", path, key, nil).Obj()
		switch r["status"] {
		case want:
			return r
		case "SUCCEEDED", "FAILED", "PARTIAL_SUCCEEDED", "STOPPED", "BLOCKED":
			t.Fatalf("%s: status %v, want %s: %v", path, r["status"], want, r)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v, want %s", path, r["status"], want)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// The executor protocol is published by the binary, without a key, as the
// API's own document is.
func TestExecutorProtocolDocument(t *testing.T) {
	env := apitest.Start(t, "sqlite")
	for _, prefix := range []string{"/v4", "/v1"} {
		r := env.Must(200, "GET", prefix+"/executor-protocol.json", "", nil)
		doc := r.Obj()
		paths, _ := doc["paths"].(map[string]any)
		if !strings.HasPrefix(doc["openapi"].(string), "3.1") || paths["/v1/run"] == nil || paths["/v1/capabilities"] == nil {
			t.Errorf("%s/executor-protocol.json: %v", prefix, doc["openapi"])
		}
		var want, got any
		_ = json.Unmarshal(executor.OpenAPI(), &want)
		_ = json.Unmarshal(r.Body, &got)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s/executor-protocol.json is not the protocol's document", prefix)
		}
	}
}

// The LinkedIn session driver, routed: accounts are validated and actions
// run through it (here against the sandbox's LinkedIn web-API face, which
// FIRSTMATE_LINKEDIN_URL points it at); a malformed recipes file stops the
// server at start, naming the setting.
func TestSessionDriverRouted(t *testing.T) {
	s, err := sim.New(sim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	t.Setenv("FIRSTMATE_SIM_URL", srv.URL)
	t.Setenv("FIRSTMATE_PLATFORM_LINKEDIN", "session")
	t.Setenv("FIRSTMATE_LINKEDIN_URL", srv.URL)
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		key := env.NewWorkspace("Session", "unlimited")
		id := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Session identity"}).Obj()["uid"].(string)
		g := env.Must(200, "POST", "/v4/identities/"+id+"/integrations/linkedin", key, map[string]any{"auth_data": map[string]any{
			"cookies": map[string]any{"li_at": "sim_premium", "JSESSIONID": `"ajax:1234567890123456789"`}}}).Obj()
		if g["status"] != "VALID" || g["level"] != "Premium" {
			t.Fatalf("connect through the session driver: %v", g)
		}
		p := env.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/live", key, map[string]any{
			"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/ada-lovelace"}, "identity_ids": []string{id}}).Obj()
		if p["full_name"] != "Ada Lovelace" {
			t.Errorf("live through the session driver: %v", p)
		}
		// The session driver takes cookies only.
		r := env.Do("POST", "/v4/identities/"+id+"/integrations/linkedin", key,
			map[string]any{"auth_data": map[string]any{"basic": map[string]any{"username": "premium@sim.test", "password": "sandbox"}}})
		if body := checkError(t, env, "password", r, 424, "INTEGRATION_ERROR"); body != nil && !strings.Contains(body["message"].(string), "cookies") {
			t.Errorf("password: %v", body)
		}
	})

	bad := t.TempDir() + "/recipes.json"
	if err := os.WriteFile(bad, []byte(`{"version": 1, "recipes": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FIRSTMATE_LINKEDIN_RECIPES", bad)
	_, err = app.Open(context.Background(), apitest.NewStore(t, "sqlite").Config(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "FIRSTMATE_LINKEDIN_RECIPES") {
		t.Errorf("a malformed recipes file: %v", err)
	}
}
