package linkedin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/linkedin"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

func TestExpiredSession(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 8})
	s := newSession(cookies("sim_expiring"))
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		_, err = e.run(s, liveCall(t, "linkedin-me", nil))
	}
	if label(err) != platform.LabelNotConnected || !platform.IsSessionExpired(err) || platform.Transient(err) {
		t.Fatalf("an expired session: %v", err)
	}
	if !strings.Contains(err.Error(), "login") {
		t.Errorf("the error does not say LinkedIn sent the account to its login page: %v", err)
	}
	// an unknown session
	if _, err := e.run(newSession(cookies("AQEDAnot-a-session")), liveCall(t, "linkedin-me", nil)); label(err) != platform.LabelNotConnected {
		t.Fatalf("an unknown li_at: %v", err)
	}
	if _, err := e.d.Me(context.Background(), e.ts.Client(), platform.Credentials{}); label(err) != platform.LabelNotConnected {
		t.Fatalf("no li_at at all: %v", err)
	}
}

func TestRestrictedAccount(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 9})
	s := newSession(cookies("sim_restricted"))
	call := liveCall(t, "linkedin-extract-people", in("linkedin_profile_url", "https://www.linkedin.com/in/someone-somewhere/"))
	var err error
	n := 0
	for ; n < 20 && err == nil; n++ {
		_, err = e.run(s, call)
	}
	if label(err) != platform.LabelRestricted || platform.IsSessionExpired(err) || platform.Transient(err) {
		t.Fatalf("after %d visits: %v", n, err)
	}
	if n != 11 {
		t.Errorf("restricted at visit %d; the sandbox account is restricted past 10 visits a day", n)
	}
	// the rest of the day, every call meets the checkpoint
	if _, err := e.run(s, liveCall(t, "linkedin-me", nil)); label(err) != platform.LabelRestricted {
		t.Errorf("the next call: %v", err)
	}
}

// The flaky account answers 429 (Retry-After: 1) and LinkedIn's bot
// detection (999) on alternate cycles, and 503: each is a labelled,
// transient error, the bot detection flagged as such with a long retry.
func TestRateLimitsAndBotDetection(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 10})
	s := newSession(cookies("sim_flaky"))
	var rate, bot, unavailable error
	for i := 0; i < 24; i++ {
		_, err := e.run(s, liveCall(t, "linkedin-me", nil))
		switch {
		case err == nil:
		case label(err) == platform.Label429 && param(err, platform.ParamBotDetection) == "true":
			bot = err
		case label(err) == platform.Label429:
			rate = err
		case label(err) == platform.LabelLKError:
			unavailable = err
		default:
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if rate == nil || platform.RetryAfter(rate) != 1 || !platform.Transient(rate) {
		t.Errorf("429: %v (retry after %d)", rate, platform.RetryAfter(rate))
	}
	if bot == nil || platform.RetryAfter(bot) != linkedin.BotDetectionRetryAfter || !platform.Transient(bot) || param(bot, platform.ParamUpstreamStatus) != "999" {
		t.Errorf("999: %v", bot)
	}
	if unavailable == nil || !platform.Transient(unavailable) || param(unavailable, platform.ParamUpstreamStatus) != "503" {
		t.Errorf("503: %v", unavailable)
	}
}

func TestHangingAccountTimesOut(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 11, HangFor: 10 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := e.d.Run(ctx, e.ts.Client(), cookies("sim_hang"), liveCall(t, "linkedin-me", nil))
	if label(err) != platform.LabelLK524 || !platform.Transient(err) {
		t.Fatalf("a hanging account: %v", err)
	}
}

func TestSlowAccountWorks(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 12, SlowLatency: 5 * time.Millisecond})
	e.must(newSession(cookies("sim_slow")), liveCall(t, "linkedin-extract-connections", nil))
}

func TestMissingProfile(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 13})
	_, err := e.run(newSession(cookies("sim_premium")), liveCall(t, "linkedin-extract-people", in("linkedin_profile_url", "https://www.linkedin.com/in/missing-person/")))
	if label(err) != platform.Label404 {
		t.Fatalf("a missing profile: %v", err)
	}
	_, err = e.run(newSession(cookies("sim_premium")), liveCall(t, "linkedin-extract-company", in("linkedin_company_url", "https://www.linkedin.com/company/missing-co/")))
	if label(err) != platform.Label404 {
		t.Fatalf("a missing company: %v", err)
	}
}

