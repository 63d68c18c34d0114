package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// postgresDialect is a PostgreSQL server that several nodes may share.
// Write transactions run concurrently, so the statements that must
// serialise take row, table or advisory locks.
type postgresDialect struct{}

var _ dialect = postgresDialect{}

func (postgresDialect) name() string { return Postgres }

// migrator: nodes starting together serialise their migrations on an
// advisory lock held by a session.
func (postgresDialect) migrator() (goose.Dialect, []goose.ProviderOption, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return "", nil, err
	}
	return goose.DialectPostgres, []goose.ProviderOption{goose.WithSessionLocker(locker)}, nil
}

func (postgresDialect) param(sb *strings.Builder, n int) {
	sb.WriteByte('$')
	sb.WriteString(strconv.Itoa(n))
}

func (postgresDialect) positional() bool { return false }

func (postgresDialect) rowLocks() bool { return true }

func (postgresDialect) forUpdate(of string) string {
	if of == "" {
		return ` FOR UPDATE`
	}
	return ` FOR UPDATE OF ` + of
}

// lockKey takes a transaction-scoped advisory lock on the key's hash.
func (postgresDialect) lockKey(ctx context.Context, tx *Tx, key string) error {
	if _, err := tx.execContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, key); err != nil {
		return fmt.Errorf("store: unable to lock %s: %w", key, err)
	}
	return nil
}

// lockTable takes SHARE ROW EXCLUSIVE: it conflicts with itself and with
// writers, not with readers.
func (postgresDialect) lockTable(ctx context.Context, tx *Tx, table string) error {
	if _, err := tx.execContext(ctx, `LOCK TABLE `+table+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("store: unable to lock table %s: %w", table, err)
	}
	return nil
}

// lockSchedules locks the rows among ids that are still ACTIVE, in id
// order, so that two batches never wait on each other in a cycle.
func (postgresDialect) lockSchedules(ctx context.Context, tx *Tx, ids []int64, skipLocked bool) ([]int64, error) {
	q := `
		SELECT id
		FROM schedules
		WHERE id = ANY($1)
			AND status = 'ACTIVE'
		ORDER BY id
		FOR UPDATE`
	if skipLocked {
		q += ` SKIP LOCKED`
	}
	rows, err := tx.queryContext(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanInt64)
}

// claimSchedules is one UPDATE ... FROM unnest(arrays), whatever the number
// of claims. "s.id = ANY($1)" is redundant with the join but makes
// PostgreSQL read the batch's rows by primary key: with the join alone it
// hashes every ACTIVE schedule (10,000 schedules: 9 ms a batch of 250 idle,
// growing with the table, against 1.7 ms).
func (postgresDialect) claimSchedules(ctx context.Context, tx *Tx, cs []Claim, won map[int64]Claimed) error {
	ids, due := make([]int64, len(cs)), make([]int64, len(cs))
	next, executed := make([]*int64, len(cs)), make([]*int64, len(cs))
	status, runUID := make([]string, len(cs)), make([]string, len(cs))
	for i, c := range cs {
		ids[i], due[i], status[i], runUID[i] = c.ID, Millis(c.Due), c.Status, c.LastRunUID
		if c.Next != nil {
			v := Millis(*c.Next)
			next[i] = &v
		}
		if c.Executed != nil {
			v := Millis(*c.Executed)
			executed[i] = &v
		}
	}
	rows, err := tx.queryContext(ctx, `
		UPDATE schedules s
		SET next_execution_at = v.next,
			status = v.status,
			last_executed_at = COALESCE(v.executed, s.last_executed_at),
			last_run_uid = CASE WHEN v.run_uid = '' THEN s.last_run_uid ELSE v.run_uid END,
			updated_at = $7
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[])
			AS v(id, due, next, status, executed, run_uid)
		WHERE s.id = ANY($1)
			AND s.id = v.id
			AND s.next_execution_at = v.due
			AND s.status = 'ACTIVE'
		RETURNING s.id, s.request, s.callback_headers_kid, s.callback_headers`,
		ids, due, next, status, executed, runUID, Millis(cs[0].Now))
	if err != nil {
		return err
	}
	return scanClaimed(rows, won)
}

// startRuns passes the ids as one array parameter.
func (postgresDialect) startRuns(ctx context.Context, tx *Tx, ids []int64, now int64) (*sql.Rows, error) {
	return tx.queryContext(ctx, `
		UPDATE runs
		SET status = 'RUNNING',
			started_at = COALESCE(started_at, $2),
			updated_at = $2,
			postponed_until = NULL
		WHERE id = ANY($1)
			AND status = 'QUEUED'
			AND execution_mode = 'ASYNC'
		RETURNING id`, ids, now)
}

func (postgresDialect) secondsSince(col string) string {
	return `EXTRACT(EPOCH FROM (now() - ` + col + `))::float8`
}

// tables reads information_schema, and the foreign keys from pg_constraint.
func (postgresDialect) tables(ctx context.Context, q Querier) ([]string, map[string][]string, error) {
	rows, err := q.queryContext(ctx, `
		SELECT table_name
		FROM information_schema.tables
		WHERE table_schema = current_schema()
			AND table_type = 'BASE TABLE'
		ORDER BY table_name`)
	if err != nil {
		return nil, nil, fmt.Errorf("store: unable to list tables: %w", err)
	}
	names, err := scanStrings(rows)
	if err != nil {
		return nil, nil, fmt.Errorf("store: unable to list tables: %w", err)
	}
	rows, err = q.queryContext(ctx, `
		SELECT c.relname, p.relname
		FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid
		JOIN pg_class p ON p.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE k.contype = 'f'
			AND n.nspname = current_schema()`)
	if err != nil {
		return nil, nil, fmt.Errorf("store: unable to list foreign keys: %w", err)
	}
	deps := map[string][]string{}
	err = eachRow(rows, func(s scanner) error {
		var c, p string
		if err := s.Scan(&c, &p); err != nil {
			return err
		}
		deps[c] = append(deps[c], p)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: unable to list foreign keys: %w", err)
	}
	return names, deps, nil
}

func (postgresDialect) columnsQuery() string {
	return `
		SELECT column_name, udt_name
		FROM information_schema.columns
		WHERE table_schema = current_schema()
			AND table_name = $1
		ORDER BY ordinal_position`
}

func (postgresDialect) embedded() bool      { return false }
func (postgresDialect) copyFrom() bool      { return true }
func (postgresDialect) sharedByNodes() bool { return true }
func (postgresDialect) listens() bool       { return true }

// asyncCommit: SET LOCAL synchronous_commit = off.
func (postgresDialect) asyncCommit() bool { return true }

func (postgresDialect) writableCTEs() bool { return true }

// insertRuns: one INSERT ... SELECT FROM unnest per runsPerUnnest runs, with
// an array parameter per column (insertRunsUnnest, slots.go).
func (postgresDialect) insertRuns(ctx context.Context, tx *Tx, rs []BulkRun, byUID map[string]int, now int64) error {
	for start := 0; start < len(rs); start += runsPerUnnest {
		if err := insertRunsUnnest(ctx, tx, rs, start, min(start+runsPerUnnest, len(rs)), byUID, now); err != nil {
			return err
		}
	}
	return nil
}
