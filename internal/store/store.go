// Package store is Firstmate's storage: an embedded SQLite file or a shared
// PostgreSQL, and all of Firstmate's SQL, one file per aggregate. Both
// databases run the same statements where they can: `$n` placeholders,
// RETURNING, ON CONFLICT and unix millisecond times work unchanged on both.
// What differs lives behind the dialect interface (dialect.go), one
// implementation per database (dialect_sqlite.go, dialect_postgres.go),
// chosen once at Open; callers outside the package ask capabilities
// (SupportsRowLocks, ...), never which database it is.
//
// The package has three layers:
//   - conns (conn.go, connstmt.go, stmtcache.go, checkpoint.go): the
//     SQL-connection layer. It opens either database and holds its pools,
//     the prepared-statement caches and SQLite's checkpointer.
//   - groupcommit (its own package): batching of concurrent writes, which
//     knows nothing of SQL; the store's Lane and Group (lanes.go, group.go)
//     hand it functions that write a batch in one transaction.
//   - Store (this file): what callers hold. It owns the read caches
//     (readcache.go, authcache.go), the group commit the lanes share, the
//     write health (health.go) and the dialect, around the conns.
//
// Callers enter through Store.View (reads) and Store.Tx and its kin
// (writes), or a named entry point that picks the connection itself. The
// store.Querier and *store.Tx those hand out run SQL only inside this
// package (tx.go): a caller passes them on to the store's functions. Every
// error from the database is returned wrapped with what was being done
// ("store: unable to ...", errors.go), so errors.Is still finds
// sql.ErrNoRows and the drivers' errors underneath.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/firstmate-oss/firstmate/internal/model"

	"github.com/firstmate-oss/firstmate/internal/store/groupcommit"
)

//go:embed migrations
var migrations embed.FS

// The databases' names (Store.Dialect): for logs, messages and tests that run
// once per database. Code never compares against them; it asks the
// capabilities in dialect.go.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Store is the storage a process holds, one per database. It embeds the
// connection layer (conns, conn.go), which it alone uses, and owns what the
// store keeps beside the connections: what differs between the databases
// (dialect), the read caches, the group commit that lanes share and the
// write health. Services hold a *Store (conventionally in a field named DB)
// and enter it through View, Tx and the named entry points.
type Store struct {
	*conns
	// Dialect is the database's name (SQLite or Postgres), for logs and
	// messages.
	Dialect string
	// dialect is what differs between the databases (dialect.go).
	dialect dialect

	// gen counts write transactions; principals and accounts are read
	// caches that a new generation empties (see readcache.go).
	gen atomic.Uint64
	// auth is the principal cache's own invalidation (authcache.go): the
	// principal cache is not emptied by every write transaction, only by
	// changes to keys, members' roles and workspaces' plans, seen through
	// the auth_epoch counter.
	auth       authWatch
	principals *readCache[model.Principal]
	workspaces *readCache[model.Workspace]
	accounts   *readCache[[]Account]
	// lanes is the group commit that every Lane shares on SQLite.
	lanes groupcommit.Batcher[laneItem]
	// health tells /readyz whether writes go through (health.go).
	health writeHealth
}

