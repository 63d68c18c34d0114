package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/catalog"
)

// Live calls through the real HTTP API against the embedded simulator.
// Helpers here are prefixed "lv" so they never clash with the other test
// files of the package.

// lvStart opens Firstmate on a fresh store of dialect. configure runs before
// the HTTP server takes any request, so engine seams (clock, HTTP client,
// drivers, plans) are set without racing request goroutines.
func lvStart(t testing.TB, dialect string, configure func(a *app.App)) *apitest.Env {
	t.Helper()
	return lvStartOn(t, apitest.NewStore(t, dialect), configure)
}

func lvStartOn(t testing.TB, st apitest.Store, configure func(a *app.App)) *apitest.Env {
	t.Helper()
	logs := &apitest.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.Open(context.Background(), st.Config(), log)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	if configure != nil {
		configure(a)
	}
	srv := httptest.NewUnstartedServer(a.API)
	a.Cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	srv.Start()
	if err := a.Jobs.Start(context.Background()); err != nil {
		t.Fatalf("start jobs: %v", err)
	}
	env := &apitest.Env{T: t, Store: st, App: a, Server: srv, URL: srv.URL, Logs: logs}
	t.Cleanup(env.Close)
	return env
}

// lvClock is a settable engine clock: real time plus an offset.
type lvClock struct{ off atomic.Int64 }

