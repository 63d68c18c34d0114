package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/config"
)

// lvPlans adds small credit plans (no API rate limit) before the server starts.
func lvPlans(a *app.App) {
	for _, n := range []int64{3, 95, 100} {
		name := fmt.Sprintf("lv-credits-%d", n)
		a.Plans[name] = config.Plan{Name: name, CreditsPerPeriod: n, Identities: 100, ConcurrentRuns: 1}
	}
	a.Engine.LockWait = 5 * time.Minute
}

// lvCredits reads GET /workspaces: used, left, max.
func lvCredits(t *testing.T, env *apitest.Env, key string) (used, left, max float64) {
	t.Helper()
	w := env.Must(200, "GET", "/v4/workspaces", key, nil).Obj()
	used, _ = w["credits_used"].(float64)
	left, _ = w["credits_left"].(float64)
	max, _ = w["credits_max"].(float64)
	if used+left != max {
		t.Fatalf("credits: used %v + left %v != max %v", used, left, max)
	}
	if left < 0 {
		t.Fatalf("negative balance: %v", left)
	}
	return
}

// lvConsumption reads GET /workspaces/consumption by action.
func lvConsumption(t *testing.T, env *apitest.Env, key string) map[string]map[string]any {
	t.Helper()
	c := env.Must(200, "GET", "/v4/workspaces/consumption", key, nil).Obj()
	for _, f := range []string{"credits_left", "credits_max", "credits_used", "current_month_start", "current_month_end", "consumptions"} {
		if _, ok := c[f]; !ok {
			t.Fatalf("consumption lacks %s: %v", f, c)
		}
	}
	out := map[string]map[string]any{}
	for _, x := range c["consumptions"].([]any) {
		m := x.(map[string]any)
		out[m["action_slug"].(string)] = m
	}
	return out
}

func lvSearchBody(uid, mode, keywords string) map[string]any {
	b := map[string]any{"input": map[string]any{"linkedin_people_search_url": "https://www.linkedin.com/search/results/people/?keywords=" + keywords}}
	if uid != "" {
		b["identity_ids"] = []string{uid}
	}
	if mode != "" {
		b["identity_mode"] = mode
	}
	return b
}

