package store

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Entry points for identities.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) CountIdentities(ctx context.Context, workspaceID int64) (int, error) {
	return CountIdentities(ctx, db.r, workspaceID)
}

func (db *Store) GetIdentity(ctx context.Context, workspaceID int64, uid string) (model.Identity, error) {
	return GetIdentity(ctx, sqlQ{db.read}, workspaceID, uid)
}

func (db *Store) GetLoginLink(ctx context.Context, tokenHash string) (LoginLink, error) {
	return GetLoginLink(ctx, db.r, tokenHash)
}

func (db *Store) ListIdentities(ctx context.Context, workspaceID int64, query string, limit, offset int) ([]model.Identity, error) {
	return ListIdentities(ctx, db.r, workspaceID, query, limit, offset)
}

func (db *Store) InsertIdentity(ctx context.Context, id model.Identity) (model.Identity, error) {
	return InsertIdentity(ctx, sqlQ{db.write}, id)
}
