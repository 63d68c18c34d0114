// Package groupcommit gathers the writes of concurrent callers into batches
// written together ("group commit"). It knows nothing of databases: the
// store's Lane and Group (internal/store) hand it functions that write a
// batch in one transaction.
package groupcommit

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Batcher gathers the writes of concurrent callers into batches ("group
// commit"). A live call writes twice (its Smart Limit consumption before the
// platform call, its charge and run record after), and committing each
// write on its own costs far more than the write: on SQLite every commit
// rewrites the same WAL pages and holds the only writer connection, on
// PostgreSQL every commit waits for a WAL flush while holding the
// workspace's balance row. Callers queue their items; whoever finds no batch
// being written leads: it hands the queued items to commit, which writes
// them in one transaction. At low load a batch holds a single item, so
// nobody waits for company.
//
// The zero Batcher is ready to use. It writes one batch at a time (several
// at once did no better on PostgreSQL in bench/livebench, and SQLite has one
// writer). Keep one per kind of write, so that batches of different kinds
// can run side by side on PostgreSQL.
type Batcher[T any] struct {
	batches, items atomic.Int64

	mu      sync.Mutex
	queue   []*batchItem[T]
	leading bool
}

// batchMax bounds a batch: a longer one holds its locks longer and makes its
// last caller wait for every item before it.
const batchMax = 64

type batchItem[T any] struct {
	ctx  context.Context
	v    T
	err  error
	done chan struct{}
}

// Do queues v and returns once the batch holding it is written: commit's
// error for v. Every caller of one Batcher passes the same commit, which
// returns one error per item (nil: committed). An item whose context ends
// before its batch is written is left out, with the context's error.
func (b *Batcher[T]) Do(ctx context.Context, v T, commit func(items []T) []error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	it := &batchItem[T]{ctx: ctx, v: v, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, it)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	if lead {
		// The queue was empty: it is first in line, and in the first batch.
		b.lead(commit, true)
	}
	<-it.done
	return it.err
}

// Stats reports how many batches have been written and how many items they
// held.
func (b *Batcher[T]) Stats() (batches, items int64) { return b.batches.Load(), b.items.Load() }

// Batches is what metrics read of a Batcher or a Group.
type Batches interface {
	Stats() (batches, items int64)
}

// lead writes batches. A caller leading writes one batch (its own item is in
// it) and hands what queued meanwhile to a new goroutine, so that no caller
// waits for more than its own batch; that goroutine leads until the queue is
// empty.
func (b *Batcher[T]) lead(commit func(items []T) []error, once bool) {
	for {
		// Let the goroutines that are ready to run queue their items first:
		// when the CPUs are busy, a batch grows instead of being written
		// at once with what happened to be queued; when they are idle, this
		// returns at once. While the queue still grows, yield again (a few
		// times at most): each item written in this batch is a commit fewer.
		runtime.Gosched()
		b.mu.Lock()
		for range 3 {
			n := len(b.queue)
			if n == 0 || n >= batchMax {
				break
			}
			b.mu.Unlock()
			runtime.Gosched()
			b.mu.Lock()
			if len(b.queue) == n {
				break
			}
		}
		if len(b.queue) == 0 {
			b.leading = false
			b.mu.Unlock()
			return
		}
		n := min(len(b.queue), batchMax)
		batch := append([]*batchItem[T](nil), b.queue[:n]...)
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.mu.Unlock()
		b.write(commit, batch)
		if once {
			b.mu.Lock()
			more := len(b.queue) > 0
			b.leading = more
			b.mu.Unlock()
			if more {
				go b.lead(commit, false)
			}
			return
		}
	}
}

func (b *Batcher[T]) write(commit func(items []T) []error, batch []*batchItem[T]) {
	live := batch[:0]
	for _, it := range batch {
		if err := it.ctx.Err(); err != nil {
			it.err = err
			close(it.done)
			continue
		}
		live = append(live, it)
	}
	if len(live) == 0 {
		return
	}
	b.batches.Add(1)
	b.items.Add(int64(len(live)))
	vs := make([]T, len(live))
	for i, it := range live {
		vs[i] = it.v
	}
	errs := safeCommit(commit, vs)
	for i, it := range live {
		it.err = errs[i]
		close(it.done)
	}
}

// safeCommit turns a panic in commit into every item's error: the callers
// are waiting, and the leader may be a goroutine of its own.
func safeCommit[T any](commit func(items []T) []error, vs []T) (errs []error) {
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("groupcommit: batch commit panicked: %v", p)
			errs = make([]error, len(vs))
			for i := range errs {
				errs[i] = err
			}
		}
	}()
	errs = commit(vs)
	if len(errs) != len(vs) {
		panic(fmt.Sprintf("commit returned %d errors for %d items", len(errs), len(vs)))
	}
	return errs
}
