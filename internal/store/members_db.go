package store

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Entry points for members.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *DB) GetMember(ctx context.Context, workspaceID int64, uid string) (model.Member, error) {
	return GetMember(ctx, db.R, workspaceID, uid)
}

func (db *DB) ListMembers(ctx context.Context, workspaceID int64) ([]model.Member, error) {
	return ListMembers(ctx, db.R, workspaceID)
}
