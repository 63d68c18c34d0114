package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/tracing"
)

// Defaults of a Client.
const (
	// DefaultDeadline bounds a request when the caller's context has no
	// earlier deadline.
	DefaultDeadline = 60 * time.Second
	// MaxResponseBytes caps an executor's answer; a bigger one is refused.
	MaxResponseBytes = 16 << 20
	// maxErrorBytes caps an error answer (a label and a message).
	maxErrorBytes = 64 << 10
	// maxTokenBytes caps a page token: the engine stores it with the run.
	maxTokenBytes = 8 << 10
	// maxMessageRunes caps an error message passed on to API clients.
	maxMessageRunes = 1000
)

// Param set on the errors a Client makes itself (the executor broke the
// protocol, could not be reached, or ran out of time), never on the labels
// an executor reports. Its value says what went wrong: unreachable and
// timeout, executor_error (its own 500) and status (a non-2xx without a
// protocol error body; 5xx is transient), bad_json, too_large, shape,
// unknown_label, bad_request (it found the request malformed), signature.
const ParamExecutorFault = "executor_fault"

// Client is the Firstmate side of the protocol: a platform.Driver and a
// platform.Authenticator over one executor. It is safe for concurrent use.
//
// The *http.Client a Driver method receives (the identity's proxy client)
// is not used: the executor hop goes through the Client's own HTTP client,
// and the identity's egress proxy URL (platform.ProxyURL of the context)
// travels in the request so that the executor's platform traffic leaves from
// the identity's IP.
type Client struct {
	base     string
	host     string
	secret   string
	hc       *http.Client
	deadline time.Duration
	family   string
	maxBody  int64
	msgIDs   *ids
	reqIDs   *ids
	paths    struct{ caps, me, run, login, checkpoint string }
}

var (
	_ platform.Driver        = (*Client)(nil)
	_ platform.Authenticator = (*Client)(nil)
)

