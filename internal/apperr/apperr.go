// Package apperr is the error model every layer speaks. Domain packages return
// *Error values; the HTTP layer renders them as the contract's standard error
// body. Nothing here knows about HTTP beyond the status code number.
package apperr

import (
	"errors"
	"fmt"
)

// Scopes of the standard error body.
const (
	ScopeInput  = "input"
	ScopeInteg  = "integ"
	ScopeParam  = "param"
	ScopeConfig = "config"
	ScopeAuth   = "auth"
	ScopeServer = "server"
)

// Error is a client-visible failure. Params holds string values only, as the
// contract requires.
type Error struct {
	Status  int
	Label   string
	Scope   string
	Message string
	Params  map[string]string
	// Cause is logged, never shown to the client.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Label, e.Message, e.Cause)
	}
	return e.Label + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// With returns a copy of e carrying one more param.
func (e *Error) With(key, value string) *Error {
	c := *e
	c.Params = make(map[string]string, len(e.Params)+1)
	for k, v := range e.Params {
		c.Params[k] = v
	}
	c.Params[key] = value
	return &c
}

// As extracts an *Error from err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Is reports whether err carries the given label.
func Is(err error, label string) bool {
	e, ok := As(err)
	return ok && e.Label == label
}

func newf(status int, label, scope, format string, args ...any) *Error {
	return &Error{Status: status, Label: label, Scope: scope, Message: fmt.Sprintf(format, args...)}
}

// BadInput is a schema violation in an action input or in a request body.
func BadInput(format string, args ...any) *Error {
	return newf(400, "BAD_INPUT", ScopeInput, format, args...)
}

// BadParameters is a schema violation in action parameters or query parameters.
func BadParameters(format string, args ...any) *Error {
	return newf(400, "BAD_PARAMETERS", ScopeParam, format, args...)
}

func Unauthorized(format string, args ...any) *Error {
	return newf(401, "UNAUTHORIZED", ScopeAuth, format, args...)
}

// NoAccess is a plan or credit refusal.
func NoAccess(format string, args ...any) *Error {
	return newf(402, "NO_ACCESS", ScopeConfig, format, args...)
}

func Forbidden(format string, args ...any) *Error {
	return newf(403, "FORBIDDEN", ScopeAuth, format, args...)
}

// NotFound never says whether the thing exists in another workspace.
func NotFound(format string, args ...any) *Error {
	return newf(404, "NOT_FOUND", ScopeInput, format, args...)
}

func MethodNotAllowed(format string, args ...any) *Error {
	return newf(405, "METHOD_NOT_ALLOWED", ScopeInput, format, args...)
}

func Conflict(format string, args ...any) *Error {
	return newf(409, "CONFLICT", ScopeInput, format, args...)
}

func TooLarge(format string, args ...any) *Error {
	return newf(413, "BAD_INPUT", ScopeInput, format, args...)
}

func UnsupportedMediaType(format string, args ...any) *Error {
	return newf(415, "BAD_INPUT", ScopeInput, format, args...)
}

// RateLimited is the workspace API rate limit (STATUS_429).
func RateLimited(format string, args ...any) *Error {
	return newf(429, "STATUS_429", ScopeConfig, format, args...)
}

// LimitReached is a Smart Limit hit in live mode.
func LimitReached(postponedUntil string, format string, args ...any) *Error {
	e := newf(429, "LIMIT_REACHED", ScopeInteg, format, args...)
	e.Params = map[string]string{"postponed_until": postponedUntil}
	return e
}

// NoValidAccount means no identity has a valid integration for the action.
func NoValidAccount(format string, args ...any) *Error {
	return newf(424, "NO_VALID_ACCOUNT_CONFIGURED", ScopeInteg, format, args...)
}

// Upstream is a platform failure mapped to one of the contract's 424 labels:
// NOT_CONNECTED, STATUS_403, STATUS_404, NO_RESULT, LK_ERROR, LK_524,
// PROXY_ERROR, INTEGRATION_ERROR, SN_ACCOUNT_UPGRADE, GENERIC_ERROR.
func Upstream(label string, format string, args ...any) *Error {
	return newf(424, label, ScopeInteg, format, args...)
}

// Config is an operator-side configuration problem a client cannot fix by
// changing its request (e.g. an exhausted proxy pool).
func Config(status int, label, format string, args ...any) *Error {
	return newf(status, label, ScopeConfig, format, args...)
}

// Internal wraps a bug. The cause is logged; the client sees a generic message.
func Internal(cause error) *Error {
	return &Error{Status: 500, Label: "INTERNAL_ERROR", Scope: ScopeServer,
		Message: "internal error; quote error_ref when reporting it", Cause: cause}
}

const refAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// RefFrom returns an error reference (ERR- and ten Crockford base32
// characters) drawn from the first bytes of b. Errors reported outside an
// HTTP response (an async input's error in its callback) take it from a
// hash of what they belong to, so that the same error keeps the same
// reference however often its callback is built.
func RefFrom(b []byte) string {
	out := make([]byte, 0, 14)
	out = append(out, "ERR-"...)
	for i := 0; i < 10; i++ {
		var c byte
		if i < len(b) {
			c = b[i]
		}
		out = append(out, refAlphabet[c&31])
	}
	return string(out)
}
