package store

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Entry points for deliveries.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) GetDeliveriesByID(ctx context.Context, ids []int64) ([]model.Delivery, error) {
	return GetDeliveriesByID(ctx, db.r, ids)
}

func (db *Store) RunHasUnattemptedBatches(ctx context.Context, runID int64) (bool, error) {
	return RunHasUnattemptedBatches(ctx, db.r, runID)
}
