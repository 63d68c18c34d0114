package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// hookReceiver is a callback receiver that keeps each request's headers.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []http.Header
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h.mu.Lock()
		h.got = append(h.got, r.Header.Clone())
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) headers() []http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]http.Header(nil), h.got...)
}

// Secrets a request and a run carry, which no span may hold.
const (
	cookieSecret   = "cookie-secret-7f3a"
	cbHeaderSecret = "cb-header-secret-91c2"
	cbURLSecret    = "cb-url-secret-5d0e"
)

// post sends a JSON request with the key, a session cookie and extra
// headers, as a client would.
func post(t *testing.T, env *apitest.Env, path, key string, body any, extra map[string]string) (int, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", env.URL+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Cookie", "fm_session="+cookieSecret)
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(data, &out)
	if res.StatusCode >= 300 {
		t.Fatalf("POST %s: %d %s", path, res.StatusCode, data)
	}
	return res.StatusCode, out
}

// submitTracedRun submits a 3-input async run whose callbacks (on: all,
// with a secret header and a token in the URL) go to hooks, waits until
// the run succeeded and every callback was answered, and returns the run's
// uid and its deliveries' uids.
func submitTracedRun(t *testing.T, env *apitest.Env, key string, hooks *hookReceiver) (string, []string) {
	t.Helper()
	inputs := make([]any, 3)
	for i := range inputs {
		inputs[i] = map[string]any{"google_maps_search_url": fmt.Sprintf("https://www.google.com/maps/search/trace%d", i)}
	}
	_, out := post(t, env, "/v4/actions/googlemaps-search-places/run/async", key, map[string]any{"inputs": inputs,
		"callback": map[string]any{"url": hooks.srv.URL + "/hook?token=" + cbURLSecret, "on": "all",
			"headers": map[string]any{"Authorization": "Bearer " + cbHeaderSecret}}}, nil)
	uid, _ := out["run_uid"].(string)
	if uid == "" {
		t.Fatalf("no run_uid in %v", out)
	}
	for end := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		st := env.Must(200, "GET", "/v4/runs/"+uid, key, nil).Obj()["status"]
		var uids []string
		done := st == "SUCCEEDED"
		for _, x := range env.Must(200, "GET", "/v4/runs/callbacks?limit=20", key, nil).Arr() {
			d := x.(map[string]any)
			if d["run_uid"] != uid {
				continue
			}
			uids = append(uids, d["uid"].(string))
			done = done && d["status"] == "SUCCESS"
		}
		if done && len(uids) >= 2 && len(hooks.headers()) >= len(uids) {
			sort.Strings(uids)
			return uid, uids
		}
		if time.Now().After(end) {
			t.Fatalf("run %s: %v, deliveries %v, %d callbacks received", uid, st, uids, len(hooks.headers()))
		}
	}
}

var tpRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

// TestTracingFollowsARun: with OTEL_EXPORTER_OTLP_ENDPOINT set to a
// collector (a real OTLP/HTTP receiver decoding the exporter's protobuf),
// an async run submitted through the API is one trace: the request's
// server span, the chunk jobs as its children, each driver call a child of
// a chunk, the delivery jobs children of the chunk that enqueued them, and
// each callback attempt a child of its delivery job, whose span the
// callback request names in its traceparent header. A live call's driver
// call is a child of its request, in the trace of the client's own
// traceparent. No span holds the API key, the cookie, the callback's
// headers or its URL's token. On both databases (River's metadata carries
// the context on each).
func TestTracingFollowsARun(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		coll := apitest.NewOTLPReceiver(t)
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", coll.URL)
		t.Setenv("OTEL_SERVICE_NAME", "firstmate-test")
		env := apitest.StartWithLoopbackCallbacks(t, dialect)
		if env.App.Tracing == nil {
			t.Fatal("tracing is off with OTEL_EXPORTER_OTLP_ENDPOINT set")
		}
		key := env.NewWorkspace("Traced", "unlimited")
		wsUID, _ := env.Must(200, "GET", "/v4/workspaces", key, nil).Obj()["uid"].(string)
		hooks := newHookReceiver(t)
		runUID, deliveries := submitTracedRun(t, env, key, hooks)

		// A live call in the client's trace.
		clientTrace, clientSpan := "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
		post(t, env, "/v4/actions/googlemaps-search-places/run/live", key,
			map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/live"}},
			map[string]string{"Traceparent": "00-" + clientTrace + "-" + clientSpan + "-01"})

		// Probes and scrapes are not traced.
		env.Must(200, "GET", "/healthz", "", nil)
		env.Must(200, "GET", "/metrics", "", nil)

		// The delivery job's span ends after its attempts are recorded:
		// flush until the trace is whole.
		var spans []apitest.Span
		var problems []string
		for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if err := env.App.Tracing.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}
			spans = coll.Spans()
			problems = checkRunTrace(spans, runUID, wsUID, deliveries, hooks.headers())
			problems = append(problems, checkLiveTrace(spans, clientTrace, clientSpan)...)
			if len(problems) == 0 || time.Now().After(end) {
				break
			}
		}
		for _, p := range problems {
			t.Error(p)
		}
		if errs := coll.Errors(); len(errs) > 0 {
			t.Errorf("the collector could not decode exports: %v", errs)
		}
		for _, s := range spans {
			if r := s.Attrs["http.route"]; r == "/healthz" || r == "/metrics" {
				t.Errorf("a probe was traced: %q", s.Name)
			}
			if s.Resource["service.name"] != "firstmate-test" {
				t.Errorf("span %q of service %q", s.Name, s.Resource["service.name"])
				break
			}
		}
		// Secrets: the whole of every span, as text.
		for _, s := range spans {
			text := fmt.Sprintf("%s %v %s %v %v", s.Name, s.Attrs, s.StatusMsg, s.Resource, s.Extra)
			for _, secret := range []string{key, cookieSecret, cbHeaderSecret, cbURLSecret} {
				if strings.Contains(text, secret) {
					t.Errorf("span %q holds a secret (%.6s...): %s", s.Name, secret, text)
				}
			}
		}
		if t.Failed() {
			for _, s := range spans {
				t.Logf("%s %s parent %s %q %v", s.TraceID, s.SpanID, s.ParentID, s.Name, s.Attrs)
			}
		}
	})
}

