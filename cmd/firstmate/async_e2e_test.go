package main

// End-to-end test of an async run through a crash: the built binary works a
// 10,000-input run with callbacks, is killed with SIGKILL mid-run, restarts
// on the same data, and finishes the run with every input processed,
// charged and called back as if nothing had happened: the callbacks sent
// twice (those whose answer the crash lost) stay under 0.5 %, and the final
// callback still comes after every batch callback.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// e2eCallback is what the receiver keeps of one callback request.
type e2eCallback struct {
	ref, webhookID, batch, status, url string
	idx                                int // -1 for the final callback
	tag                                string
	results                            int
	at, answered                       time.Time
}

// e2eReceiver verifies and records every callback.
type e2eReceiver struct {
	mu     sync.Mutex
	secret string
	got    []e2eCallback
	bad    []string // signature or payload problems
}

func (r *e2eReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		// A request torn by the SIGKILL: no callback was delivered, and
		// the sender, restarted, tries again.
		w.WriteHeader(400)
		return
	}
	var body struct {
		Ref string `json:"callback_ref_uid"`
		Run struct {
			RunUID   string `json:"run_uid"`
			BatchUID string `json:"batch_uid"`
			Status   string `json:"status"`
		} `json:"run"`
		Input      map[string]any `json:"input"`
		CustomData *struct {
			Idx int    `json:"idx"`
			Tag string `json:"tag"`
		} `json:"custom_data"`
		ResultsCount int              `json:"results_count"`
		Results      []map[string]any `json:"results"`
		Error        any              `json:"error"`
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := send.Verify(r.secret, req.Header, raw, 5*time.Minute); err != nil {
		r.bad = append(r.bad, fmt.Sprintf("signature: %v", err))
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		r.bad = append(r.bad, fmt.Sprintf("body %q: %v", raw, err))
		w.WriteHeader(200)
		return
	}
	c := e2eCallback{ref: body.Ref, webhookID: req.Header.Get("webhook-id"), batch: body.Run.BatchUID,
		status: body.Run.Status, idx: -1, results: body.ResultsCount, at: time.Now()}
	if body.CustomData != nil {
		c.idx, c.tag = body.CustomData.Idx, body.CustomData.Tag
	}
	if u, ok := body.Input["linkedin_profile_url"].(string); ok {
		c.url = u
	}
	// results_count is the number of results in this callback (none in the
	// final one), so that adding it up counts each result once.
	if body.ResultsCount != len(body.Results) || body.Error != nil {
		r.bad = append(r.bad, fmt.Sprintf("payload: results_count %d with %d results, error %v", body.ResultsCount,
			len(body.Results), body.Error))
	}
	c.answered = time.Now() // the answer leaves after this
	r.got = append(r.got, c)
	w.WriteHeader(200)
}

func (r *e2eReceiver) snapshot() ([]e2eCallback, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]e2eCallback(nil), r.got...), append([]string(nil), r.bad...)
}

// callJSON is call for any JSON body (outputs are an array).
func callJSON(t *testing.T, method, u, key string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", key)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil && res.StatusCode == 200 {
			t.Fatalf("%s %s: %v: %s", method, u, err, data)
		}
	}
	if res.StatusCode != 200 {
		t.Logf("%s %s: %d %s", method, u, res.StatusCode, data)
	}
	return res.StatusCode
}

// TestE2EAsyncCrash runs 10,000 inputs, kills the server with SIGKILL
// mid-run, restarts it, and checks that every input was processed exactly
// once, charged exactly once and called back (at least once, with a stable
// callback_ref_uid and a valid signature; fewer than 0.5 % twice), that
// custom_data round-trips and that the final callback carries the terminal
// status after every batch callback. SQLite always; PostgreSQL too, at the
// same time, when FIRSTMATE_E2E_ASYNC_POSTGRES=1 (CI sets it).
func TestE2EAsyncCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10,000-input run through a crash: skipped in -short mode")
	}
	dialects := []string{"sqlite"}
	if os.Getenv("FIRSTMATE_E2E_ASYNC_POSTGRES") == "1" {
		if err := apitest.PostgresAvailable(); err != nil {
			t.Fatalf("FIRSTMATE_E2E_ASYNC_POSTGRES=1 but PostgreSQL is unreachable: %v", err)
		}
		dialects = append(dialects, "postgres")
	}
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			// Most of the test waits for the rescue of the killed server's
			// jobs: the databases wait together.
			t.Parallel()
			asyncCrash(t, d)
		})
	}
}

