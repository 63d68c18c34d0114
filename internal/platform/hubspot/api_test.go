package hubspot_test

// API-level tests: Firstmate in-process (internal/apitest) with its HubSpot
// driver pointed at the fake (FIRSTMATE_HUBSPOT_URL), on SQLite and, when it
// answers, PostgreSQL.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/platform/hubspot/hubspottest"
)

type hsEnv struct {
	*apitest.Env
	fake *hubspottest.Server
	key  string
}

func startHubSpot(t *testing.T, dialect string) *hsEnv {
	t.Helper()
	f := hubspottest.New(token)
	t.Cleanup(f.Close)
	t.Setenv("FIRSTMATE_HUBSPOT_URL", f.URL)
	env := apitest.StartWithLoopbackCallbacks(t, dialect) // the callback receivers are on loopback
	return &hsEnv{Env: env, fake: f, key: env.NewWorkspace("HubSpot "+strings.ReplaceAll(t.Name(), "/", " "), "developer")}
}

func (e *hsEnv) identity(name string) string {
	e.T.Helper()
	return e.Must(200, "POST", "/v4/identities", e.key, map[string]any{"name": name}).Obj()["uid"].(string)
}

func (e *hsEnv) connectHubSpot(uid, tok string) map[string]any {
	e.T.Helper()
	r := e.Must(200, "POST", "/v4/identities/"+uid+"/integrations/hubspot", e.key,
		map[string]any{"auth_data": map[string]any{"token": tok}})
	if strings.Contains(string(r.Body), tok) {
		e.T.Fatalf("the token is echoed: %s", r.Body)
	}
	return r.Obj()
}

func (e *hsEnv) live(slug string, body map[string]any) apitest.Resp {
	e.T.Helper()
	return e.Do("POST", "/v4/actions/"+slug+"/run/live", e.key, body)
}

func TestAPIHubSpotConnect(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startHubSpot(t, dialect)
		uid := e.identity("CRM owner")
		g := e.connectHubSpot(uid, token)
		if g["status"] != "VALID" || g["auth_type"] != "APIKEY" || fmt.Sprint(g["meta"]) != fmt.Sprintf("map[account_name:HubSpot portal %d external_id:%d]", hubspottest.PortalID, hubspottest.PortalID) {
			t.Fatalf("connect: %v", g)
		}
		got := e.Must(200, "GET", "/v4/identities/"+uid+"/integrations/hubspot", e.key, nil)
		if strings.Contains(string(got.Body), token) || got.Obj()["status"] != "VALID" {
			t.Fatalf("get: %s", got.Body)
		}

		bad := e.identity("Wrong token")
		g = e.connectHubSpot(bad, "pat-na1-not-a-real-token")
		if g["status"] != "INVALID" || g["error"] == nil || !strings.Contains(fmt.Sprint(g["error"]), "NOT_CONNECTED") {
			t.Fatalf("bad token: %v", g)
		}
		// Only tokens: cookies are refused.
		r := e.Do("POST", "/v4/identities/"+bad+"/integrations/hubspot", e.key,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "x"}}})
		if r.Status != 400 || r.Label() != "BAD_INPUT" {
			t.Fatalf("cookies: %d %s", r.Status, r.Body)
		}
		// An identity whose token is INVALID cannot run HubSpot actions.
		r = e.live("hubspot-search-contacts", map[string]any{"input": map[string]any{}, "identity_ids": []string{bad}})
		if r.Status != 424 || r.Label() != "NO_VALID_ACCOUNT_CONFIGURED" {
			t.Fatalf("invalid account ran: %d %s", r.Status, r.Body)
		}
		if strings.Contains(e.Logs.String(), token) {
			t.Fatal("the token is in the logs")
		}
	})
}

