package store

import (
	"context"
)

// Entry points for agents.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) AgentPolicies(ctx context.Context, workspaceID int64, keyUID string) (ws, key AgentPolicy, err error) {
	return AgentPolicies(ctx, db.r, workspaceID, keyUID)
}

func (db *Store) DecideAgentApproval(ctx context.Context, workspaceID int64, uid, status, by string, now int64) error {
	return DecideAgentApproval(ctx, sqlQ{db.write}, workspaceID, uid, status, by, now)
}

func (db *Store) FinishAgentApproval(ctx context.Context, workspaceID int64, uid, status, runUID, result string) error {
	return FinishAgentApproval(ctx, sqlQ{db.write}, workspaceID, uid, status, runUID, result)
}

func (db *Store) GetAgentApproval(ctx context.Context, workspaceID int64, uid string) (AgentApproval, error) {
	return GetAgentApproval(ctx, db.r, workspaceID, uid)
}

func (db *Store) InsertAgentApproval(ctx context.Context, a AgentApproval) (AgentApproval, error) {
	return InsertAgentApproval(ctx, sqlQ{db.write}, a)
}

func (db *Store) ListAgentApprovals(ctx context.Context, workspaceID int64, f ApprovalFilter) ([]AgentApproval, error) {
	return ListAgentApprovals(ctx, db.r, workspaceID, f)
}

func (db *Store) PutAgentPolicy(ctx context.Context, p AgentPolicy) error {
	return PutAgentPolicy(ctx, sqlQ{db.write}, p)
}

func (db *Store) WorkspaceKeyExists(ctx context.Context, workspaceID int64, uid string) (bool, error) {
	return WorkspaceKeyExists(ctx, db.r, workspaceID, uid)
}
