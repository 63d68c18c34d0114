package engine

import (
	"context"
	"sync"
	"time"
)

// accountLocks makes LinkedIn-family calls run one at a time per account, as
// a person using the account would. A lock is a one-slot channel so that
// waiting can be bounded and cancelled.
type accountLocks struct {
	mu sync.Mutex
	m  map[int64]chan struct{}
}

func (l *accountLocks) slot(id int64) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[int64]chan struct{}{}
	}
	c, ok := l.m[id]
	if !ok {
		c = make(chan struct{}, 1)
		l.m[id] = c
	}
	return c
}

// try takes the lock without waiting.
func (l *accountLocks) try(id int64) (release func(), ok bool) {
	c := l.slot(id)
	select {
	case c <- struct{}{}:
		return func() { <-c }, true
	default:
		return nil, false
	}
}

// wait takes the lock, waiting at most d.
func (l *accountLocks) wait(ctx context.Context, id int64, d time.Duration) (release func(), ok bool) {
	c := l.slot(id)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case c <- struct{}{}:
		return func() { <-c }, true
	case <-t.C:
		return nil, false
	case <-ctx.Done():
		return nil, false
	}
}
