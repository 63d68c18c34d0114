package store

import (
	"context"
	"database/sql"
	"strconv"
)

// Proxy is a row of the proxies table: the database's mirror of one proxy of
// the operator's pool. It never holds credentials.
type Proxy struct {
	ID          int64
	Fingerprint string
	Country     string
	Endpoint    string
	Active      bool
	Healthy     bool
	UnhealthyAt sql.NullInt64
	LastError   string
	// Set when the proxy is assigned.
	IdentityID  sql.NullInt64
	IdentityUID string
	AssignedAt  sql.NullInt64
	// Of the assigned identity, for operator listings.
	WorkspaceUID string
	Managed      bool
}

const proxyCols = `p.id, p.fingerprint, p.country, p.endpoint, p.active, p.healthy, p.unhealthy_at, p.last_error,
	a.identity_id, COALESCE(i.uid, ''), a.assigned_at, COALESCE(w.uid, ''), COALESCE(i.managed, FALSE)`

const proxyFrom = ` FROM proxies p
	LEFT JOIN proxy_assignments a ON a.proxy_id = p.id
	LEFT JOIN identities i ON i.id = a.identity_id
	LEFT JOIN workspaces w ON w.id = i.workspace_id`

func scanProxy(row interface{ Scan(...any) error }) (Proxy, error) {
	var p Proxy
	err := row.Scan(&p.ID, &p.Fingerprint, &p.Country, &p.Endpoint, &p.Active, &p.Healthy, &p.UnhealthyAt, &p.LastError,
		&p.IdentityID, &p.IdentityUID, &p.AssignedAt, &p.WorkspaceUID, &p.Managed)
	return p, notFound(err)
}

func queryProxies(ctx context.Context, q Querier, where string, args ...any) ([]Proxy, error) {
	out, err := queryAll(ctx, q, scanProxy, `SELECT `+proxyCols+proxyFrom+` `+where, args...)
	return out, unable(err, "read proxies")
}

// DeactivateProxies marks every proxy inactive; a sync then reactivates the
// configured ones (UpsertProxy) in the same transaction.
func DeactivateProxies(ctx context.Context, q Querier) error {
	_, err := q.execContext(ctx, `UPDATE proxies SET active = FALSE WHERE active`)
	return unable(err, "deactivate proxies")
}

// UpsertProxy records a configured proxy (active) and returns its id.
func UpsertProxy(ctx context.Context, q Querier, fingerprint, country, endpoint string) (int64, error) {
	var id int64
	now := Now()
	err := q.queryRowContext(ctx, `
		INSERT INTO proxies (fingerprint, country, endpoint, active, healthy, last_error, created_at, updated_at)
		VALUES ($1, $2, $3, TRUE, TRUE, '', $4, $4)
		ON CONFLICT (fingerprint) DO UPDATE SET country = excluded.country, endpoint = excluded.endpoint,
			active = TRUE, updated_at = excluded.updated_at
		RETURNING id`, fingerprint, country, endpoint, now).Scan(&id)
	return id, unable(err, "upsert proxy")
}

// ReleaseInactiveProxies ends the assignments of proxies that left the
// configuration; it returns how many identities lost their proxy.
func ReleaseInactiveProxies(ctx context.Context, q Querier) (int64, error) {
	res, err := q.execContext(ctx, `DELETE FROM proxy_assignments WHERE proxy_id IN (SELECT id FROM proxies WHERE NOT active)`)
	if err != nil {
		return 0, unable(err, "release inactive proxies")
	}
	n, err := res.RowsAffected()
	return n, unable(err, "count released proxies")
}

// FreeProxies lists the active proxies no identity holds.
func FreeProxies(ctx context.Context, q Querier) ([]Proxy, error) {
	return queryProxies(ctx, q, `WHERE p.active AND a.proxy_id IS NULL ORDER BY p.id`)
}

// ListProxies lists every proxy with its assignment, for operators.
func ListProxies(ctx context.Context, q Querier) ([]Proxy, error) {
	return queryProxies(ctx, q, `ORDER BY p.active DESC, p.country, p.id`)
}

// ProxyOf returns the proxy assigned to an identity (ErrNotFound: none).
func ProxyOf(ctx context.Context, q Querier, identityID int64) (Proxy, error) {
	ps, err := queryProxies(ctx, q, `WHERE a.identity_id = $1`, identityID)
	if err != nil {
		return Proxy{}, unable(err, "read proxy of")
	}
	if len(ps) == 0 {
		return Proxy{}, ErrNotFound
	}
	return ps[0], nil
}

// ProxiesOf returns the proxies of several identities, by identity id.
func ProxiesOf(ctx context.Context, q Querier, identityIDs []int64) (map[int64]Proxy, error) {
	out := map[int64]Proxy{}
	if len(identityIDs) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(identityIDs))
	in := ""
	for i, id := range identityIDs {
		if i > 0 {
			in += ","
		}
		args = append(args, id)
		in += "$" + strconv.Itoa(len(args))
	}
	ps, err := queryProxies(ctx, q, `WHERE a.identity_id IN (`+in+`)`, args...)
	for _, p := range ps {
		out[p.IdentityID.Int64] = p
	}
	return out, unable(err, "read proxies of")
}

// ClaimProxy assigns a proxy to an identity. It reports false, without
// error, when the proxy or the identity is already assigned: under
// concurrent claims the UNIQUE constraints decide, and the loser moves on.
func ClaimProxy(ctx context.Context, q Querier, proxyID, identityID int64) (bool, error) {
	res, err := q.execContext(ctx, `
		INSERT INTO proxy_assignments (proxy_id, identity_id, assigned_at) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, proxyID, identityID, Now())
	if err != nil {
		return false, unable(err, "claim proxy")
	}
	n, err := res.RowsAffected()
	return n == 1, unable(err, "claim proxy")
}

// ReleaseProxy ends an identity's assignment (no-op when it has none).
func ReleaseProxy(ctx context.Context, q Querier, identityID int64) error {
	_, err := q.execContext(ctx, `DELETE FROM proxy_assignments WHERE identity_id = $1`, identityID)
	return unable(err, "release proxy")
}

// SetProxyHealth records a proxy's health; reason is kept when unhealthy.
func SetProxyHealth(ctx context.Context, q Querier, proxyID int64, healthy bool, reason string) error {
	now := Now()
	if healthy {
		_, err := q.execContext(ctx, `UPDATE proxies SET healthy = TRUE, unhealthy_at = NULL, last_error = '', updated_at = $2
			WHERE id = $1`, proxyID, now)
		return unable(err, "set proxy health")
	}
	_, err := q.execContext(ctx, `UPDATE proxies SET healthy = FALSE, unhealthy_at = $2, last_error = $3, updated_at = $2
		WHERE id = $1`, proxyID, now, reason)
	return unable(err, "set proxy health")
}

// UnproxiedIdentity is an identity without a proxy, for back-filling.
type UnproxiedIdentity struct {
	ID       int64
	Timezone string
}

// IdentitiesWithoutProxy lists identities that hold no proxy, oldest first.
func IdentitiesWithoutProxy(ctx context.Context, q Querier) ([]UnproxiedIdentity, error) {
	out, err := queryAll(ctx, q, func(row scanner) (UnproxiedIdentity, error) {
		var u UnproxiedIdentity
		err := row.Scan(&u.ID, &u.Timezone)
		return u, err
	}, `SELECT i.id, i.timezone FROM identities i
		WHERE NOT EXISTS (SELECT 1 FROM proxy_assignments a WHERE a.identity_id = i.id) ORDER BY i.id`)
	return out, unable(err, "read the identities without a proxy")
}
