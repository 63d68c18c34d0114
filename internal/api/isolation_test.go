package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/agents"
	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// tenant is a workspace with something of every kind: an owner and an ops
// member, an extra owner API key, an identity with a connected integration,
// a pending invitation and a login link.
type tenant struct {
	Name        string
	Owner       string // owner's key
	OwnerUID    string
	Ops         member
	User        member
	KeyUID      string // an extra key of the owner
	IdentityUID string
	Identity    string // its name
	Integration string // uid of its linkedin integration
	InviteToken string
	InviteUID   string // that invitation's uid
	LinkToken   string
	LiAt        string
	RunUID      string // a live run
	DeliveryUID string // a callback delivery of that run
	WebhookUID  string // an integration webhook delivery
	ScheduleUID string // a weekly schedule
	ApprovalUID string // an agent's outreach call waiting for a member
}

func newTenant(t *testing.T, env *apitest.Env, name string) tenant {
	t.Helper()
	tn := tenant{Name: name, LiAt: "li_at-of-" + name}
	tn.Owner = env.NewWorkspace(name, "unlimited")
	tn.OwnerUID = principal(t, env, tn.Owner).MemberUID
	tn.Ops = addMember(t, env, tn.Owner, "ops@"+strings.ToLower(name)+".test", "ops")
	tn.User = addMember(t, env, tn.Owner, "user@"+strings.ToLower(name)+".test", "user")
	k := env.Must(201, "POST", "/v4/api-keys", tn.Owner, map[string]any{"name": "extra"}).Obj()
	tn.KeyUID, _ = k["uid"].(string)
	tn.Identity = "Identity of " + name
	id := env.Must(200, "POST", "/v4/identities", tn.Owner, map[string]any{"name": tn.Identity}).Obj()
	tn.IdentityUID, _ = id["uid"].(string)
	links, _ := id["identity_login_links"].(map[string]any)
	link, _ := links["linkedin"].(string)
	tn.LinkToken = link[strings.LastIndex(link, "/")+1:]
	g := env.Must(200, "POST", "/v4/identities/"+tn.IdentityUID+"/integrations/linkedin", tn.Owner,
		map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": tn.LiAt}}}).Obj()
	tn.Integration, _ = g["uid"].(string)
	inv := env.Must(201, "POST", "/v4/members", tn.Owner, map[string]any{"email": "pending@" + strings.ToLower(name) + ".test", "role": "user"}).Obj()
	tn.InviteToken, _ = inv["token"].(string)
	tn.InviteUID, _ = inv["uid"].(string)
	r := env.Must(200, "POST", "/v4/actions/googlemaps-search-places/run/live", tn.Owner,
		map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza"}})
	tn.RunUID = r.Header.Get("X-Run-Uid")
	ap, err := env.App.Agents.RequestApproval(context.Background(), principal(t, env, tn.Owner), agents.Policy{},
		"linkedin-like-post", "linkedin-like-post", []byte(`{"input":{"linkedin_post_url":"https://www.linkedin.com/posts/x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	tn.ApprovalUID = ap.UID
	if tn.RunUID == "" {
		t.Fatal("a live run answered without X-Run-Uid")
	}
	// A callback delivery, stored directly: no job sends it, so it stays put.
	ctx := context.Background()
	p := principal(t, env, tn.Owner)
	run, err := store.GetRun(ctx, env.App.DB.Handles().R, p.WorkspaceID, tn.RunUID)
	if err != nil {
		t.Fatal(err)
	}
	tn.DeliveryUID = uuid.NewString()
	if _, err := store.InsertDelivery(ctx, env.App.DB.Handles().W, model.Delivery{UID: tn.DeliveryUID, Kind: "callback",
		WorkspaceID: p.WorkspaceID, RunID: run.ID, BatchUID: uuid.NewString(), RefUID: uuid.NewString(),
		URL: "https://example.com/callback", Payload: "{}"}); err != nil {
		t.Fatal(err)
	}
	tn.WebhookUID = uuid.NewString()
	if _, err := store.InsertDelivery(ctx, env.App.DB.Handles().W, model.Delivery{UID: tn.WebhookUID, Kind: "webhook",
		WorkspaceID: p.WorkspaceID, RefUID: uuid.NewString(), Event: "AUTH_SUCCESS",
		URL: "https://example.com/webhook", Payload: "{}"}); err != nil {
		t.Fatal(err)
	}
	if hasRoute(env, "POST", "/actions/{slug}/run/schedule") {
		sc := env.Must(200, "POST", "/v4/actions/googlemaps-search-places/run/schedule", tn.Owner, map[string]any{
			"inputs":   []any{map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza"}},
			"callback": map[string]any{"url": "https://example.com/callback"}, "cron": "0 9 * * 1",
			"timezone": "Europe/Paris", "name": "Weekly of " + name}).Obj()
		tn.ScheduleUID, _ = sc["schedule_uid"].(string)
	}
	return tn
}

// uids pairs each of the tenant's object uids with repl, for strings.NewReplacer.
func (tn tenant) uids(repl string) []string {
	var out []string
	for _, u := range []string{tn.IdentityUID, tn.Ops.UID, tn.KeyUID, tn.RunUID, tn.DeliveryUID, tn.WebhookUID, tn.ScheduleUID} {
		if u != "" {
			out = append(out, u, repl)
		}
	}
	return out
}

// isolationValue is A's value for a path wildcard, chosen by the resource the
// wildcard names. A route whose wildcard is not listed here fails the test:
// add a fixture for it (an object of workspace A that the route would act on).
func isolationValue(a tenant, name, resource string) (string, bool) {
	switch resource + "/{" + name + "}" {
	case "members/{uid}":
		return a.Ops.UID, true
	case "api-keys/{uid}":
		return a.KeyUID, true
	case "identities/{uid}":
		return a.IdentityUID, true
	case "integrations/{integration}":
		return "linkedin", true
	case "runs/{uid}":
		return a.RunUID, true
	case "callbacks/{uid}":
		return a.DeliveryUID, true
	case "deliveries/{uid}": // /webhooks/deliveries/{uid}
		return a.WebhookUID, true
	case "schedules/{uid}":
		return a.ScheduleUID, a.ScheduleUID != ""
	case "approvals/{uid}":
		return a.ApprovalUID, true
	case "invitations/{uid}":
		return a.InviteUID, true
	}
	if v, ok := globalWildcards[resource+"/{"+name+"}"]; ok {
		return v, true
	}
	return "", false
}

// globalWildcards name things every workspace shares (the action
// catalogue): a route whose only wildcards are these has nothing to isolate,
// unless its body names workspace objects (bodyIsolation).
var globalWildcards = map[string]string{
	"actions/{slug}": "linkedin-visit-profile",
}

// bodyIsolation gives, for routes whose body names workspace objects, a
// body naming A's objects: B sending it must get 404.
var bodyIsolation = map[string]func(a tenant) any{
	"POST /actions/{slug}/run/live": func(a tenant) any {
		return map[string]any{"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/someone"},
			"identity_ids": []string{a.IdentityUID}}
	},
	"POST /actions/{slug}/run/async": func(a tenant) any {
		return map[string]any{"inputs": []any{map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/someone"}},
			"identity_ids": []string{a.IdentityUID}, "callback": map[string]any{"url": "https://example.com/callback"}}
	},
	"POST /actions/{slug}/run/schedule": func(a tenant) any {
		return map[string]any{"inputs": []any{map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/someone"}},
			"identity_ids": []string{a.IdentityUID}, "callback": map[string]any{"url": "https://example.com/callback"},
			"cron": "0 9 * * 1"}
	},
	"POST /api/schedules/manage": func(a tenant) any { return map[string]any{"uid": a.ScheduleUID, "action": "pause"} },
	// The early v4 and Edges aliases.
	"POST /api/actions/{slug}/async": func(a tenant) any {
		return map[string]any{"inputs": []any{map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/someone"}},
			"integration_users": []string{a.IdentityUID}, "callback": map[string]any{"url": "https://example.com/callback"}}
	},
	"POST /actions/{slug}/schedule": func(a tenant) any {
		return map[string]any{"inputs": []any{map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/someone"}},
			"identity_ids": []string{a.IdentityUID}, "callback": map[string]any{"url": "https://example.com/callback"},
			"cron": "0 9 * * 1"}
	},
}

// uidFilterLists are list routes whose uid query parameter is a filter:
// B filtering on A's uid gets an empty list (checked with the lists below).
var uidFilterLists = map[string]bool{"GET /runs": true, "GET /api/runs/list": true, "GET /schedules": true,
	"GET /api/schedules/list": true}

// queryIsolation gives, for routes that take a workspace object's uid in
// the query string, the parameter and A's value: B must get 404.
var queryIsolation = map[string]func(a tenant) (string, string){
	"GET /api/runs/get":      func(a tenant) (string, string) { return "uid", a.RunUID },
	"GET /api/schedules/get": func(a tenant) (string, string) { return "uid", a.ScheduleUID },
	// The identity is resolved before the url is looked at.
	"GET /actions/linkedin-download-attachment": func(a tenant) (string, string) { return "identity_id", a.IdentityUID },
}

// isolationBody is a valid body for a body-taking route, so that a 404 can
// only come from the workspace check, not from validation.
var isolationBody = map[string]any{
	"PUT /api-keys/{uid}/mcp":                           map[string]any{"outreach_enabled": true},
	"POST /approvals/{uid}":                             map[string]any{"decision": "confirm"},
	"PATCH /members/{uid}":                              map[string]any{"role": "user"},
	"PUT /identities/{uid}":                             map[string]any{"name": "Hijacked", "timezone": "Europe/London"},
	"POST /identities/{uid}/integrations/{integration}": map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "hijacked"}}},
	"PUT /identities/{uid}/limits":                      map[string]any{"profile_visits": 1},
	"POST /identities/{uid}/rent":                       map[string]any{"days": 1},
	"PATCH /schedules/{uid}":                            map[string]any{"name": "Hijacked", "cron": "* * * * *"},
}

// capabilityRoutes are public routes whose path token is itself the
// credential (an unguessable one-time token): whoever holds it may use it,
// whatever workspace they belong to. They are checked by
// TestCapabilityRoutesRevealNothing instead.
var capabilityRoutes = map[string]bool{
	"POST /invitations/{token}/accept": true,
	"GET /login-links/{token}":         true,
	"GET !/connect/{token}":            true,
	"POST !/connect/{token}":           true,
}

// snapshot is everything A's owner can see of A, plus the rows the API does
// not show (login links, sealed credentials).
func snapshot(t *testing.T, env *apitest.Env, a tenant) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{
		"/v4/workspaces", "/v4/workspaces/settings", "/v4/members", "/v4/api-keys",
		"/v4/identities?retrieve_accounts=true", "/v4/identities/" + a.IdentityUID,
		"/v4/identities/" + a.IdentityUID + "/integrations/linkedin",
		"/v4/runs", "/v4/runs/" + a.RunUID, "/v4/runs/" + a.RunUID + "/status", "/v4/runs/callbacks/" + a.DeliveryUID,
		"/v4/webhooks/deliveries/" + a.WebhookUID, "/v4/schedules/" + a.ScheduleUID,
	} {
		if strings.HasSuffix(p, "/") {
			continue // no schedule routes yet
		}
		r := env.Must(200, "GET", p, a.Owner, nil)
		fmt.Fprintf(&b, "%s %s\n", p, r.Body)
	}
	// The other members' keys still work and are theirs.
	for _, k := range []string{a.Ops.Key, a.User.Key} {
		r := env.Must(200, "GET", "/v4/api-keys", k, nil)
		fmt.Fprintf(&b, "keys %s\n", r.Body)
	}
	ctx := context.Background()
	p := principal(t, env, a.Owner)
	var links int
	if err := env.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_links l JOIN identities i ON i.id = l.identity_id
		WHERE i.workspace_id = $1`, p.WorkspaceID).Scan(&links); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "login links %d\n", links)
	var deliveries int
	var overrides string
	if err := env.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE workspace_id = $1`, p.WorkspaceID).
		Scan(&deliveries); err != nil {
		t.Fatal(err)
	}
	if err := env.App.DB.Handles().Read.QueryRowContext(ctx, `SELECT limit_overrides FROM identities WHERE uid = $1`, a.IdentityUID).
		Scan(&overrides); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "deliveries %d, identity limit overrides %s\n", deliveries, overrides)
	id, err := env.App.Identities.Get(ctx, p.WorkspaceID, a.IdentityUID)
	if err != nil || len(id.Integrations) != 1 {
		t.Fatalf("identity %s: %v (%d integrations)", a.IdentityUID, err, len(id.Integrations))
	}
	cred, err := env.App.Identities.OpenCredentials(id.Integrations[0])
	if err != nil {
		t.Fatalf("open credentials: %v", err)
	}
	fmt.Fprintf(&b, "li_at %s\n", cred.Cookies["li_at"])
	return b.String()
}

// TestTenantIsolation: B's keys, given A's uids, get 404 on every route with
// a path wildcard and change nothing of A; B's lists never show A's rows.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		a := newTenant(t, env, "Alpha")
		b := newTenant(t, env, "Bravo")
		before := snapshot(t, env, a)

		checked := 0
		aWorkspace := principal(t, env, a.Owner).WorkspaceUID
		const ghostUID = "00000000-0000-4000-8000-000000000000"

		for _, rt := range env.App.API.Routes() {
			name := routeName(rt)
			params := pathParams(rt.Path)
			bodyFn := bodyIsolation[name]
			queryFn := queryIsolation[name]
			hasUIDQuery := false
			for _, q := range rt.Query {
				hasUIDQuery = hasUIDQuery || q.Name == "uid"
			}
			if hasUIDQuery && queryFn == nil && !uidFilterLists[name] {
				t.Errorf("%s takes a uid in its query string but queryIsolation (internal/api/isolation_test.go) has "+
					"no fixture for it: add one naming workspace A's object.", name)
				continue
			}
			if len(params) == 0 && bodyFn == nil && queryFn == nil {
				continue
			}
			if capabilityRoutes[name] {
				if rt.Perm != auth.Public {
					t.Errorf("%s is listed as a capability route but is not public: give it an isolation fixture", name)
				}
				continue
			}
			var missing []string
			tenantWildcards := 0
			path := fill(rt.Path, func(p, resource string) string {
				if _, global := globalWildcards[resource+"/{"+p+"}"]; !global {
					tenantWildcards++
				}
				v, ok := isolationValue(a, p, resource)
				if !ok {
					missing = append(missing, resource+"/{"+p+"}")
				}
				return url.PathEscape(v)
			})
			if len(missing) > 0 {
				t.Errorf("%s: no tenant-isolation fixture for %v. Add a case to isolationValue in "+
					"internal/api/isolation_test.go returning workspace A's object for it (or to globalWildcards "+
					"if it names something every workspace shares).", name, missing)
				continue
			}
			if tenantWildcards == 0 && bodyFn == nil && queryFn == nil {
				continue // a catalogue route: nothing of A's to reach
			}
			var body any
			if bodyFn != nil {
				body = bodyFn(a)
			} else if b, ok := isolationBody[name]; ok {
				body = b
			} else if rt.MaxBody > 0 && !rt.BodyOptional {
				t.Errorf("%s takes a body but isolationBody has no valid one for it: add it, so that a 404 "+
					"can only come from the workspace check.", name)
				continue
			}
			if queryFn != nil {
				k, v := queryFn(a)
				path += "?" + url.Values{k: {v}}.Encode()
			}
			for _, u := range urlsFor(rt, path) {
				// Positive control: A itself reaches the object (read-only routes).
				if rt.Method == "GET" {
					if r := env.Do("GET", u, a.Owner, nil); r.Status == 404 || r.Status >= 500 {
						t.Errorf("GET %s with A's own key: %d %s (the fixture does not name a real object)", u, r.Status, trunc(r.Body))
					}
				}
				for _, who := range []struct {
					name, key, role string
				}{{"B owner", b.Owner, "owner"}, {"B ops", b.Ops.Key, "ops"}, {"B user", b.User.Key, "user"}} {
					if !auth.Allows(who.role, rt.Perm) {
						continue
					}
					what := fmt.Sprintf("%s %s with %s's key", rt.Method, u, who.name)
					r := env.Do(rt.Method, u, who.key, body)
					eb := checkError(t, env, what, r, 404, "NOT_FOUND")
					if strings.Contains(string(r.Body), a.Identity) || strings.Contains(string(r.Body), aWorkspace) {
						t.Errorf("%s: the error reveals A's object: %s", what, r.Body)
					}
					// Indistinguishable from a uid that never existed: same message
					// once the uid the caller sent is blanked out.
					toGhost := strings.NewReplacer(a.uids(ghostUID)...)
					var ghostBody any
					if body != nil {
						ghostBody = toGhost.Replace(string(mustJSON(body)))
					}
					gb := checkError(t, env, what+" (never-existing uid)", env.Do(rt.Method, toGhost.Replace(u), who.key, ghostBody), 404, "NOT_FOUND")
					if eb != nil && gb != nil {
						blank := strings.NewReplacer(append(a.uids("X"), ghostUID, "X")...)
						m1, m2 := blank.Replace(eb["message"].(string)), blank.Replace(gb["message"].(string))
						p1, p2 := blank.Replace(string(mustJSON(eb["params"]))), blank.Replace(string(mustJSON(gb["params"])))
						if m1 != m2 || p1 != p2 {
							t.Errorf("%s: A's uid and an unknown uid get different errors: %q %s vs %q %s", what, m1, p1, m2, p2)
						}
					}
					checked++
				}
			}
		}

		if checked == 0 {
			t.Fatal("no route with a path wildcard was checked")
		}
		if after := snapshot(t, env, a); after != before {
			t.Errorf("workspace A changed after B's attempts:\nbefore:\n%s\nafter:\n%s", before, after)
		}

		// Lists: B sees only B, whatever the filters.
		aMarks := []string{a.IdentityUID, a.Identity, a.Ops.UID, a.Ops.Email, a.User.UID, a.OwnerUID, a.KeyUID, a.Integration,
			a.RunUID, a.DeliveryUID, a.WebhookUID, aWorkspace, "alpha"}
		if a.ScheduleUID != "" {
			aMarks = append(aMarks, a.ScheduleUID)
		}
		for _, p := range []string{
			"/v4/identities", "/v4/identities?retrieve_accounts=true", "/v4/identities?query=" + url.QueryEscape(a.Identity),
			"/v4/identities?query=Alpha&page=1", "/v4/members", "/v4/api-keys", "/v4/workspaces", "/v4/workspaces/settings",
			"/v4/runs", "/v4/runs?uid=" + a.RunUID, "/v4/runs?user_uid=" + a.OwnerUID, "/v4/runs?workspace_uid=" + aWorkspace,
			"/v4/api/runs/list?uid=" + a.RunUID, "/v4/runs/callbacks", "/v4/runs/callbacks?run_uid=" + a.RunUID,
			"/v4/workspaces/consumption", "/v4/webhooks/deliveries",
			"/v4/schedules", "/v4/schedules?uid=" + a.ScheduleUID, "/v4/schedules?user_uid=" + a.OwnerUID,
			"/v4/schedules?workspace_uid=" + aWorkspace, "/v4/api/schedules/list?uid=" + a.ScheduleUID,
		} {
			if strings.Contains(p, "schedules") && a.ScheduleUID == "" {
				continue
			}
			for _, key := range []string{b.Owner, b.Ops.Key} {
				r := env.Must(200, "GET", p, key, nil)
				low := strings.ToLower(string(r.Body))
				for _, m := range aMarks {
					if m == a.IdentityUID && strings.Contains(p, "/runs") {
						// B's own failed attempts above name the uid B sent.
						continue
					}
					if strings.Contains(low, strings.ToLower(m)) {
						t.Errorf("GET %s with B's key shows A's %q: %s", p, m, trunc(r.Body))
					}
				}
			}
		}
		// And B's lists do show B (so the check above is not vacuous).
		r := env.Must(200, "GET", "/v4/identities?query="+url.QueryEscape(b.Identity), b.Owner, nil)
		if len(r.Arr()) != 1 || !strings.Contains(string(r.Body), b.IdentityUID) {
			t.Errorf("B's own identity search: %s", r.Body)
		}
		if n := len(env.Must(200, "GET", "/v4/members", b.Owner, nil).Arr()); n != 3 {
			t.Errorf("B has %d members, want 3", n)
		}
	})
}

// TestCapabilityRoutesRevealNothing: the public token routes answer without
// naming the workspace, the identity or the member behind the token.
func TestCapabilityRoutesRevealNothing(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, "sqlite")
	a := newTenant(t, env, "Alpha")
	for name := range capabilityRoutes {
		found := false
		for _, rt := range env.App.API.Routes() {
			if routeName(rt) == name {
				found = true
			}
		}
		if !found {
			t.Errorf("capability route %s is gone from the route table: update capabilityRoutes", name)
		}
	}
	r := env.Must(200, "GET", "/v4/login-links/"+a.LinkToken, "", nil)
	var v map[string]any
	_ = json.Unmarshal(r.Body, &v)
	for k := range v {
		switch k {
		case "valid", "reason", "platform", "expires_at":
		default:
			t.Errorf("login-link verification shows %q: %s", k, r.Body)
		}
	}
	for _, m := range []string{a.IdentityUID, a.Identity, principal(t, env, a.Owner).WorkspaceUID} {
		if strings.Contains(string(r.Body), m) {
			t.Errorf("login-link verification reveals %q: %s", m, r.Body)
		}
	}
	// An unknown token of the right shape is a plain 404.
	checkError(t, env, "unknown login link", env.Do("GET", "/v4/login-links/"+strings.Repeat("a", 52), "", nil), 404, "NOT_FOUND")
	checkError(t, env, "unknown invitation", env.Do("POST", "/v4/invitations/"+strings.Repeat("a", 52)+"/accept", "",
		map[string]any{"password": "long enough pw"}), 404, "NOT_FOUND")
}
