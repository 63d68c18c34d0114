package connectpage_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// linkEnv drives login links through the API and the hosted page as an
// end user's browser would (plain HTTP, Accept: text/html).
type linkEnv struct {
	*apitest.Env
	t   *testing.T
	key string
}

func (e *linkEnv) identity(name string) string {
	e.t.Helper()
	return e.Must(200, "POST", "/v4/identities", e.key, map[string]any{"name": name}).Obj()["uid"].(string)
}

// generate makes a fresh link for the identity and returns its URL.
func (e *linkEnv) generate(uid string) string {
	e.t.Helper()
	// {"linkedin": URL} at the top level, as the reference answers.
	return e.Must(200, "POST", "/v4/identities/"+uid+"/generate-login-links", e.key, nil).Obj()["linkedin"].(string)
}

// page fetches the hosted page as a browser; api as an API client (JSON).
func (e *linkEnv) page(link string) (int, string) {
	e.t.Helper()
	return get(e.t, e.Env, link, "text/html")
}

func (e *linkEnv) api(link string) (int, string) {
	e.t.Helper()
	return get(e.t, e.Env, link, "application/json")
}

// post submits a form of the page, with the CSRF token the page showed.
func (e *linkEnv) post(link string, form url.Values) (int, string) {
	e.t.Helper()
	_, html := e.page(link)
	m := csrfRE.FindStringSubmatch(html)
	if m == nil {
		e.t.Fatalf("no form on the page of %s: %s", link, html)
	}
	return e.postWith(link, m[1], form)
}

