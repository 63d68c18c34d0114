package api_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
)

// lvLimits reads GET /identities/{uid}/actions/{slug}/limits as key/window ->
// status, checking each element's exact shape.
func lvLimits(t *testing.T, env *apitest.Env, key, uid, slug string) map[string]map[string]any {
	t.Helper()
	r := env.Must(200, "GET", "/v4/identities/"+uid+"/actions/"+slug+"/limits", key, nil)
	out := map[string]map[string]any{}
	for _, x := range r.Arr() {
		m, ok := x.(map[string]any)
		if !ok || len(m) != 6 {
			t.Fatalf("limit status %v: want exactly key, max_limit, consumed, remaining, available_at, window", x)
		}
		for _, f := range []string{"key", "max_limit", "consumed", "remaining", "available_at", "window"} {
			if _, ok := m[f]; !ok {
				t.Fatalf("limit status lacks %s: %v", f, m)
			}
		}
		mx, c, rem := m["max_limit"].(float64), m["consumed"].(float64), m["remaining"].(float64)
		if rem != max(0, mx-c) {
			t.Fatalf("remaining %v with max %v and consumed %v", rem, mx, c)
		}
		if (rem == 0) != (m["available_at"] != nil) {
			t.Fatalf("available_at %v with remaining %v", m["available_at"], rem)
		}
		if at, ok := m["available_at"].(string); ok {
			if _, err := time.Parse(time.RFC3339, at); err != nil {
				t.Fatalf("available_at %q is not RFC 3339", at)
			}
		}
		out[m["key"].(string)+"/"+m["window"].(string)] = m
	}
	return out
}

func lvMax(t *testing.T, st map[string]map[string]any, kw string) int {
	t.Helper()
	m, ok := st[kw]
	if !ok {
		t.Fatalf("no %s window in %v", kw, st)
	}
	return int(m["max_limit"].(float64))
}

func lvConnectBody(uid string, i int) map[string]any {
	return map[string]any{"identity_ids": []string{uid}, "parameters": map[string]any{"message": "Hi"},
		"input": map[string]any{"linkedin_profile_url": fmt.Sprintf("https://www.linkedin.com/in/limits-target-%d", i)}}
}