// answer replaces the sandbox's answer for paths ending with suffix.
func answer(suffix string, status int, contentType, body string) func(http.ResponseWriter, *http.Request, http.Handler) bool {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if !strings.HasSuffix(r.URL.Path, suffix) {
			return false
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
		return true
	}
}

// reshape lets the sandbox answer, then edits its JSON for paths ending
// with suffix.
func reshape(suffix string, edit func(map[string]any)) func(http.ResponseWriter, *http.Request, http.Handler) bool {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !strings.HasSuffix(r.URL.Path, suffix) {
			return false
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			panic(err)
		}
		edit(body)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_ = json.NewEncoder(w).Encode(body)
		return true
	}
}

func TestRemovedEndpointsAreActionBroken(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 14})
	s := newSession(cookies("sim_premium"))
	profile := liveCall(t, "linkedin-extract-people", in("linkedin_profile_url", "https://www.linkedin.com/in/ada-lovelace/"))

	e.setRewrite(answer("/profileView", http.StatusGone, "application/json", `{"status":410,"message":"This resource is no longer available"}`))
	_, err := e.run(s, profile)
	if label(err) != platform.LabelActionBroken || param(err, platform.ParamRecipe) != "profile" || param(err, platform.ParamUpstreamStatus) != "410" {
		t.Fatalf("410 Gone: %v", err)
	}
	if platform.Transient(err) || platform.IsSessionExpired(err) {
		t.Errorf("a removed endpoint is neither transient nor an expired session")
	}
	if !strings.Contains(err.Error(), "profile") || !strings.Contains(err.Error(), "FIRSTMATE_LINKEDIN_RECIPES") {
		t.Errorf("the error names neither the recipe nor the fix: %v", err)
	}

	// A GraphQL query id LinkedIn no longer knows: the sandbox answers as a
	// GraphQL layer does for an unknown persisted query.
	e.setRewrite(nil)
	rs := linkedin.DefaultRecipes()
	rc := rs.Recipes["search"]
	q := map[string]string{}
	for k, v := range rc.Query {
		q[k] = v
	}
	q["queryId"] = "voyagerSearchDashClusters.0000000000000000000000000000dead"
	rc.Query = q
	rs.Recipes["search"] = rc
	d := e.driver(rs)
	_, err = d.Run(context.Background(), e.ts.Client(), cookies("sim_premium"),
		liveCall(t, "linkedin-search-people", in("linkedin_people_search_url", "https://www.linkedin.com/search/results/people/?keywords=x")))
	if label(err) != platform.LabelActionBroken || param(err, platform.ParamRecipe) != "search" {
		t.Fatalf("a retired query id: %v", err)
	}
}

func TestChangedShapesAreActionBroken(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 15})
	s := newSession(cookies("sim_premium"))
	e.setRewrite(reshape("/networkinfo", func(b map[string]any) {
		d := b["data"].(map[string]any)
		d["memberDistance"] = d["distance"]
		delete(d, "distance")
	}))
	_, err := e.run(s, liveCall(t, "linkedin-extract-people", in("linkedin_profile_url", "https://www.linkedin.com/in/ada-lovelace/")))
	if label(err) != platform.LabelActionBroken || param(err, platform.ParamRecipe) != "network_info" || param(err, platform.ParamMissingPath) != "data.distance.value" {
		t.Fatalf("a renamed field: %v", err)
	}
	e.setRewrite(reshape("/relationships/dash/connections", func(b map[string]any) {
		d := b["data"].(map[string]any)
		d["elements"] = d["*elements"]
		delete(d, "*elements")
	}))
	if _, err := e.run(s, liveCall(t, "linkedin-extract-connections", nil)); param(err, platform.ParamMissingPath) != "data.*elements" {
		t.Fatalf("a list without *elements: %v", err)
	}
	// a reference to an entity the answer does not include
	e.setRewrite(reshape("/relationships/dash/connections", func(b map[string]any) { b["included"] = []any{} }))
	if _, err := e.run(s, liveCall(t, "linkedin-extract-connections", nil)); label(err) != platform.LabelActionBroken {
		t.Fatalf("missing included entities: %v", err)
	}
	// an empty success would be a lie: HTML where JSON was expected
	e.setRewrite(answer("/voyager/api/me", http.StatusOK, "text/html", "<html><body>Something new</body></html>"))
	if _, err := e.run(s, liveCall(t, "linkedin-me", nil)); label(err) != platform.LabelActionBroken || param(err, platform.ParamRecipe) != "me" {
		t.Fatalf("HTML: %v", err)
	}
	// unless it is the login page: then the session is gone
	e.setRewrite(answer("/voyager/api/me", http.StatusOK, "text/html", `<html><form action="/uas/login-submit"><a href="/login">Sign in</a></form></html>`))
	if _, err := e.run(s, liveCall(t, "linkedin-me", nil)); label(err) != platform.LabelNotConnected {
		t.Fatalf("a login page: %v", err)
	}
	// a checkpoint page is a restriction
	e.setRewrite(answer("/voyager/api/me", http.StatusOK, "text/html", `<html><a href="https://www.linkedin.com/checkpoint/challenge/x">Verify</a></html>`))
	if _, err := e.run(s, liveCall(t, "linkedin-me", nil)); label(err) != platform.LabelRestricted {
		t.Fatalf("a checkpoint page: %v", err)
	}
}

