package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/firstmate-oss/firstmate/internal/agents"
	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/validate"
)

// The MCP endpoint (issue 21): /mcp on the API's listener, Streamable HTTP
// transport, stateless (every request is authenticated on its own, so a
// revoked key or a changed role takes effect at once). Each tool call is
// made through the API's own routes, in process, with the caller's key:
// authentication, roles, API rate limits, validation, Smart Limits,
// credits and error bodies are exactly the API's. What MCP adds (the
// rails, dry runs, approvals, cursors, resources) is decided in
// internal/agents and here.

// mcpMaxBody bounds one MCP request. Larger ones get the standard 413
// body; an action's own body limit (1 MiB) applies again inside.
const mcpMaxBody = 4 << 20

// RunOutputsTemplate is the MCP resource template of an async run's outputs.
const RunOutputsTemplate = "firstmate://runs/{uid}/outputs"

var runOutputsURI = regexp.MustCompile(`^firstmate://runs/([A-Za-z0-9_-]{1,100})/outputs$`)

// uidRE is what a uid argument may hold: uids are UUIDs; anything else is a
// uid no resource has (404), never a path to build.
var uidRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// mcpCaller is the authenticated caller of one /mcp request.
type mcpCaller struct {
	p      model.Principal
	key    string
	policy agents.Policy
	r      *http.Request
}

type mcpCtxKey struct{}

// apiKeyOf reads the key from X-API-Key, or from Authorization: Bearer.
func apiKeyOf(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return k
	}
	if v := r.Header.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// mcpEndpoint serves /mcp: it authenticates the key and reads its rails,
// answering failures in the standard error body, then hands the request
// to the SDK's Streamable HTTP handler.
func (s *Server) mcpEndpoint() http.Handler {
	h := mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		c, _ := r.Context().Value(mcpCtxKey{}).(*mcpCaller)
		return s.mcpServer(c)
	}, &mcp.StreamableHTTPOptions{
		Stateless: true, JSONResponse: true, MaxRequestBodyBytes: mcpMaxBody + 1,
		// Every request needs an API key in a header, which a page that
		// rebinds a name to 127.0.0.1 cannot send; and behind a reverse
		// proxy on the same host every request arrives from a loopback
		// address with the public Host, which the SDK would refuse.
		DisableLocalhostProtection: true,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Agents == nil {
			s.writeError(w, r, apperr.NotFound("no route for %s %s", r.Method, r.URL.Path))
			return
		}
		if err := checkURLText(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		key := apiKeyOf(r)
		if key == "" {
			s.writeError(w, r, apperr.Unauthorized("missing API key: send it in the X-API-Key header or as Authorization: Bearer"))
			return
		}
		p, err := s.Workspaces.Authenticate(r.Context(), key)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		pol, err := s.Agents.PolicyFor(r.Context(), p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if r.ContentLength > mcpMaxBody {
			s.writeError(w, r, apperr.TooLarge("body must NOT be larger than %d bytes", mcpMaxBody))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, mcpMaxBody))
			if err != nil {
				s.writeError(w, r, toAppErr(err))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		c := &mcpCaller{p: p, key: key, policy: pol, r: r}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), mcpCtxKey{}, c)))
	})
}

