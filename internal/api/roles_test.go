package api_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/agents"
	"github.com/firstmate-oss/firstmate/internal/api"
	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Who may call each route, written by hand from the roles as users know them
// (README "Roles", contract §1 and §3), not read from the product's
// permission table:
//
//   - owner: everything, including members, plan and billing;
//   - ops: identities, integrations, actions, runs, schedules, webhooks and
//     settings, but not members, plan or billing;
//   - user: read only (GET), plus managing their own API keys.
const (
	public    = "public"     // no key needed
	anyMember = "any member" // owner, ops and user
	opsUp     = "ops"        // owner and ops
	ownerOnly = "owner"      // the owner only
)

// routeRoles is the least role that may call each route ("METHOD path" as in
// the route table: relative to /v4 and /v1, "!" for the unprefixed ones).
// TestRoleMatrix fails on a route missing here, so a new route must be
// classified: add one line.
var routeRoles = map[string]string{
	// Operations and the capability routes, whose token is the credential.
	"GET !/healthz":                    public,
	"GET !/readyz":                     public,
	"GET !/metrics":                    public,
	"GET /openapi.json":                public,
	"GET /executor-protocol.json":      public,
	"POST /invitations/{token}/accept": public,
	"GET /login-links/{token}":         public,
	"GET !/connect/{token}":            public,
	"POST !/connect/{token}":           public,

	// Workspace. The settings hold the callback signing secret: ops manage
	// them (README), read-only members do not see them, though it is a GET.
	"GET /workspaces":                   anyMember,
	"GET /workspaces/consumption":       anyMember,
	"GET /workspaces/activity":          anyMember,
	"POST /members/{uid}/password-link": ownerOnly,
	"GET /workspaces/settings":          opsUp,
	"PUT /workspaces/settings":          opsUp,
	// The audit log is the owner's (README "Audit log": "Owners read it").
	"GET /audit-events": ownerOnly,

	// Members: listed by everyone, managed by the owner.
	"GET /members":                    anyMember,
	"POST /members":                   ownerOnly,
	"GET /invitations":                ownerOnly,
	"DELETE /invitations/{uid}":       ownerOnly,
	"POST /invitations/{uid}/reissue": ownerOnly,
	"GET /identities/{uid}/limits":    anyMember,
	"PATCH /members/{uid}":            ownerOnly,
	"DELETE /members/{uid}":           ownerOnly,
	// Each member's own keys, whatever their role.
	"GET /api-keys":          anyMember,
	"POST /api-keys":         anyMember,
	"DELETE /api-keys/{uid}": anyMember,

	// Identities and integrations.
	"GET /identities":                                              anyMember,
	"POST /identities":                                             opsUp,
	"GET /identities/{uid}":                                        anyMember,
	"PUT /identities/{uid}":                                        opsUp,
	"DELETE /identities/{uid}":                                     opsUp,
	"POST /identities/{uid}/generate-login-links":                  opsUp,
	"POST /identities/{uid}/login-links":                           opsUp,
	"DELETE /identities/{uid}/login-links":                         opsUp,
	"POST /identities/{uid}/refresh-proxy":                         opsUp,
	"GET /identities/{uid}/actions/{slug}/limits":                  anyMember,
	"PUT /identities/{uid}/limits":                                 opsUp,
	"POST /identities/{uid}/integrations/{integration}":            opsUp,
	"GET /identities/{uid}/integrations/{integration}":             anyMember,
	"DELETE /identities/{uid}/integrations/{integration}":          opsUp,
	"POST /identities/{uid}/integrations/{integration}/checkpoint": opsUp,
	// Renting a pool account is paid for: billing, the owner's (README).
	"POST /identities/{uid}/rent":   ownerOnly,
	"DELETE /identities/{uid}/rent": ownerOnly,
	// The early v4 and Edges name of identities.
	"GET /users":  anyMember,
	"POST /users": opsUp,

	// The MCP rails are settings (ops); approvals are decided by whoever
	// may run the call (ops), and read by the agent's key of any role.
	"GET /workspaces/mcp":     opsUp,
	"PUT /workspaces/mcp":     opsUp,
	"GET /api-keys/{uid}/mcp": opsUp,
	"PUT /api-keys/{uid}/mcp": opsUp,
	"GET /approvals":          opsUp,
	"GET /approvals/{uid}":    anyMember,
	"POST /approvals/{uid}":   opsUp,

	// Actions.
	"GET /actions":                      anyMember,
	"GET /actions/{slug}":               anyMember,
	"POST /actions/{slug}/run/live":     opsUp,
	"POST /actions/{slug}/run/async":    opsUp,
	"POST /actions/{slug}/run/schedule": opsUp,
	// Downloading a message's file reads an account's inbox, as the
	// message actions do: running actions is for ops.
	"GET /actions/linkedin-download-attachment": opsUp,
	// The early v4 and Edges aliases of run/async and run/schedule.
	"POST /api/actions/{slug}/async": opsUp,
	"POST /actions/{slug}/schedule":  opsUp,

	// Runs and their callbacks.
	"GET /runs":                         anyMember,
	"GET /runs/{uid}":                   anyMember,
	"GET /runs/{uid}/status":            anyMember,
	"GET /runs/{uid}/outputs":           anyMember,
	"POST /runs/{uid}/cancel":           opsUp,
	"POST /runs/{uid}/resume":           opsUp,
	"POST /api/runs/{uid}/resume":       opsUp,
	"GET /api/runs/list":                anyMember,
	"GET /api/runs/get":                 anyMember,
	"GET /runs/callbacks":               anyMember,
	"GET /runs/callbacks/{uid}":         anyMember,
	"POST /runs/callbacks/{uid}/replay": opsUp,

	// Integration webhooks.
	"GET /webhooks/deliveries":               anyMember,
	"GET /webhooks/deliveries/{uid}":         anyMember,
	"POST /webhooks/deliveries/{uid}/replay": opsUp,

	// Schedules.
	"GET /schedules":               anyMember,
	"GET /schedules/{uid}":         anyMember,
	"PATCH /schedules/{uid}":       opsUp,
	"DELETE /schedules/{uid}":      opsUp,
	"POST /schedules/{uid}/pause":  opsUp,
	"POST /schedules/{uid}/resume": opsUp,
	"POST /schedules/{uid}/cancel": opsUp,
	"GET /api/schedules/list":      anyMember,
	"GET /api/schedules/get":       anyMember,
	"POST /api/schedules/manage":   opsUp,
}