func (c *lvClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *lvClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// lvIdentity creates an identity and connects a LinkedIn account with the
// li_at cookie; the integration must come back VALID. It returns the uid.
func lvIdentity(t testing.TB, env *apitest.Env, key, name, cookie string) string {
	t.Helper()
	id := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": name}).Obj()
	uid, _ := id["uid"].(string)
	if uid == "" {
		t.Fatalf("identity without uid: %v", id)
	}
	if cookie == "" {
		return uid
	}
	g := env.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", key,
		map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": cookie}}}).Obj()
	if g["status"] != "VALID" {
		t.Fatalf("connect %s: status %v: %v", cookie, g["status"], g)
	}
	return uid
}

// lvLive posts a live call; query is appended as is ("" or "page=2").
func lvLive(env *apitest.Env, key, slug string, body map[string]any, query string) apitest.Resp {
	env.T.Helper()
	p := "/v4/actions/" + slug + "/run/live"
	if query != "" {
		p += "?" + query
	}
	if body == nil {
		body = map[string]any{}
	}
	return env.Do("POST", p, key, body)
}

// lvDo sends a request to an absolute URL (the pagination headers carry
// full URLs).
func lvDo(t testing.TB, method, rawURL, key string, body any) apitest.Resp {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, rawURL, strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return apitest.Resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// lvErr asserts an error status and label and returns the params.
func lvErr(t testing.TB, what string, r apitest.Resp, status int, label string) map[string]any {
	t.Helper()
	if r.Status != status || r.Label() != label {
		t.Fatalf("%s: got %d %s, want %d %s: %s", what, r.Status, r.Label(), status, label, lvTrunc(r.Body))
	}
	p, _ := r.Obj()["params"].(map[string]any)
	return p
}

func lvTrunc(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// lvCheckValue checks a decoded JSON value against a catalogue node: present,
// of the declared JSON type (null only where nullable), recursively.
func lvCheckValue(path string, n *catalog.Node, typ string, nullable bool, v any) error {
	if n != nil {
		if typ == "" {
			for _, x := range n.Type {
				if x == "null" {
					nullable = true
				} else if typ == "" {
					typ = x
				}
			}
		}
		nullable = nullable || n.Nullable
	}
	if v == nil {
		if nullable || typ == "" {
			return nil
		}
		return fmt.Errorf("%s: null, want %s", path, typ)
	}
	bad := func() error { return fmt.Errorf("%s: want %s, got %T (%v)", path, typ, v, v) }
	switch typ {
	case "string":
		if _, ok := v.(string); !ok {
			return bad()
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != math.Trunc(f) {
			return bad()
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return bad()
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad()
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return bad()
		}
		if n != nil && n.Items != nil {
			for i, x := range arr {
				if err := lvCheckValue(fmt.Sprintf("%s[%d]", path, i), n.Items, "", false, x); err != nil {
					return err
				}
			}
		}
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		if n != nil {
			for _, p := range n.Props {
				x, ok := m[p.Name]
				if !ok {
					return fmt.Errorf("%s.%s: missing", path, p.Name)
				}
				if err := lvCheckValue(path+"."+p.Name, p.Node, "", false, x); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// lvCheckOutput checks one result object against the action's output fields.
func lvCheckOutput(a *catalog.Action, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("result is %T, want an object", v)
	}
	for _, f := range a.Outputs {
		x, ok := m[f.Name]
		if !ok {
			return fmt.Errorf("field %s missing", f.Name)
		}
		if err := lvCheckValue(f.Name, f.Node, f.Type, f.Nullable, x); err != nil {
			return err
		}
	}
	for k := range m {
		known := false
		for _, f := range a.Outputs {
			if f.Name == k {
				known = true
				break
			}
		}
		if !known {
			return fmt.Errorf("field %s is not in the catalogue", k)
		}
	}
	return nil
}

// lvCheckBody checks a 200 live body: a bare array of results for list
// actions, a bare object otherwise. It returns the number of results.
func lvCheckBody(t testing.TB, a *catalog.Action, r apitest.Resp) int {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("%s: status %d: %s", a.Slug, r.Status, lvTrunc(r.Body))
	}
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%s: body is not JSON: %v", a.Slug, err)
	}
	if a.ListOutput {
		arr, ok := v.([]any)
		if !ok {
			t.Fatalf("%s: list action answered %T, want a bare array: %s", a.Slug, v, lvTrunc(r.Body))
		}
		if a.PageSize > 0 && len(arr) > a.PageSize {
			t.Fatalf("%s: %d results on a page of %d", a.Slug, len(arr), a.PageSize)
		}
		for i, x := range arr {
			if err := lvCheckOutput(a, x); err != nil {
				t.Fatalf("%s result %d: %v", a.Slug, i, err)
			}
		}
		return len(arr)
	}
	if err := lvCheckOutput(a, v); err != nil {
		t.Fatalf("%s: %v: %s", a.Slug, err, lvTrunc(r.Body))
	}
	return 1
}

// lvAction looks a slug up in the catalogue.
func lvAction(t testing.TB, slug string) *catalog.Action {
	t.Helper()
	a, ok := catalog.Get(slug)
	if !ok {
		t.Fatalf("catalogue lacks %s", slug)
	}
	return a
}

// lvParallel runs fn n times at once and returns the responses in order.
func lvParallel(n int, fn func(i int) apitest.Resp) []apitest.Resp {
	out := make([]apitest.Resp, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			out[i] = fn(i)
		}(i)
	}
	close(start)
	wg.Wait()
	return out
}

// lvRuns lists the workspace's LIVE runs, newest first.
func lvRuns(t testing.TB, env *apitest.Env, key, extra string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for off := 0; ; off += 100 {
		r := env.Must(200, "GET", fmt.Sprintf("/v4/runs?execution_mode[]=LIVE&limit=100&offset=%d&sort=-created_at%s", off, extra), key, nil)
		arr := r.Arr()
		for _, x := range arr {
			m, _ := x.(map[string]any)
			out = append(out, m)
		}
		if len(arr) < 100 {
			return out
		}
	}
}

// lvRun finds the recorded run of a response (X-Run-Uid).
func lvRun(t testing.TB, env *apitest.Env, key string, r apitest.Resp) map[string]any {
	t.Helper()
	uid := r.Header.Get("X-Run-Uid")
	if uid == "" {
		t.Fatalf("response without X-Run-Uid: %d %s", r.Status, lvTrunc(r.Body))
	}
	runs := env.Must(200, "GET", "/v4/runs?execution_mode[]=LIVE&uid[]="+url.QueryEscape(uid), key, nil).Arr()
	if len(runs) != 1 {
		t.Fatalf("run %s: GET /runs?execution_mode[]=LIVE&uid[]= found %d", uid, len(runs))
	}
	return runs[0].(map[string]any)
}

// lvCheckRun asserts a recorded LIVE run's status, output count and error label.
func lvCheckRun(t testing.TB, env *apitest.Env, key string, r apitest.Resp, slug, status string, outputs int, label string) {
	t.Helper()
	run := lvRun(t, env, key, r)
	le, _ := run["last_error"].(map[string]any)
	gotLabel := ""
	if le != nil {
		gotLabel, _ = le["label"].(string)
	}
	if run["execution_mode"] != "LIVE" || run["action_name"] != slug || run["status"] != status ||
		run["output_count"] != float64(outputs) || gotLabel != label || run["input_count"] != float64(1) {
		t.Fatalf("run of %s: %v/%v/%v outputs %v error %q, want LIVE/%s/%s outputs %d error %q", slug, run["execution_mode"],
			run["action_name"], run["status"], run["output_count"], gotLabel, slug, status, outputs, label)
	}
	if run["started_at"] == nil || run["finished_at"] == nil {
		t.Fatalf("run of %s without started_at/finished_at: %v", slug, run)
	}
}
