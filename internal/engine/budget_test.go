package engine

import (
	"context"
	"testing"
	"time"
)

// A full budget grants its freed slots to live calls first, then round
// robin between workspaces and, within one, between runs; async work never
// takes the live reserve.
func TestBudgetPolicy(t *testing.T) {
	b := NewBudget(4, 1) // 3 slots for async work, 1 more for live calls
	ctx := context.Background()
	var held []func()
	for range 3 {
		rel, err := b.Acquire(ctx, Class{Workspace: 1, Run: 10})
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, rel)
	}
	// The reserve: async work waits, a live call does not.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	if _, err := b.Acquire(short, Class{Workspace: 2, Run: 20}); err == nil {
		t.Fatal("async work took the live reserve")
	}
	cancel()
	live, err := b.Acquire(ctx, Class{Live: true, Workspace: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Queue: workspace 1's run 10 three calls, its run 11 one, workspace 2
	// one, in this order; then a live call.
	order := make(chan string, 8)
	wait := func(name string, c Class) {
		// Queued in this order: count the queue before this waiter starts
		// (counted after, the waiter may already be in it and the count
		// never moves), then wait until it has joined.
		n := b.waiting()
		go func() {
			rel, err := b.Acquire(ctx, c)
			if err != nil {
				order <- "error"
				return
			}
			order <- name
			time.Sleep(5 * time.Millisecond)
			rel()
		}()
		for end := time.Now().Add(time.Minute); b.waiting() == n; time.Sleep(time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s never joined the queue", name)
			}
		}
	}
	wait("ws1-run10-a", Class{Workspace: 1, Run: 10})
	wait("ws1-run10-b", Class{Workspace: 1, Run: 10})
	wait("ws1-run10-c", Class{Workspace: 1, Run: 10})
	wait("ws1-run11", Class{Workspace: 1, Run: 11})
	wait("ws2-run20", Class{Workspace: 2, Run: 20})
	wait("live", Class{Live: true, Workspace: 2})
	// One slot at a time frees up (two async slots stay held, and each
	// waiter gives its slot back once served): each goes by the policy.
	// The live slot goes to the waiting live call, which reports before an
	// async slot is freed: the first grant cannot race the second.
	live()
	got := []string{<-order}
	held[0]()
	want := []string{"live", "ws1-run10-a", "ws2-run20", "ws1-run11", "ws1-run10-b", "ws1-run10-c"}
	for range want[1:] {
		got = append(got, <-order)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("grants %v, want %v", got, want)
		}
	}
	held[1]()
	held[2]()
	// The last waiter gives its slot back once it has reported.
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if in, _ := b.Stats(); in == 0 {
			break
		}
	}
	if in, peak := b.Stats(); in != 0 || peak > 4 {
		t.Fatalf("after: %d in flight, peak %d", in, peak)
	}
}

// A cancelled wait leaves the queue; a slot is never lost.
func TestBudgetCancelledWait(t *testing.T) {
	b := NewBudget(1, 0)
	rel, _ := b.Acquire(context.Background(), Class{Workspace: 1, Run: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := b.Acquire(ctx, Class{Workspace: 2, Run: 2})
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled wait got a slot")
	}
	rel()
	rel() // twice: once counts
	r2, err := b.Acquire(context.Background(), Class{Workspace: 3, Run: 3})
	if err != nil {
		t.Fatal(err)
	}
	r2()
	if in, _ := b.Stats(); in != 0 {
		t.Fatalf("%d slots held", in)
	}
}

// A resumed call (a chunk taken over from a dead node) goes before the
// async calls that waited longer; live calls still go first.
func TestBudgetResumedFirst(t *testing.T) {
	b := NewBudget(2, 1) // 1 slot for async work
	ctx := context.Background()
	held, err := b.Acquire(ctx, Class{Workspace: 1, Run: 10})
	if err != nil {
		t.Fatal(err)
	}
	queued := func(l func() int, n int) {
		for {
			b.mu.Lock()
			got := l()
			b.mu.Unlock()
			if got == n {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	order := make(chan string, 3)
	wait := func(name string, c Class) {
		go func() {
			rel, err := b.Acquire(ctx, c)
			if err != nil {
				order <- "error"
				return
			}
			order <- name
			rel()
		}()
	}
	wait("own", Class{Workspace: 1, Run: 10})
	queued(func() int { return b.spaces.Len() }, 1)
	wait("resumed", Class{Workspace: 1, Run: 10, Resumed: true})
	queued(func() int { return b.resumed.Len() }, 1)
	held()
	for _, want := range []string{"resumed", "own"} {
		if got := <-order; got != want {
			t.Fatalf("granted %s, want %s", got, want)
		}
	}
}

// waiting counts the calls queued for a slot.
func (b *Budget) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.live.Len() + b.resumed.Len()
	for e := b.spaces.Front(); e != nil; e = e.Next() {
		for r := e.Value.(*wsQueue).runs.Front(); r != nil; r = r.Next() {
			n += r.Value.(*runQueue).waiters.Len()
		}
	}
	return n
}
