package executor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

var profileInput = map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/jane-doe/"}

// Each label an executor answers means, to the engine, what the contract
// says it means: the model below is written from the contract (424
// upstream labels; STATUS_429, LK_524, PROXY_ERROR and the 5xx failures are
// worth retrying; NOT_CONNECTED ends the session), not from the product.
func TestLabelsKeepTheContractsMeaning(t *testing.T) {
	type want struct {
		status    int
		transient bool
		expired   bool
	}
	model := map[string]want{
		"NOT_CONNECTED": {424, false, true}, "STATUS_403": {424, false, false}, "STATUS_404": {424, false, false},
		"STATUS_429": {424, true, false}, "NO_RESULT": {424, false, false}, "LK_ERROR": {424, true, false},
		"LK_524": {424, true, false}, "PROXY_ERROR": {424, true, false}, "INTEGRATION_ERROR": {424, false, false},
		"SN_ACCOUNT_UPGRADE": {424, false, false}, "GENERIC_ERROR": {424, true, false},
		"RESTRICTED": {424, false, false}, "ACTION_BROKEN": {424, false, false}, "BAD_INPUT": {400, false, false},
	}
	if len(model) != len(executor.Labels()) {
		t.Fatalf("the protocol has %d labels, the model %d", len(executor.Labels()), len(model))
	}
	for _, label := range executor.Labels() {
		w, ok := model[label]
		if !ok {
			t.Fatalf("label %s is not in the contract's model", label)
		}
		f := newFake(t, time.Second, answer(424, fmt.Sprintf(`{"error":{"label":%q,"message":"the platform said no","params":{"upstream_code":"X1"}}}`, label)))
		_, err := run(f.c, context.Background(), "linkedin-extract-people", profileInput)
		ae := asApp(t, err)
		if ae.Label != label || ae.Status != w.status || ae.Message != "the platform said no" || ae.Params["upstream_code"] != "X1" ||
			platform.Transient(err) != w.transient || platform.IsSessionExpired(err) != w.expired {
			t.Errorf("%s: got %d %s %q %v (transient %v, expired %v), want %+v", label, ae.Status, ae.Label, ae.Message, ae.Params,
				platform.Transient(err), platform.IsSessionExpired(err), w)
		}
		if ae.Params[executor.ParamExecutorFault] != "" {
			t.Errorf("%s: a label the executor reported is marked as its fault", label)
		}
	}
	// An upstream 404 behind LK_ERROR is not worth retrying.
	f := newFake(t, time.Second, answer(424, `{"error":{"label":"LK_ERROR","message":"gone","params":{"upstream_status":"404"}}}`))
	if _, err := run(f.c, context.Background(), "linkedin-extract-people", profileInput); platform.Transient(err) {
		t.Error("LK_ERROR with upstream_status 404 retried")
	}
	// retry_after passes through, as a string, and defaults when missing.
	for body, ra := range map[string]int{
		`{"error":{"label":"STATUS_429","message":"slow down","params":{"retry_after":"7"}}}`: 7,
		`{"error":{"label":"STATUS_429","message":"slow down","params":{"retry_after":12}}}`:  12,
		`{"error":{"label":"STATUS_429","message":"slow down"}}`:                              60,
		`{"error":{"label":"STATUS_429","message":"slow down","params":{"retry_after":"x"}}}`: 60,
	} {
		f := newFake(t, time.Second, answer(424, body))
		_, err := run(f.c, context.Background(), "linkedin-extract-people", profileInput)
		if platform.RetryAfter(err) != ra {
			t.Errorf("%s: retry after %d, want %d", body, platform.RetryAfter(err), ra)
		}
	}
}

