package identity_test

// Helpers of the integration webhook tests: an in-process Firstmate whose
// seams are set before River starts, a loopback webhook receiver that
// records every attempt, and small API wrappers.

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
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// whPlans: no API rate limit, so the tests may poll freely.
var whPlans = []config.Plan{
	{Name: "wh_test", CreditsPerPeriod: 1_000_000, Identities: 100, ConcurrentRuns: 10},
	{Name: "wh_cap1", CreditsPerPeriod: 1_000_000, Identities: 100, ConcurrentRuns: 1},
}

// fastSchedule makes webhook retries observable in well under a second.
var fastSchedule = send.Schedule{0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}

type whEnv struct {
	*apitest.Env
	Key string
}

// start opens Firstmate on a fresh store, allowing webhooks to loopback
// (the receivers are httptest servers). setup runs after the services are
// built and before River and the HTTP server start.
func start(t *testing.T, dialect, plan string, setup func(a *app.App)) *whEnv {
	t.Helper()
	return startWith(t, dialect, plan, setup, true)
}

// startWith is start with the loopback allowance chosen: false is the
// default policy, as a server started without
// FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true has it.
func startWith(t *testing.T, dialect, plan string, setup func(a *app.App), loopback bool) *whEnv {
	t.Helper()
	st := apitest.NewStore(t, dialect)
	st.AllowLoopbackCallbacks = loopback
	cfg := st.Config()
	data, _ := json.Marshal(whPlans)
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
	if setup != nil {
		setup(a)
	}
	srv := httptest.NewServer(a.API)
	a.Cfg.PublicURL = srv.URL
	if err := a.Jobs.Start(context.Background()); err != nil {
		t.Fatalf("start jobs: %v", err)
	}
	env := &apitest.Env{T: t, Store: st, App: a, Server: srv, URL: srv.URL, Logs: logs}
	t.Cleanup(env.Close)
	return &whEnv{Env: env, Key: env.NewWorkspace("Webhooks "+strings.ReplaceAll(t.Name(), "/", " "), plan)}
}

func (e *whEnv) settings(key string, body map[string]any) map[string]any {
	e.T.Helper()
	return e.Must(200, "PUT", "/v4/workspaces/settings", key, body).Obj()
}

func (e *whEnv) secret(key string) string {
	e.T.Helper()
	s, _ := e.Must(200, "GET", "/v4/workspaces/settings", key, nil).Obj()["callback_signing_secret"].(string)
	if !strings.HasPrefix(s, "whsec_") {
		e.T.Fatalf("callback_signing_secret %q", s)
	}
	return s
}

func (e *whEnv) identity(key, name string) string {
	e.T.Helper()
	uid, _ := e.Must(200, "POST", "/v4/identities", key, map[string]any{"name": name}).Obj()["uid"].(string)
	return uid
}

