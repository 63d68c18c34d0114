package store

import (
	"context"
	"database/sql"
)

// Background marks ctx as a job's work (River's workers), not an API
// request's. On PostgreSQL its reads outside a transaction then run on the
// main pool rather than on the connections kept for reads (readConns): a
// large run starts up to a few hundred chunk workers at once, each reading
// its run and its inputs, and queued on the read connections they made API
// reads wait as the commits did before reads had a pool of their own.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

type backgroundKey struct{}

func isBackground(ctx context.Context) bool { return ctx.Value(backgroundKey{}) != nil }

// byCaller runs a read on the pool of its caller's kind: api for requests,
// jobs for work marked Background.
type byCaller struct{ api, jobs sqlQuerier }

func (b byCaller) pick(ctx context.Context) sqlQuerier {
	if isBackground(ctx) {
		return b.jobs
	}
	return b.api
}

func (b byCaller) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return b.pick(ctx).ExecContext(ctx, query, args...)
}

func (b byCaller) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return b.pick(ctx).QueryContext(ctx, query, args...)
}

func (b byCaller) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return b.pick(ctx).QueryRowContext(ctx, query, args...)
}
