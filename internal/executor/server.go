package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// MaxRequestBytes caps a request body the Handler reads (inputs may carry
// message attachments).
const MaxRequestBytes = 32 << 20

// maxServerTimeout bounds a request whose deadline is absurdly far.
const maxServerTimeout = 10 * time.Minute

// HandlerOption tunes Handler.
type HandlerOption func(*server)

// WithLogger logs each request's outcome (request id, family, action,
// label, duration; never credentials, inputs or proxy URLs).
func WithLogger(l *slog.Logger) HandlerOption { return func(s *server) { s.log = l } }

// WithConformance makes GET /v1/capabilities carry a conformance section
// computed on demand (a sandbox discovers the ids its samples need from its
// own world). conf is called on each capabilities request; nil hides it.
func WithConformance(conf func(ctx context.Context) *Conformance) HandlerOption {
	return func(s *server) { s.conf = conf }
}

type server struct {
	driver  platform.Driver
	auth    platform.Authenticator
	caps    Capabilities
	secret  string
	log     *slog.Logger
	now     func() time.Time
	conf    func(context.Context) *Conformance
	replays *replayCache
	egress  *egress
	serves  map[string]map[string]bool // family -> slug
	fams    map[string]Family
}

// Handler serves the protocol over a driver: it verifies each request's
// signature (401 when missing, wrong, outside the replay window or
// replayed), runs the driver with an HTTP client through the request's
// proxy URL and within its deadline, and answers the driver's
// *apperr.Error as a labelled protocol error. auth may be nil (no login).
// caps says what is served; requests for anything else are refused.
func Handler(driver platform.Driver, auth platform.Authenticator, caps Capabilities, secret string, opts ...HandlerOption) (http.Handler, error) {
	if err := CheckSecret(secret); err != nil {
		return nil, err
	}
	if caps.Protocol == 0 {
		caps.Protocol = Version
	}
	if p := caps.Check(); len(p) > 0 {
		return nil, fmt.Errorf("executor: capabilities: %s", strings.Join(p, "; "))
	}
	s := &server{driver: driver, auth: auth, caps: caps, secret: secret, now: time.Now,
		replays: newReplayCache(ReplayWindow, 1<<20), egress: newEgress(256),
		serves: map[string]map[string]bool{}, fams: map[string]Family{}}
	for _, f := range caps.Families {
		s.fams[f.Name] = f
		s.serves[f.Name] = map[string]bool{}
		for _, a := range f.Actions {
			s.serves[f.Name][a] = true
		}
		if f.Login && auth == nil {
			return nil, fmt.Errorf("executor: family %s claims login without an authenticator", f.Name)
		}
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathCapabilities, s.capabilities)
	mux.HandleFunc("POST "+PathMe, s.me)
	mux.HandleFunc("POST "+PathRun, s.run)
	mux.HandleFunc("POST "+PathLogin, s.login)
	mux.HandleFunc("POST "+PathCheckpoint, s.checkpoint)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, LabelNotFound, "no such path in protocol "+strconv.Itoa(Version)+": "+r.Method+" "+r.URL.Path, nil)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				if s.log != nil {
					s.log.Error("executor: driver panic", "panic", fmt.Sprint(p), "path", r.URL.Path)
				}
				writeError(w, http.StatusInternalServerError, LabelInternal, "the executor failed; its logs say why", nil)
			}
		}()
		mux.ServeHTTP(w, r)
	}), nil
}

// request is one verified request on its way to the driver.
type request struct {
	ctx    context.Context
	cancel context.CancelFunc
	hc     *http.Client
	env    *Envelope
	start  time.Time
}

// accept verifies the signature, decodes the body into v (whose Envelope is
// env) and prepares the deadline and the egress client. It answers the
// refusal itself and returns nil then.
func (s *server) accept(w http.ResponseWriter, r *http.Request, v any, env *Envelope) *request {
	start := time.Now()
	now := s.now()
	// Refuse an unsigned or stale request before reading its body: only a
	// holder of the secret can make the executor read 32 MiB.
	if msg := preCheck(r.Header, now); msg != "" {
		writeError(w, http.StatusUnauthorized, LabelUnauthorized, msg, nil)
		return nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, LabelBadRequest, fmt.Sprintf("the request is larger than %d bytes", MaxRequestBytes), nil)
		} else {
			writeError(w, http.StatusBadRequest, LabelBadRequest, "the request body could not be read", nil)
		}
		return nil
	}
	if err := send.VerifyAt(s.secret, r.Header, body, ReplayWindow, now); err != nil {
		writeError(w, http.StatusUnauthorized, LabelUnauthorized, strings.TrimPrefix(err.Error(), "delivery: "), nil)
		return nil
	}
	if !s.replays.fresh(r.Header.Get(send.HeaderID), now) {
		writeError(w, http.StatusUnauthorized, LabelUnauthorized, "this webhook-id was already used: a request is never replayed", nil)
		return nil
	}
	if v == nil {
		return &request{ctx: r.Context(), cancel: func() {}, start: start}
	}
	if p := r.Header.Get(HeaderProtocol); p != "" && p != strconv.Itoa(Version) {
		writeError(w, http.StatusBadRequest, LabelBadRequest, fmt.Sprintf("protocol %s requested; this executor speaks %d", p, Version), nil)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, LabelBadRequest, "the body is not a valid request: "+err.Error(), nil)
		return nil
	}
	timeout := time.Duration(env.TimeoutMS) * time.Millisecond
	if env.TimeoutMS <= 0 {
		d, err := time.Parse(time.RFC3339Nano, env.Deadline)
		if err != nil {
			writeError(w, http.StatusBadRequest, LabelBadRequest, "the request has neither timeout_ms nor a valid deadline", nil)
			return nil
		}
		timeout = d.Sub(now)
	}
	timeout = min(timeout, maxServerTimeout)
	hc, err := s.egress.client(env.ProxyURL)
	if err != nil {
		writeError(w, http.StatusFailedDependency, platform.LabelProxy, err.Error(), nil)
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	return &request{ctx: ctx, cancel: cancel, hc: hc, env: env, start: start}
}

