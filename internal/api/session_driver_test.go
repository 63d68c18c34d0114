package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/engine"
	"github.com/firstmate-oss/firstmate/internal/sim"
	"github.com/firstmate-oss/firstmate/internal/validate"
)

// The LinkedIn session driver through the product's API (issue 16): every
// core action, live and async, against the sandbox's LinkedIn web-API face,
// with FIRSTMATE_PLATFORM_LINKEDIN=session and FIRSTMATE_LINKEDIN_URL
// pointing at it, as a user would try it on a laptop. A recording front
// stands before the sandbox: it sees what LinkedIn would see (user agent,
// cookies, csrf-token), and can answer in LinkedIn's place (429, 999, ...).
// Expected values come from the reference schema, the sandbox's own routes
// and the wording, never from the product's tables.

// frontReq is one request the front saw.
type frontReq struct {
	Method, Path, UA, LiAt, JSESSIONID, CSRF string
}

// frontAnswer is an answer the front gives instead of the sandbox.
type frontAnswer struct {
	prefix string
	status int
	header map[string]string
	body   string
	left   int
}

type simFront struct {
	sim *sim.Server
	h   http.Handler
	srv *httptest.Server

	mu      sync.Mutex
	seen    []frontReq
	answers []*frontAnswer
	lastSet map[string]string // li_at -> the last JSESSIONID the sandbox set
	// moved: LinkedIn "moved" an endpoint: a path ending in the key is
	// served as if it ended in the value.
	moved map[string]string
}

func newSimFront(t *testing.T) *simFront {
	t.Helper()
	s, err := sim.New(sim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f := &simFront{sim: s, h: s.Handler()}
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() { f.srv.Close(); s.Close() })
	return f
}

func (f *simFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := frontReq{Method: r.Method, Path: r.URL.Path, UA: r.Header.Get("User-Agent"), CSRF: r.Header.Get("csrf-token")}
	if c, err := r.Cookie("li_at"); err == nil {
		q.LiAt = c.Value
	}
	if c, err := r.Cookie("JSESSIONID"); err == nil {
		q.JSESSIONID = strings.Trim(c.Value, `"`)
	}
	f.mu.Lock()
	f.seen = append(f.seen, q)
	var ans *frontAnswer
	for _, a := range f.answers {
		if a.left > 0 && strings.HasPrefix(r.URL.Path, a.prefix) {
			a.left--
			ans = a
			break
		}
	}
	f.mu.Unlock()
	for from, to := range f.moved {
		if strings.HasSuffix(r.URL.Path, from) {
			r.URL.Path = strings.TrimSuffix(r.URL.Path, from) + to
		}
	}
	if ans == nil {
		f.h.ServeHTTP(w, r)
		for _, c := range (&http.Response{Header: w.Header()}).Cookies() {
			if c.Name == "JSESSIONID" {
				f.mu.Lock()
				if f.lastSet == nil {
					f.lastSet = map[string]string{}
				}
				f.lastSet[q.LiAt] = strings.Trim(c.Value, `"`)
				f.mu.Unlock()
			}
		}
		return
	}
	for k, v := range ans.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(ans.status)
	_, _ = w.Write([]byte(ans.body))
}

// answerNext makes the front answer the next n requests under prefix.
func (f *simFront) answerNext(prefix string, n, status int, header map[string]string, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, &frontAnswer{prefix: prefix, status: status, header: header, body: body, left: n})
}

// requests lists what the front saw of one li_at session on the web-API
// face (/voyager/..., /uas/..., /sales-api/...).
func (f *simFront) requests(liAt string) []frontReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []frontReq
	for _, q := range f.seen {
		if q.LiAt == liAt && !strings.HasPrefix(q.Path, "/linkedin/") && !strings.HasPrefix(q.Path, "/_sim/") {
			out = append(out, q)
		}
	}
	return out
}

// simTotal asks the sandbox's own routes how many elements a list holds.
func (f *simFront) simTotal(t *testing.T, liAt, path string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: "li_at", Value: liAt})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Paging struct{ Total int }
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Paging.Total
}

// sessionRouting routes LinkedIn to the session driver at the front.
func sessionRouting(t *testing.T, f *simFront) {
	t.Setenv("FIRSTMATE_SIM_URL", f.srv.URL)
	t.Setenv("FIRSTMATE_PLATFORM_LINKEDIN", "session")
	t.Setenv("FIRSTMATE_LINKEDIN_URL", f.srv.URL)
}

// sessionConnect connects an identity's LinkedIn with cookies (and the
// user's own user agent when ua is not "").
func sessionConnect(t *testing.T, env *apitest.Env, key, uid string, cookies map[string]any, ua string) map[string]any {
	t.Helper()
	auth := map[string]any{"cookies": cookies}
	if ua != "" {
		auth["user_agent"] = ua
	}
	return env.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", key, map[string]any{"auth_data": auth}).Obj()
}

