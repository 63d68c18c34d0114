// Package store opens Firstmate's database (an embedded SQLite file or a shared
// PostgreSQL) and holds its SQL, one file per aggregate. Both databases run
// the same statements where they can: `$n` placeholders, RETURNING, ON
// CONFLICT and unix millisecond times work unchanged on both. What differs
// lives behind the dialect interface (dialect.go), one implementation per
// database (dialect_sqlite.go, dialect_postgres.go), chosen once at Open;
// callers outside the package ask capabilities (SupportsRowLocks, ...), never
// which database it is.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/firstmate-oss/firstmate/internal/model"
)

//go:embed migrations
var migrations embed.FS

// The databases' names (DB.Dialect): for logs, messages and tests that run
// once per database. Code never compares against them; it asks the
// capabilities in dialect.go.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is the database handle. On SQLite, Write is a single connection (SQLite
// allows one writer at a time; queueing in Go is cheaper than busy-waiting in
// SQLite) and Read is a pool of read-only connections. On PostgreSQL both are
// the same pool, and Pool is the pgx pool that River uses.
type DB struct {
	// Dialect is the database's name (SQLite or Postgres), for logs and
	// messages.
	Dialect string
	// dialect is what differs between the databases (dialect.go).
	dialect dialect
	Write   *sql.DB
	Read    *sql.DB
	Pool    *pgxpool.Pool
	// Path is the SQLite file, empty on PostgreSQL.
	Path string
	// R runs reads like Read, with prepared statements reused across calls.
	// Hot read paths (authentication, lookups) use it.
	R Querier

	cache *stmtCache
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
	// records holds PostgreSQL connections of their own for recording
	// delivery attempts (see RecordTx); nil on SQLite.
	records    *sql.DB
	recordPool *pgxpool.Pool
	// txConns maps a PostgreSQL transaction begun by Tx to its connection,
	// so that CopyInputs can COPY inside it (see copy.go).
	txConns sync.Map
	// lanes is the group commit that every Lane shares on SQLite.
	lanes Batcher[laneItem]
	// ckpt copies SQLite's WAL into the database file beside the writer
	// (see checkpoint.go); nil on PostgreSQL.
	ckpt *checkpointer
	// health tells /readyz whether writes go through (health.go).
	health writeHealth
}

// Open connects to databaseURL when it is a postgres:// URL, and otherwise to
// the SQLite file firstmate.db inside dataDir.
func Open(ctx context.Context, databaseURL, dataDir string) (*DB, error) {
	if isPostgresURL(databaseURL) {
		return openPostgres(ctx, databaseURL)
	}
	if databaseURL != "" {
		return nil, fmt.Errorf("store: unsupported database URL scheme (want postgres://): %s", redactURL(databaseURL))
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	return openSQLite(ctx, filepath.Join(dataDir, "firstmate.db"))
}

func isPostgresURL(databaseURL string) bool {
	return strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://")
}

// Embedded reports whether Open(databaseURL) opens the embedded SQLite file
// of the data directory, which this process reads and writes itself (and can
// back up), rather than a database server.
func Embedded(databaseURL string) bool { return !isPostgresURL(databaseURL) }

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	// temp_store(MEMORY) keeps statement journals in memory: every
	// multi-row INSERT inside a transaction (a batch of runs, charges or
	// Smart Limit events) journals the pages it changes so that it can be
	// undone alone, and on disk that cost a write system call per page.
	// journal_size_limit cuts the WAL file back to 32 MiB whenever SQLite
	// starts it over after a checkpoint: without it the file keeps the size
	// of the largest transaction it ever held.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)&_time_format=sqlite" +
		fmt.Sprintf("&_pragma=journal_size_limit(%d)", walSizeLimit)
	db := &DB{Dialect: SQLite, dialect: sqliteDialect{}, Path: path}
	w, err := openSQLiteDB("file:"+path+"?"+pragmas+"&_txlock=immediate"+
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", walAutoCheckpoint), "begin immediate", db.noteWrite)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	r, err := openSQLiteDB("file:"+path+"?"+pragmas+"&_pragma=query_only(1)", "", nil)
	if err != nil {
		w.Close()
		return nil, err
	}
	n := max(4, runtime.NumCPU()*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	ckpt, err := startCheckpointer("file:"+path+"?"+strings.Replace(pragmas, "busy_timeout(10000)", "busy_timeout(100)", 1), path+"-wal")
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	db.Write, db.Read, db.cache, db.ckpt = w, r, newStmtCache(r), ckpt
	db.R = db.cache
	db.initCaches()
	return db, nil
}

// createPrivate creates the SQLite file readable by its owner only, before
// SQLite does (it would use 0644 less the umask), and takes group and other
// permissions away from an existing one and its WAL and shared-memory files.
// SQLite gives the WAL and shared-memory files it creates the database
// file's permissions, so they end up 0600 too.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: unable to create %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: unable to stat %s: %w", p, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("store: unable to make %s private: %w", p, err)
			}
		}
	}
	return nil
}

