// Package benchkit holds what the programs in bench/ share: closed-loop load
// with exact percentiles, starting the real firstmate binary (and other
// helpers) as separate processes, reading their memory and CPU from /proc,
// and setting up workspaces through the API.
package benchkit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Outcome classifies one operation.
type Outcome int

const (
	OK      Outcome = iota
	Limited         // 429: the API rate limiter answered, as it should
	Failed
)

// LoadSpec describes one case: Clients workers each calling Do in a closed
// loop for Warmup + Dur.
type LoadSpec struct {
	Clients int
	Warmup  time.Duration
	Dur     time.Duration
	// Do performs operation seq of worker w. detail describes a failure
	// (recorded for the first one only).
	Do func(ctx context.Context, w, seq int) (o Outcome, detail string)
}

type LoadResult struct {
	Dur        time.Duration
	OK         int
	Limited    int
	Errors     int
	FirstError string
	// Lat holds the latency of every correct (OK) measured operation,
	// sorted. Failed and rate-limited operations are counted, not timed: a
	// quick error would flatter the percentiles, a timeout would distort
	// them, and neither is an answer the client wanted.
	Lat []time.Duration
}

// Total counts every measured operation, whatever its outcome.
func (r LoadResult) Total() int { return r.OK + r.Limited + r.Errors }

// AnsweredPerSec is every measured operation per second, errors and 429s
// included: the load offered, not throughput.
func (r LoadResult) AnsweredPerSec() float64 { return float64(r.Total()) / r.Dur.Seconds() }

// OKPerSec is the throughput: correct answers per second.
func (r LoadResult) OKPerSec() float64 { return float64(r.OK) / r.Dur.Seconds() }

// P is a percentile of the correct answers' latencies.
func (r LoadResult) P(q float64) time.Duration { return Percentile(r.Lat, q) }

// Percentile is the nearest-rank percentile of sorted latencies: exact, no
// histogram buckets.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted)) + 0.999999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// NewClient is a keep-alive HTTP/1.1 client with an idle connection for
// every worker, so each worker keeps one connection for the whole case.
func NewClient(clients int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        clients * 2,
			MaxIdleConnsPerHost: max(clients*2, 64),
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

// RunLoad drives spec.Clients workers in closed loops for Warmup + Dur and
// records the operations that both start and finish inside the measured
// window (the latencies of the correct ones only).
func RunLoad(ctx context.Context, spec LoadSpec) LoadResult {
	start := time.Now()
	t0 := start.Add(spec.Warmup)
	t1 := t0.Add(spec.Dur)
	type workerOut struct {
		ok, limited, errors int
		firstError          string
		lat                 []time.Duration
	}
	outs := make([]workerOut, spec.Clients)
	var wg sync.WaitGroup
	for w := range spec.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &outs[w]
			o.lat = make([]time.Duration, 0, 1<<14)
			for seq := 0; ctx.Err() == nil; seq++ {
				begin := time.Now()
				if !begin.Before(t1) {
					return
				}
				res, detail := spec.Do(ctx, w, seq)
				end := time.Now()
				if begin.Before(t0) || end.After(t1) {
					continue // warm-up, or straddling the end of the window
				}
				if res != OK && res != Limited && o.firstError == "" {
					o.firstError = detail
				}
				switch res {
				case OK:
					o.ok++
					o.lat = append(o.lat, end.Sub(begin))
				case Limited:
					o.limited++
				default:
					o.errors++
				}
			}
		}()
	}
	wg.Wait()
	r := LoadResult{Dur: spec.Dur}
	for _, o := range outs {
		r.OK += o.ok
		r.Limited += o.limited
		r.Errors += o.errors
		if r.FirstError == "" {
			r.FirstError = o.firstError
		}
		r.Lat = append(r.Lat, o.lat...)
	}
	slices.Sort(r.Lat)
	return r
}

// HTTPDo adapts a request maker and a response judge to LoadSpec.Do. Each
// worker reuses its own body buffer.
func HTTPDo(client *http.Client, clients int, newRequest func(w, seq int) (*http.Request, error),
	check func(status int, body []byte) Outcome) func(ctx context.Context, w, seq int) (Outcome, string) {
	bufs := make([]bytes.Buffer, clients)
	return func(ctx context.Context, w, seq int) (Outcome, string) {
		req, err := newRequest(w, seq)
		if err != nil {
			return Failed, err.Error()
		}
		res, err := client.Do(req.WithContext(ctx))
		if err != nil {
			return Failed, err.Error()
		}
		buf := &bufs[w]
		buf.Reset()
		_, err = io.Copy(buf, res.Body)
		res.Body.Close()
		if err != nil {
			return Failed, err.Error()
		}
		o := check(res.StatusCode, buf.Bytes())
		if o == Failed {
			return o, fmt.Sprintf("status %d: %.300s", res.StatusCode, buf.Bytes())
		}
		return o, ""
	}
}

// RateSpec describes an open-loop case: operations start at a fixed Rate
// for Warmup + Dur whatever the answers, with at most MaxInFlight running
// at once (an operation due while all are busy waits for one to finish).
type RateSpec struct {
	Rate        float64 // operations per second
	MaxInFlight int
	Warmup      time.Duration
	Dur         time.Duration
	// Do performs operation seq; w is the in-flight slot it runs in
	// (0..MaxInFlight-1), so per-slot state (connections, buffers) works as
	// with LoadSpec.
	Do func(ctx context.Context, w, seq int) (o Outcome, detail string)
}

// RunRate drives an open-loop case. Latency runs from each operation's
// scheduled start, not from when a slot freed up: a server that falls
// behind shows its queueing in the percentiles instead of hiding it by
// slowing the arrivals (coordinated omission).
func RunRate(ctx context.Context, spec RateSpec) LoadResult {
	interval := time.Duration(float64(time.Second) / spec.Rate)
	start := time.Now()
	t0 := start.Add(spec.Warmup)
	t1 := t0.Add(spec.Dur)
	slots := make(chan int, spec.MaxInFlight)
	for w := range spec.MaxInFlight {
		slots <- w
	}
	var mu sync.Mutex
	r := LoadResult{Dur: spec.Dur}
	var wg sync.WaitGroup
	for seq := 0; ctx.Err() == nil; seq++ {
		due := start.Add(time.Duration(seq) * interval)
		if !due.Before(t1) {
			break
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		var w int
		select {
		case w = <-slots:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { slots <- w }()
			res, detail := spec.Do(ctx, w, seq)
			end := time.Now()
			if due.Before(t0) || end.After(t1) {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if res != OK && res != Limited && r.FirstError == "" {
				r.FirstError = detail
			}
			switch res {
			case OK:
				r.OK++
				r.Lat = append(r.Lat, end.Sub(due))
			case Limited:
				r.Limited++
			default:
				r.Errors++
			}
		}()
	}
	wg.Wait()
	slices.Sort(r.Lat)
	return r
}
