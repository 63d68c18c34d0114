package groupcommit

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// Every caller gets its own item's error, and every item is written once.
func TestDoReturnsEachItemsError(t *testing.T) {
	var b Batcher[int]
	var mu sync.Mutex
	written := map[int]int{}
	odd := errors.New("odd")
	commit := func(items []int) []error {
		errs := make([]error, len(items))
		mu.Lock()
		defer mu.Unlock()
		for i, v := range items {
			written[v]++
			if v%2 == 1 {
				errs[i] = odd
			}
		}
		return errs
	}
	var wg sync.WaitGroup
	for v := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := b.Do(context.Background(), v, commit)
			if (v%2 == 1) != errors.Is(err, odd) {
				t.Errorf("item %d: error %v", v, err)
			}
		}()
	}
	wg.Wait()
	for v := range 200 {
		if written[v] != 1 {
			t.Errorf("item %d written %d times", v, written[v])
		}
	}
	if _, items := b.Stats(); items != 200 {
		t.Errorf("Stats counts %d items, want 200", items)
	}
}

// A panic in commit is every item's error, not the process's end.
func TestDoPanicIsAnError(t *testing.T) {
	var b Batcher[int]
	err := b.Do(context.Background(), 1, func([]int) []error { panic("boom") })
	if err == nil {
		t.Fatal("no error from a panicking commit")
	}
}

// An item whose context has ended is not written.
func TestDoCancelled(t *testing.T) {
	var b Batcher[int]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.Do(ctx, 1, func(items []int) []error {
		t.Error("a cancelled item was written")
		return make([]error, len(items))
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}
