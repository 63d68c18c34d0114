package engine

import (
	"context"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/catalog"
)

// waitAny takes whichever account frees up first, not only the first one
// asked for.
func TestLocksWaitAnyTakesTheFirstFreed(t *testing.T) {
	var l accountLocks
	relA, ok := l.try(1)
	if !ok {
		t.Fatal("try 1")
	}
	relB, ok := l.try(2)
	if !ok {
		t.Fatal("try 2")
	}
	if _, ok := l.try(2); ok {
		t.Fatal("a held lock was taken twice")
	}
	type got struct {
		idx int
		rel func()
		ok  bool
	}
	done := make(chan got, 1)
	go func() {
		i, rel, ok := l.waitAny(context.Background(), []int64{1, 2}, time.Minute)
		done <- got{i, rel, ok}
	}()
	relB() // account 2 frees up; account 1 stays busy
	g := <-done
	if !g.ok || g.idx != 1 {
		t.Fatalf("waitAny: idx %d ok %v, want account 2 (index 1)", g.idx, g.ok)
	}
	if _, ok := l.try(2); ok {
		t.Fatal("waitAny did not hold the lock it returned")
	}
	g.rel()
	if rel, ok := l.try(2); !ok {
		t.Fatal("release did not free the lock")
	} else {
		rel()
	}
	relA()
}

func TestLocksWaitAnyGivesUp(t *testing.T) {
	var l accountLocks
	rel, _ := l.try(7)
	defer rel()
	if _, _, ok := l.waitAny(context.Background(), []int64{7}, 10*time.Millisecond); ok {
		t.Fatal("waitAny took a held lock")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, ok := l.waitAny(ctx, []int64{7}, time.Minute); ok {
		t.Fatal("waitAny ignored a cancelled context")
	}
}

// The managed factor applies to actions that run on a pool account only.
func TestPerResultManagedFactor(t *testing.T) {
	get := func(slug string) *catalog.Action {
		a, ok := catalog.Get(slug)
		if !ok {
			t.Fatalf("no %s", slug)
		}
		return a
	}
	for _, c := range []struct {
		slug, mode string
		want       int64
	}{
		{"linkedin-search-people", ModeDirect, 1000},
		{"linkedin-search-people", ModeAuto, 1000},
		{"linkedin-search-people", ModeManaged, 1500},
		{"linkedin-extract-contact", ModeManaged, 3000},
		{"linkedin-me", ModeDirect, 0},
		{"thefork-extract-reviews", ModeManaged, 1000},
		{"googlemaps-search-places", ModeManaged, 1000},
	} {
		if got := PerResult(get(c.slug), c.mode); got != c.want {
			t.Errorf("%s %s: %d millicredits a result, want %d", c.slug, c.mode, got, c.want)
		}
	}
}
