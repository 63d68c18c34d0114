package agents

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Approval lifetimes: the default, and the bounds a workspace may set.
const (
	DefaultApprovalTTL = time.Hour
	MinApprovalTTL     = time.Minute
	MaxApprovalTTL     = 7 * 24 * time.Hour
)

// ApprovalExpired is how an approval still PENDING past its expiry reads.
const ApprovalExpired = "EXPIRED"

// Service is the rails, approvals and audit of agent calls.
type Service struct {
	DB *store.Store
	// Routes says which actions this server serves (the data plane,
	// *dataplane.Plane); nil treats every action as available.
	Routes Routes
	Now    func() time.Time
}

// Routes is what the Service asks of the data plane: whether an action's
// platform family is served here (nil: it is). *dataplane.Plane is one; an
// interface keeps agents from importing the data plane.
type Routes interface {
	Unavailable(a *catalog.Action) error
}

// Available says whether this server serves the action: tools of actions
// it does not serve are not listed.
func (s *Service) Available(a *catalog.Action) bool {
	return s.Routes == nil || s.Routes.Unavailable(a) == nil
}

// Executor runs a confirmed approval's call as member p: the api package's
// live call path with its error bodies (api.Server.ExecuteApproval). The
// API passes it to Decide: the API is built with this Service, so the
// Service cannot be built with the API.
type Executor func(ctx context.Context, p model.Principal, a Approval) Outcome

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Policy is the effective rails of one API key.
type Policy struct {
	OutreachEnabled  bool
	ApprovalRequired bool
	ApprovalTTL      time.Duration
}

// Rails is a stored policy row as the API shows it: nil is not set.
type Rails struct {
	OutreachEnabled  *bool
	ApprovalRequired *bool
	ApprovalTTL      *int // seconds; workspace only
}

// Effective combines the workspace's rails and the key's. The workspace is
// the ceiling: outreach runs only when the workspace enables it and the key
// does not turn it off; approval is required when either asks for it.
func Effective(ws, key Rails) Policy {
	p := Policy{ApprovalTTL: DefaultApprovalTTL}
	p.OutreachEnabled = ws.OutreachEnabled != nil && *ws.OutreachEnabled && (key.OutreachEnabled == nil || *key.OutreachEnabled)
	p.ApprovalRequired = (ws.ApprovalRequired != nil && *ws.ApprovalRequired) || (key.ApprovalRequired != nil && *key.ApprovalRequired)
	if ws.ApprovalTTL != nil {
		p.ApprovalTTL = time.Duration(*ws.ApprovalTTL) * time.Second
	}
	return p
}

func railsOf(p store.AgentPolicy) Rails {
	return Rails{OutreachEnabled: p.Outreach, ApprovalRequired: p.Approval, ApprovalTTL: p.ApprovalTTL}
}

// Rails returns the workspace's rails and, for keyUID != "", the key's.
func (s *Service) Rails(ctx context.Context, workspaceID int64, keyUID string) (ws, key Rails, err error) {
	w, k, err := s.DB.AgentPolicies(ctx, workspaceID, keyUID)
	if err != nil {
		return Rails{}, Rails{}, err
	}
	return railsOf(w), railsOf(k), nil
}

// PolicyFor is the effective policy of the principal's key.
func (s *Service) PolicyFor(ctx context.Context, p model.Principal) (Policy, error) {
	ws, key, err := s.Rails(ctx, p.WorkspaceID, p.KeyUID)
	if err != nil {
		return Policy{}, err
	}
	return Effective(ws, key), nil
}

// SetWorkspaceRails updates the workspace's rails: nil fields of u keep
// their value.
func (s *Service) SetWorkspaceRails(ctx context.Context, workspaceID int64, u Rails) (Rails, error) {
	if u.ApprovalTTL != nil {
		ttl := time.Duration(*u.ApprovalTTL) * time.Second
		if ttl < MinApprovalTTL || ttl > MaxApprovalTTL {
			return Rails{}, apperr.BadInput("body/approval_ttl_seconds must be between %d and %d",
				int(MinApprovalTTL.Seconds()), int(MaxApprovalTTL.Seconds())).With("path", "body/approval_ttl_seconds")
		}
	}
	var out Rails
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		cur, _, err := store.AgentPolicies(ctx, tx, workspaceID, "")
		if err != nil {
			return err
		}
		if u.OutreachEnabled != nil {
			cur.Outreach = u.OutreachEnabled
		}
		if u.ApprovalRequired != nil {
			cur.Approval = u.ApprovalRequired
		}
		if u.ApprovalTTL != nil {
			cur.ApprovalTTL = u.ApprovalTTL
		}
		cur.UpdatedAt = store.Millis(s.now())
		out = railsOf(cur)
		return store.PutAgentPolicy(ctx, tx, cur)
	})
	return out, err
}

