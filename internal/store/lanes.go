package store

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/firstmate-oss/firstmate/internal/store/groupcommit"
)

// Lane is a group commit of one kind of write (see groupcommit.Batcher) whose batches
// are written as sets: Write gets every queued item at once.
//
// On SQLite every lane of a DB shares its transactions. SQLite has one
// writer, so the lanes' transactions ran one after the other anyway, and a
// transaction's fixed cost (taking the write lock, writing the WAL frames)
// was most of the cost of a small one: a round now writes what every lane
// has queued in one transaction. A live call still waits for two rounds
// (its reservation before the platform call, its charge after), but each
// round carries other calls' reservations and charges together. On
// PostgreSQL each lane commits on its own, so that a lane that commits
// without waiting for its WAL flush (Smart Limit reservations) never waits
// for another's.
type Lane[T any] struct {
	db *Store
	// write writes the items in tx and returns each one's error (nil:
	// written). Its error is the transaction's, and every item's. It may run
	// again for the same items when the transaction is retried, and must set
	// its results afresh.
	write func(ctx context.Context, tx *Tx, items []T) ([]error, error)
	// after, if set, runs once the items' transaction has committed.
	after func(items []T)
	// direct, if set, writes a batch on PostgreSQL in place of write's
	// transaction (see SetDirect).
	direct func(ctx context.Context, db *Store, items []T) ([]error, error)

	own            groupcommit.Batcher[T]
	batches, items atomic.Int64
}

// NewLane makes a lane of db's group commits.
func NewLane[T any](db *Store, write func(ctx context.Context, tx *Tx, items []T) ([]error, error),
	after func(items []T)) *Lane[T] {
	return &Lane[T]{db: db, write: write, after: after}
}

// SetDirect lets the lane write its batches on PostgreSQL with direct
// instead of wrapping write in a transaction: a batch that one statement
// writes then commits in one round trip instead of three (BEGIN, the
// statement, COMMIT). direct returns each item's error and the batch's, like
// write, and uses a transaction of its own (WriteTx, typically) for what one
// statement cannot decide. after runs when direct returns no batch error.
// Call it before the first Do.
func (l *Lane[T]) SetDirect(direct func(ctx context.Context, db *Store, items []T) ([]error, error)) {
	l.direct = direct
}

// Do queues v and returns once the transaction holding it has committed:
// v's error from write, or the transaction's.
func (l *Lane[T]) Do(ctx context.Context, v T) error {
	noteLane(ctx)
	if !l.db.dialect.rowLocks() {
		// One writer at a time: every lane shares one group commit.
		return l.db.lanes.Do(ctx, laneItem{lane: l, v: v}, l.db.commitLanes)
	}
	return l.own.Do(ctx, v, l.commitOwn)
}

// Stats reports how many transactions have held this lane's items, and how
// many items they held.
func (l *Lane[T]) Stats() (batches, items int64) { return l.batches.Load(), l.items.Load() }

func (l *Lane[T]) commitOwn(items []T) []error {
	if l.direct == nil {
		errs, err := l.WriteTx(context.Background(), items)
		return l.finish(items, errs, err)
	}
	errs, err := l.direct(context.Background(), l.db, items)
	if err == nil && len(errs) != len(items) {
		panic(fmt.Sprintf("store: lane direct write returned %d errors for %d items", len(errs), len(items)))
	}
	return l.finish(items, errs, err)
}

// WriteTx writes items with the lane's write in a transaction of their own.
func (l *Lane[T]) WriteTx(ctx context.Context, items []T) ([]error, error) {
	var errs []error
	err := l.db.TxKeepCaches(ctx, func(tx *Tx) error {
		var err error
		errs, err = l.writeChecked(tx, items)
		return err
	})
	return errs, err
}

func (l *Lane[T]) writeChecked(tx *Tx, items []T) ([]error, error) {
	errs, err := l.write(context.Background(), tx, items)
	if err == nil && len(errs) != len(items) {
		panic(fmt.Sprintf("store: lane write returned %d errors for %d items", len(errs), len(items)))
	}
	return errs, err
}

// finish settles the items of a transaction that committed (err nil) or
// failed.
func (l *Lane[T]) finish(items []T, errs []error, err error) []error {
	l.batches.Add(1)
	l.items.Add(int64(len(items)))
	if err != nil {
		errs = make([]error, len(items))
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	if l.after != nil {
		l.after(items)
	}
	return errs
}

// laneItem is an item of any lane, in the shared group commit of SQLite.
type laneItem struct {
	lane anyLane
	v    any
}

// anyLane is a Lane[T] of any T, for the shared group commit.
type anyLane interface {
	writeAny(tx *Tx, vs []any) ([]error, error)
	finishAny(vs []any, errs []error, err error) []error
}

func (l *Lane[T]) writeAny(tx *Tx, vs []any) ([]error, error) {
	return l.writeChecked(tx, typed[T](vs))
}

func (l *Lane[T]) finishAny(vs []any, errs []error, err error) []error {
	return l.finish(typed[T](vs), errs, err)
}

func typed[T any](vs []any) []T {
	out := make([]T, len(vs))
	for i, v := range vs {
		out[i] = v.(T)
	}
	return out
}

// commitLanes writes a round of every lane's items in one transaction, lane
// by lane in the order they first queued.
func (db *Store) commitLanes(items []laneItem) []error {
	type group struct {
		lane anyLane
		idx  []int
		vs   []any
		errs []error
	}
	var groups []*group
	at := map[anyLane]*group{}
	for i, it := range items {
		g := at[it.lane]
		if g == nil {
			g = &group{lane: it.lane}
			at[it.lane] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
		g.vs = append(g.vs, it.v)
	}
	err := db.TxKeepCaches(context.Background(), func(tx *Tx) error {
		for _, g := range groups {
			var err error
			if g.errs, err = g.lane.writeAny(tx, g.vs); err != nil {
				return err
			}
		}
		return nil
	})
	out := make([]error, len(items))
	for _, g := range groups {
		for k, e := range g.lane.finishAny(g.vs, g.errs, err) {
			out[g.idx[k]] = e
		}
	}
	return out
}
