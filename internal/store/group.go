package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Group commits many small write transactions as one ("group commit"). A
// live call writes twice (its Smart Limit consumption before the platform
// call, its charge and run record after), and committing each write on its
// own costs far more than the write: on SQLite every commit rewrites the
// same WAL pages and holds the only writer connection, on PostgreSQL every
// commit waits for a WAL flush while holding the workspace's balance row.
// Concurrent callers queue their functions; whoever finds no transaction
// running leads: it runs the queued functions one after the other in one
// transaction and commits them together. At low load a batch holds a single
// function, so nobody waits for company.
//
// Each function sees the effects of those before it in its batch, exactly
// as if they had committed one after the other. When a function fails, its
// error is its own: the batch rolls back and runs again without it, so
// nothing it wrote survives. Functions may therefore run more than once and
// must set their results afresh on each run (as DB.Tx already asks).
//
// The zero Group is ready to use. Keep one per kind of write, so that
// batches of different kinds can run side by side on PostgreSQL.
type Group struct {
	mu      sync.Mutex
	queue   []*groupCall
	leading bool
}

// groupMax bounds a batch: a longer one holds its locks longer and makes its
// last caller wait for every function before it.
const groupMax = 64

type groupCall struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	err  error
	done chan struct{}
}

// Tx runs fn in a write transaction shared with concurrent callers, and
// returns once that transaction has committed (nil) or fn has failed (its
// error; nothing fn wrote is kept).
func (g *Group) Tx(ctx context.Context, db *DB, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &groupCall{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if lead {
		// The queue was empty: c is first in line, and in the first batch.
		g.lead(db, true)
	}
	<-c.done
	return c.err
}

// lead commits batches. The caller's own leader commits one batch (its
// function is in it) and hands what queued meanwhile to a new goroutine, so
// that no caller waits for more than its own batch; that goroutine leads
// until the queue is empty.
func (g *Group) lead(db *DB, once bool) {
	for {
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.leading = false
			g.mu.Unlock()
			return
		}
		n := min(len(g.queue), groupMax)
		batch := append([]*groupCall(nil), g.queue[:n]...)
		g.queue = append(g.queue[:0], g.queue[n:]...)
		g.mu.Unlock()
		g.commit(db, batch)
		if once {
			g.mu.Lock()
			more := len(g.queue) > 0
			g.leading = more
			g.mu.Unlock()
			if more {
				go g.lead(db, false)
			}
			return
		}
	}
}

// commit runs a batch in one transaction. A function that fails is taken out
// with its error and the others run again in a new transaction; an error
// that belongs to the transaction (a deadlock with another node, a commit
// that fails) retries the batch a few times and is then everyone's.
func (g *Group) commit(db *DB, batch []*groupCall) {
	finish := func(c *groupCall, err error) {
		c.err = err
		close(c.done)
	}
	var txErr error
	for attempt := 0; len(batch) > 0; {
		live := batch[:0]
		for _, c := range batch {
			if err := c.ctx.Err(); err != nil {
				finish(c, err)
				continue
			}
			live = append(live, c)
		}
		batch = live
		if len(batch) == 0 {
			return
		}
		var failed int
		err := db.Tx(context.Background(), func(tx *sql.Tx) error {
			failed = -1
			for i, c := range batch {
				err := runGrouped(c, tx)
				if err == nil {
					continue
				}
				if retryable(err) {
					return err
				}
				failed = i
				c.err = err
				return errGroupRollback
			}
			return nil
		})
		if failed >= 0 {
			finish(batch[failed], batch[failed].err)
			batch = append(batch[:failed], batch[failed+1:]...)
			continue
		}
		if err != nil && retryable(err) && attempt < 3 {
			attempt++
			continue
		}
		txErr = err
		break
	}
	for _, c := range batch {
		finish(c, txErr)
	}
}

var errGroupRollback = errors.New("store: group rollback")

// runGrouped runs one caller's function; a panic fails that caller alone.
func runGrouped(c *groupCall, tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: grouped transaction function panicked: %v", p)
		}
	}()
	return c.fn(tx)
}

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
