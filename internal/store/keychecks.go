package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// KeyCheck is the stored check of one encryption key (see secret.Keyring.Check).
type KeyCheck struct {
	KID       string
	MAC       string
	CreatedAt int64
	// Activated: the key has been the active one, so secrets may be sealed
	// with it.
	Activated bool
}

// LockKeyChecks serialises the key check of concurrent starts until tx
// ends (where write transactions are serial, they already are).
func (db *Store) LockKeyChecks(ctx context.Context, tx *Tx) error {
	if err := db.dialect.lockTable(ctx, tx, "key_checks"); err != nil {
		return fmt.Errorf("store: unable to lock the key checks: %w", err)
	}
	return nil
}

// KeyChecks returns the stored key checks by key id.
func KeyChecks(ctx context.Context, q Querier) (map[string]KeyCheck, error) {
	out := map[string]KeyCheck{}
	err := queryEach(ctx, q, func(row scanner) error {
		var c KeyCheck
		if err := row.Scan(&c.KID, &c.MAC, &c.CreatedAt, &c.Activated); err != nil {
			return err
		}
		out[c.KID] = c
		return nil
	}, `SELECT kid, mac, created_at, activated_at IS NOT NULL FROM key_checks`)
	if err != nil {
		return nil, unable(err, "read the key checks")
	}
	return out, nil
}

// RecordKeyCheck stores a key's check unless one is stored for its id, and
// marks the key activated when active is true.
func RecordKeyCheck(ctx context.Context, q Querier, kid, mac string, active bool) error {
	now := Now()
	var activated sql.NullInt64
	if active {
		activated = sql.NullInt64{Int64: now, Valid: true}
	}
	if _, err := q.execContext(ctx, `INSERT INTO key_checks (kid, mac, created_at, activated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kid) DO NOTHING`, kid, mac, now, activated); err != nil {
		return fmt.Errorf("store: unable to record the key check of %q: %w", kid, err)
	}
	if active {
		if _, err := q.execContext(ctx, `UPDATE key_checks SET activated_at = $2 WHERE kid = $1 AND activated_at IS NULL`,
			kid, now); err != nil {
			return fmt.Errorf("store: unable to record the key check of %q: %w", kid, err)
		}
	}
	return nil
}

// AnySealedSecret returns one sealed workspace signing secret (its key id
// and ciphertext, sealed without additional data), for checking a keyring
// against a database that holds secrets but no key check yet (one set up
// before key checks existed). ok is false when there is none.
func AnySealedSecret(ctx context.Context, q Querier) (kid string, sealed []byte, ok bool, err error) {
	err = q.queryRowContext(ctx, `SELECT signing_secret_kid, signing_secret FROM workspaces
		WHERE signing_secret_kid <> '' ORDER BY id LIMIT 1`).Scan(&kid, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, fmt.Errorf("store: unable to read a sealed secret: %w", err)
	}
	return kid, sealed, true, nil
}
