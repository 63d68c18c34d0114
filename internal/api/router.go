package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firstmate-oss/firstmate/internal/apilimit"
	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/validate"
)

// Prefixes: /v4 is canonical (Captain Data), /v1 is the Edges alias.
var prefixes = []string{"/v4", "/v1"}

// Body size limits per route group.
const (
	smallBody = 64 << 10  // identities, members, settings
	liveBody  = 1 << 20   // live actions
	bulkBody  = 128 << 20 // async submissions of up to 100,000 inputs
)

// Route is one entry of the route table: the single place that says what a
// route needs (permission, rate-limit group, body limit and schema) and what
// the OpenAPI document shows for it.
type Route struct {
	Method string
	// Path is relative to the /v4 prefix, in net/http pattern syntax.
	Path    string
	Perm    auth.Permission
	Group   string // API rate-limit group; "" when not limited
	MaxBody int64  // 0 when the route takes no body
	Body    map[string]any
	Query   []Param
	Summary string
	Tag     string
	// Response documents the 2xx body.
	Response map[string]any
	Status   int // 2xx status, 200 when zero
	// Binary: the 2xx body is a file (application/octet-stream or the
	// file's own type), not JSON.
	Binary bool
	// BodyOptional lets a body-taking route be called with no body at all.
	BodyOptional bool
	// StreamBody hands the handler the body as a reader (rctx.bodyReader,
	// limited to MaxBody) instead of reading it whole first.
	StreamBody bool
	// Audit records the route's successful calls in the audit log (audit.go).
	Audit *Audit

	handle func(*rctx) error
	schema *validate.Schema
}

// Param documents a query parameter.
type Param struct {
	Name   string
	Schema map[string]any
}

func compileRoutes(routes []*Route) error {
	attachAudit(routes)
	for _, rt := range routes {
		if rt.Body == nil {
			continue
		}
		sch, err := validate.Compile(rt.Method+" "+rt.Path, rt.Body)
		if err != nil {
			return fmt.Errorf("api: route %s %s: %w", rt.Method, rt.Path, err)
		}
		rt.schema = sch
	}
	return nil
}

type ctxKey struct{}

// rctx is the per-request state handlers work with.
type rctx struct {
	s         *Server
	w         http.ResponseWriter
	r         *http.Request
	route     *Route
	principal *model.Principal
	body      []byte
	// bodyReader is the body of a StreamBody route.
	bodyReader io.Reader
	// status and resp are the 2xx answer, for the audit log.
	status int
	resp   any
}

func reqCtxFrom(r *http.Request) *rctx {
	rc, _ := r.Context().Value(ctxKey{}).(*rctx)
	return rc
}

func (c *rctx) ctx() context.Context { return c.r.Context() }

// P is the authenticated principal; only valid on non-public routes.
func (c *rctx) P() model.Principal { return *c.principal }

func (c *rctx) path(name string) string { return c.r.PathValue(name) }

// uid is the {uid} of the path, or the uid query parameter of the legacy
// get routes (/v4/api/runs/get?uid=, /v4/api/schedules/get?uid=).
func (c *rctx) uid() string {
	if uid := c.path("uid"); uid != "" {
		return uid
	}
	return c.r.URL.Query().Get("uid")
}

// decode validates the body against the route's schema, then fills dst.
func (c *rctx) decode(dst any) error {
	if len(c.body) == 0 && c.route.BodyOptional {
		return nil
	}
	// JSON text is UTF-8 (RFC 8259); encoding/json would silently replace bad
	// bytes, and PostgreSQL refuses them (and NUL) in text columns.
	if !utf8.Valid(c.body) {
		return apperr.BadInput("body must be valid UTF-8").With("reason", "encoding")
	}
	v, aerr := validate.DecodeJSON(c.body)
	if aerr != nil {
		return aerr
	}
	if path, ok := findNUL(v, "body"); ok {
		return apperr.BadInput("%s must NOT contain NUL characters", path).With("path", path)
	}
	if c.route.schema != nil {
		if aerr := c.route.schema.Validate("body", v); aerr != nil {
			return aerr
		}
	}
	if err := json.Unmarshal(c.body, dst); err != nil {
		return apperr.BadInput("body does not match the expected shape: %v", err)
	}
	return nil
}

func (c *rctx) json(status int, v any) error {
	buf, err := encodeJSON(v)
	if err != nil {
		return fmt.Errorf("api: unable to encode the response: %w", err) // a 500, logged with its error_ref
	}
	c.status, c.resp = status, v
	// Recorded before the answer is sent, so a client that reads the audit
	// log right after a change finds it there.
	c.s.recordAudit(c)
	sendJSON(c.w, status, buf)
	return nil
}

func (c *rctx) ok(v any) error {
	status := c.route.Status
	if status == 0 {
		status = http.StatusOK
	}
	return c.json(status, v)
}

// queryInt reads an integer query parameter within bounds.
func (c *rctx) queryInt(name string, def, min, max int) (int, error) {
	raw := c.r.URL.Query().Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, apperr.BadParameters("querystring/%s must be integer", name)
	}
	if n < min {
		return 0, apperr.BadParameters("querystring/%s must be >= %d", name, min)
	}
	if n > max {
		return 0, apperr.BadParameters("querystring/%s must be <= %d", name, max)
	}
	return n, nil
}