// mcpServer is the MCP server one request sees: the tools the caller's
// key may use, and the run outputs resource.
func (s *Server) mcpServer(c *mcpCaller) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "firstmate", Version: s.Version}, &mcp.ServerOptions{
		Instructions: "Firstmate runs platform actions with the workspace's identities within their Smart Limits and credits. " +
			"Pass dry_run: true to check a call without making it. Outreach tools appear only when the workspace enables them; " +
			"in approval mode they return a pending approval that a member confirms (read it with approval-status).",
	})
	if c == nil {
		return srv
	}
	tools := agents.Tools(c.p.Role, c.policy, s.Agents.Available)
	visible := map[string]bool{}
	for _, t := range tools {
		t := t
		visible[t.Name] = true
		srv.AddTool(mcpTool(t), func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return s.callTool(ctx, c, t, req.Params.Arguments), nil
		})
	}
	// A known tool the key may not use is refused as the API refuses it
	// (403 in the standard body), not as an unknown name.
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method != "tools/call" {
				return next(ctx, method, req)
			}
			params, ok := req.GetParams().(*mcp.CallToolParamsRaw)
			if !ok || visible[params.Name] {
				return next(ctx, method, req)
			}
			err := s.hiddenToolError(c, params.Name)
			if err == nil {
				return next(ctx, method, req) // unknown: the SDK's answer
			}
			res, call := s.errorResult(c, err), agents.Call{Tool: params.Name, Outcome: "refused"}
			call.ErrorLabel, _ = errLabel(err)
			s.recordCall(c, call)
			return res, nil
		}
	})
	srv.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: RunOutputsTemplate, Name: "run-outputs",
		Title: "Outputs of an async run", MIMEType: "application/json",
		Description: "Every result of an async run (up to 10,000), as one JSON array."},
		func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return s.readRunOutputs(ctx, c, req.Params.URI)
		})
	return srv
}

// hiddenToolError says why a key does not see a tool that exists: its role
// (as the API answers) or the rails; nil when no such tool exists.
func (s *Server) hiddenToolError(c *mcpCaller, name string) error {
	all := agents.Tools(model.RoleOwner, agents.Policy{OutreachEnabled: true}, nil)
	for _, t := range all {
		if t.Name != name {
			continue
		}
		if !auth.Allows(c.p.Role, t.Perm) {
			return apperr.Forbidden("the %s role may not use the %s tool", c.p.Role, name)
		}
		if t.Outreach && !c.policy.OutreachEnabled {
			return errOutreachOff
		}
		if t.Action != nil && !s.Agents.Available(t.Action) {
			return s.Engine.Unavailable(t.Action)
		}
		return nil
	}
	return nil
}

var errOutreachOff = apperr.Forbidden("outreach tools are off for this API key: a member enables them with PUT /v4/workspaces/mcp "+
	"(outreach_enabled) unless the key's own rails turn them off (PUT /v4/api-keys/{uid}/mcp)").With("reason", "outreach_disabled")

func mcpTool(t agents.ToolSpec) *mcp.Tool {
	ann := &mcp.ToolAnnotations{Title: t.Title, ReadOnlyHint: t.ReadOnly, IdempotentHint: t.Idempotent}
	if !t.ReadOnly {
		d := t.Destructive
		ann.DestructiveHint = &d
	}
	open := t.Kind == agents.ToolAction
	ann.OpenWorldHint = &open
	return &mcp.Tool{Name: t.Name, Title: t.Title, Description: t.Description, InputSchema: t.InputSchema, Annotations: ann}
}

// apiAnswer is the answer of an in-process API request.
type apiAnswer struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (a *apiAnswer) Header() http.Header { return a.header }
func (a *apiAnswer) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}
func (a *apiAnswer) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}

// callAPI makes one API request in process with the caller's key.
func (s *Server) callAPI(ctx context.Context, c *mcpCaller, method, path string, q url.Values, body []byte) *apiAnswer {
	u := path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	ans := &apiAnswer{header: http.Header{}}
	if err != nil {
		s.writeError(ans, c.r, apperr.BadInput("arguments do not make a valid request: %v", err))
		return ans
	}
	req.Header.Set("X-API-Key", c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.RemoteAddr, req.Host = c.r.RemoteAddr, c.r.Host
	s.handler.ServeHTTP(ans, req)
	if ans.status == 0 {
		ans.status = http.StatusOK
	}
	return ans
}

// toolOK is a successful tool result: v as JSON text and as structured
// content.
func toolOK(v any) *mcp.CallToolResult {
	b := mustJSON(v)
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}, StructuredContent: b}
}

// toolErr is a failed tool result carrying the standard error body.
func toolErr(body []byte) *mcp.CallToolResult {
	b := bytesTrimNewline(append([]byte(nil), body...))
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: string(b)}},
		StructuredContent: json.RawMessage(b)}
}

// errorResult renders err in the standard body (logged with its
// error_ref, as the API logs its errors) as a failed tool result.
func (s *Server) errorResult(c *mcpCaller, err error) *mcp.CallToolResult {
	ref, e := s.logError(c.r, err)
	return toolErr(mustJSON(errorBodyOf(ref, e)))
}