// Answers that break the protocol give a clear error naming what is wrong,
// transient only where retrying may help, and never pass a bad output on.
func TestHostileAnswers(t *testing.T) {
	person := `"first_name":"Jane"`
	cases := []struct {
		name      string
		h         func(http.ResponseWriter, *http.Request, []byte)
		label     string
		fault     string
		transient bool
		contains  string
	}{
		{"not JSON", answer(200, `<html>hello</html>`), "INTEGRATION_ERROR", "bad_json", false, "not JSON"},
		{"data after the JSON", answer(200, `{"results":[{`+person+`}],"next_page_token":"","has_more":false} trailing`), "INTEGRATION_ERROR", "bad_json", false, "after the JSON"},
		{"results not an array", answer(200, `{"results":{"a":1}}`), "INTEGRATION_ERROR", "bad_json", false, "results"},
		{"no results", answer(200, `{"has_more":false}`), "INTEGRATION_ERROR", "shape", false, "no results array"},
		{"unknown field", answer(200, `{"results":[{`+person+`,"password":"x"}]}`), "INTEGRATION_ERROR", "shape", false, "password is not an output field"},
		{"wrong type", answer(200, `{"results":[{"first_name":42}]}`), "INTEGRATION_ERROR", "shape", false, "first_name must be string, got integer"},
		{"two results for one object", answer(200, `{"results":[{`+person+`},{`+person+`}]}`), "INTEGRATION_ERROR", "shape", false, "one object"},
		{"zero results for one object", answer(200, `{"results":[]}`), "INTEGRATION_ERROR", "shape", false, "NO_RESULT"},
		{"null result", answer(200, `{"results":[null]}`), "INTEGRATION_ERROR", "shape", false, "null"},
		{"huge token", answer(200, `{"results":[{`+person+`}],"next_page_token":"`+strings.Repeat("t", 9000)+`"}`), "INTEGRATION_ERROR", "shape", false, "next_page_token"},
		{"unknown label", answer(424, `{"error":{"label":"PLATFORM_ON_FIRE","message":"oops"}}`), "INTEGRATION_ERROR", "unknown_label", false, "PLATFORM_ON_FIRE"},
		{"unknown label on 503", answer(503, `{"error":{"label":"OVERLOADED","message":"later"}}`), "LK_ERROR", "unknown_label", true, "OVERLOADED"},
		{"nested params", answer(424, `{"error":{"label":"STATUS_403","message":"no","params":{"x":{"y":1}}}}`), "INTEGRATION_ERROR", "bad_json", false, "params.x"},
		{"502 from a load balancer", answer(502, `<html>bad gateway</html>`), "LK_ERROR", "status", true, "502"},
		{"404 route", answer(404, `not found`), "INTEGRATION_ERROR", "status", false, "base URL"},
		{"400 malformed", answer(400, `{"error":{"label":"BAD_REQUEST","message":"missing page"}}`), "INTEGRATION_ERROR", "bad_request", false, "missing page"},
		{"401", answer(401, `{"error":{"label":"UNAUTHORIZED","message":"bad signature"}}`), "INTEGRATION_ERROR", "signature", false, "secret"},
		{"redirect", func(w http.ResponseWriter, r *http.Request, _ []byte) {
			http.Redirect(w, r, "http://198.51.100.1/v1/run", http.StatusTemporaryRedirect)
		}, "INTEGRATION_ERROR", "status", false, "307"},
		{"too large", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
			w.WriteHeader(200)
			_, _ = io.WriteString(w, `{"results":[{"first_name":"`)
			chunk := strings.Repeat("a", 64<<10)
			for i := 0; i < 40; i++ { // 2.5 MiB, over the 1 MiB cap set below
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
			_, _ = io.WriteString(w, `"}]}`)
		}, "INTEGRATION_ERROR", "too_large", false, "larger than"},
		{"connection cut mid-answer", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, `{"results":[{"first_na`)
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, "LK_ERROR", "unreachable", true, "connection broke"},
		{"killed before answering", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, "LK_ERROR", "unreachable", true, "cannot be reached"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, 5*time.Second, c.h)
			f.c.SetMaxResponseBytes(1 << 20)
			pg, err := run(f.c, context.Background(), "linkedin-extract-people", profileInput)
			if err == nil {
				t.Fatalf("accepted: %+v", pg)
			}
			ae := asApp(t, err)
			if ae.Label != c.label || ae.Params[executor.ParamExecutorFault] != c.fault || platform.Transient(err) != c.transient ||
				!strings.Contains(ae.Message, c.contains) || !strings.Contains(ae.Message, "the executor at 127.0.0.1:") {
				t.Fatalf("got %s %q %v (transient %v); want %s [%s] transient %v containing %q",
					ae.Label, ae.Message, ae.Params, platform.Transient(err), c.label, c.fault, c.transient, c.contains)
			}
		})
	}
}

