package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/engine"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// lvGate wraps the LinkedIn driver: a call whose profile URL holds "/gate-"
// announces itself and blocks until the test releases it, so that calls
// overlap deterministically, without sleeping. It also records, per li_at
// cookie, how many calls ran at once.
type lvGate struct {
	inner platform.Driver

	mu       sync.Mutex
	inflight map[string]int
	peak     map[string]int
	release  map[string]chan struct{}
	ran      map[string]string // gate name -> cookie that ran it
	entered  chan string
}

func newLvGate(inner platform.Driver) *lvGate {
	return &lvGate{inner: inner, inflight: map[string]int{}, peak: map[string]int{}, release: map[string]chan struct{}{},
		ran: map[string]string{}, entered: make(chan string, 64)}
}

func (g *lvGate) Me(ctx context.Context, hc *http.Client, cred platform.Credentials) (platform.Account, error) {
	return g.inner.Me(ctx, hc, cred)
}

func (g *lvGate) ch(name string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.release[name]
	if !ok {
		c = make(chan struct{})
		g.release[name] = c
	}
	return c
}

func (g *lvGate) Run(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error) {
	cookie := cred.Cookies["li_at"]
	g.mu.Lock()
	g.inflight[cookie]++
	g.peak[cookie] = max(g.peak[cookie], g.inflight[cookie])
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inflight[cookie]--
		g.mu.Unlock()
	}()
	if u, _ := call.Input["linkedin_profile_url"].(string); strings.Contains(u, "/gate-") {
		name := u[strings.Index(u, "/gate-")+len("/gate-"):]
		g.mu.Lock()
		g.ran[name] = cookie
		g.mu.Unlock()
		g.entered <- name
		select {
		case <-g.ch(name):
		case <-ctx.Done():
			return platform.Page{}, ctx.Err()
		}
	}
	return g.inner.Run(ctx, hc, cred, call)
}

// Open releases a gated call.
func (g *lvGate) Open(name string) { close(g.ch(name)) }

// Wait blocks until the named gated call holds its account.
func (g *lvGate) Wait(t *testing.T, name string) {
	t.Helper()
	select {
	case got := <-g.entered:
		if got != name {
			t.Fatalf("gated call %s entered, expected %s", got, name)
		}
	case <-time.After(time.Minute):
		t.Fatalf("gated call %s never reached the platform", name)
	}
}

func (g *lvGate) Ran(name string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ran[name]
}

func (g *lvGate) Peak(cookie string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.peak[cookie]
}

// lvGated starts an env whose LinkedIn driver is gated.
func lvGated(t *testing.T, dialect string, lockWait time.Duration) (*apitest.Env, *lvGate) {
	var g *lvGate
	env := lvStart(t, dialect, func(a *app.App) {
		a.Plane.Wrap("linkedin", func(d platform.Driver) platform.Driver { g = newLvGate(d); return g })
		a.Engine.LockWait = lockWait
	})
	return env, g
}

func lvGatedBody(name string, mode string, ids ...string) map[string]any {
	b := map[string]any{"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/gate-" + name}}
	if mode != "" {
		b["identity_mode"] = mode
	}
	if ids != nil {
		b["identity_ids"] = ids
	}
	return b
}

// lvConsumed reads one key's consumption from GET .../limits.
func lvConsumed(t *testing.T, env *apitest.Env, key, uid, slug, limitKey string) (consumed, max int) {
	t.Helper()
	for _, x := range env.Must(200, "GET", "/v4/identities/"+uid+"/actions/"+slug+"/limits", key, nil).Arr() {
		m := x.(map[string]any)
		if m["key"] == limitKey && m["window"] == "24h" {
			return int(m["consumed"].(float64)), int(m["max_limit"].(float64))
		}
	}
	t.Fatalf("no %s window for %s", limitKey, slug)
	return 0, 0
}