func sessionIdentity(t *testing.T, env *apitest.Env, key, name string) string {
	t.Helper()
	return env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": name, "timezone": "Europe/Paris"}).Obj()["uid"].(string)
}

// sessionRunner runs one action for an identity and returns every result.
type sessionRunner func(slug string, input, params map[string]any) []any

// liveRunner runs live calls, following the pages to the end (at most
// maxPages of them).
func liveRunner(t *testing.T, env *apitest.Env, key, uid string, schema func(string) *validate.Schema) sessionRunner {
	return func(slug string, input, params map[string]any) []any {
		t.Helper()
		body := map[string]any{"identity_ids": []string{uid}}
		if len(input) > 0 {
			body["input"] = input
		}
		live := map[string]any{}
		for k, v := range params {
			if k != "max_results" { // an async parameter; a live call is one page
				live[k] = v
			}
		}
		if len(live) > 0 {
			body["parameters"] = live
		}
		path := "/v4/actions/" + slug + "/run/live"
		var all []any
		for pages := 0; pages < 60; pages++ {
			r := env.Do("POST", path, key, body)
			if r.Status != 200 {
				t.Fatalf("live %s: %d %s", slug, r.Status, r.Body)
			}
			switch v := r.JSON().(type) {
			case []any:
				all = append(all, v...)
			default:
				return []any{v}
			}
			next := r.Header.Get("X-Pagination-Next")
			if next == "" || strings.Contains(slug, "search") {
				return all
			}
			path = strings.TrimPrefix(next, env.URL)
		}
		t.Fatalf("live %s: more than 60 pages", slug)
		return nil
	}
}

// asyncRunner submits a one-input async run, waits for it to end, and reads
// all of its outputs.
func asyncRunner(t *testing.T, env *apitest.Env, key, uid string) sessionRunner {
	return func(slug string, input, params map[string]any) []any {
		t.Helper()
		if input == nil {
			input = map[string]any{}
		}
		body := map[string]any{"inputs": []any{input}, "identity_ids": []string{uid},
			"callback": map[string]any{"url": callbackSink(t), "on": "final"}}
		if params != nil {
			body["parameters"] = params
		}
		run := env.Must(200, "POST", "/v4/actions/"+slug+"/run/async", key, body).Obj()
		uidRun := run["run_uid"].(string)
		done := wireWaitRun(t, env, key, uidRun)
		if done["status"] != "SUCCEEDED" {
			t.Fatalf("async %s: %v", slug, done)
		}
		var all []any
		for off := 0; ; off += 100 {
			page := env.Must(200, "GET", fmt.Sprintf("/v4/runs/%s/outputs?limit=100&offset=%d", uidRun, off), key, nil).Arr()
			all = append(all, page...)
			if len(page) < 100 {
				break
			}
		}
		if done["output_count"] != float64(len(all)) {
			t.Errorf("async %s: output_count %v, %d outputs", slug, done["output_count"], len(all))
		}
		return all
	}
}

var (
	sinkOnce sync.Once
	sinkURL  string
)

// callbackSink is a receiver that takes every callback and keeps nothing.
func callbackSink(t *testing.T) string {
	sinkOnce.Do(func() {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		sinkURL = srv.URL // lives as long as the test binary
	})
	return sinkURL
}

func str(m any, k string) string {
	s, _ := m.(map[string]any)[k].(string)
	return s
}