// A valid answer is accepted as is: missing fields are read as null,
// numbers stay exact, and an empty page ends a list whatever has_more says.
func TestValidAnswers(t *testing.T) {
	f := newFake(t, time.Second, answer(200, `{"results":[{"first_name":"Jane","linkedin_profile_id":12345678901234567}],"next_page_token":"t2","has_more":true}`))
	pg, err := run(f.c, context.Background(), "linkedin-extract-people", profileInput)
	if err != nil {
		t.Fatal(err)
	}
	r := pg.Results[0]
	a := action(t, "linkedin-extract-people")
	if len(r) != len(a.Outputs) {
		t.Fatalf("%d fields, the action has %d outputs", len(r), len(a.Outputs))
	}
	if v, ok := r["last_name"]; !ok || v != nil {
		t.Fatalf("a missing field must read as null, got %#v (%v)", v, ok)
	}
	if b, _ := json.Marshal(r["linkedin_profile_id"]); string(b) != "12345678901234567" {
		t.Fatalf("a large integer lost precision: %s", b)
	}
	if pg.More {
		t.Fatal("a non-list action has no next page")
	}
	f = newFake(t, time.Second, answer(200, `{"results":[],"next_page_token":"again","has_more":true}`))
	a = action(t, "linkedin-search-people")
	pg, err = f.c.Run(context.Background(), nil, cookie("x"), platform.Call{Action: a, Input: map[string]any{}, Page: 3})
	if err != nil || pg.More {
		t.Fatalf("an empty page must end the list: %+v %v", pg, err)
	}
	// What the client sent: the page, its token and the action's page size.
	var req executor.RunRequest
	if err := json.Unmarshal(f.last().body, &req); err != nil {
		t.Fatal(err)
	}
	if req.Page != 3 || req.PageSize != a.PageSize || req.Family != "linkedin" || req.Action != a.Slug || req.Credentials.Cookies["li_at"] != "x" {
		t.Fatalf("request: %+v", req)
	}
}

// Error messages from an executor are made safe before they reach API
// clients: valid UTF-8, no control characters, bounded.
func TestErrorMessagesAreCleaned(t *testing.T) {
	msg := "line1\nline2\x1b[31m" + strings.Repeat("é", 3000) + "\xff"
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"label": "STATUS_403", "message": msg}})
	f := newFake(t, time.Second, answer(424, string(b)))
	_, err := run(f.c, context.Background(), "linkedin-extract-people", profileInput)
	ae := asApp(t, err)
	if strings.ContainsAny(ae.Message, "\n\x1b") || len([]rune(ae.Message)) > 1001 || !strings.HasPrefix(ae.Message, "line1 line2") {
		t.Fatalf("message not cleaned: %q", ae.Message[:40])
	}
}