// TestLiveIdentityModes covers direct, auto and managed resolution: unknown
// and foreign uids, identities without a valid account, auto's ranking by
// remaining Smart Limit capacity, and busy accounts.
func TestLiveIdentityModes(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env, gate := lvGated(t, dialect, time.Minute)
		key := env.NewWorkspace("Modes", "unlimited")
		other := env.NewWorkspace("Modes other", "unlimited")
		classic := lvIdentity(t, env, key, "Modes classic", "sim_classic")
		premium := lvIdentity(t, env, key, "Modes premium", "sim_premium")
		foreign := lvIdentity(t, env, other, "Modes foreign", "sim_salesnav")
		search := func(extra map[string]any) map[string]any {
			b := map[string]any{"input": map[string]any{"linkedin_people_search_url": "https://www.linkedin.com/search/results/people/?keywords=engineer"}}
			for k, v := range extra {
				b[k] = v
			}
			return b
		}

		t.Run("unknown and foreign uids", func(t *testing.T) {
			for _, c := range []struct {
				what string
				body map[string]any
			}{
				{"unknown uid", search(map[string]any{"identity_ids": []string{"00000000-0000-4000-8000-000000000000"}})},
				{"foreign uid", search(map[string]any{"identity_ids": []string{foreign}})},
				{"foreign among own", search(map[string]any{"identity_ids": []string{classic, foreign}})},
				{"foreign in auto", search(map[string]any{"identity_mode": "auto", "identity_ids": []string{foreign}})},
			} {
				r := lvLive(env, key, "linkedin-search-people", c.body, "")
				lvErr(t, c.what, r, 404, "NOT_FOUND")
				if strings.Contains(string(r.Body), "Modes other") || strings.Contains(string(r.Body), "salesnav") {
					t.Fatalf("%s: the 404 reveals the other workspace: %s", c.what, r.Body)
				}
			}
			// The foreign identity's own workspace may use it.
			if r := lvLive(env, other, "linkedin-search-people", search(map[string]any{"identity_ids": []string{foreign}}), ""); r.Status != 200 {
				t.Fatalf("own identity: %d %s", r.Status, lvTrunc(r.Body))
			}
			lvErr(t, "direct without identity_ids", lvLive(env, key, "linkedin-search-people", search(nil), ""), 400, "BAD_INPUT")
		})

		t.Run("no valid integration", func(t *testing.T) {
			bare := lvIdentity(t, env, key, "Modes bare", "")
			r := lvLive(env, key, "linkedin-search-people", search(map[string]any{"identity_ids": []string{bare}}), "")
			lvErr(t, "identity without integration", r, 424, "NO_VALID_ACCOUNT_CONFIGURED")
			lvCheckRun(t, env, key, r, "linkedin-search-people", "FAILED", 0, "NO_VALID_ACCOUNT_CONFIGURED")
			// A cookie the platform refuses leaves the integration INVALID.
			bad := lvIdentity(t, env, key, "Modes bogus", "")
			g := env.Must(200, "POST", "/v4/identities/"+bad+"/integrations/linkedin", key,
				map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "not-a-session"}}}).Obj()
			if g["status"] != "INVALID" {
				t.Fatalf("bogus cookie: %v", g)
			}
			r = lvLive(env, key, "linkedin-search-people", search(map[string]any{"identity_ids": []string{bad}}), "")
			lvErr(t, "identity with an INVALID integration", r, 424, "NO_VALID_ACCOUNT_CONFIGURED")
			// Auto mode in a workspace without any valid account.
			empty := env.NewWorkspace("Modes empty", "unlimited")
			lvIdentity(t, env, empty, "Modes empty bare", "")
			lvErr(t, "auto without accounts", lvLive(env, empty, "linkedin-search-people", search(map[string]any{"identity_mode": "auto"}), ""),
				424, "NO_VALID_ACCOUNT_CONFIGURED")
			// A Sales Navigator action with only a Classic account.
			lvErr(t, "sales navigator on classic", lvLive(env, key, "salesnavigator-search-people", map[string]any{
				"input":        map[string]any{"sales_navigator_profile_search_url": "https://www.linkedin.com/sales/search/people?query=(keywords%3Acto)"},
				"identity_ids": []string{classic}}, ""), 424, "SN_ACCOUNT_UPGRADE")
		})

		t.Run("auto ranks by remaining capacity", func(t *testing.T) {
			const slug = "linkedin-search-people"
			for i := 0; i < 3; i++ {
				if r := lvLive(env, key, slug, search(map[string]any{"identity_ids": []string{classic}}), ""); r.Status != 200 {
					t.Fatalf("direct: %d %s", r.Status, lvTrunc(r.Body))
				}
			}
			c0, _ := lvConsumed(t, env, key, classic, slug, "search_pages")
			p0, _ := lvConsumed(t, env, key, premium, slug, "search_pages")
			for i := 0; i < 3; i++ {
				if r := lvLive(env, key, slug, search(map[string]any{"identity_mode": "auto"}), ""); r.Status != 200 {
					t.Fatalf("auto: %d %s", r.Status, lvTrunc(r.Body))
				}
			}
			c1, _ := lvConsumed(t, env, key, classic, slug, "search_pages")
			p1, _ := lvConsumed(t, env, key, premium, slug, "search_pages")
			if c1 != c0 || p1 != p0+3 {
				t.Fatalf("auto after 3 direct calls on classic: classic %d->%d, premium %d->%d; want the 3 auto calls on premium",
					c0, c1, p0, p1)
			}
			// Restricted to the listed identities in auto mode.
			if r := lvLive(env, key, slug, search(map[string]any{"identity_mode": "auto", "identity_ids": []string{classic}}), ""); r.Status != 200 {
				t.Fatalf("auto with ids: %d", r.Status)
			}
			if c2, _ := lvConsumed(t, env, key, classic, slug, "search_pages"); c2 != c1+1 {
				t.Fatalf("auto restricted to classic ran elsewhere: %d -> %d", c1, c2)
			}
		})

		t.Run("busy account", func(t *testing.T) {
			ws := env.NewWorkspace("Modes busy", "unlimited")
			x := lvIdentity(t, env, ws, "Busy classic", "sim_classic")
			y := lvIdentity(t, env, ws, "Busy premium", "sim_premium")
			type res struct {
				name string
				r    apitest.Resp
			}
			done := make(chan res, 8)
			call := func(name string, body map[string]any) {
				go func() { done <- res{name, lvLive(env, ws, "linkedin-extract-people", body, "")} }()
			}
			await := func(name string) apitest.Resp {
				t.Helper()
				select {
				case got := <-done:
					if got.name != name {
						t.Fatalf("%s finished before %s", got.name, name)
					}
					return got.r
				case <-time.After(2 * time.Minute):
					t.Fatalf("%s never finished", name)
				}
				return apitest.Resp{}
			}

			// Direct: the second call on a busy account waits for it, then runs.
			call("a1", lvGatedBody("a1", "direct", x))
			gate.Wait(t, "a1")
			call("b1", lvGatedBody("b1", "direct", x))
			time.Sleep(50 * time.Millisecond) // let b1 queue behind a1 (the outcome does not depend on it)
			gate.Open("a1")
			if r := await("a1"); r.Status != 200 {
				t.Fatalf("a1: %d %s", r.Status, lvTrunc(r.Body))
			}
			gate.Wait(t, "b1")
			gate.Open("b1")
			if r := await("b1"); r.Status != 200 {
				t.Fatalf("b1: %d %s", r.Status, lvTrunc(r.Body))
			}
			if gate.Ran("b1") != "sim_classic" {
				t.Fatalf("b1 ran on %s", gate.Ran("b1"))
			}

			// Auto: while one account is busy, the next call takes the other.
			call("a2", lvGatedBody("a2", "auto", nil...))
			gate.Wait(t, "a2")
			call("b2", lvGatedBody("b2", "auto", nil...))
			gate.Wait(t, "b2")
			if a, b := gate.Ran("a2"), gate.Ran("b2"); a == b || a == "" || b == "" {
				t.Fatalf("two concurrent auto calls ran on %q and %q", a, b)
			}
			gate.Open("b2")
			if r := await("b2"); r.Status != 200 {
				t.Fatalf("b2: %d %s", r.Status, lvTrunc(r.Body))
			}
			gate.Open("a2")
			if r := await("a2"); r.Status != 200 {
				t.Fatalf("a2: %d", r.Status)
			}

			// Auto with every account busy: the call waits, and takes whichever
			// account frees up first, even if it is not its first choice. Use
			// premium more, so that classic ranks first.
			for i := 0; i < 4; i++ {
				r := lvLive(env, ws, "linkedin-extract-people", map[string]any{"identity_ids": []string{y},
					"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/someone-" + string(rune('a'+i))}}, "")
				if r.Status != 200 {
					t.Fatalf("warm-up on premium: %d %s", r.Status, lvTrunc(r.Body))
				}
			}
			call("a3", lvGatedBody("a3", "direct", x))
			gate.Wait(t, "a3")
			call("a4", lvGatedBody("a4", "direct", y))
			gate.Wait(t, "a4")
			call("b3", lvGatedBody("b3", "auto", nil...))
			time.Sleep(50 * time.Millisecond) // let b3 start waiting (the outcome does not depend on it)
			gate.Open("a4")                   // premium frees up; classic stays busy
			if r := await("a4"); r.Status != 200 {
				t.Fatalf("a4: %d", r.Status)
			}
			gate.Wait(t, "b3")
			if gate.Ran("b3") != "sim_premium" {
				t.Fatalf("b3 ran on %s, want the account that freed up", gate.Ran("b3"))
			}
			gate.Open("b3")
			if r := await("b3"); r.Status != 200 {
				t.Fatalf("b3: %d %s", r.Status, lvTrunc(r.Body))
			}
			gate.Open("a3")
			if r := await("a3"); r.Status != 200 {
				t.Fatalf("a3: %d", r.Status)
			}
			for _, c := range []string{"sim_classic", "sim_premium"} {
				if p := gate.Peak(c); p != 1 {
					t.Fatalf("%d calls ran at once on %s; one at a time per account", p, c)
				}
			}
		})
	})
}

