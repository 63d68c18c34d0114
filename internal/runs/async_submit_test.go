package runs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// post sends a raw body with an optional Idempotency-Key.
func post(t *testing.T, e *asyncEnv, path, key, idem string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.URL+path, bytes.NewReader(body))
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Content-Type", "application/json")
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", path, err)
		return 0, nil
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	return res.StatusCode, m
}

// TestAsyncIdempotencyKey: a retried submission with the same
// Idempotency-Key returns the first run, sequentially and when the retries
// race each other; another workspace's identical key is its own.
func TestAsyncIdempotencyKey(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{})
		rc := newReceiver(t)
		body, _ := json.Marshal(map[string]any{"inputs": placeInputs(60, "idem"), "callback": map[string]any{"url": rc.URL, "on": "final"}})
		const path = "/v4/actions/googlemaps-extract-place/run/async"

		code, first := post(t, e, path, e.Key, "retry-me", body)
		code2, second := post(t, e, path, e.Key, "retry-me", body)
		if code != 200 || code2 != 200 || first["run_uid"] == nil || second["run_uid"] != first["run_uid"] || second["run_id"] != first["run_id"] {
			t.Fatalf("same key twice: %d %v / %d %v", code, first, code2, second)
		}

		// Eight concurrent submissions with one key make one run.
		const racers = 8
		uids := make([]any, racers)
		var wg sync.WaitGroup
		for i := 0; i < racers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				c, r := post(t, e, path, e.Key, "raced-key", body)
				if c != 200 {
					t.Errorf("racer %d: %d %v", i, c, r)
				}
				uids[i] = r["run_uid"]
			}(i)
		}
		wg.Wait()
		for i := range uids {
			if uids[i] == nil || uids[i] != uids[0] {
				t.Fatalf("concurrent submissions with one key got runs %v", uids)
			}
		}
		if got := e.count(`SELECT COUNT(*) FROM runs WHERE idempotency_key = 'raced-key'`); got != 1 {
			t.Errorf("%d runs for one key", got)
		}
		if got := e.count(`SELECT COUNT(*) FROM run_inputs i JOIN runs r ON r.id = i.run_id WHERE r.uid = $1`, uids[0]); got != 60 {
			t.Errorf("%d inputs stored for the raced run, want 60", got)
		}
		if got := e.Must(200, "GET", "/v4/runs?limit=100", e.Key, nil).Arr(); len(got) != 2 {
			t.Errorf("%d runs in the workspace, want 2", len(got))
		}
		// Without a key, each submission is a run; another workspace's
		// identical key is independent.
		_, a := post(t, e, path, e.Key, "", body)
		_, b := post(t, e, path, e.Key, "", body)
		other := e.workspace("Other idempotency", "async_test")
		_, c := post(t, e, path, other, "retry-me", body)
		if a["run_uid"] == b["run_uid"] || c["run_uid"] == first["run_uid"] || c["run_uid"] == nil {
			t.Errorf("keyless or foreign-key submissions reused a run: %v %v %v", a["run_uid"], b["run_uid"], c["run_uid"])
		}
		if code, r := post(t, e, path, e.Key, strings.Repeat("k", 256), body); code != 400 {
			t.Errorf("a 256-character key: %d %v", code, r)
		}
		for _, uid := range []any{first["run_uid"], uids[0]} {
			r := e.waitStatus(e.Key, uid.(string), 2*time.Minute, "SUCCEEDED")
			if r["output_count"] != float64(60) {
				t.Errorf("run %v: %v", uid, r)
			}
		}
	})
}

