package store

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Entry points for integration_status.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) GetIntegrationByID(ctx context.Context, id int64) (model.Integration, error) {
	return GetIntegrationByID(ctx, sqlQ{db.read}, id)
}

func (db *Store) IntegrationOf(ctx context.Context, identityID int64, platform string) (model.Integration, error) {
	return IntegrationOf(ctx, sqlQ{db.read}, identityID, platform)
}

func (db *Store) ScheduleIntegrationCheck(ctx context.Context, id int64, checkedAt *int64, next int64) error {
	return ScheduleIntegrationCheck(ctx, sqlQ{db.write}, id, checkedAt, next)
}