// New returns a client of the executor at baseURL (the protocol's paths are
// appended to it), signing with secret (whsec_...). hc carries the executor
// hop (nil: NewHTTPClient()); it must not be an identity's proxy client.
// deadline bounds each request unless the caller's context ends sooner (0:
// DefaultDeadline).
//
// baseURL must be https, unless its host is loopback: requests carry
// decrypted credentials.
func New(baseURL, secret string, hc *http.Client, deadline time.Duration) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("executor: %q is not an absolute URL", baseURL)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("executor: %s must use https: requests carry the identities' credentials (plain http is allowed on loopback only)", u.Redacted())
		}
	default:
		return nil, fmt.Errorf("executor: %s: the scheme must be https", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("executor: %s: put no credentials in the executor URL; requests are signed with the secret", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("executor: %s: the base URL takes no query or fragment", u.Redacted())
	}
	if err := CheckSecret(secret); err != nil {
		return nil, err
	}
	if hc == nil {
		hc = NewHTTPClient()
	}
	// A redirect would replay the credentials elsewhere, possibly in clear.
	own := *hc
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if deadline <= 0 {
		deadline = DefaultDeadline
	}
	c := &Client{base: strings.TrimRight(u.String(), "/"), host: u.Host, secret: secret, hc: &own,
		deadline: deadline, maxBody: MaxResponseBytes, msgIDs: newIDs("msg"), reqIDs: newIDs("req")}
	c.paths.caps, c.paths.me, c.paths.run = c.base+PathCapabilities, c.base+PathMe, c.base+PathRun
	c.paths.login, c.paths.checkpoint = c.base+PathLogin, c.base+PathCheckpoint
	return c, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewHTTPClient returns an HTTP client suited to the executor hop: many
// kept-alive connections per host (the default transport keeps two, which
// under load means a new connection per call), HTTP/2 over TLS.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

// ForFamily returns a client bound to a platform family, sharing the
// connections of c. Me, Login and Checkpoint need one (the Driver seam does
// not say which family a connection is for); Run takes the action's.
func (c *Client) ForFamily(family string) *Client {
	f := *c
	f.family = family
	return &f
}

// SetMaxResponseBytes changes the cap on an answer's size (tests, or
// executors whose pages are very large).
func (c *Client) SetMaxResponseBytes(n int64) { c.maxBody = n }

// Base is the executor's base URL.
func (c *Client) Base() string { return c.base }

type requestIDKey struct{}

// WithRequestID makes the requests of ctx carry this id (e.g. the run's
// uid) instead of a generated one, so that both sides' logs meet.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// Capabilities asks the executor what it serves. An error means it could
// not be asked or answered something unreadable; Capabilities.Check says
// whether the answer is usable.
func (c *Client) Capabilities(ctx context.Context) (Capabilities, error) {
	var caps Capabilities
	err := c.call(ctx, http.MethodGet, c.paths.caps, platform.FamilyOther, nil, nil, &caps)
	return caps, err
}

// Me validates a connection and describes its account.
func (c *Client) Me(ctx context.Context, _ *http.Client, cred platform.Credentials) (platform.Account, error) {
	if c.family == "" {
		return platform.Account{}, apperr.Internal(errors.New("executor: Me needs a family: use Client.ForFamily"))
	}
	req := &MeRequest{}
	req.Credentials = wireCredentials(cred)
	var out MeResponse
	if err := c.call(ctx, http.MethodPost, c.paths.me, c.family, &req.Envelope, req, &out); err != nil {
		return platform.Account{}, err
	}
	a := out.Account
	if a.Level != "" && !slices.Contains(levels, a.Level) {
		return platform.Account{}, c.fault(c.family, "shape", false, "its me answer has account.level %q, which is not one of %s", clean(a.Level), strings.Join(levels, ", "))
	}
	return platform.Account{Level: a.Level, Name: a.Name, Permalink: a.Permalink, ExternalID: a.ExternalID}, nil
}

// Run fetches one page of an action.
func (c *Client) Run(ctx context.Context, _ *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error) {
	a := call.Action
	if a == nil {
		return platform.Page{}, apperr.Internal(errors.New("executor: call without an action"))
	}
	size := call.PageSize
	if size <= 0 {
		size = a.PageSize
	}
	req := &RunRequest{Action: a.Slug, Input: call.Input, Parameters: call.Params, Page: max(call.Page, 1),
		PageToken: call.Token, PageSize: size}
	req.Credentials = wireCredentials(cred)
	if req.Input == nil {
		req.Input = map[string]any{}
	}
	if req.Parameters == nil {
		req.Parameters = map[string]any{}
	}
	var out runAnswer
	if err := c.call(ctx, http.MethodPost, c.paths.run, a.Platform, &req.Envelope, req, &out); err != nil {
		return platform.Page{}, err
	}
	results, err := c.checkPage(a, size, &out)
	if err != nil {
		return platform.Page{}, err
	}
	pg := platform.Page{Results: results, NextToken: out.NextPageToken, More: out.HasMore}
	if !a.ListOutput || len(pg.Results) == 0 {
		// An empty page ends a list, whatever has_more says: a buggy
		// executor cannot keep a run paging forever.
		pg.More = false
	}
	return pg, nil
}

// runAnswer is RunResponse as the client decodes it: results as []any take
// encoding/json's interface path, much cheaper than decoding into maps by
// reflection.
type runAnswer struct {
	Results       []any  `json:"results"`
	NextPageToken string `json:"next_page_token"`
	HasMore       bool   `json:"has_more"`
}

// checkPage refuses a page the API could not return as the action's output.
func (c *Client) checkPage(a *catalog.Action, size int, out *runAnswer) ([]map[string]any, error) {
	fam := a.Platform
	if out.Results == nil {
		return nil, c.fault(fam, "shape", false, "its run answer for %s has no results array", a.Slug)
	}
	if !a.ListOutput && len(out.Results) != 1 {
		return nil, c.fault(fam, "shape", false, "%s returns one object, the executor answered %d results (no result is NO_RESULT)", a.Slug, len(out.Results))
	}
	if a.ListOutput && size > 0 && len(out.Results) > size {
		return nil, c.fault(fam, "shape", false, "%s: %d results for a page of %d", a.Slug, len(out.Results), size)
	}
	if len(out.NextPageToken) > maxTokenBytes {
		return nil, c.fault(fam, "shape", false, "%s: next_page_token is %d bytes, more than %d", a.Slug, len(out.NextPageToken), maxTokenBytes)
	}
	results := make([]map[string]any, len(out.Results))
	for i, x := range out.Results {
		r, ok := x.(map[string]any)
		if !ok {
			what := "not an object"
			if x == nil {
				what = "null, not an object"
			}
			return nil, c.fault(fam, "shape", false, "%s: result %d is %s", a.Slug, i, what)
		}
		if err := a.CheckOutput(r); err != nil {
			return nil, c.fault(fam, "shape", false, "%s: result %d: %s", a.Slug, i, clean(err.Error()))
		}
		// A field the executor left out is one the platform did not give.
		for _, f := range a.Outputs {
			if _, ok := r[f.Name]; !ok {
				r[f.Name] = nil
			}
		}
		results[i] = r
	}
	return results, nil
}

// Login starts a username/password login.
func (c *Client) Login(ctx context.Context, _ *http.Client, username, password string) (platform.LoginResult, error) {
	if c.family == "" {
		return platform.LoginResult{}, apperr.Internal(errors.New("executor: Login needs a family: use Client.ForFamily"))
	}
	req := &LoginRequest{}
	req.Credentials = Credentials{AuthType: platform.AuthBasic, Username: username, Password: password}
	return c.login(ctx, c.paths.login, &req.Envelope, req)
}

// Checkpoint answers (or, with an empty code, polls) a login checkpoint.
func (c *Client) Checkpoint(ctx context.Context, _ *http.Client, state, code string) (platform.LoginResult, error) {
	if c.family == "" {
		return platform.LoginResult{}, apperr.Internal(errors.New("executor: Checkpoint needs a family: use Client.ForFamily"))
	}
	req := &CheckpointRequest{State: state, Code: code}
	return c.login(ctx, c.paths.checkpoint, &req.Envelope, req)
}

func (c *Client) login(ctx context.Context, url string, env *Envelope, req any) (platform.LoginResult, error) {
	var out LoginResponse
	if err := c.call(ctx, http.MethodPost, url, c.family, env, req, &out); err != nil {
		return platform.LoginResult{}, err
	}
	switch out.Status {
	case StatusAuthenticated:
		if len(out.Cookies) == 0 {
			return platform.LoginResult{}, c.fault(c.family, "shape", false, "its login answer is AUTHENTICATED without cookies")
		}
		if out.Level != "" && !slices.Contains(levels, out.Level) {
			return platform.LoginResult{}, c.fault(c.family, "shape", false, "its login answer has level %q, which is not one of %s", clean(out.Level), strings.Join(levels, ", "))
		}
		return platform.LoginResult{Cookies: out.Cookies, Level: out.Level}, nil
	case StatusCheckpoint:
		cp := out.Checkpoint
		switch {
		case cp == nil || cp.State == "":
			return platform.LoginResult{}, c.fault(c.family, "shape", false, "its login answer is CHECKPOINT without checkpoint.type and checkpoint.state")
		case !slices.Contains(checkpointTypes, cp.Type):
			return platform.LoginResult{}, c.fault(c.family, "shape", false, "checkpoint.type %q is not one of %s", clean(cp.Type), strings.Join(checkpointTypes, ", "))
		case len(cp.State) > maxTokenBytes:
			return platform.LoginResult{}, c.fault(c.family, "shape", false, "checkpoint.state is longer than %d bytes", maxTokenBytes)
		}
		return platform.LoginResult{Checkpoint: &platform.Checkpoint{Type: cp.Type, State: cp.State}}, nil
	}
	return platform.LoginResult{}, c.fault(c.family, "shape", false, "its login answer has status %q, want AUTHENTICATED or CHECKPOINT", clean(out.Status))
}

func wireCredentials(cred platform.Credentials) Credentials {
	return Credentials{AuthType: cred.AuthType, Cookies: cred.Cookies, Username: cred.Username, Password: cred.Password, Token: cred.Token}
}

// call sends one signed request and decodes a 2xx answer into out. env,
// when not nil, is filled (request id, deadline, family, proxy) before req
// is encoded.
func (c *Client) call(ctx context.Context, method, url, family string, env *Envelope, req, out any) error {
	now := time.Now()
	budget := c.deadline
	if d, ok := ctx.Deadline(); ok && d.Sub(now) < budget {
		budget = d.Sub(now)
	}
	if err := ctx.Err(); err != nil {
		return c.ctxError(ctx, family, err, budget)
	}
	if budget <= 0 {
		return c.timeout(family, 0)
	}
	// The executor is told a little less than the client waits, so that it
	// gives up first and its LK_524 arrives before the client's own cut.
	fwd := budget - min(budget/10, 500*time.Millisecond)
	rid, _ := ctx.Value(requestIDKey{}).(string)
	if rid == "" {
		rid = c.reqIDs.next()
	}
	deadline := now.Add(fwd).UTC().Format("2006-01-02T15:04:05.000Z07:00")
	var body []byte
	if env != nil {
		env.RequestID, env.Deadline, env.TimeoutMS = rid, deadline, fwd.Milliseconds()
		env.Family, env.ProxyURL = family, platform.ProxyURL(ctx)
		var err error
		if body, err = json.Marshal(req); err != nil {
			return apperr.Internal(fmt.Errorf("executor: encode the request: %w", err))
		}
	}
	cctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(cctx, method, url, rd)
	if err != nil {
		return apperr.Internal(fmt.Errorf("executor: build the request: %w", err))
	}
	h := hr.Header
	if body != nil {
		h["Content-Type"] = []string{"application/json"}
	}
	h["Accept"] = []string{"application/json"}
	h[HeaderProtocol] = []string{"1"}
	h[HeaderRequestID] = []string{rid}
	h[HeaderDeadline] = []string{deadline}
	// The driver call's span (tracing on): an executor that traces joins
	// the call's trace. Nothing is set when tracing is off.
	tracing.Inject(ctx, h)
	if err := Sign(h, c.secret, c.msgIDs.next(), now, body); err != nil {
		return apperr.Internal(fmt.Errorf("executor: sign the request: %w", err))
	}
	res, err := c.hc.Do(hr)
	if err != nil {
		return c.transportError(ctx, cctx, family, err, budget)
	}
	lr := &limitedReader{r: res.Body, left: c.maxBody}
	defer func() {
		// Drain a little so that the connection goes back to the pool.
		_, _ = io.CopyN(io.Discard, res.Body, 4<<10)
		res.Body.Close()
	}()
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		dec := json.NewDecoder(lr)
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			return c.bodyError(ctx, cctx, family, lr, err, budget)
		}
		if _, err := dec.Token(); err != io.EOF {
			switch {
			case lr.over:
				return c.tooLarge(family)
			case lr.readErr == nil: // a read error after a whole value loses nothing
				return c.fault(family, "bad_json", false, "its answer (%d) has data after the JSON value", res.StatusCode)
			}
		}
		return nil
	case res.StatusCode == http.StatusUnauthorized:
		return c.fault(family, "signature", false, "it refused the request's signature (401): both sides must hold the same whsec_ secret, and their clocks must agree within %s", ReplayWindow)
	}
	lr.left = min(lr.left, maxErrorBytes)
	var er struct {
		Error *ErrorDetail `json:"error"`
	}
	dec := json.NewDecoder(lr)
	dec.UseNumber()
	derr := dec.Decode(&er)
	if derr == nil && er.Error != nil && knownLabel(er.Error.Label) {
		return c.labelled(family, er.Error)
	}
	if cctx.Err() != nil {
		return c.ctxError(ctx, family, cctx.Err(), budget)
	}
	transient := res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusRequestTimeout
	label := ""
	if derr == nil && er.Error != nil {
		label = er.Error.Label
	}
	switch {
	case label == LabelInternal:
		return c.fault(family, "executor_error", true, "it failed (%d): %s", res.StatusCode, clean(er.Error.Message))
	case label == LabelBadRequest:
		return c.fault(family, "bad_request", false, "it refused the request as not following protocol %d: %s", Version, clean(er.Error.Message))
	case label != "" && label != LabelNotFound:
		return c.fault(family, "unknown_label", transient, "it answered %d with the label %q, which is not a label of the protocol: %s",
			res.StatusCode, clean(er.Error.Label), clean(er.Error.Message))
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed:
		return c.fault(family, "status", false, "it answered %d to %s %s: is the base URL right, and does it speak protocol %d?", res.StatusCode, method, strings.TrimPrefix(url, c.base), Version)
	}
	return c.fault(family, "status", transient, "it answered %d without a protocol error body", res.StatusCode)
}

