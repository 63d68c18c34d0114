package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
)

// AgentPolicy is one row of agent_policies: a workspace's MCP rails (KeyUID
// "") or one API key's. Nil fields are not set (inherit).
type AgentPolicy struct {
	WorkspaceID int64
	KeyUID      string
	Outreach    *bool
	Approval    *bool
	ApprovalTTL *int // seconds
	UpdatedAt   int64
}

func boolPtr(n sql.NullInt64) *bool {
	if !n.Valid {
		return nil
	}
	b := n.Int64 != 0
	return &b
}

func nullBool(b *bool) any {
	if b == nil {
		return nil
	}
	if *b {
		return 1
	}
	return 0
}

// AgentPolicies returns the workspace's policy row and, when keyUID is not
// empty, the key's (zero values with nil fields when a row is missing).
func AgentPolicies(ctx context.Context, q Querier, workspaceID int64, keyUID string) (ws, key AgentPolicy, err error) {
	ws, key = AgentPolicy{WorkspaceID: workspaceID}, AgentPolicy{WorkspaceID: workspaceID, KeyUID: keyUID}
	ps, err := queryAll(ctx, q, func(row scanner) (AgentPolicy, error) {
		var out, appr, ttl sql.NullInt64
		p := AgentPolicy{WorkspaceID: workspaceID}
		err := row.Scan(&p.KeyUID, &out, &appr, &ttl, &p.UpdatedAt)
		p.Outreach, p.Approval = boolPtr(out), boolPtr(appr)
		if ttl.Valid {
			t := int(ttl.Int64)
			p.ApprovalTTL = &t
		}
		return p, err
	}, `
		SELECT key_uid, outreach, approval, approval_ttl_seconds, updated_at FROM agent_policies
		WHERE workspace_id = $1 AND key_uid IN ('', $2)`, workspaceID, keyUID)
	if err != nil {
		return ws, key, unable(err, "read the agent policies of workspace %d", workspaceID)
	}
	for _, p := range ps {
		if p.KeyUID == "" {
			ws = p
		} else {
			key = p
		}
	}
	return ws, key, nil
}

// PutAgentPolicy stores a policy row, replacing the one it had.
func PutAgentPolicy(ctx context.Context, q Querier, p AgentPolicy) error {
	var ttl any
	if p.ApprovalTTL != nil {
		ttl = *p.ApprovalTTL
	}
	_, err := q.execContext(ctx, `
		INSERT INTO agent_policies (workspace_id, key_uid, outreach, approval, approval_ttl_seconds, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (workspace_id, key_uid) DO UPDATE SET outreach = excluded.outreach, approval = excluded.approval,
			approval_ttl_seconds = excluded.approval_ttl_seconds, updated_at = excluded.updated_at`,
		p.WorkspaceID, p.KeyUID, nullBool(p.Outreach), nullBool(p.Approval), ttl, p.UpdatedAt)
	return unable(err, "put agent policy")
}

// WorkspaceKeyExists reports whether an API key (revoked or not) with this
// uid belongs to the workspace.
func WorkspaceKeyExists(ctx context.Context, q Querier, workspaceID int64, uid string) (bool, error) {
	var n int
	err := q.queryRowContext(ctx, `SELECT COUNT(*) FROM api_keys WHERE workspace_id = $1 AND uid = $2`, workspaceID, uid).Scan(&n)
	return n > 0, unable(err, "read workspace key exists %v", uid)
}

// Approval statuses as stored. A PENDING approval past its expires_at is
// reported EXPIRED (agents.Approval); nothing rewrites the row.
const (
	ApprovalPending   = "PENDING"
	ApprovalRejected  = "REJECTED"
	ApprovalConfirmed = "CONFIRMED" // confirmed; the call is running
	ApprovalSucceeded = "SUCCEEDED"
	ApprovalFailed    = "FAILED"
)

// AgentApproval is one row of agent_approvals.
type AgentApproval struct {
	ID          int64
	UID         string
	WorkspaceID int64
	KeyUID      string
	MemberUID   string
	Tool        string
	Action      string
	Request     string
	Status      string
	CreatedAt   int64
	ExpiresAt   int64
	DecidedAt   *int64
	DecidedBy   string
	RunUID      string
	Result      string
}

