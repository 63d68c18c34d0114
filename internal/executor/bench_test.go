package executor_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// BenchmarkExecutorHop compares the sandbox driver called directly with the
// same driver behind the executor protocol, over loopback HTTP, for a
// one-result extract and a ten-result search page: latency (ns/op and p50
// of single calls) and throughput (the parallel runs). The hop's cost is
// the difference. Run with:
//
//	go test ./internal/executor/ -run '^$' -bench ExecutorHop -benchtime 2000x
func BenchmarkExecutorHop(b *testing.B) {
	e := newEnv(b)
	direct := executor.NewHTTPClient() // the same transport settings as the hop
	cred := cookie("sim_managed_1")
	calls := map[string]platform.Call{
		"extract": {Action: action(b, "linkedin-extract-people"), Params: map[string]any{}, Page: 1,
			Input: map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/jane-doe/"}},
		"search": {Action: action(b, "linkedin-search-people"), Params: map[string]any{}, Page: 1,
			Input: map[string]any{"linkedin_people_search_url": "https://www.linkedin.com/search/results/people/?keywords=designer"}},
	}
	runners := map[string]func(ctx context.Context, call platform.Call) (platform.Page, error){
		"direct": func(ctx context.Context, call platform.Call) (platform.Page, error) {
			return e.direct.Run(ctx, direct, cred, call)
		},
		"executor": func(ctx context.Context, call platform.Call) (platform.Page, error) {
			return e.c.Run(ctx, nil, cred, call)
		},
	}
	ctx := context.Background()
	// client-only: an executor that answers a recorded page at once, so
	// that the figure is the Firstmate side of the hop alone (encode, sign,
	// loopback HTTP, decode, shape check).
	for kind, call := range calls {
		pg, err := e.direct.Run(ctx, direct, cred, call)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(executor.RunResponse{Results: pg.Results, NextPageToken: pg.NextToken, HasMore: pg.More})
		canned := newServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}))
		c, err := executor.New(canned, e.secret, nil, 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		runners[kind+"-client-only"] = func(ctx context.Context, call platform.Call) (platform.Page, error) {
			return c.Run(ctx, nil, cred, call)
		}
	}
	for _, kind := range []string{"extract", "search"} {
		for _, via := range []string{"direct", "executor", kind + "-client-only"} {
			call, do := calls[kind], runners[via]
			if strings.HasSuffix(via, "client-only") {
				via = "client-only"
			}
			if _, err := do(ctx, call); err != nil { // warm the connections
				b.Fatal(err)
			}
			b.Run(kind+"/"+via, func(b *testing.B) {
				b.ReportAllocs()
				took := make([]time.Duration, 0, b.N)
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					if _, err := do(ctx, call); err != nil {
						b.Fatal(err)
					}
					took = append(took, time.Since(t0))
				}
				slices.Sort(took)
				b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
			})
			b.Run(kind+"/"+via+"/parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := do(ctx, call); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
