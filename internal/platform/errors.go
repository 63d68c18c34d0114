package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
)

// Upstream labels of the contract (all HTTP 424 towards the client).
const (
	LabelNotConnected     = "NOT_CONNECTED"
	Label403              = "STATUS_403"
	Label404              = "STATUS_404"
	Label429              = "STATUS_429"
	LabelNoResult         = "NO_RESULT"
	LabelLKError          = "LK_ERROR"
	LabelLK524            = "LK_524"
	LabelProxy            = "PROXY_ERROR"
	LabelIntegration      = "INTEGRATION_ERROR"
	LabelSNUpgrade        = "SN_ACCOUNT_UPGRADE"
	LabelGeneric          = "GENERIC_ERROR"
	ParamRetryAfter       = "retry_after" // seconds, on STATUS_429
	ParamUpstreamStatus   = "upstream_status"
	ParamUpstreamCode     = "upstream_code"
	FamilyLinkedIn        = "linkedin"
	FamilyOther           = "other"
	defaultRetryAfterSecs = "60"
)

// Labels and params of the session-based drivers (also 424 towards the client).
const (
	// LabelRestricted: the platform restricted the account or put it behind
	// a challenge/checkpoint page that only its owner can clear in a browser.
	LabelRestricted = "RESTRICTED"
	// LabelActionBroken: the platform no longer answers the endpoint a driver
	// uses (410 Gone, a retired GraphQL query id, an answer whose shape the
	// mapping cannot read). The message names the recipe; an operator fixes
	// it with a recipe override, not by retrying.
	LabelActionBroken = "ACTION_BROKEN"
	// ParamBotDetection is "true" on a STATUS_429 that is the platform's bot
	// detection (LinkedIn's status 999, "request denied" pages) rather than a
	// plain rate limit: the account's work should pause, not retry soon.
	ParamBotDetection = "bot_detection"
	// ParamRecipe names the driver recipe an ACTION_BROKEN is about.
	ParamRecipe = "recipe"
	// ParamMissingPath is the answer path the mapping needed and did not find.
	ParamMissingPath = "missing_path"
)

// Family tells which 5xx label a platform uses: LinkedIn, Sales Navigator and
// Recruiter Lite fail with LK_ERROR, the others with GENERIC_ERROR.
func Family(platform string) string {
	switch platform {
	case "linkedin", "salesnavigator", "recruiterlite":
		return FamilyLinkedIn
	}
	return FamilyOther
}

func upstream(label, status, code, format string, args ...any) *apperr.Error {
	e := apperr.Upstream(label, format, args...)
	e.Params = map[string]string{}
	if status != "" {
		e.Params[ParamUpstreamStatus] = status
	}
	if code != "" {
		e.Params[ParamUpstreamCode] = code
	}
	return e
}

// FromStatus maps a non-2xx upstream answer to its contract label. code is
// the platform's own error code when it gave one; retryAfter the Retry-After
// header value.
func FromStatus(family string, status int, code, message, retryAfter string) *apperr.Error {
	st := strconv.Itoa(status)
	if message == "" {
		message = fmt.Sprintf("the platform answered %d", status)
	}
	switch {
	case status == 401:
		return upstream(LabelNotConnected, st, code, "the platform session is no longer valid: %s", message)
	case status == 403 && (code == "SALES_NAVIGATOR_REQUIRED" || code == "RECRUITER_REQUIRED" || code == "PREMIUM_REQUIRED"):
		return upstream(LabelSNUpgrade, st, code, "the account's subscription does not include this: %s", message)
	case status == 403:
		return upstream(Label403, st, code, "the platform refused: %s", message)
	case status == 404:
		return upstream(Label404, st, code, "not found on the platform: %s", message)
	case status == 407:
		return upstream(LabelProxy, st, code, "the egress proxy refused the request")
	case status == 429:
		ra := strings.TrimSpace(retryAfter)
		if _, err := strconv.Atoi(ra); err != nil {
			ra = defaultRetryAfterSecs
		}
		e := upstream(Label429, st, code, "the platform is rate limiting this account: %s", message)
		e.Params[ParamRetryAfter] = ra
		return e
	case status == 504 || status == 524:
		return upstream(LabelLK524, st, code, "the platform timed out")
	}
	label := LabelGeneric
	if family == FamilyLinkedIn {
		label = LabelLKError
	}
	return upstream(label, st, code, "the platform failed: %s", message)
}

// FromTransport maps an error of the HTTP round trip itself: deadlines become
// LK_524, a proxy that cannot be reached PROXY_ERROR, anything else the
// family's generic failure. A caller's cancellation is returned as is.
func FromTransport(family string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "proxyconnect" {
		return withCause(upstream(LabelProxy, "", "", "the identity's egress proxy cannot be reached; POST /v4/identities/{uid}/refresh-proxy moves the identity onto another proxy"), err)
	}
	var ue *url.Error
	if errors.As(err, &ue) && strings.Contains(strings.ToLower(ue.Err.Error()), "proxy") {
		return withCause(upstream(LabelProxy, "", "", "the identity's egress proxy failed; POST /v4/identities/{uid}/refresh-proxy moves the identity onto another proxy"), err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return withCause(upstream(LabelLK524, "", "", "the platform did not answer in time"), err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return withCause(upstream(LabelLK524, "", "", "the platform did not answer in time"), err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	label := LabelGeneric
	if family == FamilyLinkedIn {
		label = LabelLKError
	}
	return withCause(upstream(label, "", "", "the platform cannot be reached"), err)
}

func withCause(e *apperr.Error, cause error) *apperr.Error {
	e.Cause = cause
	return e
}

// IsSessionExpired reports whether err means the account's session is gone:
// the caller marks the integration INVALID (and sends AUTH_EXPIRED).
func IsSessionExpired(err error) bool { return apperr.Is(err, LabelNotConnected) }

// Transient reports whether retrying later may succeed: rate limits, 5xx,
// timeouts and proxy failures. Refusals (400, 403, 404, NO_RESULT, expired
// sessions, missing subscriptions) are permanent.
func Transient(err error) bool {
	e, ok := apperr.As(err)
	if !ok {
		return false
	}
	switch e.Label {
	case Label429, LabelLK524, LabelProxy:
		return true
	case LabelLKError, LabelGeneric:
		st, err := strconv.Atoi(e.Params[ParamUpstreamStatus])
		return err != nil || st >= 500
	}
	return false
}

// RetryAfter returns the seconds a STATUS_429 asks to wait (0 when none).
func RetryAfter(err error) int {
	e, ok := apperr.As(err)
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(e.Params[ParamRetryAfter])
	return n
}

// Restricted is an account the platform restricted or challenged.
func Restricted(status, format string, args ...any) *apperr.Error {
	return upstream(LabelRestricted, status, "", format, args...)
}

// ActionBroken is an endpoint the platform no longer answers as the driver
// expects. recipe names the driver's recipe; missingPath, when not empty, is
// the answer path the mapping needed.
func ActionBroken(recipe, status, missingPath, format string, args ...any) *apperr.Error {
	e := upstream(LabelActionBroken, status, "", format, args...)
	if recipe != "" {
		e.Params[ParamRecipe] = recipe
	}
	if missingPath != "" {
		e.Params[ParamMissingPath] = missingPath
	}
	return e
}

// NoResult is the label for an input that exists but yields nothing.
func NoResult(format string, args ...any) *apperr.Error {
	return upstream(LabelNoResult, "", "", format, args...)
}
