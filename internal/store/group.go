package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/firstmate-oss/firstmate/internal/store/groupcommit"
)

// Batches is what metrics read of a Lane or a Group.
type Batches = groupcommit.Batches

// Group is a Batcher of arbitrary write functions, for writes too varied to
// batch as sets. Each function sees the effects of those before it in its
// batch, exactly as if they had committed one after the other. When a
// function fails, its error is its own: the batch rolls back and runs again
// without it, so nothing it wrote survives. Functions may therefore run more
// than once and must set their results afresh on each run (as Store.Tx already
// asks).
//
// Grouped writes leave the read caches alone (see readcache.go): they must
// not change API keys, members, workspaces, identities or integrations.
type Group struct {
	b groupcommit.Batcher[groupFn]
}

type groupFn struct {
	ctx context.Context
	fn  func(tx *Tx) error
}

// Tx runs fn in a write transaction shared with concurrent callers, and
// returns once that transaction has committed (nil) or fn has failed (its
// error; nothing fn wrote is kept).
func (g *Group) Tx(ctx context.Context, db *Store, fn func(tx *Tx) error) error {
	return g.b.Do(ctx, groupFn{ctx: ctx, fn: fn}, func(fns []groupFn) []error { return commitFns(db, fns) })
}

// Stats reports how many transactions have committed and how many functions
// they held.
func (g *Group) Stats() (batches, calls int64) { return g.b.Stats() }

// commitFns runs functions in one transaction. A function that fails is
// taken out with its error and the others run again in a new transaction; an
// error that belongs to the transaction (a deadlock with another node, a
// commit that fails) is retried by TxKeepCaches and is then everyone's.
func commitFns(db *Store, fns []groupFn) []error {
	errs := make([]error, len(fns))
	pending := make([]int, len(fns))
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		failed := -1
		err := db.TxKeepCaches(context.Background(), func(tx *Tx) error {
			failed = -1
			for k, i := range pending {
				err := runFn(fns[i], tx)
				if err == nil {
					continue
				}
				if retryable(err) {
					return err
				}
				failed, errs[i] = k, err
				return errGroupRollback
			}
			return nil
		})
		if failed >= 0 {
			pending = append(pending[:failed], pending[failed+1:]...)
			continue
		}
		for _, i := range pending {
			errs[i] = err
		}
		break
	}
	return errs
}

var errGroupRollback = errors.New("store: group rollback")

// runFn runs one caller's function; a panic fails that caller alone.
func runFn(f groupFn, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: grouped transaction function panicked: %v", p)
		}
	}()
	return f.fn(tx)
}

// Retryable reports an error that a transaction (or a statement outside one)
// may be tried again after: see retryable.
func Retryable(err error) bool { return retryable(err) }

// retryable reports an error that is the transaction's rather than one
// function's: SQLite's write lock held by another process, or a PostgreSQL
// deadlock or serialisation failure.
func retryable(err error) bool {
	if IsBusy(err) {
		return true
	}
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) {
		switch pe.SQLState() {
		case "40001", "40P01":
			return true
		}
	}
	return false
}