// mayCall says whether role may call a route whose least role is least.
func mayCall(least, role string) bool {
	switch least {
	case public, anyMember:
		return role == model.RoleOwner || role == model.RoleOps || role == model.RoleUser
	case opsUp:
		return role == model.RoleOwner || role == model.RoleOps
	case ownerOnly:
		return role == model.RoleOwner
	}
	return false
}

// caller is one column of the role matrix.
type caller struct {
	name string
	role string // "" for callers without a working key
	key  string
}

// roleFix is a workspace with one member per role, keys that must not work,
// and one of everything the routes act on. Calls that change or consume a
// resource get a fresh one each (fresh*), so that every allowed call finds
// a real, usable object and answers for what it did, not 404.
type roleFix struct {
	t       *testing.T
	env     *apitest.Env
	owner   string
	callers []caller
	// Shared resources, for reads and for calls that must be refused.
	identity, linkToken, run, callback, webhook, schedule, invite string
	member                                                        string // the ops member's uid
	target                                                        string // a member whose role the matrix changes
	asyncRun                                                      string
	attachment, attIdentity                                       string // a file's URL and its account, made on first use
	ownerKeyUID                                                   string
	seq                                                           atomic.Int64
}

const roleCallback = "https://example.com/callback"

func newRoleFix(t *testing.T, env *apitest.Env) *roleFix {
	t.Helper()
	f := &roleFix{t: t, env: env}
	f.owner = env.NewWorkspace("Roles", "unlimited")
	opsM := f.quickMember("ops@roles.test", model.RoleOps)
	userM := f.quickMember("user@roles.test", model.RoleUser)
	gone := f.quickMember("gone@roles.test", model.RoleOps)
	env.Must(200, "DELETE", "/v4/members/"+gone.UID, f.owner, nil)
	f.member = opsM.UID
	f.target = f.freshMember()

	k := env.Must(201, "POST", "/v4/api-keys", f.owner, map[string]any{"name": "to revoke"}).Obj()
	revoked, _ := k["key"].(string)
	env.Must(200, "DELETE", "/v4/api-keys/"+k["uid"].(string), f.owner, nil)
	f.ownerKeyUID = f.freshKey(f.owner)

	f.callers = []caller{
		{"owner", model.RoleOwner, f.owner},
		{"ops", model.RoleOps, opsM.Key},
		{"user", model.RoleUser, userM.Key},
		{"no key", "", ""},
		{"revoked key", "", revoked},
		{"unknown key", "", randomKey()},
		{"malformed key", "", "Bearer not-a-key"},
		{"removed member's key", "", gone.Key},
	}

	f.identity = f.freshIdentity(true)
	f.linkToken = f.loginLink(f.identity)
	f.run = f.liveRun()
	f.asyncRun = f.freshAsyncRun()
	f.callback, f.webhook = f.deliveries(f.run)
	f.schedule = f.freshSchedule()
	f.invite = f.freshInvitation()
	return f
}