// TestAsyncSubmissionValidation: 100,001 inputs and a bad input deep in the
// list are refused with 400 naming the input; nothing is stored.
func TestAsyncSubmissionValidation(t *testing.T) {
	t.Parallel()
	e := startAsync(t, "sqlite", asyncOpts{})
	const path = "/v4/actions/linkedin-extract-people/run/async"
	id := e.identity(e.Key, "Validation identity", "sim_classic")
	cb := map[string]any{"url": "http://127.0.0.1:9/cb", "on": "all"}

	// 100,001 inputs: built as raw JSON to keep the test light.
	var sb strings.Builder
	sb.WriteString(`{"identity_ids":["` + id + `"],"callback":{"url":"http://127.0.0.1:9/cb"},"inputs":[`)
	for i := 0; i <= 100_000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"linkedin_profile_url":"https://www.linkedin.com/in/p%d"}`, i)
	}
	sb.WriteString(`]}`)
	code, r := post(t, e, path, e.Key, "", []byte(sb.String()))
	if msg, _ := r["message"].(string); code != 400 || r["error_label"] != "BAD_INPUT" || !strings.Contains(msg, "body/inputs") ||
		!strings.Contains(msg, "100000") {
		t.Errorf("100,001 inputs: %d %v", code, r)
	}

	inputs := profileInputs(30, "valid")
	inputs[17] = map[string]any{"linkedin_profile_url": "not a url"}
	r2 := e.Do("POST", path, e.Key, map[string]any{"inputs": inputs, "identity_ids": []string{id}, "callback": cb})
	if msg, _ := r2.Obj()["message"].(string); r2.Status != 400 || r2.Label() != "BAD_INPUT" || !strings.Contains(msg, "body/inputs/17") {
		t.Errorf("a bad input at index 17: %d %s", r2.Status, r2.Body)
	}
	inputs[17] = map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/x", "unknown_field": 1}
	r3 := e.Do("POST", path, e.Key, map[string]any{"inputs": inputs, "identity_ids": []string{id}, "callback": cb})
	if msg, _ := r3.Obj()["message"].(string); r3.Status != 400 || !strings.Contains(msg, "body/inputs/17") {
		t.Errorf("an unknown field at index 17: %d %s", r3.Status, r3.Body)
	}
	for what, body := range map[string]any{
		"no inputs":       map[string]any{"inputs": []any{}, "identity_ids": []string{id}, "callback": cb},
		"inputs a string": map[string]any{"inputs": "x", "identity_ids": []string{id}, "callback": cb},
		"bad callback.on": map[string]any{"inputs": profileInputs(1, "x"), "identity_ids": []string{id}, "callback": map[string]any{"url": "http://127.0.0.1:9/", "on": "sometimes"}},
	} {
		if r := e.Do("POST", path, e.Key, body); r.Status != 400 {
			t.Errorf("%s: %d %s", what, r.Status, r.Body)
		}
	}
	if r := e.Do("POST", path, e.Key, map[string]any{"inputs": profileInputs(1, "x"), "identity_ids": []string{"00000000-0000-0000-0000-000000000000"}, "callback": cb}); r.Status != 404 {
		t.Errorf("an unknown identity: %d %s", r.Status, r.Body)
	}
	if got := e.count(`SELECT COUNT(*) FROM runs`); got != 0 {
		t.Errorf("refused submissions stored %d runs", got)
	}
	if got := e.count(`SELECT COUNT(*) FROM run_inputs`); got != 0 {
		t.Errorf("refused submissions stored %d inputs", got)
	}
}

// TestAsyncInputsDurable: once the submission answered 200, the run and all
// its inputs are stored: the server is stopped at once (River never works
// them) and the database, reopened, holds every input with its custom_data.
func TestAsyncInputsDurable(t *testing.T) {
	t.Parallel()
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		const n = 1000
		sub := e.submit(e.Key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(n, "durable"),
			"callback": map[string]any{"url": "http://127.0.0.1:9/cb", "on": "all"}})
		uid := sub["run_uid"].(string)
		e.Server.Close()
		e.App.Close()

		ctx := context.Background()
		db, err := store.Open(ctx, e.Store.DatabaseURL, e.Store.DataDir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var runID int64
		var inputCount int
		var status string
		if err := db.Handles().R.QueryRowContext(ctx, `SELECT id, input_count, status FROM runs WHERE uid = $1`, uid).Scan(&runID, &inputCount, &status); err != nil {
			t.Fatalf("the run after a stop: %v", err)
		}
		if inputCount != n || (status != "RUNNING" && status != "QUEUED") {
			t.Errorf("run after a stop: %d inputs, %s", inputCount, status)
		}
		var rows, distinct, withData, pending int
		if err := db.Handles().R.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT idx), COUNT(custom_data), SUM(CASE WHEN status = 'PENDING' THEN 1 ELSE 0 END)
			FROM run_inputs WHERE run_id = $1`, runID).Scan(&rows, &distinct, &withData, &pending); err != nil {
			t.Fatal(err)
		}
		if rows != n || distinct != n || withData != n || pending != n {
			t.Errorf("stored inputs: %d rows, %d distinct idx, %d with custom_data, %d pending; want %d", rows, distinct, withData, pending, n)
		}
		var cd string
		if err := db.Handles().R.QueryRowContext(ctx, `SELECT custom_data FROM run_inputs WHERE run_id = $1 AND idx = 789`, runID).Scan(&cd); err != nil ||
			!strings.Contains(cd, `"idx":789`) {
			t.Errorf("custom_data of input 789: %q %v", cd, err)
		}
		// And a restart works them all.
		env := startAsyncOn(t, e.Store, asyncOpts{})
		env.waitStatus(e.Key, uid, 2*time.Minute, "SUCCEEDED")
		if got := env.run(e.Key, uid)["output_count"]; got != float64(n) {
			t.Errorf("after a restart: output_count %v", got)
		}
	})
}