// exerciseCoreActions runs the 14 core actions in turn, each one's input
// taken from what the previous ones returned, and checks every result
// against the reference and every list against the sandbox's own count.
func exerciseCoreActions(t *testing.T, f *simFront, liAt string, run sessionRunner, schema func(string) *validate.Schema) {
	t.Helper()
	check := func(slug string, res []any) []any {
		t.Helper()
		checkAgainstReference(t, schema, slug, res)
		return res
	}
	check("linkedin-me", run("linkedin-me", nil, nil))

	conns := check("linkedin-extract-connections", run("linkedin-extract-connections", nil, nil))
	if want := f.simTotal(t, liAt, "/linkedin/connections?count=1"); len(conns) != want {
		t.Errorf("connections: %d, the sandbox lists %d", len(conns), want)
	}
	friend := str(conns[0], "linkedin_profile_url")
	people := check("linkedin-extract-people", run("linkedin-extract-people", map[string]any{"linkedin_profile_url": friend}, nil))
	check("linkedin-visit-profile", run("linkedin-visit-profile", map[string]any{"linkedin_profile_url": friend}, nil))
	if co := str(people[0], "linkedin_company_url"); co != "" {
		check("linkedin-extract-company", run("linkedin-extract-company", map[string]any{"linkedin_company_url": co}, nil))
	} else {
		check("linkedin-extract-company", run("linkedin-extract-company", map[string]any{"linkedin_company_url": "https://www.linkedin.com/company/acme/"}, nil))
	}
	check("linkedin-search-people", run("linkedin-search-people",
		map[string]any{"linkedin_people_search_url": "https://www.linkedin.com/search/results/people/?keywords=engineer"}, map[string]any{"max_results": 20}))
	check("linkedin-search-companies", run("linkedin-search-companies",
		map[string]any{"linkedin_company_search_url": "https://www.linkedin.com/search/results/companies/?keywords=software"}, map[string]any{"max_results": 20}))

	convs := check("linkedin-extract-conversations", run("linkedin-extract-conversations", nil, nil))
	if want := f.simTotal(t, liAt, "/linkedin/conversations?count=1"); len(convs) != want {
		t.Errorf("conversations: %d, the sandbox lists %d", len(convs), want)
	}
	thread := str(convs[0], "linkedin_thread_url")
	msgs := check("linkedin-extract-messages", run("linkedin-extract-messages", map[string]any{"linkedin_thread_url": thread}, nil))
	tid := strings.TrimSuffix(strings.TrimPrefix(thread, "https://www.linkedin.com/messaging/thread/"), "/")
	if want := f.simTotal(t, liAt, "/linkedin/conversations/"+url.PathEscape(tid)+"/messages?count=1"); len(msgs) != want {
		t.Errorf("messages: %d, the sandbox lists %d", len(msgs), want)
	}
	sent := check("linkedin-extract-sent-invitations", run("linkedin-extract-sent-invitations", nil, nil))
	if want := f.simTotal(t, liAt, "/linkedin/invitations/sent?count=1"); len(sent) != want {
		t.Errorf("sent invitations: %d, the sandbox lists %d", len(sent), want)
	}
	m := check("linkedin-message-profile", run("linkedin-message-profile", map[string]any{"linkedin_profile_url": friend},
		map[string]any{"message": "Hello from the session driver"}))
	if m[0].(map[string]any)["is_sent"] != true {
		t.Errorf("message-profile: %v", m[0])
	}
	// A stranger: any handle resolves to a person of the sandbox's world.
	check("linkedin-connect-profile", run("linkedin-connect-profile",
		map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/session-driver-stranger-" + liAt}, nil))
	check("linkedin-accept-invitations", run("linkedin-accept-invitations", nil, nil))
	check("linkedin-withdraw-invitations", run("linkedin-withdraw-invitations", nil, nil))
}

// Every core action, live and async, through the session driver; the
// traffic is the web API's (csrf-token equal to the JSESSIONID cookie on
// every call) and never the sandbox's own routes.
func TestSessionDriverEveryActionLiveAndAsync(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newSimFront(t) // a sandbox of its own: the writes below change it
		sessionRouting(t, f)
		schema := referenceOutputs(t)
		env := apitest.StartWithLoopbackCallbacks(t, dialect)
		key := env.NewWorkspace("Session actions", "unlimited")
		for _, mode := range []string{"live", "async"} {
			liAt := map[string]string{"live": "sim_premium", "async": "sim_classic"}[mode]
			uid := sessionIdentity(t, env, key, "Session "+mode)
			g := sessionConnect(t, env, key, uid, map[string]any{"li_at": liAt, "JSESSIONID": `"ajax:5551234567890123456"`}, "")
			if g["status"] != "VALID" {
				t.Fatalf("%s: connect: %v", mode, g)
			}
			run := liveRunner(t, env, key, uid, schema)
			if mode == "async" {
				run = asyncRunner(t, env, key, uid)
			}
			exerciseCoreActions(t, f, liAt, run, schema)
			reqs := f.requests(liAt)
			if len(reqs) < 14 {
				t.Fatalf("%s: the web-API face saw %d requests", mode, len(reqs))
			}
			for _, q := range reqs {
				if !strings.HasPrefix(q.Path, "/voyager/api/") && !strings.HasPrefix(q.Path, "/sales-api/") {
					t.Errorf("%s: a request left for %s", mode, q.Path)
				}
				if q.JSESSIONID == "" || q.CSRF != q.JSESSIONID {
					t.Errorf("%s: %s %s: csrf-token %q, JSESSIONID %q", mode, q.Method, q.Path, q.CSRF, q.JSESSIONID)
				}
			}
		}
	})
}

// lastSetJSESSIONID is the last JSESSIONID the sandbox handed to a session.
func (f *simFront) lastSetJSESSIONID(liAt string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastSet[liAt]
}

func lastReq(t *testing.T, f *simFront, liAt string) frontReq {
	t.Helper()
	reqs := f.requests(liAt)
	if len(reqs) == 0 {
		t.Fatalf("the sandbox saw nothing of %s", liAt)
	}
	return reqs[len(reqs)-1]
}

func countPath(reqs []frontReq, path string) int {
	n := 0
	for _, q := range reqs {
		if q.Path == path {
			n++
		}
	}
	return n
}

