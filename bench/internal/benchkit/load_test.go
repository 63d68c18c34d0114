package benchkit

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	lat := make([]time.Duration, 100)
	for i := range lat {
		lat[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.50, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := Percentile(lat, c.q); got != c.want {
			t.Errorf("p%v = %v, want %v", c.q*100, got, c.want)
		}
	}
	if got := Percentile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("one sample: %v", got)
	}
	if got := Percentile(nil, 0.5); got != 0 {
		t.Errorf("no samples: %v", got)
	}
}

func TestSlug(t *testing.T) {
	if got := Slug("GET /v4/identities/{uid}"); got != "get-v4-identities-uid" {
		t.Errorf("slug = %q", got)
	}
}

// TestRunRateSlots: an open-loop case never runs two operations in one
// slot at a time, starts no more operations than the rate allows, and
// records each measured one once.
func TestRunRateSlots(t *testing.T) {
	const slots = 3
	var busy [slots]atomic.Bool
	var started atomic.Int64
	var clash atomic.Bool
	res := RunRate(context.Background(), RateSpec{Rate: 500, MaxInFlight: slots, Dur: 100 * time.Millisecond,
		Do: func(ctx context.Context, w, seq int) (Outcome, string) {
			started.Add(1)
			if !busy[w].CompareAndSwap(false, true) {
				clash.Store(true)
			}
			time.Sleep(time.Millisecond)
			busy[w].Store(false)
			return OK, ""
		}})
	if clash.Load() {
		t.Error("two operations ran in one slot at once")
	}
	if n := started.Load(); n == 0 || n > 50 {
		t.Errorf("%d operations started, want 1..50 at 500/s for 100 ms", n)
	}
	if int64(res.Total()) > started.Load() || len(res.Lat) != res.OK {
		t.Errorf("recorded %d operations with %d latencies, %d started", res.Total(), len(res.Lat), started.Load())
	}
}

// mixedDo answers OK slowly, and fails or is rate-limited at once, in turn.
func mixedDo(ctx context.Context, w, seq int) (Outcome, string) {
	switch seq % 3 {
	case 0:
		time.Sleep(2 * time.Millisecond)
		return OK, ""
	case 1:
		return Failed, "wrong bytes"
	}
	return Limited, ""
}

// TestOnlyCorrectAnswersAreTimed: errors and 429s are counted but their
// latencies stay out of the percentiles, and throughput is correct answers
// only, in closed and open loops.
func TestOnlyCorrectAnswersAreTimed(t *testing.T) {
	for name, res := range map[string]LoadResult{
		"closed": RunLoad(context.Background(), LoadSpec{Clients: 2, Dur: 100 * time.Millisecond, Do: mixedDo}),
		"open":   RunRate(context.Background(), RateSpec{Rate: 300, MaxInFlight: 2, Dur: 100 * time.Millisecond, Do: mixedDo}),
	} {
		if res.OK == 0 || res.Errors == 0 || res.Limited == 0 {
			t.Fatalf("%s: %d OK, %d errors, %d limited: want some of each", name, res.OK, res.Errors, res.Limited)
		}
		if len(res.Lat) != res.OK {
			t.Errorf("%s: %d latencies for %d correct answers", name, len(res.Lat), res.OK)
		}
		if res.P(0) < 2*time.Millisecond {
			t.Errorf("%s: fastest timed operation took %v: a failure's latency was recorded", name, res.P(0))
		}
		if res.OKPerSec() >= res.AnsweredPerSec() {
			t.Errorf("%s: throughput %.0f/s is not below the %.0f/s answered", name, res.OKPerSec(), res.AnsweredPerSec())
		}
	}
}
