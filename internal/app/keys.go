package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// One encryption keyring per deployment. Every node and operator command
// must open the database with the keyring its secrets were sealed with: a
// process with another key would seal secrets no other process can open
// (and fail to open theirs), which shows up later as 500s. So the database
// keeps a check of each key (secret.Keyring.Check), and Open refuses to go
// on when:
//   - no key is given (FIRSTMATE_SECRET_KEY unset, no key file) but the
//     database already holds secrets: it would make a new key;
//   - a key has the id of a stored one but is not the same key;
//   - none of the keyring's keys is known to the database;
//   - the keyring lacks a key that has sealed secrets (one that was active).
//
// Rotation keeps working: a keyring "k2:...,k1:..." holds the known k1, so
// it is accepted, and k2's check is recorded (and k2 marked as having
// sealed secrets) at that start. Other nodes still on "k1:..." are then
// refused, since they could not open what k2 seals: give every node the new
// keyring. To roll it out without refusals, first deploy "k1:...,k2:..." (k2
// known, not yet sealing), then "k2:...,k1:...". Old keys stay in the
// keyring: what they sealed is never re-sealed.

// loadKeys returns the configured keyring: FIRSTMATE_SECRET_KEY, else the
// data directory's key file, which is created only when the database holds
// no secret yet.
func loadKeys(ctx context.Context, cfg config.Config, db *store.Store) (*secret.Keyring, error) {
	if cfg.SecretKey != "" {
		kr, err := secret.Parse(cfg.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("FIRSTMATE_SECRET_KEY: %w", err)
		}
		return kr, nil
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	kr, err := secret.LoadFile(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return kr, err
	}
	known, err := knownKeys(ctx, db)
	if err != nil {
		return nil, err
	}
	if len(known) > 0 {
		return nil, fmt.Errorf("no secret key given, and this database holds secrets sealed with key %s: "+
			"set FIRSTMATE_SECRET_KEY to the deployment's keyring (the same on every node and for every "+
			"command), or put it in %s; no new key was made", strings.Join(known, ", "), path)
	}
	return secret.LoadOrCreateFile(path)
}

// knownKeys lists the key ids the database knows: those with a check, or
// the key of a sealed secret in a database set up before key checks.
func knownKeys(ctx context.Context, db *store.Store) ([]string, error) {
	checks, err := db.KeyChecks(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for kid := range checks {
		out = append(out, kid)
	}
	if len(out) == 0 {
		kid, _, ok, err := db.AnySealedSecret(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, kid)
		}
	}
	slices.Sort(out)
	return out, nil
}

// errKeyMismatch prefixes every refusal of checkKeys.
var errKeyMismatch = errors.New("the secret keys do not match this database")

// checkKeys compares the keyring with the database's key checks, records
// the checks of its new keys and marks its active key as sealing, all under
// a lock, so that two first starts with different keys cannot both win.
func checkKeys(ctx context.Context, db *store.Store, keys *secret.Keyring, log *slog.Logger) error {
	return db.Tx(ctx, func(tx *store.Tx) error {
		if err := db.LockKeyChecks(ctx, tx); err != nil {
			return err
		}
		stored, err := store.KeyChecks(ctx, tx)
		if err != nil {
			return err
		}
		if len(stored) == 0 {
			// Set up before key checks (or empty): a sealed secret tells
			// whether this keyring is the one in use.
			if err := checkSealed(ctx, tx, keys); err != nil {
				return err
			}
		}
		var matched []string
		for _, kid := range keys.KIDs() {
			c, ok := stored[kid]
			if !ok {
				continue
			}
			if mine, _ := keys.Check(kid); mine != c.MAC {
				return fmt.Errorf("%w: key %q is not the key %q this database was set up with (its check differs); "+
					"give every node and command the deployment's keyring (FIRSTMATE_SECRET_KEY)", errKeyMismatch, kid, kid)
			}
			matched = append(matched, kid)
		}
		var storedKIDs, missing []string
		for kid, c := range stored {
			storedKIDs = append(storedKIDs, kid)
			if _, ok := keys.Check(kid); !ok && c.Activated {
				missing = append(missing, kid)
			}
		}
		slices.Sort(storedKIDs)
		slices.Sort(missing)
		if len(stored) > 0 && len(matched) == 0 {
			return fmt.Errorf("%w: none of the keys given (%s) is one this database knows (%s); "+
				"give every node and command the deployment's keyring (FIRSTMATE_SECRET_KEY)", errKeyMismatch,
				strings.Join(keys.KIDs(), ", "), strings.Join(storedKIDs, ", "))
		}
		if len(missing) > 0 {
			return fmt.Errorf("%w: the keyring lacks key %s, which has sealed secrets in this database; "+
				"keep every key that was ever first in FIRSTMATE_SECRET_KEY in the keyring (new key first), on every node",
				errKeyMismatch, strings.Join(missing, ", "))
		}
		for _, kid := range keys.KIDs() {
			mac, _ := keys.Check(kid)
			if err := store.RecordKeyCheck(ctx, tx, kid, mac, kid == keys.ActiveKID()); err != nil {
				return err
			}
		}
		if !stored[keys.ActiveKID()].Activated && len(stored) > 0 {
			log.Info("secret key rotation: new secrets are now sealed with this key", "kid", keys.ActiveKID())
		}
		return nil
	})
}

// checkSealed opens one sealed secret of a database that has no key check
// yet: a keyring that cannot is not the one in use.
func checkSealed(ctx context.Context, tx *store.Tx, keys *secret.Keyring) error {
	kid, sealed, ok, err := store.AnySealedSecret(ctx, tx)
	if err != nil || !ok {
		return err
	}
	if _, err := keys.Open(kid, sealed, nil); err != nil {
		return fmt.Errorf("%w: this database holds secrets sealed with key %q, which the keys given (%s) cannot open; "+
			"give every node and command the deployment's keyring (FIRSTMATE_SECRET_KEY)", errKeyMismatch, kid,
			strings.Join(keys.KIDs(), ", "))
	}
	return nil
}