// labelled turns an executor's labelled error into the error a built-in
// driver would have returned.
func (c *Client) labelled(family string, d *ErrorDetail) error {
	msg := clean(d.Message)
	if msg == "" {
		msg = "the executor reported " + d.Label
	}
	params := make(map[string]string, len(d.Params)+1)
	for k, v := range d.Params {
		switch x := v.(type) {
		case string:
			params[clean(k)] = clean(x)
		case json.Number:
			params[clean(k)] = x.String()
		case bool:
			params[clean(k)] = strconv.FormatBool(x)
		case nil:
		default:
			return c.fault(family, "bad_json", false, "its %s error has params.%s that is not a string", d.Label, clean(k))
		}
	}
	var e *apperr.Error
	if d.Label == LabelBadInput {
		e = apperr.BadInput("%s", msg)
	} else {
		e = apperr.Upstream(d.Label, "%s", msg)
	}
	if d.Label == platform.Label429 {
		if n, err := strconv.Atoi(params[platform.ParamRetryAfter]); err != nil || n <= 0 {
			params[platform.ParamRetryAfter] = "60"
		}
	}
	if len(params) > 0 {
		e.Params = params
	}
	return e
}

// fault is an error of the executor itself. A transient one carries the
// family's generic label (LK_ERROR or GENERIC_ERROR, which
// platform.Transient retries); a permanent one INTEGRATION_ERROR. Both are
// the operator's to fix: scope config.
func (c *Client) fault(family, kind string, transient bool, format string, args ...any) *apperr.Error {
	label := platform.LabelIntegration
	if transient {
		label = platform.LabelGeneric
		if platform.Family(family) == platform.FamilyLinkedIn {
			label = platform.LabelLKError
		}
	}
	return &apperr.Error{Status: 424, Label: label, Scope: apperr.ScopeConfig,
		Message: "the executor at " + c.host + " failed: " + fmt.Sprintf(format, args...),
		Params:  map[string]string{ParamExecutorFault: kind}}
}

