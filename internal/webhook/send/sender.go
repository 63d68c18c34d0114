package send

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/tracing"
)

const (
	// DefaultTimeout bounds one attempt, from dialling to reading the
	// response (contract §7).
	DefaultTimeout = 15 * time.Second
	// MaxResponseBody is how much of a response is read (and discarded)
	// before the connection is let go.
	MaxResponseBody = 64 << 10
	// DefaultUserAgent is sent unless the user's headers set one.
	DefaultUserAgent = "Firstmate-Webhooks/1"
)

// Error kinds of Result.Err, for errors.Is. ErrForbiddenAddress is one too.
var (
	// ErrInvalidRequest: the delivery cannot be attempted as given (bad URL,
	// bad secret, no id). Retrying cannot help.
	ErrInvalidRequest = errors.New("delivery: invalid request")
	// ErrTimeout: no complete answer within the sender's timeout.
	ErrTimeout = errors.New("delivery: timed out")
	// ErrConnection: the receiver could not be reached (DNS, refused,
	// reset, TLS).
	ErrConnection = errors.New("delivery: connection failed")
	// ErrRedirect: the receiver answered 3xx. Redirects are not followed:
	// a redirect could point anywhere, including where the policy forbids.
	ErrRedirect = errors.New("delivery: redirect not followed")
	// ErrCanceled: the caller's context ended first (e.g. shutdown); the
	// attempt says nothing about the receiver.
	ErrCanceled = errors.New("delivery: canceled")
)

// Request is one delivery attempt.
type Request struct {
	URL string
	// Headers are the user's own (callback.headers). They cannot replace
	// Content-Type, the webhook-* signing headers, or the headers Go's HTTP
	// client manages itself (Host, Content-Length, Connection, ...).
	Headers map[string]string
	Body    []byte
	// ID is the webhook-id: stable across retries of one message
	// (callback_ref_uid for callbacks), so receivers can deduplicate.
	ID string
	// Secret is the workspace's whsec_ signing secret.
	Secret string
	// ExtraSecrets also sign the message, during a rotation grace period.
	ExtraSecrets []string
}

// Result is the outcome of one attempt.
type Result struct {
	// HTTPStatus is the receiver's status code, 0 when none was received.
	HTTPStatus int
	// Err is set when the attempt failed without a usable answer: see the
	// Err* kinds. It is nil for a plain non-2xx status, which HTTPStatus
	// tells.
	Err      error
	Duration time.Duration
	// RetryAfter is the receiver's Retry-After, 0 when absent or past.
	RetryAfter time.Duration
	// Gone is a 410 answer: the receiver asks for no more deliveries.
	Gone bool
}

// Success reports a 2xx answer.
func (r Result) Success() bool {
	return r.Err == nil && r.HTTPStatus >= 200 && r.HTTPStatus < 300
}

// Permanent reports a failure that retrying cannot fix: 410 Gone, a
// destination the policy refuses, or an invalid request.
func (r Result) Permanent() bool {
	return r.Gone || errors.Is(r.Err, ErrForbiddenAddress) || errors.Is(r.Err, ErrInvalidRequest)
}

// Options configure a Sender.
type Options struct {
	// Policy is the destination policy; the zero value is StrictPolicy.
	Policy Policy
	// Timeout bounds one attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock for webhook-timestamp and Retry-After dates; nil
	// means time.Now.
	Now       func() time.Time
	UserAgent string
}

// Sender delivers signed webhooks. It is safe for concurrent use; share one
// per process so connections are reused.
type Sender struct {
	policy    Policy
	client    *http.Client
	timeout   time.Duration
	now       func() time.Time
	userAgent string
}