// The cookies LinkedIn refreshes are kept: JSESSIONID rotates after some
// writes, the next call carries the new one, and so does the first call
// after a restart (a new app on the same database), since the refreshed
// session was sealed back on the integration. An li_at given alone gets
// its JSESSIONID once, at connect, and keeps it.
func TestSessionDriverKeepsTheRefreshedSession(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newSimFront(t)
		sessionRouting(t, f)
		st := apitest.NewStore(t, dialect)
		env := apitest.StartOn(t, st)
		key := env.NewWorkspace("Session cookies", "unlimited")
		const first = "ajax:1111111111111111111"
		uid := sessionIdentity(t, env, key, "Rotating")
		sessionConnect(t, env, key, uid, map[string]any{"li_at": "sim_premium", "JSESSIONID": `"` + first + `"`}, "")
		conns := env.Must(200, "POST", "/v4/actions/linkedin-extract-connections/run/live", key,
			map[string]any{"identity_ids": []string{uid}}).Arr()
		friend := str(conns[0], "linkedin_profile_url")
		for i := range 3 {
			env.Must(200, "POST", "/v4/actions/linkedin-message-profile/run/live", key, map[string]any{"identity_ids": []string{uid},
				"input": map[string]any{"linkedin_profile_url": friend}, "parameters": map[string]any{"message": fmt.Sprintf("rotation %d", i)}})
		}
		rotated := f.lastSetJSESSIONID("sim_premium")
		if rotated == "" || rotated == first {
			t.Fatalf("the sandbox did not rotate JSESSIONID after three writes (last set %q)", rotated)
		}
		env.Must(200, "POST", "/v4/actions/linkedin-me/run/live", key, map[string]any{"identity_ids": []string{uid}})
		if q := lastReq(t, f, "sim_premium"); q.JSESSIONID != rotated || q.CSRF != rotated {
			t.Fatalf("the call after the rotation carried JSESSIONID %q, csrf %q; LinkedIn set %q", q.JSESSIONID, q.CSRF, rotated)
		}

		// li_at alone: the session cookies are asked for once, at connect.
		uid2 := sessionIdentity(t, env, key, "Only li_at")
		if g := sessionConnect(t, env, key, uid2, map[string]any{"li_at": "sim_classic"}, ""); g["status"] != "VALID" {
			t.Fatalf("li_at alone: %v", g)
		}
		handed := f.lastSetJSESSIONID("sim_classic")
		env.Must(200, "POST", "/v4/actions/linkedin-me/run/live", key, map[string]any{"identity_ids": []string{uid2}})

		env.Close()
		env = apitest.StartOn(t, st)
		env.Must(200, "POST", "/v4/actions/linkedin-me/run/live", key, map[string]any{"identity_ids": []string{uid}})
		if q := lastReq(t, f, "sim_premium"); q.JSESSIONID != rotated {
			t.Errorf("after a restart the call carried JSESSIONID %q, want the refreshed %q", q.JSESSIONID, rotated)
		}
		env.Must(200, "POST", "/v4/actions/linkedin-me/run/live", key, map[string]any{"identity_ids": []string{uid2}})
		reqs := f.requests("sim_classic")
		if n := countPath(reqs, "/uas/authenticate"); n != 1 {
			t.Errorf("li_at alone: the session cookies were asked for %d times, want once (at connect)", n)
		}
		if q := reqs[len(reqs)-1]; handed == "" || q.JSESSIONID != handed {
			t.Errorf("li_at alone: after a restart the call carried JSESSIONID %q, LinkedIn handed %q", q.JSESSIONID, handed)
		}
	})
}

// The user agent: the user's own (auth_data.user_agent) on every request;
// without one, one realistic browser user agent chosen for the identity
// and kept, across calls, reconnects and restarts. A malformed one is a
// 400.
func TestSessionDriverUserAgent(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newSimFront(t)
		sessionRouting(t, f)
		st := apitest.NewStore(t, dialect)
		env := apitest.StartOn(t, st)
		key := env.NewWorkspace("Session UA", "unlimited")
		const own = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0 FirstmateTest"
		mine := sessionIdentity(t, env, key, "Own browser")
		kept := sessionIdentity(t, env, key, "Kept browser")
		sessionConnect(t, env, key, mine, map[string]any{"li_at": "sim_premium", "JSESSIONID": "ajax:2222222222222222222"}, own)
		sessionConnect(t, env, key, kept, map[string]any{"li_at": "sim_classic", "JSESSIONID": "ajax:3333333333333333333"}, "")
		calls := func(env *apitest.Env) {
			for _, uid := range []string{mine, kept} {
				for range 2 {
					env.Must(200, "POST", "/v4/actions/linkedin-me/run/live", key, map[string]any{"identity_ids": []string{uid}})
				}
			}
		}
		calls(env)
		// Reconnecting without a user agent, even with another session,
		// keeps the identity's.
		sessionConnect(t, env, key, kept, map[string]any{"li_at": "sim_salesnav", "JSESSIONID": "ajax:3333333333333333334"}, "")
		env.Close()
		env = apitest.StartOn(t, st)
		calls(env)

		for _, q := range f.requests("sim_premium") {
			if q.UA != own {
				t.Fatalf("%s %s carried user agent %q, the user's is %q", q.Method, q.Path, q.UA, own)
			}
		}
		uas := map[string]int{}
		for _, q := range append(f.requests("sim_classic"), f.requests("sim_salesnav")...) {
			uas[q.UA]++
		}
		if len(uas) != 1 {
			t.Fatalf("the identity's calls carried %d user agents: %v", len(uas), uas)
		}
		for ua := range uas {
			if !strings.HasPrefix(ua, "Mozilla/5.0 (") || !strings.Contains(ua, "Gecko") || ua == own {
				t.Errorf("the identity's user agent %q is not a browser's", ua)
			}
		}

		for what, ua := range map[string]string{"control character": "Mozilla/5.0", "too long": "Mozilla/5.0 " + strings.Repeat("x", 600),
			"not ASCII": "Mozilla/5.0 (Ünïcode)"} {
			r := env.Do("POST", "/v4/identities/"+mine+"/integrations/linkedin", key, map[string]any{"auth_data": map[string]any{
				"cookies": map[string]any{"li_at": "sim_premium"}, "user_agent": ua}})
			if r.Status != 400 || r.Label() != "BAD_INPUT" || !strings.Contains(string(r.Body), "user_agent") {
				t.Errorf("%s: %d %s", what, r.Status, r.Body)
			}
		}
	})
}

