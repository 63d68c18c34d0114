package smartlimits

import (
	"context"
	"time"

	"github.com/firstmate-oss/firstmate/internal/store"
)

// Every consumption adds a limit_events row per key, and no window is longer
// than Month, so without pruning the table grows with every call ever made
// and counts none of it after a month. PruneEvents deletes what no window
// can count any more.
//
// It needs no bump of limit_seqs: a deleted event lies outside every window
// at the time of deletion and later, so no sum that a node's copy (or the
// database) makes changes.

// pruneAfter is how old an event is when it is deleted: the longest window
// and a day, so that a node whose clock runs behind still counts what its
// windows hold.
const pruneAfter = Month + Day

// pruneBatch is how many events one transaction deletes: on SQLite it holds
// the one writer, which the live path's group commits wait for.
const pruneBatch = 2000

// PruneEvents deletes the events older than a month and a day at now, in
// transactions of at most pruneBatch, and returns how many it deleted.
//
// Events are appended in time order, so the oldest rows by id are the
// oldest events: each round looks at the first pruneBatch rows by id only
// (it never scans the table) and deletes those old enough; rounds go on
// while one deletes a full batch. (Should a clock step forward, the rows
// written before it steps back wait for their own time to go, and the old
// rows behind them wait with them.)
func PruneEvents(ctx context.Context, db *store.Store, now time.Time) (int64, error) {
	before := store.Millis(now.Add(-pruneAfter))
	var total int64
	for {
		var n int64
		err := db.TxKeepCaches(ctx, func(tx *store.Tx) error {
			var err error
			n, err = store.PruneLimitEvents(ctx, tx, pruneBatch, before)
			return err
		})
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
