package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// fill makes the database refuse to grow: SQLite's max_page_count on the
// writer connection, the way a full disk would refuse it (SQLITE_FULL).
func fill(t *testing.T, db *Store) (restore func()) {
	t.Helper()
	var pages int
	if err := db.write.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := db.write.Exec(`PRAGMA max_page_count = 1073741823`); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIsUnavailable(t *testing.T) {
	db := openTestSQLite(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	createBlobs(t, db)
	restore := fill(t, db)
	err := db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.execContext(ctx, `INSERT INTO blobs (b) VALUES ($1)`, bytes.Repeat([]byte{1}, 1<<20))
		return err
	})
	if err == nil || !IsUnavailable(err) || !IsUnavailable(fmt.Errorf("store: wrapped: %w", err)) {
		t.Fatalf("a full database: %v, unavailable %v", err, IsUnavailable(err))
	}
	restore()
	_, err = db.write.Exec(`INSERT INTO blobs (id, b) VALUES (1, x'00'), (1, x'00')`)
	if err == nil || IsUnavailable(err) {
		t.Errorf("a constraint violation is the statement's fault: %v", err)
	}
	_, err = db.write.Exec(`SELECT nope FROM nowhere`)
	if err == nil || IsUnavailable(err) {
		t.Errorf("a bad statement is not the storage's fault: %v", err)
	}
	// A PostgreSQL server that does not answer.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, dead := pgconn.Connect(cctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	for _, e := range []error{
		dead, fmt.Errorf("store: unable to X: %w", dead),
		&pgconn.PgError{Code: "53100", Message: "could not extend file: No space left on device"},
		&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"},
		&pgconn.PgError{Code: "08006"},
	} {
		if !IsUnavailable(e) {
			t.Errorf("%v: not unavailable", e)
		}
	}
	for _, e := range []error{
		&pgconn.PgError{Code: "23505"}, &pgconn.PgError{Code: "22P02"}, context.Canceled, errors.New("boom"), nil,
		// The network failing under something else (a platform call).
		&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, fmt.Errorf("upstream: %w", io.ErrUnexpectedEOF),
	} {
		if IsUnavailable(e) {
			t.Errorf("%v: unavailable", e)
		}
	}
	// Whether a bare network failure was the database's, only a Ping can say.
	for e, maybe := range map[error]bool{io.ErrUnexpectedEOF: true, fmt.Errorf("x: %w", syscall.ECONNRESET): true,
		&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}: true, errors.New("boom"): false, context.Canceled: false} {
		if MaybeUnavailable(e) != maybe {
			t.Errorf("MaybeUnavailable(%v) = %v", e, !maybe)
		}
	}
}

// Writable follows the database: refused while writes fail for lack of
// room, whoever wrote (a transaction, or a statement on the writer
// outside any, as River's are), and back once writes go through again.
func TestWritable(t *testing.T) {
	db := openTestSQLite(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	createBlobs(t, db)
	if err := db.Writable(ctx); err != nil {
		t.Fatalf("a fresh database: %v", err)
	}
	restore := fill(t, db)
	// Not through Store.Tx: as River writes.
	_, err := db.write.Exec(`INSERT INTO blobs (b) VALUES ($1)`, bytes.Repeat([]byte{1}, 1<<20))
	if !IsUnavailable(err) {
		t.Fatalf("insert into a full database: %v", err)
	}
	if err := db.Writable(ctx); !errors.Is(err, ErrNotWritable) {
		t.Fatalf("Writable after a failed write: %v", err)
	}
	restore()
	deadline := time.Now().Add(20 * time.Second)
	for db.Writable(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still not writable once writes go through: %v", db.Writable(ctx))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The database, its WAL and its shared-memory file are private to their
// owner whatever the umask and the directory's mode; an existing database
// left readable by others is made private.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "firstmate.db")
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	db.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("an existing 0644 database reopened: mode %v", fi.Mode().Perm())
	}
}

// After a transaction far larger than the README's 32 MiB, the WAL goes
// back under it: emptied once the writer is idle, and cut back to 32 MiB
// (journal_size_limit) when the next writes start it over.
func TestWALShrinksAfterALargeTransaction(t *testing.T) {
	for _, idle := range []bool{true, false} {
		t.Run(fmt.Sprintf("idle=%v", idle), func(t *testing.T) {
			if !idle {
				// Only journal_size_limit: no truncating checkpoint. Restored
				// after the database (and its checkpointer) is closed.
				v := truncateAbove
				t.Cleanup(func() { truncateAbove = v })
				truncateAbove = 1 << 62
			}
			db := openTestSQLite(t)
			ctx := context.Background()
			createBlobs(t, db)
			blob := bytes.Repeat([]byte{3}, 1<<20)
			if err := db.Tx(ctx, func(tx *Tx) error {
				for range 48 {
					if _, err := tx.execContext(ctx, `INSERT INTO blobs (b) VALUES ($1)`, blob); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			wal := db.Path + "-wal"
			if size := fileSize(t, wal); size < 48<<20 {
				t.Fatalf("WAL %d bytes after a 48 MiB transaction", size)
			}
			deadline := time.Now().Add(20 * time.Second)
			for fileSize(t, wal) > walSizeLimit {
				if time.Now().After(deadline) {
					t.Fatalf("WAL still %d bytes", fileSize(t, wal))
				}
				if !idle {
					// Small writes: SQLite starts the WAL over after a
					// complete checkpoint.
					if err := db.Tx(ctx, func(tx *Tx) error {
						_, err := tx.execContext(ctx, `INSERT INTO blobs (b) VALUES (x'01')`)
						return err
					}); err != nil {
						t.Fatal(err)
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