func errLabel(err error) (string, bool) {
	if e, ok := apperr.As(err); ok {
		return e.Label, true
	}
	return "INTERNAL_ERROR", false
}

func (s *Server) recordCall(c *mcpCaller, call agents.Call) {
	if err := s.Agents.RecordCall(c.r.Context(), c.p, call); err != nil {
		s.log.Error("audit: record an MCP tool call", "tool", call.Tool, "error", err)
	}
}

// decodeArgs checks a tool's arguments are one JSON object with only the
// allowed members, and returns its members undecoded.
func decodeArgs(raw json.RawMessage, allowed map[string]bool) (map[string]json.RawMessage, []string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("{}")
	}
	if !utf8.Valid(raw) {
		return nil, nil, apperr.BadInput("arguments must be valid UTF-8").With("reason", "encoding")
	}
	v, aerr := validate.DecodeJSON(raw)
	if aerr != nil {
		return nil, nil, aerr
	}
	if path, ok := findNUL(v, "arguments"); ok {
		return nil, nil, apperr.BadInput("%s must NOT contain NUL characters", path).With("path", path)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, nil, apperr.BadInput("arguments must be object").With("path", "arguments")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, apperr.BadInput("arguments must be object").With("path", "arguments")
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !allowed[k] {
			return nil, names, apperr.BadInput("arguments must NOT have additional properties").
				With("path", "arguments").With("additionalProperty", k)
		}
	}
	return m, names, nil
}

var actionArgs = map[string]bool{"input": true, "parameters": true, "identity_ids": true, "identity_mode": true,
	"dry_run": true, "cursor": true}

// callTool runs one tool call and records it in the audit log.
func (s *Server) callTool(ctx context.Context, c *mcpCaller, t agents.ToolSpec, raw json.RawMessage) *mcp.CallToolResult {
	call := agents.Call{Tool: t.Name}
	var res *mcp.CallToolResult
	if t.Kind == agents.ToolAction {
		res = s.callAction(ctx, c, t, raw, &call)
	} else {
		res = s.callFixed(ctx, c, t, raw, &call)
	}
	if res.IsError {
		var body struct {
			Label string `json:"error_label"`
		}
		_ = json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &body)
		call.Outcome, call.ErrorLabel = "error", body.Label
	} else if call.Outcome == "" {
		call.Outcome = "ok"
	}
	s.recordCall(c, call)
	return res
}

// answerResult turns an API answer into a tool result: the standard error
// body as it came, or {result, run_uid, next_cursor}.
func answerResult(ans *apiAnswer, extra func(out map[string]any)) *mcp.CallToolResult {
	if ans.status >= 300 {
		return toolErr(ans.body.Bytes())
	}
	out := map[string]any{"result": json.RawMessage(bytesTrimNewline(ans.body.Bytes()))}
	if extra != nil {
		extra(out)
	}
	return toolOK(out)
}

