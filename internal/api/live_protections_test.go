package api_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
)

// lpClock is a clock the test sets: working hours depend on the weekday
// and hour, so the engine's clock must not be the machine's.
type lpClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *lpClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// TestLiveProtections: with the product's defaults, a live outreach call
// is not held to working hours (it is explicit and immediate) but is
// spaced from the account's previous outreach by the random 30-120 s gap:
// 429 LIMIT_REACHED with params.postponed_until, until then. GET
// .../limits shows both protections, and an identity can turn the gap off.
// Search results count against their own daily cap.
func TestLiveProtections(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		// A Saturday afternoon in Paris (the identity's default zone), outside
		// the default working hours, and Monday 08:00 there. Ahead of the
		// machine's clock, so that the hourly pruning of old Smart Limit
		// events never finds these.
		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			t.Fatal(err)
		}
		y, m, d := time.Now().In(paris).Date()
		saturday := time.Date(y, m, d+1, 13, 0, 0, 0, paris)
		for saturday.Weekday() != time.Saturday {
			saturday = saturday.AddDate(0, 0, 1)
		}
		monday := time.Date(saturday.Year(), saturday.Month(), saturday.Day()+2, 8, 0, 0, 0, paris).UTC()
		clk := &lpClock{t: saturday}
		env := lvStart(t, dialect, func(a *app.App) { a.Engine.Now = clk.Now })
		key := env.NewWorkspaceWithDefaults("Protections", "unlimited")
		uid := lvIdentity(t, env, key, "Protected classic", "sim_classic")
		const slug = "linkedin-connect-profile"

		// 20 concurrent outreach calls on the account, outside working hours:
		// one goes, the others wait for the end of the pause it drew.
		rs := lvParallel(20, func(i int) apitest.Resp { return lvLive(env, key, slug, lvConnectBody(uid, i), "") })
		var ok int
		var untils []string
		for _, r := range rs {
			if r.Status == 200 {
				ok++
				continue
			}
			p := lvErr(t, "a concurrent outreach call", r, 429, "LIMIT_REACHED")
			if p["limit_key"] != "outreach_gap" {
				t.Fatalf("params %v: want outreach_gap", p)
			}
			untils = append(untils, p["postponed_until"].(string))
		}
		if ok != 1 || len(untils) != 19 {
			t.Fatalf("20 concurrent outreach calls: %d went, want 1", ok)
		}
		until, err := time.Parse(time.RFC3339, untils[0])
		if err != nil || until.Before(saturday.Add(30*time.Second)) || until.After(saturday.Add(121*time.Second)) {
			t.Fatalf("postponed_until %v: want 30 to 120 s later", untils[0])
		}
		for _, u := range untils {
			if u != untils[0] {
				t.Fatalf("postponed_until %v: want the one pause's end", untils)
			}
		}
		st := lvLimits(t, env, key, uid, slug)
		gap, hours := st["outreach_gap/30s-120s"], st["working_hours/mon,tue,wed,thu,fri 08:00-20:00 Europe/Paris"]
		if gap == nil || hours == nil {
			t.Fatalf("limits %v: want outreach_gap and working_hours", st)
		}
		if at, _ := time.Parse(time.RFC3339, gap["available_at"].(string)); gap["remaining"] != float64(0) ||
			at.After(until) || at.Before(until.Add(-time.Second)) {
			t.Fatalf("outreach_gap %v, postponed_until %s", gap, until)
		}
		if hours["remaining"] != float64(0) || hours["available_at"] != monday.Format(time.RFC3339) {
			// available_at is RFC 3339 in UTC.
			t.Fatalf("working_hours on Saturday %v, want closed until %s", hours, monday.Format(time.RFC3339))
		}
		// Extraction is not spaced.
		if st := lvLimits(t, env, key, uid, "linkedin-extract-people"); st["outreach_gap/30s-120s"] != nil ||
			st["working_hours/mon,tue,wed,thu,fri 08:00-20:00 Europe/Paris"] != nil {
			t.Fatalf("extraction limits %v: no protection applies to it by default", st)
		}
		for i := 0; i < 2; i++ {
			if r := lvLive(env, key, "linkedin-extract-people", lvPeopleBody(uid, "prot-"+string(rune('a'+i))), ""); r.Status != 200 {
				t.Fatalf("extraction during the gap: %d %s", r.Status, lvTrunc(r.Body))
			}
		}
		clk.Set(until)
		if r := lvLive(env, key, slug, lvConnectBody(uid, 20), ""); r.Status != 200 {
			t.Fatalf("at postponed_until: %d %s", r.Status, lvTrunc(r.Body))
		}
		clk.Set(monday)
		if st := lvLimits(t, env, key, uid, slug); st["working_hours/mon,tue,wed,thu,fri 08:00-20:00 Europe/Paris"]["remaining"] != float64(1) {
			t.Fatalf("working hours at Monday's opening: %v", st)
		}

		// The identity turns its gap off: back-to-back outreach goes.
		env.Must(200, "PUT", "/v4/identities/"+uid+"/limits", key, map[string]any{"outreach_gap": map[string]any{"min_seconds": 0, "max_seconds": 0}})
		for i := 30; i < 33; i++ {
			if r := lvLive(env, key, slug, lvConnectBody(uid, i), ""); r.Status != 200 {
				t.Fatalf("with the gap off, call %d: %d %s", i, r.Status, lvTrunc(r.Body))
			}
		}

		// Search results: 1,000 a day, a fifth on day 1 of a new account (the
		// machine's clock: the account connected just now).
		clk.Set(time.Now())
		r := lvLive(env, key, "linkedin-search-people", lvSearchBody(uid, "", "engineer"), "")
		if r.Status != 200 {
			t.Fatalf("search: %d %s", r.Status, lvTrunc(r.Body))
		}
		sr := lvLimits(t, env, key, uid, "linkedin-search-people")["search_results/24h"]
		if sr == nil || sr["max_limit"] != float64(200) || sr["consumed"] != float64(len(r.Arr())) || len(r.Arr()) == 0 {
			t.Fatalf("search_results after a page of %d: %v", len(r.Arr()), sr)
		}
	})
}