// preCheck is the part of the signature check that needs no body.
func preCheck(h http.Header, now time.Time) string {
	if h.Get(send.HeaderID) == "" || h.Get(send.HeaderSignature) == "" {
		return "missing webhook-id, webhook-timestamp or webhook-signature header"
	}
	ts, err := strconv.ParseInt(h.Get(send.HeaderTimestamp), 10, 64)
	if err != nil {
		return "invalid webhook-timestamp header"
	}
	if d := now.Unix() - ts; d > int64(ReplayWindow/time.Second) || -d > int64(ReplayWindow/time.Second) {
		return "webhook-timestamp is outside the replay window"
	}
	return ""
}

func (s *server) capabilities(w http.ResponseWriter, r *http.Request) {
	if s.accept(w, r, nil, nil) == nil {
		return
	}
	caps := s.caps
	if s.conf != nil {
		caps.Conformance = s.conf(r.Context())
	}
	writeJSON(w, http.StatusOK, caps)
}

func (s *server) me(w http.ResponseWriter, r *http.Request) {
	var in MeRequest
	q := s.accept(w, r, &in, &in.Envelope)
	if q == nil {
		return
	}
	defer q.cancel()
	if f, ok := s.fams[in.Family]; !ok || !f.Accounts {
		s.refuse(w, q, "", "this executor validates no %q connections", in.Family)
		return
	}
	acc, err := s.driver.Me(q.ctx, q.hc, platformCredentials(in.Credentials))
	if err != nil {
		s.fail(w, q, "", err)
		return
	}
	s.ok(w, q, "", MeResponse{Account: Account{Level: acc.Level, Name: acc.Name, Permalink: acc.Permalink, ExternalID: acc.ExternalID}})
}

func (s *server) run(w http.ResponseWriter, r *http.Request) {
	var in RunRequest
	q := s.accept(w, r, &in, &in.Envelope)
	if q == nil {
		return
	}
	defer q.cancel()
	a, ok := catalog.Get(in.Action)
	switch {
	case !ok:
		writeError(w, http.StatusBadRequest, LabelBadRequest, fmt.Sprintf("%q is not an action of the catalogue", in.Action), nil)
		return
	case a.Platform != in.Family:
		writeError(w, http.StatusBadRequest, LabelBadRequest, fmt.Sprintf("%s belongs to the %s family, not %q", a.Slug, a.Platform, in.Family), nil)
		return
	case !s.serves[in.Family][a.Slug]:
		s.refuse(w, q, a.Slug, "this executor does not run %s", a.Slug)
		return
	}
	pg, err := s.driver.Run(q.ctx, q.hc, platformCredentials(in.Credentials), platform.Call{Action: a, Input: in.Input,
		Params: in.Parameters, Page: max(in.Page, 1), Token: in.PageToken, PageSize: in.PageSize})
	if err != nil {
		s.fail(w, q, a.Slug, err)
		return
	}
	if pg.Results == nil {
		pg.Results = []map[string]any{}
	}
	s.ok(w, q, a.Slug, RunResponse{Results: pg.Results, NextPageToken: pg.NextToken, HasMore: pg.More})
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	var in LoginRequest
	q := s.accept(w, r, &in, &in.Envelope)
	if q == nil {
		return
	}
	defer q.cancel()
	if f, ok := s.fams[in.Family]; !ok || !f.Login {
		s.refuse(w, q, "", "this executor does not log in to %q with a password; use cookies", in.Family)
		return
	}
	res, err := s.auth.Login(q.ctx, q.hc, in.Credentials.Username, in.Credentials.Password)
	s.loginAnswer(w, q, res, err)
}

func (s *server) checkpoint(w http.ResponseWriter, r *http.Request) {
	var in CheckpointRequest
	q := s.accept(w, r, &in, &in.Envelope)
	if q == nil {
		return
	}
	defer q.cancel()
	if f, ok := s.fams[in.Family]; !ok || !f.Login {
		s.refuse(w, q, "", "this executor does not log in to %q with a password; use cookies", in.Family)
		return
	}
	res, err := s.auth.Checkpoint(q.ctx, q.hc, in.State, in.Code)
	s.loginAnswer(w, q, res, err)
}

