package api_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// lvEgress replaces the engine's per-identity HTTP client for identities the
// test names: a dead proxy, or a short client timeout. Others keep the
// app's own client.
type lvEgress struct {
	mu   sync.Mutex
	mode map[string]string // identity name -> "dead-proxy" | "short"
	dead string            // a closed loopback port
}

func (e *lvEgress) set(name, mode string) {
	e.mu.Lock()
	e.mode[name] = mode
	e.mu.Unlock()
}

func (e *lvEgress) install(a *app.App) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	e.dead = ln.Addr().String()
	ln.Close()
	orig := a.Engine.Egress
	a.Engine.Egress = func(ctx context.Context, id *model.Identity) (*http.Client, string, error) {
		if id != nil {
			e.mu.Lock()
			m := e.mode[id.Name]
			e.mu.Unlock()
			switch m {
			case "dead-proxy":
				return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: e.dead})}}, "http://" + e.dead, nil
			case "short":
				return &http.Client{Timeout: 300 * time.Millisecond}, "", nil
			case "plain":
				return &http.Client{}, "", nil
			}
		}
		return orig(ctx, id)
	}
}

// lvIntegration reads GET /identities/{uid}/integrations/linkedin.
func lvIntegration(t *testing.T, env *apitest.Env, key, uid string) map[string]any {
	t.Helper()
	return env.Must(200, "GET", "/v4/identities/"+uid+"/integrations/linkedin", key, nil).Obj()
}

func lvPeopleBody(uid, handle string) map[string]any {
	return map[string]any{"identity_ids": []string{uid}, "input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/" + handle}}
}

