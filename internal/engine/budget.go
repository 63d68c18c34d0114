package engine

import (
	"container/list"
	"context"
	"sync"
)

// DefaultInflight is the in-flight budget's default size (FIRSTMATE_INFLIGHT).
const DefaultInflight = 4096

// Class says whose upstream call asks the budget for a slot.
type Class struct {
	// Live calls have a client waiting: they may use the share of the
	// budget that async and schedule work may not (Budget.Reserved).
	Live      bool
	Workspace int64
	// Run is the async run the call works for (0: live).
	Run int64
	// Resumed calls work a chunk taken over from a dead node: its run's
	// outputs have stopped since the node died, while this node's own
	// chunks keep theirs coming. They go before the other work waiting
	// (after live calls), so that the takeover does not wait a pass of
	// this node's own calls (jobs/nodes.go). They are few: a node works
	// at most a few taken-over chunks at once.
	Resumed bool
}

// Budget bounds the upstream calls in flight on one node, whatever their
// origin (live calls, async runs, schedule firings), independently of how
// many job workers there are: the budget, the per-account rule and the
// Smart Limits, not a worker count, bound a node's throughput when
// platforms are slow.
//
// Policy, when calls wait for a slot: live calls first, and they alone may
// use the last Reserved slots; then resumed calls (Class.Resumed), in
// order; other calls are granted round robin between
// the workspaces that have calls waiting, and within a workspace round
// robin between its runs, each run's calls in order. A workspace's large
// run therefore gets the same share of a busy budget as another
// workspace's small one, and no more than any of its own other runs.
type Budget struct {
	size, reserved int

	mu       sync.Mutex
	used     int // slots held, live included
	usedWork int // slots held by calls that are not live
	live     list.List
	resumed  list.List
	// waiting workspaces, in round-robin order; the front is served next.
	spaces  list.List
	spaceOf map[int64]*list.Element
	peak    int
}

type waiter struct {
	ch      chan struct{}
	granted bool
	run     *runQueue
	elem    *list.Element
}

type wsQueue struct {
	id   int64
	runs list.List // of *runQueue, round robin
	// runOf finds a run's queue among runs.
	runOf map[int64]*list.Element
}

type runQueue struct {
	id      int64
	ws      *wsQueue
	waiters list.List // of *waiter
}

// NewBudget makes a budget of size slots (<= 0: DefaultInflight), of which
// the last reserved are for live calls (< 0: a sixteenth of the budget, at
// least 1 when the budget has more than one slot).
func NewBudget(size, reserved int) *Budget {
	if size <= 0 {
		size = DefaultInflight
	}
	if reserved < 0 {
		reserved = size / 16
		if reserved == 0 && size > 1 {
			reserved = 1
		}
	}
	reserved = min(reserved, size-1)
	b := &Budget{size: size, reserved: max(reserved, 0), spaceOf: map[int64]*list.Element{}}
	b.live.Init()
	b.resumed.Init()
	b.spaces.Init()
	return b
}

// Size is the number of slots.
func (b *Budget) Size() int { return b.size }

// Reserved is the number of slots only live calls may take.
func (b *Budget) Reserved() int { return b.reserved }

// Stats reports the slots held now and the most held at once.
func (b *Budget) Stats() (inflight, peak int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.peak
}

// fits says whether a call of this kind may take a slot now.
func (b *Budget) fits(live bool) bool {
	if b.used >= b.size {
		return false
	}
	return live || b.usedWork < b.size-b.reserved
}

func (b *Budget) take(live bool) {
	b.used++
	if !live {
		b.usedWork++
	}
	b.peak = max(b.peak, b.used)
}

