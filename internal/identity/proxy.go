package identity

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// ProxyAssigner gives each identity its own egress proxy (internal/proxy).
// Assignments live in the identity's own transactions: creation takes a
// proxy (or fails when the pool is exhausted), a time zone change may move
// it, and deletion releases it by cascade.
type ProxyAssigner interface {
	Assign(ctx context.Context, tx *store.Tx, identityID int64, timezone string) error
	Reassign(ctx context.Context, tx *store.Tx, identityID int64, oldTimezone, newTimezone string) error
	Refresh(ctx context.Context, tx *store.Tx, identityID int64, timezone string) error
	// Describe returns nil entries in direct mode (no pool configured).
	Describe(ctx context.Context, q store.Querier, identityIDs []int64) (map[int64]*model.IdentityProxy, error)
}

// assignProxy gives a new identity its proxy and fills id.Proxy.
func (s *Service) assignProxy(ctx context.Context, tx *store.Tx, id *model.Identity) error {
	if s.Proxies == nil {
		return nil
	}
	if err := s.Proxies.Assign(ctx, tx, id.ID, id.Timezone); err != nil {
		return err
	}
	return s.describeProxies(ctx, tx, id)
}

func (s *Service) reassignProxy(ctx context.Context, tx *store.Tx, id model.Identity, newTimezone string) error {
	if s.Proxies == nil {
		return nil
	}
	return s.Proxies.Reassign(ctx, tx, id.ID, id.Timezone, newTimezone)
}

// describeProxies fills the Proxy field of identities.
func (s *Service) describeProxies(ctx context.Context, q store.Querier, ids ...*model.Identity) error {
	if s.Proxies == nil || len(ids) == 0 {
		return nil
	}
	keys := make([]int64, len(ids))
	for i, id := range ids {
		keys[i] = id.ID
	}
	ps, err := s.Proxies.Describe(ctx, q, keys)
	if err != nil {
		return err
	}
	for _, id := range ids {
		id.Proxy = ps[id.ID]
	}
	return nil
}

func (s *Service) describeProxyList(ctx context.Context, q store.Querier, ids []model.Identity) error {
	ptrs := make([]*model.Identity, len(ids))
	for i := range ids {
		ptrs[i] = &ids[i]
	}
	return s.describeProxies(ctx, q, ptrs...)
}

// RefreshProxy moves an identity onto another proxy (its current one is
// marked unhealthy), e.g. after a PROXY_ERROR.
func (s *Service) RefreshProxy(ctx context.Context, workspaceID int64, uid string) (model.Identity, error) {
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		id, err := s.lookup(ctx, tx, workspaceID, uid)
		if err != nil {
			return err
		}
		if s.Proxies == nil {
			return nil
		}
		return s.Proxies.Refresh(ctx, tx, id.ID, id.Timezone)
	})
	if err != nil {
		return model.Identity{}, err
	}
	return s.Get(ctx, workspaceID, uid)
}
