package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgTx runs fn in a transaction on a connection of its own, which the Tx
// carries so that COPY can run inside it.
func (db *Store) pgTx(ctx context.Context, fn func(tx *Tx) error) error {
	return db.pgTxOn(ctx, db.write, fn)
}

// pgTxOn is pgTx on one of the node's pools.
func (db *Store) pgTxOn(ctx context.Context, pool *sql.DB, fn func(tx *Tx) error) error {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return unable(err, "take a connection for a transaction")
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return unable(err, "begin a transaction")
	}
	if err := fn(&Tx{tx: tx, conn: conn}); err != nil {
		_ = tx.Rollback()
		return err // the caller's, or wrapped by the store function that failed
	}
	return unable(tx.Commit(), "commit a transaction")
}

// errNoCopy: the transaction was not begun by Store.Tx on PostgreSQL.
var errNoCopy = errors.New("store: COPY needs a PostgreSQL transaction begun by Store.Tx")

// copyIn runs COPY FROM STDIN for rows into table, inside tx. PostgreSQL
// parses a 100,000-row COPY three to four times faster than the same rows
// as 400-row INSERTs (0.7-1.2 s against 2.4-3.1 s for the inputs of a full
// async run, measured in bench/asyncbench's setup).
func (db *Store) copyIn(ctx context.Context, tx *Tx, table string, cols []string, n int, row func(i int) ([]any, error)) error {
	conn := tx.conn
	if conn == nil {
		return errNoCopy
	}
	// The transaction is open on this connection: database/sql lets Raw
	// share it (both hold the connection's read lock), and the statements
	// run one after the other on it.
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errNoCopy
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromSlice(n, row))
		return unable(err, "copy %d rows into %s", n, table)
	})
}

// CopyInputs stores a run's inputs like InsertInputs, with COPY on
// PostgreSQL when tx was begun by db.Tx (multi-row INSERTs otherwise).
func (db *Store) CopyInputs(ctx context.Context, tx *Tx, runID int64, in []NewInput) error {
	if !db.dialect.copyFrom() || len(in) < insertBatch {
		return db.InsertInputs(ctx, tx, runID, in)
	}
	now := Now()
	err := db.copyIn(ctx, tx, "run_inputs", []string{"run_id", "idx", "chunk", "input", "custom_data", "updated_at"}, len(in),
		func(i int) ([]any, error) {
			x := in[i]
			var cd *string
			if x.CustomData != "" {
				cd = &x.CustomData
			}
			return []any{runID, int64(x.Idx), int64(x.Chunk), x.Input, cd, now}, nil
		})
	if errors.Is(err, errNoCopy) {
		return db.InsertInputs(ctx, tx, runID, in)
	}
	return unable(err, "copy inputs %v", runID)
}
