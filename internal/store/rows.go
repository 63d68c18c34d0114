package store

import "database/sql"

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
