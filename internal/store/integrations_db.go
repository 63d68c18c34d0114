package store

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// Entry points for integrations.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) GetIdentityWithIntegrations(ctx context.Context, workspaceID int64, uid string) (model.Identity, error) {
	return GetIdentityWithIntegrations(ctx, db.r, workspaceID, uid)
}

func (db *Store) GetIntegration(ctx context.Context, workspaceID, identityID int64, platform string) (model.Integration, error) {
	return GetIntegration(ctx, db.r, workspaceID, identityID, platform)
}

func (db *Store) IntegrationsOf(ctx context.Context, workspaceID int64, identityIDs []int64) (map[int64][]model.Integration, error) {
	return IntegrationsOf(ctx, db.r, workspaceID, identityIDs)
}