// hookEvents lists the integration webhook events received, in order.
func hookEvents(h *hookReceiver) []string {
	var out []string
	for _, b := range h.events() {
		if e, _ := b["event"].(string); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// waitHook waits (bounded) for an integration webhook event.
func waitHook(t *testing.T, h *hookReceiver, event string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, b := range h.events() {
			if b["event"] == event {
				return b
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s webhook; received %v", event, hookEvents(h))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func errParams(r apitest.Resp) map[string]any {
	p, _ := r.Obj()["params"].(map[string]any)
	return p
}

// LinkedIn's answers mapped to the labels, through the API: an expired
// session is NOT_CONNECTED and the integration goes INVALID with its
// AUTH_EXPIRED webhook; a checkpoint is RESTRICTED (and blocks async work,
// which its owner resumes after clearing it); a removed endpoint (410, a
// retired GraphQL query id) is ACTION_BROKEN naming the recipe, live and
// async, never a crash or an empty success.
func TestSessionDriverFailuresMapToLabels(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newSimFront(t)
		sessionRouting(t, f)
		env := apitest.StartWithLoopbackCallbacks(t, dialect)
		key := env.NewWorkspace("Session failures", "unlimited")
		hooks := &hookReceiver{}
		hs := httptest.NewServer(hooks)
		defer hs.Close()
		env.Must(200, "PUT", "/v4/workspaces/settings", key, map[string]any{"webhook_url": hs.URL})
		profile := map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/ada-lovelace"}
		live := func(uid, slug string, input map[string]any) apitest.Resp {
			body := map[string]any{"identity_ids": []string{uid}}
			if input != nil {
				body["input"] = input
			}
			return env.Do("POST", "/v4/actions/"+slug+"/run/live", key, body)
		}

		// Expiry: the sandbox's expiring account redirects to the login page
		// after a few calls.
		exp := sessionIdentity(t, env, key, "Expiring")
		sessionConnect(t, env, key, exp, map[string]any{"li_at": "sim_expiring", "JSESSIONID": "ajax:4444444444444444444"}, "")
		var r apitest.Resp
		for i := 0; i < 10; i++ {
			if r = live(exp, "linkedin-extract-people", profile); r.Status != 200 {
				break
			}
		}
		checkError(t, env, "expired session", r, 424, "NOT_CONNECTED")
		g := env.Must(200, "GET", "/v4/identities/"+exp+"/integrations/linkedin", key, nil).Obj()
		if g["status"] != "INVALID" || g["error"] != "NOT_CONNECTED" {
			t.Errorf("after expiry: %v", g)
		}
		hook := waitHook(t, hooks, "AUTH_EXPIRED")
		if hook["identity_uid"] != exp || hook["status"] != "INVALID" || hook["action_to_be_taken"] != "RETRY_LOGIN" {
			t.Errorf("AUTH_EXPIRED webhook: %v", hook)
		}

		uid := sessionIdentity(t, env, key, "Failures")
		sessionConnect(t, env, key, uid, map[string]any{"li_at": "sim_premium", "JSESSIONID": "ajax:5555555555555555555"}, "")

		// A checkpoint: RESTRICTED, the integration stays as it is.
		f.answerNext("/voyager/api/identity/profiles/", 1, http.StatusFound,
			map[string]string{"Location": "https://www.linkedin.com/checkpoint/challenge/AgHk3V?ut=x"}, "")
		checkError(t, env, "checkpoint", live(uid, "linkedin-extract-people", profile), 424, "RESTRICTED")
		if g := env.Must(200, "GET", "/v4/identities/"+uid+"/integrations/linkedin", key, nil).Obj(); g["status"] != "VALID" {
			t.Errorf("after a checkpoint: %v", g)
		}

		// 410 Gone: ACTION_BROKEN naming the recipe.
		f.answerNext("/voyager/api/identity/profiles/", 1, http.StatusGone, nil, "")
		body := checkError(t, env, "410", live(uid, "linkedin-extract-people", profile), 424, "ACTION_BROKEN")
		if p, _ := body["params"].(map[string]any); p == nil || p["recipe"] == nil || p["recipe"] == "" ||
			!strings.Contains(body["message"].(string), p["recipe"].(string)) {
			t.Errorf("410: %v", body)
		}
		// A GraphQL query id LinkedIn no longer knows.
		f.answerNext("/voyager/api/graphql", 1, http.StatusBadRequest, map[string]string{"Content-Type": "application/json"},
			`{"errors":[{"message":"PersistedQueryNotFound: unknown queryId"}]}`)
		body = checkError(t, env, "retired query id", env.Do("POST", "/v4/actions/linkedin-search-people/run/live", key, map[string]any{
			"identity_ids": []string{uid}, "input": map[string]any{"linkedin_people_search_url": "https://www.linkedin.com/search/results/people/?keywords=x"}}),
			424, "ACTION_BROKEN")
		if p, _ := body["params"].(map[string]any); p == nil || p["recipe"] == nil {
			t.Errorf("retired query id: %v", body)
		}

		// Async: ACTION_BROKEN fails the input with its label (the run does
		// not succeed empty); RESTRICTED blocks the run.
		async := func(input map[string]any) map[string]any {
			run := env.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/async", key, map[string]any{
				"inputs": []any{input}, "identity_ids": []string{uid}, "callback": map[string]any{"url": hs.URL + "/cb", "on": "final"}}).Obj()
			return run
		}
		f.answerNext("/voyager/api/identity/profiles/", 1, http.StatusGone, nil, "")
		run := async(profile)
		done := wireWaitRun(t, env, key, run["run_uid"].(string))
		le, _ := done["last_error"].(map[string]any)
		if done["status"] != "FAILED" || le["label"] != "ACTION_BROKEN" || done["output_count"] != float64(0) {
			t.Errorf("async 410: %v", done)
		}
		f.answerNext("/voyager/api/identity/profiles/", 1, http.StatusFound,
			map[string]string{"Location": "https://www.linkedin.com/checkpoint/challenge/AgHk3V?ut=x"}, "")
		run = async(profile)
		blocked := waitRun(t, env, key, "/v4/runs/"+run["run_uid"].(string), "BLOCKED")
		if le, _ := blocked["last_error"].(map[string]any); le["label"] != "RESTRICTED" {
			t.Errorf("async checkpoint: %v", blocked)
		}
		env.Must(200, "POST", "/v4/runs/"+run["run_uid"].(string)+"/resume", key, nil)
		if done := wireWaitRun(t, env, key, run["run_uid"].(string)); done["status"] != "SUCCEEDED" {
			t.Errorf("resumed after the checkpoint: %v", done)
		}
	})
}

