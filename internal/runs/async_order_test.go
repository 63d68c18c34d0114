package runs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the lock of TestAsyncUnrecordedBound

	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/reftest"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// TestAsyncFinalCallbackLast: a run of 50 inputs with on: all, called back
// to a receiver that answers slowly and out of order (each callback after
// its own delay, some with a 500). The final callback must come only once
// every batch callback's first attempt has finished, failed ones included
// (contract §7, issue 14 item 1): a receiver that closes the run on the
// final callback already has every batch it was sent. The retry after a
// failure is an hour away, so the final one cannot be waiting for it.
//
// Also the final callback's shape (item 3: a batch_uid of its own, also on
// its delivery record, results_count 0) and the first-attempt statuses
// (item 4: SUCCESS with retry_count 0; FAILED with next_attempt_at).
func TestAsyncFinalCallbackLast(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{setup: func(a *app.App) {
			a.Dispatch.Schedule = send.Schedule{0, time.Hour}
		}})
		const n = 50
		failing := func(idx int) bool { return idx%10 == 3 }
		rc := newReceiver(t)
		rc.setSecret(e.secret(e.Key))
		rc.setAnswer(func(c *callback, w http.ResponseWriter) int {
			cd, _ := c.Body["custom_data"].(map[string]any)
			idx, ok := cd["idx"].(float64)
			if !ok {
				return 200 // the final callback
			}
			// 0 to 250 ms, in an order unrelated to the inputs'.
			time.Sleep(time.Duration(int(idx)*37%11) * 25 * time.Millisecond)
			if failing(int(idx)) {
				return 500
			}
			return 200
		})
		sub := e.submit(e.Key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(n, "order"),
			"callback": map[string]any{"url": rc.URL + "/order", "on": "all"}})
		uid := sub["run_uid"].(string)

		got := rc.waitFor(t, time.Minute, "the final callback", func(c []callback) bool { return len(finalOf(c, uid)) > 0 })
		var final callback
		firsts := map[int]callback{}
		for _, c := range got {
			if c.SigErr != nil {
				t.Errorf("callback %s: %v", c.ID, c.SigErr)
			}
			if isFinal(c, uid) {
				final = c
				continue
			}
			idx := int(c.Body["custom_data"].(map[string]any)["idx"].(float64))
			if _, ok := firsts[idx]; ok {
				t.Errorf("input %d called back twice before the final callback", idx)
				continue
			}
			firsts[idx] = c
		}
		if len(firsts) != n {
			t.Fatalf("the final callback came after %d batch callbacks, want all %d", len(firsts), n)
		}
		for idx, c := range firsts {
			if !final.At.After(c.Done) {
				t.Errorf("the final callback arrived %s before input %d's callback was answered (%d)",
					c.Done.Sub(final.At), idx, c.Answer)
			}
		}
		if last := got[len(got)-1]; !isFinal(last, uid) {
			t.Errorf("the last callback received is not the final one: %s", last.Raw)
		}
		// Nothing comes after it: the failed batches retry an hour later.
		time.Sleep(300 * time.Millisecond)
		if all := rc.all(); len(all) != n+1 {
			t.Errorf("%d callbacks received, want %d", len(all), n+1)
		}

		// The final callback: terminal status, its own batch_uid, no results.
		run, _ := final.Body["run"].(map[string]any)
		finalBatch, _ := run["batch_uid"].(string)
		if run["status"] != "SUCCEEDED" || !isUUID(finalBatch) || final.Body["results_count"] != float64(0) ||
			len(final.Body["results"].([]any)) != 0 || final.Body["error"] != nil {
			t.Errorf("final callback: %s", final.Raw)
		}
		bodyBatch := map[string]string{} // callback_ref_uid -> batch_uid in the body
		for _, c := range firsts {
			b, _ := c.Body["run"].(map[string]any)["batch_uid"].(string)
			if !isUUID(b) || b == finalBatch || c.Body["results_count"] != float64(1) {
				t.Errorf("batch callback: %s", c.Raw)
			}
			bodyBatch[c.ID] = b
		}
		bodyBatch[final.ID] = finalBatch

		// The delivery records, as a polling client sees them now.
		ds := e.callbacks(e.Key, uid, "")
		if len(ds) != n+1 {
			t.Fatalf("%d deliveries, want %d", len(ds), n+1)
		}
		soon := time.Now().Add(50 * time.Minute)
		for _, d := range ds {
			ref, _ := d["callback_ref_uid"].(string)
			if d["batch_uid"] != bodyBatch[ref] {
				t.Errorf("delivery %v: batch_uid %v, its callback said %s", d["uid"], d["batch_uid"], bodyBatch[ref])
			}
			if d["retry_count"] != float64(0) {
				t.Errorf("delivery after one attempt: retry_count %v: %v", d["retry_count"], d)
			}
			failed := false
			for idx, c := range firsts {
				if c.ID == ref && failing(idx) {
					failed = true
				}
			}
			if failed {
				next, _ := time.Parse(time.RFC3339Nano, str(d["next_attempt_at"]))
				if d["status"] != "FAILED" || d["http_status"] != float64(500) || next.Before(soon) {
					t.Errorf("a delivery answered 500, retried in an hour: %v", d)
				}
			} else if d["status"] != "SUCCESS" || d["http_status"] != float64(200) || d["next_attempt_at"] != nil {
				t.Errorf("a delivery answered 200: %v", d)
			}
		}
	})
}

