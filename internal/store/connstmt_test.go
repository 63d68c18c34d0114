package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

func openTestSQLite(t *testing.T) *Store {
	t.Helper()
	db := newStore(nil, sqliteDialect{})
	c, err := openSQLite(context.Background(), filepath.Join(t.TempDir(), "t.db"), db.noteWrite)
	if err != nil {
		t.Fatal(err)
	}
	db.conns = c
	t.Cleanup(func() { db.Close() })
	return db
}

// cachedCount reports how many statements the writer connection holds.
func cachedCount(t *testing.T, db *Store) int {
	t.Helper()
	conn, err := db.write.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	n := -1
	_ = conn.Raw(func(c any) error {
		sc := c.(*stmtConn)
		sc.mu.Lock()
		n = len(sc.stmts)
		sc.mu.Unlock()
		return nil
	})
	return n
}

// Statements run in write transactions are prepared once per connection and
// give the same results as unprepared ones, arguments rebound on every run.
func TestConnStmtCacheInTransactions(t *testing.T) {
	db := openTestSQLite(t)
	ctx := context.Background()
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 50; i++ {
		err := db.Tx(ctx, func(tx *Tx) error {
			var id int64
			if err := tx.queryRowContext(ctx, `INSERT INTO t (v) VALUES ($1) RETURNING id`, fmt.Sprint("v", i)).Scan(&id); err != nil {
				return err
			}
			if id != int64(i) {
				return fmt.Errorf("id %d, want %d", id, i)
			}
			_, err := tx.execContext(ctx, `UPDATE t SET v = v || $2 WHERE id = $1`, id, "!")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	var last string
	if err := db.write.QueryRowContext(ctx, `SELECT COUNT(*), MAX(v) FROM t WHERE v LIKE $1`, "%!").Scan(&n, &last); err != nil {
		t.Fatal(err)
	}
	if n != 50 || last != "v9!" {
		t.Fatalf("got %d rows, max %q", n, last)
	}
	// CREATE, INSERT, UPDATE, SELECT, BEGIN IMMEDIATE, COMMIT: one
	// statement each, however many runs.
	if got := cachedCount(t, db); got != 6 {
		t.Fatalf("%d cached statements, want 6", got)
	}
	// A rolled-back transaction leaves the statements usable.
	err := db.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.execContext(ctx, `UPDATE t SET v = v || $2 WHERE id = $1`, 1, "?"); err != nil {
			return err
		}
		return fmt.Errorf("roll back")
	})
	if err == nil {
		t.Fatal("want the rollback error")
	}
	var v string
	if err := db.write.QueryRowContext(ctx, `SELECT v FROM t WHERE id = $1`, 1).Scan(&v); err != nil || v != "v1!" {
		t.Fatalf("v = %q, %v", v, err)
	}
}

// While rows of a statement are open, the same SQL runs on its own cursor
// rather than resetting the one being read.
func TestConnStmtCacheNestedSameSQL(t *testing.T) {
	db := openTestSQLite(t)
	ctx := context.Background()
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, err := db.write.ExecContext(ctx, `INSERT INTO t (id) VALUES ($1)`, i); err != nil {
			t.Fatal(err)
		}
	}
	const q = `SELECT id FROM t WHERE id >= $1 ORDER BY id`
	err := db.Tx(ctx, func(tx *Tx) error {
		outer, err := tx.queryContext(ctx, q, 1)
		if err != nil {
			return err
		}
		var ids []int64
		var inner []int
		for outer.Next() {
			var id int64
			if err := outer.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
			rows, err := tx.queryContext(ctx, q, id)
			if err != nil {
				return err
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			inner = append(inner, n)
		}
		if err := outer.Close(); err != nil {
			return err
		}
		if fmt.Sprint(ids) != "[1 2 3 4 5]" || fmt.Sprint(inner) != "[5 4 3 2 1]" {
			return fmt.Errorf("outer %v, inner counts %v", ids, inner)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The cache is bounded; statements evicted or not, results stay right, and
// a schema change after a statement was prepared is picked up.
func TestConnStmtCacheBoundAndSchemaChange(t *testing.T) {
	db := openTestSQLite(t)
	ctx := context.Background()
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO t (id) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < maxConnStmts+50; i++ {
		var got int
		if err := db.write.QueryRowContext(ctx, fmt.Sprintf(`SELECT id + %d FROM t`, i)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != i+1 {
			t.Fatalf("got %d, want %d", got, i+1)
		}
	}
	if got := cachedCount(t, db); got > maxConnStmts {
		t.Fatalf("%d cached statements, bound %d", got, maxConnStmts)
	}
	const q = `SELECT * FROM t`
	var id int
	if err := db.write.QueryRowContext(ctx, q).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `ALTER TABLE t ADD COLUMN v TEXT NOT NULL DEFAULT 'x'`); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := db.write.QueryRowContext(ctx, q).Scan(&id, &v); err != nil || v != "x" {
		t.Fatalf("after ALTER: %q, %v", v, err)
	}
	if _, err := db.write.ExecContext(ctx, `SELECT nope FROM t`); err == nil {
		t.Fatal("want an error for an unknown column")
	}
}

// Transactions begun by the cached BEGIN take the write lock at once, as the
// DSN's _txlock=immediate asks: another connection cannot start writing.
func TestConnStmtBeginImmediate(t *testing.T) {
	db := openTestSQLite(t)
	ctx := context.Background()
	other, err := sql.Open("sqlite", "file:"+db.Path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	err = db.Tx(ctx, func(tx *Tx) error {
		_, err := other.ExecContext(ctx, `BEGIN IMMEDIATE`)
		if !IsBusy(err) {
			return fmt.Errorf("another writer began while the transaction was open: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Committed: the other connection can write now.
	if _, err := other.ExecContext(ctx, `CREATE TABLE u (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
}
