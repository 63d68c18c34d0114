package store

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Entry points for workspaces.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) GetWorkspace(ctx context.Context, id int64) (model.Workspace, error) {
	return GetWorkspace(ctx, db.r, id)
}

func (db *Store) WorkspaceSecret(ctx context.Context, id int64) (kid string, sealed []byte, err error) {
	return WorkspaceSecret(ctx, db.r, id)
}

func (db *Store) CountWorkspaces(ctx context.Context) (int, error) { return CountWorkspaces(ctx, db.r) }

func (db *Store) InsertWorkspace(ctx context.Context, w NewWorkspace) (int64, error) {
	return InsertWorkspace(ctx, sqlQ{db.write}, w)
}