func (s *Server) callAction(ctx context.Context, c *mcpCaller, t agents.ToolSpec, raw json.RawMessage, call *agents.Call) *mcp.CallToolResult {
	args, names, err := decodeArgs(raw, actionArgs)
	call.Args = names
	if err != nil {
		return s.errorResult(c, err)
	}
	a := t.Action
	if !auth.Allows(c.p.Role, t.Perm) {
		return s.errorResult(c, apperr.Forbidden("the %s role may not POST /v4/actions/%s/run/live", c.p.Role, a.Slug))
	}
	if t.Outreach && !c.policy.OutreachEnabled {
		return s.errorResult(c, errOutreachOff)
	}
	dry := false
	if v, ok := args["dry_run"]; ok {
		if err := json.Unmarshal(v, &dry); err != nil {
			return s.errorResult(c, apperr.BadInput("arguments/dry_run must be boolean").With("path", "arguments/dry_run"))
		}
	}
	q := url.Values{}
	if v, ok := args["cursor"]; ok {
		var cur string
		if err := json.Unmarshal(v, &cur); err != nil {
			return s.errorResult(c, apperr.BadParameters("arguments/cursor must be string").With("path", "arguments/cursor"))
		}
		if q, err = parseCursor(cur, "cursor", "page"); err != nil {
			return s.errorResult(c, err)
		}
	}
	delete(args, "dry_run")
	delete(args, "cursor")
	body := mustJSON(args)
	path := "/v4/actions/" + a.Slug + "/run/live"
	if dry {
		call.Outcome = "dry_run"
		q.Set("dry_run", "true")
		ans := s.callAPI(ctx, c, http.MethodPost, path, q, body)
		if ans.status >= 300 {
			return toolErr(ans.body.Bytes())
		}
		return toolOK(json.RawMessage(bytesTrimNewline(ans.body.Bytes())))
	}
	if t.Outreach && c.policy.ApprovalRequired {
		// Checked now, so that a member never confirms a call that could
		// not run as written.
		if _, err := a.DecodeLive(body); err != nil {
			return s.errorResult(c, err)
		}
		ap, err := s.Agents.RequestApproval(ctx, c.p, c.policy, t.Name, a.Slug, body)
		if err != nil {
			return s.errorResult(c, err)
		}
		call.Outcome, call.ApprovalUID = "pending_approval", ap.UID
		return toolOK(map[string]any{"status": ap.Status, "approval_uid": ap.UID, "expires_at": ap.ExpiresAt,
			"next_step": "a member confirms or rejects it with POST /v4/approvals/" + ap.UID + "; read the outcome with " + agents.ToolApproval})
	}
	ans := s.callAPI(ctx, c, http.MethodPost, path, q, body)
	call.RunUID = ans.header.Get("X-Run-Uid")
	return answerResult(ans, func(out map[string]any) {
		if call.RunUID != "" {
			out["run_uid"] = call.RunUID
		}
		if next := ans.header.Get("X-Pagination-Next"); next != "" {
			if u, err := url.Parse(next); err == nil {
				out["next_cursor"] = u.RawQuery
			}
		}
		if ans.header.Get("X-Credits-Exhausted") == "true" {
			out["credits_exhausted"] = true
		}
	})
}

// parseCursor reads a next_cursor: the query string of the next page,
// which may only hold the given names.
func parseCursor(cur string, names ...string) (url.Values, error) {
	q, err := url.ParseQuery(cur)
	bad := err != nil || len(q) == 0 || len(cur) > 4096
	for k, v := range q {
		if len(v) != 1 || !contains(names, k) {
			bad = true
		}
	}
	if bad {
		return nil, apperr.BadParameters("arguments/cursor is not a next_cursor this tool returned").With("path", "arguments/cursor")
	}
	return q, nil
}

var (
	fixedSchemasOnce sync.Once
	fixedSchemas     map[string]*validate.Schema
)

// fixedSchema is the compiled input schema of a fixed tool (its slug enums
// left out: the API says which actions exist and are served).
func fixedSchema(name string) *validate.Schema {
	fixedSchemasOnce.Do(func() {
		fixedSchemas = map[string]*validate.Schema{}
		for _, t := range agents.FixedTools(nil) {
			sch := t.InputSchema
			props := map[string]any{}
			for k, v := range sch["properties"].(map[string]any) {
				if m, ok := v.(map[string]any); ok && m["enum"] != nil && k == "action" {
					v = map[string]any{"type": "string", "minLength": 1, "maxLength": 200}
				}
				props[k] = v
			}
			c := map[string]any{}
			for k, v := range sch {
				c[k] = v
			}
			c["properties"] = props
			fixedSchemas[t.Name] = validate.MustCompile("mcp/"+t.Name, c)
		}
	})
	return fixedSchemas[name]
}

