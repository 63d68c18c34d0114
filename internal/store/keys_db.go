package store

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Entry points for keys.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) ListAPIKeys(ctx context.Context, memberID int64) ([]model.APIKey, error) {
	return ListAPIKeys(ctx, db.r, memberID)
}