// checkRunTrace returns what is wrong with the async run's trace.
func checkRunTrace(spans []apitest.Span, runUID, wsUID string, deliveries []string, hooks []http.Header) []string {
	var problems []string
	bad := func(f string, args ...any) { problems = append(problems, fmt.Sprintf(f, args...)) }
	var req *apitest.Span
	for i, s := range spans {
		if s.Name == "POST /v4/actions/{slug}/run/async" && s.Attrs["firstmate.run_uid"] == runUID {
			req = &spans[i]
		}
	}
	if req == nil {
		return []string{"no server span for the async submission"}
	}
	if req.Kind != 2 || req.Attrs["http.route"] != "/v4/actions/{slug}/run/async" || req.Attrs["http.request.method"] != "POST" ||
		req.Attrs["firstmate.workspace_uid"] != wsUID || wsUID == "" || req.Attrs["http.response.status_code"] == "" {
		bad("the request's span: kind %d, attributes %v (workspace %s)", req.Kind, req.Attrs, wsUID)
	}
	if req.ParentID != "" {
		bad("the request's span has a parent %s: the client sent no traceparent", req.ParentID)
	}
	in := map[string][]apitest.Span{} // name -> spans of the run's trace
	for _, s := range spans {
		if s.TraceID == req.TraceID {
			in[s.Name] = append(in[s.Name], s)
		}
	}
	ids := func(name string) map[string]bool {
		m := map[string]bool{}
		for _, s := range in[name] {
			m[s.SpanID] = true
		}
		return m
	}
	chunks, jobs := ids("run_chunk"), ids("deliver")
	if len(chunks) == 0 {
		bad("no run_chunk span in the request's trace")
	}
	for _, s := range in["run_chunk"] {
		if s.ParentID != req.SpanID || s.Kind != 5 || s.Attrs["messaging.system"] != "river" || s.Attrs["firstmate.run_id"] == "" {
			bad("chunk span %s: parent %s (want the request's %s), kind %d, %v", s.SpanID, s.ParentID, req.SpanID, s.Kind, s.Attrs)
		}
	}
	drivers := in["driver googlemaps googlemaps-search-places"]
	if len(drivers) < 3 {
		bad("%d driver call spans in the trace, want one per input (3) at least", len(drivers))
	}
	for _, s := range drivers {
		if !chunks[s.ParentID] || s.Kind != 3 || s.Attrs["firstmate.call.label"] != "OK" || s.Attrs["firstmate.platform.family"] != "googlemaps" {
			bad("driver span %s: parent %s is no chunk, or %v", s.SpanID, s.ParentID, s.Attrs)
		}
	}
	if len(jobs) == 0 {
		bad("no deliver span in the trace")
	}
	for _, s := range in["deliver"] {
		if !chunks[s.ParentID] && !jobs[s.ParentID] {
			bad("deliver span %s: parent %s is no chunk", s.SpanID, s.ParentID)
		}
	}
	sends := map[string]bool{}
	var sent []string
	for _, s := range in["callback send"] {
		sends[s.SpanID] = true
		sent = append(sent, s.Attrs["firstmate.delivery.uid"])
		if !jobs[s.ParentID] || s.Attrs["http.response.status_code"] != "200" || s.Attrs["firstmate.delivery.outcome"] != "success" ||
			s.Attrs["firstmate.run_uid"] != runUID || s.Attrs["server.address"] != "127.0.0.1" {
			bad("callback span %s: parent %s is no deliver job, or %v", s.SpanID, s.ParentID, s.Attrs)
		}
	}
	sort.Strings(sent)
	if fmt.Sprint(sent) != fmt.Sprint(deliveries) {
		bad("callback spans for deliveries %v, the run's deliveries are %v", sent, deliveries)
	}
	if len(hooks) != len(deliveries) {
		bad("%d callbacks received for %d deliveries", len(hooks), len(deliveries))
	}
	for i, h := range hooks {
		m := tpRE.FindStringSubmatch(h.Get("Traceparent"))
		if m == nil || m[1] != req.TraceID || !sends[m[2]] {
			bad("callback %d: traceparent %q does not name a callback span of trace %s", i, h.Get("Traceparent"), req.TraceID)
		}
	}
	return problems
}