// linkedin-extract-people then linkedin-extract-contact with a sandbox
// LinkedIn account, and their merged result straight into HubSpot.
func TestAPIHubSpotLiveFromLinkedIn(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startHubSpot(t, dialect)
		uid := e.identity("Sales rep")
		li := e.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", e.key,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_classic"}}}).Obj()
		if li["status"] != "VALID" {
			t.Fatalf("linkedin: %v", li)
		}
		e.connectHubSpot(uid, token)

		profile := "https://www.linkedin.com/in/hubspot-test-person"
		person := e.live("linkedin-extract-people", map[string]any{"input": map[string]any{"linkedin_profile_url": profile},
			"identity_ids": []string{uid}})
		if person.Status != 200 {
			t.Fatalf("extract-people: %d %s", person.Status, person.Body)
		}
		merged := person.Obj()
		contact := e.live("linkedin-extract-contact", map[string]any{"input": map[string]any{"linkedin_profile_url": profile},
			"identity_ids": []string{uid}})
		if contact.Status == 200 {
			for k, v := range contact.Obj() {
				if _, ok := merged[k]; !ok || merged[k] == nil {
					merged[k] = v
				}
			}
		}
		if s, _ := merged["email"].(string); s == "" {
			merged["email"] = "hubspot-test-person@example.com" // the builder's own data
		}
		email := strings.ToLower(merged["email"].(string))

		r := e.live("hubspot-upsert-contact", map[string]any{"input": merged, "identity_ids": []string{uid}})
		if r.Status != 200 {
			t.Fatalf("upsert: %d %s", r.Status, r.Body)
		}
		out := r.Obj()
		if out["created"] != true || out["email"] != email || out["hubspot_contact_id"] == "" || out["hubspot_url"] == nil {
			t.Fatalf("upsert: %v", out)
		}
		_, props, ok := e.fake.Contact(email)
		if !ok || props["firstname"] != merged["first_name"] || props["lastname"] != merged["last_name"] ||
			props["jobtitle"] != merged["job_title"] || props["company"] != merged["company_name"] ||
			!strings.Contains(props["hs_linkedin_url"], "linkedin.com/in/") {
			t.Fatalf("stored %v from %v", props, merged)
		}
		// Again: an update of the same contact.
		r = e.live("hubspot-upsert-contact", map[string]any{"input": merged, "identity_mode": "auto"})
		if r.Status != 200 || r.Obj()["created"] != false || r.Obj()["hubspot_contact_id"] != out["hubspot_contact_id"] {
			t.Fatalf("second upsert: %d %s", r.Status, r.Body)
		}
		// Managed identities cannot hold a customer's CRM token.
		r = e.live("hubspot-upsert-contact", map[string]any{"input": merged, "identity_mode": "managed", "identity_ids": []string{}})
		if r.Status != 400 {
			t.Fatalf("managed: %d %s", r.Status, r.Body)
		}

		// Search: by e-mail, then everything, paged by cursor to the end.
		r = e.live("hubspot-search-contacts", map[string]any{"input": map[string]any{"email": email}, "identity_ids": []string{uid}})
		if r.Status != 200 || len(r.Arr()) != 1 || r.Arr()[0].(map[string]any)["hubspot_contact_id"] != out["hubspot_contact_id"] {
			t.Fatalf("search by email: %d %s", r.Status, r.Body)
		}
		for i := 0; i < 149; i++ {
			e.fake.Seed(map[string]string{"email": fmt.Sprintf("seed%03d@example.com", i), "firstname": "Seed"})
		}
		var all []any
		r = e.live("hubspot-search-contacts", map[string]any{"input": map[string]any{}, "identity_ids": []string{uid}})
		for pages := 1; ; pages++ {
			if r.Status != 200 {
				t.Fatalf("page %d: %d %s", pages, r.Status, r.Body)
			}
			all = append(all, r.Arr()...)
			next := r.Header.Get("X-Pagination-Next")
			if next == "" {
				if pages != 2 {
					t.Errorf("%d pages", pages)
				}
				break
			}
			if !strings.Contains(next, "cursor=") || pages > 3 {
				t.Fatalf("next %q", next)
			}
			r = e.Do("POST", strings.TrimPrefix(next, e.URL), e.key, map[string]any{"input": map[string]any{}, "identity_ids": []string{uid}})
		}
		if len(all) != 150 {
			t.Fatalf("%d contacts over the pages, want 150", len(all))
		}

		// HubSpot runs are recorded and cost nothing.
		c := e.Must(200, "GET", "/v4/workspaces/consumption", e.key, nil).Obj()
		found := 0
		for _, row := range c["consumptions"].([]any) {
			m := row.(map[string]any)
			if strings.HasPrefix(m["action_slug"].(string), "hubspot-") {
				found++
				if m["credits_used"] != float64(0) {
					t.Errorf("hubspot consumption %v", m)
				}
			}
		}
		if found != 2 {
			t.Errorf("consumption rows %v", c["consumptions"])
		}
	})
}

type cbReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []map[string]any
}

func newCallbackReceiver(t *testing.T) *cbReceiver {
	r := &cbReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		r.mu.Lock()
		r.got = append(r.got, body)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *cbReceiver) final(runUID string) (map[string]any, []map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var final map[string]any
	var batches []map[string]any
	for _, c := range r.got {
		run, _ := c["run"].(map[string]any)
		if run["run_uid"] != runUID {
			continue
		}
		if s := run["status"]; s == "RUNNING" {
			batches = append(batches, c)
		} else {
			final = c
		}
	}
	return final, batches
}

func (e *hsEnv) waitRun(uid string, timeout time.Duration, statuses ...string) map[string]any {
	e.T.Helper()
	end := time.Now().Add(timeout)
	for {
		r := e.Must(200, "GET", "/v4/runs/"+uid, e.key, nil).Obj()
		for _, s := range statuses {
			if r["status"] == s {
				return r
			}
		}
		if time.Now().After(end) {
			e.T.Fatalf("run %s: waited for %v, last %v", uid, statuses, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAPIHubSpotAsyncUpsertWithCallbacks(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startHubSpot(t, dialect)
		uid := e.identity("Async CRM")
		e.connectHubSpot(uid, token)
		rc := newCallbackReceiver(t)
		var inputs []any
		for i := 0; i < 6; i++ {
			inputs = append(inputs, map[string]any{"email": fmt.Sprintf("lead%d@example.com", i), "full_name": fmt.Sprintf("Lead Number%d", i),
				"company_name": "Acme", "job_title": "Buyer", "custom_data": map[string]any{"row": i}})
		}
		// HubSpot refuses this one (its e-mail check is stricter than ours).
		inputs = append(inputs, map[string]any{"email": "broken@example.c", "custom_data": map[string]any{"row": 6}})
		sub := e.Must(200, "POST", "/v4/actions/hubspot-upsert-contact/run/async", e.key, map[string]any{
			"inputs": inputs, "identity_ids": []string{uid}, "callback": map[string]any{"url": rc.URL, "on": "all"}}).Obj()
		runUID := sub["run_uid"].(string)
		run := e.waitRun(runUID, 60*time.Second, "PARTIAL_SUCCEEDED", "SUCCEEDED", "FAILED", "BLOCKED")
		if run["status"] != "PARTIAL_SUCCEEDED" || run["output_count"] != float64(6) {
			t.Fatalf("run %v", run)
		}
		if e.fake.Count() != 6 {
			t.Fatalf("%d contacts in HubSpot", e.fake.Count())
		}
		var final map[string]any
		var batches []map[string]any
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if final, batches = rc.final(runUID); final != nil && len(batches) == 7 {
				break
			}
		}
		if final == nil || len(batches) != 7 {
			t.Fatalf("callbacks: final %v, %d batches", final, len(batches))
		}
		failed := 0
		for _, b := range batches {
			cd, _ := b["custom_data"].(map[string]any)
			if b["error"] != nil {
				failed++
				if cd["row"] != float64(6) || !strings.Contains(fmt.Sprint(b["error"]), "BAD_INPUT") {
					t.Errorf("failed batch %v", b)
				}
				continue
			}
			res := b["results"].([]any)
			if len(res) != 1 || res[0].(map[string]any)["created"] != true || cd["row"] == nil {
				t.Errorf("batch %v", b)
			}
		}
		if failed != 1 {
			t.Errorf("%d failed batches", failed)
		}
		outs := e.Must(200, "GET", "/v4/runs/"+runUID+"/outputs?limit=100", e.key, nil).Arr()
		if len(outs) != 6 {
			t.Errorf("%d outputs", len(outs))
		}
	})
}

// HubSpot answers 429 once: the input is transient, the chunk retries, the
// run succeeds. Live, the same 429 is a 424 STATUS_429 with retry_after.
func TestAPIHubSpot429(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startHubSpot(t, dialect)
		uid := e.identity("Throttled CRM")
		e.connectHubSpot(uid, token)
		const upsertPath = "/crm/v3/objects/contacts/batch/upsert"

		e.fake.FailNext(1, 429, "1", upsertPath)
		r := e.live("hubspot-upsert-contact", map[string]any{"input": map[string]any{"email": "live@example.com"}, "identity_ids": []string{uid}})
		if r.Status != 424 || r.Label() != "STATUS_429" || r.Obj()["params"].(map[string]any)["retry_after"] != "1" {
			t.Fatalf("live 429: %d %s", r.Status, r.Body)
		}

		e.fake.FailNext(1, 429, "1", upsertPath)
		rc := newCallbackReceiver(t)
		sub := e.Must(200, "POST", "/v4/actions/hubspot-upsert-contact/run/async", e.key, map[string]any{
			"inputs":       []any{map[string]any{"email": "a1@example.com"}, map[string]any{"email": "a2@example.com"}},
			"identity_ids": []string{uid}, "callback": map[string]any{"url": rc.URL, "on": "final"}}).Obj()
		runUID := sub["run_uid"].(string)
		run := e.waitRun(runUID, 60*time.Second, "SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "BLOCKED")
		if run["status"] != "SUCCEEDED" || run["output_count"] != float64(2) {
			t.Fatalf("run %v", run)
		}
		upserts := 0
		for _, q := range e.fake.Requests() {
			if q.Path == upsertPath {
				upserts++
			}
		}
		if upserts != 4 { // live 429, async 429, then the two inputs
			t.Errorf("%d upsert requests", upserts)
		}
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if f, _ := rc.final(runUID); f != nil {
				if f["run"].(map[string]any)["status"] != "SUCCEEDED" {
					t.Errorf("final %v", f)
				}
				return
			}
		}
		t.Fatal("no final callback")
	})
}

