package engine

import (
	"context"
	"reflect"
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

// waitAny takes whichever of the locks frees up first, waiting at most d. It
// returns the index of the id it took.
func (l *accountLocks) waitAny(ctx context.Context, ids []int64, d time.Duration) (idx int, release func(), ok bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	slots := make([]chan struct{}, len(ids))
	cases := make([]reflect.SelectCase, 0, len(ids)+2)
	for i, id := range ids {
		slots[i] = l.slot(id)
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectSend, Chan: reflect.ValueOf(slots[i]), Send: reflect.ValueOf(struct{}{})})
	}
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(t.C)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	chosen, _, _ := reflect.Select(cases)
	if chosen >= len(ids) {
		return -1, nil, false
	}
	c := slots[chosen]
	return chosen, func() { <-c }, true
}
