package store

import (
	"context"
)

// Entry points for sessions.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) IdentityUserAgent(ctx context.Context, identityID int64) (string, error) {
	return IdentityUserAgent(ctx, db.r, identityID)
}