// 429 and LinkedIn's bot detection (999): the account's work pauses at once,
// on every node sharing the database (no retry storm: the sandbox sees no
// further call), live calls get 429 LIMIT_REACHED with postponed_until and
// async work waits; it resumes after the back-off. The third pause of a
// streak pauses the integration itself (LIMIT_REACHED, with its webhook),
// and the health check sets it VALID again once the pause is over.
func TestSessionDriverRateLimitPausesTheAccount(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newSimFront(t)
		sessionRouting(t, f)
		st := apitest.NewStore(t, dialect)
		st.AllowLoopbackCallbacks = true
		clk := &lvClock{}
		withClock := func(a *app.App) { a.Engine.Now = clk.Now }
		node1 := lvStartOn(t, st, withClock)
		node2 := lvStartOn(t, st, withClock)
		key := node1.NewWorkspace("Session pauses", "unlimited")
		hooks := &hookReceiver{}
		hs := httptest.NewServer(hooks)
		defer hs.Close()
		node1.Must(200, "PUT", "/v4/workspaces/settings", key, map[string]any{"webhook_url": hs.URL})
		uid := sessionIdentity(t, node1, key, "Paced")
		sessionConnect(t, node1, key, uid, map[string]any{"li_at": "sim_premium", "JSESSIONID": "ajax:6666666666666666666"}, "")
		profile := map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/ada-lovelace"}
		live := func(env *apitest.Env) apitest.Resp {
			return env.Do("POST", "/v4/actions/linkedin-extract-people/run/live", key, map[string]any{"identity_ids": []string{uid}, "input": profile})
		}
		const prefix = "/voyager/api/identity/profiles/"
		f.answerNext(prefix, 1, 999, map[string]string{"Content-Type": "text/html"}, "<html><body><h1>Request denied</h1></body></html>")
		r := live(node1)
		checkError(t, node1, "bot detection", r, 424, "STATUS_429")
		p := errParams(r)
		until, err := time.Parse(time.RFC3339, fmt.Sprint(p["postponed_until"]))
		if err != nil || p["bot_detection"] != "true" || !until.After(clk.Now()) {
			t.Fatalf("bot detection: %s", r.Body)
		}
		seen := len(f.requests("sim_premium"))
		for _, env := range []*apitest.Env{node1, node2} {
			r := live(env)
			checkError(t, env, "paused account", r, 429, "LIMIT_REACHED")
			if p := errParams(r); p["limit_key"] != "account_paused" || p["postponed_until"] == nil {
				t.Errorf("paused account: %s", r.Body)
			}
		}
		run := node2.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/async", key, map[string]any{
			"inputs": []any{profile}, "identity_ids": []string{uid}, "callback": map[string]any{"url": hs.URL + "/cb", "on": "final"}}).Obj()
		runUID := run["run_uid"].(string)
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := node2.Must(200, "GET", "/v4/runs/"+runUID, key, nil).Obj()
			if got["postponed_until"] != nil {
				break
			}
			if got["status"] != "QUEUED" && got["status"] != "RUNNING" || time.Now().After(deadline) {
				t.Fatalf("async work on a paused account: %v", got)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if n := len(f.requests("sim_premium")); n != seen {
			t.Fatalf("the paused account reached LinkedIn %d more times", n-seen)
		}
		node2.Must(200, "POST", "/v4/runs/"+runUID+"/cancel", key, nil)

		// After the back-off the account works again.
		clk.Advance(until.Sub(clk.Now()) + time.Minute)
		if r := live(node1); r.Status != 200 {
			t.Fatalf("after the pause: %d %s", r.Status, r.Body)
		}
		// Two more pauses in the streak: the third pauses the integration.
		for strike := 2; strike <= 3; strike++ {
			f.answerNext(prefix, 1, http.StatusTooManyRequests, map[string]string{"Retry-After": "1"}, "")
			r := live(node1)
			checkError(t, node1, fmt.Sprintf("strike %d", strike), r, 424, "STATUS_429")
			until, _ = time.Parse(time.RFC3339, fmt.Sprint(errParams(r)["postponed_until"]))
			g := node1.Must(200, "GET", "/v4/identities/"+uid+"/integrations/linkedin", key, nil).Obj()
			if want := map[bool]string{true: "LIMIT_REACHED", false: "VALID"}[strike == 3]; g["status"] != want {
				t.Fatalf("after strike %d: integration %v, want %s", strike, g["status"], want)
			}
			if strike < 3 {
				clk.Advance(until.Sub(clk.Now()) + time.Minute)
			}
		}
		hook := waitHook(t, hooks, "LIMIT_REACHED")
		if hook["identity_uid"] != uid || hook["status"] != "LIMIT_REACHED" || hook["error"] != "STATUS_429" {
			t.Errorf("LIMIT_REACHED webhook: %v", hook)
		}
		if r := live(node2); r.Status == 200 {
			t.Errorf("a paused integration ran a call: %s", r.Body)
		}
		// The health check, once the pause is over, sets it VALID again.
		var id int64
		if err := node1.App.DB.Handles().R.QueryRowContext(context.Background(), `SELECT g.id FROM integrations g JOIN identities i ON i.id = g.identity_id WHERE i.uid = $1`,
			uid).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if out, err := node1.App.Engine.CheckIntegration(context.Background(), id, time.Hour); err != nil || out != engine.HealthDeferred {
			t.Fatalf("check during the pause: %v %v", out, err)
		}
		clk.Advance(until.Sub(clk.Now()) + time.Minute)
		if out, err := node1.App.Engine.CheckIntegration(context.Background(), id, time.Hour); err != nil || out != engine.HealthValid {
			t.Fatalf("check after the pause: %v %v", out, err)
		}
		if g := node1.Must(200, "GET", "/v4/identities/"+uid+"/integrations/linkedin", key, nil).Obj(); g["status"] != "VALID" {
			t.Errorf("after the pause: %v", g)
		}
		waitHook(t, hooks, "AUTH_SUCCESS")
		if r := live(node1); r.Status != 200 {
			t.Errorf("after the pause: %d %s", r.Status, r.Body)
		}
	})
}