// SetKeyRails replaces a key's rails (nil: inherit the workspace's). The
// key must belong to the workspace (404 otherwise, as for any foreign uid).
func (s *Service) SetKeyRails(ctx context.Context, workspaceID int64, keyUID string, r Rails) (Rails, error) {
	if err := s.checkKey(ctx, workspaceID, keyUID); err != nil {
		return Rails{}, err
	}
	err := s.DB.PutAgentPolicy(ctx, store.AgentPolicy{WorkspaceID: workspaceID, KeyUID: keyUID,
		Outreach: r.OutreachEnabled, Approval: r.ApprovalRequired, UpdatedAt: store.Millis(s.now())})
	return Rails{OutreachEnabled: r.OutreachEnabled, ApprovalRequired: r.ApprovalRequired}, err
}

// KeyRails returns a key's rails and the workspace's.
func (s *Service) KeyRails(ctx context.Context, workspaceID int64, keyUID string) (ws, key Rails, err error) {
	if err := s.checkKey(ctx, workspaceID, keyUID); err != nil {
		return Rails{}, Rails{}, err
	}
	return s.Rails(ctx, workspaceID, keyUID)
}

func (s *Service) checkKey(ctx context.Context, workspaceID int64, keyUID string) error {
	ok, err := s.DB.WorkspaceKeyExists(ctx, workspaceID, keyUID)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.NotFound("API key %s not found", keyUID)
	}
	return nil
}

// VisibleTools is the list of tools the principal's key sees on /mcp now
// (for the dashboard: which tools a key can see).
func (s *Service) VisibleTools(ctx context.Context, p model.Principal) ([]ToolSpec, error) {
	pol, err := s.PolicyFor(ctx, p)
	if err != nil {
		return nil, err
	}
	return Tools(p.Role, pol, s.Available), nil
}

// Approval is a pending (or decided) outreach call as members and agents
// see it.
type Approval struct {
	UID       string          `json:"uid"`
	Status    string          `json:"status"`
	Tool      string          `json:"tool"`
	Action    string          `json:"action"`
	Request   json.RawMessage `json:"request"`
	KeyUID    string          `json:"key_uid"`
	MemberUID string          `json:"member_uid"`
	CreatedAt time.Time       `json:"created_at"`
	ExpiresAt time.Time       `json:"expires_at"`
	DecidedAt *time.Time      `json:"decided_at"`
	DecidedBy string          `json:"decided_by,omitempty"`
	RunUID    string          `json:"run_uid,omitempty"`
	// Result is the call's answer once it ran: its output, or the standard
	// error body when it failed.
	Result json.RawMessage `json:"result,omitempty"`
}

func (s *Service) view(a store.AgentApproval) Approval {
	v := Approval{UID: a.UID, Status: a.Status, Tool: a.Tool, Action: a.Action, Request: json.RawMessage(a.Request),
		KeyUID: a.KeyUID, MemberUID: a.MemberUID, CreatedAt: store.Time(a.CreatedAt).UTC(), ExpiresAt: store.Time(a.ExpiresAt).UTC(),
		DecidedBy: a.DecidedBy, RunUID: a.RunUID}
	if a.DecidedAt != nil {
		t := store.Time(*a.DecidedAt).UTC()
		v.DecidedAt = &t
	}
	if a.Result != "" {
		v.Result = json.RawMessage(a.Result)
	}
	if a.Status == store.ApprovalPending && store.Millis(s.now()) >= a.ExpiresAt {
		v.Status = ApprovalExpired
	}
	return v
}

// RequestApproval records an outreach call for a member to confirm.
// request is the live body the call will run with.
func (s *Service) RequestApproval(ctx context.Context, p model.Principal, pol Policy, tool, action string, request []byte) (Approval, error) {
	now := s.now()
	ttl := pol.ApprovalTTL
	if ttl <= 0 {
		ttl = DefaultApprovalTTL
	}
	row, err := s.DB.InsertAgentApproval(ctx, store.AgentApproval{UID: uuid.NewString(), WorkspaceID: p.WorkspaceID,
		KeyUID: p.KeyUID, MemberUID: p.MemberUID, Tool: tool, Action: action, Request: string(request), Status: store.ApprovalPending,
		CreatedAt: store.Millis(now), ExpiresAt: store.Millis(now.Add(ttl))})
	if err != nil {
		return Approval{}, err
	}
	return s.view(row), nil
}