// openSQLiteDB opens a pool whose connections cache their prepared
// statements (see stmtConnector); begin is the DSN's BEGIN ("": the driver's)
// and failed, if not nil, hears of the statements that fail.
func openSQLiteDB(dsn, begin string, failed func(error)) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(stmtConnector{inner: c, begin: begin, failed: failed}), nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse database URL: %w", err)
	}
	if cfg.MaxConns < 20 {
		cfg.MaxConns = 20
	}
	// Delivery attempts are recorded on a small pool of their own (see
	// RecordTx), taken from the node's connections.
	rcfg := cfg.Copy()
	rcfg.MaxConns, rcfg.MinConns = recordConns, 0
	rcfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	cfg.MaxConns -= recordConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect postgres: %w", err)
	}
	rpool, err := pgxpool.NewWithConfig(ctx, rcfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect postgres: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		rpool.Close()
		return nil, fmt.Errorf("store: connect postgres %s: %w", redactURL(dsn), err)
	}
	db := stdlib.OpenDBFromPool(pool)
	// database/sql must queue for connections itself: if it may open more
	// than pgx holds, idle database/sql connections keep pgx connections
	// while new opens block in pgx forever. Two pgx connections stay free
	// for River's LISTEN. And it keeps them idle rather than handing each
	// back to pgx after every query (the default keeps only 2).
	open := int(cfg.MaxConns) - 2
	db.SetMaxOpenConns(open)
	db.SetMaxIdleConns(open)
	records := stdlib.OpenDBFromPool(rpool)
	records.SetMaxOpenConns(recordConns)
	records.SetMaxIdleConns(recordConns)
	// pgx already caches prepared statements per connection.
	out := &DB{Dialect: Postgres, dialect: postgresDialect{}, Write: db, Read: db, Pool: pool, R: db, records: records, recordPool: rpool}
	out.initCaches()
	return out, nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Close releases every connection.
func (db *DB) Close() error {
	if db.cache != nil {
		db.cache.close()
	}
	var err error
	if db.ckpt != nil {
		err = db.ckpt.close()
	}
	err = errors.Join(err, db.Write.Close())
	if db.records != nil {
		err = errors.Join(err, db.records.Close())
	}
	if db.Read != db.Write {
		err = errors.Join(err, db.Read.Close())
	}
	if db.Pool != nil {
		db.Pool.Close()
	}
	if db.recordPool != nil {
		db.recordPool.Close()
	}
	return err
}

// Ping checks that the database answers (for /readyz).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.Read.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return db.Read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Migrate applies the embedded migrations. Safe to run from several
// processes at once: PostgreSQL takes an advisory lock, SQLite serialises on
// its write lock.
func (db *DB) Migrate(ctx context.Context) error {
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
	p, err := goose.NewProvider(dialect, db.Write, sub, opts...)
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

// IsBusy reports a SQLite lock conflict with another process.
func IsBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
	}
	return false
}

// IsUniqueViolation reports a unique-constraint conflict on either database.
func IsUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) {
		return pe.SQLState() == "23505"
	}
	return false
}

func (db *DB) initCaches() {
	db.principals = newReadCache[model.Principal](db)
	db.principals.valid = db.auth.valid
	db.principals.genOf = db.auth.gen.Load
	db.workspaces = newReadCache[model.Workspace](db)
	db.accounts = newReadCache[[]Account](db)
}

// Tx runs fn in a write transaction, retrying when SQLite reports another
// process holding the write lock past busy_timeout. Once it ends, the read
// caches start over: the transaction may have changed what they hold.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	defer db.Invalidate()
	return db.txRetry(ctx, fn)
}

// TxKeepCaches is Tx for writes that change none of the rows the read
// caches hold (API keys, members, workspaces, identities, integrations):
// the live path's runs, charges and Smart Limit events, written by group
// commit many times a second. A batch that loses a deadlock or a
// serialisation conflict to another node runs again, a few times.
func (db *DB) TxKeepCaches(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := db.txRetry(ctx, fn)
		if err == nil || attempt >= 3 || !retryable(err) {
			return err
		}
	}
}

// txRetry is Tx without the cache invalidation.
func (db *DB) txRetry(ctx context.Context, fn func(tx *sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := db.tx(ctx, fn)
		if err == nil || attempt >= 3 || !IsBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
		}
	}
}

func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := db.txOnce(ctx, fn)
	db.noteWrite(err)
	return err
}

func (db *DB) txOnce(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.dialect.copyFrom() {
		// A connection of its own, so that COPY can run inside (copy.go).
		return db.pgTx(ctx, fn)
	}
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	db.ckpt.committed()
	return nil
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