func (f *roleFix) next() int64 { return f.seq.Add(1) }

// freshIdentity creates an identity, with a connected LinkedIn account if
// connected, and returns its uid.
func (f *roleFix) freshIdentity(connected bool) string {
	f.t.Helper()
	id := f.env.Must(200, "POST", "/v4/identities", f.owner, map[string]any{"name": fmt.Sprintf("Identity %d", f.next())}).Obj()
	uid, _ := id["uid"].(string)
	if connected {
		f.env.Must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", f.owner,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": fmt.Sprintf("li_at-%d", f.next())}}})
	}
	return uid
}

// loginLink makes a fresh login link of an identity (after its connection,
// which may revoke earlier ones) and returns its token.
func (f *roleFix) loginLink(identity string) string {
	f.t.Helper()
	r := f.env.Must(200, "POST", "/v4/identities/"+identity+"/generate-login-links", f.owner, nil)
	m := linkRE.FindStringSubmatch(string(r.Body))
	if m == nil {
		f.t.Fatalf("no login link in %s", r.Body)
	}
	return m[1]
}

// csrfRE finds the connect page's CSRF field.
var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// linkRE finds a login link's token in a JSON answer.
var linkRE = regexp.MustCompile(`/connect/([A-Za-z0-9_-]+)"`)

func (f *roleFix) freshMember() string {
	f.t.Helper()
	return f.quickMember(fmt.Sprintf("member%d@roles.test", f.next()), model.RoleUser).UID
}

// quickMember adds a member with role and a key of theirs straight to the
// database, as an accepted invitation would, but without its password hash
// (bcrypt takes seconds under the race detector); invitations and their
// acceptance are the members tests' subject, and the matrix's one call.
func (f *roleFix) quickMember(email, role string) member {
	f.t.Helper()
	ctx := context.Background()
	p := principal(f.t, f.env, f.owner)
	m, err := store.InsertMember(ctx, f.env.App.DB.Handles().W, model.Member{UID: uuid.NewString(), WorkspaceID: p.WorkspaceID,
		Email: email, Name: "Member " + role, Role: role}, "")
	if err != nil {
		f.t.Fatalf("insert member: %v", err)
	}
	key, display, hash := auth.NewAPIKey()
	if _, err := store.InsertAPIKey(ctx, f.env.App.DB.Handles().W, model.APIKey{UID: uuid.NewString(), WorkspaceID: p.WorkspaceID,
		MemberID: m.ID, Name: "first key", Prefix: display}, hash); err != nil {
		f.t.Fatalf("insert key: %v", err)
	}
	if got := principal(f.t, f.env, key); got.Role != role || got.MemberUID != m.UID {
		f.t.Fatalf("the new key acts as %s %s, want %s %s", got.Role, got.MemberUID, role, m.UID)
	}
	return member{UID: m.UID, Email: email, Role: role, Key: key}
}

// freshKey creates a key for the member holding key (their own).
func (f *roleFix) freshKey(key string) string {
	f.t.Helper()
	k := f.env.Must(201, "POST", "/v4/api-keys", key, map[string]any{"name": fmt.Sprintf("key %d", f.next())}).Obj()
	uid, _ := k["uid"].(string)
	return uid
}

func (f *roleFix) freshInvitation() string {
	f.t.Helper()
	inv := f.env.Must(201, "POST", "/v4/members", f.owner,
		map[string]any{"email": fmt.Sprintf("invited%d@roles.test", f.next()), "role": "user"}).Obj()
	token, _ := inv["token"].(string)
	return token
}

func (f *roleFix) liveRun() string {
	f.t.Helper()
	r := f.env.Must(200, "POST", "/v4/actions/googlemaps-search-places/run/live", f.owner, liveBodyOf())
	uid := r.Header.Get("X-Run-Uid")
	if uid == "" {
		f.t.Fatal("a live run answered without X-Run-Uid")
	}
	return uid
}