// connect posts a LinkedIn-family cookie and returns the integration.
func (e *whEnv) connect(key, identityUID, platform, cookie string) map[string]any {
	e.T.Helper()
	return e.Must(200, "POST", "/v4/identities/"+identityUID+"/integrations/"+platform, key,
		map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": cookie}}}).Obj()
}

// integration reads an integration as the store has it (with its id).
func (e *whEnv) integration(key, identityUID, platform string) model.Integration {
	e.T.Helper()
	p, err := e.App.Workspaces.Authenticate(context.Background(), key)
	if err != nil {
		e.T.Fatal(err)
	}
	g, err := e.App.Identities.Integration(context.Background(), p.WorkspaceID, identityUID, platform)
	if err != nil {
		e.T.Fatalf("integration %s/%s: %v", identityUID, platform, err)
	}
	return g
}

// webhooks lists the workspace's webhook deliveries, oldest first.
func (e *whEnv) webhooks(key string, extra string) []map[string]any {
	e.T.Helper()
	var out []map[string]any
	for off := 0; ; off += 100 {
		page := e.Must(200, "GET", "/v4/webhooks/deliveries?sort=created_at&limit=100&offset="+itoa(off)+extra, key, nil).Arr()
		for _, x := range page {
			m, _ := x.(map[string]any)
			out = append(out, m)
		}
		if len(page) < 100 {
			return out
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func (e *whEnv) run(key, uid string) map[string]any {
	e.T.Helper()
	return e.Must(200, "GET", "/v4/runs/"+uid, key, nil).Obj()
}

// waitRun polls a run until cond holds, failing after a generous timeout.
func (e *whEnv) waitRun(key, uid, what string, cond func(r map[string]any) bool) map[string]any {
	e.T.Helper()
	end := time.Now().Add(60 * time.Second)
	for {
		r := e.run(key, uid)
		if cond(r) {
			return r
		}
		if time.Now().After(end) {
			e.T.Fatalf("run %s: gave up waiting for %s; last: %v", uid, what, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *whEnv) waitStatus(key, uid, status string) map[string]any {
	e.T.Helper()
	return e.waitRun(key, uid, "status "+status, func(r map[string]any) bool { return r["status"] == status })
}

// waitFor polls cond, failing after a generous timeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// attempt is one POST the receiver got.
type attempt struct {
	ID     string
	Header http.Header
	Body   []byte
	Status int // what the receiver answered
}

// receiver is a loopback webhook endpoint. answer picks the status of
// each attempt (nil: 200).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []attempt
	answer func(a attempt, n int) int // n: 1-based count of attempts with this webhook-id
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		a := attempt{ID: req.Header.Get("webhook-id"), Header: req.Header.Clone(), Body: body, Status: 200}
		r.mu.Lock()
		n := 1
		for _, p := range r.got {
			if p.ID == a.ID {
				n++
			}
		}
		if r.answer != nil {
			a.Status = r.answer(a, n)
		}
		r.got = append(r.got, a)
		r.mu.Unlock()
		w.WriteHeader(a.Status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL + "/hook" }

func (r *receiver) attempts() []attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]attempt(nil), r.got...)
}

// distinct returns the first attempt of each webhook-id, in arrival order.
func (r *receiver) distinct() []attempt {
	seen := map[string]bool{}
	var out []attempt
	for _, a := range r.attempts() {
		if !seen[a.ID] {
			seen[a.ID] = true
			out = append(out, a)
		}
	}
	return out
}

// waitDistinct waits until n distinct webhook-ids arrived.
func (r *receiver) waitDistinct(t *testing.T, n int) []attempt {
	t.Helper()
	waitFor(t, itoa(n)+" distinct webhooks", func() bool { return len(r.distinct()) >= n })
	return r.distinct()
}

// checkSigned verifies every attempt's Standard Webhooks signature with
// the workspace secret.
func checkSigned(t *testing.T, secret string, as []attempt) {
	t.Helper()
	for _, a := range as {
		if a.ID == "" {
			t.Errorf("an attempt without webhook-id: %s", a.Body)
			continue
		}
		if err := send.Verify(secret, a.Header, a.Body, 10*time.Minute); err != nil {
			t.Errorf("webhook %s: signature does not verify with the workspace secret: %v", a.ID, err)
		}
	}
}

// webhookFields is the contract's body, exactly.
var webhookFields = []string{"event", "workspace_uid", "identity_uid", "integration_uid", "integration", "status",
	"checkpoint", "action_to_be_taken", "error", "created_at"}

func decodeBody(t *testing.T, a attempt) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Body, &m); err != nil {
		t.Fatalf("webhook %s: body is not a JSON object: %v: %s", a.ID, err, a.Body)
	}
	if len(m) != len(webhookFields) {
		t.Errorf("webhook %s: %d fields, want exactly %v: %s", a.ID, len(m), webhookFields, a.Body)
	}
	for _, f := range webhookFields {
		if _, ok := m[f]; !ok {
			t.Errorf("webhook %s lacks %s: %s", a.ID, f, a.Body)
		}
	}
	if s, _ := m["created_at"].(string); s == "" {
		t.Errorf("webhook %s: created_at %v", a.ID, m["created_at"])
	} else if _, err := time.Parse(time.RFC3339, s); err != nil {
		t.Errorf("webhook %s: created_at %q is not RFC 3339", a.ID, s)
	}
	return m
}
