package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Issue 17's remaining console gaps and issue 21's console part: pending
// invitations, identity Smart Limit overrides, live updates by server-sent
// events, the MCP page (endpoint, tools per key, rails, approvals), with
// role visibility, server refusal, tenancy and CSRF for each.

const readerPassword = "reader-password-1"

// keyTransport adds an API key to every request (the MCP client's).
type keyTransport struct{ key string }

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-API-Key", k.key)
	return http.DefaultTransport.RoundTrip(r)
}

// mcpSession connects the official SDK's client to the binary's /mcp.
func (f *fixture) mcpSession(t *testing.T, key string) *mcp.ClientSession {
	t.Helper()
	tr := &mcp.StreamableClientTransport{Endpoint: f.base + "/mcp", DisableStandaloneSSE: true,
		HTTPClient: &http.Client{Transport: keyTransport{key: key}}}
	s, err := mcp.NewClient(&mcp.Implementation{Name: "console-test", Version: "1"}, nil).Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatalf("connect to /mcp: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// askApproval makes an outreach call in approval mode: a pending approval.
func askApproval(t *testing.T, s *mcp.ClientSession, identityUID, target string) string {
	t.Helper()
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "linkedin-connect-profile", Arguments: map[string]any{
		"identity_ids": []string{identityUID}, "parameters": map[string]any{"message": "Hello"},
		"input": map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/" + target}}})
	if err != nil {
		t.Fatalf("call linkedin-connect-profile: %v", err)
	}
	text := res.Content[0].(*mcp.TextContent).Text
	var out map[string]any
	_ = json.Unmarshal([]byte(text), &out)
	uid, _ := out["approval_uid"].(string)
	if res.IsError || out["status"] != "PENDING" || uid == "" {
		t.Fatalf("approval mode answered %s", text)
	}
	return uid
}

// otherWorkspace creates workspace B with the CLI and returns its key.
func (f *fixture) otherWorkspace(t *testing.T, name, email string) string {
	t.Helper()
	cmd := exec.Command(f.bin, "workspace", "create", "--name", name, "--owner-email", email, "--plan", "developer", "--json")
	cmd.Env = f.env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("workspace create: %v %s", err, out)
	}
	var b struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(out[bytes.IndexByte(out, '{'):], &b); err != nil {
		t.Fatalf("workspace create output: %s", out)
	}
	return b.APIKey
}

// post sends a console form with a plain HTTP session (what a forged or
// cross-workspace request looks like); csrf "" sends none.
func (f *fixture) post(t *testing.T, c *http.Client, path string, form url.Values) (int, string) {
	t.Helper()
	res, err := c.PostForm(f.base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (f *fixture) get(t *testing.T, c *http.Client, path string) (int, string) {
	t.Helper()
	res, err := c.Get(f.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// sessionCSRF reads the session's CSRF token from a page.
func (f *fixture) sessionCSRF(t *testing.T, c *http.Client) string {
	t.Helper()
	_, page := f.get(t, c, "/members")
	return formCSRF(t, page)
}

// writeForms lists a page's forms that write, but signing out and the
// member's own API keys (the permission table's Self).
const writeForms = `Array.from(document.querySelectorAll("form[method=post]")).filter(f =>
	f.getAttribute("action") !== "/logout" && !["key-create","key-revoke"].includes((f.querySelector("[name=op]")||{}).value))
	.map(f => f.outerHTML.slice(0, 120))`

var figureRE = regexp.MustCompile(`^-?\d{1,3}(,\d{3})*(\.\d+)?$`)

func consoleGaps(t *testing.T, f *fixture, owner context.Context, identityUID, userEmail string) {
	bravoKey := f.otherWorkspace(t, "Charlie Corp Hidden", "charlie@example.test")
	ownerHTTP, st := f.httpSession(t, ownerEmail, ownerPassword)
	if st != http.StatusSeeOther {
		t.Fatalf("owner sign-in over HTTP: %d", st)
	}
	ownerCSRF := f.sessionCSRF(t, ownerHTTP)
	userHTTP, st := f.httpSession(t, userEmail, readerPassword)
	if st != http.StatusSeeOther {
		t.Fatalf("user sign-in over HTTP: %d", st)
	}
	userCSRF := f.sessionCSRF(t, userHTTP)
	reader := f.incognito(t)
	f.signIn(t, reader, userEmail, readerPassword)

	t.Run("pending invitations: listed, re-issued, revoked", func(t *testing.T) {
		do(t, owner, chromedp.Navigate(f.base+"/members"), chromedp.WaitVisible("#invite-form"),
			setValue("#inv-email", "pending-one@example.test"), chromedp.SetValue("#inv-role", "ops"), submit("#invite"))
		first := text(t, owner, "#invite-url")
		do(t, owner, chromedp.Navigate(f.base+"/members"), chromedp.WaitVisible("#invite-form"),
			setValue("#inv-email", "pending-two@example.test"), chromedp.SetValue("#inv-role", "user"), submit("#invite"))
		do(t, owner, chromedp.Navigate(f.base+"/members"), chromedp.WaitVisible("#invitations"))
		rows := eval[[]string](t, owner, `Array.from(document.querySelectorAll("#invitations tr.invitation")).map(r => r.innerText)`)
		var one string
		for _, r := range rows {
			if strings.Contains(r, "pending-one@example.test") {
				one = r
			}
		}
		if !strings.Contains(one, "ops") || !strings.Contains(one, time.Now().UTC().AddDate(0, 0, 7).Format("2006-01-02")) {
			t.Errorf("the pending invitation row (who, role, expiry in 7 days): %q of %v", one, rows)
		}
		// Re-issue pending-one's: a new link; the earlier one stops working,
		// the new one joins.
		mark := func(email, button, id string) {
			ok := eval[bool](t, owner, `(() => { const r = Array.from(document.querySelectorAll("#invitations tr.invitation"))
				.find(r => r.querySelector("td.inv-email").textContent === "`+email+`"); if (!r) return false;
				r.querySelector("`+button+`").id = "`+id+`"; return true })()`)
			if !ok {
				t.Fatalf("no pending invitation row for %s", email)
			}
		}
		mark("pending-one@example.test", "button.reissue", "reissue-target")
		do(t, owner, submit("#reissue-target"))
		if e := text(t, owner, "#invite-email"); e != "pending-one@example.test" {
			t.Fatalf("re-issued for %q", e)
		}
		second := text(t, owner, "#invite-url")
		if second == first || !strings.Contains(second, "/invite/") {
			t.Fatalf("re-issued link %q (first %q)", second, first)
		}
		joiner := f.incognito(t)
		accept := func(link string) {
			do(t, joiner, chromedp.Navigate(link), chromedp.WaitVisible("#accept"), setValue("#name", "Pending One"),
				setValue("#password", "pending-one-password"), setValue("#password2", "pending-one-password"), submit("#accept"))
		}
		accept(first)
		if m := text(t, joiner, "main"); !strings.Contains(m, "not found") {
			t.Errorf("the earlier link still works: %.300s", m)
		}
		accept(second)
		if k := text(t, joiner, "#new-key"); !strings.HasPrefix(k, "fm_") {
			t.Errorf("the re-issued link: %q", k)
		}
		// Revoke pending-two.
		do(t, owner, chromedp.Navigate(f.base+"/members"), chromedp.WaitVisible("#invitations"))
		eval[bool](t, owner, `(window.confirm = () => true, true)`)
		mark("pending-two@example.test", "button.revoke-invite", "revoke-target")
		do(t, owner, submit("#revoke-target"))
		if fl := text(t, owner, "#flash"); fl != "Invitation revoked" {
			t.Fatalf("after revoking: %q", fl)
		}
		if left := text(t, owner, "#invitations"); strings.Contains(left, "pending-one@") || strings.Contains(left, "pending-two@") {
			t.Errorf("accepted or revoked invitations still listed: %s", left)
		}
		f.shot(t, owner, "members")

		// A user sees no invitation and no control; the server refuses anyway.
		do(t, reader, chromedp.Navigate(f.base+"/members"), chromedp.WaitReady("main"))
		if n := eval[float64](t, reader, `document.querySelectorAll("#invitations, #invite-form").length`); n != 0 {
			t.Errorf("the user sees the invitations or the invite form")
		}
		if w := eval[[]string](t, reader, writeForms); len(w) > 0 {
			t.Errorf("/members shows the user write controls: %v", w)
		}
		uid := f.apiObj(t, f.key, "POST", "/members", map[string]any{"email": "pending-three@example.test", "role": "user"}, 201)["uid"].(string)
		for _, op := range []string{"invite-revoke", "invite-reissue"} {
			if st, _ := f.post(t, userHTTP, "/members", url.Values{"_csrf": {userCSRF}, "op": {op}, "invitation": {uid}}); st != 403 {
				t.Errorf("user %s: %d, want 403", op, st)
			}
		}
		// ops (pending-one, who joined above): no invitation controls either,
		// refused by the server; but ops may set the MCP rails (Operate).
		opsHTTP, st := f.httpSession(t, "pending-one@example.test", "pending-one-password")
		if st != http.StatusSeeOther {
			t.Fatalf("ops sign-in: %d", st)
		}
		opsCSRF := f.sessionCSRF(t, opsHTTP)
		if _, page := f.get(t, opsHTTP, "/members"); strings.Contains(page, `id="invitations"`) || strings.Contains(page, `id="invite-form"`) {
			t.Error("ops sees the invitations or the invite form")
		}
		if st, _ := f.post(t, opsHTTP, "/members", url.Values{"_csrf": {opsCSRF}, "op": {"invite-revoke"}, "invitation": {uid}}); st != 403 {
			t.Errorf("ops revokes an invitation: %d, want 403", st)
		}
		if _, page := f.get(t, opsHTTP, "/agents"); !strings.Contains(page, `id="rails-form"`) {
			t.Error("ops does not see the MCP rails it may set")
		}
		// Another workspace's invitation: 404 to A's owner; CSRF refused.
		inv := f.apiObj(t, bravoKey, "POST", "/members", map[string]any{"email": "c-invitee@example.test", "role": "user"}, 201)
		for _, op := range []string{"invite-revoke", "invite-reissue"} {
			if st, _ := f.post(t, ownerHTTP, "/members", url.Values{"_csrf": {ownerCSRF}, "op": {op}, "invitation": {inv["uid"].(string)}}); st != 404 {
				t.Errorf("A's owner %s B's invitation: %d, want 404", op, st)
			}
			if st, _ := f.post(t, ownerHTTP, "/members", url.Values{"op": {op}, "invitation": {uid}}); st != 403 {
				t.Errorf("%s without the CSRF token: %d, want 403", op, st)
			}
		}
		if _, page := f.get(t, ownerHTTP, "/members"); strings.Contains(page, "c-invitee@example.test") {
			t.Error("A's members page lists B's invitation")
		}
		if l := f.apiListRaw(t, bravoKey, "/invitations"); len(l) != 1 {
			t.Errorf("B's invitation was touched: %v", l)
		}
		if l := f.apiListRaw(t, f.key, "/invitations"); len(l) != 1 || l[0]["uid"] != uid {
			t.Errorf("the refused writes touched A's invitation: %v", l)
		}
	})

	t.Run("identity Smart Limit overrides and usage bars", func(t *testing.T) {
		do(t, owner, chromedp.Navigate(f.base+"/identities/"+identityUID), chromedp.WaitVisible("#limits-form"))
		rows := eval[float64](t, owner, `document.querySelectorAll("#limits tr.limit-row").length`)
		meters := eval[float64](t, owner, `document.querySelectorAll("#limits tr.limit-row meter").length`)
		if rows == 0 || meters != rows {
			t.Fatalf("%v limit rows, %v usage bars", rows, meters)
		}
		do(t, owner, setValue("#identity-overrides", `{"profile_visits": 7}`), submit("#save-limits"))
		if fl := text(t, owner, "#flash"); fl != "Smart Limit overrides saved" {
			t.Fatalf("after saving: %q", fl)
		}
		if got := f.apiObj(t, f.key, "GET", "/identities/"+identityUID+"/limits", nil, 200); got["profile_visits"] != 7.0 {
			t.Errorf("the API reads the overrides as %v", got)
		}
		ov := eval[[]string](t, owner, `Array.from(document.querySelectorAll('#limits tr.limit-row[data-key="profile_visits"] td.limit-override')).map(td => td.textContent)`)
		if len(ov) == 0 || ov[0] != "7" {
			t.Errorf("profile_visits override cells %v, want 7", ov)
		}
		// Invalid JSON is refused with the reason, nothing stored.
		do(t, owner, setValue("#identity-overrides", `{"profile_visits": "many"}`), submit("#save-limits"))
		if m := text(t, owner, "main"); !strings.Contains(m, "profile_visits") {
			t.Errorf("a bad override: %.300s", m)
		}
		if got := f.apiObj(t, f.key, "GET", "/identities/"+identityUID+"/limits", nil, 200); got["profile_visits"] != 7.0 {
			t.Errorf("a refused override changed them: %v", got)
		}
		do(t, owner, chromedp.Navigate(f.base+"/identities/"+identityUID), chromedp.WaitVisible("#limits"))
		f.shot(t, owner, "identity")
		// The user reads them, has no form; the server refuses the write.
		do(t, reader, chromedp.Navigate(f.base+"/identities/"+identityUID), chromedp.WaitVisible("#identity-overrides-view"))
		if v := text(t, reader, "#identity-overrides-view"); !strings.Contains(v, `"profile_visits": 7`) {
			t.Errorf("the user's view of the overrides: %q", v)
		}
		if w := eval[[]string](t, reader, writeForms); len(w) > 0 {
			t.Errorf("the identity page shows the user write controls: %v", w)
		}
		form := url.Values{"_csrf": {userCSRF}, "op": {"limits"}, "overrides": {`{"profile_visits": 1}`}}
		if st, _ := f.post(t, userHTTP, "/identities/"+identityUID, form); st != 403 {
			t.Errorf("user sets overrides: %d, want 403", st)
		}
		form.Del("_csrf")
		if st, _ := f.post(t, ownerHTTP, "/identities/"+identityUID, form); st != 403 {
			t.Errorf("overrides without the CSRF token: %d, want 403", st)
		}
		// B's identity: 404 for A, read or write.
		bid := f.apiObj(t, bravoKey, "POST", "/identities", map[string]any{"name": "Charlie Identity"}, 200)["uid"].(string)
		form.Set("_csrf", ownerCSRF)
		if st, _ := f.post(t, ownerHTTP, "/identities/"+bid, form); st != 404 {
			t.Errorf("A sets B's identity overrides: %d, want 404", st)
		}
		for _, p := range []string{"/identities/" + bid, "/identities/" + bid + "/events", "/identities/" + bid + "/status.json"} {
			if st, body := f.get(t, ownerHTTP, p); st != 404 || strings.Contains(body, "Charlie") {
				t.Errorf("A GET %s: %d", p, st)
			}
		}
		if got := f.apiObj(t, f.key, "GET", "/identities/"+identityUID+"/limits", nil, 200); got["profile_visits"] != 7.0 {
			t.Errorf("the refused writes changed the overrides: %v", got)
		}
	})

	t.Run("live updates by server-sent events, polling and refresh as fallbacks", func(t *testing.T) {
		do(t, owner, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible("#credits-used"))
		waitFor(t, "the overview to listen to its event stream", 20*time.Second, func() bool {
			return eval[string](t, owner, `document.querySelector("#overview-live").dataset.liveMode || ""`) == "sse"
		})
		for _, id := range []string{"#credits-left", "#credits-used"} {
			if s := text(t, owner, id); !figureRE.MatchString(s) {
				t.Errorf("%s shows %q: not a figure with separators", id, s)
			}
		}
		if s := text(t, owner, "#credits-left"); num(s) >= 1000 && !strings.Contains(s, ",") {
			t.Errorf("credits left %q has no thousands separator", s)
		}
		eval[bool](t, owner, `window.__sameDocument = true`)
		before := text(t, owner, "#credits-used")
		st, body := f.api(t, f.key, "POST", "/actions/googlemaps-extract-place/run/live",
			map[string]any{"input": map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+Live/"}})
		if st != 200 {
			t.Fatalf("live run: %d %s", st, body)
		}
		used := f.apiObj(t, f.key, "GET", "/workspaces", nil, 200)["credits_used"].(float64)
		waitFor(t, "the overview's credits to move by themselves", 30*time.Second, func() bool {
			return num(text(t, owner, "#credits-used")) == used
		})
		if !eval[bool](t, owner, `window.__sameDocument === true`) {
			t.Fatal("the overview reloaded; it should update by itself")
		}
		t.Logf("credits used %s -> %s without a reload", before, text(t, owner, "#credits-used"))
		// A browser without EventSource polls the same view, with the same figures.
		nosse := tab(t, f.browser)
		do(t, nosse, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: "delete window.EventSource"})
			return err
		}), chromedp.Navigate(f.base+"/"), chromedp.WaitVisible("#credits-used"))
		waitFor(t, "the overview to fall back to polling", 20*time.Second, func() bool {
			return eval[string](t, nosse, `document.querySelector("#overview-live").dataset.liveMode || ""`) == "poll"
		})
		eval[bool](t, nosse, `window.__sameDocument = true`)
		if st, body := f.api(t, f.key, "POST", "/actions/googlemaps-extract-place/run/live",
			map[string]any{"input": map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+Poll/"}}); st != 200 {
			t.Fatalf("live run: %d %s", st, body)
		}
		used = f.apiObj(t, f.key, "GET", "/workspaces", nil, 200)["credits_used"].(float64)
		waitFor(t, "the polled overview's credits to move", 40*time.Second, func() bool {
			return num(text(t, nosse, "#credits-used")) == used
		})
		if !eval[bool](t, nosse, `window.__sameDocument === true`) {
			t.Fatal("the polling overview reloaded")
		}
		// A run's stream: its state, then "done" once it is final.
		runs := f.apiList(t, f.key, "/runs?limit=1&sort=-created_at")
		ev := eval[string](t, owner, `fetch("/runs/`+runs[0]["uid"].(string)+`/events").then(async r => r.headers.get("content-type") + "\n" + await r.text())`)
		if !strings.HasPrefix(ev, "text/event-stream") || !strings.Contains(ev, `"terminal":true`) || !strings.Contains(ev, "event: done") {
			t.Errorf("a finished run's event stream: %.400s", ev)
		}
		// Without JavaScript: the live pages refresh themselves.
		if _, page := f.get(t, ownerHTTP, "/"); !strings.Contains(page, `<noscript><meta http-equiv="refresh"`) {
			t.Error("the overview has no refresh fallback without JavaScript")
		}
		// Another workspace's run stream: 404 before any event.
		bst, bbody := f.api(t, bravoKey, "POST", "/actions/googlemaps-extract-place/run/live",
			map[string]any{"input": map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Charlie+Cafe/"}})
		if bst != 200 {
			t.Fatalf("B's live run: %d %s", bst, bbody)
		}
		bruns := f.apiList(t, bravoKey, "/runs?limit=1")
		if st, body := f.get(t, ownerHTTP, "/runs/"+bruns[0]["uid"].(string)+"/events"); st != 404 || strings.Contains(body, "data:") {
			t.Errorf("A streams B's run: %d %.200s", st, body)
		}
	})

	t.Run("MCP page: endpoint, tools per key, rails, approvals", func(t *testing.T) {
		do(t, owner, chromedp.Navigate(f.base+"/agents"), chromedp.WaitVisible("#rails-form"))
		if e := text(t, owner, "#mcp-endpoint"); e != f.base+"/mcp" {
			t.Errorf("endpoint %q, want %s/mcp", e, f.base)
		}
		rails := f.apiObj(t, f.key, "GET", "/workspaces/mcp", nil, 200)
		if rails["endpoint"] != text(t, owner, "#mcp-endpoint") {
			t.Errorf("the page's endpoint is not GET /v4/workspaces/mcp's %v", rails["endpoint"])
		}
		tools := func(ctx context.Context) []string {
			return eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#tools code.tool-name")).map(c => c.textContent)`)
		}
		has := func(l []string, s string) bool {
			for _, x := range l {
				if x == s {
					return true
				}
			}
			return false
		}
		if l := tools(owner); len(l) == 0 || has(l, "linkedin-connect-profile") || !has(l, "linkedin-extract-people") {
			t.Errorf("outreach off by default: tools %v", l)
		}
		// Turn outreach and approvals on.
		do(t, owner, chromedp.Click("#ws-outreach"), chromedp.Click("#ws-approval"), setValue("#ttl", "30"), submit("#save-rails"))
		if fl := text(t, owner, "#flash"); fl != "MCP rails saved" {
			t.Fatalf("after saving the rails: %q", fl)
		}
		rails = f.apiObj(t, f.key, "GET", "/workspaces/mcp", nil, 200)
		if rails["outreach_enabled"] != true || rails["approval_required"] != true || rails["approval_ttl_seconds"] != 1800.0 {
			t.Fatalf("rails after the form: %v", rails)
		}
		if l := tools(owner); !has(l, "linkedin-connect-profile") {
			t.Errorf("outreach on: the key's tools lack linkedin-connect-profile")
		}
		// The key's own rails: outreach off for it hides outreach tools.
		do(t, owner, chromedp.SetValue("#key-outreach", "off"), submit("#save-key-rails"))
		if e := text(t, owner, "#eff-outreach"); e != "off" {
			t.Errorf("effective outreach for the key %q", e)
		}
		if l := tools(owner); has(l, "linkedin-connect-profile") {
			t.Errorf("outreach off for the key: it still sees linkedin-connect-profile")
		}
		do(t, owner, chromedp.SetValue("#key-outreach", ""), submit("#save-key-rails"))
		if l := tools(owner); !has(l, "linkedin-connect-profile") {
			t.Errorf("back to the workspace's rails: linkedin-connect-profile missing")
		}

		// An agent asks twice; one is approved, one denied, from the page.
		s := f.mcpSession(t, f.key)
		ap1 := askApproval(t, s, identityUID, "approve-me")
		ap2 := askApproval(t, s, identityUID, "deny-me")
		do(t, owner, chromedp.Navigate(f.base+"/agents"), chromedp.WaitVisible("#pending-approvals"))
		pending := eval[[]string](t, owner, `Array.from(document.querySelectorAll("#pending-approvals tr.approval")).map(r => r.dataset.uid)`)
		if !has(pending, ap1) || !has(pending, ap2) {
			t.Fatalf("pending approvals %v, want %s and %s", pending, ap1, ap2)
		}
		f.shot(t, owner, "agents")
		eval[bool](t, owner, `(window.confirm = () => true, true)`)
		do(t, owner, submit(`#pending-approvals tr.approval[data-uid="`+ap1+`"] button.approve`))
		st := text(t, owner, "#approval-status")
		if got := f.apiObj(t, f.key, "GET", "/approvals/"+ap1, nil, 200); got["status"] != st || st != "SUCCEEDED" {
			t.Errorf("approved: the page says %s, the API %v", st, got["status"])
		}
		if r := text(t, owner, "#approval-request"); !strings.Contains(r, "approve-me") {
			t.Errorf("the approval's call: %s", r)
		}
		if m := text(t, owner, "main"); !strings.Contains(m, "by "+ownerEmail) || !strings.Contains(m, "· "+ownerEmail) {
			t.Errorf("the approval page names neither the deciding member nor the asking key's owner: %.600s", m)
		}
		f.shot(t, owner, "approval")
		do(t, owner, chromedp.Navigate(f.base+"/agents/approvals/"+ap2), chromedp.WaitVisible("#deny"), submit("#deny"))
		if st := text(t, owner, "#approval-status"); st != "REJECTED" {
			t.Errorf("denied: %s", st)
		}
		do(t, owner, chromedp.Navigate(f.base+"/agents"), chromedp.WaitVisible("#decided-approvals"))
		if d := text(t, owner, "#decided-approvals"); !strings.Contains(d, "SUCCEEDED") || !strings.Contains(d, "REJECTED") {
			t.Errorf("decided approvals: %s", d)
		}

		// The user: the endpoint and its own key's read-only tools; no rails,
		// no approvals; the server refuses forged writes.
		ap3 := askApproval(t, s, identityUID, "forged-confirm")
		do(t, reader, chromedp.Navigate(f.base+"/agents"), chromedp.WaitVisible("#mcp-endpoint"))
		if n := eval[float64](t, reader, `document.querySelectorAll("#rails-form, #key-rails-form, #pending-approvals, button.approve").length`); n != 0 {
			t.Errorf("the user sees %v rails or approval controls", n)
		}
		if w := eval[[]string](t, reader, writeForms); len(w) > 0 {
			t.Errorf("/agents shows the user write controls: %v", w)
		}
		ul := tools(reader)
		if len(ul) == 0 || has(ul, "linkedin-connect-profile") {
			t.Errorf("a user key's tools: %v", ul)
		}
		if n := eval[float64](t, reader, `document.querySelectorAll("#tools .badge.s-PENDING").length`); n != 0 {
			t.Errorf("a user key sees %v tools that write", n)
		}
		do(t, reader, chromedp.Navigate(f.base+"/agents/approvals/"+ap3), chromedp.WaitVisible("#approval-status"))
		if n := eval[float64](t, reader, `document.querySelectorAll("#approve, #deny").length`); n != 0 {
			t.Error("the user sees approve/deny")
		}
		for path, form := range map[string]url.Values{
			"/agents":                  {"_csrf": {userCSRF}, "op": {"rails"}, "outreach_enabled": {"on"}},
			"/agents?":                 {"_csrf": {userCSRF}, "op": {"decide"}, "approval": {ap3}, "decision": {"confirm"}},
			"/agents/approvals/" + ap3: {"_csrf": {userCSRF}, "decision": {"confirm"}},
		} {
			if st, _ := f.post(t, userHTTP, path, form); st != 403 {
				t.Errorf("user POST %s %v: %d, want 403", path, form["op"], st)
			}
		}
		// CSRF: the owner's forms without the token are refused.
		for path, form := range map[string]url.Values{
			"/agents":                  {"op": {"rails"}},
			"/agents/approvals/" + ap3: {"decision": {"confirm"}},
		} {
			if st, _ := f.post(t, ownerHTTP, path, form); st != 403 {
				t.Errorf("POST %s without the CSRF token: %d, want 403", path, st)
			}
		}
		if got := f.apiObj(t, f.key, "GET", "/approvals/"+ap3, nil, 200); got["status"] != "PENDING" {
			t.Errorf("refused decisions changed the approval: %v", got["status"])
		}

		// B's approvals and keys: not listed, 404 when named.
		f.apiObj(t, bravoKey, "PUT", "/workspaces/mcp", map[string]any{"outreach_enabled": true, "approval_required": true}, 200)
		bid := f.apiObj(t, bravoKey, "POST", "/identities", map[string]any{"name": "Charlie Agent"}, 200)["uid"].(string)
		f.apiObj(t, bravoKey, "POST", "/identities/"+bid+"/integrations/linkedin",
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_classic"}}}, 200)
		bap := askApproval(t, f.mcpSession(t, bravoKey), bid, "charlie-target")
		bkeys := f.apiListRaw(t, bravoKey, "/api-keys")
		if _, page := f.get(t, ownerHTTP, "/agents"); strings.Contains(page, bap) || strings.Contains(page, bkeys[0]["uid"].(string)) {
			t.Error("A's MCP page shows B's approval or key")
		}
		if st, _ := f.get(t, ownerHTTP, "/agents/approvals/"+bap); st != 404 {
			t.Errorf("A GET B's approval: %d, want 404", st)
		}
		if st, _ := f.get(t, ownerHTTP, "/agents?key="+bkeys[0]["uid"].(string)); st != 404 {
			t.Errorf("A selects B's key: %d, want 404", st)
		}
		for path, form := range map[string]url.Values{
			"/agents":                  {"_csrf": {ownerCSRF}, "op": {"decide"}, "approval": {bap}, "decision": {"confirm"}},
			"/agents/approvals/" + bap: {"_csrf": {ownerCSRF}, "decision": {"reject"}},
			"/agents?x":                {"_csrf": {ownerCSRF}, "op": {"key-rails"}, "key": {bkeys[0]["uid"].(string)}, "outreach": {"off"}},
		} {
			if st, _ := f.post(t, ownerHTTP, path, form); st != 404 {
				t.Errorf("A POST %s on B's objects: %d, want 404", path, st)
			}
		}
		if got := f.apiObj(t, bravoKey, "GET", "/approvals/"+bap, nil, 200); got["status"] != "PENDING" {
			t.Errorf("B's approval was decided by A: %v", got["status"])
		}
		// Leave the rails as a newcomer has them.
		f.apiObj(t, f.key, "PUT", "/workspaces/mcp", map[string]any{"outreach_enabled": false, "approval_required": false}, 200)
	})

	t.Run("the health chart says not connected", func(t *testing.T) {
		do(t, owner, chromedp.Navigate(f.base+"/"), chromedp.WaitVisible("#health-table"))
		chart := eval[string](t, owner, `Array.from(document.querySelectorAll("svg.chart")).map(s => s.textContent).join(" ")`)
		tbl := text(t, owner, "#health-table")
		if strings.Contains(chart, "NONE") || strings.Contains(tbl, "NONE") {
			t.Errorf("the health chart or table says NONE: %s | %s", chart, tbl)
		}
		if !strings.Contains(chart+tbl, "not connected") {
			t.Errorf("no 'not connected' among the identities by health (an identity without account exists): %s", tbl)
		}
	})
}

func num(s string) float64 {
	var f float64
	_ = json.Unmarshal([]byte(strings.ReplaceAll(s, ",", "")), &f)
	return f
}

func (f *fixture) apiListRaw(t *testing.T, key, path string) []map[string]any {
	return f.apiList(t, key, path)
}

// darkMode switches prefers-color-scheme for the screenshots.
func darkMode(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		v := "light"
		if on {
			v = "dark"
		}
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}})
		return err
	})
}
