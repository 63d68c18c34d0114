// Package connectpage is the hosted connect page behind the 48-hour login
// links (GET and POST /connect/{token}). An end user with the link, and
// nothing else, connects the identity's LinkedIn account there: by pasting
// the li_at cookie, or with a username and a password and then the
// checkpoint (a code, an approval in the app, a CAPTCHA).
//
// The page shows the workspace's name and logo and nothing else about the
// workspace: no uid, no email, no identity name, no other account. The
// state of a login in progress lives server-side, in the integration
// itself (PENDING with its sealed checkpoint), tied to the link's
// identity, so a flow can span several requests. The link is used up when
// the account gets connected (VALID), not when it is first viewed, and the
// identity's other links are revoked then; a used, revoked or expired link
// answers a 410 page. Every form posts back to the link's
// URL with a per-link CSRF token (an HMAC of the link token), and a POST
// from another origin is refused.
package connectpage

import (
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/dataplane"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/model"
)

//go:embed templates/*.html templates/*.css
var files embed.FS

var tmpl = template.Must(template.New("").ParseFS(files, "templates/*.html"))

var css = func() template.CSS {
	b, err := files.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	return template.CSS(b)
}()

// notServed tells the account's owner that the server connects no account of
// this platform (its operator routed the platform nowhere): trying again
// would not help, and the setting is the operator's business.
const notServed = "This service cannot connect LinkedIn accounts at the moment: its operator has not enabled them. " +
	"Contact the service that sent you this link."

// SetupSource is how the hosted page's connections are recorded.
const SetupSource = "MANUAL"

// Page serves one request of the hosted page.
type Page struct {
	Identities *identity.Service
	// WriteError answers an error in the API's standard JSON body. A
	// client that does not accept text/html (not a browser) gets the
	// page's 4xx answers that way; nil: always HTML.
	WriteError func(w http.ResponseWriter, r *http.Request, err error)
	// Report logs a failure the page shows in HTML and returns its
	// error_ref, shown on the page so that the user can quote it; nil: not
	// logged, no reference shown.
	Report func(r *http.Request, err error) string
}

// view is everything a template sees.
type view struct {
	CSS        template.CSS
	Workspace  string
	Logo       string
	CSRF       string
	Step       string // start | code | captcha | inapp | done | gone | notfound | error
	Checkpoint string
	Error      string
	Notice     string
	Reason     string // gone: used | revoked | expired
	Ref        string // the error_ref of a failure, when there was one

	cause error // what made a 5xx (logged, never shown)
}

func csrfToken(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("firstmate connect page csrf"))
	return hex.EncodeToString(m.Sum(nil))
}

func acceptsHTML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "text/html") || strings.Contains(a, "application/xhtml")
}

// errorOf is a page's 4xx as an API error.
func errorOf(status int, v view) error {
	msg := v.Error
	switch {
	case status == http.StatusNotFound:
		return apperr.NotFound("login link not found")
	case status == http.StatusGone && v.Reason == "used":
		return &apperr.Error{Status: status, Label: "LOGIN_LINK_USED", Scope: apperr.ScopeInput, Message: "this login link was already used"}
	case status == http.StatusGone && v.Reason == "revoked":
		return &apperr.Error{Status: status, Label: "LOGIN_LINK_REVOKED", Scope: apperr.ScopeInput,
			Message: "this login link was revoked: a newer link was made, or the account was connected"}
	case status == http.StatusGone:
		return &apperr.Error{Status: status, Label: "LOGIN_LINK_EXPIRED", Scope: apperr.ScopeInput, Message: "this login link has expired"}
	case status == http.StatusForbidden:
		return apperr.Forbidden("%s", msg)
	case status < 500:
		return apperr.BadInput("%s", msg)
	}
	return apperr.Internal(v.cause)
}

// report logs err and returns its error_ref ("" without a Report).
func (p Page) report(r *http.Request, err error) string {
	if p.Report == nil {
		return ""
	}
	return p.Report(r, err)
}

func (p Page) render(w http.ResponseWriter, r *http.Request, status int, v view) {
	if status >= 400 && p.WriteError != nil && !acceptsHTML(r) {
		p.WriteError(w, r, errorOf(status, v))
		return
	}
	if status >= 500 {
		v.Ref = p.report(r, errorOf(status, v))
	}
	v.CSS = css
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = tmpl.ExecuteTemplate(w, "page.html", v)
}

// open resolves the link; ok is false when a page was already answered.
func (p Page) open(w http.ResponseWriter, r *http.Request, token string) (identity.LinkTarget, view, bool) {
	t, err := p.Identities.OpenLoginLink(r.Context(), token)
	if err != nil {
		if ae, ok := apperr.As(err); ok && ae.Status == http.StatusNotFound {
			p.render(w, r, http.StatusNotFound, view{Step: "notfound"})
		} else {
			p.render(w, r, http.StatusInternalServerError, view{Step: "error", Error: "Something went wrong. Try again later.", cause: err})
		}
		return t, view{}, false
	}
	v := view{Workspace: t.WorkspaceName, Logo: safeLogo(t.LogoURL)}
	if !t.Valid {
		v.Step, v.Reason = "gone", t.Reason
		p.render(w, r, http.StatusGone, v)
		return t, v, false
	}
	v.CSRF = csrfToken(token)
	return t, v, true
}

func safeLogo(u string) string {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
		return ""
	}
	return u
}

// stepOf is the page for an integration's state.
func stepOf(g model.Integration) string {
	if g.Status != model.StatusPending {
		return "start"
	}
	switch g.Checkpoint {
	case "":
		return "start"
	case "CAPTCHA":
		return "captcha"
	case "IN_APP_VALIDATION":
		return "inapp"
	}
	return "code"
}