// postWith submits a form with a given CSRF token.
func (e *linkEnv) postWith(link, csrf string, form url.Values) (int, string) {
	e.t.Helper()
	form.Set("csrf", csrf)
	req, err := http.NewRequest("POST", link, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// wantGone checks that a link answers 410 with reason (used or revoked),
// as a page and as JSON.
func (e *linkEnv) wantGone(what, link, reason string) {
	e.t.Helper()
	status, html := e.page(link)
	heading := map[string]string{"used": "Link already used", "revoked": "Link no longer valid"}[reason]
	if status != 410 || !strings.Contains(html, heading) || strings.Contains(html, `name="csrf"`) {
		e.t.Errorf("%s: page %d, want 410 %q: %s", what, status, heading, html)
	}
	status, body := e.api(link)
	if label := "LOGIN_LINK_" + strings.ToUpper(reason); status != 410 || !strings.Contains(body, label) {
		e.t.Errorf("%s: JSON %d %s, want 410 %s", what, status, body, label)
	}
	tok := link[strings.LastIndex(link, "/")+1:]
	if v := e.Must(200, "GET", "/v4/login-links/"+tok, "", nil).Obj(); v["valid"] != false || v["reason"] != reason {
		e.t.Errorf("%s: GET /login-links: %v, want reason %s", what, v, reason)
	}
}

func (e *linkEnv) wantUsable(what, link string) {
	e.t.Helper()
	if status, html := e.page(link); status != 200 || !strings.Contains(html, `name="csrf"`) {
		e.t.Errorf("%s: page %d, want the connect forms: %s", what, status, html)
	}
}

// TestLoginLinksAreRevoked: a new link revokes the identity's earlier
// ones; connecting the account (by the API, or through the page, whose own
// link is then used up) revokes them too; DELETE /identities/{uid}/login-links
// revokes them all (ops and owners, audited). A used or revoked link
// shows the 410 page, and no form.
func TestLoginLinksAreRevoked(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.Start(t, dialect)
		e := &linkEnv{Env: env, t: t, key: env.NewWorkspace("Links "+dialect, "developer")}

		// A new link revokes the earlier ones, not another identity's.
		ada, bob := e.identity("Ada Lovelace"), e.identity("Bob Babbage")
		a1 := e.generate(ada)
		b1 := e.generate(bob)
		a2 := e.generate(ada)
		e.wantGone("a link after a newer one", a1, "revoked")
		e.wantUsable("the newer link", a2)
		e.wantUsable("another identity's link", b1)

		// Connecting the account by the API revokes the identity's links.
		g := e.Must(200, "POST", "/v4/identities/"+ada+"/integrations/linkedin", e.key,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_classic"}}}).Obj()
		if g["status"] != "VALID" {
			t.Fatalf("connect: %v", g)
		}
		e.wantGone("a link after the API connected the account", a2, "revoked")
		e.wantUsable("another identity's link after a connect", b1)

		// A connect that did not connect (refused cookie) revokes nothing.
		a3 := e.generate(ada)
		e.Must(200, "POST", "/v4/identities/"+ada+"/integrations/linkedin", e.key,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "not-a-session"}}})
		e.wantUsable("a link after a refused connect", a3)

		// Through the page: a login waiting on a checkpoint keeps the link;
		// the connection uses it up (used, not revoked).
		if status, html := e.post(a3, url.Values{"op": {"login"}, "username": {"2fa@sim.test"}, "password": {"sandbox"}}); status != 200 ||
			!strings.Contains(html, `data-type="2FA"`) {
			t.Fatalf("login on the page: %d %s", status, html)
		}
		if status, html := e.page(a3); status != 200 || !strings.Contains(html, `data-type="2FA"`) {
			t.Errorf("the link during the checkpoint: %d %s", status, html)
		}
		if status, html := e.post(a3, url.Values{"op": {"code"}, "code": {"123456"}}); status != 200 || !strings.Contains(html, "Account connected") {
			t.Fatalf("code on the page: %d %s", status, html)
		}
		e.wantGone("the page's link after it connected the account", a3, "used")

		// The cookie form too; the identity's other links are revoked then.
		b2 := e.generate(bob)
		e.wantGone("a link after a newer one", b1, "revoked")
		if status, html := e.post(b2, url.Values{"op": {"cookie"}, "li_at": {"sim_classic"}}); status != 200 || !strings.Contains(html, "Account connected") {
			t.Fatalf("cookie on the page: %d %s", status, html)
		}
		e.wantGone("the page's link after it connected the account", b2, "used")

		// DELETE revokes them all; a second DELETE finds none.
		a4 := e.generate(ada)
		r := e.Must(200, "DELETE", "/v4/identities/"+ada+"/login-links", e.key, nil).Obj()
		if r["revoked"] != float64(1) || r["identity_uid"] != ada {
			t.Errorf("DELETE login-links: %v", r)
		}
		e.wantGone("a link after DELETE", a4, "revoked")
		if r := e.Must(200, "DELETE", "/v4/identities/"+ada+"/login-links", e.key, nil).Obj(); r["revoked"] != float64(0) {
			t.Errorf("second DELETE: %v", r)
		}
		// A form shown before the revocation connects nothing after it.
		cy := e.identity("Cy Revoked")
		c1 := e.generate(cy)
		_, html := e.page(c1)
		csrf := csrfRE.FindStringSubmatch(html)
		if csrf == nil {
			t.Fatalf("no form: %s", html)
		}
		e.Must(200, "DELETE", "/v4/identities/"+cy+"/login-links", e.key, nil)
		if status, body := e.postWith(c1, csrf[1], url.Values{"op": {"cookie"}, "li_at": {"sim_classic"}}); status != 410 {
			t.Errorf("posting to a revoked link: %d %s", status, body)
		}
		if r := e.Do("GET", "/v4/identities/"+cy+"/integrations/linkedin", e.key, nil); r.Status != 404 {
			t.Errorf("a revoked link connected the account: %d %s", r.Status, r.Body)
		}

		// Roles: ops may, the read-only user may not; another workspace's
		// identity is not found. Each DELETE is in the audit log.
		ops := e.member("ops")
		user := e.member("user")
		a5 := e.generate(ada)
		if r := e.Do("DELETE", "/v4/identities/"+ada+"/login-links", user, nil); r.Status != 403 {
			t.Errorf("user role: %d %s", r.Status, r.Body)
		}
		e.wantUsable("the link after a refused DELETE", a5)
		e.Must(200, "DELETE", "/v4/identities/"+ada+"/login-links", ops, nil)
		e.wantGone("a link after the ops DELETE", a5, "revoked")
		other := env.NewWorkspace("Other "+dialect, "developer")
		if r := e.Do("DELETE", "/v4/identities/"+ada+"/login-links", other, nil); r.Status != 404 {
			t.Errorf("another workspace: %d %s", r.Status, r.Body)
		}
		ev := e.Must(200, "GET", "/v4/audit-events?action=identity.login_links.revoke&target_uid="+ada, e.key, nil).Arr()
		if len(ev) != 3 {
			t.Errorf("%d audit events for the revocations, want 3: %v", len(ev), ev)
		}
		for _, x := range ev {
			if m := x.(map[string]any); m["target_uid"] != ada {
				t.Errorf("audit event %v", m)
			}
		}
	})
}

// member adds a member with role and returns their API key.
func (e *linkEnv) member(role string) string {
	e.t.Helper()
	inv := e.Must(201, "POST", "/v4/members", e.key, map[string]any{"email": role + "@links.test", "role": role}).Obj()
	acc := e.Must(201, "POST", "/v4/invitations/"+inv["token"].(string)+"/accept", "",
		map[string]any{"password": "a long enough password"}).Obj()
	return acc["api_key"].(string)
}