func asyncCrash(t *testing.T, dialect string) {
	const (
		n   = 10_000
		key = "fm_asynccrashtestbootstrapkey234567"
		tag = "e2e"
	)
	began := time.Now()
	st := apitest.NewStore(t, dialect)
	args := []string{"--addr", "127.0.0.1:0", "--data-dir", st.DataDir}
	if st.DatabaseURL != "" {
		args = append(args, "--database-url", st.DatabaseURL)
	}
	env := []string{"FIRSTMATE_BOOTSTRAP_API_KEY=" + key, "FIRSTMATE_JOB_RESCUE_AFTER=30s", "FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true",
		"FIRSTMATE_CALLBACK_RETRY_SCHEDULE=0s,1s,2s,3s,5s,5s,5s,5s", "FIRSTMATE_LOG_LEVEL=warn"}
	srv := startServer(t, args, env...)

	rc := &e2eReceiver{}
	var settings map[string]any
	if code := callJSON(t, "GET", srv.base+"/v4/workspaces/settings", key, nil, &settings); code != 200 {
		t.Fatalf("settings: %d", code)
	}
	rc.secret, _ = settings["callback_signing_secret"].(string)
	recv := httptest.NewServer(rc)
	defer recv.Close()

	// Four sandbox identities (accounts without hidden platform thresholds),
	// their Smart Limits raised for the volume: LinkedIn calls run one at a
	// time per account, so four accounts work four inputs at once.
	var ids []string
	for i := 1; i <= 4; i++ {
		var id map[string]any
		if code := callJSON(t, "POST", srv.base+"/v4/identities", key, map[string]any{"name": fmt.Sprintf("Crash identity %d", i)}, &id); code != 200 {
			t.Fatalf("identity: %d", code)
		}
		uid := id["uid"].(string)
		var g map[string]any
		callJSON(t, "POST", srv.base+"/v4/identities/"+uid+"/integrations/linkedin", key,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": fmt.Sprintf("sim_managed_%d", i)}}}, &g)
		if g["status"] != "VALID" {
			t.Fatalf("connect sim_managed_%d: %v", i, g)
		}
		if code := callJSON(t, "PUT", srv.base+"/v4/identities/"+uid+"/limits", key,
			map[string]any{"profile_visits": 100_000, "profile_enrichments": 100_000}, nil); code != 200 {
			t.Fatalf("limits: %d", code)
		}
		ids = append(ids, uid)
	}

	inputs := make([]map[string]any, n)
	for i := range inputs {
		inputs[i] = map[string]any{"linkedin_profile_url": fmt.Sprintf("https://www.linkedin.com/in/crash-%d", i),
			"custom_data": map[string]any{"idx": i, "tag": tag}}
	}
	var sub map[string]any
	if code := callJSON(t, "POST", srv.base+"/v4/actions/linkedin-extract-people/run/async", key, map[string]any{
		"inputs": inputs, "identity_ids": ids, "identity_mode": "auto",
		"callback": map[string]any{"url": recv.URL + "/hook", "on": "all"}}, &sub); code != 200 {
		t.Fatalf("submit: %d %v", code, sub)
	}
	uid := sub["run_uid"].(string)
	t.Logf("submitted %d inputs in %s", n, time.Since(began).Round(time.Millisecond))

	// Kill -9 once some outputs exist, well before the end.
	runOf := func(base string) map[string]any {
		var r map[string]any
		callJSON(t, "GET", base+"/v4/runs/"+uid, key, nil, &r)
		return r
	}
	var atKill float64
	for end := time.Now().Add(5 * time.Minute); ; {
		r := runOf(srv.base)
		if oc, _ := r["output_count"].(float64); oc >= 1500 {
			if r["status"] != "RUNNING" || oc >= n {
				t.Fatalf("the run got too far before the kill: %v", r)
			}
			atKill = oc
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no outputs after 5 minutes: %v", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.exited
	killedAt := time.Now()
	t.Logf("killed with SIGKILL at %v outputs, %s after the start", atKill, killedAt.Sub(began).Round(time.Millisecond))

	srv2 := startServer(t, args, env...)
	first := runOf(srv2.base)
	if first["status"] != "RUNNING" || first["output_count"].(float64) >= n {
		t.Fatalf("after the restart the run was already done: the kill came too late: %v", first)
	}
	var final map[string]any
	for end := time.Now().Add(8 * time.Minute); ; {
		final = runOf(srv2.base)
		if s, _ := final["status"].(string); s != "RUNNING" && s != "QUEUED" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the run did not finish within 8 minutes of the restart: %v", final)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("run %v %s after the restart (%s in all)", final["status"], time.Since(killedAt).Round(time.Millisecond),
		time.Since(began).Round(time.Millisecond))
	if final["status"] != "SUCCEEDED" || final["output_count"] != float64(n) || final["input_count"] != float64(n) || final["last_error"] != nil {
		t.Fatalf("finished run: %v", final)
	}

	// Outputs through the API: every page, exactly n results.
	phase := time.Now()
	total := 0
	for off := 0; ; off += 100 {
		var page []json.RawMessage
		if code := callJSON(t, "GET", fmt.Sprintf("%s/v4/runs/%s/outputs?limit=100&offset=%d", srv2.base, uid, off), key, nil, &page); code != 200 {
			t.Fatalf("outputs at %d: %d", off, code)
		}
		total += len(page)
		if len(page) < 100 {
			break
		}
	}
	if total != n {
		t.Errorf("GET outputs returned %d results, want %d", total, n)
	}
	var ws map[string]any
	callJSON(t, "GET", srv2.base+"/v4/workspaces", key, nil, &ws)
	if ws["credits_used"] != float64(n) { // credit_ratio 1 x one result per input
		t.Errorf("credits_used %v, want %d", ws["credits_used"], n)
	}

	t.Logf("outputs and credits checked in %s", time.Since(phase).Round(time.Millisecond))
	// Every callback arrives: one per input (duplicates allowed) and the final one.
	ended := time.Now()
	var got []e2eCallback
	var bad []string
	for end := time.Now().Add(3 * time.Minute); ; {
		got, bad = rc.snapshot()
		seen := map[int]bool{}
		for _, c := range got {
			seen[c.idx] = true
		}
		if len(seen) == n+1 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("callbacks: %d distinct inputs and final seen, want %d", len(seen), n+1)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("every callback arrived %s after the run ended", time.Since(ended).Round(time.Millisecond))
	for i, b := range bad {
		if i == 10 {
			t.Errorf("... %d problems in all", len(bad))
			break
		}
		t.Errorf("receiver: %s", b)
	}
	refOf, batchOf := map[int]string{}, map[int]string{}
	refs := map[string]int{}
	batches := map[string]bool{}
	dups, finals := 0, 0
	var finalCB e2eCallback
	var lastAnswer time.Time // of a batch callback's first delivery
	firstAt := map[int]time.Time{}
	var dupAges []time.Duration
	for _, c := range got {
		if c.webhookID != c.ref || c.ref == "" {
			t.Errorf("webhook-id %q vs callback_ref_uid %q", c.webhookID, c.ref)
		}
		if _, err := uuid.Parse(c.batch); err != nil {
			t.Errorf("callback %s: batch_uid %q", c.ref, c.batch)
		}
		if c.idx < 0 {
			finals++
			finalCB = c
			if c.status != "SUCCEEDED" || c.results != 0 {
				t.Errorf("final callback: status %s results_count %d", c.status, c.results)
			}
		} else {
			if _, seen := refOf[c.idx]; !seen && c.answered.After(lastAnswer) {
				lastAnswer = c.answered
			}
			batches[c.batch] = true
			if c.tag != tag || c.url != fmt.Sprintf("https://www.linkedin.com/in/crash-%d", c.idx) || c.status != "RUNNING" || c.results != 1 {
				t.Errorf("callback of input %d: %+v", c.idx, c)
			}
		}
		if r, ok := refOf[c.idx]; ok {
			dups++
			// How long before the kill it was first sent (the kill is
			// timed after the process exited, some ms after the signal).
			dupAges = append(dupAges, killedAt.Sub(firstAt[c.idx]).Round(time.Millisecond))
			if r != c.ref || batchOf[c.idx] != c.batch {
				t.Errorf("input %d called back with ref %s/batch %s, then %s/%s", c.idx, r, batchOf[c.idx], c.ref, c.batch)
			}
		}
		if _, ok := refOf[c.idx]; !ok {
			firstAt[c.idx] = c.at
		}
		refOf[c.idx], batchOf[c.idx] = c.ref, c.batch
		refs[c.ref]++
	}
	if len(refs) != n+1 {
		t.Errorf("%d distinct callback_ref_uids, want %d", len(refs), n+1)
	}
	if len(batches) != n || batches[finalCB.batch] {
		t.Errorf("%d distinct batch_uids in the batch callbacks, want %d, none of them the final one's (%s)", len(batches), n, finalCB.batch)
	}
	// The final callback comes after every batch callback was answered, the
	// crash notwithstanding.
	if !finalCB.at.After(lastAnswer) {
		t.Errorf("the final callback arrived at %s, before the last batch callback was answered (%s)",
			finalCB.at.Format(time.RFC3339Nano), lastAnswer.Format(time.RFC3339Nano))
	}
	// At least once, but a callback is sent twice only when the crash lost
	// the answer to it: under 0.5 % of them.
	slices.Sort(dupAges)
	t.Logf("%d callbacks received: %d duplicate deliveries (first sent before the kill by %v), %d final", len(got), dups,
		dupAges, finals)
	if dups*1000 >= 5*(n+1) {
		t.Errorf("%d callbacks were delivered twice (%.2f %%), want under 0.5 %%", dups, float64(dups)*100/float64(n+1))
	}

	// Then the database itself, after a clean stop.
	stopping := time.Now()
	if err := srv2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv2.exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("the server did not exit after SIGTERM")
	}
	t.Logf("stopped in %s", time.Since(stopping).Round(time.Millisecond))
	stopped := time.Now()
	ctx := context.Background()
	db, err := store.Open(ctx, st.DatabaseURL, st.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	one := func(q string, args ...any) int64 {
		t.Helper()
		var v int64
		if err := db.Handles().R.QueryRowContext(ctx, q, args...).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v
	}
	runID := one(`SELECT id FROM runs WHERE uid = $1`, uid)
	for what, c := range map[string]struct {
		q    string
		want int64
	}{
		"outputs":                      {`SELECT COUNT(*) FROM run_outputs WHERE run_id = $1`, n},
		"inputs with an output":        {`SELECT COUNT(DISTINCT input_idx) FROM run_outputs WHERE run_id = $1`, n},
		"outputs of the busiest input": {`SELECT COALESCE(MAX(c), 0) FROM (SELECT COUNT(*) AS c FROM run_outputs WHERE run_id = $1 GROUP BY input_idx) x`, 1},
		"inputs DONE":                  {`SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND status = 'DONE'`, n},
		"original deliveries":          {`SELECT COUNT(*) FROM deliveries WHERE run_id = $1 AND parent_uid = ''`, n + 1},
		"delivered":                    {`SELECT COUNT(*) FROM deliveries WHERE run_id = $1 AND status = 'SUCCESS'`, n + 1},
	} {
		if got := one(c.q, runID); got != c.want {
			t.Errorf("%s: %d, want %d", what, got, c.want)
		}
	}
	for what, c := range map[string]struct {
		q    string
		want int64
	}{
		// One charge per chunk pass, each result in exactly one of them.
		"results charged":      {`SELECT COALESCE(SUM(results), 0) FROM credit_charges WHERE run_uid = $1`, n},
		"millicredits charged": {`SELECT COALESCE(SUM(amount), 0) FROM credit_charges WHERE run_uid = $1`, n * 1000},
	} {
		if got := one(c.q, uid); got != c.want {
			t.Errorf("%s: %d, want %d", what, got, c.want)
		}
	}
	if got := one(`SELECT credits_used FROM runs WHERE id = $1`, runID); got != n*1000 {
		t.Errorf("the run records %d millicredits, want %d", got, n*1000)
	}
	t.Logf("database checked in %s", time.Since(stopped).Round(time.Millisecond))
	t.Logf("%s: %d inputs through a SIGKILL in %s", dialect, n, time.Since(began).Round(time.Second))
}
