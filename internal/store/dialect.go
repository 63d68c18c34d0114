package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/pressly/goose/v3"
)

// dialect is everything that differs between SQLite and PostgreSQL, chosen
// once when the database is opened (River's riverdriver is the model). The
// rest of the package writes one statement for both: `$n` placeholders,
// RETURNING, ON CONFLICT, UPDATE ... FROM (VALUES ...) and unix millisecond
// times behave the same on both. Code never asks which database it is on;
// it asks the dialect for the statement or the capability it needs.
//
// sqliteDialect (dialect_sqlite.go) and postgresDialect
// (dialect_postgres.go) explain each difference where they implement it.
type dialect interface {
	// name is the database's name: the migrations directory, and what logs
	// and messages show. Never compared.
	name() string
	// migrator is goose's dialect and the options its provider needs.
	migrator() (goose.Dialect, []goose.ProviderOption, error)

	// param writes the n-th (1-based) placeholder of a statement built at
	// run time with many parameters.
	param(sb *strings.Builder, n int)
	// positional reports that param's placeholders bind in the order they
	// appear in the text, whatever n says.
	positional() bool

	// rowLocks reports SELECT ... FOR UPDATE: without it, the database has
	// one writer at a time, and a write transaction already excludes every
	// other.
	rowLocks() bool
	// forUpdate is the clause that locks the rows a SELECT reads until
	// commit ("of": the table alias to lock, "" for all), or "" where
	// write transactions are serial anyway.
	forUpdate(of string) string
	// lockKey serialises, until tx ends, the transactions that lock the
	// same key.
	lockKey(ctx context.Context, tx *Tx, key string) error
	// lockTable serialises, until tx ends, the transactions that lock
	// table, while letting readers read it.
	lockTable(ctx context.Context, tx *Tx, table string) error

	// lockSchedules: see Store.LockSchedules.
	lockSchedules(ctx context.Context, tx *Tx, ids []int64, skipLocked bool) ([]int64, error)
	// claimSchedules: see Store.ClaimSchedules.
	claimSchedules(ctx context.Context, tx *Tx, cs []Claim, won map[int64]Claimed) error
	// insertRuns writes the rows of runs (not their inputs) and fills each
	// Run.ID: see Store.InsertRuns.
	insertRuns(ctx context.Context, tx *Tx, rs []BulkRun, byUID map[string]int, now int64) error
	// startRuns runs one statement of Store.StartRuns over ids, returning the
	// ids it moved.
	startRuns(ctx context.Context, tx *Tx, ids []int64, now int64) (*sql.Rows, error)

	// secondsSince is an expression for the seconds elapsed since col, a
	// timestamp column of River's tables.
	secondsSince(col string) string
	// tables lists the tables' names, sorted, and the tables each one's
	// foreign keys point to; columnsQuery ($1: a table) lists a table's
	// columns' names and types in table order; both for the copy between
	// databases (move.go).
	tables(ctx context.Context, q Querier) ([]string, map[string][]string, error)
	columnsQuery() string

	// embedded reports a database that is a file this process opens
	// (backups, and the copy's source, read it directly).
	embedded() bool
	// copyFrom reports COPY FROM STDIN inside a transaction (copy.go).
	copyFrom() bool
	// sharedByNodes reports a database several Firstmate nodes may share,
	// over a network: a statement costs a round trip, and what one node
	// counts in memory the others do not see.
	sharedByNodes() bool
	// listens reports notifications of new jobs (River's LISTEN); without
	// them, workers poll.
	listens() bool
	// asyncCommit reports per-transaction asynchronous commit (see
	// Store.AsyncCommit).
	asyncCommit() bool
	// writableCTEs reports INSERT and UPDATE inside WITH (data-modifying
	// CTEs), which let one statement do what would otherwise take several
	// round trips.
	writableCTEs() bool
}

// rowPlaceholders writes the placeholders of one row of a multi-row INSERT
// whose earlier rows hold `before` parameters.
func rowPlaceholders(sb *strings.Builder, d dialect, before, cols int) {
	sb.WriteByte('(')
	for c := range cols {
		if c > 0 {
			sb.WriteString(", ")
		}
		d.param(sb, before+c+1)
	}
	sb.WriteByte(')')
}

// The capabilities callers outside the store may ask about are in
// capabilities.go: they never learn which database it is.
