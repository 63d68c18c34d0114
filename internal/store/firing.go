package store

import "context"

// firingConns is how many PostgreSQL connections of a node fire schedules
// (out of the node's pool_max_conns): one streams the due schedules
// (DueSchedules) while the others fire batches of them (FiringTx).
const firingConns = 6

// readConns is how many PostgreSQL connections of a node serve reads outside
// a transaction (out of the node's pool_max_conns). Why a pool of their
// own: a large async run's chunk commits queue for the write pool while
// each waits its turn on the run's and the workspace's rows, and a read
// queued behind them waited too. On 2026-12-07, during a 20,000-input run at
// 500 ms of platform latency, GET /v4/workspaces of the same node took up
// to 5.4 s (33 commits waiting for a connection). A read is one statement:
// six connections keep two cores' worth of PostgreSQL busy.
const readConns = 6

// FiringTx runs fn in a write transaction like Tx, on PostgreSQL on the
// connections reserved for firing schedules. Why a pool of its own: the
// runs a burst of firings creates start at once, and their chunk commits
// wait on the workspace's balance row one after another; on 2026-12-06,
// 10,000 every-minute schedules on one workspace had 12-15 of the main
// pool's 16 connections waiting on that row through the whole burst, and
// the firing batches queued for a connection behind them (a lag p99 of
// 3.6-6.2 s, the server using a fifth of a core). Firings waiting for
// the runs they created to let go of the pool is the wrong way round.
// On SQLite it is Tx (one writer).
func (db *Store) FiringTx(ctx context.Context, fn func(tx *Tx) error) error {
	if db.firing == nil {
		return db.Tx(ctx, fn)
	}
	defer db.Invalidate()
	return retryBusy(ctx, func() error {
		err := db.pgTxOn(ctx, db.firing, fn)
		db.noteWrite(err)
		return err
	})
}

// firingReads is where the due schedules are read: the firing pool on
// PostgreSQL, the read pool on SQLite.
func (db *Store) firingReads() Querier {
	if db.firing != nil {
		return sqlQ{db.firing}
	}
	return db.r
}
