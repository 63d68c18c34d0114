package store

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Trips counts the entries into the database made on behalf of one
// context (WithTrips): how many transactions it began, how many statements
// it ran outside them, how many group-commit rounds (Lane.Do) it waited
// for, and, for the record, how many statements ran inside its
// transactions. Tests use it to pin the shape of a request (a live call
// enters the store through one admission and one recording step); the
// product never sets it, and a context without one costs a context lookup
// per statement.
//
// Statements are counted where they reach the driver (SQLite's cached
// statement connections, PostgreSQL's pgx tracer), so every path counts,
// the read caches' misses included and their hits excluded. A group
// commit's transaction runs on its own context: the round counts once, as
// a lane entry, whichever call's items it carries.
type Trips struct {
	tx, single, lanes, inTx atomic.Int64

	mu  sync.Mutex
	sql []string
}

// SQL lists the statements run outside transactions, in order (for a
// test's failure message).
func (t *Trips) SQL() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.sql...)
}

// TripCounts is a snapshot of Trips.
type TripCounts struct {
	// Tx: transactions begun; Single: statements run outside a transaction
	// (each its own round trip); Lanes: group-commit rounds waited for.
	Tx, Single, Lanes int64
	// InTx: statements run inside the Tx transactions (not entries).
	InTx int64
}

// Entries is the number of times the context entered the store: each
// transaction, each statement run on its own and each group-commit round.
func (c TripCounts) Entries() int64 { return c.Tx + c.Single + c.Lanes }

// Counts reads t.
func (t *Trips) Counts() TripCounts {
	return TripCounts{Tx: t.tx.Load(), Single: t.single.Load(), Lanes: t.lanes.Load(), InTx: t.inTx.Load()}
}

type tripsKey struct{}

// WithTrips returns ctx counting its entries into the store in t.
func WithTrips(ctx context.Context, t *Trips) context.Context {
	return context.WithValue(ctx, tripsKey{}, t)
}

func tripsOf(ctx context.Context) *Trips {
	if ctx == nil {
		return nil
	}
	t, _ := ctx.Value(tripsKey{}).(*Trips)
	return t
}

// noteBegin counts a transaction begun with ctx.
func noteBegin(ctx context.Context) {
	if t := tripsOf(ctx); t != nil {
		t.tx.Add(1)
	}
}

// noteStatement counts a statement run with ctx, inside a transaction or
// not. BEGIN, COMMIT and ROLLBACK are the transaction's, counted by
// noteBegin.
func noteStatement(ctx context.Context, query string, inTx bool) {
	t := tripsOf(ctx)
	if t == nil || txControl(query) {
		return
	}
	if inTx {
		t.inTx.Add(1)
	} else {
		t.single.Add(1)
		t.mu.Lock()
		t.sql = append(t.sql, strings.Join(strings.Fields(query), " "))
		t.mu.Unlock()
	}
}

// noteLane counts a group-commit round waited for with ctx.
func noteLane(ctx context.Context) {
	if t := tripsOf(ctx); t != nil {
		t.lanes.Add(1)
	}
}

func txControl(query string) bool {
	q := strings.ToLower(strings.TrimSpace(query))
	return strings.HasPrefix(q, "begin") || q == "commit" || q == "rollback"
}

// tripTracer counts PostgreSQL statements (pgx's QueryTracer).
type tripTracer struct{}

func (tripTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if tripsOf(ctx) == nil {
		return ctx
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(data.SQL)), "begin") {
		noteBegin(ctx)
		return ctx
	}
	noteStatement(ctx, data.SQL, conn.PgConn().TxStatus() != 'I')
	return ctx
}

func (tripTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
