package runs

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestHaltWatch: a run another node cancelled (the check reports it no
// longer RUNNING) ends its chunks' halt context; other runs' do not end;
// a run halted on this node ends at once, and a chunk that starts after
// gets a new context (a resumed run works again).
func TestHaltWatch(t *testing.T) {
	var mu sync.Mutex
	stopped := map[int64]bool{}
	checked := make(chan []int64, 100)
	h := &haltWatch{every: time.Millisecond, check: func(_ context.Context, ids []int64) (map[int64]bool, error) {
		mu.Lock()
		defer mu.Unlock()
		out := map[int64]bool{}
		for _, id := range ids {
			if stopped[id] {
				out[id] = true
			}
		}
		select {
		case checked <- ids:
		default:
		}
		return out, nil
	}}
	c1, done1 := h.watch(1)
	c1b, done1b := h.watch(1)
	c2, done2 := h.watch(2)
	if c1 != c1b {
		t.Fatal("two chunks of a run got different halt contexts")
	}
	<-checked
	if c1.Err() != nil || c2.Err() != nil {
		t.Fatal("a running run's chunks were halted")
	}
	mu.Lock()
	stopped[1] = true
	mu.Unlock()
	select {
	case <-c1.Done():
	case <-time.After(time.Minute):
		t.Fatal("run 1, no longer running, was never halted")
	}
	if c2.Err() != nil {
		t.Fatal("run 2 was halted with run 1")
	}
	done1()
	done1b()

	// A local halt (a cancel) ends the context at once, and a chunk of the
	// cancelled run that starts watching after it (it read the run before
	// the cancel committed) gets an ended one too; other runs do not.
	h.halt(2)
	if c2.Err() == nil {
		t.Fatal("halt(2) left run 2's context running")
	}
	c2b, done2b := h.watch(2)
	if c2b.Err() == nil {
		t.Fatal("a chunk of the cancelled run that started after the halt got a running context")
	}
	c3, done3 := h.watch(3)
	if c3.Err() != nil {
		t.Fatal("run 3 was halted with run 2")
	}
	done2()
	done2b()
	done3()
	if c3.Err() == nil {
		t.Fatal("the last chunk's done left its context running")
	}
	// The loop ends once nothing is watched.
	for {
		h.mu.Lock()
		looping := h.looping
		h.mu.Unlock()
		if !looping {
			break
		}
		time.Sleep(time.Millisecond)
	}
}
