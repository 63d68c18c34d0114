package store

import (
	"context"
)

// Entry points for engagement.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) EngagementPeak(ctx context.Context, workspaceID, periodStart int64) (int, error) {
	return EngagementPeak(ctx, sqlQ{db.read}, workspaceID, periodStart)
}
