package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// Executors that break the protocol's promises, behind a family routed to
// them (issue 15): one that hangs, one that holds another secret, one that
// answers results of the wrong shape. Each gives a clear error in time and
// stores nothing bad. (The well-behaved executor, a separate process, is in
// cmd/firstmate's TestE2EExecutorRoutedSuite.)

// placeDriver answers googlemaps-extract-place with what result says.
type placeDriver struct{ result map[string]any }

func (placeDriver) Me(context.Context, *http.Client, platform.Credentials) (platform.Account, error) {
	return platform.Account{}, nil
}

func (d placeDriver) Run(context.Context, *http.Client, platform.Credentials, platform.Call) (platform.Page, error) {
	return platform.Page{Results: []map[string]any{d.result}}, nil
}

var placeCaps = executor.Capabilities{Protocol: executor.Version, Executor: "test-executor",
	Families: []executor.Family{{Name: "googlemaps", Actions: []string{"googlemaps-extract-place"}}}}

var placeInput = map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+Lumiere/"}

// executorServer serves the protocol over d with secret.
func executorServer(t *testing.T, d platform.Driver, secret string) *httptest.Server {
	t.Helper()
	h, err := executor.Handler(d, nil, placeCaps, secret, executor.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// An executor that answers its capabilities, then never answers a run: a
// live call ends at the executor timeout with LK_524 saying so, and the
// server keeps serving.
func TestExecutorThatHangs(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == executor.PathCapabilities {
			_ = json.NewEncoder(w).Encode(placeCaps)
			return
		}
		select { // a black hole: no answer, ever (until the test ends)
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	t.Setenv("FIRSTMATE_PLATFORM_GOOGLEMAPS", "executor:"+srv.URL)
	t.Setenv("FIRSTMATE_EXECUTOR_SECRETS", executor.NewSecret())
	t.Setenv("FIRSTMATE_EXECUTOR_TIMEOUT", "1s")
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		key := env.NewWorkspace("Hang", "unlimited")
		start := time.Now()
		r := env.Do("POST", "/v4/actions/googlemaps-extract-place/run/live", key, map[string]any{"input": placeInput})
		body := checkError(t, env, "hanging executor", r, 424, "LK_524")
		if p, _ := body["params"].(map[string]any); p["executor_fault"] != "timeout" || !strings.Contains(body["message"].(string), "did not answer") {
			t.Errorf("hanging executor: %v", body)
		}
		// A bound against a hang, far above the 1 s timeout: not a timing
		// assertion.
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("the call took %s", took)
		}
		env.Must(200, "GET", "/v4/workspaces", key, nil)
	})
}

// An executor holding another secret refuses Firstmate's signature: its
// capabilities cannot be read, so its actions are unavailable with a
// message naming FIRSTMATE_EXECUTOR_SECRETS, in the catalogue, live and at
// submission.
func TestExecutorWithAnotherSecret(t *testing.T) {
	srv := executorServer(t, placeDriver{}, executor.NewSecret())
	t.Setenv("FIRSTMATE_PLATFORM_GOOGLEMAPS", "executor:"+srv.URL)
	t.Setenv("FIRSTMATE_EXECUTOR_SECRETS", srv.URL+"="+executor.NewSecret())
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.StartWithLoopbackCallbacks(t, dialect)
		key := env.NewWorkspace("Secret", "unlimited")
		d := env.Must(200, "GET", "/v4/actions/googlemaps-extract-place", key, nil).Obj()
		reason, _ := d["unavailable_reason"].(string)
		if d["available"] != false || !strings.Contains(reason, "signature") || !strings.Contains(reason, "FIRSTMATE_EXECUTOR_SECRETS") {
			t.Errorf("catalogue: %v", d)
		}
		unavailableError(t, env, "live", env.Do("POST", "/v4/actions/googlemaps-extract-place/run/live", key,
			map[string]any{"input": placeInput}), "FIRSTMATE_EXECUTOR_SECRETS", "executor_not_reached")
		unavailableError(t, env, "async", env.Do("POST", "/v4/actions/googlemaps-extract-place/run/async", key,
			map[string]any{"inputs": []any{placeInput}, "callback": map[string]any{"url": env.URL + "/x"}}),
			"FIRSTMATE_EXECUTOR_SECRETS", "executor_not_reached")
		if !strings.Contains(env.Logs.String(), "the executor cannot be reached") {
			t.Error("the start log does not say the executor cannot be reached")
		}
	})
}