// TestProtectionSettingsValidation: the overrides object takes
// working_hours and outreach_gap besides the counted keys, per workspace and
// per identity, and refuses what it cannot use with a 400 that says what is
// wrong, changing nothing. An override of a window the key does not have
// (the audit's finding: accepted and ignored) is one of them.
func TestProtectionSettingsValidation(t *testing.T) {
	env := lvStart(t, "sqlite", nil)
	key := env.NewWorkspace("Protection settings", "unlimited")
	uid := lvIdentity(t, env, key, "Settings classic", "sim_classic")
	good := map[string]any{"search_results": 500, "working_hours": map[string]any{"enabled": true, "start": "09:00", "end": "18:30",
		"days": []any{"mon", "wed"}, "outreach_only": false}, "outreach_gap": map[string]any{"min_seconds": 60, "max_seconds": 300}}
	env.Must(200, "PUT", "/v4/workspaces/settings", key, map[string]any{"smart_limit_overrides": good})
	env.Must(200, "PUT", "/v4/identities/"+uid+"/limits", key, good)
	st := lvLimits(t, env, key, uid, "linkedin-extract-people")
	if st["working_hours/mon,wed 09:00-18:30 Europe/Paris"] == nil {
		t.Fatalf("limits of an extraction with outreach_only false: %v", st)
	}
	for _, c := range []struct {
		body any
		want string
	}{
		{map[string]any{"profile_visits": map[string]any{"7d": 100}}, "profile_visits has no 7d window (its windows: 24h)"},
		{map[string]any{"inmails": map[string]any{"24h": 3}}, "inmails has no 24h window (its windows: 30d)"},
		{map[string]any{"working_hours": map[string]any{"start": "20:00", "end": "08:00"}}, "must be before end"},
		{map[string]any{"working_hours": map[string]any{"days": []any{"someday"}}}, `unknown day "someday"`},
		{map[string]any{"outreach_gap": map[string]any{"min_seconds": 120, "max_seconds": 30}}, "more than max_seconds"},
		{map[string]any{"outreach_gap": map[string]any{"min_seconds": 30}}, "together"},
	} {
		r := env.Do("PUT", "/v4/identities/"+uid+"/limits", key, c.body)
		if r.Status != 400 || r.Label() != "BAD_INPUT" || !strings.Contains(r.Obj()["message"].(string), c.want) {
			t.Errorf("PUT limits %v: %d %s, want 400 saying %q", c.body, r.Status, r.Body, c.want)
		}
		r = env.Do("PUT", "/v4/workspaces/settings", key, map[string]any{"smart_limit_overrides": c.body})
		if r.Status != 400 || r.Label() != "BAD_INPUT" || !strings.Contains(r.Obj()["message"].(string), c.want) {
			t.Errorf("PUT settings %v: %d %s, want 400 saying %q", c.body, r.Status, r.Body, c.want)
		}
	}
	if st := lvLimits(t, env, key, uid, "linkedin-extract-people"); st["working_hours/mon,wed 09:00-18:30 Europe/Paris"] == nil {
		t.Fatalf("a refused override changed the limits: %v", st)
	}
}