func TestInputsThatAreNotLinkedInURLs(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 16})
	a := mustAction(t, "linkedin-extract-people")
	e.reset()
	_, err := e.d.Run(context.Background(), e.ts.Client(), cookies("sim_premium"), platform.Call{Action: a, Page: 1,
		Input: map[string]any{"linkedin_profile_url": "https://example.com/people/ada"}})
	if label(err) != "BAD_INPUT" {
		t.Fatalf("not a profile URL: %v", err)
	}
	b := mustAction(t, "linkedin-search-people")
	_, err = e.d.Run(context.Background(), e.ts.Client(), cookies("sim_premium"), platform.Call{Action: b, Page: 1,
		Input: map[string]any{"linkedin_people_search_url": "https://www.linkedin.com/search/results/companies/?keywords=x"}})
	if label(err) != "BAD_INPUT" {
		t.Fatalf("a company search given to search-people: %v", err)
	}
	for _, r := range e.requests() {
		if strings.HasPrefix(r.Path, "/voyager/api/identity") || strings.Contains(r.Path, "graphql") {
			t.Errorf("LinkedIn was asked about a bad input: %s", r.Path)
		}
	}
}

// The sandbox refuses a missing or mismatched CSRF token the way LinkedIn
// does: 403 "CSRF check failed."
func TestSandboxChecksCSRF(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 17})
	get := func(jsession, csrf string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/voyager/api/me", nil)
		req.Header.Set("Cookie", "li_at=sim_premium"+jsession)
		if csrf != "" {
			req.Header.Set("csrf-token", csrf)
		}
		res, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for name, c := range map[string][2]string{
		"no JSESSIONID": {"", "ajax:1"},
		"no csrf-token": {`; JSESSIONID="ajax:1"`, ""},
		"mismatch":      {`; JSESSIONID="ajax:1"`, "ajax:2"},
		"quoted token":  {`; JSESSIONID="ajax:1"`, `"ajax:1"`},
	} {
		if st, body := get(c[0], c[1]); st != http.StatusForbidden || !strings.Contains(body, "CSRF check failed") {
			t.Errorf("%s: %d %q", name, st, body)
		}
	}
	if st, body := get(`; JSESSIONID="ajax:1"`, "ajax:1"); st != http.StatusOK {
		t.Errorf("a matching pair: %d %s", st, body)
	}
	// and the driver maps a CSRF refusal to an integration error, without
	// invalidating the session
	e.setRewrite(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		r.Header.Set("csrf-token", "ajax:forged")
		next.ServeHTTP(w, r)
		return true
	})
	_, err := e.run(newSession(cookies("sim_premium")), liveCall(t, "linkedin-me", nil))
	if label(err) != platform.LabelIntegration || platform.IsSessionExpired(err) {
		t.Fatalf("a CSRF refusal: %v", err)
	}
}

// LinkedIn refuses a message to someone who is not a connection: a refusal
// of that call, not an expired session.
func TestMessageToAStrangerIsRefused(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 18})
	s := newSession(cookies("sim_premium"))
	sp := e.must(s, liveCall(t, "linkedin-search-people", in("linkedin_people_search_url", "https://www.linkedin.com/search/results/people/?keywords=manager")))
	for _, r := range sp.Results {
		if r["connection_degree"] == "1st" {
			continue
		}
		_, err := e.run(s, liveCall(t, "linkedin-message-profile", map[string]any{"input": map[string]any{"linkedin_profile_url": r["linkedin_profile_url"]},
			"parameters": map[string]any{"message": "hello"}}))
		if label(err) != platform.Label403 || platform.IsSessionExpired(err) {
			t.Fatalf("a message to a stranger: %v", err)
		}
		return
	}
	t.Fatal("no stranger in the search")
}
