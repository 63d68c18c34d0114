package store

import "database/sql"

// Handles are the connections under a DB, for tests and test harnesses
// that set up or inspect rows with SQL of their own (a test's expected
// values come from the contract, not from the store's entry points). The
// product never uses them: it enters through View, Tx and the named entry
// points, which pick the connection themselves, and
// internal/archtest/storeseam_test.go fails on a call of Handles in a
// non-test file outside the store.
type Handles struct {
	// R runs reads on the read side with prepared statements reused; it
	// is also a Querier for the store's functions.
	R HandleQuerier
	// Read is the pool of read connections (read-only on SQLite).
	Read *sql.DB
	// Write is the write connection (SQLite) or the pool (PostgreSQL).
	Write *sql.DB
	// W is Write as a Querier for the store's functions.
	W HandleQuerier
}

// HandleQuerier runs SQL of its own (ExecContext, ...) and is a Querier for
// the store's functions: Handles.R and Handles.Tx.
type HandleQuerier interface {
	Querier
	sqlQuerier
}

// Handles returns the connections under db (see Handles).
func (db *Store) Handles() Handles {
	return Handles{R: db.r, Read: db.read, Write: db.write, W: sqlQ{db.write}}
}

// Tx gives a test SQL of its own inside tx, a transaction of Store.Tx.
func (Handles) Tx(tx *Tx) HandleQuerier { return sqlQ{tx.tx} }
