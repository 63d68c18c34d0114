package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// IsUnavailable reports a failure of the storage itself rather than of the
// statement: a full disk, an I/O error, a database file that cannot be
// opened or written, a write lock held elsewhere past every retry, a
// PostgreSQL server that cannot be reached, shut down or out of resources.
// The request that met it may succeed later, unchanged (503, not 500).
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY,
			sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && (pe.Code[:2] == "08" || pe.Code[:2] == "53"): // connection exception, insufficient resources
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", pe.Code == "58030": // shutdown, cannot connect now, I/O error
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) {
		return true
	}
	// A connection lost under a statement: pgconn's own errors (the ones
	// that say whether a retry is safe) around a network failure. A network
	// error from anything else (a platform call) is not the storage's.
	var pg interface{ SafeToRetry() bool }
	var ne net.Error
	return errors.As(err, &pg) && (errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || pgconn.Timeout(err))
}

// MaybeUnavailable reports a network failure that may be the database's
// (a connection lost mid-statement can surface as a bare io.ErrUnexpectedEOF)
// or anything else's (a platform call): whether it was is for a Ping to tell.
func MaybeUnavailable(err error) bool {
	var ne net.Error
	return err != nil && !errors.Is(err, context.Canceled) && (errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNREFUSED))
}

// ErrNotWritable is what Writable reports when the database refuses writes.
var ErrNotWritable = errors.New("store: the database does not take writes")

// writeHealth tells /readyz whether writes go through. Every write that
// fails for an IsUnavailable reason is noted (write transactions, and on
// SQLite every statement on the writer connection, River's included); the
// database counts as unwritable while such failures are recent, and while
// a probe write fails.
type writeHealth struct {
	mu       sync.Mutex
	failedAt time.Time // last IsUnavailable write failure
	failure  error
	probedAt time.Time
	probeErr error
}

// probeEvery bounds how often Writable writes its probe row; failWindow is
// how long after a write failed the database still counts as unwritable
// (a tiny probe may go through while larger writes still fail).
const (
	probeEvery = time.Second
	failWindow = 2 * time.Second
)

// noteWrite records the outcome of a write.
func (db *Store) noteWrite(err error) {
	if !IsUnavailable(err) {
		return
	}
	h := &db.health
	h.mu.Lock()
	h.failedAt, h.failure = time.Now(), err
	h.mu.Unlock()
}

// Writable reports whether the database takes writes: no write failed for
// lack of storage in the last failWindow, and a probe row can be written
// (at most once a second; between probes it answers from the last one).
// The error wraps ErrNotWritable and the cause.
func (db *Store) Writable(ctx context.Context) error {
	h := &db.health
	h.mu.Lock()
	probe := time.Since(h.probedAt) >= probeEvery
	if probe {
		h.probedAt = time.Now()
	}
	h.mu.Unlock()
	if probe {
		err := db.probe(ctx)
		h.mu.Lock()
		h.probeErr = err
		h.mu.Unlock()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.probeErr != nil {
		return fmt.Errorf("%w: %w", ErrNotWritable, h.probeErr)
	}
	if time.Since(h.failedAt) < failWindow {
		return fmt.Errorf("%w: %w", ErrNotWritable, h.failure)
	}
	return nil
}

// probe writes the one row of storage_probe.
func (db *Store) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return db.txRetry(ctx, func(tx *Tx) error {
		_, err := tx.execContext(ctx, `INSERT INTO storage_probe (id, checked_at) VALUES (1, $1)
			ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`, Now())
		return err
	})
}