func (f *roleFix) freshAsyncRun() string {
	f.t.Helper()
	r := f.env.Must(200, "POST", "/v4/actions/googlemaps-search-places/run/async", f.owner, asyncBodyOf()).Obj()
	uid, _ := r["run_uid"].(string)
	if uid == "" {
		f.t.Fatalf("async run without run_uid: %v", r)
	}
	return uid
}

func (f *roleFix) freshSchedule() string {
	f.t.Helper()
	r := f.env.Must(200, "POST", "/v4/actions/googlemaps-search-places/run/schedule", f.owner, scheduleBodyOf()).Obj()
	uid, _ := r["schedule_uid"].(string)
	if uid == "" {
		f.t.Fatalf("schedule without schedule_uid: %v", r)
	}
	return uid
}

// deliveries stores a callback delivery of run and an integration webhook
// delivery directly: no job sends them, so they stay put.
func (f *roleFix) deliveries(runUID string) (callback, webhook string) {
	f.t.Helper()
	ctx := context.Background()
	p := principal(f.t, f.env, f.owner)
	run, err := store.GetRun(ctx, f.env.App.DB.Handles().R, p.WorkspaceID, runUID)
	if err != nil {
		f.t.Fatal(err)
	}
	callback, webhook = uuid.NewString(), uuid.NewString()
	if _, err := store.InsertDelivery(ctx, f.env.App.DB.Handles().W, model.Delivery{UID: callback, Kind: "callback",
		WorkspaceID: p.WorkspaceID, RunID: run.ID, BatchUID: uuid.NewString(), RefUID: uuid.NewString(),
		URL: roleCallback, Payload: "{}"}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := store.InsertDelivery(ctx, f.env.App.DB.Handles().W, model.Delivery{UID: webhook, Kind: "webhook",
		WorkspaceID: p.WorkspaceID, RefUID: uuid.NewString(), Event: "AUTH_SUCCESS",
		URL: "https://example.com/webhook", Payload: "{}"}); err != nil {
		f.t.Fatal(err)
	}
	return callback, webhook
}

// attachmentURL is the download URL of a file an identity of the workspace
// sent in a LinkedIn message, and that identity, made on first use (an
// identity on a sandbox account with a network, three live calls).
func (f *roleFix) attachmentURL() (identity, fileURL string) {
	f.t.Helper()
	if f.attachment != "" {
		return f.attIdentity, f.attachment
	}
	id := f.env.Must(200, "POST", "/v4/identities", f.owner, map[string]any{"name": "Sends files"}).Obj()
	f.attIdentity, _ = id["uid"].(string)
	f.env.Must(200, "POST", "/v4/identities/"+f.attIdentity+"/integrations/linkedin", f.owner,
		map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_classic"}}})
	live := func(slug string, body map[string]any) apitest.Resp {
		body["identity_ids"] = []string{f.attIdentity}
		return f.env.Must(200, "POST", "/v4/actions/"+slug+"/run/live", f.owner, body)
	}
	conns := live("linkedin-extract-connections", map[string]any{}).Arr()
	if len(conns) == 0 {
		f.t.Fatal("the fixture's account has no connection to write to")
	}
	to, _ := conns[0].(map[string]any)["linkedin_profile_url"].(string)
	sent := live("linkedin-message-profile", map[string]any{"input": map[string]any{"linkedin_profile_url": to},
		"parameters": map[string]any{"message": "The deck", "files": []any{map[string]any{"filename": "deck.pdf",
			"file_data": "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K"}}}}).Obj()
	thread, _ := sent["linkedin_thread_id"].(string)
	msgs := live("linkedin-extract-messages", map[string]any{"input": map[string]any{
		"linkedin_thread_url": "https://www.linkedin.com/messaging/thread/" + thread + "/"}}).Arr()
	for _, m := range msgs {
		atts, _ := m.(map[string]any)["attachments"].([]any)
		for _, a := range atts {
			if urn, _ := a.(map[string]any)["assetUrn"].(string); urn != "" {
				f.attachment = "https://www.linkedin.com/dms/" + urn[strings.LastIndex(urn, ":")+1:]
				return f.attIdentity, f.attachment
			}
		}
	}
	f.t.Fatalf("no attachment in the thread the fixture wrote to: %v", msgs)
	return "", ""
}

func placesInput() map[string]any {
	return map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza"}
}

func liveBodyOf() map[string]any { return map[string]any{"input": placesInput()} }

func asyncBodyOf() map[string]any {
	return map[string]any{"inputs": []any{placesInput()}, "callback": map[string]any{"url": roleCallback}}
}

func scheduleBodyOf() map[string]any {
	b := asyncBodyOf()
	b["cron"], b["timezone"], b["name"] = "0 9 * * 1", "Europe/Paris", "Weekly"
	return b
}

// value is a real object of the workspace for a path wildcard, by the
// resource the wildcard names. fresh asks for one made for this call (the
// call may change or consume it); c is the caller (API keys are their own).
func (f *roleFix) value(c caller, name, resource string, fresh bool) string {
	f.t.Helper()
	switch resource + "/{" + name + "}" {
	case "members/{uid}":
		if fresh {
			return f.freshMember()
		}
		return f.member
	case "api-keys/{uid}":
		if c.role != "" && fresh {
			return f.freshKey(c.key)
		}
		return f.ownerKeyUID
	case "identities/{uid}", "users/{uid}": // /users: the Edges name of identities
		if fresh {
			return f.freshIdentity(true)
		}
		return f.identity
	case "integrations/{integration}":
		return "linkedin"
	case "runs/{uid}":
		if fresh {
			return f.freshAsyncRun()
		}
		return f.run
	case "callbacks/{uid}":
		return f.callback
	case "deliveries/{uid}": // /webhooks/deliveries/{uid}
		return f.webhook
	case "schedules/{uid}":
		if fresh {
			return f.freshSchedule()
		}
		return f.schedule
	case "invitations/{uid}":
		// A fresh one each time: revoking uses it up.
		inv := f.env.Must(201, "POST", "/v4/members", f.owner,
			map[string]any{"email": fmt.Sprintf("invited%d@roles.test", f.next()), "role": "user"}).Obj()
		uid, _ := inv["uid"].(string)
		return uid
	case "invitations/{token}":
		if fresh {
			return f.freshInvitation()
		}
		return f.invite
	case "login-links/{token}", "connect/{token}":
		return f.linkToken
	case "actions/{slug}":
		return "linkedin-visit-profile"
	case "approvals/{uid}":
		// A fresh one each time: a decision uses it up.
		ap, err := f.env.App.Agents.RequestApproval(context.Background(), principal(f.t, f.env, f.owner), agents.Policy{},
			"linkedin-like-post", "linkedin-like-post", []byte(`{"input":{"linkedin_post_url":"https://www.linkedin.com/posts/x"}}`))
		if err != nil {
			f.t.Fatal(err)
		}
		return ap.UID
	}
	f.t.Fatalf("no real object for the wildcard %s/{%s}: add one to roleFix.value", resource, name)
	return ""
}

// fill replaces path's wildcards with real objects of the workspace.
func (f *roleFix) fill(path string, c caller, fresh bool) string {
	return fill(path, func(name, resource string) string { return url.PathEscape(f.value(c, name, resource, fresh)) })
}

// roleCall is how the matrix calls a route whose call needs more than real
// path objects: a body that does something, a query naming an object, or a
// resource in a given state. ok lists what an allowed caller may get.
type roleCall struct {
	// prep returns the path (route path filled, with its query) and body.
	prep func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any)
	ok   []int
	// keyIgnored, when set, is the call of a public route made by every
	// caller but the keyless one, to whom the full call is left: the route
	// ignores their keys, and must show it by answering them as it answers
	// anyone.
	keyIgnored *roleCall
}

// withBody fills the path and sends body.
func withBody(body any, ok ...int) roleCall {
	return roleCall{prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		return f.fill(rt.Path, c, fresh), body
	}, ok: ok}
}

