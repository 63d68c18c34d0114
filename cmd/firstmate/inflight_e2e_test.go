package main

// End-to-end test of a kill -9 with thousands of upstream calls in flight
// (issue 20): the built binary works a 10,000-input run against a simulator
// of this test answering in 500 ms, is killed with SIGKILL while at least
// 1,000 calls are open, restarts on the same data, and finishes the run with
// every input recorded once and charged once.

import (
	"context"
	"fmt"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/sim"
	"github.com/firstmate-oss/firstmate/internal/store"
)

func TestE2EKillWithCallsInFlight(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		const (
			n   = 10_000
			key = "fm_inflightkilltestbootstrapkey2345"
		)
		s, err := sim.New(sim.Config{Latency: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		up := httptest.NewServer(s.Handler())
		defer func() { up.Close(); s.Close() }()

		st := apitest.NewStore(t, dialect)
		args := []string{"--addr", "127.0.0.1:0", "--data-dir", st.DataDir}
		if st.DatabaseURL != "" {
			args = append(args, "--database-url", st.DatabaseURL)
		}
		env := []string{"FIRSTMATE_BOOTSTRAP_API_KEY=" + key, "FIRSTMATE_JOB_RESCUE_AFTER=30s", "FIRSTMATE_SIM_URL=" + up.URL,
			"FIRSTMATE_LOG_LEVEL=warn", "FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true"}
		srv := startServer(t, args, env...)

		inputs := make([]map[string]any, n)
		for i := range inputs {
			inputs[i] = map[string]any{"google_maps_place_url": fmt.Sprintf("https://www.google.com/maps/place/kill-%d", i)}
		}
		var sub map[string]any
		if code := callJSON(t, "POST", srv.base+"/v4/actions/googlemaps-extract-place/run/async", key, map[string]any{
			"inputs": inputs, "callback": map[string]any{"url": "http://127.0.0.1:9/cb", "on": "final"}}, &sub); code != 200 {
			t.Fatalf("submit: %d %v", code, sub)
		}
		uid := sub["run_uid"].(string)
		for end := time.Now().Add(60 * time.Second); s.Open("anonymous") < 1000; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("never 1,000 calls in flight (%d)", s.Open("anonymous"))
			}
		}
		open := s.Open("anonymous")
		if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-srv.exited
		var atKill map[string]any
		srv2 := startServer(t, args, env...)
		callJSON(t, "GET", srv2.base+"/v4/runs/"+uid, key, nil, &atKill)
		t.Logf("%s: killed with %d calls in flight, %v outputs recorded", dialect, open, atKill["output_count"])
		if atKill["status"] != "RUNNING" {
			t.Fatalf("the kill came too late: %v", atKill)
		}
		var final map[string]any
		for end := time.Now().Add(3 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
			callJSON(t, "GET", srv2.base+"/v4/runs/"+uid, key, nil, &final)
			if final["status"] != "RUNNING" {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("not finished 3 minutes after the restart: %v", final)
			}
		}
		if final["status"] != "SUCCEEDED" || final["output_count"] != float64(n) {
			t.Fatalf("run: %v", final)
		}
		var ws map[string]any
		callJSON(t, "GET", srv2.base+"/v4/workspaces", key, nil, &ws)
		if ws["credits_used"] != float64(n) {
			t.Errorf("credits_used %v, want %d (one per input)", ws["credits_used"], n)
		}
		if err := srv2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-srv2.exited:
		case <-time.After(deadline):
			t.Fatal("the server did not exit after SIGTERM")
		}
		db, err := store.Open(context.Background(), st.DatabaseURL, st.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var outs, distinct int
		if err := db.Handles().R.QueryRowContext(context.Background(), `SELECT COUNT(*), COUNT(DISTINCT o.input_idx) FROM run_outputs o
			JOIN runs r ON r.id = o.run_id WHERE r.uid = $1`, uid).Scan(&outs, &distinct); err != nil {
			t.Fatal(err)
		}
		var charged int64
		if err := db.Handles().R.QueryRowContext(context.Background(), `SELECT COALESCE(SUM(c.results), 0) FROM credit_charges c
			JOIN runs r ON r.uid = c.run_uid WHERE r.uid = $1`, uid).Scan(&charged); err != nil {
			t.Logf("charges by run: %v", err)
		} else if charged != n {
			t.Errorf("%d results charged, want %d", charged, n)
		}
		if outs != n || distinct != n {
			t.Errorf("%d outputs of %d distinct inputs, want %d of %d", outs, distinct, n, n)
		}
	})
}
