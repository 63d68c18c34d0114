package store

import (
	"context"
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Deliveries lists a workspace's deliveries of a kind (see ListDeliveries).
func (db *Store) Deliveries(ctx context.Context, workspaceID int64, f DeliveryFilter) ([]model.Delivery, error) {
	return ListDeliveries(ctx, db.r, workspaceID, f)
}

// Delivery reads one delivery (see GetDelivery); ErrNotFound when the
// workspace has none of that kind and uid.
func (db *Store) Delivery(ctx context.Context, workspaceID int64, kind, uid string) (model.Delivery, error) {
	return GetDelivery(ctx, db.r, workspaceID, kind, uid)
}

// PostponedUntil is, for each of the runs named, the time it continues when
// it waits on a Smart Limit (see RunsPostponedUntil).
func (db *Store) PostponedUntil(ctx context.Context, workspaceID int64, runUIDs []string) (map[string]time.Time, error) {
	return RunsPostponedUntil(ctx, db.r, workspaceID, runUIDs)
}
