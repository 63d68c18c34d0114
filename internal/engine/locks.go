package engine

import (
	"cmp"
	"container/list"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/store"
)

// accountLocks makes LinkedIn-family calls run one at a time per account, as
// a person using the account would. Waiting is bounded and cancellable, and
// cheap with thousands of calls waiting for hundreds of accounts: a freed
// account goes straight to the longest-waiting call that can use it.
type accountLocks struct {
	mu   sync.Mutex
	held map[int64]bool
	// waiters wait for any of their accounts, first come first served.
	waiters list.List // of *lockWaiter
}

type lockWaiter struct {
	set  *LockSet
	skip []bool   // the caller's: not changed while it waits
	ch   chan int // the index taken (in set.ids order)
	elem *list.Element
}

type idIndex struct {
	id  int64
	idx int
}

// LockSet is a candidate list's account ids, in the list's order and
// sorted (for the lookup on release), made once per list: async chunks
// share their run's list (CandidatesForBatch), and with 1,000 candidates
// sorting a copy per waiting call was a fifth of the node's CPU.
type LockSet struct {
	ids    []int64
	sorted []idIndex
}

// NewLockSet makes the lock set of a candidate list.
func NewLockSet(cands []store.Account) *LockSet {
	ids := make([]int64, len(cands))
	for i := range cands {
		ids[i] = cands[i].Integration.ID
	}
	return newLockSet(ids)
}

func newLockSet(ids []int64) *LockSet {
	s := &LockSet{ids: ids, sorted: make([]idIndex, len(ids))}
	for i, id := range ids {
		s.sorted[i] = idIndex{id, i}
	}
	slices.SortFunc(s.sorted, func(a, b idIndex) int { return cmp.Compare(a.id, b.id) })
	return s
}

// index is the position in the waiter's set of id, when the waiter may take
// it.
func (w *lockWaiter) index(id int64) (int, bool) {
	sorted := w.set.sorted
	i, _ := slices.BinarySearchFunc(sorted, id, func(e idIndex, id int64) int { return cmp.Compare(e.id, id) })
	// The same account may be listed more than once: any position not
	// skipped will do.
	for ; i < len(sorted) && sorted[i].id == id; i++ {
		if idx := sorted[i].idx; w.skip == nil || !w.skip[idx] {
			return idx, true
		}
	}
	return 0, false
}

// try takes the lock without waiting.
func (l *accountLocks) try(id int64) (release func(), ok bool) {
	_, rel, ok := l.tryAny([]int64{id}, nil)
	return rel, ok
}

// tryAny takes the first free account of ids (skipping those skip marks)
// without waiting.
func (l *accountLocks) tryAny(ids []int64, skip []bool) (int, func(), bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.takeFree(ids, skip)
}

// takeFree is tryAny with l.mu held.
func (l *accountLocks) takeFree(ids []int64, skip []bool) (int, func(), bool) {
	if l.held == nil {
		l.held = map[int64]bool{}
	}
	for i, id := range ids {
		if skip != nil && skip[i] {
			continue
		}
		if !l.held[id] {
			l.held[id] = true
			return i, l.releaser(id), true
		}
	}
	return -1, nil, false
}

func (l *accountLocks) releaser(id int64) func() {
	var once sync.Once
	return func() { once.Do(func() { l.release(id) }) }
}

// release hands the account to the first waiter that can use it, or frees it.
func (l *accountLocks) release(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for e := l.waiters.Front(); e != nil; e = e.Next() {
		w := e.Value.(*lockWaiter)
		if idx, ok := w.index(id); ok {
			l.waiters.Remove(e)
			w.elem = nil
			w.ch <- idx // buffered: the lock is the waiter's now
			return
		}
	}
	delete(l.held, id)
}

// waitAny takes whichever of the locks frees up first, waiting at most d. It
// returns the index of the id it took.
func (l *accountLocks) waitAny(ctx context.Context, ids []int64, d time.Duration) (idx int, release func(), ok bool) {
	return l.acquire(ctx, newLockSet(ids), nil, d)
}

// acquire takes the first free account of set not marked in skip, or waits
// at most d for whichever of them frees up first. skip must not change
// while acquire runs.
func (l *accountLocks) acquire(ctx context.Context, set *LockSet, skip []bool, d time.Duration) (int, func(), bool) {
	ids := set.ids
	l.mu.Lock()
	if i, rel, ok := l.takeFree(ids, skip); ok {
		l.mu.Unlock()
		return i, rel, true
	}
	if d <= 0 || ctx.Err() != nil {
		l.mu.Unlock()
		return -1, nil, false
	}
	w := &lockWaiter{set: set, skip: skip, ch: make(chan int, 1)}
	w.elem = l.waiters.PushBack(w)
	l.mu.Unlock()

	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case i := <-w.ch:
		return i, l.releaser(ids[i]), true
	case <-t.C:
	case <-ctx.Done():
	}
	l.mu.Lock()
	if w.elem == nil {
		// Handed an account as it gave up: pass it on.
		l.mu.Unlock()
		l.release(ids[<-w.ch])
		return -1, nil, false
	}
	l.waiters.Remove(w.elem)
	l.mu.Unlock()
	return -1, nil, false
}
