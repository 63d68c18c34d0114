package store

import (
	"context"
	"database/sql"
)

// scanner is what a row-scanning function reads: *sql.Row or *sql.Rows.
type scanner = interface {
	Scan(dest ...any) error
}

// scanAll reads every row of rows with scan and closes rows: the one
// `for rows.Next()` loop that list queries share.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryAll runs query and reads every row with scan (nil when there is
// none): the query-and-loop that most of the store's reads are. Its error
// is the database's as it is; the caller wraps it with what it was doing.
func queryAll[T any](ctx context.Context, q Querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.queryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scan)
}

// queryEach runs query and calls fn for every row, as they arrive (rows
// gathered into a map, or handed on); an error from fn stops the read and is
// returned. Like queryAll, it leaves the wrapping to the caller.
func queryEach(ctx context.Context, q Querier, fn func(scanner) error, query string, args ...any) error {
	rows, err := q.queryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	return eachRow(rows, fn)
}

// eachRow calls fn for every row of rows, as they arrive, and closes rows;
// an error from fn stops the read and is returned.
func eachRow(rows *sql.Rows, fn func(scanner) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func scanInt64(s scanner) (int64, error) {
	var v int64
	err := s.Scan(&v)
	return v, err
}

func scanString(s scanner) (string, error) {
	var v string
	err := s.Scan(&v)
	return v, err
}

// scanStrings reads a one-column list of strings.
func scanStrings(rows *sql.Rows) ([]string, error) { return scanAll(rows, scanString) }

// scanIDs reads a one-column list of ids.
func scanIDs(rows *sql.Rows) ([]int64, error) { return scanAll(rows, scanInt64) }