// filled fills the path and sends no body.
func filled(ok ...int) roleCall { return withBody(nil, ok...) }

// roleCalls are the routes' calls. A route not listed gets its path filled
// with real objects and "{}" as its body when it takes one, and an allowed
// caller must get neither 401, 403, 404 nor a 5xx.
var roleCalls = map[string]roleCall{
	"GET !/healthz":               filled(200),
	"GET !/readyz":                filled(200),
	"GET !/metrics":               filled(200),
	"GET /openapi.json":           filled(200),
	"GET /executor-protocol.json": filled(200),
	"POST /invitations/{token}/accept": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		return f.fill(rt.Path, c, fresh), map[string]any{"name": "Invited", "password": "correct horse battery"}
	}, ok: []int{201}, keyIgnored: &roleCall{prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		// Accepting hashes the password (bcrypt: seconds under -race); a too
		// short one is refused by the schema, before any hashing or claim.
		return f.fill(rt.Path, c, false), map[string]any{"password": "short"}
	}, ok: []int{400}}},
	"GET /login-links/{token}": filled(200),
	"GET !/connect/{token}":    filled(200),
	// The hosted page's form: a new link's page, its CSRF token, an account.
	"POST !/connect/{token}": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		token := f.linkToken
		if fresh {
			token = f.loginLink(f.freshIdentity(false))
		}
		page := f.env.Must(200, "GET", "/connect/"+token, "", nil)
		m := csrfRE.FindStringSubmatch(string(page.Body))
		if m == nil {
			f.t.Fatalf("no CSRF field on the connect page: %s", trunc(page.Body))
		}
		form := url.Values{"op": {"cookie"}, "li_at": {fmt.Sprintf("li_at-%d", f.next())}, "csrf": {html.UnescapeString(m[1])}}
		return "!/connect/" + token, form.Encode()
	}, ok: []int{200}},

	"GET /workspaces":                   filled(200),
	"GET /workspaces/consumption":       filled(200),
	"GET /workspaces/activity":          filled(200),
	"POST /members/{uid}/password-link": filled(201),
	"GET /workspaces/settings":          filled(200),
	"PUT /workspaces/settings":          withBody(map[string]any{"auto_resume_on_reconnect": true}, 200),
	"GET /audit-events":                 filled(200),

	"GET /members":                    filled(200),
	"GET /invitations":                filled(200),
	"DELETE /invitations/{uid}":       filled(200),
	"POST /invitations/{uid}/reissue": filled(200),
	"GET /identities/{uid}/limits":    filled(200),
	"POST /members": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		return rt.Path, map[string]any{"email": fmt.Sprintf("new%d@roles.test", f.next()), "role": "user"}
	}, ok: []int{201}},
	// A role change on a member kept for it (fresh members cost a password hash each).
	"PATCH /members/{uid}": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		return "/members/" + f.target, map[string]any{"role": "ops"}
	}, ok: []int{200}},
	"DELETE /members/{uid}":  filled(200),
	"GET /api-keys":          filled(200),
	"POST /api-keys":         withBody(map[string]any{"name": "mine"}, 201),
	"DELETE /api-keys/{uid}": filled(200),

	"GET /identities":                             filled(200),
	"POST /identities":                            withBody(map[string]any{"name": "Made by a member"}, 200),
	"GET /identities/{uid}":                       filled(200),
	"PUT /identities/{uid}":                       withBody(map[string]any{"name": "Renamed by a member"}, 200),
	"DELETE /identities/{uid}":                    filled(200),
	"POST /identities/{uid}/generate-login-links": filled(200),
	"POST /identities/{uid}/login-links":          filled(200),
	"DELETE /identities/{uid}/login-links":        filled(200),
	"GET /identities/{uid}/actions/{slug}/limits": filled(200),
	// The tests configure no proxy pool: 409 says so, from the handler.
	"POST /identities/{uid}/refresh-proxy": filled(409),
	"PUT /identities/{uid}/limits":         withBody(map[string]any{"profile_visits": 40}, 200),
	"POST /identities/{uid}/integrations/{integration}": withBody(
		map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "li_at-reconnected"}}}, 200),
	"GET /identities/{uid}/integrations/{integration}": filled(200),
	// A pool account is rented for an identity without its own account.
	"POST /identities/{uid}/rent": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		uid := f.identity
		if fresh {
			uid = f.freshIdentity(false)
		}
		return "/identities/" + uid + "/rent", map[string]any{"platform": "linkedin", "days": 1}
	}, ok: []int{201}},
	"DELETE /identities/{uid}/rent": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		uid := f.identity
		if fresh {
			uid = f.freshIdentity(false)
			f.env.Must(201, "POST", "/v4/identities/"+uid+"/rent", f.owner, map[string]any{"platform": "linkedin", "days": 1})
		}
		return "/identities/" + uid + "/rent", nil
	}, ok: []int{200}},
	"DELETE /identities/{uid}/integrations/{integration}": filled(200),
	// No login checkpoint is pending: 409, from the handler.
	"POST /identities/{uid}/integrations/{integration}/checkpoint": withBody(map[string]any{}, 409),

	"GET /workspaces/mcp":     filled(200),
	"PUT /workspaces/mcp":     withBody(map[string]any{"approval_required": false}, 200),
	"GET /api-keys/{uid}/mcp": filled(200),
	"PUT /api-keys/{uid}/mcp": withBody(map[string]any{"approval_required": true}, 200),
	"GET /approvals":          filled(200),
	"GET /approvals/{uid}":    filled(200),
	"POST /approvals/{uid}":   withBody(map[string]any{"decision": "reject"}, 200),

	"GET /actions":        filled(200),
	"GET /actions/{slug}": filled(200),
	"POST /actions/{slug}/run/live": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		return "/actions/googlemaps-search-places/run/live", liveBodyOf()
	}, ok: []int{200}},
	"POST /actions/{slug}/run/async": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		return "/actions/googlemaps-search-places/run/async", asyncBodyOf()
	}, ok: []int{200}},
	"POST /actions/{slug}/run/schedule": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		return "/actions/googlemaps-search-places/run/schedule", scheduleBodyOf()
	}, ok: []int{200}},

	"GET /actions/linkedin-download-attachment": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		identity, file := f.attachmentURL()
		return rt.Path + "?" + url.Values{"identity_id": {identity}, "url": {file}}.Encode(), nil
	}, ok: []int{200}},
	"POST /api/actions/{slug}/async": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		return "/api/actions/googlemaps-search-places/async", asyncBodyOf()
	}, ok: []int{200}},
	"POST /actions/{slug}/schedule": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		return "/actions/googlemaps-search-places/schedule", scheduleBodyOf()
	}, ok: []int{200}},
	"GET /users":  filled(200),
	"POST /users": withBody(map[string]any{"name": "Made by a member as a user"}, 200),

	"GET /runs":              filled(200),
	"GET /runs/{uid}":        filled(200),
	"GET /runs/{uid}/status": filled(200),
	"GET /runs/{uid}/outputs": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		return "/runs/" + f.asyncRun + "/outputs", nil // outputs are an async run's
	}, ok: []int{200}},
	// A fresh async run may already have finished (409) or not (200).
	"POST /runs/{uid}/cancel": filled(200, 409),
	// A run that is not BLOCKED cannot be resumed: the handler ran.
	"POST /runs/{uid}/resume":     filled(409),
	"POST /api/runs/{uid}/resume": filled(409),
	"GET /api/runs/list":          filled(200),
	"GET /api/runs/get": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		return rt.Path + "?uid=" + f.run, nil
	}, ok: []int{200}},
	"GET /runs/callbacks":                    filled(200),
	"GET /runs/callbacks/{uid}":              filled(200),
	"POST /runs/callbacks/{uid}/replay":      filled(200),
	"GET /webhooks/deliveries":               filled(200),
	"GET /webhooks/deliveries/{uid}":         filled(200),
	"POST /webhooks/deliveries/{uid}/replay": filled(200),

	"GET /schedules":               filled(200),
	"GET /schedules/{uid}":         filled(200),
	"PATCH /schedules/{uid}":       withBody(map[string]any{"name": "Renamed"}, 200),
	"DELETE /schedules/{uid}":      filled(200),
	"POST /schedules/{uid}/pause":  filled(200),
	"POST /schedules/{uid}/resume": filled(409), // an ACTIVE schedule: the handler ran
	"POST /schedules/{uid}/cancel": filled(200),
	"GET /api/schedules/list":      filled(200),
	"GET /api/schedules/get": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		return rt.Path + "?uid=" + f.schedule, nil
	}, ok: []int{200}},
	"POST /api/schedules/manage": {prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
		uid := f.schedule
		if fresh {
			uid = f.freshSchedule()
		}
		return rt.Path, map[string]any{"uid": uid, "action": "pause"}
	}, ok: []int{200}},
}

