package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/firstmate-oss/firstmate/internal/jobs"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// backup writes a consistent online backup of the SQLite database; on
// PostgreSQL it says how to use pg_dump, which does the same there.
func (c *cli) backup(args []string) error {
	o := c.flags("backup", true)
	to := o.fs.String("to", "", "the backup file to write (must not exist)")
	if err := o.parse(args); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("--to FILE is required (see firstmate backup --help)")
	}
	if !store.Embedded(o.cfg.DatabaseURL) {
		u, err := url.Parse(o.cfg.DatabaseURL)
		shown := "postgres://..."
		if err == nil {
			shown = u.Redacted()
		}
		fmt.Fprintf(c.stdout, `This installation is on PostgreSQL: back it up with pg_dump, which takes a
consistent snapshot while the nodes keep serving:

  pg_dump --format=custom --file=%s '%s'

Restore into an empty database with pg_restore --no-owner --dbname=URL %s.
Keep FIRSTMATE_SECRET_KEY with the backup: the sealed credentials need it.
`, *to, shown, *to)
		return errors.New("backup: nothing written (PostgreSQL: use pg_dump as shown)")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, "", dataDir(o.cfg.DataDir))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.BackupTo(ctx, *to); err != nil {
		return err
	}
	fi, err := os.Stat(*to)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "backup written to %s (%d bytes)\nTo restore: stop the node, put the file at %s, and keep the data directory's secret.key (or FIRSTMATE_SECRET_KEY) with it.\n",
		*to, fi.Size(), filepath.Join(dataDir(o.cfg.DataDir), "firstmate.db"))
	return nil
}

func dataDir(d string) string {
	if d == "" {
		return "firstmate-data"
	}
	return d
}

// copyTo moves a SQLite installation into an empty PostgreSQL database.
func (c *cli) copyTo(args []string) error {
	o := c.flags("copy", true)
	to := o.fs.String("to", "", "postgres:// URL of an empty database (migrated here if it is not)")
	if err := o.parse(args); err != nil {
		return err
	}
	if *to == "" || store.Embedded(*to) {
		return errors.New("--to postgres://... is required (see firstmate copy --help)")
	}
	if o.cfg.DatabaseURL != "" {
		return errors.New("copy reads the SQLite database of --data-dir; unset FIRSTMATE_DATABASE_URL / --database-url")
	}
	ctx := context.Background()
	src, err := store.Open(ctx, "", dataDir(o.cfg.DataDir))
	if err != nil {
		return err
	}
	defer src.Close()
	// The source is brought to this version's schema, like the target, so
	// that both have the same columns.
	if err := src.Migrate(ctx); err != nil {
		return err
	}
	if err := jobs.Migrate(ctx, src); err != nil {
		return err
	}
	dst, err := store.Open(ctx, *to, "")
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := dst.Migrate(ctx); err != nil {
		return err
	}
	if err := jobs.Migrate(ctx, dst); err != nil {
		return err
	}
	rep, err := src.CopyTo(ctx, dst)
	if err != nil {
		return err
	}
	n, err := jobs.CopyPending(ctx, src, dst)
	if err != nil {
		return err
	}
	var total int64
	for _, t := range rep.Tables {
		total += rep.Rows[t]
		fmt.Fprintf(c.stdout, "  %-20s %d\n", t, rep.Rows[t])
	}
	key := filepath.Join(dataDir(o.cfg.DataDir), "secret.key")
	fmt.Fprintf(c.stdout, `copied %d rows in %d tables, and %d pending jobs.

Start every node with FIRSTMATE_DATABASE_URL set to the new database and
FIRSTMATE_SECRET_KEY set to this installation's key (the contents of %s
unless FIRSTMATE_SECRET_KEY was set): the credentials are sealed with it.
Keep the SQLite data directory until the new nodes serve.
`, total, len(rep.Tables), n, key)
	return nil
}
