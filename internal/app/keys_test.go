package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/store"
)

func open(cfg config.Config) (*app.App, error) {
	return app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// keyChecks reads the stored key checks straight from the database.
func keyChecks(t *testing.T, st apitest.Store) map[string]store.KeyCheck {
	t.Helper()
	db := st.OpenDB(t)
	c, err := store.KeyChecks(context.Background(), db.Handles().R)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	return c
}

// refused opens the store with cfg and expects a refusal mentioning every
// one of want, with no key file left behind and the key checks unchanged.
func refused(t *testing.T, st apitest.Store, what string, cfg config.Config, want ...string) {
	t.Helper()
	before := keyChecks(t, st)
	_, statErr := os.Stat(filepath.Join(cfg.DataDir, "secret.key"))
	a, err := open(cfg)
	if err == nil {
		a.Close()
		t.Errorf("%s: opened", what)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not say %q", what, err, w)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "secret.key")); err == nil && statErr != nil {
		t.Errorf("%s: a key file was made", what)
	}
	if after := keyChecks(t, st); len(after) != len(before) {
		t.Errorf("%s: the key checks changed: %v -> %v", what, before, after)
	}
}

// TestOneKeyringPerDeployment: a node or an operator command that opens the
// database with another key under the same id, with keys the database does
// not know, or with no key at all (which would make one) refuses to start
// with a message naming FIRSTMATE_SECRET_KEY; a rotated keyring (new key
// first, old key kept) starts, reads the old secrets and seals new ones
// with the new key, after which a node without the new key is refused.
func TestOneKeyringPerDeployment(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		st := apitest.NewStore(t, dialect)
		env := apitest.StartOn(t, st)
		key := env.NewWorkspace("Keys "+dialect, "developer")
		secretBefore := env.Must(200, "GET", "/v4/workspaces/settings", key, nil).Obj()["callback_signing_secret"]
		env.Close()
		if c := keyChecks(t, st); len(c) != 1 || !c["k1"].Activated {
			t.Fatalf("key checks after the first start: %v", c)
		}

		cfg := func(spec string, operator bool) config.Config {
			c := st.Config()
			c.SecretKey, c.Operator = spec, operator
			return c
		}
		refused(t, st, "another key named k1", cfg(secret.NewSpec("k1"), false), `"k1"`, "FIRSTMATE_SECRET_KEY")
		refused(t, st, "another key named k1, operator", cfg(secret.NewSpec("k1"), true), `"k1"`, "FIRSTMATE_SECRET_KEY")
		refused(t, st, "an unknown key", cfg(secret.NewSpec("prod"), false), "prod", "k1", "FIRSTMATE_SECRET_KEY")
		// No key: on PostgreSQL a fresh data directory (a second node, or an
		// operator's machine); on SQLite the database's own directory
		// without its key file.
		noKey := cfg("", true)
		if dialect == store.Postgres {
			noKey.DataDir = t.TempDir()
		}
		refused(t, st, "no key", noKey, "no secret key given", "k1", "FIRSTMATE_SECRET_KEY")
		noKey.Operator = false
		refused(t, st, "no key, serve", noKey, "no secret key given", "FIRSTMATE_SECRET_KEY")

		// Rotation: k2 first, k1 kept.
		k2 := secret.NewSpec("k2")
		rot := st
		rot.SecretKey = k2 + "," + st.SecretKey
		env2 := apitest.StartOn(t, rot)
		if s := env2.Must(200, "GET", "/v4/workspaces/settings", key, nil).Obj()["callback_signing_secret"]; s != secretBefore {
			t.Errorf("the signing secret after rotation: %v, want %v", s, secretBefore)
		}
		key2 := env2.NewWorkspace("Keys after rotation "+dialect, "developer")
		env2.Must(200, "GET", "/v4/workspaces/settings", key2, nil)
		var kid string
		if err := env2.App.DB.Handles().Read.QueryRowContext(context.Background(),
			`SELECT signing_secret_kid FROM workspaces WHERE name = $1`, "Keys after rotation "+dialect).Scan(&kid); err != nil || kid != "k2" {
			t.Errorf("a new workspace's secret is sealed with %q (%v), want k2", kid, err)
		}
		env2.Close()
		if c := keyChecks(t, st); len(c) != 2 || !c["k2"].Activated {
			t.Errorf("key checks after the rotation: %v", c)
		}
		// A node still on the old keyring could not open what k2 sealed.
		refused(t, st, "the keyring before the rotation", cfg(st.SecretKey, false), "k2", "FIRSTMATE_SECRET_KEY")
		// Both keys, in either order, are fine.
		for _, spec := range []string{st.SecretKey + "," + k2, k2 + "," + st.SecretKey} {
			a, err := open(cfg(spec, true))
			if err != nil {
				t.Errorf("keyring %s...: %v", spec[:3], err)
				continue
			}
			if _, err := a.Workspaces.Settings(context.Background(), workspaceID(t, a, key2)); err != nil {
				t.Errorf("settings sealed with k2, keyring %s...: %v", spec[:3], err)
			}
			a.Close()
		}
		// Another key under the new id is refused as well.
		refused(t, st, "another key named k2", cfg(secret.NewSpec("k2")+","+st.SecretKey, false), `"k2"`)
	})
}

// TestKeyCheckOfAnOlderDatabase: a database set up before key checks (it
// holds sealed secrets, no check) refuses a keyring that cannot open them
// and records the check of one that can.
func TestKeyCheckOfAnOlderDatabase(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		st := apitest.NewStore(t, dialect)
		env := apitest.StartOn(t, st)
		env.NewWorkspace("Older "+dialect, "developer")
		if _, err := env.App.DB.Handles().Write.ExecContext(context.Background(), `DELETE FROM key_checks`); err != nil {
			t.Fatal(err)
		}
		env.Close()
		c := st.Config()
		c.SecretKey = secret.NewSpec("k1")
		refused(t, st, "another key, older database", c, `"k1"`, "FIRSTMATE_SECRET_KEY")
		c.SecretKey = ""
		if dialect == store.Postgres {
			c.DataDir = t.TempDir()
		}
		refused(t, st, "no key, older database", c, "no secret key given")
		a, err := open(st.Config())
		if err != nil {
			t.Fatalf("the right key: %v", err)
		}
		a.Close()
		if c := keyChecks(t, st); len(c) != 1 {
			t.Errorf("key checks after the right key: %v", c)
		}
	})
}

func workspaceID(t *testing.T, a *app.App, key string) int64 {
	t.Helper()
	p, err := a.Workspaces.Authenticate(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return p.WorkspaceID
}
