package app_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// TestOpsMetrics: after a live run and a 5-input async run whose callbacks
// all fail, /metrics shows them by mode and status, the processed inputs,
// the failed deliveries, the pool, and this node's leadership, on both
// databases. Expected values are what the test itself did.
func TestOpsMetrics(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := apitest.StartWithLoopbackCallbacks(t, dialect)
		key := env.NewWorkspace("Metrics", "unlimited")
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
		defer recv.Close()
		env.Must(200, "POST", "/v4/actions/googlemaps-search-places/run/live", key,
			map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/pizza"}})
		inputs := make([]any, 5)
		for i := range inputs {
			inputs[i] = map[string]any{"google_maps_search_url": fmt.Sprintf("https://www.google.com/maps/search/m%d", i)}
		}
		uid := env.Must(200, "POST", "/v4/actions/googlemaps-search-places/run/async", key, map[string]any{
			"inputs": inputs, "callback": map[string]any{"url": recv.URL, "on": "final"}}).Obj()["run_uid"].(string)
		var body string
		for end := time.Now().Add(60 * time.Second); ; {
			r := env.Must(200, "GET", "/v4/runs/"+uid, key, nil).Obj()
			if r["status"] == "SUCCEEDED" {
				time.Sleep(6 * time.Second) // the figures are read at most every 5 s
				body = string(env.Must(200, "GET", "/metrics", "", nil).Body)
				if strings.Contains(body, `firstmate_deliveries{kind="callback",status="FAILED"} 1`) {
					break
				}
			}
			if time.Now().After(end) {
				t.Fatalf("run %v; metrics:\n%s", r["status"], grepLines(body, "firstmate_"))
			}
			time.Sleep(200 * time.Millisecond)
		}
		for _, want := range []string{
			`firstmate_runs{mode="ASYNC",status="SUCCEEDED"} 1`,
			`firstmate_runs{mode="LIVE",status="SUCCEEDED"} 1`,
			`firstmate_async_inputs_processed 5`,
			`firstmate_runs_stuck 0`,
			`firstmate_metrics_query_errors 0`,
			`firstmate_draining 0`,
		} {
			if !strings.Contains(body, want+"\n") {
				t.Errorf("/metrics lacks %q:\n%s", want, grepLines(body, "firstmate_"))
			}
		}
		for _, re := range []string{`firstmate_db_pool_connections\{pool="write",state="in_use"\} \d+`,
			`firstmate_db_pool_max_connections\{pool="write"\} \d+`, `firstmate_leader\{node="[^"]+"\} [01]`,
			`firstmate_jobs\{queue="deliveries",state="(scheduled|retryable|available)"\} \d+`} {
			if !regexp.MustCompile(re).MatchString(body) {
				t.Errorf("/metrics has no line matching %s:\n%s", re, grepLines(body, "firstmate_"))
			}
		}
	})
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) && !strings.HasPrefix(l, "firstmate_http") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