// dummyBody is what a walk over every route sends to body-taking routes: a
// body that parses, so that a caller who may call the route gets at most a
// 400 for its content.
func dummyBody(method string, hasBody bool) any {
	if hasBody {
		return "{}"
	}
	return nil
}

// TestRoleMatrix calls every route of the live route table, under both
// prefixes, as every kind of caller, on real objects of the caller's
// workspace, and holds each answer to the hand-written routeRoles: a role
// that may call the route gets the route's answer (not 401, 403 or 404), any
// other member gets 403 FORBIDDEN, a caller without a working key 401
// UNAUTHORIZED (public routes: never 401 or 403). A route missing from
// routeRoles, or listed there but gone, fails the test.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		f := newRoleFix(t, env)
		routes := env.App.API.Routes()
		if len(routes) == 0 {
			t.Fatal("empty route table")
		}
		seen := map[string]bool{}
		for _, rt := range routes {
			name := routeName(rt)
			seen[name] = true
			least, ok := routeRoles[name]
			if !ok {
				t.Errorf("route %s is not in routeRoles: add it, with the least role that may call it", name)
				continue
			}
			for _, c := range f.callers {
				checkRoleCall(t, f, rt, least, c)
			}
		}
		var stale []string
		for name := range routeRoles {
			if !seen[name] {
				stale = append(stale, name)
			}
		}
		sort.Strings(stale)
		for _, name := range stale {
			t.Errorf("routeRoles lists %s, which is not in the route table", name)
		}
	})
}