func (s *Server) callFixed(ctx context.Context, c *mcpCaller, t agents.ToolSpec, raw json.RawMessage, call *agents.Call) *mcp.CallToolResult {
	allowed := map[string]bool{}
	for k := range t.InputSchema["properties"].(map[string]any) {
		allowed[k] = true
	}
	args, names, err := decodeArgs(raw, allowed)
	call.Args = names
	if err != nil {
		return s.errorResult(c, err)
	}
	v, _ := validate.DecodeJSON(mustJSON(args))
	if aerr := fixedSchema(t.Name).Validate("arguments", v); aerr != nil {
		return s.errorResult(c, aerr)
	}
	if !auth.Allows(c.p.Role, t.Perm) {
		return s.errorResult(c, apperr.Forbidden("the %s role may not use the %s tool", c.p.Role, t.Name))
	}
	str := func(name string) string {
		var x string
		_ = json.Unmarshal(args[name], &x)
		return x
	}
	uid := func(name string) (string, error) {
		x := str(name)
		if !uidRE.MatchString(x) {
			return "", apperr.NotFound("no %s %q", strings.TrimSuffix(name, "_uid"), x)
		}
		return x, nil
	}
	switch t.Name {
	case agents.ToolRunStart:
		return s.startRun(ctx, c, args, call)
	case agents.ToolRunStatus, agents.ToolRunCancel:
		id, err := uid("run_uid")
		if err != nil {
			return s.errorResult(c, err)
		}
		if t.Name == agents.ToolRunCancel {
			return answerResult(s.callAPI(ctx, c, http.MethodPost, "/v4/runs/"+id+"/cancel", nil, nil), nil)
		}
		return answerResult(s.callAPI(ctx, c, http.MethodGet, "/v4/runs/"+id+"/status", nil, nil), func(out map[string]any) {
			out["outputs_resource"] = strings.Replace(RunOutputsTemplate, "{uid}", id, 1)
		})
	case agents.ToolRunOutputs:
		id, err := uid("run_uid")
		if err != nil {
			return s.errorResult(c, err)
		}
		limit := 100
		if l, ok := args["limit"]; ok {
			_ = json.Unmarshal(l, &limit)
		}
		offset := 0
		if cur := str("cursor"); cur != "" {
			q, err := parseCursor(cur, "offset")
			if err != nil {
				return s.errorResult(c, err)
			}
			if offset, err = strconv.Atoi(q.Get("offset")); err != nil || offset < 0 {
				return s.errorResult(c, apperr.BadParameters("arguments/cursor is not a next_cursor this tool returned"))
			}
		}
		q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}}
		ans := s.callAPI(ctx, c, http.MethodGet, "/v4/runs/"+id+"/outputs", q, nil)
		return answerResult(ans, func(out map[string]any) {
			var rows []json.RawMessage
			if json.Unmarshal(ans.body.Bytes(), &rows) == nil && len(rows) == limit {
				out["next_cursor"] = "offset=" + strconv.Itoa(offset+limit)
			}
		})
	case agents.ToolIdentities:
		page := 1
		if cur := str("cursor"); cur != "" {
			q, err := parseCursor(cur, "page")
			if err != nil {
				return s.errorResult(c, err)
			}
			if page, err = strconv.Atoi(q.Get("page")); err != nil || page < 1 {
				return s.errorResult(c, apperr.BadParameters("arguments/cursor is not a next_cursor this tool returned"))
			}
		}
		q := url.Values{"page": {strconv.Itoa(page)}}
		if qs := str("query"); qs != "" {
			q.Set("query", qs)
		}
		ans := s.callAPI(ctx, c, http.MethodGet, "/v4/identities", q, nil)
		return answerResult(ans, func(out map[string]any) {
			var rows []json.RawMessage
			if json.Unmarshal(ans.body.Bytes(), &rows) == nil && len(rows) == 50 {
				out["next_cursor"] = "page=" + strconv.Itoa(page+1)
			}
		})
	case agents.ToolIdentityLimits:
		id, err := uid("identity_uid")
		if err != nil {
			return s.errorResult(c, err)
		}
		slug := str("action")
		if _, ok := catalog.Get(slug); !ok {
			return s.errorResult(c, apperr.NotFound("unknown action %q", slug))
		}
		return answerResult(s.callAPI(ctx, c, http.MethodGet, "/v4/identities/"+id+"/actions/"+slug+"/limits", nil, nil), nil)
	case agents.ToolCredits:
		return answerResult(s.callAPI(ctx, c, http.MethodGet, "/v4/workspaces/consumption", nil, nil), nil)
	case agents.ToolApproval:
		id, err := uid("approval_uid")
		if err != nil {
			return s.errorResult(c, err)
		}
		return answerResult(s.callAPI(ctx, c, http.MethodGet, "/v4/approvals/"+id, nil, nil), nil)
	}
	return s.errorResult(c, apperr.NotFound("unknown tool %q", t.Name))
}

