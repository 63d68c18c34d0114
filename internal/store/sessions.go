package store

import (
	"context"
	"database/sql"
	"errors"
)

// Session-driver state: the user agent an identity keeps, an integration's
// refreshed session, and account pauses (see migration 00100).

// IdentityUserAgent returns the identity's kept user agent ("" when none
// was chosen yet).
func IdentityUserAgent(ctx context.Context, q Querier, identityID int64) (string, error) {
	var ua string
	err := q.queryRowContext(ctx, `SELECT user_agent FROM identities WHERE id = $1`, identityID).Scan(&ua)
	return ua, notFound(err)
}

// KeepIdentityUserAgent gives the identity candidate as its user agent
// unless it has one already, and returns the one it keeps: of two workers
// choosing at once, the first to write wins and both use its choice.
func KeepIdentityUserAgent(ctx context.Context, q Querier, identityID int64, candidate string) (string, error) {
	if _, err := q.execContext(ctx, `UPDATE identities SET user_agent = $2 WHERE id = $1 AND user_agent = ''`,
		identityID, candidate); err != nil {
		return "", unable(err, "keep identity user agent")
	}
	return IdentityUserAgent(ctx, q, identityID)
}

// SetIntegrationSecret replaces an integration's sealed credentials (a
// session the platform refreshed), leaving its status alone.
func SetIntegrationSecret(ctx context.Context, q Querier, id int64, kid string, secret []byte, now int64) error {
	_, err := q.execContext(ctx, `UPDATE integrations SET secret_kid = $2, secret = $3, updated_at = $4 WHERE id = $1`,
		id, kid, secret, now)
	return unable(err, "set integration secret %v", id)
}

// AccountPause is an account's pause after a rate limit or bot detection.
type AccountPause struct {
	IntegrationID int64
	PausedUntil   int64 // unix ms
	Strikes       int   // pauses in the current streak
	LastAt        int64 // unix ms of the last pause
	Reason        string
}

// GetAccountPause reads an integration's pause; ok is false when it never
// paused.
func GetAccountPause(ctx context.Context, q Querier, integrationID int64) (p AccountPause, ok bool, err error) {
	err = q.queryRowContext(ctx, `SELECT integration_id, paused_until, strikes, last_at, reason FROM account_pauses
		WHERE integration_id = $1`, integrationID).Scan(&p.IntegrationID, &p.PausedUntil, &p.Strikes, &p.LastAt, &p.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return AccountPause{}, false, nil
	}
	return p, err == nil, unable(err, "get account pause")
}

// PutAccountPause stores an integration's pause, replacing the one it had.
func PutAccountPause(ctx context.Context, q Querier, p AccountPause) error {
	_, err := q.execContext(ctx, `INSERT INTO account_pauses (integration_id, paused_until, strikes, last_at, reason)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (integration_id) DO UPDATE SET paused_until = excluded.paused_until, strikes = excluded.strikes,
			last_at = excluded.last_at, reason = excluded.reason`,
		p.IntegrationID, p.PausedUntil, p.Strikes, p.LastAt, p.Reason)
	return unable(err, "put account pause")
}
