package store

import (
	"context"
)

// Entry points for proxies.go's statements that pick their connection themselves
// (reads on the read pool, writes on the writer), so that callers outside
// the store never choose one: each is the function of the same name on the
// handle it needs. Inside a transaction, call the function with the tx.

func (db *Store) ProxyOf(ctx context.Context, identityID int64) (Proxy, error) {
	return ProxyOf(ctx, sqlQ{db.read}, identityID)
}

func (db *Store) IdentitiesWithoutProxy(ctx context.Context) ([]UnproxiedIdentity, error) {
	return IdentitiesWithoutProxy(ctx, sqlQ{db.read})
}

func (db *Store) ListProxies(ctx context.Context) ([]Proxy, error) {
	return ListProxies(ctx, sqlQ{db.read})
}
