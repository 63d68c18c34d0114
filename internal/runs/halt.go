package runs

import (
	"context"
	"sync"
	"time"
)

// HaltEvery is how often a node looks whether the runs it works chunks of
// are still RUNNING. A run cancelled (or blocked) on another node stops
// starting upstream calls here within about that long; one cancelled on
// this node stops at once (Cancel tells the watcher).
const HaltEvery = 500 * time.Millisecond

// haltWatch gives each run a node works on a context that ends when the run
// leaves RUNNING, so that its chunks stop starting upstream calls: the
// chunk's commit would discard what they fetched (errNotRunning), so every
// call made after a cancel is a call the platform counts for nothing. One
// query a tick reads the status of every run being worked (not one per
// chunk or per call), and the loop runs only while some chunk is working.
type haltWatch struct {
	check func(ctx context.Context, ids []int64) (map[int64]bool, error)
	every time.Duration

	mu      sync.Mutex
	runs    map[int64]*watched
	looping bool
	// stopped remembers the runs cancelled on this node for stoppedFor: a
	// chunk that read its run as RUNNING just before the cancel committed
	// starts watching only after halt, and must not get a fresh context
	// and a HaltEvery of calls (up to a chunk's inputs) for a run that is
	// over. A STOPPED run never runs again, so remembering it is safe.
	stopped map[int64]time.Time
}

// stoppedFor is how long a run cancelled here stays remembered; a chunk
// starting later reads the run as STOPPED itself.
const stoppedFor = time.Minute

// watched is one run's halt context, shared by the node's chunks of it.
type watched struct {
	n      int // chunks working
	ctx    context.Context
	cancel context.CancelFunc
}

// watch returns a context that ends when run leaves RUNNING, and done, to
// call when the chunk stops working.
func (h *haltWatch) watch(run int64) (halt context.Context, done func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.runs == nil {
		h.runs = map[int64]*watched{}
	}
	if at, ok := h.stopped[run]; ok && time.Since(at) < stoppedFor {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, func() {}
	}
	w := h.runs[run]
	if w == nil {
		w = &watched{}
		w.ctx, w.cancel = context.WithCancel(context.Background())
		h.runs[run] = w
	}
	w.n++
	if !h.looping {
		h.looping = true
		go h.loop()
	}
	var once sync.Once
	return w.ctx, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			w.n--
			if w.n == 0 {
				w.cancel()
				if h.runs[run] == w {
					delete(h.runs, run)
				}
			}
		})
	}
}

// halt ends run's context now (the run was cancelled on this node), and
// the context of any chunk of it that starts watching for stoppedFor.
func (h *haltWatch) halt(run int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if h.stopped == nil {
		h.stopped = map[int64]time.Time{}
	}
	for id, at := range h.stopped {
		if now.Sub(at) >= stoppedFor {
			delete(h.stopped, id)
		}
	}
	h.stopped[run] = now
	if w := h.runs[run]; w != nil {
		w.cancel()
		delete(h.runs, run)
	}
}

// loop checks the watched runs every h.every until none is watched.
func (h *haltWatch) loop() {
	every := h.every
	if every <= 0 {
		every = HaltEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		h.mu.Lock()
		if len(h.runs) == 0 {
			h.looping = false
			h.mu.Unlock()
			return
		}
		ids := make([]int64, 0, len(h.runs))
		seen := make(map[int64]*watched, len(h.runs))
		for id, w := range h.runs {
			ids = append(ids, id)
			seen[id] = w
		}
		h.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), every*4)
		stopped, err := h.check(ctx, ids)
		cancel()
		if err != nil {
			continue // a failed read halts nothing: the commit still checks
		}
		h.mu.Lock()
		for id := range stopped {
			if w := h.runs[id]; w != nil && w == seen[id] {
				w.cancel()
				delete(h.runs, id)
			}
		}
		h.mu.Unlock()
	}
}
