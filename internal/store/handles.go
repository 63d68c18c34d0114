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
	// R runs reads on the read side with prepared statements reused.
	R Querier
	// Read is the pool of read connections (read-only on SQLite).
	Read *sql.DB
	// Write is the write connection (SQLite) or the pool (PostgreSQL).
	Write *sql.DB
}

// Handles returns the connections under db (see Handles).
func (db *DB) Handles() Handles { return Handles{R: db.r, Read: db.read, Write: db.write} }