// TestLiveBusyAccountGivesUp: a call that cannot get a busy account within
// the lock wait answers 429 STATUS_429 (reason account_busy), and the run is
// recorded as FAILED.
func TestLiveBusyAccountGivesUp(t *testing.T) {
	env, gate := lvGated(t, "sqlite", 200*time.Millisecond)
	key := env.NewWorkspace("Busy", "unlimited")
	x := lvIdentity(t, env, key, "Busy one", "sim_classic")
	done := make(chan apitest.Resp, 1)
	go func() { done <- lvLive(env, key, "linkedin-extract-people", lvGatedBody("hold", "direct", x), "") }()
	gate.Wait(t, "hold")
	r := lvLive(env, key, "linkedin-extract-people", lvGatedBody("second", "direct", x), "")
	gate.Open("hold")
	p := lvErr(t, "second call on a busy account", r, 429, "STATUS_429")
	if p["reason"] != "account_busy" {
		t.Fatalf("params %v", p)
	}
	lvCheckRun(t, env, key, r, "linkedin-extract-people", "FAILED", 0, "STATUS_429")
	if first := <-done; first.Status != 200 {
		t.Fatalf("the holder: %d", first.Status)
	}
	if gate.Ran("second") != "" {
		t.Fatal("the refused call reached the platform")
	}
}

