package api

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Audit says how a mutating route is recorded in the audit log (issue 5 §9).
// The router records one event after the handler answered 2xx: the actor
// from the principal, the target uid from the path parameter Param or, when
// Param is empty, from the response body's uid. The detail is small and
// never holds a secret: the names of the body fields sent, the values of the
// fields listed in Safe only, and the route's other path parameters (never a
// token).
type Audit struct {
	Action string // e.g. "member.invite"
	Target string // target type, e.g. "member"
	Param  string // path parameter holding the target uid; "" for the body's uid
	Safe   []string
	// Labels rename a boolean body field that is true (e.g.
	// rotate_callback_secret: "callback secret rotated").
	Labels map[string]string
}

// auditSpecs is the audit entry of every mutating route, by "METHOD PATH".
// compileRoutes attaches them to the route table; TestAuditCoversMutations
// fails when a POST, PUT, PATCH or DELETE route has neither an entry here
// nor one in auditExempt.
var auditSpecs = map[string]Audit{
	"PUT /workspaces/settings": {Action: "workspace.settings.update", Target: "workspace",
		Safe:   []string{"logo_url", "engagement_enabled", "auto_resume_on_reconnect"}, // a webhook URL may embed a token: its name only
		Labels: map[string]string{"rotate_callback_secret": "callback secret rotated"}},
	"POST /members":                     {Action: "member.invite", Target: "invitation", Safe: []string{"email", "role"}},
	"PATCH /members/{uid}":              {Action: "member.role_change", Target: "member", Param: "uid", Safe: []string{"role"}},
	"POST /members/{uid}/password-link": {Action: "member.password_link", Target: "member", Param: "uid"},
	"DELETE /members/{uid}":             {Action: "member.remove", Target: "member", Param: "uid"},
	"POST /invitations/{token}/accept":  {Action: "member.accept", Target: "member", Safe: []string{"name"}},
	"DELETE /invitations/{uid}":         {Action: "invitation.revoke", Target: "invitation", Param: "uid"},
	"POST /invitations/{uid}/reissue":   {Action: "invitation.reissue", Target: "invitation", Param: "uid"},
	"POST /api-keys":                    {Action: "api_key.create", Target: "api_key", Safe: []string{"name"}},
	"DELETE /api-keys/{uid}":            {Action: "api_key.revoke", Target: "api_key", Param: "uid"},

	"POST /identities":                            {Action: "identity.create", Target: "identity", Safe: []string{"name", "timezone", "type"}},
	"POST /users":                                 {Action: "identity.create", Target: "identity", Safe: []string{"name", "timezone", "type"}},
	"PUT /identities/{uid}":                       {Action: "identity.update", Target: "identity", Param: "uid", Safe: []string{"name", "timezone", "type"}},
	"DELETE /identities/{uid}":                    {Action: "identity.delete", Target: "identity", Param: "uid"},
	"POST /identities/{uid}/generate-login-links": {Action: "identity.login_links", Target: "identity", Param: "uid"},
	"POST /identities/{uid}/login-links":          {Action: "identity.login_links", Target: "identity", Param: "uid"},
	"DELETE /identities/{uid}/login-links":        {Action: "identity.login_links.revoke", Target: "identity", Param: "uid"},
	"POST /identities/{uid}/refresh-proxy":        {Action: "identity.refresh_proxy", Target: "identity", Param: "uid"},
	"PUT /identities/{uid}/limits":                {Action: "identity.limits.update", Target: "identity", Param: "uid"},
	"POST /identities/{uid}/rent":                 {Action: "identity.rent", Target: "rental", Safe: []string{"platform", "days"}},
	"DELETE /identities/{uid}/rent":               {Action: "identity.rent.end", Target: "rental"},

	"POST /identities/{uid}/integrations/{integration}":            {Action: "integration.connect", Target: "integration", Safe: []string{"account_name"}},
	"DELETE /identities/{uid}/integrations/{integration}":          {Action: "integration.delete", Target: "integration"},
	"POST /identities/{uid}/integrations/{integration}/checkpoint": {Action: "integration.checkpoint", Target: "integration"},
	"POST /identities/{uid}/integrations/linkedin/checkpoint":      {Action: "integration.checkpoint", Target: "integration"},

	"POST /runs/{uid}/cancel":                {Action: "run.cancel", Target: "run", Param: "uid"},
	"POST /runs/{uid}/resume":                {Action: "run.resume", Target: "run", Param: "uid"},
	"POST /api/runs/{uid}/resume":            {Action: "run.resume", Target: "run", Param: "uid"},
	"POST /runs/callbacks/{uid}/replay":      {Action: "callback.replay", Target: "callback_delivery", Param: "uid"},
	"POST /webhooks/deliveries/{uid}/replay": {Action: "webhook.replay", Target: "webhook_delivery", Param: "uid"},

	"POST /actions/{slug}/run/schedule": {Action: "schedule.create", Target: "schedule"},
	"POST /actions/{slug}/schedule":     {Action: "schedule.create", Target: "schedule"},
	"PATCH /schedules/{uid}":            {Action: "schedule.update", Target: "schedule", Param: "uid", Safe: []string{"name", "cron", "schedule_at", "timezone", "identity_mode"}},
	"DELETE /schedules/{uid}":           {Action: "schedule.delete", Target: "schedule", Param: "uid"},
	"POST /schedules/{uid}/pause":       {Action: "schedule.pause", Target: "schedule", Param: "uid"},
	"POST /schedules/{uid}/resume":      {Action: "schedule.resume", Target: "schedule", Param: "uid"},
	"POST /schedules/{uid}/cancel":      {Action: "schedule.cancel", Target: "schedule", Param: "uid"},
	"PUT /workspaces/mcp":               {Action: "workspace.mcp.update", Target: "workspace", Safe: []string{"outreach_enabled", "approval_required", "approval_ttl_seconds"}},
	"PUT /api-keys/{uid}/mcp":           {Action: "api_key.mcp.update", Target: "api_key", Param: "uid", Safe: []string{"outreach_enabled", "approval_required"}},
	"POST /approvals/{uid}":             {Action: "approval.decide", Target: "approval", Param: "uid", Safe: []string{"decision"}},
	"POST /api/schedules/manage":        {Action: "schedule.manage", Target: "schedule", Safe: []string{"uid", "action"}},
}