// TestLiveUpstreamFailures maps every way the platform fails to its label,
// through the API, and checks each failed call is a FAILED LIVE run carrying
// that label.
func TestLiveUpstreamFailures(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		eg := &lvEgress{mode: map[string]string{}}
		env := lvStart(t, dialect, func(a *app.App) {
			eg.install(a)
			a.Engine.LiveTimeout = 2 * time.Second
		})
		key := env.NewWorkspace("Failures", "unlimited")
		const slug = "linkedin-extract-people"
		failed := func(t *testing.T, what string, r apitest.Resp, label string) map[string]any {
			t.Helper()
			p := lvErr(t, what, r, 424, label)
			if s, _ := r.Obj()["error_scope"].(string); s != "integ" {
				t.Fatalf("%s: scope %q", what, s)
			}
			return p
		}

		t.Run("connect validation", func(t *testing.T) {
			uid := lvIdentity(t, env, key, "Validate salesnav", "")
			g := env.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", key,
				map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_salesnav"}}}).Obj()
			if g["status"] != "VALID" || g["level"] != "Sales Navigator" || g["auth_type"] != "COOKIES" || g["identity_uid"] != uid {
				t.Fatalf("sim_salesnav: %v", g)
			}
			if got := lvIntegration(t, env, key, uid); got["status"] != "VALID" || got["level"] != "Sales Navigator" {
				t.Fatalf("GET: %v", got)
			}
			bad := lvIdentity(t, env, key, "Validate bogus", "")
			g = env.Must(200, "POST", "/v4/identities/"+bad+"/integrations/linkedin", key,
				map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "bogus-cookie"}}}).Obj()
			if g["status"] != "INVALID" {
				t.Fatalf("bogus cookie: %v", g)
			}
			if got := lvIntegration(t, env, key, bad); got["status"] != "INVALID" {
				t.Fatalf("GET bogus: %v", got)
			}
		})

		t.Run("expired session", func(t *testing.T) {
			ws := env.NewWorkspace("Failures expiring", "unlimited")
			uid := lvIdentity(t, env, ws, "Expiring one", "sim_expiring") // 1 call: the check at connect
			// A second identity on the same account, still VALID here when the
			// platform has already expired the session.
			spare := lvIdentity(t, env, ws, "Expiring spare", "sim_expiring") // 2 calls
			var r apitest.Resp
			calls := 0
			for calls < 10 {
				calls++
				r = lvLive(env, ws, slug, lvPeopleBody(uid, fmt.Sprintf("exp-%d", calls)), "")
				if r.Status != 200 {
					break
				}
			}
			if calls != 4 { // calls 3, 4, 5 succeed, the 6th finds the session expired
				t.Fatalf("the session failed on live call %d, want 4", calls)
			}
			failed(t, "expired session", r, "NOT_CONNECTED")
			lvCheckRun(t, env, ws, r, slug, "FAILED", 0, "NOT_CONNECTED")
			if g := lvIntegration(t, env, ws, uid); g["status"] != "INVALID" {
				t.Fatalf("integration after NOT_CONNECTED: %v", g)
			}
			// Nothing valid left on that identity.
			lvErr(t, "after expiry", lvLive(env, ws, slug, lvPeopleBody(uid, "exp-x"), ""), 424, "NO_VALID_ACCOUNT_CONFIGURED")
			// Auto: the spare (VALID, expired upstream) ranks first; its call
			// marks it INVALID and moves on to the classic account.
			classic := lvIdentity(t, env, ws, "Expiring classic", "sim_classic")
			for i := 0; i < 3; i++ {
				if r := lvLive(env, ws, slug, lvPeopleBody(classic, fmt.Sprintf("warm-%d", i)), ""); r.Status != 200 {
					t.Fatalf("warm-up: %d", r.Status)
				}
			}
			r = lvLive(env, ws, slug, map[string]any{"identity_mode": "auto",
				"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/exp-auto"}}, "")
			if r.Status != 200 {
				t.Fatalf("auto past an expired account: %d %s", r.Status, lvTrunc(r.Body))
			}
			if g := lvIntegration(t, env, ws, spare); g["status"] != "INVALID" {
				t.Fatalf("the spare was not marked INVALID: %v", g)
			}
			if c, _ := lvConsumed(t, env, ws, classic, slug, "profile_visits"); c != 4 {
				t.Fatalf("classic ran %d calls, want 3 + the auto one", c)
			}
			if c, _ := lvConsumed(t, env, ws, spare, slug, "profile_visits"); c != 0 {
				t.Fatalf("the expired spare still holds %d consumption", c)
			}
		})

		t.Run("rate limited and 5xx", func(t *testing.T) {
			uid := lvIdentity(t, env, key, "Flaky salesnav", "sim_flaky") // sim call 1
			var got []string
			for i := 0; i < 5; i++ { // sim calls 2..6
				r := lvLive(env, key, slug, lvPeopleBody(uid, fmt.Sprintf("flaky-%d", i)), "")
				switch {
				case r.Status == 200:
					got = append(got, "200")
				case r.Status == 424:
					got = append(got, r.Label())
					lvCheckRun(t, env, key, r, slug, "FAILED", 0, r.Label())
					if r.Label() == "STATUS_429" {
						if p, _ := r.Obj()["params"].(map[string]any); p["retry_after"] != "1" {
							t.Fatalf("STATUS_429 params %v", p)
						}
					}
				default:
					t.Fatalf("flaky call %d: %d %s", i, r.Status, lvTrunc(r.Body))
				}
			}
			if fmt.Sprint(got) != "[200 200 200 STATUS_429 LK_ERROR]" {
				t.Fatalf("flaky account: %v", got)
			}
			// Transient failures leave the integration VALID and consume nothing.
			if g := lvIntegration(t, env, key, uid); g["status"] != "VALID" {
				t.Fatalf("after transient failures: %v", g)
			}
			if c, _ := lvConsumed(t, env, key, uid, slug, "profile_visits"); c != 3 {
				t.Fatalf("consumed %d, want 3 (failed calls release their limits)", c)
			}
			// Public platforms: 5xx is GENERIC_ERROR, 429 STATUS_429.
			place := func(key string) map[string]any {
				return map[string]any{"input": map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/" + key}}
			}
			r := lvLive(env, key, "googlemaps-extract-place", place("error-503-cafe"), "")
			failed(t, "maps 503", r, "GENERIC_ERROR")
			lvCheckRun(t, env, key, r, "googlemaps-extract-place", "FAILED", 0, "GENERIC_ERROR")
			p := failed(t, "maps 429", lvLive(env, key, "googlemaps-extract-place", place("error-429-cafe"), ""), "STATUS_429")
			if p["retry_after"] != "2" {
				t.Fatalf("maps 429 params %v", p)
			}
		})

		t.Run("not found", func(t *testing.T) {
			uid := lvIdentity(t, env, key, "Missing premium", "sim_premium")
			r := lvLive(env, key, slug, lvPeopleBody(uid, "missing-person"), "")
			failed(t, "missing person", r, "STATUS_404")
			lvCheckRun(t, env, key, r, slug, "FAILED", 0, "STATUS_404")
			failed(t, "missing company", lvLive(env, key, "linkedin-extract-company", map[string]any{"identity_ids": []string{uid},
				"input": map[string]any{"linkedin_company_url": "https://www.linkedin.com/company/missing-co"}}, ""), "STATUS_404")
			if g := lvIntegration(t, env, key, uid); g["status"] != "VALID" {
				t.Fatalf("a 404 changed the integration: %v", g)
			}
		})

		t.Run("restricted", func(t *testing.T) {
			uid := lvIdentity(t, env, key, "Restricted premium", "sim_restricted")
			var r apitest.Resp
			visits := 0
			for visits < 14 {
				visits++
				r = lvLive(env, key, slug, lvPeopleBody(uid, fmt.Sprintf("restricted-%d", visits)), "")
				if r.Status != 200 {
					break
				}
			}
			if visits != 11 {
				t.Fatalf("restricted after %d visits, want the 11th", visits)
			}
			failed(t, "restricted", r, "STATUS_403")
			lvCheckRun(t, env, key, r, slug, "FAILED", 0, "STATUS_403")
			failed(t, "still restricted", lvLive(env, key, slug, lvPeopleBody(uid, "restricted-x"), ""), "STATUS_403")
		})

		t.Run("timeout", func(t *testing.T) {
			// The hanging account cannot be checked at connect time (it hangs
			// there too): connecting leaves it PENDING. Mark it VALID as a
			// health check that once got through would.
			eg.set("Hanging premium", "short")
			uid := lvIdentity(t, env, key, "Hanging premium", "")
			g := env.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", key,
				map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_hang"}}}).Obj()
			if g["status"] != "PENDING" {
				t.Fatalf("connecting a hanging account: %v", g)
			}
			if _, err := env.App.DB.Handles().Write.ExecContext(context.Background(),
				`UPDATE integrations SET status = 'VALID', level = 'Premium', first_connected_at = $2 WHERE uid = $1`,
				g["uid"], store.Millis(time.Now())); err != nil {
				t.Fatal(err)
			}
			env.App.DB.Invalidate() // written behind the store's back
			// No client timeout now: the engine's own live timeout cuts the call.
			eg.set("Hanging premium", "plain")
			r := lvLive(env, key, slug, lvPeopleBody(uid, "hang-1"), "")
			failed(t, "hanging platform", r, "LK_524")
			lvCheckRun(t, env, key, r, slug, "FAILED", 0, "LK_524")
			if g := lvIntegration(t, env, key, uid); g["status"] != "VALID" {
				t.Fatalf("a timeout changed the integration: %v", g)
			}
			if c, _ := lvConsumed(t, env, key, uid, slug, "profile_visits"); c != 0 {
				t.Fatalf("a timed-out call kept %d consumption", c)
			}
		})

		t.Run("proxy unreachable", func(t *testing.T) {
			uid := lvIdentity(t, env, key, "Proxied premium", "sim_premium")
			eg.set("Proxied premium", "dead-proxy")
			r := lvLive(env, key, slug, lvPeopleBody(uid, "proxied-1"), "")
			failed(t, "dead proxy", r, "PROXY_ERROR")
			lvCheckRun(t, env, key, r, slug, "FAILED", 0, "PROXY_ERROR")
			if g := lvIntegration(t, env, key, uid); g["status"] != "VALID" {
				t.Fatalf("a proxy failure changed the integration: %v", g)
			}
			// Connecting through a dead proxy says nothing about the account.
			uid2 := lvIdentity(t, env, key, "Proxied new", "")
			eg.set("Proxied new", "dead-proxy")
			g := env.Must(200, "POST", "/v4/identities/"+uid2+"/integrations/linkedin", key,
				map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_premium"}}}).Obj()
			if g["status"] != "PENDING" {
				t.Fatalf("connect through a dead proxy: %v", g)
			}
		})

		// Every live call of the test is a LIVE run; failures carry their label.
		runs := lvRuns(t, env, key, "&status[]=FAILED")
		labels := map[string]int{}
		for _, r := range runs {
			if r["execution_mode"] != "LIVE" || r["output_count"] != float64(0) {
				t.Fatalf("failed run %v", r)
			}
			le, _ := r["last_error"].(map[string]any)
			l, _ := le["label"].(string)
			if l == "" || le["message"] == "" {
				t.Fatalf("failed run without last_error: %v", r)
			}
			labels[l]++
		}
		for _, l := range []string{"STATUS_429", "LK_ERROR", "GENERIC_ERROR", "STATUS_404", "STATUS_403", "LK_524", "PROXY_ERROR"} {
			if labels[l] == 0 {
				t.Fatalf("no FAILED LIVE run with %s: %v", l, labels)
			}
		}
	})
}
