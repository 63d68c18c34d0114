package store

import (
	"context"
	"fmt"
)

// Row locks that serialise a read-then-write inside a write transaction.
//
// SQLite runs one write transaction at a time, so every write transaction is
// already serial and these are no-ops there. PostgreSQL runs them
// concurrently: the row lock (SELECT ... FOR UPDATE) makes a second
// transaction on the same row wait until the first one ends, so that both
// cannot read the same "before" (two creations taking the last licence, two
// demotions each seeing "two owners left").

// LockWorkspace holds the workspace's row until tx ends: counts of its
// identities, owners or engagement identities read after it stay true until
// the commit.
//
// FOR NO KEY UPDATE, not FOR UPDATE: lockers still wait for each other, but
// not for the KEY SHARE lock that every uncommitted insert of a row
// referencing the workspace takes (a run, an input, a schedule firing
// prepared seconds ahead of its due time): with FOR UPDATE, creating an
// identity waited for those transactions to end. Every insert that a
// count read under this lock must see (identities, members' roles) takes
// this lock first, so they stay serialised.
func (db *Store) LockWorkspace(ctx context.Context, tx *Tx, workspaceID int64) error {
	return db.lockRow(ctx, tx, "workspace", `
		SELECT id
		FROM workspaces
		WHERE id = $1
		FOR NO KEY UPDATE`, workspaceID)
}

// LockIdentity holds the identity's row until tx ends: two concurrent
// connects, rentals or login answers of one identity run one after the other.
func (db *Store) LockIdentity(ctx context.Context, tx *Tx, identityID int64) error {
	return db.lockRow(ctx, tx, "identity", `
		SELECT id
		FROM identities
		WHERE id = $1
		FOR UPDATE`, identityID)
}

// LockRun holds the run's row until tx ends, against a worker changing its
// status between the read and the write.
func (db *Store) LockRun(ctx context.Context, tx *Tx, runID int64) error {
	return db.lockRow(ctx, tx, "run", `
		SELECT id
		FROM runs
		WHERE id = $1
		FOR UPDATE`, runID)
}

func (db *Store) lockRow(ctx context.Context, tx *Tx, what, query string, id int64) error {
	if !db.dialect.rowLocks() {
		return nil
	}
	if _, err := tx.execContext(ctx, query, id); err != nil {
		return fmt.Errorf("store: unable to lock %s %d: %w", what, id, err)
	}
	return nil
}

// AsyncCommit lets tx commit without waiting for the WAL to reach disk on
// PostgreSQL (synchronous_commit off for this transaction only): for writes
// that a crash may lose because they are written again (a worker's progress
// that a retry redoes). SQLite has no such setting; its commits are already
// cheap under WAL with synchronous=NORMAL.
func (db *Store) AsyncCommit(ctx context.Context, tx *Tx) error {
	if !db.dialect.asyncCommit() {
		return nil
	}
	if _, err := tx.execContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return fmt.Errorf("store: unable to set an asynchronous commit: %w", err)
	}
	return nil
}