// checkLiveTrace: the live call's request continues the client's trace,
// and its driver call is the request's child.
func checkLiveTrace(spans []apitest.Span, clientTrace, clientSpan string) []string {
	var req *apitest.Span
	for i, s := range spans {
		if s.Name == "POST /v4/actions/{slug}/run/live" && s.TraceID == clientTrace {
			req = &spans[i]
		}
	}
	if req == nil {
		return []string{"no server span for the live call in the client's trace " + clientTrace}
	}
	var problems []string
	if req.ParentID != clientSpan {
		problems = append(problems, fmt.Sprintf("the live request's parent is %s, want the client's span %s", req.ParentID, clientSpan))
	}
	n := 0
	for _, s := range spans {
		if s.TraceID == clientTrace && strings.HasPrefix(s.Name, "driver ") {
			n++
			if s.ParentID != req.SpanID {
				problems = append(problems, fmt.Sprintf("the live driver call's parent is %s, want the request's %s", s.ParentID, req.SpanID))
			}
		}
	}
	if n != 1 {
		problems = append(problems, fmt.Sprintf("%d driver spans in the live call's trace, want 1", n))
	}
	return problems
}

// TestTracingOffByDefault: with no OTLP endpoint (OTEL_SERVICE_NAME alone
// turns nothing on), or with OTEL_SDK_DISABLED=true beside one, there is no
// tracer provider, callbacks carry no traceparent, and nothing is
// exported: neither to the configured collector nor to the SDK's default
// endpoint (localhost:4318), watched when the port is free. The check
// comes after the node closed, when a provider would have flushed.
func TestTracingOffByDefault(t *testing.T) {
	var accepted atomic.Int64
	if ln, err := net.Listen("tcp", "127.0.0.1:4318"); err == nil {
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Close()
			}
		}()
	} else {
		t.Logf("127.0.0.1:4318 is taken (%v): the default endpoint is not watched", err)
	}
	coll := apitest.NewOTLPReceiver(t)
	for _, c := range []struct {
		name string
		env  map[string]string
	}{
		{"unset", map[string]string{"OTEL_SERVICE_NAME": "firstmate-off"}},
		{"disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": coll.URL, "OTEL_SDK_DISABLED": "true"}},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": coll.URL + "/v1/traces", "OTEL_TRACES_EXPORTER": "none"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, v := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER"} {
				t.Setenv(v, c.env[v])
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			env := apitest.StartWithLoopbackCallbacks(t, "sqlite")
			if env.App.Tracing != nil || env.App.Tracing.Tracer() != nil {
				t.Fatal("a tracer provider was started")
			}
			key := env.NewWorkspace("Untraced", "unlimited")
			hooks := newHookReceiver(t)
			submitTracedRun(t, env, key, hooks)
			for i, h := range hooks.headers() {
				if tp, ok := h["Traceparent"]; ok {
					t.Errorf("callback %d carried traceparent %v", i, tp)
				}
			}
			env.Close()
			if n := len(coll.Exports()); n > 0 {
				t.Errorf("%d exports reached the collector", n)
			}
			if n := accepted.Load(); n > 0 {
				t.Errorf("%d connections to the SDK's default endpoint 127.0.0.1:4318", n)
			}
		})
	}
}
