package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"
)

// sqliteDialect is the embedded SQLite file. It has one writer at a time
// (the write pool is one connection, see openSQLite), so it needs no row
// or advisory locks: a write transaction excludes every other one.
type sqliteDialect struct{}

var _ dialect = sqliteDialect{}

func (sqliteDialect) name() string { return SQLite }

// migrator: SQLite serialises concurrent migrations on its write lock; no
// session locker is needed.
func (sqliteDialect) migrator() (goose.Dialect, []goose.ProviderOption, error) {
	return goose.DialectSQLite3, nil, nil
}

// param writes a plain "?": SQLite resolves "$n" by searching the
// statement's list of parameter names, and the driver looks each name up
// again when binding, so a 2,400-parameter INSERT costs O(n^2). Inserting
// 100,000 inputs took 30 s with "$n" and 2.8 s with "?" (bench/asyncbench:
// submission 9.6 s -> 1.6 s).
func (sqliteDialect) param(sb *strings.Builder, _ int) { sb.WriteByte('?') }

// positional: "?" parameters are numbered in order of appearance.
func (sqliteDialect) positional() bool { return true }

func (sqliteDialect) rowLocks() bool { return false }

// forUpdate: SQLite has no FOR UPDATE; its single writer holds the whole
// database for the transaction.
func (sqliteDialect) forUpdate(string) string { return "" }

func (sqliteDialect) lockKey(context.Context, *Tx, string) error { return nil }

func (sqliteDialect) lockTable(context.Context, *Tx, string) error { return nil }

// lockSchedules returns ids as they are: writers are serial, and the claim
// itself re-checks each row's status.
func (sqliteDialect) lockSchedules(_ context.Context, _ *Tx, ids []int64, _ bool) ([]int64, error) {
	return ids, nil
}

// claimSchedules runs UPDATE ... FROM (VALUES ...) with plain "?"
// placeholders (see param), 400 claims a statement: one prepared statement
// per claim cost ~26 µs of CPU each through database/sql. SQLite has no
// arrays to unnest.
func (d sqliteDialect) claimSchedules(ctx context.Context, tx *Tx, cs []Claim, won map[int64]Claimed) error {
	const perStmt = 400
	for start := 0; start < len(cs); start += perStmt {
		end := min(start+perStmt, len(cs))
		var sb strings.Builder
		sb.WriteString(`
			UPDATE schedules
			SET next_execution_at = v.column3,
				status = v.column4,
				last_executed_at = COALESCE(v.column5, schedules.last_executed_at),
				last_run_uid = CASE WHEN v.column6 = '' THEN schedules.last_run_uid ELSE v.column6 END,
				updated_at = ?
			FROM (VALUES `)
		args := []any{Millis(cs[0].Now)}
		for i, c := range cs[start:end] {
			if i > 0 {
				sb.WriteString(", ")
			}
			rowPlaceholders(&sb, d, 0, 6)
			args = append(args, c.ID, Millis(c.Due), nullMillis(c.Next), c.Status, nullMillis(c.Executed), c.LastRunUID)
		}
		sb.WriteString(`) AS v
			WHERE schedules.id = v.column1
				AND schedules.next_execution_at = v.column2
				AND schedules.status = 'ACTIVE'
			RETURNING schedules.id, schedules.request, schedules.callback_headers_kid, schedules.callback_headers`)
		rows, err := tx.queryContext(ctx, sb.String(), args...)
		if err != nil {
			return err
		}
		if err := scanClaimed(rows, won); err != nil {
			return err
		}
	}
	return nil
}

// startRuns lists the ids with "?" (see param): SQLite has no arrays.
func (sqliteDialect) startRuns(ctx context.Context, tx *Tx, ids []int64, now int64) (*sql.Rows, error) {
	var sb strings.Builder
	args := make([]any, 0, len(ids)+2)
	args = append(args, now, now)
	sb.WriteString(`
		UPDATE runs
		SET status = 'RUNNING',
			started_at = COALESCE(started_at, ?),
			updated_at = ?,
			postponed_until = NULL
		WHERE status = 'QUEUED'
			AND execution_mode = 'ASYNC'
			AND id IN (`)
	for i, id := range ids {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('?')
		args = append(args, id)
	}
	sb.WriteString(`)
		RETURNING id`)
	return tx.queryContext(ctx, sb.String(), args...)
}

// secondsSince: River's SQLite driver stores timestamps as text, which
// julianday reads.
func (sqliteDialect) secondsSince(col string) string {
	return `(julianday('now') - julianday(` + col + `)) * 86400.0`
}

// tables reads sqlite_master, and each table's pragma_foreign_key_list.
func (sqliteDialect) tables(ctx context.Context, q Querier) ([]string, map[string][]string, error) {
	rows, err := q.queryContext(ctx, `
		SELECT name
		FROM sqlite_master
		WHERE type = 'table'
		ORDER BY name`)
	if err != nil {
		return nil, nil, fmt.Errorf("store: unable to list tables: %w", err)
	}
	names, err := scanStrings(rows)
	if err != nil {
		return nil, nil, fmt.Errorf("store: unable to list tables: %w", err)
	}
	deps := map[string][]string{}
	for _, t := range names {
		rows, err := q.queryContext(ctx, `SELECT "table" FROM pragma_foreign_key_list($1)`, t)
		if err != nil {
			return nil, nil, fmt.Errorf("store: unable to list the foreign keys of %s: %w", t, err)
		}
		if deps[t], err = scanStrings(rows); err != nil {
			return nil, nil, fmt.Errorf("store: unable to list the foreign keys of %s: %w", t, err)
		}
	}
	return names, deps, nil
}

func (sqliteDialect) columnsQuery() string {
	return `SELECT name, type FROM pragma_table_info($1) ORDER BY cid`
}

func (sqliteDialect) embedded() bool      { return true }
func (sqliteDialect) copyFrom() bool      { return false }
func (sqliteDialect) sharedByNodes() bool { return false }
func (sqliteDialect) listens() bool       { return false }
func (sqliteDialect) asyncCommit() bool   { return false }

// writableCTEs: SQLite allows only SELECT inside WITH.
func (sqliteDialect) writableCTEs() bool { return false }

// insertRuns: SQLite binds no arrays, so a multi-row VALUES per
// runsPerInsert runs (insertRunsValues, slots.go).
func (d sqliteDialect) insertRuns(ctx context.Context, tx *Tx, rs []BulkRun, byUID map[string]int, now int64) error {
	for start := 0; start < len(rs); start += runsPerInsert {
		if err := insertRunsValues(ctx, tx, d, rs, start, min(start+runsPerInsert, len(rs)), byUID, now); err != nil {
			return err
		}
	}
	return nil
}
