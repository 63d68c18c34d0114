// Package console is the members' web console served by the binary at "/":
// server-rendered pages (html/template, embedded with go:embed), a little
// progressive-enhancement script, and a strict Content-Security-Policy.
//
// The console is a client of the API, in process: every page reads and
// writes by calling the API's own routes with the signed-in member's
// principal (api.WithSession). So the permission table, validation,
// tenancy and audit log are exactly the API's, and the console holds no SQL.
// Its own state is the sign-in session (workspace.Service sessions).
package console

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/agents"
	"github.com/firstmate-oss/firstmate/internal/api"
	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/workspace"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// CSP allows nothing but this origin's own scripts and styles: no inline
// script or style, no framing, forms post only here. Images may come from
// https (the white-label logo is a URL the workspace chose).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

const (
	sessionCookie = "fm_session"
	// preCSRFCookie carries the double-submit token of the forms shown
	// before sign-in (sign in, set password, accept an invitation).
	preCSRFCookie = "fm_csrf"
)

type Deps struct {
	// API is the API's handler; the console calls it in process.
	API        http.Handler
	Workspaces *workspace.Service
	// Agents answers what the API has no route for: the tools a given key
	// sees on /mcp (agents.Service.VisibleTools).
	Agents    *agents.Service
	PublicURL func() string
	Log       *slog.Logger
	Now       func() time.Time
}

type Console struct {
	Deps
	pages    map[string]*template.Template
	mux      *http.ServeMux
	throttle *throttle
	static   http.Handler

	cacheMu      sync.Mutex
	actionsCache []any
	actionsAt    time.Time
	refCache     map[string]any
	refAt        time.Time

	// done closes on shutdown: live streams (server-sent events) end, so
	// that the server's graceful shutdown does not wait for them.
	done     chan struct{}
	doneOnce sync.Once
}

// Shutdown ends the live streams (register it with http.Server.RegisterOnShutdown).
func (c *Console) Shutdown() { c.doneOnce.Do(func() { close(c.done) }) }

// New builds the console; requests it does not serve go to next (the API).
func New(d Deps) (*Console, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.API == nil {
		return nil, fmt.Errorf("console: the API handler is required")
	}
	if d.PublicURL == nil {
		d.PublicURL = func() string { return "" }
	}
	c := &Console{Deps: d, throttle: newThrottle(), pages: map[string]*template.Template{}, done: make(chan struct{})}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", n, err)
		}
		c.pages[base] = t
	}
	sub, _ := fs.Sub(staticFS, "static")
	c.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	c.mux = http.NewServeMux()
	c.routes()
	c.mux.Handle("/", d.API)
	return c, nil
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// page is what every template receives.
type page struct {
	Title   string
	Nav     string
	P       model.Principal
	Email   string
	CSRF    string
	Can     perms
	Flash   string
	Error   string
	Data    map[string]any
	Signed  bool
	Product string
	// Refresh, when not 0, reloads the page every so many seconds in a
	// browser without JavaScript (a <noscript> meta refresh): the live
	// parts' fallback.
	Refresh int
}

type perms struct{ Operate, Own bool }

// req is one console request: the member's session, the writer, helpers.
type req struct {
	c    *Console
	w    http.ResponseWriter
	r    *http.Request
	sess store.ConsoleSession
}

func (q *req) p() model.Principal { return q.sess.Principal }

// handler wraps a page that needs a session: no session, to /login.
func (c *Console) handler(fn func(*req) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w)
		q := &req{c: c, w: w, r: r}
		ck, err := r.Cookie(sessionCookie)
		if err == nil {
			q.sess, err = c.Workspaces.Session(r.Context(), ck.Value, c.Now())
		}
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) {
				c.Log.Error("console: read the session", "error", err)
			}
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, ".json") {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			q.status(http.StatusUnauthorized, "Your session has ended. Sign in again.")
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				q.status(http.StatusBadRequest, "The form could not be read.")
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("_csrf")), []byte(q.sess.CSRF)) != 1 {
				q.status(http.StatusForbidden, "This form has expired or did not come from this console (CSRF check). Reload the page and try again.")
				return
			}
		}
		if err := fn(q); err != nil {
			q.fail(err)
		}
	}
}