func (c *rctx) queryBool(name string) (bool, error) {
	switch strings.ToLower(c.r.URL.Query().Get(name)) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, apperr.BadParameters("querystring/%s must be boolean", name)
}

// overlapping lists routes whose patterns net/http refuses to register side
// by side (GET /runs/callbacks/{uid} and GET /runs/{uid}/status both match
// /runs/callbacks/status). They are served by one pattern that dispatches on
// the path; the literal segment wins, as a client would expect.
var overlapping = map[string]bool{
	"GET /runs/callbacks/{uid}": true, "GET /runs/{uid}/status": true, "GET /runs/{uid}/outputs": true,
}

func (s *Server) runsDispatcher() http.Handler {
	handlers := map[string]http.Handler{}
	for _, rt := range s.routes {
		if overlapping[rt.Method+" "+rt.Path] {
			handlers[rt.Path] = s.routeHandler(rt)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, b := r.PathValue("a"), r.PathValue("b")
		switch {
		case a == "callbacks":
			r.SetPathValue("uid", b)
			handlers["/runs/callbacks/{uid}"].ServeHTTP(w, r)
		case b == "status" || b == "outputs":
			r.SetPathValue("uid", a)
			handlers["/runs/{uid}/"+b].ServeHTTP(w, r)
		default:
			if err := s.limitUnrouted(w, r, groupRuns); err != nil {
				s.writeError(w, r, err)
				return
			}
			s.writeError(w, r, apperr.NotFound("no route for %s %s", r.Method, r.URL.Path))
		}
	})
}

func (s *Server) buildMux() http.Handler {
	mux := http.NewServeMux()
	groups := map[string]string{} // registered pattern -> rate-limit group
	runs := s.runsDispatcher()
	for _, p := range prefixes {
		mux.Handle("GET "+p+"/runs/{a}/{b}", runs)
		groups["GET "+p+"/runs/{a}/{b}"] = groupRuns
	}
	for _, rt := range s.routes {
		if overlapping[rt.Method+" "+rt.Path] {
			continue
		}
		h := s.routeHandler(rt)
		if strings.HasPrefix(rt.Path, "!") { // unprefixed operator routes
			mux.Handle(rt.Method+" "+rt.Path[1:], h)
			continue
		}
		for _, p := range prefixes {
			mux.Handle(rt.Method+" "+p+rt.Path, h)
			groups[rt.Method+" "+p+rt.Path] = rt.Group
		}
	}
	// The MCP endpoint (issue 21): its own authentication in front of the
	// SDK's transport, which answers GET, POST and DELETE itself.
	mux.Handle("/mcp", s.mcpEndpoint())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.fallback(mux, groups, w, r) })
	return s.observe(s.recoverPanics(mux))
}

// fallback answers requests no route pattern matched: 405 when the path
// exists under another method, 404 otherwise, both in the standard body.
// A request with a valid key counts against its workspace's API rate limit
// and carries the X-RateLimit headers like any other: of the route group the
// path belongs to under another method, or that its first segment names.
func (s *Server) fallback(mux *http.ServeMux, groups map[string]string, w http.ResponseWriter, r *http.Request) {
	var allow []string
	group := ""
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
			if group == "" {
				group = groups[pattern]
			}
		}
	}
	if group == "" {
		group = pathGroup(r.URL.Path)
	}
	if err := s.limitUnrouted(w, r, group); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(allow) > 0 {
		s.writeError(w, r, apperr.MethodNotAllowed("method %s is not allowed on %s", r.Method, r.URL.Path).
			With("allow", strings.Join(allow, ", ")))
		return
	}
	s.writeError(w, r, apperr.NotFound("no route for %s %s", r.Method, r.URL.Path))
}

// limitUnrouted counts a request that no route serves against the API
// rate limit of the workspace of its key, if the key is valid.
func (s *Server) limitUnrouted(w http.ResponseWriter, r *http.Request, group string) error {
	key := r.Header.Get("X-API-Key")
	if key == "" || group == "" {
		return nil
	}
	p, err := s.Workspaces.Authenticate(r.Context(), key)
	if err != nil {
		return nil // the answer stays the 404 or 405; a bad key learns nothing more
	}
	return s.limit(r.Context(), w, p, group)
}

// pathGroup is the rate-limit group of an unrouted path under /v4 or /v1,
// by its first segment ("workspace" when it names none): "" outside them.
func pathGroup(path string) string {
	rest := ""
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			rest = strings.TrimPrefix(path, p)
			break
		}
	}
	if rest == "" {
		return ""
	}
	segs := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	if segs[0] == "api" && len(segs) > 1 {
		segs = segs[1:] // early v4 aliases: /api/runs/..., /api/actions/...
	}
	switch segs[0] {
	case "identities", "users", "login-links":
		return groupIdentities
	case "actions":
		if strings.HasSuffix(rest, "/run/live") {
			return groupLive
		}
		return groupActions
	case "runs", "schedules":
		return groupRuns
	}
	return groupWorkspace
}