// TestAsyncDeliveryLifecycle follows one delivery as a client polling
// GET /runs/callbacks/{uid} sees it (item 4): PENDING while its first
// attempt is under way; FAILED with next_attempt_at once that attempt
// failed (retry_count 0: no retry yet); FAILED while the retry is under
// way; SUCCESS with retry_count 1 once it succeeded. Then a replay of a
// delivery whose next attempt is an hour away: the child takes over, the
// parent's retries stop (FAILED, no next attempt, last_error says why).
func TestAsyncDeliveryLifecycle(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{})
		gate := make(chan struct{})
		rc := newReceiver(t)
		rc.setAnswer(func(c *callback, w http.ResponseWriter) int {
			switch {
			case c.Path == "/gated" && c.Attempt <= 2:
				<-gate // held until the test has looked
				if c.Attempt == 1 {
					w.Header().Set("Retry-After", "2")
					return 503
				}
			case c.Path == "/hour" && c.Attempt == 1:
				w.Header().Set("Retry-After", "3600")
				return 503
			}
			return 200
		})
		one := func(path string) (string, string) {
			t.Helper()
			r := e.submit(e.Key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(1, "life"),
				"callback": map[string]any{"url": rc.URL + path, "on": "final"}})
			uid := r["run_uid"].(string)
			e.waitStatus(e.Key, uid, time.Minute, "SUCCEEDED")
			ds := e.callbacks(e.Key, uid, "")
			if len(ds) != 1 {
				t.Fatalf("%d deliveries, want 1", len(ds))
			}
			return uid, ds[0]["uid"].(string)
		}
		get := func(uid string) map[string]any {
			return e.Must(200, "GET", "/v4/runs/callbacks/"+uid, e.Key, nil).Obj()
		}
		waitGet := func(uid, what string, cond func(d map[string]any) bool) map[string]any {
			t.Helper()
			end := time.Now().Add(time.Minute)
			for {
				d := get(uid)
				if cond(d) {
					return d
				}
				if time.Now().After(end) {
					t.Fatalf("delivery %s: waited for %s: %v", uid, what, d)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		arrived := func(path string, n int) {
			t.Helper()
			end := time.Now().Add(time.Minute)
			for rc.arrivedOn(path) < n {
				if time.Now().After(end) {
					t.Fatalf("%s: waited for request %d", path, n)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}

		_, gated := one("/gated")
		arrived("/gated", 1)
		if d := get(gated); d["status"] != "PENDING" || d["retry_count"] != float64(0) || d["http_status"] != nil {
			t.Errorf("during the first attempt: %v", d)
		}
		gate <- struct{}{}
		d := waitGet(gated, "the failed first attempt", func(d map[string]any) bool { return d["status"] != "PENDING" })
		next := str(d["next_attempt_at"])
		if _, err := time.Parse(time.RFC3339Nano, next); d["status"] != "FAILED" || d["retry_count"] != float64(0) ||
			d["http_status"] != float64(503) || err != nil || d["last_error"] == nil {
			t.Errorf("after a failed first attempt: %v", d)
		}
		arrived("/gated", 2)
		// The retry is under way: still FAILED (its last attempt did), the
		// time it was due as next_attempt_at, no retry counted yet.
		if d := get(gated); d["status"] != "FAILED" || d["retry_count"] != float64(0) || d["next_attempt_at"] != next {
			t.Errorf("during the retry (due %s): %v", next, d)
		}
		gate <- struct{}{}
		d = waitGet(gated, "success", func(d map[string]any) bool { return d["status"] == "SUCCESS" })
		if d["retry_count"] != float64(1) || d["http_status"] != float64(200) || d["next_attempt_at"] != nil || d["last_error"] != nil {
			t.Errorf("after a successful retry: %v", d)
		}

		// An hour until the next attempt: replay now.
		_, hour := one("/hour")
		d = waitGet(hour, "the failed first attempt", func(d map[string]any) bool { return d["status"] != "PENDING" })
		if next, err := time.Parse(time.RFC3339Nano, str(d["next_attempt_at"])); err != nil || d["status"] != "FAILED" ||
			next.Before(time.Now().Add(50*time.Minute)) {
			t.Fatalf("after a 503 with Retry-After: 3600: %v", d)
		}
		child := e.Must(200, "POST", "/v4/runs/callbacks/"+hour+"/replay", e.Key, nil).Obj()
		childUID, _ := child["uid"].(string)
		if child["parent_uid"] != hour || child["status"] != "PENDING" || child["retry_count"] != float64(0) {
			t.Errorf("replay child: %v", child)
		}
		parent := get(hour)
		if le, _ := parent["last_error"].(string); parent["status"] != "FAILED" || parent["next_attempt_at"] != nil ||
			childUID == "" || !strings.Contains(le, childUID) || parent["http_status"] != float64(503) || parent["retry_count"] != float64(0) {
			t.Errorf("the replayed delivery keeps retrying or lost its last attempt: %v", parent)
		}
		c := waitGet(childUID, "the replay's success", func(d map[string]any) bool { return d["status"] == "SUCCESS" })
		if c["retry_count"] != float64(0) || c["http_status"] != float64(200) {
			t.Errorf("replay child after its first attempt: %v", c)
		}
	})
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func isUUID(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// apiErrorKeys are the APIError object's keys, as issue 14 (item 2) and the
// reference's components/schemas/APIError list them.
var apiErrorKeys = []string{"error_label", "error_scope", "error_ref", "message", "status_code", "params"}

// checkAPIError checks a callback's error object against the reference's
// APIError: exactly its keys, each of the type the reference gives it.
func checkAPIError(t *testing.T, e map[string]any, raw []byte) {
	t.Helper()
	var keys []string
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := append([]string(nil), apiErrorKeys...)
	sort.Strings(want)
	if len(keys) != len(want) {
		t.Errorf("error keys %v, want %v: %s", keys, want, raw)
	}
	for i := range keys {
		if i < len(want) && keys[i] != want[i] {
			t.Errorf("error keys %v, want %v: %s", keys, want, raw)
			break
		}
	}
	// The types and the scope's enum, from the reference file itself.
	// Without the file (outside CI) the keys above are still checked.
	path, err := reftest.Path(reftest.ActionsOpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	refFile, err := os.ReadFile(path)
	if err != nil {
		if reftest.Required() {
			t.Fatalf("%s=1 but the reference is not available: %v", reftest.RequireEnv, err)
		}
		t.Logf("reference file not available (%v): the APIError types are not checked", err)
		return
	}
	var doc struct {
		Components struct {
			Schemas struct {
				APIError struct {
					Properties map[string]struct {
						Type     string   `json:"type"`
						Nullable bool     `json:"nullable"`
						Enum     []string `json:"enum"`
					} `json:"properties"`
				} `json:"APIError"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(refFile, &doc); err != nil {
		t.Fatal(err)
	}
	props := doc.Components.Schemas.APIError.Properties
	if len(props) != len(apiErrorKeys) {
		t.Errorf("the reference's APIError has %d properties, the test knows %d", len(props), len(apiErrorKeys))
	}
	for name, p := range props {
		v, ok := e[name]
		if !ok {
			t.Errorf("error lacks %s: %s", name, raw)
			continue
		}
		if v == nil {
			if !p.Nullable {
				t.Errorf("error.%s is null, the reference does not allow it: %s", name, raw)
			}
			continue
		}
		switch p.Type {
		case "string":
			s, ok := v.(string)
			if !ok {
				t.Errorf("error.%s is %T, want a string: %s", name, v, raw)
			} else if len(p.Enum) > 0 && !containsStr(p.Enum, s) {
				t.Errorf("error.%s %q is not one of %v: %s", name, s, p.Enum, raw)
			}
		case "integer":
			if f, ok := v.(float64); !ok || f != float64(int(f)) {
				t.Errorf("error.%s is %v, want an integer: %s", name, v, raw)
			}
		case "object":
			m, ok := v.(map[string]any)
			if !ok {
				t.Errorf("error.%s is %T, want an object: %s", name, v, raw)
			}
			for k, x := range m {
				if _, ok := x.(string); !ok || k == "" || k[0] == '_' {
					t.Errorf("error.%s.%s = %v: the reference allows string values and keys not starting with _", name, k, x)
				}
			}
		}
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestAsyncCallbackSort: sort on GET /runs/callbacks takes the reference's
// forms (item 5): one comma-separated value ("-created_at, status"),
// repeated sort[] and repeated sort, all alike; keys apply in order. The
// order is checked on the returned records themselves.
func TestAsyncCallbackSort(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{setup: func(a *app.App) {
			a.Dispatch.Schedule = send.Schedule{0, time.Hour}
		}})
		rc := newReceiver(t)
		rc.setAnswer(func(c *callback, w http.ResponseWriter) int {
			if c.Path == "/fail" {
				return 500
			}
			return 200
		})
		for i := 0; i < 6; i++ {
			path := "/ok"
			if i%2 == 1 {
				path = "/fail"
			}
			uid := e.submit(e.Key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(1, "sort"),
				"callback": map[string]any{"url": rc.URL + path, "on": "final"}})["run_uid"].(string)
			e.waitStatus(e.Key, uid, time.Minute, "SUCCEEDED")
			time.Sleep(5 * time.Millisecond) // distinct created_at
		}
		list := func(q string) []map[string]any {
			t.Helper()
			var out []map[string]any
			for _, x := range e.Must(200, "GET", "/v4/runs/callbacks?limit=20&"+q, e.Key, nil).Arr() {
				out = append(out, x.(map[string]any))
			}
			return out
		}
		end := time.Now().Add(time.Minute)
		for {
			pending := 0
			for _, d := range list("") {
				if d["status"] == "PENDING" {
					pending++
				}
			}
			if pending == 0 {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("%d deliveries still PENDING", pending)
			}
			time.Sleep(20 * time.Millisecond)
		}
		uids := func(ds []map[string]any) string {
			var s []string
			for _, d := range ds {
				s = append(s, d["uid"].(string))
			}
			return strings.Join(s, " ")
		}
		// sorted checks ds against keys: status ascending, created_at
		// descending, in the given order of significance.
		sorted := func(ds []map[string]any, keys ...string) bool {
			cmp := func(a, b map[string]any, key string) int {
				switch key {
				case "status":
					return strings.Compare(a["status"].(string), b["status"].(string))
				case "-created_at":
					ta, _ := time.Parse(time.RFC3339Nano, a["created_at"].(string))
					tb, _ := time.Parse(time.RFC3339Nano, b["created_at"].(string))
					return tb.Compare(ta)
				}
				t.Fatalf("key %s", key)
				return 0
			}
			for i := 1; i < len(ds); i++ {
				for _, k := range keys {
					c := cmp(ds[i-1], ds[i], k)
					if c < 0 {
						break
					}
					if c > 0 {
						return false
					}
				}
			}
			return true
		}
		for _, keys := range [][]string{{"-created_at", "status"}, {"status", "-created_at"}} {
			comma := list("sort=" + url.QueryEscape(strings.Join(keys, ", ")))
			if len(comma) != 6 || !sorted(comma, keys...) {
				t.Errorf("sort=%s: not in that order: %v", strings.Join(keys, ", "), comma)
			}
			brackets := list("sort[]=" + keys[0] + "&sort[]=" + keys[1])
			repeated := list("sort=" + keys[0] + "&sort=" + keys[1])
			if uids(brackets) != uids(comma) || uids(repeated) != uids(comma) {
				t.Errorf("sort %v: the comma, sort[] and repeated forms differ:\n%s\n%s\n%s", keys, uids(comma), uids(brackets), uids(repeated))
			}
		}
		if byStatus := list("sort[]=status&sort[]=-created_at"); byStatus[0]["status"] != "FAILED" || byStatus[5]["status"] != "SUCCESS" {
			t.Errorf("sort[]=status: %v", byStatus)
		}
		for _, q := range []string{"sort=created_at,created_at", "sort=-created_at,%20bogus", "sort[]=status&sort[]=-status",
			"sort=" + strings.Repeat("x", 129)} {
			if r := e.Do("GET", "/v4/runs/callbacks?"+q, e.Key, nil); r.Status != 400 || r.Label() != "BAD_PARAMETERS" {
				t.Errorf("GET /v4/runs/callbacks?%s: %d %s", q, r.Status, r.Body)
			}
		}
	})
}

// TestAsyncUnrecordedBound: what a crash can make Firstmate send twice is
// what was sent and not yet recorded (item 6). While recording is held
// (the deliveries' rows locked by another transaction), a receiver gets no
// more callbacks than the per-receiver limit, and none is sent again once
// recording resumes: each was sent once.
func TestAsyncUnrecordedBound(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		const limit, n = 5, 40
		e := startAsync(t, dialect, asyncOpts{noWorkers: true, setup: func(a *app.App) {
			a.Dispatch.Hosts = send.NewHostLimiter(limit)
		}})
		rc := newReceiver(t)
		sub := e.submit(e.Key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(n, "bound"),
			"callback": map[string]any{"url": rc.URL, "on": "all"}})
		runID := int64(sub["run_id"].(float64))
		ctx := context.Background()
		for c := 0; c < 2; c++ {
			if _, err := e.App.Runs.WorkChunk(ctx, runID, c); err != nil {
				t.Fatal(err)
			}
		}
		ids := func(status string) []int64 {
			t.Helper()
			rows, err := e.App.DB.Handles().R.QueryContext(ctx, `SELECT id FROM deliveries WHERE run_id = $1 AND event = '' AND status = $2
				ORDER BY id`, runID, status)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []int64
			for rows.Next() {
				var id int64
				_ = rows.Scan(&id)
				out = append(out, id)
			}
			return out
		}
		pending := ids("PENDING")
		if len(pending) != n {
			t.Fatalf("%d batch deliveries, want %d", len(pending), n)
		}

		// Hold every write to the deliveries.
		var unlock func()
		if dialect == "postgres" {
			tx, err := e.App.DB.Handles().Write.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `SELECT id FROM deliveries WHERE run_id = $1 FOR UPDATE`, runID); err != nil {
				t.Fatal(err)
			}
			unlock = func() { _ = tx.Rollback() }
		} else {
			lockDB, err := sql.Open("sqlite", "file:"+e.App.DB.Path+"?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { lockDB.Close() })
			conn, err := lockDB.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
				t.Fatal(err)
			}
			unlock = func() { _, _ = conn.ExecContext(ctx, `ROLLBACK`); conn.Close() }
		}
		done := make(chan error, 1)
		go func() { done <- e.App.Dispatch.Deliver(ctx, pending) }()
		rc.waitFor(t, time.Minute, "the first callbacks", func(c []callback) bool { return len(c) >= limit })
		time.Sleep(500 * time.Millisecond) // more than the wait for a receiver's slot: the rest are deferred
		if got := len(rc.all()); got != limit {
			t.Errorf("%d callbacks sent while none could be recorded, want the receiver's limit of %d", got, limit)
		}
		unlock()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// The deferred ones go in a later job: send them now.
		if err := e.App.Dispatch.Deliver(ctx, ids("PENDING")); err != nil {
			t.Fatal(err)
		}
		got := rc.all()
		if len(got) != n {
			t.Errorf("%d callbacks received, want %d", len(got), n)
		}
		for _, c := range got {
			if c.Attempt != 1 {
				t.Errorf("callback %s sent %d times", c.ID, c.Attempt)
			}
		}
		if left := ids("PENDING"); len(left) != 0 {
			t.Errorf("%d deliveries still PENDING", len(left))
		}
	})
}
