package send

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// received is what a test receiver saw.
type received struct {
	header http.Header
	body   []byte
	method string
}

// receiver starts a loopback server answering with respond, and records
// the requests it got.
func receiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{header: r.Header.Clone(), body: body, method: r.Method})
		mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

var fixedNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func devSender(o Options) *Sender {
	o.Policy = DevPolicy()
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	return NewSender(o)
}

func request(url string) Request {
	return Request{URL: url, ID: "cb_123", Secret: vectorSecret, Body: []byte(`{"run":{"status":"RUNNING"}}`)}
}

func TestSendSuccessIsSignedJSON(t *testing.T) {
	srv, got := receiver(t, status(http.StatusNoContent))
	req := request(srv.URL + "/hook")
	req.Headers = map[string]string{"Authorization": "Bearer user-token", "X-Custom": "kept"}
	res := devSender(Options{}).Send(context.Background(), req)
	if !res.Success() || res.HTTPStatus != 204 || res.Err != nil || res.Gone || res.Permanent() {
		t.Fatalf("result %+v", res)
	}
	reqs := got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || string(r.body) != string(req.Body) {
		t.Fatalf("%s %q", r.method, r.body)
	}
	for k, want := range map[string]string{
		"Content-Type":    "application/json",
		"Authorization":   "Bearer user-token",
		"X-Custom":        "kept",
		"User-Agent":      DefaultUserAgent,
		HeaderID:          "cb_123",
		HeaderTimestamp:   "1780315200",
		"Accept-Encoding": "gzip",
	} {
		if v := r.header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if err := VerifyAt(vectorSecret, r.header, r.body, time.Minute, fixedNow); err != nil {
		t.Fatalf("receiver cannot verify: %v", err)
	}
}

func TestSendSignsWithRotatingSecrets(t *testing.T) {
	srv, got := receiver(t, status(200))
	req := request(srv.URL)
	newSecret := NewSecret()
	req.Secret, req.ExtraSecrets = newSecret, []string{vectorSecret}
	if res := devSender(Options{}).Send(context.Background(), req); !res.Success() {
		t.Fatalf("%+v", res)
	}
	r := got()[0]
	if n := len(strings.Fields(r.header.Get(HeaderSignature))); n != 2 {
		t.Fatalf("%d signatures", n)
	}
	for _, s := range []string{newSecret, vectorSecret} {
		if err := VerifyAt(s, r.header, r.body, time.Minute, fixedNow); err != nil {
			t.Errorf("verify with one of the secrets: %v", err)
		}
	}
}

func TestUserHeadersCannotOverrideSigning(t *testing.T) {
	srv, got := receiver(t, status(200))
	req := request(srv.URL)
	req.Headers = map[string]string{
		"webhook-id":          "forged",
		"Webhook-Timestamp":   "1",
		"WEBHOOK-SIGNATURE":   "v1,Zm9yZ2Vk",
		"webhook-extra":       "x",
		"content-type":        "text/plain",
		"Content-Length":      "1",
		"Host":                "evil.example",
		"Transfer-Encoding":   "chunked",
		"Proxy-Authorization": "Basic eA==",
		"X-Bad\r\nInjected":   "x",
		"X-Newline":           "a\r\nInjected: yes",
		"User-Agent":          "users-own-agent",
		"X-Ok":                "yes",
	}
	res := devSender(Options{}).Send(context.Background(), req)
	if !res.Success() {
		t.Fatalf("%+v", res)
	}
	r := got()[0]
	if r.header.Get(HeaderID) != "cb_123" || r.header.Get(HeaderTimestamp) != "1780315200" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("signing headers overridden: %v", r.header)
	}
	if err := VerifyAt(vectorSecret, r.header, r.body, time.Minute, fixedNow); err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, k := range []string{"Webhook-Extra", "Proxy-Authorization", "Injected", "X-Newline", "Transfer-Encoding"} {
		if v := r.header.Get(k); v != "" {
			t.Errorf("%s reached the receiver: %q", k, v)
		}
	}
	if r.header.Get("User-Agent") != "users-own-agent" || r.header.Get("X-Ok") != "yes" {
		t.Errorf("allowed user headers lost: %v", r.header)
	}
	if err := ValidateHeaders(map[string]string{"X-Ok": "yes", "Authorization": "Bearer x"}); err != nil {
		t.Errorf("ValidateHeaders refused ordinary headers: %v", err)
	}
	for _, bad := range []map[string]string{{"webhook-id": "x"}, {"Content-Type": "x"}, {"X-A": "a\nb"}, {"": "x"}, {"X A": "x"}} {
		if err := ValidateHeaders(bad); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("ValidateHeaders(%v) = %v", bad, err)
		}
	}
}

