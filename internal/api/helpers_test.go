package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/api"
	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Shared helpers of the api_test package: the standard error body check,
// members with a given role, path filling from the route table, and a start
// helper that can inject a clock and extra plans.

var errorRefRE = regexp.MustCompile(`^ERR-[0-9A-Z]{10}$`)

var errorScopes = map[string]bool{"input": true, "integ": true, "param": true, "config": true, "auth": true, "server": true}

// checkError asserts the contract's standard error body (§2): exactly the six
// fields, a well-formed error_ref that the server logged, string params, and
// the expected status and label. It returns the decoded body.
func checkError(t testing.TB, env *apitest.Env, what string, r apitest.Resp, status int, label string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: status %d, want %d: %s", what, r.Status, status, trunc(r.Body))
		return nil
	}
	body, problems := standardErrorProblems(r.Body, r.Status)
	for _, p := range problems {
		t.Errorf("%s: %s: %s", what, p, trunc(r.Body))
	}
	if body == nil {
		return nil
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	if label != "" && body["error_label"] != label {
		t.Errorf("%s: error_label %v, want %s: %s", what, body["error_label"], label, trunc(r.Body))
	}
	if ref, _ := body["error_ref"].(string); ref != "" && env != nil && !strings.Contains(env.Logs.String(), ref) {
		t.Errorf("%s: error_ref %s is not in the server logs", what, ref)
	}
	return body
}

// standardErrorProblems lists how raw differs from the standard error body.
func standardErrorProblems(raw []byte, status int) (map[string]any, []string) {
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, []string{"error body is not a JSON object: " + err.Error()}
	}
	var problems []string
	want := []string{"error_label", "error_scope", "error_ref", "message", "status_code", "params"}
	if len(body) != len(want) {
		problems = append(problems, fmt.Sprintf("error body has %d fields, want exactly %v", len(body), want))
	}
	for _, k := range want {
		if _, ok := body[k]; !ok {
			problems = append(problems, "error body lacks "+k)
		}
	}
	if s, ok := body["error_label"].(string); !ok || s == "" {
		problems = append(problems, "error_label is not a non-empty string")
	}
	if s, _ := body["error_scope"].(string); !errorScopes[s] {
		problems = append(problems, fmt.Sprintf("error_scope %v is not one of input|integ|param|config|auth|server", body["error_scope"]))
	}
	if s, _ := body["error_ref"].(string); !errorRefRE.MatchString(s) {
		problems = append(problems, fmt.Sprintf("error_ref %v does not match %s", body["error_ref"], errorRefRE))
	}
	if s, ok := body["message"].(string); !ok || s == "" {
		problems = append(problems, "message is not a non-empty string")
	}
	if n, ok := body["status_code"].(float64); !ok || int(n) != status {
		problems = append(problems, fmt.Sprintf("status_code %v, want %d", body["status_code"], status))
	}
	params, ok := body["params"].(map[string]any)
	if !ok {
		problems = append(problems, "params is not an object")
	}
	for k, v := range params {
		if _, ok := v.(string); !ok {
			problems = append(problems, fmt.Sprintf("params.%s is %T, want string", k, v))
		}
	}
	return body, problems
}

func trunc(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}

// member is a workspace member and one of their keys.
type member struct {
	UID, Email, Role, Key string
}

// addMember invites email with role (owner's key) and accepts the invitation.
func addMember(t testing.TB, env *apitest.Env, ownerKey, email, role string) member {
	t.Helper()
	inv := env.Must(201, "POST", "/v4/members", ownerKey, map[string]any{"email": email, "role": role}).Obj()
	token, _ := inv["token"].(string)
	acc := env.Must(201, "POST", "/v4/invitations/"+token+"/accept", "",
		map[string]any{"name": "Member " + role, "password": "correct horse battery"}).Obj()
	m, _ := acc["member"].(map[string]any)
	key, _ := acc["api_key"].(string)
	uid, _ := m["uid"].(string)
	if uid == "" || key == "" {
		t.Fatalf("accept returned no member uid or key: %v", acc)
	}
	return member{UID: uid, Email: email, Role: role, Key: key}
}