// An executor whose results do not fit the action's output schema: the
// call answers a clear 424 (INTEGRATION_ERROR, executor_fault shape), and
// an async run stores no output and charges nothing.
func TestExecutorWithWrongShapes(t *testing.T) {
	secret := executor.NewSecret()
	srv := executorServer(t, placeDriver{result: map[string]any{"place_name": 42, "rating": "five stars"}}, secret)
	t.Setenv("FIRSTMATE_PLATFORM_GOOGLEMAPS", "executor:"+srv.URL)
	t.Setenv("FIRSTMATE_EXECUTOR_SECRETS", srv.URL+"="+secret)
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.StartWithLoopbackCallbacks(t, dialect)
		key := env.NewWorkspace("Shapes", "unlimited")
		if d := env.Must(200, "GET", "/v4/actions/googlemaps-extract-place", key, nil).Obj(); d["available"] != true {
			t.Fatalf("catalogue: %v", d)
		}
		body := checkError(t, env, "wrong shape", env.Do("POST", "/v4/actions/googlemaps-extract-place/run/live", key,
			map[string]any{"input": placeInput}), 424, "INTEGRATION_ERROR")
		if p, _ := body["params"].(map[string]any); body["error_scope"] != "config" || p["executor_fault"] != "shape" {
			t.Errorf("wrong shape: %v", body)
		}
		rcv := httptest.NewServer(&hookReceiver{})
		defer rcv.Close()
		run := env.Must(200, "POST", "/v4/actions/googlemaps-extract-place/run/async", key,
			map[string]any{"inputs": []any{placeInput, placeInput}, "callback": map[string]any{"url": rcv.URL, "on": "final"}}).Obj()
		failed := waitRun(t, env, key, "/v4/runs/"+run["run_uid"].(string), "FAILED")
		if failed["output_count"] != float64(0) {
			t.Errorf("async: %v", failed)
		}
		if outs := env.Must(200, "GET", "/v4/runs/"+run["run_uid"].(string)+"/outputs", key, nil).Arr(); len(outs) != 0 {
			t.Errorf("stored outputs of the wrong shape: %v", outs)
		}
		cons := env.Must(200, "GET", "/v4/workspaces/consumption", key, nil).Obj()
		if cons["credits_used"] != float64(0) {
			t.Errorf("charged for wrong shapes: %v", cons)
		}
	})
}

// Per-identity egress: an executor receives, with each request made for an
// identity (me, run), the URL of that identity's own proxy, credentials
// included, so that its platform traffic leaves from the identity's IP; a
// call without an identity carries none.
func TestExecutorsReceiveTheIdentitysProxy(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{} // path -> proxy_url of each request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == executor.PathCapabilities {
			_ = json.NewEncoder(w).Encode(executor.Capabilities{Protocol: executor.Version, Families: []executor.Family{
				{Name: "linkedin", Actions: []string{"linkedin-extract-people"}, Accounts: true},
				{Name: "googlemaps", Actions: []string{"googlemaps-extract-place"}}}})
			return
		}
		var env executor.Envelope
		_ = json.NewDecoder(r.Body).Decode(&env)
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], env.ProxyURL)
		mu.Unlock()
		switch r.URL.Path {
		case executor.PathMe:
			_ = json.NewEncoder(w).Encode(map[string]any{"account": map[string]any{"level": "Premium", "name": "Ada"}})
		case executor.PathRun:
			res := map[string]any{"full_name": "Ada Lovelace", "linkedin_profile_url": "https://www.linkedin.com/in/ada"}
			if env.Family == "googlemaps" {
				res = map[string]any{"place_name": "Cafe Lumiere"}
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"results": []any{res}})
		}
	}))
	defer srv.Close()
	t.Setenv("FIRSTMATE_PLATFORM_LINKEDIN", "executor:"+srv.URL)
	t.Setenv("FIRSTMATE_PLATFORM_GOOGLEMAPS", "executor:"+srv.URL)
	t.Setenv("FIRSTMATE_EXECUTOR_SECRETS", executor.NewSecret())
	// Two proxies; nothing listens on them: only the executor would use them.
	const fr, us = "http://alice:s3cret@127.0.0.1:3128", "socks5://bob:hunter2@127.0.0.1:1080"
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		mu.Lock()
		clear(got)
		mu.Unlock()
		st := apitest.NewStore(t, dialect)
		cfg := st.Config()
		cfg.ProxyPool = "FR=" + fr + ",US=" + us
		logs := &apitest.SyncBuffer{}
		a, err := app.Open(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(a.API)
		env := &apitest.Env{T: t, Store: st, App: a, Server: hs, URL: hs.URL, Logs: logs}
		if err := a.Jobs.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(env.Close)
		key := env.NewWorkspace("Egress", "unlimited")
		want := map[string]string{}
		for tz, proxy := range map[string]string{"Europe/Paris": fr, "America/New_York": us} {
			uid := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Egress " + tz, "timezone": tz}).Obj()["uid"].(string)
			g := env.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", key,
				map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "li-" + uid}}}).Obj()
			if g["status"] != "VALID" {
				t.Fatalf("connect: %v", g)
			}
			env.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/live", key, map[string]any{
				"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/ada"}, "identity_ids": []string{uid}})
			want[uid] = proxy
		}
		env.Must(200, "POST", "/v4/actions/googlemaps-extract-place/run/live", key, map[string]any{"input": placeInput})
		mu.Lock()
		defer mu.Unlock()
		for _, path := range []string{executor.PathMe, executor.PathRun} {
			seen := map[string]bool{}
			for _, p := range got[path] {
				seen[p] = true
			}
			if !seen[fr] || !seen[us] {
				t.Errorf("%s: the executor got proxies %q, want each identity's (%s and %s)", path, got[path], fr, us)
			}
		}
		if runs := got[executor.PathRun]; len(runs) != 3 || !slicesContains(runs, "") {
			t.Errorf("runs: %q (the call without an identity carries no proxy)", runs)
		}
		// The proxy URL holds the proxy's credentials: never in a log line.
		if strings.Contains(logs.String(), "s3cret") || strings.Contains(logs.String(), "hunter2") {
			t.Error("a proxy's credentials are in the server log")
		}
	})
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