// auditExempt lists mutating routes that are not audited, with the reason.
var auditExempt = map[string]string{
	"POST /actions/{slug}/run/live":  "an action call, recorded as a run with its user_uid, not a configuration change",
	"POST /actions/{slug}/run/async": "an action call, recorded as a run with its user_uid, not a configuration change",
	"POST /api/actions/{slug}/async": "an action call, recorded as a run with its user_uid, not a configuration change",
	"POST !/connect/{token}": "the hosted connect page: the end user acts through a login link, not a member or key; " +
		"the integration's status webhooks record the outcome",
}

// AuditExempt tells why a mutating route is not audited ("" when it is not exempt).
func AuditExempt(method, path string) string { return auditExempt[method+" "+path] }

func attachAudit(routes []*Route) {
	for _, rt := range routes {
		if a, ok := auditSpecs[rt.Method+" "+rt.Path]; ok && rt.Audit == nil {
			a := a
			rt.Audit = &a
		}
	}
}

// recordAudit writes the audit event of a successful mutation. The change is
// already committed: a failure to record is logged, not answered.
func (s *Server) recordAudit(c *rctx) {
	a := c.route.Audit
	if a == nil || c.status < 200 || c.status > 299 {
		return
	}
	var body struct {
		UID         string `json:"uid"`
		ScheduleUID string `json:"schedule_uid"`
		Member      struct {
			UID string `json:"uid"`
		} `json:"member"`
	}
	if raw, err := json.Marshal(c.resp); err == nil {
		_ = json.Unmarshal(raw, &body)
	}
	e := store.AuditEvent{UID: uuid.NewString(), Action: a.Action, TargetType: a.Target, CreatedAt: store.Millis(s.Now())}
	var keyID int64
	if c.principal != nil {
		p := c.principal
		e.WorkspaceID, e.ActorMemberUID, e.ActorKeyUID, keyID = p.WorkspaceID, p.MemberUID, p.KeyUID, p.KeyID
	}
	switch {
	case a.Param != "":
		e.TargetUID = c.path(a.Param)
	case body.UID != "":
		e.TargetUID = body.UID
	case body.ScheduleUID != "":
		e.TargetUID = body.ScheduleUID
	case body.Member.UID != "":
		e.TargetUID = body.Member.UID
	}
	if c.principal == nil { // invitation accepted: the new member acts
		if body.Member.UID == "" {
			return
		}
		ws, err := s.Workspaces.MemberWorkspaceID(c.ctx(), body.Member.UID)
		if err != nil {
			s.log.Error("audit: find the accepting member's workspace", "error", err)
			return
		}
		e.WorkspaceID, e.ActorMemberUID = ws, body.Member.UID
	}
	e.Detail = auditDetail(c, a)
	if err := s.Workspaces.RecordAudit(c.ctx(), e, keyID); err != nil {
		s.log.Error("audit: record event", "action", a.Action, "error", err)
	}
}

