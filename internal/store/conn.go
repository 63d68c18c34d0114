package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// conns is the SQL-connection layer: it opens either database, holds its
// pools and statement caches, and SQLite's checkpointer. It knows nothing of
// what the store keeps beside it (caches, group commit, health: store.go).
//
// On SQLite, write is a single connection (SQLite allows one writer at a
// time; queueing in Go is cheaper than busy-waiting in SQLite) and read is a
// pool of read-only connections. On PostgreSQL both are the same pool, and
// Pool is the pgx pool that River uses.
type conns struct {
	// write runs write transactions (callers: Store.Tx).
	write *sql.DB
	// read is the pool of read connections (callers: Store.View and the
	// store's entry points).
	read *sql.DB
	// Pool is the pgx pool under write and read on PostgreSQL (River's
	// listener), nil on SQLite.
	Pool *pgxpool.Pool
	// Path is the SQLite file, empty on PostgreSQL.
	Path string
	// r runs reads like read, with prepared statements reused across
	// calls. Hot read paths (authentication, lookups) use it.
	r sqlQ
	// rPlain runs reads like r without the statement cache (queries built
	// per call).
	rPlain sqlQ

	cache *stmtCache
	// records holds PostgreSQL connections of their own for recording
	// delivery attempts (see RecordTx); nil on SQLite.
	records    *sql.DB
	recordPool *pgxpool.Pool
	// firing holds PostgreSQL connections of their own for firing
	// schedules (see FiringTx); nil on SQLite.
	firing     *sql.DB
	firingPool *pgxpool.Pool
	// nodes is a PostgreSQL connection of its own for the node heartbeat
	// and the takeover of dead nodes' work (see nodeConn); nil on SQLite.
	nodes    *sql.DB
	nodePool *pgxpool.Pool
	// readPool is the pgx pool under read on PostgreSQL (see readConns);
	// nil on SQLite, where read has a pool of its own anyway.
	readPool *pgxpool.Pool
	// ckpt copies SQLite's WAL into the database file beside the writer
	// (see checkpoint.go); nil on PostgreSQL.
	ckpt *checkpointer
}

// openSQLite opens the SQLite file at path; failed hears of the writes that
// fail (the write health, health.go).
func openSQLite(ctx context.Context, path string, failed func(error)) (*conns, error) {
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
	db := &conns{Path: path}
	w, err := openSQLiteDB("file:"+path+"?"+pragmas+"&_txlock=immediate"+
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", walAutoCheckpoint), "begin immediate", failed)
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
	db.write, db.read, db.cache, db.ckpt = w, r, newStmtCache(r), ckpt
	db.r, db.rPlain = sqlQ{db.cache}, sqlQ{r}
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

func openPostgres(ctx context.Context, dsn string) (*conns, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse database URL: %w", err)
	}
	// Trips (trips.go) counts statements per context, for tests.
	cfg.ConnConfig.Tracer = tripTracer{}
	// The floor keeps 12 connections for the main pool (write
	// transactions, River) after the three small pools below.
	if cfg.MaxConns < 20+firingConns {
		cfg.MaxConns = 20 + firingConns
	}
	// Delivery attempts are recorded on a small pool of their own (see
	// RecordTx), schedules fired on another (see FiringTx) and reads
	// (Store.View and the store's entry points outside a transaction) on a
	// third (see readConns), all taken from the node's connections.
	rcfg := cfg.Copy()
	rcfg.MaxConns, rcfg.MinConns = recordConns, 0
	rcfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	fcfg := cfg.Copy()
	fcfg.MaxConns, fcfg.MinConns = firingConns, 0
	qcfg := cfg.Copy()
	qcfg.MaxConns, qcfg.MinConns = readConns, 0
	cfg.MaxConns -= recordConns + firingConns + readConns
	// The heartbeat, the takeover scan and the readiness checks get a
	// connection each, three more than the node's pool: on the shared pool they waited behind
	// a busy node's chunk commits for seconds (measured at load 25: a
	// dead node released 17 s after its kill instead of 8), and a live
	// node's heartbeat that waits for a connection can miss its lease.
	ncfg := cfg.Copy()
	ncfg.MaxConns, ncfg.MinConns = nodeConns, 0
	// A heartbeat need not wait for the WAL's flush: measured on a
	// database busy with other writes, a synchronous one-row UPDATE took
	// 1-4 s, enough to lapse a live node's lease. Lost in a database
	// crash, it is a beat missed, written again within a beat of the
	// restart; a takeover whose commit is lost finds the same jobs again.
	ncfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"

	// Each pool opened is closed again if a later step fails.
	var pools []*pgxpool.Pool
	closeAll := func() {
		for _, p := range pools {
			p.Close()
		}
	}
	for _, c := range []*pgxpool.Config{cfg, rcfg, fcfg, qcfg, ncfg} {
		p, err := pgxpool.NewWithConfig(ctx, c)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("store: connect postgres: %w", err)
		}
		pools = append(pools, p)
	}
	pool, rpool, fpool, qpool, npool := pools[0], pools[1], pools[2], pools[3], pools[4]
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		closeAll()
		return nil, fmt.Errorf("store: connect postgres %s: %w", redactURL(dsn), err)
	}
	// database/sql must queue for connections itself: if it may open more
	// than pgx holds, idle database/sql connections keep pgx connections
	// while new opens block in pgx forever. Two pgx connections stay free
	// for River's LISTEN. And it keeps them idle rather than handing each
	// back to pgx after every query (the default keeps only 2).
	db := sizedDB(pool, int(cfg.MaxConns)-2)
	reads := sizedDB(qpool, readConns)
	// pgx already caches prepared statements per connection.
	r := sqlQ{byCaller{api: reads, jobs: db}}
	return &conns{write: db, read: reads, Pool: pool, r: r, rPlain: r,
		records: sizedDB(rpool, recordConns), recordPool: rpool,
		firing: sizedDB(fpool, firingConns), firingPool: fpool,
		nodes: sizedDB(npool, nodeConns), nodePool: npool, readPool: qpool}, nil
}