// startRun submits an async run. Outreach follows the rails: off unless
// enabled, and never in bulk under approval mode (an approval covers one
// call a member has read).
func (s *Server) startRun(ctx context.Context, c *mcpCaller, args map[string]json.RawMessage, call *agents.Call) *mcp.CallToolResult {
	var slug string
	_ = json.Unmarshal(args["action"], &slug)
	a, ok := catalog.Get(slug)
	if !ok {
		return s.errorResult(c, apperr.NotFound("unknown action %q", slug))
	}
	if a.Kind == catalog.KindOutreach {
		if !c.policy.OutreachEnabled {
			return s.errorResult(c, errOutreachOff)
		}
		if c.policy.ApprovalRequired {
			return s.errorResult(c, apperr.Forbidden("approval mode is on for this key: outreach runs one call at a time, each confirmed by a member").
				With("reason", "approval_required"))
		}
	}
	body := map[string]json.RawMessage{"inputs": args["inputs"]}
	for _, k := range []string{"parameters", "identity_ids", "identity_mode"} {
		if v, ok := args[k]; ok {
			body[k] = v
		}
	}
	cb := json.RawMessage(`{"url": null}`)
	if v, ok := args["callback_url"]; ok {
		cb = mustJSON(map[string]json.RawMessage{"url": v})
	}
	body["callback"] = cb
	ans := s.callAPI(ctx, c, http.MethodPost, "/v4/actions/"+slug+"/run/async", nil, mustJSON(body))
	return answerResult(ans, func(out map[string]any) {
		var run struct {
			UID string `json:"run_uid"`
		}
		if json.Unmarshal(ans.body.Bytes(), &run) == nil && run.UID != "" {
			call.RunUID = run.UID
			out["run_uid"] = run.UID
			out["outputs_resource"] = strings.Replace(RunOutputsTemplate, "{uid}", run.UID, 1)
		}
	})
}

// maxResourceOutputs bounds one read of a run's outputs resource.
const maxResourceOutputs = 10_000

// readRunOutputs reads every output of a run (up to maxResourceOutputs)
// through GET /v4/runs/{uid}/outputs, 100 at a time. Errors are JSON-RPC
// errors whose data is the standard error body.
func (s *Server) readRunOutputs(ctx context.Context, c *mcpCaller, uri string) (*mcp.ReadResourceResult, error) {
	m := runOutputsURI.FindStringSubmatch(uri)
	if m == nil {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	all := []json.RawMessage{}
	for offset := 0; offset < maxResourceOutputs; offset += 100 {
		q := url.Values{"limit": {"100"}, "offset": {strconv.Itoa(offset)}}
		ans := s.callAPI(ctx, c, http.MethodGet, "/v4/runs/"+m[1]+"/outputs", q, nil)
		if ans.status >= 300 {
			var body struct {
				Message string `json:"message"`
			}
			_ = json.Unmarshal(ans.body.Bytes(), &body)
			code := int64(jsonrpc.CodeInvalidParams)
			if ans.status == http.StatusNotFound {
				code = mcp.CodeResourceNotFound
			} else if ans.status >= 500 {
				code = jsonrpc.CodeInternalError
			}
			return nil, &jsonrpc.Error{Code: code, Message: fmt.Sprintf("%d %s", ans.status, body.Message),
				Data: json.RawMessage(bytesTrimNewline(ans.body.Bytes()))}
		}
		var rows []json.RawMessage
		if err := json.Unmarshal(ans.body.Bytes(), &rows); err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "run outputs are not a JSON array"}
		}
		all = append(all, rows...)
		if len(rows) < 100 {
			break
		}
	}
	if len(all) > maxResourceOutputs {
		all = all[:maxResourceOutputs]
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json",
		Text: string(mustJSON(all))}}}, nil
}
