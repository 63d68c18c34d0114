package store

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Entry points for runs.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) GetRun(ctx context.Context, workspaceID int64, uid string) (model.Run, error) {
	return GetRun(ctx, db.r, workspaceID, uid)
}

func (db *Store) GetRunByID(ctx context.Context, id int64) (model.Run, error) {
	return GetRunByID(ctx, db.r, id)
}

func (db *Store) GetRunByIdempotencyKey(ctx context.Context, workspaceID int64, key string) (model.Run, string, error) {
	return GetRunByIdempotencyKey(ctx, db.r, workspaceID, key)
}

func (db *Store) ListRuns(ctx context.Context, workspaceID int64, f RunFilter) ([]model.Run, error) {
	return ListRuns(ctx, db.r, workspaceID, f)
}

func (db *Store) RunsNotRunning(ctx context.Context, ids []int64) (map[int64]bool, error) {
	return RunsNotRunning(ctx, db.r, ids)
}
