package store

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Entry points for operator.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) ListWorkspaceKeys(ctx context.Context, workspaceID int64) ([]WorkspaceKey, error) {
	return ListWorkspaceKeys(ctx, db.r, workspaceID)
}

func (db *Store) WorkspacesByRef(ctx context.Context, ref string) ([]model.Workspace, error) {
	return WorkspacesByRef(ctx, db.r, ref)
}
