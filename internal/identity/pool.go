package identity

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// The managed pool: LinkedIn accounts the operator provides for
// identity_mode "managed". They live as managed identities in a member-less
// operator workspace, so Smart Limits, credentials and health work for them
// exactly as for a customer's own identities.

// PoolPrincipal returns the operator pool workspace, creating it once.
func (s *Service) PoolPrincipal(ctx context.Context, newSecret func() []byte) (model.Principal, error) {
	var p model.Principal
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		p, err = store.OperatorPool(ctx, tx)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		kid, sealed := s.Keys.Seal(newSecret(), nil)
		id, err := store.InsertWorkspace(ctx, tx, store.NewWorkspace{UID: uuid.NewString(), Name: "Managed pool", Plan: "unlimited",
			SecretKID: kid, Secret: sealed})
		if err != nil {
			return err
		}
		if err := store.MarkOperatorPool(ctx, tx, id); err != nil {
			return err
		}
		w, err := store.GetWorkspace(ctx, tx, id)
		p = model.Principal{WorkspaceID: w.ID, WorkspaceUID: w.UID, WorkspaceName: w.Name, Plan: w.Plan, Role: model.RoleOwner}
		return err
	})
	p.Role = model.RoleOwner
	return p, err
}

// PoolAccount is one managed account.
type PoolAccount struct {
	Identity    model.Identity
	Integration *model.Integration
}

// AddPoolAccount creates a managed identity and connects its account.
func (s *Service) AddPoolAccount(ctx context.Context, pool model.Principal, name, platform string, c Connect) (PoolAccount, error) {
	name, err := validateName(name)
	if err != nil {
		return PoolAccount{}, err
	}
	var id model.Identity
	err = s.DB.Tx(ctx, func(tx *store.Tx) error {
		id, err = store.InsertIdentity(ctx, tx, model.Identity{UID: uuid.NewString(), WorkspaceID: pool.WorkspaceID,
			Name: name, Timezone: "UTC", Type: model.IdentityStandard, Managed: true})
		return err
	})
	if err != nil {
		return PoolAccount{}, err
	}
	c.SetupSource = "SHARED"
	g, err := s.ConnectIntegration(ctx, pool.WorkspaceID, id.UID, platform, c)
	if err != nil {
		return PoolAccount{Identity: id}, err
	}
	return PoolAccount{Identity: id, Integration: &g}, nil
}

// PoolAccounts lists the pool with each account's integration status.
func (s *Service) PoolAccounts(ctx context.Context, pool model.Principal) ([]PoolAccount, error) {
	uids, err := s.DB.ManagedIdentityUIDs(ctx, pool.WorkspaceID)
	if err != nil {
		return nil, err
	}
	var out []PoolAccount
	for _, u := range uids {
		id, err := s.Get(ctx, pool.WorkspaceID, u)
		if err != nil {
			return nil, err
		}
		pa := PoolAccount{Identity: id}
		if len(id.Integrations) > 0 {
			g := id.Integrations[0]
			pa.Integration = &g
		}
		out = append(out, pa)
	}
	return out, nil
}

// RemovePoolAccount deletes a managed identity.
func (s *Service) RemovePoolAccount(ctx context.Context, pool model.Principal, uid string) error {
	err := s.Delete(ctx, pool.WorkspaceID, uid)
	if apperr.Is(err, "NOT_FOUND") {
		return apperr.NotFound("pool account %s not found", uid)
	}
	return err
}

// ManagedIdentityCount is handy for start-up seeding.
func (s *Service) ManagedIdentityCount(ctx context.Context, pool model.Principal) (int, error) {
	return s.DB.CountManagedIdentities(ctx, pool.WorkspaceID)
}
