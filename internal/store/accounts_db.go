package store

import (
	"context"
)

// Entry points for accounts.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) Accounts(ctx context.Context, aq AccountQuery) ([]Account, error) {
	return Accounts(ctx, db.rPlain, aq)
}

func (db *Store) LatestPauseEnd(ctx context.Context, identityID int64, key string, since int64) (int64, error) {
	return LatestPauseEnd(ctx, db.r, identityID, key, since)
}

func (db *Store) IdentityUIDsIn(ctx context.Context, workspaceID int64, uids []string) (map[string]bool, error) {
	return IdentityUIDsIn(ctx, db.r, workspaceID, uids)
}

func (db *Store) IdentityLimitOverrides(ctx context.Context, id int64) (string, error) {
	return IdentityLimitOverrides(ctx, db.r, id)
}