func (c *Client) timeout(family string, budget time.Duration) *apperr.Error {
	e := c.fault(family, "timeout", true, "it did not answer within %s", budget.Round(time.Millisecond))
	e.Label = platform.LabelLK524
	return e
}

func (c *Client) tooLarge(family string) *apperr.Error {
	return c.fault(family, "too_large", false, "its answer is larger than %d bytes", c.maxBody)
}

// ctxError maps the end of a context: the caller's cancellation is returned
// as is (as platform.FromTransport does); a deadline is LK_524.
func (c *Client) ctxError(ctx context.Context, family string, err error, budget time.Duration) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return c.timeout(family, budget)
	}
	return err
}

func (c *Client) transportError(ctx, cctx context.Context, family string, err error, budget time.Duration) error {
	if cctx.Err() != nil {
		return c.ctxError(ctx, family, cctx.Err(), budget)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return c.timeout(family, budget)
	}
	e := c.fault(family, "unreachable", true, "it cannot be reached")
	e.Cause = err
	return e
}

func (c *Client) bodyError(ctx, cctx context.Context, family string, lr *limitedReader, err error, budget time.Duration) error {
	if lr.over {
		return c.tooLarge(family)
	}
	if cctx.Err() != nil {
		return c.ctxError(ctx, family, cctx.Err(), budget)
	}
	if lr.readErr != nil {
		// The connection broke while reading (an executor killed
		// mid-answer): retrying may help.
		e := c.fault(family, "unreachable", true, "the connection broke while reading its answer")
		e.Cause = lr.readErr
		return e
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		return c.fault(family, "bad_json", false, "its answer has %s of JSON type %s where the protocol wants %s", fieldName(te), te.Value, te.Type)
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		e := c.fault(family, "bad_json", false, "its answer is not JSON")
		e.Cause = err
		return e
	}
	e := c.fault(family, "bad_json", false, "its answer could not be read")
	e.Cause = err
	return e
}

func fieldName(te *json.UnmarshalTypeError) string {
	if te.Field == "" {
		return "the top-level value"
	}
	return te.Field
}

// limitedReader reads at most left bytes and remembers that there was more,
// and whether the connection itself failed (a truncated answer is then the
// network's fault, not the executor's JSON).
type limitedReader struct {
	r       io.Reader
	left    int64
	over    bool
	readErr error
}

var errTooLarge = errors.New("executor: answer too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One more byte tells "exactly at the cap" from "over it".
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.over = true
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if err != nil && err != io.EOF {
		l.readErr = err
	}
	return n, err
}

// clean makes a string from an executor safe to pass on: valid UTF-8, no
// control characters, at most maxMessageRunes runes.
func clean(s string) string {
	ok := utf8.ValidString(s) && utf8.RuneCountInString(s) <= maxMessageRunes
	if ok {
		for _, r := range s {
			if unicode.IsControl(r) {
				ok = false
				break
			}
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if n == maxMessageRunes {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