// TestLiveSlotWaitEnds: a live call whose time runs out while it waits for
// a slot of the node's in-flight budget answers the contract's 429
// STATUS_429 (a retry is the right move: the server was short, the request
// was fine), never a 500, and loses nothing: the run is recorded FAILED
// with that label, the Smart Limit it took is given back, nothing is
// charged, and the account is free for the next call.
func TestLiveSlotWaitEnds(t *testing.T) {
	for _, dialect := range apitest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			env := lvStart(t, dialect, func(a *app.App) {
				a.Engine.Budget = engine.NewBudget(1, 0)
				a.Engine.LiveTimeout = 300 * time.Millisecond
			})
			key := env.NewWorkspace("Slots", "unlimited")
			x := lvIdentity(t, env, key, "Slot waiter", "sim_classic")
			usedBefore, _, _ := lvCredits(t, env, key)
			// The one slot is held, as by a call to a slow platform.
			hold, err := env.App.Engine.Budget.Acquire(context.Background(), engine.Class{Live: true})
			if err != nil {
				t.Fatal(err)
			}
			r := lvLive(env, key, "linkedin-extract-people", lvPeopleBody(x, "ada-lovelace"), "")
			p := lvErr(t, "live call that never got a slot", r, 429, "STATUS_429")
			if p["reason"] != "inflight_full" || r.Header.Get("Retry-After") == "" {
				t.Fatalf("params %v, Retry-After %q", p, r.Header.Get("Retry-After"))
			}
			lvCheckRun(t, env, key, r, "linkedin-extract-people", "FAILED", 0, "STATUS_429")
			if c, _ := lvConsumed(t, env, key, x, "linkedin-extract-people", "profile_visits"); c != 0 {
				t.Fatalf("profile_visits consumed by a call that never reached the platform: %d", c)
			}
			if used, _, _ := lvCredits(t, env, key); used != usedBefore {
				t.Fatalf("credits used %v, want %v", used, usedBefore)
			}
			hold()
			env.App.Engine.LiveTimeout = 0
			if r := lvLive(env, key, "linkedin-extract-people", lvPeopleBody(x, "ada-lovelace"), ""); r.Status != 200 {
				t.Fatalf("the next call once the slot is free: %d %s", r.Status, lvTrunc(r.Body))
			}
			if c, _ := lvConsumed(t, env, key, x, "linkedin-extract-people", "profile_visits"); c != 1 {
				t.Fatalf("profile_visits after one call: %d", c)
			}
		})
	}
}
