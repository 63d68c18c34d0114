package store

import (
	"context"
	"database/sql"
)

// Querier is a way into the database that the store hands out: a write
// transaction (*Tx, from Store.Tx and its kin) or the read side given to a
// Store.View callback. Callers pass it on to the store's functions; only the
// store runs SQL on it (its methods are unexported), so SQL stays in this
// package (internal/archtest/storeseam_test.go).
type Querier interface {
	execContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	queryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	queryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sqlQuerier is what *sql.DB, *sql.Tx, *sql.Conn and the statement cache
// offer: the store's own handles.
type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is a write transaction of the store, given to the callbacks of Store.Tx,
// Store.TxKeepCaches, Store.RecordTx, Store.FiringTx, Group.Tx and Lane writers. It
// is a Querier for the store's functions; code outside the store cannot run
// SQL on it. It is valid only inside the callback it was given to.
type Tx struct {
	tx *sql.Tx
	// conn is the connection the transaction runs on when the store began
	// it on a connection of its own (PostgreSQL): COPY runs on it inside
	// the transaction (copy.go). Nil otherwise.
	conn *sql.Conn
}

func (t *Tx) execContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *Tx) queryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *Tx) queryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, query, args...)
}

// sqlQ makes one of the store's handles (a pool, a connection, the
// statement cache) a Querier.
type sqlQ struct{ sqlQuerier }

func (q sqlQ) execContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.sqlQuerier.ExecContext(ctx, query, args...)
}

func (q sqlQ) queryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.sqlQuerier.QueryContext(ctx, query, args...)
}

func (q sqlQ) queryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return q.sqlQuerier.QueryRowContext(ctx, query, args...)
}