// routeHandler runs the per-route middleware in a fixed order:
// authentication, API rate limit, permission, body limit, then the handler.
func (s *Server) routeHandler(rt *Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := &rctx{s: s, w: w, route: rt}
		noteAccess(r, rc)
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, rc))
		rc.r = r
		if err := s.runRoute(rc); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) runRoute(rc *rctx) error {
	rt, r := rc.route, rc.r
	if rt.Perm != auth.Public {
		p, console := sessionPrincipal(r.Context())
		if !console {
			var err error
			if p, err = s.Workspaces.Authenticate(r.Context(), r.Header.Get("X-API-Key")); err != nil {
				return err
			}
		}
		rc.principal = &p
		// The rate limit comes before the permission: a refused request
		// counts, and its 403 carries the X-RateLimit headers too. A console
		// page makes several reads at once, so only its live runs count (the
		// group that spends upstream capacity).
		if rt.Group != "" && (!console || rt.Group == groupLive) {
			if err := s.limit(r.Context(), rc.w, p, rt.Group); err != nil {
				return err
			}
		}
		if !auth.Allows(p.Role, rt.Perm) {
			return apperr.Forbidden("the %s role may not %s %s", p.Role, r.Method, r.URL.Path)
		}
	}
	if err := checkURLText(r); err != nil {
		return err
	}
	if rt.StreamBody {
		rc.bodyReader = http.NoBody
		if r.Body != nil {
			rc.bodyReader = http.MaxBytesReader(rc.w, r.Body, rt.MaxBody)
		}
		return rt.handle(rc)
	}
	if r.Body != nil && r.Body != http.NoBody {
		if rt.MaxBody == 0 {
			// Routes without a body still drain a small one (clients often send {}).
			rt := io.LimitReader(r.Body, smallBody+1)
			b, err := io.ReadAll(rt)
			if err != nil {
				return apperr.BadInput("could not read the request body")
			}
			if len(b) > smallBody {
				return apperr.TooLarge("body must NOT be larger than %d bytes", smallBody)
			}
			rc.body = b
		} else {
			b, err := io.ReadAll(http.MaxBytesReader(rc.w, r.Body, rt.MaxBody))
			if err != nil {
				return toAppErr(err)
			}
			rc.body = b
		}
	}
	if rt.MaxBody > 0 && len(rc.body) == 0 && !rt.BodyOptional {
		return apperr.BadInput("body must be valid JSON (empty body)")
	}
	return rt.handle(rc)
}

// limit counts a request of p's workspace in group and sets the
// X-RateLimit headers; over the limit it answers STATUS_429 with
// Retry-After. Plans without a rate limit get no headers.
func (s *Server) limit(ctx context.Context, w http.ResponseWriter, p model.Principal, group string) error {
	plan := s.Workspaces.Plan(p.Plan)
	if plan.Unlimited() {
		return nil
	}
	now := s.Now()
	d, err := s.Limiter.Allow(ctx, p.WorkspaceID, group,
		apilimit.Tier{PerSecond: plan.RatePerSecond, PerMinute: plan.RatePerMinute}, now)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(d.Reset.Unix(), 10))
	h.Set("X-RateLimit-Type", group)
	if !d.Allowed {
		secs := int((d.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(max(secs, 1)))
		return apperr.RateLimited("API rate limit of %d requests exceeded for %s; retry after %d s",
			d.Limit, group, max(secs, 1)).With("retry_after", strconv.Itoa(max(secs, 1)))
	}
	return nil
}

func (c *rctx) badQuery(name, msg string) error {
	return apperr.BadParameters("querystring/%s %s", name, msg)
}

// badText is text no stored value can hold: NUL or invalid UTF-8.
func badText(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }

// checkURLText refuses NUL and invalid UTF-8 in path values (no such uid
// exists: 404) and in query values (400) before they reach a query, where
// PostgreSQL would fail on them.
func checkURLText(r *http.Request) error {
	if badText(r.URL.Path) {
		return apperr.NotFound("no resource at this path: it holds NUL characters or invalid UTF-8")
	}
	for name, vals := range r.URL.Query() {
		for _, v := range vals {
			if badText(v) || badText(name) {
				return apperr.BadParameters("querystring/%s must NOT contain NUL characters or invalid UTF-8",
					strings.ToValidUTF8(strings.ReplaceAll(name, "\x00", ""), "?")).With("reason", "encoding")
			}
		}
	}
	return nil
}

// findNUL reports the first string (key or value) of a decoded JSON value
// that holds a NUL character, as an Ajv-style path.
func findNUL(v any, path string) (string, bool) {
	switch x := v.(type) {
	case string:
		return path, strings.IndexByte(x, 0) >= 0
	case map[string]any:
		for k, c := range x {
			if strings.IndexByte(k, 0) >= 0 {
				return path, true
			}
			if p, ok := findNUL(c, path+"/"+k); ok {
				return p, true
			}
		}
	case []any:
		for i, c := range x {
			if p, ok := findNUL(c, path+"/"+strconv.Itoa(i)); ok {
				return p, true
			}
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
