package main

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

// outcome classifies one response.
type outcome int

const (
	okResp      outcome = iota
	limitedResp         // 429: the API rate limiter answered, as it should
	errResp
)

// loadSpec describes one case: how to make a request and how to judge its answer.
type loadSpec struct {
	clients int
	warmup  time.Duration
	dur     time.Duration
	// newRequest makes request seq of worker w.
	newRequest func(w, seq int) (*http.Request, error)
	check      func(status int, body []byte) outcome
}

type loadResult struct {
	dur        time.Duration
	ok         int
	limited    int
	errors     int
	firstError string
	// lat holds every measured request's latency, sorted.
	lat []time.Duration
}

func (r loadResult) total() int                { return r.ok + r.limited + r.errors }
func (r loadResult) reqPerSec() float64        { return float64(r.total()) / r.dur.Seconds() }
func (r loadResult) okPerSec() float64         { return float64(r.ok) / r.dur.Seconds() }
func (r loadResult) p(q float64) time.Duration { return percentile(r.lat, q) }

// percentile is the nearest-rank percentile of sorted latencies: exact, no
// histogram buckets.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted)) + 0.999999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// newClient is a keep-alive HTTP/1.1 client with an idle connection for
// every worker, so each worker keeps one connection for the whole case.
func newClient(clients int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
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

// runLoad drives spec.clients workers in closed loops for warmup + dur and
// records the requests that both start and finish inside the measured window.
func runLoad(ctx context.Context, client *http.Client, spec loadSpec) loadResult {
	start := time.Now()
	t0 := start.Add(spec.warmup)
	t1 := t0.Add(spec.dur)
	type workerOut struct {
		ok, limited, errors int
		firstError          string
		lat                 []time.Duration
	}
	outs := make([]workerOut, spec.clients)
	var wg sync.WaitGroup
	for w := range spec.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &outs[w]
			o.lat = make([]time.Duration, 0, 1<<14)
			var buf bytes.Buffer
			for seq := 0; ctx.Err() == nil; seq++ {
				begin := time.Now()
				if !begin.Before(t1) {
					return
				}
				res, status, err := doOne(ctx, client, spec, w, seq, &buf)
				end := time.Now()
				if begin.Before(t0) || end.After(t1) {
					continue // warm-up, or straddling the end of the window
				}
				if err != nil {
					res = errResp
					if o.firstError == "" {
						o.firstError = err.Error()
					}
				} else if res == errResp && o.firstError == "" {
					o.firstError = fmt.Sprintf("status %d: %.200s", status, buf.Bytes())
				}
				switch res {
				case okResp:
					o.ok++
				case limitedResp:
					o.limited++
				default:
					o.errors++
				}
				o.lat = append(o.lat, end.Sub(begin))
			}
		}()
	}
	wg.Wait()
	r := loadResult{dur: spec.dur}
	for _, o := range outs {
		r.ok += o.ok
		r.limited += o.limited
		r.errors += o.errors
		if r.firstError == "" {
			r.firstError = o.firstError
		}
		r.lat = append(r.lat, o.lat...)
	}
	slices.Sort(r.lat)
	return r
}

func doOne(ctx context.Context, client *http.Client, spec loadSpec, w, seq int, buf *bytes.Buffer) (outcome, int, error) {
	req, err := spec.newRequest(w, seq)
	if err != nil {
		return errResp, 0, err
	}
	res, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return errResp, 0, err
	}
	buf.Reset()
	_, err = io.Copy(buf, res.Body)
	res.Body.Close()
	if err != nil {
		return errResp, res.StatusCode, err
	}
	return spec.check(res.StatusCode, buf.Bytes()), res.StatusCode, nil
}
