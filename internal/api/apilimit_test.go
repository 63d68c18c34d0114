package api_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/api"
	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/config"
)

// The API clock is frozen (api.Deps.Now), so every window below is
// deterministic: no test depends on how fast the machine is.

// t0 is the start of a minute.
var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

var minutePlan = config.Plan{Name: "minute", CreditsPerPeriod: 100, Identities: 10, RatePerSecond: 100, RatePerMinute: 5, ConcurrentRuns: 1}

func limitedRoutes(t *testing.T, env *apitest.Env) []*api.Route {
	var out []*api.Route
	for _, rt := range env.App.API.Routes() {
		if rt.Group != "" {
			if rt.Perm == auth.Public {
				t.Errorf("%s is public but has rate-limit group %q: a public route has no workspace to count against", routeName(rt), rt.Group)
			}
			out = append(out, rt)
		}
	}
	if len(out) == 0 {
		t.Fatal("no rate-limited route in the table")
	}
	return out
}

func checkRateHeaders(t *testing.T, what string, r apitest.Resp, limit, remaining int, reset time.Time, group string) {
	t.Helper()
	h := r.Header
	for name, want := range map[string]string{
		"X-RateLimit-Limit":     strconv.Itoa(limit),
		"X-RateLimit-Remaining": strconv.Itoa(remaining),
		"X-RateLimit-Reset":     strconv.FormatInt(reset.Unix(), 10),
		"X-RateLimit-Type":      group,
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q (status %d)", what, name, got, want, r.Status)
		}
	}
}

// TestRateLimitTrial: a trial workspace (1 req/s, 60/min) sees the headers on
// every response of every limited route, and 429 STATUS_429 with
// Retry-After past the limit.
func TestRateLimitTrial(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		clk := newClock(t0)
		env := start(t, apitest.NewStore(t, dialect), startOpts{now: clk.Now, plans: []config.Plan{minutePlan}})
		trial := env.NewWorkspace("Trial", "trial")
		other := env.NewWorkspace("Other trial", "trial")

		// Every limited route, each in a fresh second: allowed, with headers
		// describing the tighter (one-second) window.
		for _, rt := range limitedRoutes(t, env) {
			path := fill(rt.Path, func(name, _ string) string { return "dummy-" + name })
			for i, u := range urlsFor(rt, path) {
				if i > 0 && rt.Method != "GET" {
					continue // /v1 shares the handler; its GETs suffice
				}
				clk.Add(time.Minute)
				now := clk.Now()
				r := env.Do(rt.Method, u, trial, dummyBody(rt.Method, rt.Body != nil))
				what := rt.Method + " " + u
				if r.Status == 429 || r.Status >= 500 {
					t.Errorf("%s: first request of a fresh window: %d %s", what, r.Status, trunc(r.Body))
				}
				checkRateHeaders(t, what, r, 1, 0, now.Add(time.Second), rt.Group)
			}
		}

		// Two requests in one second: the second is refused. (The limiter's
		// windows only move forward, so the clock only moves forward too.)
		clk.Add(time.Hour)
		now := clk.Now()
		r := env.Must(200, "GET", "/v4/workspaces", trial, nil)
		checkRateHeaders(t, "first", r, 1, 0, now.Add(time.Second), "workspace")
		r = env.Do("GET", "/v4/workspaces", trial, nil)
		checkError(t, env, "second request in the same second", r, 429, "STATUS_429")
		checkRateHeaders(t, "second", r, 1, 0, now.Add(time.Second), "workspace")
		if r.Header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After = %q, want 1", r.Header.Get("Retry-After"))
		}
		// Also on a route that would have failed anyway, and on /v1.
		checkError(t, env, "404 route over the limit", env.Do("DELETE", "/v1/members/nope", trial, nil), 429, "STATUS_429")
		// Groups and workspaces count apart.
		env.Must(200, "GET", "/v4/identities", trial, nil)
		env.Must(200, "GET", "/v4/workspaces", other, nil)
		// The next second is a new window.
		clk.Add(time.Second)
		env.Must(200, "GET", "/v4/workspaces", trial, nil)
		clk.Add(999 * time.Millisecond)
		checkError(t, env, "same second, later", env.Do("GET", "/v4/workspaces", trial, nil), 429, "STATUS_429")

		// Many at once in one second: exactly one gets through.
		clk.Add(time.Hour)
		codes, _ := parallel(20, func(int) apitest.Resp { return env.Do("GET", "/v4/members", trial, nil) })
		if c := count(codes); c[200] != 1 || c[429] != 19 {
			t.Errorf("20 parallel requests on 1 req/s: %v, want one 200 and nineteen 429", c)
		}

		// Errors count too, and still carry the headers.
		clk.Add(time.Hour)
		r = env.Do("GET", "/v4/identities/nope", trial, nil)
		checkError(t, env, "unknown identity", r, 404, "NOT_FOUND")
		checkRateHeaders(t, "404", r, 1, 0, clk.Now().Add(time.Second), "identities")
		checkError(t, env, "after a 404", env.Do("GET", "/v4/identities", trial, nil), 429, "STATUS_429")
	})
}

