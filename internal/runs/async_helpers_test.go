package runs_test

// Helpers of the async integration tests: an in-process Firstmate whose seams
// (plans, retry schedule, SSRF policy, clocks) are set before River starts,
// a callback receiver that verifies every signature, and small API wrappers.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// asyncPlans are test plans: no API rate limit, so tests may poll freely.
var asyncPlans = []config.Plan{
	{Name: "async_test", CreditsPerPeriod: 1_000_000, Identities: 100, ConcurrentRuns: 10},
	{Name: "async_cap2", CreditsPerPeriod: 1_000_000, Identities: 100, ConcurrentRuns: 2},
	{Name: "async_poor", CreditsPerPeriod: 5, Identities: 100, ConcurrentRuns: 10},
	{Name: "async_many", CreditsPerPeriod: 10_000_000, Identities: 1000, ConcurrentRuns: 10},
	{Name: "async_3000", CreditsPerPeriod: 3000, Identities: 100, ConcurrentRuns: 10},
	{Name: "async_60", CreditsPerPeriod: 60, Identities: 100, ConcurrentRuns: 10},
}

// fastSchedule makes retries observable in seconds.
var fastSchedule = send.Schedule{0, time.Second, 2 * time.Second, 3 * time.Second}

// asyncEnv is a running Firstmate plus a workspace on a test plan.
type asyncEnv struct {
	*apitest.Env
	Key string
}

// asyncOpts tweak startAsync.
type asyncOpts struct {
	// setup runs after the services are built and before River and the
	// HTTP server start, so it may replace seams (App.Dispatch.Schedule,
	// policies, clocks) without racing a worker.
	setup func(a *app.App)
	// noWorkers leaves River stopped: jobs are enqueued but never worked,
	// so a test can call App.Runs.WorkChunk itself.
	noWorkers bool
	// defaultPolicy keeps the callback policy a server gets from its
	// settings alone; otherwise the tests' loopback receivers are allowed
	// (as FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true does).
	defaultPolicy bool
	// bulkSubmissions sets config.Config.BulkSubmissions.
	bulkSubmissions int
	// config changes the settings before the instance opens.
	config func(c *config.Config)
}

// startAsync opens Firstmate on a fresh store of dialect, with the fast
// retry schedule and a workspace on the async_test plan.
func startAsync(t *testing.T, dialect string, o asyncOpts) *asyncEnv {
	t.Helper()
	e := startAsyncOn(t, apitest.NewStore(t, dialect), o)
	e.Key = e.NewWorkspace("Async "+strings.ReplaceAll(t.Name(), "/", " "), "async_test")
	return e
}

// pgSlots bounds the PostgreSQL-backed instances these tests run at once:
// each holds a pool of up to 20 connections of a server shared by the
// whole test run.
// A test that restarts an instance keeps the one slot it holds.
var (
	pgSlots   = make(chan struct{}, 2)
	pgHolders sync.Map // *testing.T holding a slot
)

// startAsyncOn opens Firstmate on an existing store (a restart).
func startAsyncOn(t *testing.T, st apitest.Store, o asyncOpts) *asyncEnv {
	t.Helper()
	if _, held := pgHolders.Load(t); st.Dialect == "postgres" && !held {
		pgSlots <- struct{}{}
		pgHolders.Store(t, true)
		// Runs after the instance is closed: cleanups run last-in first-out.
		t.Cleanup(func() { pgHolders.Delete(t); <-pgSlots })
	}
	cfg := st.Config()
	if !o.defaultPolicy {
		cfg.Callbacks.AllowLoopback = true // the receivers are httptest servers
	}
	cfg.BulkSubmissions = o.bulkSubmissions
	if o.config != nil {
		o.config(&cfg)
	}
	data, _ := json.Marshal(asyncPlans)
	cfg.PlansFile = filepath.Join(t.TempDir(), "plans.json")
	if err := os.WriteFile(cfg.PlansFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &apitest.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	a.Dispatch.Schedule = fastSchedule
	if o.setup != nil {
		o.setup(a)
	}
	srv := httptest.NewServer(a.API)
	a.Cfg.PublicURL = srv.URL
	env := &apitest.Env{T: t, Store: st, App: a, Server: srv, URL: srv.URL, Logs: logs}
	if o.noWorkers {
		var once sync.Once
		t.Cleanup(func() { once.Do(func() { srv.Close(); a.Close() }) })
	} else {
		if err := a.Jobs.Start(context.Background()); err != nil {
			t.Fatalf("start jobs: %v", err)
		}
		t.Cleanup(env.Close)
	}
	return &asyncEnv{Env: env}
}

// forEachDialect runs fn per database, the subtests in parallel (for tests
// that mostly wait).
func forEachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range apitest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

// startWorkers starts River on an instance opened with noWorkers.
func (e *asyncEnv) startWorkers() {
	e.T.Helper()
	if err := e.App.Jobs.Start(context.Background()); err != nil {
		e.T.Fatalf("start jobs: %v", err)
	}
	e.T.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.App.Jobs.Stop(ctx)
	})
}