// NewSender returns a Sender whose transport enforces o.Policy at dial time.
func NewSender(o Options) *Sender {
	s := &Sender{policy: o.Policy, timeout: o.Timeout, now: o.Now, userAgent: o.UserAgent}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.userAgent == "" {
		s.userAgent = DefaultUserAgent
	}
	s.client = &http.Client{
		Transport: o.Policy.NewTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return s
}

// Timeout is how long one attempt may take at most.
func (s *Sender) Timeout() time.Duration { return s.timeout }

// Send makes one attempt: a signed JSON POST. It never panics and always
// returns a Result; the caller records it and asks a Schedule when to retry.
func (s *Sender) Send(ctx context.Context, req Request) Result {
	start := time.Now()
	res := s.send(ctx, req)
	res.Duration = time.Since(start)
	return res
}

func (s *Sender) send(parent context.Context, req Request) Result {
	if err := s.policy.ValidateURL(req.URL); err != nil {
		if errors.Is(err, ErrForbiddenAddress) {
			return Result{Err: err}
		}
		return Result{Err: fmt.Errorf("%w: %w", ErrInvalidRequest, err)}
	}
	if req.ID == "" {
		return Result{Err: fmt.Errorf("%w: empty webhook id", ErrInvalidRequest)}
	}
	ts := s.now()
	sig, err := signatureHeader(append([]string{req.Secret}, req.ExtraSecrets...), req.ID, ts, req.Body)
	if err != nil {
		return Result{Err: fmt.Errorf("%w: %w", ErrInvalidRequest, err)}
	}

	ctx, cancel := context.WithTimeout(parent, s.timeout)
	defer cancel()
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return Result{Err: fmt.Errorf("%w: %w", ErrInvalidRequest, err)}
	}
	h := httpReq.Header
	for k, v := range req.Headers {
		if userHeaderAllowed(k, v) {
			h.Set(k, v)
		}
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", s.userAgent)
	}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderID, req.ID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, sig)
	// The attempt's span (webhook.Dispatcher's), so that the receiver's
	// own trace joins Firstmate's; nothing is set when tracing is off. It
	// replaces a traceparent of the user's headers: this one is the trace
	// the attempt belongs to.
	tracing.Inject(parent, h)

	resp, err := s.client.Do(httpReq)
	if err != nil {
		return Result{Err: classify(parent, err, s.timeout)}
	}
	// Drain a little so the connection may be reused; the body itself means
	// nothing to us. A 2xx whose body is slow to arrive is still a 2xx.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBody))
	_ = resp.Body.Close()

	res := Result{HTTPStatus: resp.StatusCode, Gone: resp.StatusCode == http.StatusGone}
	res.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), s.now())
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		res.Err = fmt.Errorf("%w: %d to %q", ErrRedirect, resp.StatusCode, truncate(resp.Header.Get("Location"), 200))
	}
	return res
}

func classify(parent context.Context, err error, timeout time.Duration) error {
	var netErr net.Error
	switch {
	case parent.Err() != nil:
		return fmt.Errorf("%w: %w", ErrCanceled, parent.Err())
	case errors.Is(err, ErrForbiddenAddress):
		return err
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("%w after %s: %w", ErrTimeout, timeout, err)
	default:
		return fmt.Errorf("%w: %w", ErrConnection, err)
	}
}

// reservedHeaders are set by Send or by Go's HTTP client; a user header of
// the same name is dropped.
var reservedHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Content-Encoding": true,
	"Host": true, "Connection": true, "Keep-Alive": true, "Transfer-Encoding": true,
	"Te": true, "Trailer": true, "Upgrade": true, "Expect": true,
}

func userHeaderAllowed(name, value string) bool {
	if !validHeaderName(name) || !validHeaderValue(value) {
		return false
	}
	canon := http.CanonicalHeaderKey(name)
	lower := strings.ToLower(name)
	return !reservedHeaders[canon] && !strings.HasPrefix(lower, "webhook-") && !strings.HasPrefix(lower, "proxy-")
}

// Bounds on user-supplied callback headers: they are stored sealed with the
// run and sent with every attempt, so they stay small.
const (
	MaxUserHeaders     = 50
	MaxUserHeaderBytes = 8 << 10 // names and values, in all
)

// ValidateHeaders checks user-supplied callback headers at submission time,
// so a request is refused up front instead of having headers dropped at
// delivery: at most MaxUserHeaders of them, MaxUserHeaderBytes in all, none
// invalid or reserved. It returns the first offending name.
func ValidateHeaders(headers map[string]string) error {
	if len(headers) > MaxUserHeaders {
		return fmt.Errorf("%w: %d headers, at most %d are allowed", ErrInvalidRequest, len(headers), MaxUserHeaders)
	}
	size := 0
	for k, v := range headers {
		if !userHeaderAllowed(k, v) {
			return fmt.Errorf("%w: header %q is invalid or reserved", ErrInvalidRequest, truncate(k, 100))
		}
		size += len(k) + len(v)
	}
	if size > MaxUserHeaderBytes {
		return fmt.Errorf("%w: headers of %d bytes (names and values), at most %d are allowed", ErrInvalidRequest, size, MaxUserHeaderBytes)
	}
	return nil
}

// validHeaderName accepts RFC 9110 tokens.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validHeaderValue refuses control characters (CR and LF above all).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// parseRetryAfter reads delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		const maxSecs = uint64(MaxRetryAfter / time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