// TestLiveSmartLimits: the limits report, ramp-up, workspace and identity
// overrides, and LIMIT_REACHED when a window is full.
func TestLiveSmartLimits(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		clk := &lvClock{}
		env := lvStart(t, dialect, func(a *app.App) { a.Engine.Now = clk.Now })
		key := env.NewWorkspace("Limits", "unlimited")
		const slug = "linkedin-connect-profile"

		t.Run("report and ramp-up", func(t *testing.T) {
			uid := lvIdentity(t, env, key, "Ramp classic", "sim_classic")
			st := lvLimits(t, env, key, uid, slug)
			var kws []string
			for kw := range st {
				kws = append(kws, kw)
			}
			sort.Strings(kws)
			if strings.Join(kws, ",") != "connection_requests/24h,connection_requests/7d,profile_enrichments/24h" {
				t.Fatalf("windows %v", kws)
			}
			// Day 1 of a new Classic account: a fifth of 25/day, 100/week, 1,400/day.
			if a, b, c := lvMax(t, st, "connection_requests/24h"), lvMax(t, st, "connection_requests/7d"), lvMax(t, st, "profile_enrichments/24h"); a != 5 || b != 20 || c != 280 {
				t.Fatalf("day 1: %d, %d, %d; want 5, 20, 280", a, b, c)
			}
			// Sales Navigator defaults, still ramped.
			sn := lvIdentity(t, env, key, "Ramp salesnav", "sim_salesnav")
			if m := lvMax(t, lvLimits(t, env, key, sn, slug), "connection_requests/24h"); m != 6 {
				t.Fatalf("sales navigator day 1: %d, want 30/5", m)
			}
			// Reconnecting does not restart the ramp.
			clk.Advance(24 * time.Hour)
			env.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", key,
				map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_classic"}}})
			if m := lvMax(t, lvLimits(t, env, key, uid, slug), "connection_requests/24h"); m != 10 {
				t.Fatalf("day 2 after a reconnect: %d, want 10", m)
			}
			clk.Advance(3 * 24 * time.Hour)
			if m := lvMax(t, lvLimits(t, env, key, uid, slug), "connection_requests/24h"); m != 25 {
				t.Fatalf("day 5: %d, want the full 25", m)
			}
			clk.Advance(-4 * 24 * time.Hour)
			// Unknown identity, unknown action.
			lvErr(t, "limits of an unknown identity", env.Do("GET", "/v4/identities/00000000-0000-4000-8000-000000000000/actions/"+slug+"/limits", key, nil), 404, "NOT_FOUND")
			lvErr(t, "limits of an unknown action", env.Do("GET", "/v4/identities/"+uid+"/actions/no-such-action/limits", key, nil), 404, "NOT_FOUND")
			other := env.NewWorkspace("Limits other", "unlimited")
			lvErr(t, "limits of a foreign identity", env.Do("GET", "/v4/identities/"+uid+"/actions/"+slug+"/limits", other, nil), 404, "NOT_FOUND")
			// Actions that use no account consume no key.
			if r := env.Must(200, "GET", "/v4/identities/"+uid+"/actions/googlemaps-extract-place/limits", key, nil); strings.TrimSpace(string(r.Body)) != "[]" {
				t.Fatalf("googlemaps limits: %s", r.Body)
			}
		})

		t.Run("overrides", func(t *testing.T) {
			ws := env.NewWorkspace("Limits overrides", "unlimited")
			uid := lvIdentity(t, env, ws, "Override classic", "sim_classic")
			env.Must(200, "PUT", "/v4/workspaces/settings", ws, map[string]any{"smart_limit_overrides": apitest.WithoutProtections(map[string]any{"connection_requests": 50})})
			st := lvLimits(t, env, ws, uid, slug)
			if a, b := lvMax(t, st, "connection_requests/24h"), lvMax(t, st, "connection_requests/7d"); a != 10 || b != 20 {
				t.Fatalf("workspace override 50/day: %d, %d; want 10 (ramped), 20", a, b)
			}
			s := env.Must(200, "GET", "/v4/workspaces/settings", ws, nil).Obj()
			if ov, _ := s["smart_limit_overrides"].(map[string]any); ov["connection_requests"] != float64(50) {
				t.Fatalf("settings: %v", s["smart_limit_overrides"])
			}
			// The identity's own override wins over the workspace's.
			r := env.Must(200, "PUT", "/v4/identities/"+uid+"/limits", ws, map[string]any{"connection_requests": map[string]any{"24h": 100, "7d": 300}})
			if r.Obj()["connection_requests"] == nil {
				t.Fatalf("PUT limits echo: %s", r.Body)
			}
			st = lvLimits(t, env, ws, uid, slug)
			if a, b := lvMax(t, st, "connection_requests/24h"), lvMax(t, st, "connection_requests/7d"); a != 20 || b != 60 {
				t.Fatalf("identity override: %d, %d; want 20, 60", a, b)
			}
			// Another identity of the workspace keeps the workspace override.
			other := lvIdentity(t, env, ws, "Override other", "sim_premium")
			if a := lvMax(t, lvLimits(t, env, ws, other, slug), "connection_requests/24h"); a != 10 {
				t.Fatalf("other identity: %d, want 10", a)
			}
			// Bad overrides are refused, and change nothing.
			lvErr(t, "unknown key", env.Do("PUT", "/v4/identities/"+uid+"/limits", ws, map[string]any{"no_such_key": 5}), 400, "BAD_INPUT")
			lvErr(t, "negative", env.Do("PUT", "/v4/identities/"+uid+"/limits", ws, map[string]any{"messages": -1}), 400, "BAD_INPUT")
			lvErr(t, "unknown window", env.Do("PUT", "/v4/identities/"+uid+"/limits", ws, map[string]any{"messages": map[string]any{"1h": 3}}), 400, "BAD_INPUT")
			lvErr(t, "workspace unknown key", env.Do("PUT", "/v4/workspaces/settings", ws,
				map[string]any{"smart_limit_overrides": map[string]any{"connection_requests": 40, "no_such_key": 5}}), 400, "BAD_INPUT")
			if a := lvMax(t, lvLimits(t, env, ws, other, slug), "connection_requests/24h"); a != 10 {
				t.Fatalf("a refused workspace override changed the limits: %d", a)
			}
			lvErr(t, "foreign identity", env.Do("PUT", "/v4/identities/"+uid+"/limits", key, map[string]any{"messages": 3}), 404, "NOT_FOUND")

			// Overrides take effect on calls: 20 today for this identity.
			for i := 0; i < 20; i++ {
				if r := lvLive(env, ws, slug, lvConnectBody(uid, i), ""); r.Status != 200 {
					t.Fatalf("call %d: %d %s", i, r.Status, lvTrunc(r.Body))
				}
			}
			lvErr(t, "call 21", lvLive(env, ws, slug, lvConnectBody(uid, 20), ""), 429, "LIMIT_REACHED")
		})

		t.Run("limit reached", func(t *testing.T) {
			ws := env.NewWorkspace("Limits reached", "unlimited")
			uid := lvIdentity(t, env, ws, "Reached classic", "sim_classic")
			env.Must(200, "PUT", "/v4/identities/"+uid+"/limits", ws, map[string]any{"connection_requests": 5}) // 1 on day 1
			first := lvLive(env, ws, slug, lvConnectBody(uid, 100), "")
			if first.Status != 200 {
				t.Fatalf("first: %d %s", first.Status, lvTrunc(first.Body))
			}
			before := clk.Now()
			r := lvLive(env, ws, slug, lvConnectBody(uid, 101), "")
			p := lvErr(t, "second", r, 429, "LIMIT_REACHED")
			pu, _ := p["postponed_until"].(string)
			at, err := time.Parse(time.RFC3339, pu)
			if err != nil || !at.After(before) || at.After(before.Add(24*time.Hour+time.Minute)) {
				t.Fatalf("postponed_until %q: want RFC 3339 within the next 24 hours (%v)", pu, err)
			}
			if p["limit_key"] != "connection_requests" {
				t.Fatalf("params %v", p)
			}
			lvCheckRun(t, env, ws, r, slug, "FAILED", 0, "LIMIT_REACHED")
			st := lvLimits(t, env, ws, uid, slug)
			cr := st["connection_requests/24h"]
			if cr["remaining"] != float64(0) || cr["consumed"] != float64(1) || cr["available_at"] == nil {
				t.Fatalf("after the refusal: %v", cr)
			}
			// A refused call consumed nothing.
			if st["profile_enrichments/24h"]["consumed"] != float64(1) {
				t.Fatalf("profile_enrichments consumed %v after one success and one refusal", st["profile_enrichments/24h"]["consumed"])
			}
			// Capacity frees up when the window slides past the first call.
			clk.Advance(24*time.Hour + time.Minute)
			if r := lvLive(env, ws, slug, lvConnectBody(uid, 102), ""); r.Status != 200 {
				t.Fatalf("a day later: %d %s", r.Status, lvTrunc(r.Body))
			}
			clk.Advance(-(24*time.Hour + time.Minute))
		})
	})
}