// TestRateLimitMinuteWindow: the per-minute window, on a plan whose
// per-second rate is not the binding one.
func TestRateLimitMinuteWindow(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		clk := newClock(t0.Add(30 * time.Second))
		env := start(t, apitest.NewStore(t, dialect), startOpts{now: clk.Now, plans: []config.Plan{minutePlan}})
		key := env.NewWorkspace("Minute", "minute")
		minuteEnd := t0.Add(time.Minute)
		for i := 1; i <= 5; i++ {
			clk.Add(time.Second)
			r := env.Must(200, "GET", "/v4/workspaces", key, nil)
			checkRateHeaders(t, "request "+strconv.Itoa(i), r, 5, 5-i, minuteEnd, "workspace")
		}
		r := env.Do("GET", "/v4/workspaces", key, nil)
		checkError(t, env, "sixth request in the minute", r, 429, "STATUS_429")
		checkRateHeaders(t, "sixth", r, 5, 0, minuteEnd, "workspace")
		if got, want := r.Header.Get("Retry-After"), strconv.Itoa(int(minuteEnd.Sub(clk.Now())/time.Second)); got != want {
			t.Errorf("Retry-After = %q, want %s (seconds to the end of the minute)", got, want)
		}
		if b := checkError(t, env, "sixth", r, 429, "STATUS_429"); b != nil {
			if p, _ := b["params"].(map[string]any); p["retry_after"] != r.Header.Get("Retry-After") {
				t.Errorf("params.retry_after %v, header %s", p["retry_after"], r.Header.Get("Retry-After"))
			}
		}
		clk.Set(minuteEnd)
		env.Must(200, "GET", "/v4/workspaces", key, nil)
	})
}

// TestRateLimitUnlimited: the unlimited plan is never refused.
func TestRateLimitUnlimited(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		clk := newClock(t0)
		env := start(t, apitest.NewStore(t, dialect), startOpts{now: clk.Now})
		key := env.NewWorkspace("Unlimited", "unlimited")
		for i := 0; i < 150; i++ {
			if r := env.Do("GET", "/v4/workspaces", key, nil); r.Status != 200 {
				t.Fatalf("request %d on the unlimited plan: %d %s", i, r.Status, r.Body)
			}
		}
		codes, _ := parallel(40, func(int) apitest.Resp { return env.Do("GET", "/v4/identities", key, nil) })
		if c := count(codes); c[200] != 40 {
			t.Errorf("parallel requests on the unlimited plan: %v", c)
		}
	})
}

// TestRateLimitAcrossNodes: two App instances on one PostgreSQL schema share
// the workspace's limit.
func TestRateLimitAcrossNodes(t *testing.T) {
	t.Parallel()
	if err := apitest.PostgresAvailable(); err != nil {
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	clk := newClock(t0)
	st := apitest.NewStore(t, "postgres")
	opts := startOpts{now: clk.Now, plans: []config.Plan{minutePlan}}
	node1 := start(t, st, opts)
	node2 := start(t, st, opts)
	if node1.App == node2.App || node1.App.DB == node2.App.DB {
		t.Fatal("the two nodes share an App")
	}
	trial := node1.NewWorkspace("Shared trial", "trial")
	starter := node1.NewWorkspace("Shared starter", "starter") // 5 req/s
	nodes := []*apitest.Env{node1, node2}

	// Alternating nodes within one second: one success in all.
	node1.Must(200, "GET", "/v4/workspaces", trial, nil)
	checkError(t, node2, "node 2, same second", node2.Do("GET", "/v4/workspaces", trial, nil), 429, "STATUS_429")
	clk.Add(time.Second)
	node2.Must(200, "GET", "/v4/workspaces", trial, nil)
	checkError(t, node1, "node 1, same second", node1.Do("GET", "/v4/workspaces", trial, nil), 429, "STATUS_429")

	// Parallel on both nodes within one second: the sum of successes is the limit.
	for round := 0; round < 3; round++ {
		clk.Add(time.Second)
		codes, _ := parallel(30, func(i int) apitest.Resp {
			return nodes[i%2].Do("GET", "/v4/identities", starter, nil)
		})
		if c := count(codes); c[200] != 5 || c[429] != 25 {
			t.Errorf("round %d: 30 parallel requests over two nodes on 5 req/s: %v, want 5×200 and 25×429", round, c)
		}
	}
	// The per-minute window is shared too.
	minute := node1.NewWorkspace("Shared minute", "minute")
	clk.Set(t0.Add(time.Hour))
	for i := 0; i < 5; i++ {
		clk.Add(time.Second)
		nodes[i%2].Must(200, "GET", "/v4/members", minute, nil)
	}
	for _, n := range nodes {
		checkError(t, n, "sixth in the minute", n.Do("GET", "/v4/members", minute, nil), 429, "STATUS_429")
	}
}

func count(codes []int) map[int]int {
	m := map[int]int{}
	for _, c := range codes {
		m[c]++
	}
	return m
}