// workspace creates another workspace on plan.
func (e *asyncEnv) workspace(name, plan string) string { return e.NewWorkspace(name, plan) }

// identity creates an identity and connects a LinkedIn sandbox cookie.
func (e *asyncEnv) identity(key, name, cookie string) string {
	e.T.Helper()
	id := e.Must(200, "POST", "/v4/identities", key, map[string]any{"name": name}).Obj()
	uid, _ := id["uid"].(string)
	e.connect(key, uid, cookie)
	return uid
}

func (e *asyncEnv) connect(key, identityUID, cookie string) map[string]any {
	e.T.Helper()
	g := e.Must(200, "POST", "/v4/identities/"+identityUID+"/integrations/linkedin", key,
		map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": cookie}}}).Obj()
	if g["status"] != "VALID" {
		e.T.Fatalf("connecting %s: %v", cookie, g)
	}
	return g
}

// profileInputs are n distinct profile URLs, each with custom_data naming its index.
func profileInputs(n int, tag string) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"linkedin_profile_url": fmt.Sprintf("https://www.linkedin.com/in/%s-person-%d", tag, i),
			"custom_data": map[string]any{"idx": i, "tag": tag}}
	}
	return out
}

// placeInputs are n Google Maps places (no identity, no Smart Limits).
func placeInputs(n int, tag string) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"google_maps_place_url": fmt.Sprintf("https://www.google.com/maps/place/%s-%d", tag, i),
			"custom_data": map[string]any{"idx": i, "tag": tag}}
	}
	return out
}

// submit posts an async run and returns the 200 body.
func (e *asyncEnv) submit(key, slug string, body map[string]any) map[string]any {
	e.T.Helper()
	return e.Must(200, "POST", "/v4/actions/"+slug+"/run/async", key, body).Obj()
}

func (e *asyncEnv) run(key, uid string) map[string]any {
	e.T.Helper()
	return e.Must(200, "GET", "/v4/runs/"+uid, key, nil).Obj()
}

var terminal = map[string]bool{"SUCCEEDED": true, "PARTIAL_SUCCEEDED": true, "FAILED": true, "STOPPED": true, "INVALID": true}