// Acquire takes a slot for a call of class c, waiting its turn; it fails
// only when ctx ends first. release gives the slot back (once).
func (b *Budget) Acquire(ctx context.Context, c Class) (release func(), err error) {
	if b == nil {
		return func() {}, nil
	}
	b.mu.Lock()
	// Nobody of the same kind is waiting ahead: take a free slot at once.
	if b.fits(c.Live) && (c.Live && b.live.Len() == 0 || !c.Live && b.live.Len() == 0 && b.resumed.Len() == 0 &&
		(c.Resumed || b.spaces.Len() == 0)) {
		b.take(c.Live)
		b.mu.Unlock()
		return b.releaser(c.Live), nil
	}
	w := &waiter{ch: make(chan struct{})}
	switch {
	case c.Live:
		w.elem = b.live.PushBack(w)
	case c.Resumed:
		w.elem = b.resumed.PushBack(w)
	default:
		w.run = b.queue(c.Workspace, c.Run)
		w.elem = w.run.waiters.PushBack(w)
	}
	b.mu.Unlock()
	select {
	case <-w.ch:
		return b.releaser(c.Live), nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	if w.granted {
		// Granted as ctx ended: pass the slot on.
		b.mu.Unlock()
		b.releaser(c.Live)()
		return nil, ctx.Err()
	}
	switch {
	case c.Live:
		b.live.Remove(w.elem)
	case c.Resumed:
		b.resumed.Remove(w.elem)
	default:
		b.unqueue(w)
	}
	b.mu.Unlock()
	return nil, ctx.Err()
}

// queue is run's queue of waiters, made (at the back of the round) when it
// has none.
func (b *Budget) queue(workspace, run int64) *runQueue {
	var ws *wsQueue
	if e, ok := b.spaceOf[workspace]; ok {
		ws = e.Value.(*wsQueue)
	} else {
		ws = &wsQueue{id: workspace, runOf: map[int64]*list.Element{}}
		ws.runs.Init()
		b.spaceOf[workspace] = b.spaces.PushBack(ws)
	}
	if e, ok := ws.runOf[run]; ok {
		return e.Value.(*runQueue)
	}
	rq := &runQueue{id: run, ws: ws}
	rq.waiters.Init()
	ws.runOf[run] = ws.runs.PushBack(rq)
	return rq
}

// unqueue removes a waiter, and its run's and workspace's queues once
// empty.
func (b *Budget) unqueue(w *waiter) {
	rq := w.run
	rq.waiters.Remove(w.elem)
	if rq.waiters.Len() > 0 {
		return
	}
	ws := rq.ws
	ws.runs.Remove(ws.runOf[rq.id])
	delete(ws.runOf, rq.id)
	if ws.runs.Len() == 0 {
		b.spaces.Remove(b.spaceOf[ws.id])
		delete(b.spaceOf, ws.id)
	}
}

func (b *Budget) releaser(live bool) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.used--
			if !live {
				b.usedWork--
			}
			b.grant()
			b.mu.Unlock()
		})
	}
}

// grant hands free slots to waiters, by the policy of Budget. The caller
// holds b.mu.
func (b *Budget) grant() {
	for b.live.Len() > 0 && b.fits(true) {
		w := b.live.Remove(b.live.Front()).(*waiter)
		b.take(true)
		w.granted = true
		close(w.ch)
	}
	for b.resumed.Len() > 0 && b.fits(false) {
		w := b.resumed.Remove(b.resumed.Front()).(*waiter)
		b.take(false)
		w.granted = true
		close(w.ch)
	}
	for b.spaces.Len() > 0 && b.fits(false) {
		// The front workspace's front run gives its first waiter; both go
		// to the back of their rounds.
		wsElem := b.spaces.Front()
		ws := wsElem.Value.(*wsQueue)
		rq := ws.runs.Front().Value.(*runQueue)
		w := rq.waiters.Front().Value.(*waiter)
		b.unqueue(w)
		if _, ok := ws.runOf[rq.id]; ok {
			ws.runs.MoveToBack(ws.runOf[rq.id])
		}
		if e, ok := b.spaceOf[ws.id]; ok {
			b.spaces.MoveToBack(e)
		}
		b.take(false)
		w.granted = true
		close(w.ch)
	}
}