// auditDetail builds the event's detail: field names, safe values and the
// route's other path parameters.
func auditDetail(c *rctx, a *Audit) string {
	d := map[string]any{}
	var fields map[string]json.RawMessage
	if len(c.body) > 0 && json.Unmarshal(c.body, &fields) == nil && len(fields) > 0 {
		var names []string
		for k, v := range fields {
			if label, ok := a.Labels[k]; ok {
				if string(v) == "true" {
					names = append(names, label)
				}
				continue
			}
			names = append(names, k)
			for _, safe := range a.Safe {
				if k == safe {
					var x any
					if json.Unmarshal(v, &x) == nil {
						if str, ok := x.(string); ok && len(str) > 200 {
							x = str[:200]
						}
						d[k] = x
					}
				}
			}
		}
		sort.Strings(names)
		d["changes"] = names
	}
	for _, name := range pathParamNames(c.route.Path) {
		if name == a.Param || name == "token" {
			continue
		}
		d[name] = c.path(name)
	}
	raw, _ := json.Marshal(d)
	return string(raw)
}

func pathParamNames(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}"))
		}
	}
	return out
}

type auditView struct {
	UID        string          `json:"uid"`
	Actor      auditActorView  `json:"actor"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetUID  string          `json:"target_uid"`
	Detail     json.RawMessage `json:"detail"`
	CreatedAt  string          `json:"created_at"`
}

type auditActorView struct {
	MemberUID string `json:"member_uid"`
	KeyUID    string `json:"key_uid,omitempty"`
	KeyPrefix string `json:"key_prefix,omitempty"`
	// Operator marks a change made from the command line (firstmate keys
	// ...), by no member and no key.
	Operator bool `json:"operator,omitempty"`
}

var auditQuery = []Param{{"actor", str()}, {"action", str()}, {"target_type", str()}, {"target_uid", str()},
	{"since", dateTime()}, {"until", dateTime()}, {"limit", integer(1, 200)}, {"offset", integer(0, 1<<30)}}

var auditEventDoc = object(obj{
	"uid": str(), "actor": object(obj{"member_uid": str(), "key_uid": str(), "key_prefix": str(), "operator": obj{"type": "boolean"}}),
	"action": str(), "target_type": str(), "target_uid": str(), "detail": obj{"type": "object"}, "created_at": dateTime(),
})

func (s *Server) listAuditEvents(c *rctx) error {
	limit, offset, err := c.page(50, 200)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	f := store.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), TargetType: q.Get("target_type"),
		TargetUID: q.Get("target_uid"), Limit: limit, Offset: offset}
	for name, dst := range map[string]*int64{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return apperr.BadParameters("querystring/%s must match format \"date-time\"", name)
			}
			*dst = store.Millis(t)
		}
	}
	evs, err := s.Workspaces.AuditEvents(c.ctx(), c.P().WorkspaceID, f)
	if err != nil {
		return err
	}
	out := make([]auditView, 0, len(evs))
	for _, e := range evs {
		out = append(out, auditView{UID: e.UID, Actor: auditActorView{MemberUID: e.ActorMemberUID, KeyUID: e.ActorKeyUID,
			KeyPrefix: e.ActorKeyPrefix, Operator: e.ActorMemberUID == "" && e.ActorKeyUID == ""}, Action: e.Action, TargetType: e.TargetType, TargetUID: e.TargetUID,
			Detail: json.RawMessage(e.Detail), CreatedAt: store.Time(e.CreatedAt).UTC().Format(time.RFC3339Nano)})
	}
	return c.json(http.StatusOK, out)
}