func (s *server) loginAnswer(w http.ResponseWriter, q *request, res platform.LoginResult, err error) {
	if err != nil {
		s.fail(w, q, "", err)
		return
	}
	if res.Checkpoint != nil {
		s.ok(w, q, "", LoginResponse{Status: StatusCheckpoint, Checkpoint: &Checkpoint{Type: res.Checkpoint.Type, State: res.Checkpoint.State}})
		return
	}
	s.ok(w, q, "", LoginResponse{Status: StatusAuthenticated, Cookies: res.Cookies, Level: res.Level})
}

func platformCredentials(c Credentials) platform.Credentials {
	return platform.Credentials{AuthType: c.AuthType, Cookies: c.Cookies, Username: c.Username, Password: c.Password, Token: c.Token}
}

// refuse answers a request for something the executor does not serve: a
// permanent INTEGRATION_ERROR, as a built-in engine without a driver does.
func (s *server) refuse(w http.ResponseWriter, q *request, action, format string, args ...any) {
	s.fail(w, q, action, apperr.Upstream(platform.LabelIntegration, format, args...))
}

func (s *server) ok(w http.ResponseWriter, q *request, action string, v any) {
	writeJSON(w, http.StatusOK, v)
	if s.log != nil {
		s.log.Debug("executor request", "request_id", q.env.RequestID, "family", q.env.Family, "action", action,
			"status", http.StatusOK, "duration_ms", time.Since(q.start).Milliseconds())
	}
}

// fail answers the driver's error. A labelled *apperr.Error goes out as
// is; a deadline as LK_524; anything else is the executor's own failure.
func (s *server) fail(w http.ResponseWriter, q *request, action string, err error) {
	status, label, msg, params := http.StatusInternalServerError, LabelInternal, "the executor failed; its logs say why", map[string]any(nil)
	if e, ok := apperr.As(err); ok && knownLabel(e.Label) {
		status, label, msg = http.StatusFailedDependency, e.Label, e.Message
		if e.Label == LabelBadInput {
			status = http.StatusBadRequest
		}
		if len(e.Params) > 0 {
			params = make(map[string]any, len(e.Params))
			for k, v := range e.Params {
				params[k] = v
			}
		}
	} else if errors.Is(err, context.DeadlineExceeded) {
		status, label, msg = http.StatusFailedDependency, platform.LabelLK524, "the platform did not answer before the deadline"
	}
	writeError(w, status, label, msg, params)
	if s.log != nil {
		lvl := slog.LevelInfo
		if status == http.StatusInternalServerError {
			lvl = slog.LevelError
		}
		// err comes from the driver, which never puts credentials in errors.
		s.log.Log(q.ctx, lvl, "executor request failed", "request_id", q.env.RequestID, "family", q.env.Family,
			"action", action, "status", status, "label", label, "error", err.Error(),
			"duration_ms", time.Since(q.start).Milliseconds())
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(ErrorResponse{Error: ErrorDetail{Label: LabelInternal, Message: "the executor could not encode its answer"}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, label, msg string, params map[string]any) {
	writeJSON(w, status, ErrorResponse{Error: ErrorDetail{Label: label, Message: msg, Params: params}})
}

// egress makes the HTTP clients a request's platform traffic goes through:
// one per proxy URL, kept so that connections are reused across requests.
type egress struct {
	mu      sync.Mutex
	direct  *http.Client
	proxied map[string]*http.Client
	order   []string
	max     int
}

func newEgress(max int) *egress {
	return &egress{direct: &http.Client{Transport: newEgressTransport(nil)}, proxied: map[string]*http.Client{}, max: max}
}

func newEgressTransport(proxy *url.URL) *http.Transport {
	t := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if proxy != nil {
		t.Proxy = http.ProxyURL(proxy)
		t.MaxIdleConnsPerHost = 16
	}
	return t
}

// client returns the client through proxyURL ("" is direct egress). The
// error never repeats the URL: it holds the proxy's credentials.
func (e *egress) client(proxyURL string) (*http.Client, error) {
	if proxyURL == "" {
		return e.direct, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.proxied[proxyURL]; c != nil {
		return c, nil
	}
	u, err := url.Parse(proxyURL)
	if err != nil || u.Host == "" {
		return nil, errors.New("the identity's proxy URL is not a valid URL")
	}
	if !slices.Contains([]string{"http", "https", "socks5", "socks5h"}, strings.ToLower(u.Scheme)) {
		return nil, fmt.Errorf("the identity's proxy URL has the scheme %q; want http, https, socks5 or socks5h", u.Scheme)
	}
	if len(e.order) >= e.max {
		old := e.order[0]
		e.order = e.order[1:]
		e.proxied[old].CloseIdleConnections()
		delete(e.proxied, old)
	}
	c := &http.Client{Transport: newEgressTransport(u)}
	e.proxied[proxyURL] = c
	e.order = append(e.order, proxyURL)
	return c, nil
}
