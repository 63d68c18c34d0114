package store

import (
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// What callers may ask of the database instead of which one it is; each
// answer comes from the dialect chosen at Open (dialect.go).

// ConcurrentWrites says whether write transactions run at once (PostgreSQL),
// so that callers spread writes across connections and order their locks;
// on SQLite one write transaction runs at a time and every other waits.
func (db *Store) ConcurrentWrites() bool { return db.dialect.rowLocks() }

// SharedByNodes says whether several Firstmate nodes may share this
// database (PostgreSQL): what one node counts or leases, it counts in the
// database. An SQLite file belongs to one process.
func (db *Store) SharedByNodes() bool { return db.dialect.sharedByNodes() }

// RiverDriver is the River driver for this database: riversqlite on the
// writer connection on SQLite; on PostgreSQL riverdatabasesql, with the pgx
// pool listening for River's notifications.
func (db *Store) RiverDriver() JobDriver {
	if db.dialect.listens() {
		return riverdatabasesql.NewWithPgxListener(db.write, db.Pool)
	}
	return riversqlite.New(db.write)
}