// TestLiveCredits: ratio x results, managed 1.5x, free empty calls, the
// workspace and consumption reports, 402 when empty, and never more results
// than the balance pays for, also under concurrency.
func TestLiveCredits(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := lvStart(t, dialect, lvPlans)

		t.Run("ledger", func(t *testing.T) {
			key := env.NewWorkspace("Credits", "unlimited")
			env.Must(200, "PUT", "/v4/workspaces/settings", key, map[string]any{"smart_limit_overrides": apitest.WithoutProtections(map[string]any{"search_pages": 1000, "search_results": 100000})})
			uid := lvIdentity(t, env, key, "Credits classic", "sim_classic")
			u0, _, _ := lvCredits(t, env, key)
			if u0 != 0 {
				t.Fatalf("a new workspace has used %v", u0)
			}
			// 1 credit a result.
			r := lvLive(env, key, "linkedin-search-people", lvSearchBody(uid, "", "engineer"), "")
			n := len(r.Arr())
			if r.Status != 200 || n != 10 {
				t.Fatalf("search: %d, %d results", r.Status, n)
			}
			if u, _, _ := lvCredits(t, env, key); u != 10 {
				t.Fatalf("after 10 results: used %v", u)
			}
			// 2 credits for a contact.
			r = lvLive(env, key, "linkedin-extract-contact", map[string]any{"identity_ids": []string{uid},
				"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/someone-1"}}, "")
			if r.Status != 200 {
				t.Fatalf("contact: %d %s", r.Status, lvTrunc(r.Body))
			}
			if u, _, _ := lvCredits(t, env, key); u != 12 {
				t.Fatalf("after a contact: used %v, want 12", u)
			}
			// linkedin-me is free.
			if r := lvLive(env, key, "linkedin-me", map[string]any{"identity_ids": []string{uid}}, ""); r.Status != 200 {
				t.Fatalf("me: %d", r.Status)
			}
			// Managed: 1.5 credits a result, with no identity of the workspace's own.
			r = lvLive(env, key, "linkedin-search-people", lvSearchBody("", "managed", "designer"), "")
			if r.Status != 200 || len(r.Arr()) != 10 {
				t.Fatalf("managed search: %d %s", r.Status, lvTrunc(r.Body))
			}
			if u, _, _ := lvCredits(t, env, key); u != 27 {
				t.Fatalf("after a managed page of 10: used %v, want 12+15", u)
			}
			// Actions without an account ignore identities: managed costs 1x there.
			r = lvLive(env, key, "thefork-extract-reviews", map[string]any{"identity_mode": "managed",
				"input": map[string]any{"thefork_reviews_url": "https://www.thefork.com/restaurant/le-petit-r12345"}}, "")
			tf := len(r.Arr())
			if r.Status != 200 || tf == 0 {
				t.Fatalf("thefork: %d %s", r.Status, lvTrunc(r.Body))
			}
			if u, _, _ := lvCredits(t, env, key); u != 27+float64(tf) {
				t.Fatalf("after %d thefork reviews in managed mode: used %v, want %v", tf, u, 27+tf)
			}
			// No results, no charge.
			r = lvLive(env, key, "linkedin-extract-connections", map[string]any{"identity_ids": []string{uid}}, "page=500")
			if r.Status != 200 || len(r.Arr()) != 0 {
				t.Fatalf("past the end: %d %s", r.Status, lvTrunc(r.Body))
			}
			lvCheckRun(t, env, key, r, "linkedin-extract-connections", "SUCCEEDED", 0, "")
			used, left, mx := lvCredits(t, env, key)
			if used != 27+float64(tf) || mx != 1e9 || left != mx-used {
				t.Fatalf("after an empty page: used %v left %v max %v", used, left, mx)
			}
			// The breakdown by action.
			c := lvConsumption(t, env, key)
			want := map[string][3]float64{ // credits, runs, results
				"linkedin-search-people":   {25, 2, 20},
				"linkedin-extract-contact": {2, 1, 1},
				"thefork-extract-reviews":  {float64(tf), 1, float64(tf)},
			}
			for slug, w := range want {
				m := c[slug]
				if m == nil || m["credits_used"] != w[0] || m["runs"] != w[1] || m["results"] != w[2] {
					t.Fatalf("consumption of %s: %v, want credits %v runs %v results %v", slug, m, w[0], w[1], w[2])
				}
			}
			if m := c["linkedin-me"]; m != nil && m["credits_used"] != float64(0) {
				t.Fatalf("linkedin-me cost %v", m["credits_used"])
			}
			if c["linkedin-extract-connections"] != nil {
				t.Fatalf("an empty call shows in the consumption: %v", c["linkedin-extract-connections"])
			}
			var sum float64
			for _, m := range c {
				sum += m["credits_used"].(float64)
			}
			if sum != used {
				t.Fatalf("consumption sums to %v, the workspace used %v", sum, used)
			}
		})

		t.Run("empty balance", func(t *testing.T) {
			key := env.NewWorkspace("Credits tiny", "lv-credits-3")
			uid := lvIdentity(t, env, key, "Tiny classic", "sim_classic")
			// 3 credits, a page of 10: 3 results.
			r := lvLive(env, key, "linkedin-search-people", lvSearchBody(uid, "", "engineer"), "")
			if r.Status != 200 || len(r.Arr()) != 3 {
				t.Fatalf("3 credits, page of 10: %d, %d results", r.Status, len(r.Arr()))
			}
			lvCheckBody(t, lvAction(t, "linkedin-search-people"), r)
			lvCheckRun(t, env, key, r, "linkedin-search-people", "SUCCEEDED", 3, "")
			if used, left, _ := lvCredits(t, env, key); used != 3 || left != 0 {
				t.Fatalf("used %v left %v", used, left)
			}
			// Nothing left: 402 for list and object actions; free actions still run.
			r = lvLive(env, key, "linkedin-search-people", lvSearchBody(uid, "", "engineer"), "page=2")
			lvErr(t, "list with no credits", r, 402, "NO_ACCESS")
			lvCheckRun(t, env, key, r, "linkedin-search-people", "FAILED", 0, "NO_ACCESS")
			lvErr(t, "object with no credits", lvLive(env, key, "linkedin-extract-people", map[string]any{"identity_ids": []string{uid},
				"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/someone-2"}}, ""), 402, "NO_ACCESS")
			lvErr(t, "no-account action with no credits", lvLive(env, key, "googlemaps-extract-place", map[string]any{
				"input": map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+Lumiere/"}}, ""), 402, "NO_ACCESS")
			if r := lvLive(env, key, "linkedin-me", map[string]any{"identity_ids": []string{uid}}, ""); r.Status != 200 {
				t.Fatalf("linkedin-me with no credits: %d %s", r.Status, lvTrunc(r.Body))
			}
			if used, left, _ := lvCredits(t, env, key); used != 3 || left != 0 {
				t.Fatalf("after refusals: used %v left %v", used, left)
			}
			// Managed at 1.5: 3 credits pay for 2 results.
			key2 := env.NewWorkspace("Credits tiny managed", "lv-credits-3")
			r = lvLive(env, key2, "linkedin-search-people", lvSearchBody("", "managed", "engineer"), "")
			if r.Status != 200 || len(r.Arr()) != 2 {
				t.Fatalf("managed with 3 credits: %d, %d results", r.Status, len(r.Arr()))
			}
			if used, left, _ := lvCredits(t, env, key2); used != 3 || left != 0 {
				t.Fatalf("managed: used %v left %v", used, left)
			}
		})

		t.Run("concurrent", func(t *testing.T) {
			for _, c := range []struct {
				plan  string
				mode  string
				price float64
			}{{"lv-credits-95", "direct", 1}, {"lv-credits-100", "managed", 1.5}} {
				key := env.NewWorkspace("Credits concurrent "+c.mode, c.plan)
				var uids []string
				if c.mode == "direct" {
					for _, ck := range []string{"sim_classic", "sim_premium", "sim_salesnav"} {
						uids = append(uids, lvIdentity(t, env, key, "Concurrent "+ck, ck))
					}
				}
				rs := lvParallel(24, func(i int) apitest.Resp {
					uid := ""
					if uids != nil {
						uid = uids[i%len(uids)]
					}
					return lvLive(env, key, "linkedin-search-people", lvSearchBody(uid, c.mode, "engineer"), "")
				})
				results := 0
				for _, r := range rs {
					switch r.Status {
					case 200:
						results += len(r.Arr())
					case 402:
						lvErr(t, "concurrent", r, 402, "NO_ACCESS")
					default:
						t.Fatalf("%s: %d %s", c.mode, r.Status, lvTrunc(r.Body))
					}
				}
				used, left, mx := lvCredits(t, env, key)
				if used != float64(results)*c.price || used > mx || left < 0 {
					t.Fatalf("%s: %d results returned, %v credits charged (max %v, left %v)", c.mode, results, used, mx, left)
				}
				// The whole balance was usable and used: what is left cannot pay one more result.
				if left >= c.price {
					t.Fatalf("%s: %v credits left with 24 pages of demand", c.mode, left)
				}
				cons := lvConsumption(t, env, key)["linkedin-search-people"]
				if cons["results"] != float64(results) || cons["credits_used"] != used {
					t.Fatalf("%s: consumption %v, returned %d results", c.mode, cons, results)
				}
				// The LIVE runs record what was returned, pages cut short by the
				// balance included.
				runOut := 0.0
				for _, r := range lvRuns(t, env, key, "&status[]=SUCCEEDED") {
					runOut += r["output_count"].(float64)
				}
				if runOut != float64(results) {
					t.Fatalf("%s: runs record %v results, %d returned", c.mode, runOut, results)
				}
			}
		})
	})
}