// memberUID returns the uid of the member holding key.
func principal(t testing.TB, env *apitest.Env, key string) model.Principal {
	t.Helper()
	p, err := env.App.Workspaces.Authenticate(context.Background(), key)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return p
}

// paramRE matches net/http pattern wildcards: {name}, {name...} and {$}.
var paramRE = regexp.MustCompile(`\{([A-Za-z_$][A-Za-z0-9_]*)(\.\.\.)?\}`)

// pathParams lists the wildcard names of a route path.
func pathParams(path string) []string {
	var out []string
	for _, m := range paramRE.FindAllStringSubmatch(path, -1) {
		if m[1] != "$" {
			out = append(out, m[1])
		}
	}
	return out
}

// fill substitutes wildcards; value receives the wildcard name and the path
// segment just before it (e.g. "identities" for /identities/{uid}).
func fill(path string, value func(name, resource string) string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		m := paramRE.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		if m[1] == "$" {
			segs[i] = ""
			continue
		}
		prev := ""
		if i > 0 {
			prev = segs[i-1]
		}
		segs[i] = strings.Replace(s, m[0], value(m[1], prev), 1)
	}
	return strings.Join(segs, "/")
}

// urlsFor returns the request paths of a route: under /v4 and /v1, or as is
// for the unprefixed operator routes ("!/healthz").
func urlsFor(rt *api.Route, path string) []string {
	if strings.HasPrefix(path, "!") {
		return []string{path[1:]}
	}
	return []string{"/v4" + path, "/v1" + path}
}

func routeName(rt *api.Route) string { return rt.Method + " " + rt.Path }

// findRoute looks a route up in the live table.
func findRoute(t testing.TB, env *apitest.Env, method, path string) *api.Route {
	t.Helper()
	for _, rt := range env.App.API.Routes() {
		if rt.Method == method && rt.Path == path {
			return rt
		}
	}
	t.Fatalf("route %s %s is not in the route table", method, path)
	return nil
}

// hasRoute reports whether the live table serves method path (fixtures for
// routes still being built are only made once the route exists).
func hasRoute(env *apitest.Env, method, path string) bool {
	for _, rt := range env.App.API.Routes() {
		if rt.Method == method && rt.Path == path {
			return true
		}
	}
	return false
}

// startOpts tweaks an in-process start.
type startOpts struct {
	// now, when set, replaces the API clock before the server takes requests.
	now func() time.Time
	// plans are written to a plans file that overlays the built-in ones.
	plans []config.Plan
	// discardLogs drops the log (long fuzzing runs would fill memory).
	discardLogs bool
}

// start opens Firstmate like apitest.StartOn, but sets the clock and extra
// plans before the HTTP server starts, so no request ever sees the defaults.
func start(t testing.TB, st apitest.Store, o startOpts) *apitest.Env {
	t.Helper()
	cfg := st.Config()
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
	var w io.Writer = logs
	if o.discardLogs {
		w = io.Discard
	}
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	if o.now != nil {
		a.API.Now = o.now
	}
	// As apitest.StartOn does: public URL, then the job workers.
	srv := httptest.NewServer(a.API)
	a.Cfg.PublicURL = srv.URL
	if err := a.Jobs.Start(context.Background()); err != nil {
		t.Fatalf("start jobs: %v", err)
	}
	env := &apitest.Env{T: t, Store: st, App: a, Server: srv, URL: srv.URL, Logs: logs}
	t.Cleanup(env.Close)
	return env
}

// clock is a settable clock for the API rate limiter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// randomKey is a well-formed key that no member holds.
func randomKey() string {
	k, _, _ := auth.NewAPIKey()
	return k
}

// exec runs raw SQL on the app's write handle (to age rows the API cannot).
func execSQL(t testing.TB, env *apitest.Env, q string, args ...any) int64 {
	t.Helper()
	res, err := env.App.DB.Handles().Write.ExecContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	n, _ := res.RowsAffected()
	return n
}

// pastMillis is a stored time well in the past.
func pastMillis(d time.Duration) int64 { return store.Millis(time.Now().Add(-d)) }

func readAll(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return string(b)
}