// GetApproval reads one of the workspace's approvals.
func (s *Service) GetApproval(ctx context.Context, workspaceID int64, uid string) (Approval, error) {
	row, err := s.DB.GetAgentApproval(ctx, workspaceID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return Approval{}, apperr.NotFound("approval %s not found", uid)
	}
	if err != nil {
		return Approval{}, err
	}
	return s.view(row), nil
}

// ListApprovals lists the workspace's approvals, newest first; pending
// only lists those still waiting (not expired).
func (s *Service) ListApprovals(ctx context.Context, workspaceID int64, pending bool, limit, offset int) ([]Approval, error) {
	rows, err := s.DB.ListAgentApprovals(ctx, workspaceID, store.ApprovalFilter{Pending: pending,
		Now: store.Millis(s.now()), Limit: limit, Offset: offset})
	if err != nil {
		return nil, err
	}
	out := make([]Approval, 0, len(rows))
	for _, r := range rows {
		out = append(out, s.view(r))
	}
	return out, nil
}

// Outcome is what a confirmed approval's call returned.
type Outcome struct {
	RunUID string
	// Result is the output on success, the standard error body on failure.
	Result json.RawMessage
	Failed bool
}

// Decide confirms or rejects a pending approval on behalf of member p
// (the dashboard and POST /v4/approvals/{uid} both call it, through the
// API). A confirmed call runs at once through execute, as p; its outcome is
// stored on the approval, where the agent reads it. An approval decided
// already, or expired, is a 409.
func (s *Service) Decide(ctx context.Context, p model.Principal, uid string, confirm bool, execute Executor) (Approval, error) {
	cur, err := s.GetApproval(ctx, p.WorkspaceID, uid)
	if err != nil {
		return Approval{}, err
	}
	status := store.ApprovalRejected
	if confirm {
		status = store.ApprovalConfirmed
	}
	err = s.DB.DecideAgentApproval(ctx, p.WorkspaceID, uid, status, p.MemberUID, store.Millis(s.now()))
	if errors.Is(err, store.ErrApprovalNotPending) {
		latest, gerr := s.GetApproval(ctx, p.WorkspaceID, uid)
		if gerr == nil {
			cur = latest
		}
		return Approval{}, apperr.Conflict("approval %s is %s: only a PENDING approval can be decided", uid, cur.Status).
			With("status", cur.Status)
	}
	if err != nil {
		return Approval{}, err
	}
	if confirm {
		cur.Status = store.ApprovalConfirmed
		out := Outcome{Failed: true, Result: json.RawMessage(`{"error_label":"INTERNAL_ERROR","message":"no executor"}`)}
		if execute != nil {
			out = execute(ctx, p, cur)
		}
		final := store.ApprovalSucceeded
		if out.Failed {
			final = store.ApprovalFailed
		}
		if err := s.DB.FinishAgentApproval(context.WithoutCancel(ctx), p.WorkspaceID, uid, final, out.RunUID,
			string(out.Result)); err != nil {
			return Approval{}, err
		}
	}
	return s.GetApproval(ctx, p.WorkspaceID, uid)
}

// Call is one MCP tool call, for the audit log.
type Call struct {
	Tool string
	// Outcome: ok, error, dry_run, pending_approval, refused.
	Outcome     string
	RunUID      string
	ApprovalUID string
	ErrorLabel  string
	// Args are the names of the arguments sent (never their values: they
	// may hold message text).
	Args []string
}

// RecordCall writes the call to the workspace's audit log with the key
// that made it (action mcp.tool_call, target the tool).
func (s *Service) RecordCall(ctx context.Context, p model.Principal, c Call) error {
	d := map[string]any{"outcome": c.Outcome}
	if c.RunUID != "" {
		d["run_uid"] = c.RunUID
	}
	if c.ApprovalUID != "" {
		d["approval_uid"] = c.ApprovalUID
	}
	if c.ErrorLabel != "" {
		d["error_label"] = c.ErrorLabel
	}
	args := append([]string{}, c.Args...)
	sort.Strings(args)
	d["arguments"] = args
	raw, _ := json.Marshal(d)
	return s.DB.InsertAuditEvent(context.WithoutCancel(ctx), store.AuditEvent{UID: uuid.NewString(),
		WorkspaceID: p.WorkspaceID, ActorMemberUID: p.MemberUID, ActorKeyUID: p.KeyUID, Action: "mcp.tool_call",
		TargetType: "mcp_tool", TargetUID: c.Tool, Detail: string(raw), CreatedAt: store.Millis(s.now())}, p.KeyID)
}