// A token revoked in HubSpot: the live call answers NOT_CONNECTED and the
// integration turns INVALID; an async run blocks until it is reconnected.
func TestAPIHubSpotRevokedToken(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startHubSpot(t, dialect)
		uid := e.identity("Revoked CRM")
		const other = "pat-na1-second-token-0000000000000000"
		e.fake.AddToken(other)
		e.connectHubSpot(uid, other)
		e.fake.RevokeToken(other)
		r := e.live("hubspot-upsert-contact", map[string]any{"input": map[string]any{"email": "x@example.com"}, "identity_ids": []string{uid}})
		if r.Status != 424 || r.Label() != "NOT_CONNECTED" || strings.Contains(string(r.Body), other) {
			t.Fatalf("revoked: %d %s", r.Status, r.Body)
		}
		g := e.Must(200, "GET", "/v4/identities/"+uid+"/integrations/hubspot", e.key, nil).Obj()
		if g["status"] != "INVALID" {
			t.Fatalf("integration %v", g)
		}
		rc := newCallbackReceiver(t)
		sub := e.Must(200, "POST", "/v4/actions/hubspot-upsert-contact/run/async", e.key, map[string]any{
			"inputs": []any{map[string]any{"email": "b@example.com"}}, "identity_ids": []string{uid},
			"callback": map[string]any{"url": rc.URL}}).Obj()
		run := e.waitRun(sub["run_uid"].(string), 60*time.Second, "BLOCKED", "FAILED", "SUCCEEDED")
		if run["status"] != "BLOCKED" {
			t.Fatalf("run %v", run)
		}
		// Reconnect with a valid token and resume.
		e.connectHubSpot(uid, token)
		e.Must(200, "POST", "/v4/runs/"+sub["run_uid"].(string)+"/resume", e.key, nil)
		run = e.waitRun(sub["run_uid"].(string), 60*time.Second, "SUCCEEDED", "FAILED")
		if run["status"] != "SUCCEEDED" {
			t.Fatalf("after resume %v", run)
		}
		if strings.Contains(e.Logs.String(), other) || strings.Contains(e.Logs.String(), token) {
			t.Fatal("a token is in the logs")
		}
	})
}
