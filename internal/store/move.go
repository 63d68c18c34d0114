package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Backups and moving a SQLite installation to PostgreSQL.
//
// BackupTo writes a consistent copy of a live SQLite database with VACUUM
// INTO on a connection of its own: it reads one snapshot (WAL mode lets the
// writer go on meanwhile), so the copy is what the database held at one
// instant, never a torn mix of before and after a transaction.
//
// CopyTo moves every row of every Firstmate table from a SQLite database to
// an empty, migrated PostgreSQL one in one PostgreSQL transaction (a failure
// leaves it empty), then advances each identity sequence past the copied
// ids. River's own tables are not copied here: its migration table is
// written by its migrator, its leader, queue and notification rows are a
// running node's state, and jobs are moved by package jobs (finished jobs
// are history; pending ones are enqueued again there).

// BackupTo writes a consistent online backup of the SQLite database to
// path, which must not exist yet.
func (db *Store) BackupTo(ctx context.Context, path string) error {
	if !db.dialect.embedded() {
		return errors.New("store: BackupTo is for SQLite; back up PostgreSQL with pg_dump")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("store: backup: %s already exists (a backup never overwrites a file)", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: backup: %w", err)
	}
	// A connection of its own, not query_only (VACUUM INTO writes a new
	// file) and not the writer (the backup does not hold up writes).
	c, err := openSQLiteDB("file:"+db.Path+"?_pragma=busy_timeout(10000)", "", nil)
	if err != nil {
		return fmt.Errorf("store: backup: open %s: %w", db.Path, err)
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	if _, err := c.ExecContext(ctx, "VACUUM INTO $1", path); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("store: backup into %s: %w", path, err)
	}
	// The backup holds sealed secrets and key checks: owner-only, like the
	// database itself.
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

// notCopied are the tables CopyTo leaves alone: each side's migration
// bookkeeping, SQLite's own, River's (see above), and auth_epoch, a change
// counter that each database's migration seeds and only its own nodes read
// (authcache.go).
func notCopied(table string) bool {
	return table == "goose_db_version" || table == "auth_epoch" || strings.HasPrefix(table, "sqlite_") ||
		strings.HasPrefix(table, "river_")
}

// Tables lists the database's Firstmate tables (those CopyTo copies), sorted
// so that a table comes after the tables its foreign keys point to.
func (db *Store) Tables(ctx context.Context) ([]string, error) {
	names, deps, err := db.dialect.tables(ctx, sqlQ{db.read})
	if err != nil {
		return nil, unable(err, "read tables")
	}
	names = slices.DeleteFunc(names, notCopied)
	// Depth-first topological order; names stay sorted among equals.
	var out []string
	seen := map[string]int{} // 1 visiting, 2 done
	var visit func(t string) error
	visit = func(t string) error {
		switch seen[t] {
		case 1:
			return fmt.Errorf("store: foreign keys form a cycle through %s", t)
		case 2:
			return nil
		}
		seen[t] = 1
		for _, p := range deps[t] {
			if p != t && slices.Contains(names, p) {
				if err := visit(p); err != nil {
					return err
				}
			}
		}
		seen[t] = 2
		out = append(out, t)
		return nil
	}
	for _, t := range names {
		if err := visit(t); err != nil {
			return nil, unable(err, "read tables")
		}
	}
	return out, nil
}

// Columns lists a table's columns and their types as the database names
// them (SQLite's declared type, PostgreSQL's udt_name), in table order.
func (db *Store) Columns(ctx context.Context, table string) (names, types []string, err error) {
	var rows *sql.Rows
	rows, err = db.read.QueryContext(ctx, db.dialect.columnsQuery(), table)
	if err != nil {
		return nil, nil, fmt.Errorf("store: columns of %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, nil, unable(err, "read columns")
		}
		names, types = append(names, n), append(types, strings.ToLower(t))
	}
	if len(names) == 0 && rows.Err() == nil {
		return nil, nil, fmt.Errorf("store: no table %s", table)
	}
	return names, types, unable(rows.Err(), "read the columns of %s", table)
}

// CopyReport says what CopyTo copied: rows per table.
type CopyReport struct {
	Tables []string
	Rows   map[string]int64
}

// CopyTo copies every Firstmate table of the SQLite database db into dst, a
// migrated PostgreSQL database that holds no data yet (its key checks may
// already name the same keys: a node started on it with the deployment's
// key). Stop the nodes on db first: what they write after the copy's
// snapshot stays behind.
func (db *Store) CopyTo(ctx context.Context, dst *Store) (CopyReport, error) {
	rep := CopyReport{Rows: map[string]int64{}}
	if !db.dialect.embedded() || !dst.dialect.copyFrom() {
		return rep, errors.New("store: copy goes from SQLite to PostgreSQL")
	}
	tables, err := dst.Tables(ctx)
	if err != nil {
		return rep, unable(err, "copy the database")
	}
	srcTables, err := db.Tables(ctx)
	if err != nil {
		return rep, unable(err, "copy the database")
	}
	for _, t := range srcTables {
		if !slices.Contains(tables, t) {
			return rep, fmt.Errorf("store: copy: the destination has no table %s (is it migrated by this version of Firstmate?)", t)
		}
	}
	// One read transaction: one snapshot of every table.
	src, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return rep, fmt.Errorf("store: copy: read snapshot: %w", err)
	}
	defer src.Rollback()
	tx, err := dst.Pool.Begin(ctx)
	if err != nil {
		return rep, fmt.Errorf("store: copy: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	for _, t := range tables {
		if err := dst.makeRoom(ctx, tx, src, t); err != nil {
			return rep, unable(err, "copy the database")
		}
	}
	for _, t := range tables {
		if !slices.Contains(srcTables, t) {
			continue // a table newer than the source: stays empty
		}
		// The rows are copied as they are: the triggers that keep derived
		// rows (run_slots' counts) would count them a second time. Foreign
		// keys (system triggers) stay checked.
		ident := pgx.Identifier{t}.Sanitize()
		if _, err := tx.Exec(ctx, `ALTER TABLE `+ident+` DISABLE TRIGGER USER`); err != nil {
			return rep, fmt.Errorf("store: copy: %s: %w", t, err)
		}
		n, err := copyTable(ctx, db, dst, src, tx, t)
		if err != nil {
			return rep, unable(err, "copy the database")
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+ident+` ENABLE TRIGGER USER`); err != nil {
			return rep, fmt.Errorf("store: copy: %s: %w", t, err)
		}
		rep.Tables = append(rep.Tables, t)
		rep.Rows[t] = n
	}
	if err := advanceSequences(ctx, tx, rep.Tables); err != nil {
		return rep, unable(err, "copy the database")
	}
	if err := tx.Commit(ctx); err != nil {
		return rep, fmt.Errorf("store: copy: commit: %w", err)
	}
	dst.Invalidate()
	return rep, nil
}

// makeRoom checks that the destination's table is empty. Key checks are the
// exception: starting a node on the new database with the deployment's key
// (or `firstmate migrate` with it) records the same checks the source
// holds, which the copy then replaces; another key's check is refused.
func (dst *Store) makeRoom(ctx context.Context, tx pgx.Tx, src *sql.Tx, table string) error {
	var n int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		return fmt.Errorf("store: copy: count %s: %w", table, err)
	}
	if n == 0 {
		return nil
	}
	if table == "workspaces" {
		return fmt.Errorf("store: copy: the destination is not empty (%s holds %d rows); copy into a new database", table, n)
	}
	if table != "key_checks" {
		// Without a workspace the destination holds no data: these rows
		// were seeded by its migrations (run_slots, auth_epoch) and the
		// source's replace them.
		var ws int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM workspaces`).Scan(&ws); err != nil {
			return fmt.Errorf("store: copy: count workspaces: %w", err)
		}
		if ws > 0 {
			return fmt.Errorf("store: copy: the destination is not empty (workspaces holds %d rows); copy into a new database", ws)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+pgx.Identifier{table}.Sanitize()); err != nil {
			return fmt.Errorf("store: copy: clear %s: %w", table, err)
		}
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT kid, mac FROM key_checks`)
	if err != nil {
		return fmt.Errorf("store: copy: read key checks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kid, mac string
		if err := rows.Scan(&kid, &mac); err != nil {
			return err
		}
		var srcMac string
		err := src.QueryRowContext(ctx, `SELECT mac FROM key_checks WHERE kid = $1`, kid).Scan(&srcMac)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && srcMac != mac) {
			return fmt.Errorf("store: copy: the destination was started with secret key %s, which is not this installation's: "+
				"start its nodes with the same FIRSTMATE_SECRET_KEY (the data directory's secret.key) and copy into a new database", kid)
		}
		if err != nil {
			return fmt.Errorf("store: copy: read key checks: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	if _, err := tx.Exec(ctx, `DELETE FROM key_checks`); err != nil {
		return fmt.Errorf("store: copy: key checks: %w", err)
	}
	return nil
}

// copyTable streams one table's rows into dst with COPY.
func copyTable(ctx context.Context, srcDB, dst *Store, src *sql.Tx, tx pgx.Tx, table string) (int64, error) {
	dcols, dtypes, err := dst.Columns(ctx, table)
	if err != nil {
		return 0, err
	}
	scols, _, err := srcDB.Columns(ctx, table)
	if err != nil {
		return 0, err
	}
	var cols, types []string
	for _, c := range scols {
		i := slices.Index(dcols, c)
		if i < 0 {
			return 0, fmt.Errorf("store: copy: the destination's %s has no column %s (is it migrated by this version?)", table, c)
		}
		cols, types = append(cols, c), append(types, dtypes[i])
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = `"` + c + `"`
	}
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM "`+table+`" ORDER BY rowid`)
	if err != nil {
		return 0, fmt.Errorf("store: copy: read %s: %w", table, err)
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var convErr error
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out := make([]any, len(vals))
		for i, v := range vals {
			if out[i], convErr = pgValue(v, types[i]); convErr != nil {
				return nil, fmt.Errorf("%s.%s: %w", table, cols[i], convErr)
			}
		}
		return out, nil
	}))
	if err != nil {
		return 0, fmt.Errorf("store: copy %s: %w", table, err)
	}
	return n, nil
}

// pgValue converts a value read from SQLite to the PostgreSQL column type
// typ (a udt_name): SQLite keeps booleans as integers and lets any column
// hold text or bytes.
func pgValue(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "bool":
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case string:
			return strconv.ParseBool(x)
		}
	case "int2", "int4", "int8":
		switch x := v.(type) {
		case int64:
			return x, nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case float64:
			return int64(x), nil
		case string:
			return strconv.ParseInt(x, 10, 64)
		}
	case "float4", "float8", "numeric":
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case "text", "varchar", "json", "jsonb":
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
	case "timestamptz", "timestamp":
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case int64:
			return time.UnixMilli(x).UTC(), nil
		}
	}
	return nil, fmt.Errorf("no conversion of %T to %s", v, typ)
}

// advanceSequences sets each copied table's identity sequence to its
// largest id, so that the next row gets a new one.
func advanceSequences(ctx context.Context, tx pgx.Tx, tables []string) error {
	for _, t := range tables {
		rows, err := tx.Query(ctx, `SELECT column_name, pg_get_serial_sequence(quote_ident(table_name), column_name)
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, t)
		if err != nil {
			return fmt.Errorf("store: copy: sequences of %s: %w", t, err)
		}
		type colSeq struct{ col, seq string }
		var seqs []colSeq
		for rows.Next() {
			var c string
			var s *string
			if err := rows.Scan(&c, &s); err != nil {
				rows.Close()
				return err
			}
			if s != nil {
				seqs = append(seqs, colSeq{c, *s})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, s := range seqs {
			col := pgx.Identifier{s.col}.Sanitize()
			// setval(seq, 1, false) on an empty table: the next id is 1.
			if _, err := tx.Exec(ctx, `SELECT setval($1::regclass, COALESCE(max(`+col+`), 1), max(`+col+`) IS NOT NULL) FROM `+
				pgx.Identifier{t}.Sanitize(), s.seq); err != nil {
				return fmt.Errorf("store: copy: advance %s: %w", s.seq, err)
			}
		}
	}
	return nil
}

// PendingJob is a River job not yet finished, as CopyTo's caller moves it.
type PendingJob struct {
	Kind, Queue           string
	Args                  []byte
	Priority, MaxAttempts int
	ScheduledAt           time.Time
}

// PendingJobs lists the SQLite database's River jobs that are not finished
// (running ones included: they are what a stopped node was working).
func (db *Store) PendingJobs(ctx context.Context) ([]PendingJob, error) {
	if !db.dialect.embedded() {
		return nil, errors.New("store: PendingJobs reads a SQLite database")
	}
	rows, err := db.read.QueryContext(ctx, `SELECT kind, queue, json(args), priority, max_attempts,
			CAST(COALESCE(unixepoch(scheduled_at, 'subsec'), unixepoch()) * 1000 AS INTEGER)
		FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded') ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: read pending jobs: %w", err)
	}
	defer rows.Close()
	var out []PendingJob
	for rows.Next() {
		var j PendingJob
		var args string
		var at int64
		if err := rows.Scan(&j.Kind, &j.Queue, &args, &j.Priority, &j.MaxAttempts, &at); err != nil {
			return nil, fmt.Errorf("store: read pending jobs: %w", err)
		}
		j.Args, j.ScheduledAt = []byte(args), time.UnixMilli(at).UTC()
		out = append(out, j)
	}
	return out, unable(rows.Err(), "read pending jobs")
}