// waitRun polls a run until cond holds (or fails the test after timeout).
func (e *asyncEnv) waitRun(key, uid string, timeout time.Duration, what string, cond func(r map[string]any) bool) map[string]any {
	e.T.Helper()
	end := time.Now().Add(timeout)
	for {
		r := e.run(key, uid)
		if cond(r) {
			return r
		}
		if time.Now().After(end) {
			e.T.Fatalf("run %s: waited %s for %s; last: %v", uid, timeout, what, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *asyncEnv) waitStatus(key, uid string, timeout time.Duration, statuses ...string) map[string]any {
	e.T.Helper()
	return e.waitRun(key, uid, timeout, "status "+strings.Join(statuses, "|"), func(r map[string]any) bool {
		for _, s := range statuses {
			if r["status"] == s {
				return true
			}
		}
		return false
	})
}

// outputs pages GET /runs/{uid}/outputs to the end.
func (e *asyncEnv) outputs(key, uid string) []map[string]any {
	e.T.Helper()
	var all []map[string]any
	for off := 0; ; off += 100 {
		page := e.Must(200, "GET", fmt.Sprintf("/v4/runs/%s/outputs?limit=100&offset=%d", uid, off), key, nil).Arr()
		for _, x := range page {
			m, _ := x.(map[string]any)
			all = append(all, m)
		}
		if len(page) < 100 {
			return all
		}
	}
}

// callbacks lists a run's callback deliveries through the API (all pages).
func (e *asyncEnv) callbacks(key, runUID string, extra string) []map[string]any {
	e.T.Helper()
	var all []map[string]any
	for off := 0; ; off += 20 {
		page := e.Must(200, "GET", fmt.Sprintf("/v4/runs/callbacks?run_uid[]=%s&limit=20&offset=%d%s", runUID, off, extra), key, nil).Arr()
		for _, x := range page {
			m, _ := x.(map[string]any)
			all = append(all, m)
		}
		if len(page) < 20 {
			return all
		}
	}
}

func (e *asyncEnv) secret(key string) string {
	e.T.Helper()
	s, _ := e.Must(200, "GET", "/v4/workspaces/settings", key, nil).Obj()["callback_signing_secret"].(string)
	if !strings.HasPrefix(s, "whsec_") {
		e.T.Fatalf("callback_signing_secret %q", s)
	}
	return s
}

func (e *asyncEnv) creditsUsed(key string) float64 {
	e.T.Helper()
	n, _ := e.Must(200, "GET", "/v4/workspaces", key, nil).Obj()["credits_used"].(float64)
	return n
}

func (e *asyncEnv) count(q string, args ...any) int {
	e.T.Helper()
	var n int
	if err := e.App.DB.Handles().R.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		e.T.Fatalf("%s: %v", q, err)
	}
	return n
}

// callback is one POST the receiver got.
type callback struct {
	At      time.Time
	Path    string
	ID      string // webhook-id
	Header  http.Header
	Body    map[string]any
	Raw     []byte
	Answer  int
	SigErr  error
	Attempt int // 1-based count of requests seen with this webhook-id
	// Done is when the receiver had its answer ready: the sender cannot
	// have read it before.
	Done time.Time
}

// receiver is a callback endpoint on loopback. It verifies the Standard
// Webhooks signature of every request against secret (when set) and answers
// with whatever answer returns (200 when nil).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	got    []callback
	seen   map[string]int
	paths  map[string]int // requests that arrived on each path, answered or not
	answer func(c *callback, w http.ResponseWriter) int
	notify chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{seen: map[string]int{}, paths: map[string]int{}, notify: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setSecret(s string) {
	r.mu.Lock()
	r.secret = s
	r.mu.Unlock()
}

func (r *receiver) setAnswer(f func(c *callback, w http.ResponseWriter) int) {
	r.mu.Lock()
	r.answer = f
	r.mu.Unlock()
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	raw, _ := io.ReadAll(req.Body)
	c := callback{At: time.Now(), Path: req.URL.Path, ID: req.Header.Get("webhook-id"), Header: req.Header.Clone(), Raw: raw}
	_ = json.Unmarshal(raw, &c.Body)
	r.mu.Lock()
	if r.secret != "" {
		c.SigErr = send.Verify(r.secret, req.Header, raw, 5*time.Minute)
	}
	r.seen[c.ID]++
	r.paths[c.Path]++
	c.Attempt = r.seen[c.ID]
	answer := r.answer
	r.mu.Unlock()
	c.Answer = 200
	if answer != nil {
		c.Answer = answer(&c, w)
	}
	c.Done = time.Now()
	r.mu.Lock()
	r.got = append(r.got, c)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(c.Answer)
}

func (r *receiver) all() []callback {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]callback(nil), r.got...)
}

// arrivedOn counts the requests that arrived on path, answered or not.
func (r *receiver) arrivedOn(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.paths[path]
}

// on lists what was received on one path.
func (r *receiver) on(path string) []callback {
	var out []callback
	for _, c := range r.all() {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// waitFor waits until cond holds on what was received.
func (r *receiver) waitFor(t *testing.T, timeout time.Duration, what string, cond func([]callback) bool) []callback {
	t.Helper()
	end := time.Now().Add(timeout)
	for {
		got := r.all()
		if cond(got) {
			return got
		}
		if time.Now().After(end) {
			t.Fatalf("receiver: waited %s for %s; got %d callbacks", timeout, what, len(got))
		}
		select {
		case <-r.notify:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// finalOf returns the received final callbacks of a run: the one that
// carries the run's terminal status (batch callbacks say RUNNING).
func finalOf(got []callback, runUID string) []callback {
	var out []callback
	for _, c := range got {
		if isFinal(c, runUID) {
			out = append(out, c)
		}
	}
	return out
}

func isFinal(c callback, runUID string) bool {
	run, _ := c.Body["run"].(map[string]any)
	return run["run_uid"] == runUID && run["status"] != "RUNNING"
}

// clock is a settable clock shared by the engine and the runs service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
