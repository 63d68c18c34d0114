package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// TestOpsMetrics: after a live run and a 5-input async run whose callbacks
// all fail, /metrics shows them by mode and status, the processed inputs,
// the failed deliveries, the driver calls and callback attempts timed, the
// pool, and this node's leadership, on both
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
			`firstmate_jobs\{queue="deliveries",state="(scheduled|retryable|available)"\} \d+`,
			// The live call and the async inputs went through a driver;
			// the callback's attempts were answered 500.
			`firstmate_driver_calls_total\{family="googlemaps",label="OK"\} [1-9]\d*`,
			`firstmate_driver_call_duration_seconds_count\{family="googlemaps"\} [1-9]\d*`,
			`firstmate_delivery_duration_seconds_count\{kind="callback",outcome="failure"\} [1-9]\d*`} {
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

// TestDeployFilesUseRealMetrics: every firstmate_ metric the Grafana
// dashboard and the alert rules query is one the code declares (a renamed
// metric would leave an empty panel or an alert that never fires): the
// names a node serves once it has data, and the quoted names in the Go
// source that declares metrics (some have no sample until work happens).
func TestDeployFilesUseRealMetrics(t *testing.T) {
	env := apitest.Start(t, "sqlite")
	body := string(env.Must(200, "GET", "/metrics", "", nil).Body)
	declared := map[string]bool{}
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "# TYPE ") {
			declared[strings.Fields(l)[2]] = true
		}
	}
	quoted := regexp.MustCompile(`"(firstmate_[a-z_]+)"`)
	for _, f := range []string{"metrics.go", "../api/middleware.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range quoted.FindAllStringSubmatch(string(src), -1) {
			declared[m[1]] = true
		}
	}
	if !declared["firstmate_runs"] || !declared["firstmate_http_requests_total"] {
		t.Fatalf("the declared names were not found: %v", declared)
	}
	name := regexp.MustCompile(`firstmate_[a-z_]+`)
	for _, f := range []string{"../../deploy/grafana-dashboard.json", "../../deploy/alerts.yml"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".json") && !json.Valid(raw) {
			t.Errorf("%s is not valid JSON", f)
		}
		for _, m := range name.FindAllString(string(raw), -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
			if !declared[base] {
				t.Errorf("%s uses %s, which no node declares", f, m)
			}
		}
	}
}