// sizedDB is database/sql over a pgx pool, opening at most n connections and
// keeping them all idle between uses.
func sizedDB(p *pgxpool.Pool, n int) *sql.DB {
	db := stdlib.OpenDBFromPool(p)
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return db
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Close releases every connection.
func (db *conns) Close() error {
	if db.cache != nil {
		db.cache.close()
	}
	var err error
	if db.ckpt != nil {
		err = db.ckpt.close()
	}
	err = errors.Join(err, db.write.Close())
	if db.records != nil {
		err = errors.Join(err, db.records.Close())
	}
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.readPool != nil {
		db.readPool.Close()
	}
	if db.Pool != nil {
		db.Pool.Close()
	}
	if db.nodes != nil {
		err = errors.Join(err, db.nodes.Close())
		db.nodePool.Close()
	}
	if db.recordPool != nil {
		db.recordPool.Close()
	}
	if db.firing != nil {
		err = errors.Join(err, db.firing.Close())
	}
	if db.firingPool != nil {
		db.firingPool.Close()
	}
	return unable(err, "close the database")
}

// Ping checks that the database answers (for /readyz). On PostgreSQL it
// goes through the node's own connections (see nodeConns), not the pool: a
// node busy with a large run keeps its pool's connections busy, and a
// readiness check queued behind them timed out, so the node counted as not
// ready while it worked (the chaos suite saw a restarted node "not ready"
// for 90 s at a load of 40).
func (db *conns) Ping(ctx context.Context) error {
	c := db.read
	if db.nodes != nil {
		c = db.nodes
	}
	if err := c.PingContext(ctx); err != nil {
		return unable(err, "ping")
	}
	var one int
	return unable(c.QueryRowContext(ctx, "SELECT 1").Scan(&one), "ping")
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

// PoolStats is one connection pool's statistics under the name the metrics
// give it.
type PoolStats struct {
	Name string
	sql.DBStats
}

// PoolStats reports the writer's pool as "write" and the readers' as "read"
// (each database gives reads a pool of their own).
func (c *conns) PoolStats() []PoolStats {
	out := []PoolStats{{Name: "write", DBStats: c.write.Stats()}}
	if c.read != c.write {
		out = append(out, PoolStats{Name: "read", DBStats: c.read.Stats()})
	}
	return out
}
