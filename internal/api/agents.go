package api

import (
	"context"
	"encoding/json"

	"github.com/firstmate-oss/firstmate/internal/agents"
	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/auth"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/engine"
	"github.com/firstmate-oss/firstmate/internal/model"
)

// Routes of the agents' safety rails and approvals (issue 21): the
// workspace's and each key's MCP policy, and the outreach calls waiting
// for a member.
func (s *Server) agentRoutes() []*Route {
	railsDoc := object(obj{"outreach_enabled": boolean(), "approval_required": boolean(), "approval_ttl_seconds": obj{"type": "integer"},
		"endpoint": str()})
	keyRailsDoc := object(obj{"key_uid": str(), "outreach_enabled": nullable(boolean()), "approval_required": nullable(boolean()),
		"effective": railsDoc})
	approvalDoc := object(obj{"uid": str(), "status": enum("PENDING", "EXPIRED", "REJECTED", "CONFIRMED", "SUCCEEDED", "FAILED"),
		"tool": str(), "action": str(), "request": obj{"type": "object"}, "key_uid": str(), "member_uid": str(),
		"created_at": dateTime(), "expires_at": dateTime(), "decided_at": nullable(dateTime()), "decided_by": str(),
		"run_uid": str(), "result": obj{}})
	return []*Route{
		{Method: "GET", Path: "/workspaces/mcp", Perm: auth.Operate, Group: groupWorkspace, Tag: "agents",
			Summary:  "The workspace's MCP rails: outreach tools on or off, approval mode, approval lifetime (extension)",
			Response: railsDoc, handle: s.getWorkspaceRails},
		{Method: "PUT", Path: "/workspaces/mcp", Perm: auth.Operate, Group: groupWorkspace, Tag: "agents", MaxBody: smallBody,
			Body: object(obj{"outreach_enabled": boolean(), "approval_required": boolean(),
				"approval_ttl_seconds": integer(int(agents.MinApprovalTTL.Seconds()), int(agents.MaxApprovalTTL.Seconds()))}),
			Summary: "Update the workspace's MCP rails; fields left out keep their value (extension)", Response: railsDoc,
			handle: s.putWorkspaceRails},
		{Method: "GET", Path: "/api-keys/{uid}/mcp", Perm: auth.Operate, Group: groupWorkspace, Tag: "agents",
			Summary:  "An API key's MCP rails (null: the workspace's) and the policy in effect for it (extension)",
			Response: keyRailsDoc, handle: s.getKeyRails},
		{Method: "PUT", Path: "/api-keys/{uid}/mcp", Perm: auth.Operate, Group: groupWorkspace, Tag: "agents", MaxBody: smallBody,
			Body:     object(obj{"outreach_enabled": nullable(boolean()), "approval_required": nullable(boolean())}),
			Summary:  "Replace an API key's MCP rails: a key can turn outreach off or require approval, never loosen the workspace's (extension)",
			Response: keyRailsDoc, handle: s.putKeyRails},
		{Method: "GET", Path: "/approvals", Perm: auth.Operate, Group: groupWorkspace, Tag: "agents",
			Query:    []Param{{"status", enum("pending", "all")}, {"limit", integer(1, 200)}, {"offset", integer(0, 1<<30)}},
			Summary:  "Outreach calls agents made in approval mode, newest first; status=pending (default) lists those waiting (extension)",
			Response: arrayOf(approvalDoc), handle: s.listApprovals},
		{Method: "GET", Path: "/approvals/{uid}", Perm: auth.Read, Group: groupWorkspace, Tag: "agents",
			Summary: "One approval, with the call's result once confirmed (extension)", Response: approvalDoc, handle: s.getApproval},
		{Method: "POST", Path: "/approvals/{uid}", Perm: auth.Operate, Group: groupLive, Tag: "agents", MaxBody: smallBody,
			Body:     object(obj{"decision": enum("confirm", "reject")}, "decision"),
			Summary:  "Confirm (the call runs now, as the confirming member) or reject a pending approval (extension)",
			Response: approvalDoc, handle: s.decideApproval},
	}
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

func (s *Server) railsView(ws agents.Rails) obj {
	pol := agents.Effective(ws, agents.Rails{})
	return obj{"outreach_enabled": pol.OutreachEnabled, "approval_required": pol.ApprovalRequired,
		"approval_ttl_seconds": int(pol.ApprovalTTL.Seconds()), "endpoint": s.PublicURL() + "/mcp"}
}

func (s *Server) getWorkspaceRails(c *rctx) error {
	ws, _, err := s.Agents.Rails(c.ctx(), c.P().WorkspaceID, "")
	if err != nil {
		return err
	}
	return c.ok(s.railsView(ws))
}

func (s *Server) putWorkspaceRails(c *rctx) error {
	var in struct {
		Outreach *bool `json:"outreach_enabled"`
		Approval *bool `json:"approval_required"`
		TTL      *int  `json:"approval_ttl_seconds"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	ws, err := s.Agents.SetWorkspaceRails(c.ctx(), c.P().WorkspaceID, agents.Rails{OutreachEnabled: in.Outreach,
		ApprovalRequired: in.Approval, ApprovalTTL: in.TTL})
	if err != nil {
		return err
	}
	return c.ok(s.railsView(ws))
}

func (s *Server) keyRailsView(uid string, ws, key agents.Rails) obj {
	return obj{"key_uid": uid, "outreach_enabled": key.OutreachEnabled, "approval_required": key.ApprovalRequired,
		"effective": s.railsView(agents.Rails{
			OutreachEnabled:  ptr(agents.Effective(ws, key).OutreachEnabled),
			ApprovalRequired: ptr(agents.Effective(ws, key).ApprovalRequired), ApprovalTTL: ws.ApprovalTTL})}
}

func ptr[T any](v T) *T { return &v }

func (s *Server) getKeyRails(c *rctx) error {
	ws, key, err := s.Agents.KeyRails(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	return c.ok(s.keyRailsView(c.path("uid"), ws, key))
}

func (s *Server) putKeyRails(c *rctx) error {
	var in struct {
		Outreach *bool `json:"outreach_enabled"`
		Approval *bool `json:"approval_required"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	key, err := s.Agents.SetKeyRails(c.ctx(), c.P().WorkspaceID, c.path("uid"), agents.Rails{OutreachEnabled: in.Outreach,
		ApprovalRequired: in.Approval})
	if err != nil {
		return err
	}
	ws, _, err := s.Agents.Rails(c.ctx(), c.P().WorkspaceID, "")
	if err != nil {
		return err
	}
	return c.ok(s.keyRailsView(c.path("uid"), ws, key))
}

func (s *Server) listApprovals(c *rctx) error {
	limit, offset, err := c.page(50, 200)
	if err != nil {
		return err
	}
	pending := true
	switch st := c.r.URL.Query().Get("status"); st {
	case "", "pending":
	case "all":
		pending = false
	default:
		return c.badQuery("status", "must be equal to one of the allowed values: pending, all")
	}
	out, err := s.Agents.ListApprovals(c.ctx(), c.P().WorkspaceID, pending, limit, offset)
	if err != nil {
		return err
	}
	return c.ok(out)
}

func (s *Server) getApproval(c *rctx) error {
	a, err := s.Agents.GetApproval(c.ctx(), c.P().WorkspaceID, c.path("uid"))
	if err != nil {
		return err
	}
	return c.ok(a)
}

func (s *Server) decideApproval(c *rctx) error {
	var in struct {
		Decision string `json:"decision"`
	}
	if err := c.decode(&in); err != nil {
		return err
	}
	a, err := s.Agents.Decide(c.ctx(), c.P(), c.path("uid"), in.Decision == "confirm", s.ExecuteApproval)
	if err != nil {
		return err
	}
	return c.ok(a)
}

// ExecuteApproval runs a confirmed outreach call as the confirming member
// p, after checking the rails of the key that asked for it still allow
// outreach (the agents.Executor that decideApproval gives agents.Service.Decide). Its answer, the output or the
// standard error body (logged with its error_ref), goes on the approval.
func (s *Server) ExecuteApproval(ctx context.Context, p model.Principal, ap agents.Approval) agents.Outcome {
	fail := func(err error, runUID string) agents.Outcome {
		e := s.appErr(err)
		ref := newErrorRef()
		attrs := []any{"error_ref", ref, "status", e.Status, "label", e.Label, "approval_uid", ap.UID,
			"workspace_uid", p.WorkspaceUID, "message", e.Message}
		if e.Status >= 500 {
			s.log.Error("approved call failed", append(attrs, "cause", errString(e.Cause))...)
		} else {
			s.log.Info("approved call refused", attrs...)
		}
		return agents.Outcome{RunUID: runUID, Failed: true, Result: mustJSON(errorBodyOf(ref, e))}
	}
	ws, key, err := s.Agents.Rails(ctx, p.WorkspaceID, ap.KeyUID)
	if err != nil {
		return fail(err, "")
	}
	if !agents.Effective(ws, key).OutreachEnabled {
		return fail(apperr.Forbidden("outreach tools are off for the key that asked for this call; enable them in PUT /v4/workspaces/mcp"), "")
	}
	a, ok := catalog.Get(ap.Action)
	if !ok {
		return fail(apperr.NotFound("unknown action %q", ap.Action), "")
	}
	req, err := a.DecodeLive(ap.Request)
	if err != nil {
		return fail(err, "")
	}
	res, err := s.Engine.RunLive(ctx, engine.Live{Principal: p, Action: a, Request: req})
	if err != nil {
		return fail(err, res.RunUID)
	}
	return agents.Outcome{RunUID: res.RunUID, Result: mustJSON(res.Body)}
}

func errorBodyOf(ref string, e *apperr.Error) errorBody {
	params := e.Params
	if params == nil {
		params = map[string]string{}
	}
	return errorBody{ErrorLabel: e.Label, ErrorScope: e.Scope, ErrorRef: ref, Message: e.Message, StatusCode: e.Status, Params: params}
}

func mustJSON(v any) json.RawMessage {
	buf, err := encodeJSON(v)
	if err != nil {
		b, _ := json.Marshal(map[string]string{"error": "unencodable result"})
		return b
	}
	defer putBuffer(buf)
	return json.RawMessage(bytesTrimNewline(append([]byte(nil), buf.Bytes()...)))
}

func bytesTrimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// dryRunView is the answer of POST /actions/{slug}/run/live?dry_run=true.
func dryRunView(d engine.DryRun) obj {
	out := obj{"dry_run": true, "would_run": d.WouldRun, "identity_uid": d.IdentityUID, "credits_left": d.CreditsLeft,
		"credits_needed": d.CreditsNeeded, "smart_limits": d.SmartLimits, "blocked": nil}
	if d.Blocked != nil {
		params := d.Blocked.Params
		if params == nil {
			params = map[string]string{}
		}
		out["blocked"] = obj{"error_label": d.Blocked.Label, "error_scope": d.Blocked.Scope, "message": d.Blocked.Message,
			"status_code": d.Blocked.Status, "params": params}
	}
	return out
}