// loopProxy is a minimal HTTP forward proxy on loopback with Basic proxy
// authentication; it records, per proxy user, the li_at of each request it
// forwarded.
type loopProxy struct {
	srv *httptest.Server
	mu  sync.Mutex
	by  map[string]map[string]int // user -> li_at -> requests
}

func newLoopProxy(t *testing.T) *loopProxy {
	p := &loopProxy{by: map[string]map[string]int{}}
	tr := &http.Transport{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _, ok := proxyUser(r.Header.Get("Proxy-Authorization"))
		if !ok || r.Method == http.MethodConnect || !r.URL.IsAbs() {
			w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
			http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
			return
		}
		liAt := ""
		if c, err := r.Cookie("li_at"); err == nil {
			liAt = c.Value
		}
		p.mu.Lock()
		if p.by[user] == nil {
			p.by[user] = map[string]int{}
		}
		p.by[user][liAt]++
		p.mu.Unlock()
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.Header.Del("Proxy-Authorization")
		res, err := tr.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		for k, vs := range res.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
	}))
	t.Cleanup(func() { p.srv.Close(); tr.CloseIdleConnections() })
	return p
}

func proxyUser(h string) (user, pass string, ok bool) {
	raw, found := strings.CutPrefix(h, "Basic ")
	if !found {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(b), ":")
}

