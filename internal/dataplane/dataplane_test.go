package dataplane_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/dataplane"
	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// cfg is a configuration read from these variables, as the server reads its
// environment.
func cfg(t *testing.T, kv ...string) config.Config {
	t.Helper()
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	c, err := config.Load(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

func routes(t *testing.T, p *dataplane.Plan) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range p.Routes() {
		out[r.Family] = string(r.Kind) + "/" + r.Driver
	}
	return out
}

func mustPlan(t *testing.T, c config.Config) *dataplane.Plan {
	t.Helper()
	p, err := dataplane.NewPlan(c)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

func action(t *testing.T, slug string) *catalog.Action {
	t.Helper()
	a, ok := catalog.Get(slug)
	if !ok {
		t.Fatalf("no %s in the catalogue", slug)
	}
	return a
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// The defaults: the six sandbox families on the simulator while it runs,
// off without one; HubSpot's real API either way.
func TestDefaultRoutes(t *testing.T) {
	sandbox := map[string]string{"linkedin": "sandbox/sandbox", "salesnavigator": "sandbox/sandbox", "recruiterlite": "sandbox/sandbox",
		"googlemaps": "sandbox/sandbox", "tripadvisor": "sandbox/sandbox", "thefork": "sandbox/sandbox", "hubspot": "builtin/hubspot"}
	off := map[string]string{"linkedin": "off/off", "salesnavigator": "off/off", "recruiterlite": "off/off",
		"googlemaps": "off/off", "tripadvisor": "off/off", "thefork": "off/off", "hubspot": "builtin/hubspot"}
	for _, c := range []struct {
		name string
		cfg  config.Config
		want map[string]string
	}{
		{"laptop", cfg(t), sandbox},
		{"FIRSTMATE_SIM=off", cfg(t, "FIRSTMATE_SIM", "off"), off},
		{"an external simulator", cfg(t, "FIRSTMATE_SIM", "off", "FIRSTMATE_SIM_URL", "http://127.0.0.1:8090"), sandbox},
	} {
		p := mustPlan(t, c.cfg)
		got := routes(t, p)
		for fam, want := range c.want {
			if got[fam] != want {
				t.Errorf("%s: %s is %s, want %s", c.name, fam, got[fam], want)
			}
		}
		for _, r := range p.Routes() {
			if !r.Default || r.Setting != "FIRSTMATE_PLATFORM_"+strings.ToUpper(r.Family) {
				t.Errorf("%s: %+v", c.name, r)
			}
		}
	}
	// HubSpot's fake is the sandbox, whichever way it is asked for.
	for _, c := range []config.Config{cfg(t, "FIRSTMATE_HUBSPOT_URL", "fake"), cfg(t, "FIRSTMATE_PLATFORM_HUBSPOT", "sandbox")} {
		if got := routes(t, mustPlan(t, c))["hubspot"]; got != "sandbox/sandbox" {
			t.Errorf("hubspot fake: %s", got)
		}
	}
}

// LinkedIn accounts serve the three LinkedIn families: when linkedin leaves
// the sandbox, the other two are not left on it by default (a real account
// would be refused there and marked INVALID).
func TestLinkedInSiblingsFollowLinkedIn(t *testing.T) {
	p := mustPlan(t, cfg(t, "FIRSTMATE_PLATFORM_LINKEDIN", "session"))
	got := routes(t, p)
	if got["linkedin"] != "builtin/session" || got["salesnavigator"] != "off/off" || got["recruiterlite"] != "off/off" {
		t.Fatalf("routes: %v", got)
	}
	if w := strings.Join(p.Warnings(), "\n"); !strings.Contains(w, "FIRSTMATE_PLATFORM_SALESNAVIGATOR is off") {
		t.Errorf("warnings: %s", w)
	}
	// Explicitly mixed: honoured, with a warning.
	p = mustPlan(t, cfg(t, "FIRSTMATE_PLATFORM_LINKEDIN", "session", "FIRSTMATE_PLATFORM_SALESNAVIGATOR", "sandbox"))
	if got := routes(t, p); got["salesnavigator"] != "sandbox/sandbox" {
		t.Fatalf("explicit sandbox: %v", got)
	}
	if w := strings.Join(p.Warnings(), "\n"); !strings.Contains(w, "mix the sandbox with a real driver") {
		t.Errorf("warnings: %s", w)
	}
}

// Every misconfiguration is refused with a message that names the setting
// to fix, and never repeats a secret.
func TestMisconfigurationsAreRefused(t *testing.T) {
	secret := executor.NewSecret()
	bad := filepath.Join(t.TempDir(), "recipes.json")
	if err := os.WriteFile(bad, []byte(`{"version": 1, "recipes": {"me": {"path": 42}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		cfg     config.Config
		setting string
	}{
		{"unknown driver", cfg(t, "FIRSTMATE_PLATFORM_LINKEDIN", "selenium"), "FIRSTMATE_PLATFORM_LINKEDIN"},
		{"a driver of another family", cfg(t, "FIRSTMATE_PLATFORM_THEFORK", "places"), "FIRSTMATE_PLATFORM_THEFORK"},
		{"places without its key", cfg(t, "FIRSTMATE_PLATFORM_GOOGLEMAPS", "places"), "FIRSTMATE_GOOGLE_PLACES_KEY"},
		{"contentapi without its key", cfg(t, "FIRSTMATE_PLATFORM_TRIPADVISOR", "contentapi"), "FIRSTMATE_TRIPADVISOR_KEY"},
		{"sandbox without a simulator", cfg(t, "FIRSTMATE_SIM", "off", "FIRSTMATE_PLATFORM_THEFORK", "sandbox"), "FIRSTMATE_PLATFORM_THEFORK"},
		{"an executor without a secret", cfg(t, "FIRSTMATE_PLATFORM_THEFORK", "executor:https://exec.internal"), "FIRSTMATE_EXECUTOR_SECRETS"},
		{"an executor whose secret is for another", cfg(t, "FIRSTMATE_PLATFORM_THEFORK", "executor:https://exec.internal",
			"FIRSTMATE_EXECUTOR_SECRETS", "https://other.internal="+secret), "FIRSTMATE_EXECUTOR_SECRETS"},
		{"a malformed secret", cfg(t, "FIRSTMATE_PLATFORM_THEFORK", "executor:https://exec.internal",
			"FIRSTMATE_EXECUTOR_SECRETS", "https://exec.internal=whsec_short"), "FIRSTMATE_EXECUTOR_SECRETS"},
		{"plain http off loopback", cfg(t, "FIRSTMATE_PLATFORM_THEFORK", "executor:http://10.0.0.7",
			"FIRSTMATE_EXECUTOR_SECRETS", secret), "FIRSTMATE_PLATFORM_THEFORK"},
		{"credentials in the executor URL", cfg(t, "FIRSTMATE_PLATFORM_THEFORK", "executor:https://u:pw@exec.internal",
			"FIRSTMATE_EXECUTOR_SECRETS", secret), "FIRSTMATE_PLATFORM_THEFORK"},
		{"executor without URL", cfg(t, "FIRSTMATE_PLATFORM_THEFORK", "executor:"), "FIRSTMATE_PLATFORM_THEFORK"},
		{"a malformed recipes file", cfg(t, "FIRSTMATE_PLATFORM_LINKEDIN", "session", "FIRSTMATE_LINKEDIN_RECIPES", bad), "FIRSTMATE_LINKEDIN_RECIPES"},
		{"a missing recipes file", cfg(t, "FIRSTMATE_PLATFORM_LINKEDIN", "session", "FIRSTMATE_LINKEDIN_RECIPES", bad+".gone"), "FIRSTMATE_LINKEDIN_RECIPES"},
		{"a bad LinkedIn URL", cfg(t, "FIRSTMATE_PLATFORM_LINKEDIN", "session", "FIRSTMATE_LINKEDIN_URL", "ftp://x"), "FIRSTMATE_LINKEDIN_URL"},
		{"a bad Places URL", cfg(t, "FIRSTMATE_PLATFORM_GOOGLEMAPS", "places", "FIRSTMATE_GOOGLE_PLACES_KEY", "k",
			"FIRSTMATE_GOOGLE_PLACES_URL", "places.googleapis.com"), "FIRSTMATE_GOOGLE_PLACES_URL"},
	} {
		_, err := dataplane.NewPlan(c.cfg)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.setting) {
			t.Errorf("%s: %v does not name %s", c.name, err, c.setting)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: the error repeats a secret: %v", c.name, err)
		}
	}
	// What the executor routes accept.
	for _, c := range []config.Config{
		cfg(t, "FIRSTMATE_PLATFORM_THEFORK", "executor:https://exec.internal", "FIRSTMATE_EXECUTOR_SECRETS", secret),
		cfg(t, "FIRSTMATE_PLATFORM_THEFORK", "EXECUTOR:https://Exec.Internal/", "FIRSTMATE_EXECUTOR_SECRETS", "https://exec.internal="+secret),
		cfg(t, "FIRSTMATE_PLATFORM_THEFORK", "executor:http://127.0.0.1:9", "FIRSTMATE_EXECUTOR_SECRETS", "http://127.0.0.1:9="+secret),
	} {
		if _, err := dataplane.NewPlan(c); err != nil {
			t.Errorf("%v: %v", c.Platforms, err)
		}
	}
}

// unavailable checks an action's refusal: 424 ACTION_UNAVAILABLE, scope
// config, naming the setting, with its reason code.
func unavailable(t *testing.T, pl *dataplane.Plane, slug, setting, reason string) string {
	t.Helper()
	a := action(t, slug)
	av := pl.Describe(a)
	if av.Available {
		t.Fatalf("%s is available (%+v)", slug, av)
	}
	_, err := pl.Action(a)
	e, ok := apperr.As(err)
	if !ok || e.Status != 424 || e.Label != "ACTION_UNAVAILABLE" || e.Scope != "config" || e.Params["setting"] != setting ||
		e.Params["reason"] != reason || !strings.Contains(e.Message, setting) || !strings.Contains(av.Reason, setting) {
		t.Fatalf("%s: %#v", slug, err)
	}
	return e.Message
}

func TestUnavailableActionsSayWhy(t *testing.T) {
	p := mustPlan(t, cfg(t, "FIRSTMATE_PLATFORM_LINKEDIN", "session", "FIRSTMATE_PLATFORM_THEFORK", "off",
		"FIRSTMATE_PLATFORM_GOOGLEMAPS", "places", "FIRSTMATE_GOOGLE_PLACES_KEY", "k"))
	pl, err := dataplane.New(p, dataplane.Deps{Log: quiet, SimulatorURL: func() (string, error) { return "http://127.0.0.1:1", nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	unavailable(t, pl, "thefork-extract-reviews", "FIRSTMATE_PLATFORM_THEFORK", "family_off")
	unavailable(t, pl, "salesnavigator-search-people", "FIRSTMATE_PLATFORM_SALESNAVIGATOR", "family_off")
	// The session driver runs the core LinkedIn actions, not this one.
	msg := unavailable(t, pl, "linkedin-extract-post", "FIRSTMATE_PLATFORM_LINKEDIN", "driver_lacks_action")
	if !strings.Contains(msg, "session") {
		t.Errorf("message: %s", msg)
	}
	for slug, kind := range map[string]dataplane.Kind{"linkedin-extract-people": "builtin", "googlemaps-extract-reviews": "builtin",
		"tripadvisor-extract-hotel": "sandbox"} {
		d, err := pl.Action(action(t, slug))
		av := pl.Describe(action(t, slug))
		if err != nil || d == nil || !av.Available || av.Driver == nil || av.Driver.Kind != kind {
			t.Errorf("%s: %v %+v", slug, err, av)
		}
	}
	// The official API's documented limitation is shown with the action.
	if av := pl.Describe(action(t, "googlemaps-extract-reviews")); !strings.Contains(av.Limitations, "5 reviews") {
		t.Errorf("limitations: %q", av.Limitations)
	}
}

// Integrations: a platform no driver serves is refused at once with
// PLATFORM_UNAVAILABLE naming the setting; a Sales Navigator account whose
// family is off is still validated by LinkedIn's route; a cookies-only
// driver refuses passwords.
func TestIntegrationDrivers(t *testing.T) {
	p := mustPlan(t, cfg(t, "FIRSTMATE_SIM", "off", "FIRSTMATE_PLATFORM_LINKEDIN", "session", "FIRSTMATE_PLATFORM_HUBSPOT", "off"))
	pl, err := dataplane.New(p, dataplane.Deps{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	_, err = pl.Integration("hubspot")
	if e, ok := apperr.As(err); !ok || e.Status != 424 || e.Label != "PLATFORM_UNAVAILABLE" || e.Scope != "config" ||
		e.Params["setting"] != "FIRSTMATE_PLATFORM_HUBSPOT" || !strings.Contains(e.Message, "FIRSTMATE_PLATFORM_HUBSPOT") {
		t.Fatalf("hubspot off: %#v", err)
	}
	for _, integ := range []string{"linkedin", "salesnavigator", "recruiterlite"} {
		if d, err := pl.Integration(integ); err != nil || d == nil {
			t.Errorf("%s: %v", integ, err)
		}
	}
	if _, err := pl.Authenticator("linkedin"); !errorsIs(err, dataplane.ErrNoLogin) {
		t.Errorf("session driver login: %v", err)
	}
	p = mustPlan(t, cfg(t, "FIRSTMATE_SIM", "off"))
	pl2, _ := dataplane.New(p, dataplane.Deps{Log: quiet})
	defer pl2.Close()
	_, err = pl2.Integration("salesnavigator")
	if e, ok := apperr.As(err); !ok || e.Label != "PLATFORM_UNAVAILABLE" || e.Params["setting"] != "FIRSTMATE_PLATFORM_SALESNAVIGATOR" {
		t.Fatalf("all off: %#v", err)
	}
}

func errorsIs(err, target error) bool { return err == target }

// fakeExecutor answers GET /v1/capabilities with what the test sets (or a
// status), and counts the requests.
type fakeExecutor struct {
	mu     sync.Mutex
	status int
	caps   executor.Capabilities
	n      int
}

func (f *fakeExecutor) set(status int, caps executor.Capabilities) {
	f.mu.Lock()
	f.status, f.caps = status, caps
	f.mu.Unlock()
}

func (f *fakeExecutor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if r.URL.Path != executor.PathCapabilities {
		w.WriteHeader(404)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if f.status != 200 {
		w.WriteHeader(f.status)
		label := "EXECUTOR_ERROR"
		if f.status == 401 {
			label = "UNAUTHORIZED"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"label": label, "message": "no"}})
		return
	}
	_ = json.NewEncoder(w).Encode(f.caps)
}

// Executor routes: until the capabilities arrive the family's actions are
// unavailable, saying the executor was not reached (and, on a signature
// refusal, naming the secrets' setting); then the capabilities decide, and
// the last known ones survive failed refreshes.
func TestExecutorCapabilities(t *testing.T) {
	f := &fakeExecutor{status: 503}
	srv := httptest.NewServer(f)
	defer srv.Close()
	p := mustPlan(t, cfg(t, "FIRSTMATE_PLATFORM_THEFORK", "executor:"+srv.URL, "FIRSTMATE_PLATFORM_LINKEDIN", "executor:"+srv.URL,
		"FIRSTMATE_EXECUTOR_SECRETS", executor.NewSecret()))
	pl, err := dataplane.New(p, dataplane.Deps{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	ctx := context.Background()
	pl.Refresh(ctx)
	msg := unavailable(t, pl, "thefork-extract-reviews", "FIRSTMATE_PLATFORM_THEFORK", "executor_not_reached")
	if !strings.Contains(msg, "not been reached") {
		t.Errorf("message: %s", msg)
	}
	if !dataplane.NotReached(pl.Unavailable(action(t, "thefork-extract-reviews"))) {
		t.Error("NotReached")
	}
	// Accounts are still asked before the capabilities are known: a failure
	// leaves the connection PENDING, never a refusal.
	if d, err := pl.Integration("linkedin"); err != nil || d == nil {
		t.Errorf("integration before the capabilities: %v", err)
	}

	// A wrong secret: the setting to fix is the secrets'.
	f.set(401, executor.Capabilities{})
	pl.Refresh(ctx)
	unavailable(t, pl, "thefork-extract-reviews", "FIRSTMATE_EXECUTOR_SECRETS", "executor_not_reached")

	caps := executor.Capabilities{Protocol: executor.Version, Executor: "fleet-7", Families: []executor.Family{
		{Name: "thefork", Actions: []string{"thefork-extract-reviews"}},
		{Name: "linkedin", Actions: []string{"linkedin-extract-people"}, Accounts: true},
	}}
	f.set(200, caps)
	pl.Refresh(ctx)
	for _, slug := range []string{"thefork-extract-reviews", "linkedin-extract-people"} {
		av := pl.Describe(action(t, slug))
		d, err := pl.Action(action(t, slug))
		if !av.Available || err != nil || d == nil || av.Driver.Kind != "executor" || av.Driver.Name != "fleet-7" {
			t.Errorf("%s: %+v %v", slug, av, err)
		}
	}
	unavailable(t, pl, "linkedin-extract-company", "FIRSTMATE_PLATFORM_LINKEDIN", "executor_lacks_action")
	if _, err := pl.Authenticator("linkedin"); err != dataplane.ErrNoLogin {
		t.Errorf("login: false: %v", err)
	}

	// The executor fails a refresh: what it said last still stands.
	f.set(503, executor.Capabilities{})
	pl.Refresh(ctx)
	if av := pl.Describe(action(t, "thefork-extract-reviews")); !av.Available {
		t.Errorf("after a failed refresh: %+v", av)
	}
	// A refresh that drops an action makes it unavailable.
	caps.Families = caps.Families[1:]
	f.set(200, caps)
	pl.Refresh(ctx)
	unavailable(t, pl, "thefork-extract-reviews", "FIRSTMATE_PLATFORM_THEFORK", "executor_lacks_action")

	// An executor that validates no accounts refuses them.
	caps.Families = []executor.Family{{Name: "linkedin", Actions: []string{"linkedin-extract-people"}}}
	f.set(200, caps)
	pl.Refresh(ctx)
	_, err = pl.Integration("linkedin")
	if e, ok := apperr.As(err); !ok || e.Label != "PLATFORM_UNAVAILABLE" || e.Params["setting"] != "FIRSTMATE_PLATFORM_LINKEDIN" {
		t.Errorf("accounts: false: %#v", err)
	}
}

// The proxy URL given to the plane's executor driver travels to the
// executor: checked here with the driver the plane hands out.
func TestExecutorDriverForwardsTheProxy(t *testing.T) {
	var got executor.RunRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case executor.PathCapabilities:
			_ = json.NewEncoder(w).Encode(executor.Capabilities{Protocol: executor.Version, Families: []executor.Family{
				{Name: "thefork", Actions: []string{"thefork-extract-reviews"}}}})
		case executor.PathRun:
			_ = json.NewDecoder(r.Body).Decode(&got)
			_ = json.NewEncoder(w).Encode(map[string]any{"results": []any{}})
		}
	}))
	defer srv.Close()
	pl, err := dataplane.New(mustPlan(t, cfg(t, "FIRSTMATE_PLATFORM_THEFORK", "executor:"+srv.URL,
		"FIRSTMATE_EXECUTOR_SECRETS", executor.NewSecret())), dataplane.Deps{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	pl.Refresh(context.Background())
	a := action(t, "thefork-extract-reviews")
	d, err := pl.Action(a)
	if err != nil {
		t.Fatal(err)
	}
	ctx := platform.WithProxyURL(context.Background(), "http://user:pw@10.1.2.3:3128")
	_, _ = d.Run(ctx, nil, platform.Credentials{}, platform.Call{Action: a, Input: map[string]any{}, Params: map[string]any{}, Page: 1})
	if got.ProxyURL != "http://user:pw@10.1.2.3:3128" || got.Family != "thefork" {
		t.Errorf("the executor got proxy %q, family %q", got.ProxyURL, got.Family)
	}
}

// The banner sorts the families into real, sandbox and off.
func TestBanner(t *testing.T) {
	pl, err := dataplane.New(mustPlan(t, cfg(t, "FIRSTMATE_SIM", "off", "FIRSTMATE_PLATFORM_GOOGLEMAPS", "places",
		"FIRSTMATE_GOOGLE_PLACES_KEY", "AIzaSECRETKEY", "FIRSTMATE_PLATFORM_HUBSPOT", "sandbox")), dataplane.Deps{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	b := pl.Banner()
	for _, want := range []string{"real:    googlemaps (places, https://places.googleapis.com)", "sandbox: hubspot", "off:     linkedin, salesnavigator, recruiterlite, tripadvisor, thefork"} {
		if !strings.Contains(b, want) {
			t.Errorf("banner lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(b, "AIzaSECRETKEY") {
		t.Errorf("banner shows the key:\n%s", b)
	}
}