// checkRoleCall makes one route's calls as c, under each prefix.
func checkRoleCall(t *testing.T, f *roleFix, rt *api.Route, least string, c caller) {
	t.Helper()
	name := routeName(rt)
	allowed := least == public || (c.role != "" && mayCall(least, c.role))
	call, listed := roleCalls[name]
	if !listed {
		call = roleCall{prep: func(f *roleFix, rt *api.Route, c caller, fresh bool) (string, any) {
			return f.fill(rt.Path, c, fresh), dummyBody(rt.Method, rt.Body != nil || rt.MaxBody > 0)
		}}
	}
	// A call that may change or consume what it acts on gets fresh objects
	// when it is allowed; a refused call changes nothing, so shares them.
	fresh := allowed && rt.Method != http.MethodGet
	for i, prefix := range prefixesOf(rt) {
		// /v1 serves the same routes: there, every member and one keyless
		// caller for a route that needs a key; the keyless caller alone for a
		// public one.
		if i > 0 && c.name != "no key" && (c.role == "" || least == public) {
			continue
		}
		do := call
		if least == public && c.name != "no key" && call.keyIgnored != nil {
			do = *call.keyIgnored
		}
		path, body := do.prep(f, rt, c, fresh)
		path = prefix + strings.TrimPrefix(path, "!")
		what := fmt.Sprintf("%s %s as %s", rt.Method, path, c.name)
		r := f.env.Do(rt.Method, path, c.key, body)
		switch {
		case r.Status >= 500:
			t.Errorf("%s: %d: %s", what, r.Status, trunc(r.Body))
		case least == public:
			if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden || r.Status == http.StatusNotFound {
				t.Errorf("%s: public route answered %d: %s", what, r.Status, trunc(r.Body))
			} else if len(do.ok) > 0 && !slices.Contains(do.ok, r.Status) {
				t.Errorf("%s: %d, want one of %v: %s", what, r.Status, do.ok, trunc(r.Body))
			}
		case c.role == "":
			checkError(t, f.env, what, r, http.StatusUnauthorized, "UNAUTHORIZED")
		case allowed:
			switch {
			case r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden:
				t.Errorf("%s: the %s role may call %s (least role: %s) but got %d: %s", what, c.role, name, least, r.Status, trunc(r.Body))
			case len(do.ok) > 0 && !slices.Contains(do.ok, r.Status):
				t.Errorf("%s: %d, want one of %v: %s", what, r.Status, do.ok, trunc(r.Body))
			case len(do.ok) == 0 && r.Status == http.StatusNotFound:
				t.Errorf("%s: 404 on real objects of the workspace: %s", what, trunc(r.Body))
			}
			if r.Status >= 400 {
				checkError(t, f.env, what, r, r.Status, "")
			}
		default:
			checkError(t, f.env, what, r, http.StatusForbidden, "FORBIDDEN")
		}
	}
}

// prefixesOf lists where a route answers: /v4 and /v1, or the root for the
// unprefixed operator routes.
func prefixesOf(rt *api.Route) []string {
	if strings.HasPrefix(rt.Path, "!") {
		return []string{""}
	}
	return []string{"/v4", "/v1"}
}

// TestAPIKeyHeaderCaseInsensitive: §1 says the header name is case-insensitive.
func TestAPIKeyHeaderCaseInsensitive(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, "sqlite")
	key := env.NewWorkspace("Case", "unlimited")
	for _, name := range []string{"x-api-key", "X-API-KEY", "X-Api-Key"} {
		req, _ := http.NewRequest("GET", env.URL+"/v4/workspaces", nil)
		req.Header[name] = []string{key} // bypass canonicalisation on the client
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("header %q: %d: %s", name, res.StatusCode, body)
		}
	}
	// A key with surrounding junk is not the key.
	r := env.Do("GET", "/v4/workspaces", key+"x", nil)
	checkError(t, env, "key with a trailing character", r, 401, "UNAUTHORIZED")
	r = env.Do("GET", "/v4/workspaces", strings.ToUpper(key), nil)
	checkError(t, env, "upper-cased key", r, 401, "UNAUTHORIZED")
}