func TestSendFailures(t *testing.T) {
	srv, _ := receiver(t, status(http.StatusInternalServerError))
	res := devSender(Options{}).Send(context.Background(), request(srv.URL))
	if res.Success() || res.HTTPStatus != 500 || res.Err != nil || res.Gone || res.Permanent() {
		t.Fatalf("500: %+v", res)
	}

	srv, _ = receiver(t, status(http.StatusGone))
	res = devSender(Options{}).Send(context.Background(), request(srv.URL))
	if res.Success() || res.HTTPStatus != 410 || !res.Gone || !res.Permanent() {
		t.Fatalf("410: %+v", res)
	}
	if _, retry := NextAttempt(1, res, fixedNow); retry {
		t.Fatal("410 is retried")
	}

	// A huge body is read up to the cap and the answer still counts.
	srv, _ = receiver(t, func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 32<<10)
		for range 64 { // 2 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	res = devSender(Options{}).Send(context.Background(), request(srv.URL))
	if !res.Success() {
		t.Fatalf("large body: %+v", res)
	}
}

func TestSendRetryAfter(t *testing.T) {
	srv, _ := receiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	res := devSender(Options{}).Send(context.Background(), request(srv.URL))
	if res.HTTPStatus != 503 || res.RetryAfter != 120*time.Second {
		t.Fatalf("seconds: %+v", res)
	}

	srv, _ = receiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", fixedNow.Add(90*time.Second).Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	})
	res = devSender(Options{}).Send(context.Background(), request(srv.URL))
	if res.HTTPStatus != 429 || res.RetryAfter != 90*time.Second {
		t.Fatalf("date: %+v", res)
	}
}

func TestParseRetryAfter(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"":                               0,
		"0":                              0,
		" 30 ":                           30 * time.Second,
		"-5":                             0,
		"1.5":                            0,
		"soon":                           0,
		"99999999999999999999":           0, // overflows uint64: unparsable
		"9999999999":                     MaxRetryAfter,
		"Mon, 01 Jun 2026 12:05:00 GMT":  5 * time.Minute,
		"Monday, 01-Jun-26 12:00:30 GMT": 30 * time.Second, // RFC 850
		"Mon Jun  1 12:01:00 2026":       time.Minute,      // asctime
		"Mon, 01 Jun 2026 11:00:00 GMT":  0,                // past
	} {
		if got := parseRetryAfter(v, fixedNow); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	res := devSender(Options{Timeout: 50 * time.Millisecond}).Send(context.Background(), request(srv.URL))
	if !errors.Is(res.Err, ErrTimeout) || res.Success() || res.Permanent() || res.HTTPStatus != 0 {
		t.Fatalf("%+v", res)
	}
	if _, retry := NextAttempt(1, res, fixedNow); !retry {
		t.Fatal("a timeout is not retried")
	}
}

func TestSendCallerCanceled(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-entered; cancel() }()
	res := devSender(Options{}).Send(ctx, request(srv.URL))
	if !errors.Is(res.Err, ErrCanceled) || !errors.Is(res.Err, context.Canceled) || errors.Is(res.Err, ErrTimeout) {
		t.Fatalf("%+v", res)
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	target, targetGot := receiver(t, status(200))
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	})
	res := devSender(Options{}).Send(context.Background(), request(srv.URL))
	if res.Success() || res.HTTPStatus != 307 || !errors.Is(res.Err, ErrRedirect) || res.Permanent() {
		t.Fatalf("%+v", res)
	}
	if n := len(targetGot()); n != 0 {
		t.Fatalf("redirect followed: target got %d requests", n)
	}
}

func TestSendRefusesForbiddenDestinations(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	strict := NewSender(Options{Policy: StrictPolicy()})
	for _, u := range []string{
		srv.URL, // 127.0.0.1, refused before dialling
		"http://localhost:" + strconv.Itoa(port),
		"http://10.0.0.1/hook",           // refused before dialling: nothing leaves the machine
		"http://169.254.169.254/latest/", // likewise
		"http://[::1]:" + strconv.Itoa(port),
	} {
		res := strict.Send(context.Background(), request(u))
		if !errors.Is(res.Err, ErrForbiddenAddress) || !res.Permanent() || res.Success() {
			t.Errorf("%s: %+v", u, res)
		}
		if _, retry := NextAttempt(1, res, fixedNow); retry {
			t.Errorf("%s: a forbidden destination is retried", u)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("server reached %d times", hits.Load())
	}
}

func TestSendInvalidRequests(t *testing.T) {
	s := devSender(Options{})
	for name, req := range map[string]Request{
		"bad scheme":  {URL: "ftp://example.com", ID: "x", Secret: vectorSecret},
		"no id":       {URL: "http://127.0.0.1:1/", Secret: vectorSecret},
		"no secret":   {URL: "http://127.0.0.1:1/", ID: "x"},
		"bad secret":  {URL: "http://127.0.0.1:1/", ID: "x", Secret: "whsec_nope"},
		"bad rotated": {URL: "http://127.0.0.1:1/", ID: "x", Secret: vectorSecret, ExtraSecrets: []string{"x"}},
	} {
		res := s.Send(context.Background(), req)
		if !errors.Is(res.Err, ErrInvalidRequest) || !res.Permanent() {
			t.Errorf("%s: %+v", name, res)
		}
	}
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	res := devSender(Options{}).Send(context.Background(), request("http://"+addr+"/"))
	if !errors.Is(res.Err, ErrConnection) || res.Permanent() || res.HTTPStatus != 0 {
		t.Fatalf("%+v", res)
	}
}

// An attempt made in a trace carries its span as the traceparent header
// (replacing one of the user's headers); outside a trace it carries none,
// and the user's own traceparent goes through as given.
func TestSendPropagatesTheTrace(t *testing.T) {
	srv, got := receiver(t, status(http.StatusOK))
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{0x4b, 0xf9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14},
		SpanID: trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, TraceFlags: trace.FlagsSampled})
	userTP := "00-11111111111111111111111111111111-2222222222222222-01"
	req := request(srv.URL + "/hook")
	req.Headers = map[string]string{"Traceparent": userTP}
	s := devSender(Options{})
	s.Send(trace.ContextWithSpanContext(context.Background(), sc), req)
	s.Send(context.Background(), req)
	s.Send(context.Background(), request(srv.URL+"/hook"))
	reqs := got()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if h := reqs[0].header.Get("Traceparent"); h != want {
		t.Errorf("in a trace: traceparent %q, want %q", h, want)
	}
	if h := reqs[1].header.Get("Traceparent"); h != userTP {
		t.Errorf("no trace, the user's header: traceparent %q, want %q", h, userTP)
	}
	if h, ok := reqs[2].header["Traceparent"]; ok {
		t.Errorf("no trace, no user header: traceparent %q sent", h)
	}
}
