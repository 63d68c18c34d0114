package console

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/workspace"
)

// Login throttling: failed sign-ins per account and per client address over
// a sliding window. Past the limit, sign-in is refused (429) without
// checking the password, until the oldest failure leaves the window.
const (
	throttleWindow     = 15 * time.Minute
	maxFailsPerAccount = 5
	maxFailsPerIP      = 20
)

// throttle is kept in process memory: each node counts its own failures,
// so N nodes allow at most N times the limit, still bounded.
type throttle struct {
	mu    sync.Mutex
	fails map[string][]time.Time
}

func newThrottle() *throttle { return &throttle{fails: map[string][]time.Time{}} }

func (t *throttle) recent(key string, now time.Time) []time.Time {
	l := t.fails[key]
	i := 0
	for i < len(l) && now.Sub(l[i]) >= throttleWindow {
		i++
	}
	l = l[i:]
	if len(l) == 0 {
		delete(t.fails, key)
	} else {
		t.fails[key] = l
	}
	return l
}

// blocked reports how long a sign-in for this account from this address
// must wait (0: go ahead).
func (t *throttle) blocked(account, ip string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for key, max := range map[string]int{"a:" + account: maxFailsPerAccount, "i:" + ip: maxFailsPerIP} {
		if l := t.recent(key, now); len(l) >= max {
			wait = maxDur(wait, throttleWindow-now.Sub(l[len(l)-max]))
		}
	}
	return wait
}

func (t *throttle) fail(account, ip string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fails) > 100_000 { // bounded memory under a spray of addresses
		t.fails = map[string][]time.Time{}
	}
	for _, k := range []string{"a:" + account, "i:" + ip} {
		t.fails[k] = append(t.recent(k, now), now)
	}
}

func (t *throttle) success(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, "a:"+account)
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// preCSRF returns the double-submit token of the signed-out forms, setting
// its cookie when the browser has none.
func (c *Console) preCSRF(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(preCSRFCookie); err == nil && len(ck.Value) >= 32 && len(ck.Value) < 100 {
		return ck.Value
	}
	tok, _ := auth.NewToken()
	http.SetCookie(w, &http.Cookie{Name: preCSRFCookie, Value: tok, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: isHTTPS(r, c.PublicURL())})
	return tok
}

// checkPreCSRF compares the form's token with the cookie's.
func checkPreCSRF(r *http.Request) bool {
	ck, err := r.Cookie(preCSRFCookie)
	if err != nil || ck.Value == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(r.PostForm.Get("_csrf")), []byte(ck.Value)) == 1
}

// public wraps the signed-out pages: headers, and the form check on POST.
func (c *Console) public(fn func(q *req) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w)
		q := &req{c: c, w: w, r: r}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				q.status(http.StatusBadRequest, "The form could not be read.")
				return
			}
			if !checkPreCSRF(r) {
				q.status(http.StatusForbidden, "This form has expired or did not come from this console (CSRF check). Reload the page and try again.")
				return
			}
		}
		if err := fn(q); err != nil {
			q.fail(err)
		}
	}
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/v") {
		return "/"
	}
	return next
}

func (c *Console) loginPage(q *req) error {
	data := map[string]any{"_csrf": c.preCSRF(q.w, q.r), "Next": safeNext(q.r.URL.Query().Get("next")),
		"Email": ""}
	if q.r.Method == http.MethodGet {
		return q.render(200, "login", "Sign in", data)
	}
	email := strings.ToLower(strings.TrimSpace(q.r.PostForm.Get("email")))
	data["Email"], data["Next"] = email, safeNext(q.r.PostForm.Get("next"))
	ip, now := clientIP(q.r), c.Now()
	if wait := c.throttle.blocked(email, ip, now); wait > 0 {
		q.w.Header().Set("Retry-After", itoa(int(wait.Seconds())+1))
		data["_error"] = "Too many failed sign-ins. Try again in " + wait.Round(time.Minute).String() + "."
		return q.render(http.StatusTooManyRequests, "login", "Sign in", data)
	}
	m, err := c.Workspaces.SignIn(q.r.Context(), email, q.r.PostForm.Get("password"))
	if errors.Is(err, workspace.ErrBadLogin) {
		c.throttle.fail(email, ip, now)
		data["_error"] = "Wrong email or password."
		return q.render(http.StatusUnauthorized, "login", "Sign in", data)
	}
	if err != nil {
		return err
	}
	c.throttle.success(email)
	token, _, err := c.Workspaces.StartSession(q.r.Context(), m.ID, now)
	if err != nil {
		return err
	}
	c.setSession(q.w, q.r, token)
	http.Redirect(q.w, q.r, data["Next"].(string), http.StatusSeeOther)
	return nil
}

func (c *Console) setSession(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: isHTTPS(r, c.PublicURL()), MaxAge: int(workspace.SessionMax.Seconds())})
}

func (c *Console) logout(q *req) error {
	if ck, err := q.r.Cookie(sessionCookie); err == nil {
		if err := c.Workspaces.EndSession(q.r.Context(), ck.Value); err != nil {
			return err
		}
	}
	http.SetCookie(q.w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: isHTTPS(q.r, c.PublicURL())})
	http.Redirect(q.w, q.r, "/login?ok=Signed+out", http.StatusSeeOther)
	return nil
}

// setPassword is the page behind a set-password link.
func (c *Console) setPassword(q *req) error {
	token := q.r.PathValue("token")
	m, err := c.Workspaces.PasswordLinkMember(q.r.Context(), token)
	if err != nil {
		return err
	}
	data := map[string]any{"_csrf": c.preCSRF(q.w, q.r), "Email": m.Email}
	if q.r.Method == http.MethodGet {
		return q.render(200, "setpassword", "Set your password", data)
	}
	pw := q.r.PostForm.Get("password")
	if pw != q.r.PostForm.Get("password2") {
		data["_error"] = "The two passwords differ."
		return q.render(http.StatusBadRequest, "setpassword", "Set your password", data)
	}
	if _, err := c.Workspaces.SetPassword(q.r.Context(), token, pw); err != nil {
		var ae interface{ Error() string }
		ae = err
		data["_error"] = ae.Error()
		if pe := asAppErr(err); pe != nil {
			data["_error"] = pe.Message
			return q.render(pe.Status, "setpassword", "Set your password", data)
		}
		return err
	}
	http.Redirect(q.w, q.r, "/login?ok=Password+set.+Sign+in+with+it.", http.StatusSeeOther)
	return nil
}

// invitation accepts an invitation through the API's public route.
func (c *Console) invitation(q *req) error {
	data := map[string]any{"_csrf": c.preCSRF(q.w, q.r), "Token": q.r.PathValue("token")}
	if q.r.Method == http.MethodGet {
		return q.render(200, "invite", "Join the workspace", data)
	}
	if q.r.PostForm.Get("password") != q.r.PostForm.Get("password2") {
		data["_error"] = "The two passwords differ."
		return q.render(http.StatusBadRequest, "invite", "Join the workspace", data)
	}
	res, err := c.call(q.r.Context(), noPrincipal, "POST", "/invitations/"+pathEscape(q.r.PathValue("token"))+"/accept",
		map[string]any{"name": q.r.PostForm.Get("name"), "password": q.r.PostForm.Get("password")})
	if err != nil {
		ae := err.(*apiError)
		data["_error"] = ae.Message
		return q.render(ae.Status, "invite", "Join the workspace", data)
	}
	var out map[string]any
	if err := decode(res.Body, &out); err != nil {
		return err
	}
	data["Accepted"] = out
	return q.render(201, "invite", "Welcome", data)
}
