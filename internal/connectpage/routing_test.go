package connectpage_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// postForm posts the hosted page's form with its CSRF token.
func postForm(t *testing.T, e *apitest.Env, link string, form url.Values) string {
	t.Helper()
	_, page := get(t, e, link, "text/html")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field: %s", page)
	}
	form.Set("csrf", html.UnescapeString(m[1]))
	res, err := http.PostForm(link, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return html.UnescapeString(string(b))
}

// With LinkedIn routed nowhere, the account's owner is told that this
// service does not connect LinkedIn accounts, not that the cookie was wrong
// nor to try again.
func TestHostedPageWhenNothingServesLinkedIn(t *testing.T) {
	t.Setenv("FIRSTMATE_SIM", "off")
	e := apitest.Start(t, "sqlite")
	key := e.NewWorkspace("Unserved", "developer")
	for _, form := range []url.Values{{"op": {"cookie"}, "li_at": {"AQEDAR-a-real-cookie"}},
		{"op": {"login"}, "username": {"ada@example.com"}, "password": {"correct horse"}}} {
		uid := e.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Ada " + form.Get("op")}).Obj()["uid"].(string)
		link := e.Must(200, "POST", "/v4/identities/"+uid+"/generate-login-links", key, nil).Obj()["linkedin"].(string)
		body := postForm(t, e, link, form)
		if !strings.Contains(body, "cannot connect LinkedIn accounts at the moment") || strings.Contains(body, "Try again") ||
			strings.Contains(body, "FIRSTMATE_") {
			t.Errorf("%s: the page says:\n%s", form.Get("op"), body)
		}
	}
}