// TestLiveLimitExactUnderConcurrency: 200 parallel live calls against a
// remaining quota of 25 yield exactly 25 successes, the others
// LIMIT_REACHED, with two nodes on one database so that the in-process
// account lock does not serialise them all.
func TestLiveLimitExactUnderConcurrency(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		st := apitest.NewStore(t, dialect)
		long := func(a *app.App) { a.Engine.LockWait = 5 * time.Minute }
		node1 := lvStartOn(t, st, long)
		node2 := lvStartOn(t, st, long)
		key := node1.NewWorkspace("Exact", "unlimited")
		uid := lvIdentity(t, node1, key, "Exact classic", "sim_classic")
		// 125/day and 500/week ramp to 25 and 100 on day 1: 25 remain.
		node1.Must(200, "PUT", "/v4/identities/"+uid+"/limits", key, map[string]any{"connection_requests": map[string]any{"24h": 125, "7d": 500}})
		if m := lvMax(t, lvLimits(t, node2, key, uid, "linkedin-connect-profile"), "connection_requests/24h"); m != 25 {
			t.Fatalf("max %d, want 25", m)
		}
		nodes := []*apitest.Env{node1, node2}
		rs := lvParallel(200, func(i int) apitest.Resp {
			return lvLive(nodes[i%2], key, "linkedin-connect-profile", lvConnectBody(uid, 1000+i), "")
		})
		codes := map[string]int{}
		for _, r := range rs {
			codes[fmt.Sprintf("%d %s", r.Status, r.Label())]++
		}
		if codes["200 "] != 25 || codes["429 LIMIT_REACHED"] != 175 {
			t.Fatalf("200 parallel calls against 25 remaining: %v", codes)
		}
		stt := lvLimits(t, node1, key, uid, "linkedin-connect-profile")
		if c := stt["connection_requests/24h"]["consumed"]; c != float64(25) {
			t.Fatalf("consumed %v", c)
		}
		if c := stt["profile_enrichments/24h"]["consumed"]; c != float64(25) {
			t.Fatalf("profile_enrichments consumed %v: refused calls must consume nothing", c)
		}
		// Every call is a LIVE run; the credits match the successes.
		runs := lvRuns(t, node1, key, "&action_name[]=linkedin-connect-profile")
		byStatus := map[string]int{}
		for _, r := range runs {
			byStatus[r["status"].(string)]++
		}
		if byStatus["SUCCEEDED"] != 25 || byStatus["FAILED"] != 175 {
			t.Fatalf("runs %v", byStatus)
		}
		ws := node2.Must(200, "GET", "/v4/workspaces", key, nil).Obj()
		if ws["credits_used"] != float64(25) {
			t.Fatalf("credits_used %v, want 25", ws["credits_used"])
		}
	})
}