const approvalCols = `id, uid, workspace_id, key_uid, member_uid, tool, action, request, status, created_at, expires_at,
	decided_at, decided_by, run_uid, result`

func scanApproval(sc interface{ Scan(...any) error }) (AgentApproval, error) {
	var a AgentApproval
	var decided sql.NullInt64
	err := sc.Scan(&a.ID, &a.UID, &a.WorkspaceID, &a.KeyUID, &a.MemberUID, &a.Tool, &a.Action, &a.Request, &a.Status,
		&a.CreatedAt, &a.ExpiresAt, &decided, &a.DecidedBy, &a.RunUID, &a.Result)
	if decided.Valid {
		v := decided.Int64
		a.DecidedAt = &v
	}
	return a, err
}

// InsertAgentApproval records a pending approval.
func InsertAgentApproval(ctx context.Context, q Querier, a AgentApproval) (AgentApproval, error) {
	err := q.queryRowContext(ctx, `
		INSERT INTO agent_approvals (uid, workspace_id, key_uid, member_uid, tool, action, request, status, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		a.UID, a.WorkspaceID, a.KeyUID, a.MemberUID, a.Tool, a.Action, a.Request, a.Status, a.CreatedAt, a.ExpiresAt).Scan(&a.ID)
	return a, unable(err, "insert agent approval")
}

// GetAgentApproval reads one of the workspace's approvals (ErrNotFound for
// another workspace's).
func GetAgentApproval(ctx context.Context, q Querier, workspaceID int64, uid string) (AgentApproval, error) {
	a, err := scanApproval(q.queryRowContext(ctx, `SELECT `+approvalCols+` FROM agent_approvals
		WHERE workspace_id = $1 AND uid = $2`, workspaceID, uid))
	return a, notFound(err)
}

// ApprovalFilter narrows ListAgentApprovals: Pending lists only PENDING
// rows not expired at Now (unix ms).
type ApprovalFilter struct {
	Pending       bool
	Now           int64
	Limit, Offset int
}

// ListAgentApprovals lists the workspace's approvals, newest first.
func ListAgentApprovals(ctx context.Context, q Querier, workspaceID int64, f ApprovalFilter) ([]AgentApproval, error) {
	where, args := `workspace_id = $1`, []any{workspaceID}
	if f.Pending {
		where += ` AND status = $2 AND expires_at > $3`
		args = append(args, ApprovalPending, f.Now)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	out, err := queryAll(ctx, q, scanApproval, `SELECT `+approvalCols+` FROM agent_approvals WHERE `+where+
		` ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(f.Limit)+` OFFSET `+strconv.Itoa(f.Offset), args...)
	return out, unable(err, "list the agent approvals of workspace %d", workspaceID)
}

// ErrApprovalNotPending: the approval was decided, or expired, before this
// decision.
var ErrApprovalNotPending = errors.New("store: approval not pending")

// DecideAgentApproval moves a PENDING approval not expired at now to status
// (CONFIRMED or REJECTED), once: of two concurrent decisions one wins, the
// other gets ErrApprovalNotPending.
func DecideAgentApproval(ctx context.Context, q Querier, workspaceID int64, uid, status, by string, now int64) error {
	res, err := q.execContext(ctx, `UPDATE agent_approvals SET status = $1, decided_at = $2, decided_by = $3
		WHERE workspace_id = $4 AND uid = $5 AND status = $6 AND expires_at > $2`,
		status, now, by, workspaceID, uid, ApprovalPending)
	if err != nil {
		return unable(err, "decide agent approval %v", uid)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrApprovalNotPending
	}
	return nil
}

// FinishAgentApproval records the outcome of a confirmed approval's call.
func FinishAgentApproval(ctx context.Context, q Querier, workspaceID int64, uid, status, runUID, result string) error {
	_, err := q.execContext(ctx, `UPDATE agent_approvals SET status = $1, run_uid = $2, result = $3
		WHERE workspace_id = $4 AND uid = $5 AND status = $6`, status, runUID, result, workspaceID, uid, ApprovalConfirmed)
	return unable(err, "finish agent approval %v", uid)
}