// Get shows the page: the connect forms, or the checkpoint of a login in
// progress.
func (p Page) Get(w http.ResponseWriter, r *http.Request, token string) {
	t, v, ok := p.open(w, r, token)
	if !ok {
		return
	}
	v.Step = "start"
	if g, err := p.Identities.Integration(r.Context(), t.WorkspaceID, t.IdentityUID, t.Platform); err == nil {
		v.Step, v.Checkpoint = stepOf(g), g.Checkpoint
	}
	p.render(w, r, http.StatusOK, v)
}

// Post handles one form: op cookie, login, code or poll.
func (p Page) Post(w http.ResponseWriter, r *http.Request, token string, form url.Values) {
	t, v, ok := p.open(w, r, token)
	if !ok {
		return
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if ou, err := url.Parse(o); err != nil || ou.Host != r.Host {
			v.Step, v.Error = "start", "This form must be sent from this page."
			p.render(w, r, http.StatusForbidden, v)
			return
		}
	}
	if !hmac.Equal([]byte(form.Get("csrf")), []byte(v.CSRF)) {
		v.Step, v.Error = "start", "This form expired. Reload the page and try again."
		p.render(w, r, http.StatusForbidden, v)
		return
	}
	ctx := r.Context()
	var g model.Integration
	var err error
	switch form.Get("op") {
	case "cookie":
		li := strings.TrimSpace(form.Get("li_at"))
		if li == "" {
			v.Step, v.Error = "start", "Paste the li_at cookie."
			p.render(w, r, http.StatusBadRequest, v)
			return
		}
		g, err = p.Identities.ConnectIntegration(ctx, t.WorkspaceID, t.IdentityUID, t.Platform,
			identity.Connect{Cookies: map[string]string{"li_at": li}, SetupSource: SetupSource, ViaLink: auth.HashToken(token)})
		if err == nil && g.Status != model.StatusValid {
			v.Step, v.Error = "start", "This cookie was not accepted. Copy it again from a browser where you are signed in."
			if g.Error == dataplane.LabelPlatformUnavailable {
				v.Error = notServed
			}
			p.render(w, r, http.StatusOK, v)
			return
		}
	case "login":
		user, pass := strings.TrimSpace(form.Get("username")), form.Get("password")
		if user == "" || pass == "" {
			v.Step, v.Error = "start", "Enter your email and your password."
			p.render(w, r, http.StatusBadRequest, v)
			return
		}
		g, err = p.Identities.ConnectIntegration(ctx, t.WorkspaceID, t.IdentityUID, t.Platform,
			identity.Connect{Username: user, Password: pass, SetupSource: SetupSource, ViaLink: auth.HashToken(token)})
		if err == nil && g.Status == model.StatusInvalid {
			v.Step, v.Error = "start", "Wrong email or password."
			p.render(w, r, http.StatusOK, v)
			return
		}
	case "code", "poll":
		code := ""
		if form.Get("op") == "code" {
			code = strings.TrimSpace(form.Get("code"))
			if code == "" {
				cur, _ := p.Identities.Integration(ctx, t.WorkspaceID, t.IdentityUID, t.Platform)
				v.Step, v.Checkpoint, v.Error = stepOf(cur), cur.Checkpoint, "Enter the code."
				p.render(w, r, http.StatusBadRequest, v)
				return
			}
		}
		g, err = p.Identities.AnswerCheckpointVia(ctx, t.WorkspaceID, t.IdentityUID, t.Platform, code, auth.HashToken(token))
		if ae, ok := apperr.As(err); ok {
			switch {
			case ae.Status == http.StatusBadRequest:
				v.Step, v.Checkpoint, v.Error = stepOf(g), g.Checkpoint, "That code is not valid. Try again."
				p.render(w, r, http.StatusOK, v)
				return
			case ae.Status == http.StatusGone:
				v.Step, v.Error = "start", "The verification took too long. Sign in again."
				p.render(w, r, http.StatusOK, v)
				return
			case ae.Status == http.StatusConflict:
				v.Step = "start"
				p.render(w, r, http.StatusOK, v)
				return
			}
		}
		if err == nil && g.Status == model.StatusInvalid {
			v.Step, v.Error = "start", "The verification failed. Sign in again."
			p.render(w, r, http.StatusOK, v)
			return
		}
		if err == nil && g.Status == model.StatusPending && form.Get("op") == "poll" {
			v.Notice = "Not approved yet. Approve the sign-in in the LinkedIn app, then try again."
		}
	default:
		v.Step, v.Error = "start", "Choose how to connect."
		p.render(w, r, http.StatusBadRequest, v)
		return
	}
	if apperr.Is(err, dataplane.LabelPlatformUnavailable) {
		v.Step, v.Error = "start", notServed
		p.render(w, r, http.StatusOK, v)
		return
	}
	if err != nil {
		v.Step, v.Error = "start", "The account could not be connected right now. Try again in a moment."
		v.Ref = p.report(r, err)
		p.render(w, r, http.StatusOK, v)
		return
	}
	if g.Status == model.StatusValid {
		// Connected: the link was spent with the connection, and the
		// identity's other links revoked (identity.Connect.ViaLink).
		v.Step, v.CSRF = "done", ""
		p.render(w, r, http.StatusOK, v)
		return
	}
	v.Step, v.Checkpoint = stepOf(g), g.Checkpoint
	p.render(w, r, http.StatusOK, v)
}