// Open connects to databaseURL when it is a postgres:// URL, and otherwise to
// the SQLite file firstmate.db inside dataDir.
func Open(ctx context.Context, databaseURL, dataDir string) (*Store, error) {
	if isPostgresURL(databaseURL) {
		c, err := openPostgres(ctx, databaseURL)
		if err != nil {
			return nil, unable(err, "connect to postgres %s", redactURL(databaseURL))
		}
		return newStore(c, postgresDialect{}), nil
	}
	if databaseURL != "" {
		return nil, fmt.Errorf("store: unsupported database URL scheme (want postgres://): %s", redactURL(databaseURL))
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	db := newStore(nil, sqliteDialect{})
	path := filepath.Join(dataDir, "firstmate.db")
	c, err := openSQLite(ctx, path, db.noteWrite)
	if err != nil {
		return nil, unable(err, "open sqlite %s", path)
	}
	db.conns = c
	return db, nil
}

// newStore puts the store's state around the connections c.
func newStore(c *conns, d dialect) *Store {
	db := &Store{conns: c, Dialect: d.name(), dialect: d}
	db.initCaches()
	return db
}

func isPostgresURL(databaseURL string) bool {
	return strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://")
}

// Embedded reports whether Open(databaseURL) opens the embedded SQLite file
// of the data directory, which this process reads and writes itself (and can
// back up), rather than a database server.
func Embedded(databaseURL string) bool { return !isPostgresURL(databaseURL) }

// Migrate applies the embedded migrations. Safe to run from several
// processes at once: PostgreSQL takes an advisory lock, SQLite serialises on
// its write lock.
func (db *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+db.dialect.name())
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	dialect, opts, err := db.dialect.migrator()
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	// Migrations from parallel branches may land with interleaved numbers.
	opts = append(opts, goose.WithAllowOutofOrder(true))
	p, err := goose.NewProvider(dialect, db.write, sub, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	for attempt := 0; ; attempt++ {
		_, err = p.Up(ctx)
		if err == nil || attempt >= 5 || !IsBusy(err) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

func (db *Store) initCaches() {
	db.principals = newReadCache[model.Principal](db)
	db.principals.valid = db.auth.valid
	db.principals.genOf = db.auth.gen.Load
	db.workspaces = newReadCache[model.Workspace](db)
	db.accounts = newReadCache[[]Account](db)
}

// Tx runs fn in a write transaction, retrying when SQLite reports another
// process holding the write lock past busy_timeout. Once it ends, the read
// caches start over: the transaction may have changed what they hold. The
// *Tx is valid only inside fn.
func (db *Store) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	defer db.Invalidate()
	return db.txRetry(ctx, fn)
}

// TxKeepCaches is Tx for writes that change none of the rows the read
// caches hold (API keys, members, workspaces, identities, integrations):
// the live path's runs, charges and Smart Limit events, written by group
// commit many times a second. A batch that loses a deadlock or a
// serialisation conflict to another node runs again, a few times.
func (db *Store) TxKeepCaches(ctx context.Context, fn func(tx *Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := db.txRetry(ctx, fn)
		if err == nil || attempt >= 3 || !retryable(err) {
			return err
		}
	}
}

// txRetry is Tx without the cache invalidation.
func (db *Store) txRetry(ctx context.Context, fn func(tx *Tx) error) error {
	return retryBusy(ctx, func() error { return db.tx(ctx, fn) })
}

// retryBusy runs a transaction attempt up to four times while the database
// reports it busy (SQLite's write lock held past busy_timeout), waiting
// 50, 100 and 150 ms between attempts.
func retryBusy(ctx context.Context, attempt func() error) error {
	for n := 0; ; n++ {
		err := attempt()
		if err == nil || n >= 3 || !IsBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(n+1) * 50 * time.Millisecond):
		}
	}
}

func (db *Store) tx(ctx context.Context, fn func(tx *Tx) error) error {
	err := db.txOnce(ctx, fn)
	db.noteWrite(err)
	return err
}

func (db *Store) txOnce(ctx context.Context, fn func(tx *Tx) error) error {
	if db.dialect.copyFrom() {
		// A connection of its own, so that COPY can run inside (copy.go).
		return db.pgTx(ctx, fn)
	}
	if err := runTx(ctx, db.write, "a write transaction", fn); err != nil {
		return err
	}
	db.ckpt.committed()
	return nil
}

// runTx runs fn in a transaction begun on pool and commits it, or rolls it
// back when fn fails. fn's error is returned as it is (the caller's, or
// already wrapped by the store function that failed); what names the
// transaction in the errors of beginning and committing it.
func runTx(ctx context.Context, pool *sql.DB, what string, fn func(tx *Tx) error) error {
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return unable(err, "begin %s", what)
	}
	if err := fn(&Tx{tx: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return unable(tx.Commit(), "commit %s", what)
}

// Now is the current time in the unit the schema stores.
func Now() int64 { return time.Now().UnixMilli() }

// Millis converts a time to the stored unit.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// Time converts a stored time back; zero stays the zero time.
func Time(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// NullTime converts a nullable stored time.
func NullTime(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := time.UnixMilli(ms.Int64).UTC()
	return &t
}

// View runs fn with the read side of the database: on SQLite the read-only
// pool through its statement cache, on PostgreSQL the shared pool. With Tx,
// it is how callers outside the store enter it (PocketBase's split): they
// never choose a connection themselves. fn must only read; its error is
// returned as it is.
func (db *Store) View(ctx context.Context, fn func(q Querier) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn(db.r)
}
