package store

import (
	"context"
)

// Entry points for async.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) Outputs(ctx context.Context, runID int64, limit, offset int) ([]string, error) {
	return Outputs(ctx, db.r, runID, limit, offset)
}

func (db *Store) PendingInputs(ctx context.Context, runID int64, chunk int) ([]Input, error) {
	return PendingInputs(ctx, db.r, runID, chunk)
}

func (db *Store) RunCallbackHeaders(ctx context.Context, runID int64) (kid string, sealed []byte, err error) {
	return RunCallbackHeaders(ctx, db.r, runID)
}