// The client enforces the deadline itself: a hanging executor costs the
// deadline, never more, and the executor is told the deadline.
func TestDeadlineAgainstAHangingExecutor(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, 300*time.Millisecond, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	sent := time.Now()
	_, err := run(f.c, context.Background(), "linkedin-extract-people", profileInput)
	ae := asApp(t, err)
	if ae.Label != platform.LabelLK524 || ae.Params[executor.ParamExecutorFault] != "timeout" || !platform.Transient(err) {
		t.Fatalf("hanging executor: %+v", ae)
	}
	rec := f.last()
	var req executor.RunRequest
	if err := json.Unmarshal(rec.body, &req); err != nil {
		t.Fatal(err)
	}
	dl, err := time.Parse(time.RFC3339Nano, req.Deadline)
	if err != nil || req.TimeoutMS <= 0 || req.TimeoutMS > 300 || rec.header.Get(executor.HeaderDeadline) != req.Deadline {
		t.Fatalf("deadline sent: %q (%v), timeout_ms %d, header %q", req.Deadline, err, req.TimeoutMS, rec.header.Get(executor.HeaderDeadline))
	}
	if dl.Before(sent) || dl.After(sent.Add(time.Second)) {
		t.Fatalf("deadline %s is not about 300 ms after %s", dl, sent)
	}
	if rec.header.Get(executor.HeaderRequestID) != req.RequestID || req.RequestID == "" {
		t.Fatal("request id header and body differ")
	}

	// The caller's own deadline, when sooner, wins.
	f2 := newFake(t, time.Hour, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := run(f2.c, ctx, "linkedin-extract-people", profileInput); !apperr.Is(err, platform.LabelLK524) {
		t.Fatalf("caller's deadline: %v", err)
	}
	// The caller's cancellation is returned as is.
	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := run(f2.c, ctx, "linkedin-extract-people", profileInput); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	// A context already past its deadline never reaches the executor.
	n := f2.count()
	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := run(f2.c, ctx, "linkedin-extract-people", profileInput); !apperr.Is(err, platform.LabelLK524) || f2.count() != n {
		t.Fatalf("expired context: %v", err)
	}
}

// The sandbox executor gives up at the deadline it is told, and answers
// LK_524 itself before the client's own cut.
func TestExecutorHonoursTheDeadline(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	a := action(t, "linkedin-extract-people")
	_, err := e.c.Run(ctx, nil, cookie("sim_hang"), platform.Call{Action: a, Input: profileInput, Params: map[string]any{}, Page: 1})
	ae := asApp(t, err)
	if ae.Label != platform.LabelLK524 || ae.Params[executor.ParamExecutorFault] != "" {
		t.Fatalf("want the executor's own LK_524, got %+v", ae)
	}
}

func TestUnreachableExecutor(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c, err := executor.New("http://"+addr, executor.NewSecret(), nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = run(c, context.Background(), "linkedin-extract-people", profileInput)
	ae := asApp(t, err)
	if ae.Label != platform.LabelLKError || ae.Params[executor.ParamExecutorFault] != "unreachable" || !platform.Transient(err) {
		t.Fatalf("unreachable: %+v", ae)
	}
	_, err = c.ForFamily("googlemaps").Me(context.Background(), nil, platform.Credentials{})
	if !apperr.Is(err, platform.LabelGeneric) {
		t.Fatalf("unreachable, non-LinkedIn family: %v", err)
	}
}

func TestNewRefusesCleartextAndBadSecrets(t *testing.T) {
	s := executor.NewSecret()
	for _, u := range []string{"http://127.0.0.1:9", "http://localhost:9/base", "http://[::1]:9", "https://exec.example.com", "https://exec.example.com/prefix/"} {
		if _, err := executor.New(u, s, nil, 0); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://exec.example.com", "http://10.0.0.5:8080", "ftp://127.0.0.1", "exec.example.com", "https://u:p@exec.example.com", "https://exec.example.com/?x=1", ""} {
		if _, err := executor.New(u, s, nil, 0); err == nil {
			t.Errorf("%s accepted", u)
		} else if strings.Contains(err.Error(), ":p@") {
			t.Errorf("the error repeats the URL's password: %v", err)
		}
	}
	for _, sec := range []string{"", "whsec_short", "not base64!", "whsec_" + strings.Repeat("A", 200)} {
		if _, err := executor.New("https://exec.example.com", sec, nil, 0); err == nil {
			t.Errorf("secret %q accepted", sec)
		}
	}
}

// signedRequest builds a run request to the sandbox executor.
func signedRequest(t *testing.T, url, secret, id string, ts time.Time, body []byte) *http.Request {
	req, err := http.NewRequest(http.MethodPost, url+executor.PathRun, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		if err := executor.Sign(req.Header, secret, id, ts, body); err != nil {
			t.Fatal(err)
		}
	}
	return req
}

func status(t *testing.T, req *http.Request) (int, string) {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var er executor.ErrorResponse
	_ = json.NewDecoder(res.Body).Decode(&er)
	return res.StatusCode, er.Error.Label
}

// The executor side refuses requests it cannot trust with 401: no
// signature, another secret, a tampered body, a timestamp outside the
// replay window either way, a replayed webhook-id.
func TestSignatureRefusal(t *testing.T) {
	e := newEnv(t)
	body, _ := json.Marshal(executor.RunRequest{Envelope: executor.Envelope{RequestID: "r1", TimeoutMS: 5000, Family: "googlemaps"},
		Action: "googlemaps-extract-place", Input: map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe/"},
		Parameters: map[string]any{}, Page: 1})
	now := time.Now()
	cases := []struct {
		name string
		req  *http.Request
	}{
		{"unsigned", signedRequest(t, e.url, "", "", now, body)},
		{"other secret", signedRequest(t, e.url, executor.NewSecret(), "m1", now, body)},
		{"stale", signedRequest(t, e.url, e.secret, "m2", now.Add(-6*time.Minute), body)},
		{"future", signedRequest(t, e.url, e.secret, "m3", now.Add(6*time.Minute), body)},
	}
	tampered := signedRequest(t, e.url, e.secret, "m4", now, body)
	tampered.Body = io.NopCloser(strings.NewReader(strings.Replace(string(body), `"page":1`, `"page":9`, 1)))
	cases = append(cases, struct {
		name string
		req  *http.Request
	}{"tampered", tampered})
	noSig := signedRequest(t, e.url, e.secret, "m5", now, body)
	noSig.Header.Del(send.HeaderSignature)
	cases = append(cases, struct {
		name string
		req  *http.Request
	}{"signature header missing", noSig})
	for _, c := range cases {
		if st, label := status(t, c.req); st != http.StatusUnauthorized || label != executor.LabelUnauthorized {
			t.Errorf("%s: %d %s, want 401 UNAUTHORIZED", c.name, st, label)
		}
	}
	// Within the window, a signed request runs once; its replay is refused.
	if st, label := status(t, signedRequest(t, e.url, e.secret, "m6", now.Add(-4*time.Minute), body)); st != http.StatusOK {
		t.Fatalf("a valid request 4 minutes old: %d %s", st, label)
	}
	if st, _ := status(t, signedRequest(t, e.url, e.secret, "m6", now.Add(-4*time.Minute), body)); st != http.StatusUnauthorized {
		t.Fatalf("a replayed request: %d, want 401", st)
	}
	// The capabilities are signed too.
	req, _ := http.NewRequest(http.MethodGet, e.url+executor.PathCapabilities, nil)
	if st, _ := status(t, req); st != http.StatusUnauthorized {
		t.Fatalf("unsigned capabilities: %d", st)
	}
	// A client holding another secret gets a clear, permanent error.
	other, _ := executor.New(e.url, executor.NewSecret(), nil, time.Second)
	_, err := run(other, context.Background(), "googlemaps-extract-place", map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe/"})
	ae := asApp(t, err)
	if ae.Label != platform.LabelIntegration || ae.Params[executor.ParamExecutorFault] != "signature" || platform.Transient(err) || ae.Scope != apperr.ScopeConfig {
		t.Fatalf("wrong secret: %+v", ae)
	}
	// Malformed requests that are signed are refused with 400.
	for _, b := range []string{`not json`, `{"action":"nope","family":"x","timeout_ms":100}`, `{"action":"linkedin-extract-people","family":"googlemaps","timeout_ms":100}`, `{"action":"googlemaps-extract-place","family":"googlemaps"}`} {
		if st, label := status(t, signedRequest(t, e.url, e.secret, "m-"+strconv.Itoa(len(b)), time.Now(), []byte(b))); st != 400 || label != executor.LabelBadRequest {
			t.Errorf("%s: %d %s", b, st, label)
		}
	}
}

func TestCapabilitiesRoundTrip(t *testing.T) {
	e := newEnv(t)
	caps, err := e.c.Capabilities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := caps.Check(); len(p) > 0 {
		t.Fatal(p)
	}
	if !caps.Serves("thefork-extract-reviews") || !caps.Serves("salesnavigator-search-people") || caps.Serves("hubspot-create-contact") {
		t.Fatal("Serves disagrees with the sandbox's families")
	}
	li, _ := caps.Family("linkedin")
	gm, _ := caps.Family("googlemaps")
	if !li.Accounts || !li.Login || gm.Accounts || gm.Login {
		t.Fatalf("accounts/login: %+v %+v", li, gm)
	}
	if caps.Conformance == nil || len(caps.Conformance.Samples) == 0 || len(caps.Conformance.Errors) == 0 {
		t.Fatal("the sandbox serves no conformance section")
	}
	if c := (executor.Capabilities{Protocol: 2}).Check(); len(c) == 0 || !strings.Contains(c[0], "protocol 2") {
		t.Fatalf("protocol 2 accepted: %v", c)
	}
}

// A call made in a trace (the driver call's span, tracing on) carries its
// traceparent to the executor; outside a trace none is sent.
func TestTraceparentReachesTheExecutor(t *testing.T) {
	f := newFake(t, time.Second, answer(200, `{"results":[{"first_name":"Jane"}]}`))
	if _, err := run(f.c, context.Background(), "linkedin-extract-people", profileInput); err != nil {
		t.Fatal(err)
	}
	if h, ok := f.last().header["Traceparent"]; ok {
		t.Fatalf("traceparent %v sent outside a trace", h)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled})
	if _, err := run(f.c, trace.ContextWithSpanContext(context.Background(), sc), "linkedin-extract-people", profileInput); err != nil {
		t.Fatal(err)
	}
	if got, want := f.last().header.Get("Traceparent"), "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-01"; got != want {
		t.Fatalf("traceparent %q, want %q", got, want)
	}
}