// secureHeaders go on every console answer.
func secureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// render writes a page with the layout.
func (q *req) render(status int, name, title string, data map[string]any) error {
	t, ok := q.c.pages[name]
	if !ok {
		return fmt.Errorf("console: no template %q", name)
	}
	pg := page{Title: title, Nav: name, Data: data, Product: "Firstmate"}
	if q.sess.ID != 0 {
		pg.Signed, pg.P, pg.Email, pg.CSRF = true, q.sess.Principal, q.sess.Email, q.sess.CSRF
		pg.Can = perms{Operate: auth.Allows(q.p().Role, auth.Operate), Own: auth.Allows(q.p().Role, auth.Own)}
	} else if csrf, ok := data["_csrf"].(string); ok {
		pg.CSRF = csrf
	}
	if f := q.r.URL.Query().Get("ok"); f != "" && len(f) < 200 {
		pg.Flash = f
	}
	if e, ok := data["_error"].(string); ok {
		pg.Error = e
	}
	if r, ok := data["_refresh"].(int); ok {
		pg.Refresh = r
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, pg); err != nil {
		return fmt.Errorf("console: render %s: %w", name, err)
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.WriteHeader(status)
	_, err := q.w.Write(buf.Bytes())
	return err
}

// status renders a short message page with a status code.
func (q *req) status(code int, msg string) {
	if err := q.render(code, "message", http.StatusText(code), map[string]any{"Message": msg, "Code": code}); err != nil {
		http.Error(q.w, msg, code)
	}
}

// fail turns an error into a page: API errors keep their status and message.
func (q *req) fail(err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		q.status(ae.Status, ae.Message)
		return
	}
	var pe *apperr.Error
	if errors.As(err, &pe) {
		q.status(pe.Status, pe.Message)
		return
	}
	ref := fmt.Sprintf("ERR-%d", time.Now().UnixNano()%1e9)
	q.c.Log.Error("console: page failed", "path", q.r.URL.Path, "error", err, "error_ref", ref)
	q.status(http.StatusInternalServerError, "Something went wrong on our side ("+ref+").")
}

// back redirects (303) after a successful form, with a short message.
func (q *req) back(path, msg string) error {
	if msg != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "ok=" + url.QueryEscape(msg)
	}
	http.Redirect(q.w, q.r, path, http.StatusSeeOther)
	return nil
}

// apiError is a non-2xx answer of the API, with its standard body.
type apiError struct {
	Status  int
	Label   string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Label, e.Message) }

// apiResult is an API answer.
type apiResult struct {
	Status int
	Header http.Header
	Body   []byte
}

// call sends a request to the API in process, as the signed-in member.
func (q *req) call(method, path string, body any) (apiResult, error) {
	return q.c.call(q.r.Context(), q.p(), method, path, body)
}

func (c *Console) call(ctx context.Context, p model.Principal, method, path string, body any) (apiResult, error) {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiResult{}, err
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	if p.MemberID != 0 {
		ctx = api.WithSession(ctx, p)
	}
	r, err := http.NewRequestWithContext(ctx, method, "/v4"+path, rd)
	if err != nil {
		return apiResult{}, err
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	r.RemoteAddr = "console"
	rec := &recorder{h: http.Header{}}
	c.API.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = 200
	}
	res := apiResult{Status: rec.status, Header: rec.h, Body: rec.buf.Bytes()}
	if res.Status >= 300 {
		var e struct {
			Label   string `json:"error_label"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(res.Body, &e)
		if e.Message == "" {
			e.Message = http.StatusText(res.Status)
		}
		return res, &apiError{Status: res.Status, Label: e.Label, Message: e.Message}
	}
	return res, nil
}

// get reads a JSON answer into v (map[string]any or []any).
func (q *req) get(path string) (map[string]any, error) {
	res, err := q.call("GET", path, nil)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, decode(res.Body, &m)
}

func (q *req) list(path string) ([]any, error) {
	res, err := q.call("GET", path, nil)
	if err != nil {
		return nil, err
	}
	var a []any
	return a, decode(res.Body, &a)
}

func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("console: decode the API answer: %w", err)
	}
	return nil
}

type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.buf.Write(b)
}

// clientIP is the peer's address (the login throttle's key). Behind a
// proxy every client shares it, which throttles more, never less.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func isHTTPS(r *http.Request, public string) bool {
	return r.TLS != nil || strings.HasPrefix(public, "https://")
}
