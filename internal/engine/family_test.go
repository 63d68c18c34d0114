package engine_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/engine"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Two nodes sharing one database and a family limit of 6: however many
// calls each wants, no more than 6 are ever in flight across both, both
// get work done, and a node that stops gives its share back.
func TestFamilyLimitAcrossNodes(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		db := apitest.NewStore(t, dialect).OpenDB(t)
		const limit = 6
		node := func(name string) *engine.FamilyLimits {
			lease := func(ctx context.Context, family string, lim, wanted, inUse int) (int, error) {
				return db.RenewFamilyLease(ctx, store.FamilyLease{Family: family, Node: name, Limit: lim, Wanted: wanted, InUse: inUse,
					Now: time.Now().UnixMilli(), TTL: engine.LeaseTTL.Milliseconds()})
			}
			f := engine.NewFamilyLimits(map[string]int{"googlemaps": limit}, lease, nil)
			f.Start()
			return f
		}
		a, b := node("a"), node("b")
		var inFlight, peak atomic.Int64
		var done [2]atomic.Int64
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for i, f := range []*engine.FamilyLimits{a, b} {
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						rel, err := f.Acquire(ctx, "googlemaps")
						if err != nil {
							return
						}
						n := inFlight.Add(1)
						for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
						}
						time.Sleep(20 * time.Millisecond)
						inFlight.Add(-1)
						rel()
						done[i].Add(1)
					}
				}()
			}
		}
		// Other families are not limited.
		if rel, err := a.Acquire(context.Background(), "linkedin"); err != nil {
			t.Fatal(err)
		} else {
			rel()
		}
		wg.Wait()
		a.Stop()
		b.Stop()
		t.Logf("%s: peak %d in flight; node a %d calls, node b %d", dialect, peak.Load(), done[0].Load(), done[1].Load())
		if peak.Load() > limit {
			t.Fatalf("%d calls in flight across the nodes, limit %d", peak.Load(), limit)
		}
		if done[0].Load() == 0 || done[1].Load() == 0 {
			t.Fatalf("a node was starved: %d and %d calls", done[0].Load(), done[1].Load())
		}
		// A node whose lease lapsed (stopped) leaves the limit to the others.
		n, err := db.RenewFamilyLease(context.Background(), store.FamilyLease{Family: "googlemaps", Node: "c", Limit: limit, Wanted: limit,
			Now: time.Now().Add(engine.LeaseTTL).UnixMilli() + 1, TTL: engine.LeaseTTL.Milliseconds()})
		if err != nil || n != limit {
			t.Fatalf("after the others lapsed: granted %d (%v), want %d", n, err, limit)
		}
	})
}
