package send

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestHostLimiter(t *testing.T) {
	l := NewHostLimiter(2)
	r1, ok1 := l.TryAcquire("a")
	r2, ok2 := l.TryAcquire("a")
	_, ok3 := l.TryAcquire("a")
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("%v %v %v", ok1, ok2, ok3)
	}
	// Another key is unaffected by a full one.
	rb, okb := l.TryAcquire("b")
	if !okb {
		t.Fatal("b refused because a is full")
	}
	r1()
	r1() // a second release must not free a slot it does not hold
	if l.InFlight("a") != 1 {
		t.Fatalf("in flight %d", l.InFlight("a"))
	}
	r4, ok4 := l.TryAcquire("a")
	_, ok5 := l.TryAcquire("a")
	if !ok4 || ok5 {
		t.Fatalf("%v %v", ok4, ok5)
	}
	r2()
	r4()
	rb()
	if len(l.inFlight) != 0 {
		t.Fatalf("map keeps %d idle keys", len(l.inFlight))
	}
	if NewHostLimiter(0).max != 1 {
		t.Fatal("a limit below 1 is not raised to 1")
	}
}

// Under concurrency no key ever has more than max holders.
func TestHostLimiterConcurrent(t *testing.T) {
	const maxPerKey = 3
	l := NewHostLimiter(maxPerKey)
	var holders [4]atomic.Int32
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := (g + i) % len(holders)
				release, ok := l.TryAcquire(string(rune('a' + k)))
				if !ok {
					continue
				}
				if n := holders[k].Add(1); n > maxPerKey {
					t.Errorf("key %d has %d holders", k, n)
				}
				holders[k].Add(-1)
				release()
			}
		}()
	}
	wg.Wait()
	for k := range holders {
		if n := l.InFlight(string(rune('a' + k))); n != 0 {
			t.Errorf("key %d: %d slots leaked", k, n)
		}
	}
}

// A model check: the limiter agrees with a plain counter under any
// sequence of acquires and (repeated) releases.
func TestPropertyHostLimiter(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		maxPerKey := rapid.IntRange(1, 4).Draw(t, "max")
		l := NewHostLimiter(maxPerKey)
		keys := []string{"a", "b", "c"}
		held := map[string][]func(){}
		for range rapid.IntRange(1, 100).Draw(t, "steps") {
			k := rapid.SampledFrom(keys).Draw(t, "key")
			if rapid.Bool().Draw(t, "acquire") {
				release, ok := l.TryAcquire(k)
				if ok != (len(held[k]) < maxPerKey) {
					t.Fatalf("TryAcquire(%s) = %v with %d held of %d", k, ok, len(held[k]), maxPerKey)
				}
				if ok {
					held[k] = append(held[k], release)
				}
			} else if n := len(held[k]); n > 0 {
				i := rapid.IntRange(0, n-1).Draw(t, "which")
				held[k][i]()
				held[k][i]() // idempotent
				held[k] = append(held[k][:i], held[k][i+1:]...)
			}
			if got := l.InFlight(k); got != len(held[k]) {
				t.Fatalf("InFlight(%s) = %d, model %d", k, got, len(held[k]))
			}
		}
	})
}

// Acquire waits for a slot of a full key: a release hands it to the oldest
// waiter; a waiter that gives up holds nothing and is forgotten.
func TestHostLimiterAcquire(t *testing.T) {
	l := NewHostLimiter(1)
	ctx := context.Background()
	r1, ok := l.Acquire(ctx, "a", time.Second)
	if !ok {
		t.Fatal("a free slot was not taken")
	}
	if _, ok := l.Acquire(ctx, "a", 10*time.Millisecond); ok {
		t.Fatal("a full key gave a second slot")
	}
	if len(l.waiters) != 0 || l.InFlight("a") != 1 {
		t.Fatalf("after a timed-out wait: %d waiting keys, %d in flight", len(l.waiters), l.InFlight("a"))
	}
	got := make(chan int, 2)
	rels := make(chan func(), 2)
	for i := 1; i <= 2; i++ {
		go func() {
			r, ok := l.Acquire(ctx, "a", time.Minute)
			if ok {
				got <- i
				rels <- r
			}
		}()
		for { // the second waiter queues after the first
			l.mu.Lock()
			n := len(l.waiters["a"])
			l.mu.Unlock()
			if n == i {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	r1()
	if first := <-got; first != 1 {
		t.Errorf("waiter %d got the slot first, want the oldest", first)
	}
	if l.InFlight("a") != 1 {
		t.Errorf("%d in flight after a hand-over, want 1", l.InFlight("a"))
	}
	(<-rels)()
	if second := <-got; second != 2 {
		t.Errorf("waiter %d got the second slot", second)
	}
	(<-rels)()
	if l.InFlight("a") != 0 || len(l.waiters) != 0 {
		t.Errorf("after every release: %d in flight, %d waiting keys", l.InFlight("a"), len(l.waiters))
	}
	cctx, cancel := context.WithCancel(ctx)
	r, _ := l.TryAcquire("b")
	cancel()
	if _, ok := l.Acquire(cctx, "b", time.Minute); ok {
		t.Error("Acquire with an ended context waited for a full key")
	}
	r()
}

// Under concurrency, waiting and giving up included, no key ever has more
// than max holders and no slot leaks.
func TestHostLimiterAcquireConcurrent(t *testing.T) {
	const maxPerKey = 2
	l := NewHostLimiter(maxPerKey)
	var holders [3]atomic.Int32
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				k := (g + i) % len(holders)
				release, ok := l.Acquire(context.Background(), string(rune('a'+k)), time.Duration(i%3)*100*time.Microsecond)
				if !ok {
					continue
				}
				if n := holders[k].Add(1); n > maxPerKey {
					t.Errorf("key %d has %d holders", k, n)
				}
				holders[k].Add(-1)
				release()
			}
		}()
	}
	wg.Wait()
	for k := range holders {
		if n := l.InFlight(string(rune('a' + k))); n != 0 {
			t.Errorf("key %d: %d slots leaked", k, n)
		}
	}
	if len(l.waiters) != 0 {
		t.Errorf("%d keys keep waiters", len(l.waiters))
	}
}

func TestHostKey(t *testing.T) {
	for in, want := range map[string]string{
		"http://Example.COM/hook":        "example.com:80",
		"http://example.com:80/other":    "example.com:80",
		"https://example.com/":           "example.com:443",
		"https://example.com.:8443/x?y=": "example.com:8443",
		"http://[::1]:9000/":             "[::1]:9000",
		"not a url":                      "not a url",
	} {
		if got := HostKey(in); got != want {
			t.Errorf("HostKey(%q) = %q, want %q", in, got, want)
		}
	}
}
