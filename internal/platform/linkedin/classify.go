package linkedin

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// BotDetectionRetryAfter is the retry_after (seconds) of a bot-detection
// answer, which carries no Retry-After of its own: long enough that the
// account's work pauses rather than retries into the same wall.
const BotDetectionRetryAfter = 900

// classify maps one answer to the contract: a 2xx JSON answer, or a labelled
// error.
//
//   - expired session: 401, a redirect to the login pages, an HTML login page
//     where JSON was expected -> NOT_CONNECTED
//   - restriction and challenge (checkpoint) pages -> RESTRICTED
//   - 429, and LinkedIn's bot detection (status 999 "Request denied") ->
//     STATUS_429 with retry_after; bot_detection=true on the latter
//   - a removed endpoint (410 Gone, a GraphQL query id LinkedIn no longer
//     knows), an answer that is not JSON -> ACTION_BROKEN naming the recipe
//   - anything else through platform.FromStatus.
func classify(recipe string, rc Recipe, res *http.Response, raw []byte) (*answer, error) {
	st := res.StatusCode
	sst := strconv.Itoa(st)
	body, isJSON := decodeJSON(raw)
	text := strings.ToLower(string(raw[:min(len(raw), 64<<10)]))
	// Voyager sometimes wraps an error status in a 200 body.
	if st < 300 && isJSON {
		if inner, ok := body.I("status"); ok && inner >= 400 && inner <= 599 && !body.Has("data") && !body.Has("elements") {
			st, sst = int(inner), strconv.FormatInt(inner, 10)
		}
	}
	switch {
	case st == 999:
		return nil, botDetected(sst, "LinkedIn's bot detection refused the request (status 999, request denied)")
	case st >= 300 && st < 400:
		loc := res.Header.Get("Location")
		switch where := strings.ToLower(loc); {
		case isCheckpoint(where):
			return nil, platform.Restricted(sst, "LinkedIn put the account behind a checkpoint (security verification or restriction); its owner must clear it in a browser, then reconnect it")
		case isLoginPage(where):
			return nil, apperr.Upstream(platform.LabelNotConnected, "the LinkedIn session has expired (LinkedIn redirects to its login page)").
				With(platform.ParamUpstreamStatus, sst)
		}
		return nil, platform.FromStatus(platform.FamilyLinkedIn, 502, "UNEXPECTED_REDIRECT", "LinkedIn redirected recipe "+recipe+" elsewhere", "")
	case st == 401:
		return nil, platform.FromStatus(platform.FamilyLinkedIn, 401, errCode(body), "the LinkedIn session is no longer valid", "")
	case st == 403 && strings.Contains(text, "csrf check failed"):
		return nil, apperr.Upstream(platform.LabelIntegration, "LinkedIn refused the request's CSRF token (the csrf-token header must be the JSESSIONID cookie's value); reconnect the account with both cookies").
			With(platform.ParamUpstreamStatus, sst)
	case st == 403 && (isCheckpoint(text) || strings.Contains(text, "restricted")):
		return nil, platform.Restricted(sst, "LinkedIn restricted the account; its owner must clear it in a browser")
	case st == 410:
		return nil, platform.ActionBroken(recipe, sst, "", "LinkedIn no longer serves recipe %q (410 Gone): update it in a recipes file (FIRSTMATE_LINKEDIN_RECIPES); `firstmate probe linkedin` checks every recipe", recipe)
	case (st == 400 || st == 404) && isRetiredQuery(rc, text):
		return nil, platform.ActionBroken(recipe, sst, "", "LinkedIn no longer knows the GraphQL query id of recipe %q: update its queryId in a recipes file (FIRSTMATE_LINKEDIN_RECIPES)", recipe)
	case st == 429:
		e := platform.FromStatus(platform.FamilyLinkedIn, 429, errCode(body), "LinkedIn is rate limiting this account", res.Header.Get("Retry-After"))
		return nil, e
	case st >= 400:
		msg := body.S("message")
		if msg == "" {
			msg = body.S("data.message")
		}
		return nil, platform.FromStatus(platform.FamilyLinkedIn, st, errCode(body), msg, res.Header.Get("Retry-After"))
	case st < 200:
		return nil, platform.FromStatus(platform.FamilyLinkedIn, 502, "", "LinkedIn answered status "+sst, "")
	}
	if !isJSON {
		trimmed := bytes.TrimSpace(raw)
		switch {
		case len(trimmed) == 0 && (st == 201 || st == 204 || st == 200):
			return &answer{status: st}, nil
		case strings.Contains(text, "request denied"):
			return nil, botDetected(sst, "LinkedIn's bot detection refused the request (a request-denied page)")
		case isCheckpoint(text):
			return nil, platform.Restricted(sst, "LinkedIn answered with a checkpoint page (security verification or restriction); its owner must clear it in a browser")
		case isLoginPage(text):
			return nil, apperr.Upstream(platform.LabelNotConnected, "the LinkedIn session has expired (LinkedIn answers with its login page)").
				With(platform.ParamUpstreamStatus, sst)
		}
		return nil, platform.ActionBroken(recipe, sst, "", "recipe %q: LinkedIn answered something that is not JSON", recipe)
	}
	if strings.EqualFold(body.S("login_result"), "CHALLENGE") {
		return nil, apperr.Upstream(platform.LabelNotConnected, "LinkedIn asks the account to log in again (CHALLENGE)").
			With(platform.ParamUpstreamStatus, sst)
	}
	return &answer{status: st, body: body}, nil
}

func botDetected(status, msg string) error {
	e := platform.FromStatus(platform.FamilyLinkedIn, 429, "BOT_DETECTION", msg, strconv.Itoa(BotDetectionRetryAfter))
	e = e.With(platform.ParamBotDetection, "true")
	e = e.With(platform.ParamUpstreamStatus, status)
	return e
}

func errCode(body J) string {
	for _, p := range []string{"code", "data.code", "serviceErrorCode"} {
		if s := body.S(p); s != "" {
			return s
		}
	}
	return ""
}

func isCheckpoint(s string) bool {
	return strings.Contains(s, "/checkpoint/") || strings.Contains(s, "checkpoint/challenge")
}

func isLoginPage(s string) bool {
	for _, m := range []string{"/login", "/uas/login", "/authwall", "/signup", "session_redirect"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// isRetiredQuery: a GraphQL recipe answered 400/404 with the body LinkedIn's
// GraphQL layer gives for a query id it does not know.
func isRetiredQuery(rc Recipe, text string) bool {
	if !strings.Contains(rc.Path, "graphql") && rc.Query["queryId"] == "" {
		return false
	}
	for _, m := range []string{"persistedquery", "persisted query", "persisted_query", "queryid"} {
		if strings.Contains(text, m) {
			return true
		}
	}
	return false
}

// brokenShape is the error of an answer the mapping cannot read.
func brokenShape(recipe, path string) error {
	return platform.ActionBroken(recipe, "", path, "recipe %q: LinkedIn's answer no longer has %s; the recipe or the driver needs an update (`firstmate probe linkedin` shows which answers changed)", recipe, path)
}