func (p *loopProxy) url(user string) string {
	return "http://" + user + ":pw-" + user + "@" + p.srv.Listener.Addr().String()
}

func (p *loopProxy) count(user, liAt string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.by[user][liAt]
}

func (p *loopProxy) usersOf(liAt string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for u, m := range p.by {
		if m[liAt] > 0 {
			out = append(out, u)
		}
	}
	return out
}

// Each identity's LinkedIn traffic leaves through its own proxy: every
// request the sandbox saw of an account (its connect check included) went
// through that identity's proxy user, and none through another's.
func TestSessionDriverTrafficThroughEachIdentitysProxy(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newSimFront(t)
		sessionRouting(t, f)
		px := newLoopProxy(t)
		pool := "FR=" + px.url("paris") + ",US=" + px.url("nyc")
		for i := range sim.ManagedCookies() {
			pool += ",IS=" + px.url(fmt.Sprintf("managed%d", i+1))
		}
		st := apitest.NewStore(t, dialect)
		cfg := st.Config()
		cfg.ProxyPool = pool
		a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(a.API)
		env := &apitest.Env{T: t, Store: st, App: a, Server: hs, URL: hs.URL, Logs: &apitest.SyncBuffer{}}
		t.Cleanup(env.Close)
		key := env.NewWorkspace("Session egress", "unlimited")
		ids := map[string]string{}
		for tz, liAt := range map[string]string{"Europe/Paris": "sim_premium", "America/New_York": "sim_classic"} {
			uid := env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Egress " + liAt, "timezone": tz}).Obj()["uid"].(string)
			if g := sessionConnect(t, env, key, uid, map[string]any{"li_at": liAt, "JSESSIONID": "ajax:7777777777777777777"}, ""); g["status"] != "VALID" {
				t.Fatalf("connect %s: %v", liAt, g)
			}
			ids[liAt] = uid
		}
		for _, uid := range ids {
			env.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/live", key, map[string]any{"identity_ids": []string{uid},
				"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/ada-lovelace"}})
			env.Must(200, "POST", "/v4/actions/linkedin-extract-connections/run/live", key, map[string]any{"identity_ids": []string{uid}})
		}
		for liAt, user := range map[string]string{"sim_premium": "paris", "sim_classic": "nyc"} {
			seen := len(f.requests(liAt))
			if users := px.usersOf(liAt); len(users) != 1 || users[0] != user {
				t.Errorf("%s left through proxy users %v, want only %s", liAt, users, user)
			}
			if n := px.count(user, liAt); seen < 3 || n != seen {
				t.Errorf("%s: the sandbox saw %d requests, %d came through its proxy", liAt, seen, n)
			}
		}
	})
}

// An operator's recipes file (FIRSTMATE_LINKEDIN_RECIPES) is followed: here
// LinkedIn "moved" the profile endpoint and the override names the new
// path. (A malformed file stopping the server at start is
// TestSessionDriverRouted.)
func TestSessionDriverFollowsTheRecipesOverride(t *testing.T) {
	raw, err := os.ReadFile("../platform/linkedin/recipes/voyager.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	recipes := doc["recipes"].(map[string]any)
	profile := recipes["profile"].(map[string]any)
	old := profile["path"].(string)
	if !strings.HasSuffix(old, "/profileView") {
		t.Fatalf("the embedded profile recipe is %s", old)
	}
	profile["path"] = old + "V2"
	file := t.TempDir() + "/recipes.json"
	b, _ := json.Marshal(doc)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		f := newSimFront(t)
		f.moved = map[string]string{"/profileViewV2": "/profileView"}
		sessionRouting(t, f)
		t.Setenv("FIRSTMATE_LINKEDIN_RECIPES", file)
		env := apitest.Start(t, dialect)
		key := env.NewWorkspace("Session recipes", "unlimited")
		uid := sessionIdentity(t, env, key, "Recipes")
		sessionConnect(t, env, key, uid, map[string]any{"li_at": "sim_premium", "JSESSIONID": "ajax:8888888888888888888"}, "")
		p := env.Must(200, "POST", "/v4/actions/linkedin-extract-people/run/live", key, map[string]any{"identity_ids": []string{uid},
			"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/ada-lovelace"}}).Obj()
		if p["full_name"] == nil {
			t.Errorf("extract-people: %v", p)
		}
		if n := countPath(f.requests("sim_premium"), "/voyager/api/identity/profiles/ada-lovelace/profileViewV2"); n != 1 {
			t.Errorf("the overridden path was asked %d times", n)
		}
	})
}
