package runs_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/app"
)

// Tests of large async submissions, which are stored as their body arrives
// (several staging batches: more than 1,000 inputs).

const placePath = "/v4/actions/googlemaps-extract-place/run/async"

// placeLines are n inputs as JSON fragments, input bad (if >= 0) invalid.
func placeLines(n, bad int, tag string) []string {
	out := make([]string, n)
	for i := range out {
		url := fmt.Sprintf("https://www.google.com/maps/place/%s-%d", tag, i)
		if i == bad {
			url = "not a place"
		}
		out[i] = fmt.Sprintf(`{"google_maps_place_url":%q,"custom_data":{"idx":%d,"tag":%q}}`, url, i, tag)
	}
	return out
}

func placeBody(n, bad int, tag, rest string) []byte {
	return []byte(`{"inputs":[` + strings.Join(placeLines(n, bad, tag), ",") + `],` + rest + `}`)
}

// streamed is a submission whose body the test writes as it goes.
type streamed struct {
	w    *io.PipeWriter
	done chan streamedResult
}

type streamedResult struct {
	status int
	header http.Header
	body   map[string]any
	err    error
}

// startStreamed sends a chunked POST (no Content-Length: a bulk
// submission) whose body is what the test writes to it.
func startStreamed(t *testing.T, e *asyncEnv, key, idem string) *streamed {
	t.Helper()
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", e.URL+placePath, pr)
	req.Header.Set("X-API-Key", key)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	s := &streamed{w: pw, done: make(chan streamedResult, 1)}
	// A test that stops early must not leave the server waiting for the
	// rest of the body (its Close would wait for ever).
	t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			s.done <- streamedResult{err: err}
			return
		}
		defer res.Body.Close()
		var m map[string]any
		data, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(data, &m)
		s.done <- streamedResult{status: res.StatusCode, header: res.Header, body: m}
	}()
	return s
}

func (s *streamed) write(t *testing.T, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if _, err := io.WriteString(s.w, p); err != nil {
			t.Fatalf("writing the body: %v", err)
		}
	}
}

func (s *streamed) finish(t *testing.T, rest string) streamedResult {
	t.Helper()
	s.write(t, rest)
	s.w.Close()
	select {
	case r := <-s.done:
		return r
	case <-time.After(2 * time.Minute):
		t.Fatal("no answer to the submission")
	}
	return streamedResult{}
}

// waitCount polls a count until it is want.
func (e *asyncEnv) waitCount(t *testing.T, want int, what, q string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := e.count(q, args...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, want %d", what, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A large submission is all or nothing: every input stored once the 200 is
// sent, nothing at all after a 400 for its last input or for something
// only checked once the body has been read (the callback URL policy).
func TestBulkSubmissionAllOrNothing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		const n = 2500
		cb := `"callback":{"url":"http://127.0.0.1:9/cb","on":"final"}`
		code, r := post(t, e, placePath, e.Key, "", placeBody(n, n-1, "last", cb))
		if msg, _ := r["message"].(string); code != 400 || !strings.HasPrefix(msg, "body/inputs/2499/google_maps_place_url ") {
			t.Fatalf("a bad last input: %d %v", code, r)
		}
		code, r = post(t, e, placePath, e.Key, "", placeBody(n, -1, "ssrf", `"callback":{"url":"http://169.254.169.254/latest"}`))
		if msg, _ := r["message"].(string); code != 400 || !strings.Contains(msg, "body/callback/url") {
			t.Fatalf("a refused callback after %d inputs: %d %v", n, code, r)
		}
		code, r = post(t, e, placePath, e.Key, "", placeBody(n, -1, "params", cb+`,"parameters":{"nope":1}`))
		if code != 400 || r["error_label"] != "BAD_PARAMETERS" {
			t.Fatalf("bad parameters after %d inputs: %d %v", n, code, r)
		}
		if got := e.count(`SELECT COUNT(*) FROM runs`) + e.count(`SELECT COUNT(*) FROM run_inputs`); got != 0 {
			t.Fatalf("refused submissions left %d rows", got)
		}

		code, r = post(t, e, placePath, e.Key, "", placeBody(n, -1, "ok", cb))
		if code != 200 {
			t.Fatalf("a valid submission: %d %v", code, r)
		}
		uid := r["run_uid"].(string)
		run := e.run(e.Key, uid)
		if run["input_count"] != float64(n) || (run["status"] != "RUNNING" && run["status"] != "QUEUED") {
			t.Fatalf("run %v", run)
		}
		var rows, distinct, withData int
		if err := e.App.DB.Handles().Read.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT i.idx), COUNT(i.custom_data) FROM run_inputs i
			JOIN runs r ON r.id = i.run_id WHERE r.uid = $1`, uid).Scan(&rows, &distinct, &withData); err != nil {
			t.Fatal(err)
		}
		if rows != n || distinct != n || withData != n {
			t.Fatalf("stored %d inputs (%d distinct, %d with custom_data), want %d", rows, distinct, withData, n)
		}
		var in, cd string
		if err := e.App.DB.Handles().Read.QueryRow(`SELECT i.input, i.custom_data FROM run_inputs i JOIN runs r ON r.id = i.run_id
			WHERE r.uid = $1 AND i.idx = 1789`, uid).Scan(&in, &cd); err != nil {
			t.Fatal(err)
		}
		if in != `{"google_maps_place_url":"https://www.google.com/maps/place/ok-1789"}` || cd != `{"idx":1789,"tag":"ok"}` {
			t.Errorf("input 1789: %s %s", in, cd)
		}
		if got := e.Must(200, "GET", "/v4/runs?limit=100", e.Key, nil).Arr(); len(got) != 1 {
			t.Errorf("%d runs listed, want 1", len(got))
		}
	})
}

// Until its body is complete, a submission is invisible, and it holds no
// transaction open: other workspaces keep writing. It appears at once,
// with all its inputs, when the body ends.
func TestBulkSubmissionInvisibleWhileStreaming(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		other := e.workspace("Bystander", "async_test")
		lines := placeLines(3000, -1, "stream")
		s := startStreamed(t, e, e.Key, "")
		s.write(t, `{"callback":{"url":"http://127.0.0.1:9/cb"},"inputs":[`+strings.Join(lines[:2100], ","))
		// Two staging batches are committed, the third is being filled.
		e.waitCount(t, 2000, "staged inputs", `SELECT COUNT(*) FROM run_inputs`)
		if got := e.Must(200, "GET", "/v4/runs", e.Key, nil).Arr(); len(got) != 0 {
			t.Fatalf("a submission still being sent is listed: %v", got)
		}
		// Nor under any sort, filter or alias, nor by its uid.
		var staged string
		if err := e.App.DB.Handles().Read.QueryRow(`SELECT uid FROM runs WHERE status = 'STAGED'`).Scan(&staged); err != nil {
			t.Fatalf("the staged run: %v", err)
		}
		for _, q := range []string{"/v4/runs?sort=-created_at,status", "/v4/runs?sort[]=-updated_at&sort[]=status&limit=100",
			"/v4/runs?sort=started_at", "/v4/runs?uid=" + staged, "/v4/runs?execution_mode=ASYNC",
			"/v4/runs?status=CREATED,INVALID,QUEUED,SCHEDULED,BLOCKED,STOPPED,RUNNING,FAILED,PARTIAL_SUCCEEDED,SUCCEEDED",
			"/v4/api/runs/list", "/v4/api/runs/list?sort=-created_at"} {
			if got := e.Must(200, "GET", q, e.Key, nil).Arr(); len(got) != 0 {
				t.Errorf("GET %s lists a submission still being sent: %v", q, got)
			}
		}
		for _, c := range []struct{ method, path string }{
			{"GET", "/v4/runs/" + staged}, {"GET", "/v4/runs/" + staged + "/status"}, {"GET", "/v4/runs/" + staged + "/outputs"},
			{"GET", "/v4/api/runs/get?uid=" + staged}, {"POST", "/v4/runs/" + staged + "/cancel"},
			{"POST", "/v4/runs/" + staged + "/resume"}, {"POST", "/v4/api/runs/" + staged + "/resume"},
		} {
			if r := e.Do(c.method, c.path, e.Key, nil); r.Status != 404 {
				t.Errorf("%s %s of a submission still being sent: %d %s, want 404", c.method, c.path, r.Status, r.Body)
			}
		}
		// Others write meanwhile: an identity, a small run.
		e.Must(200, "POST", "/v4/identities", other, map[string]any{"name": "Written meanwhile"})
		small := e.submit(other, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(3, "small"),
			"callback": map[string]any{"url": "http://127.0.0.1:9/cb"}})
		if small["run_uid"] == nil {
			t.Fatalf("a small submission meanwhile: %v", small)
		}
		s.write(t, ","+strings.Join(lines[2100:], ","))
		r := s.finish(t, `]}`)
		if r.err != nil || r.status != 200 {
			t.Fatalf("the streamed submission: %d %v %v", r.status, r.body, r.err)
		}
		run := e.run(e.Key, r.body["run_uid"].(string))
		if run["input_count"] != float64(3000) {
			t.Fatalf("run %v", run)
		}
		if got := e.count(`SELECT COUNT(*) FROM run_inputs i JOIN runs r ON r.id = i.run_id WHERE r.uid = $1`, r.body["run_uid"]); got != 3000 {
			t.Fatalf("%d inputs stored, want 3000", got)
		}
	})
}

// A client that goes away mid-body leaves nothing behind.
func TestBulkSubmissionClientGone(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		s := startStreamed(t, e, e.Key, "")
		s.write(t, `{"inputs":[`+strings.Join(placeLines(1500, -1, "gone"), ","))
		e.waitCount(t, 1000, "staged inputs", `SELECT COUNT(*) FROM run_inputs`)
		s.w.CloseWithError(fmt.Errorf("client gone"))
		<-s.done
		e.waitCount(t, 0, "inputs left", `SELECT COUNT(*) FROM run_inputs`)
		e.waitCount(t, 0, "runs left", `SELECT COUNT(*) FROM runs`)
	})
}

// Concurrent large submissions with one Idempotency-Key make one run; the
// others' staged inputs are deleted.
func TestBulkSubmissionIdempotencyKey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{noWorkers: true, bulkSubmissions: 3})
		lines := strings.Join(placeLines(2500, -1, "idem"), ",")
		var ss []*streamed
		for range 3 {
			s := startStreamed(t, e, e.Key, "bulk-key")
			s.write(t, `{"callback":{"url":"http://127.0.0.1:9/cb"},"inputs":[`+lines)
			ss = append(ss, s)
		}
		// All three have staged their first batches before any finishes.
		e.waitCount(t, 6000, "staged inputs", `SELECT COUNT(*) FROM run_inputs`)
		var uid any
		for i, s := range ss {
			r := s.finish(t, `]}`)
			if r.status != 200 || r.body["run_uid"] == nil || (uid != nil && r.body["run_uid"] != uid) {
				t.Fatalf("submission %d: %d %v (first run %v)", i, r.status, r.body, uid)
			}
			uid = r.body["run_uid"]
		}
		e.waitCount(t, 2500, "inputs left", `SELECT COUNT(*) FROM run_inputs`)
		if got := e.count(`SELECT COUNT(*) FROM runs`); got != 1 {
			t.Errorf("%d runs for one key", got)
		}
		// A retry after the fact returns the run too, and stores nothing.
		code, r := post(t, e, placePath, e.Key, "bulk-key", placeBody(2500, -1, "idem", `"callback":{"url":"http://127.0.0.1:9/cb"}`))
		if code != 200 || r["run_uid"] != uid {
			t.Errorf("a retry: %d %v", code, r)
		}
		if got := e.count(`SELECT COUNT(*) FROM run_inputs`); got != 2500 {
			t.Errorf("%d inputs after a retry", got)
		}
	})
}

// An Idempotency-Key reused for another request is refused with 422
// IDEMPOTENCY_KEY_REUSED on the streaming path too, whether the key's run
// already exists when the body starts (the early lookup, which reads the
// body without storing it) or is published by a concurrent submission while
// this one is staging its inputs; what was staged is deleted. The same
// request spelled differently (members in another order) is still the
// first run.
func TestBulkSubmissionIdempotencyKeyReused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{noWorkers: true, bulkSubmissions: 2})
		const n = 2500
		cb := `"callback":{"url":"http://127.0.0.1:9/cb"}`
		// Two concurrent submissions under one key, with other inputs:
		// both stage batches before either ends.
		first, second := startStreamed(t, e, e.Key, "reused-key"), startStreamed(t, e, e.Key, "reused-key")
		first.write(t, `{`+cb+`,"inputs":[`+strings.Join(placeLines(n, -1, "first"), ","))
		second.write(t, `{`+cb+`,"inputs":[`+strings.Join(placeLines(n, -1, "second"), ","))
		e.waitCount(t, 4000, "staged inputs", `SELECT COUNT(*) FROM run_inputs`)
		r := first.finish(t, `]}`)
		if r.status != 200 || r.body["run_uid"] == nil {
			t.Fatalf("the first: %d %v", r.status, r.body)
		}
		uid := r.body["run_uid"]
		reusedKey := func(what string, code int, body map[string]any) {
			t.Helper()
			params, _ := body["params"].(map[string]any)
			if code != 422 || body["error_label"] != "IDEMPOTENCY_KEY_REUSED" || params["run_uid"] != uid {
				t.Errorf("%s: %d %v, want 422 IDEMPOTENCY_KEY_REUSED naming run %v", what, code, body, uid)
			}
		}
		r = second.finish(t, `]}`)
		reusedKey("a concurrent submission of other inputs", r.status, r.body)
		e.waitCount(t, n, "inputs left", `SELECT COUNT(*) FROM run_inputs`)

		// After the fact: another request is refused, stores nothing ...
		code, body := post(t, e, placePath, e.Key, "reused-key", placeBody(n, -1, "third", cb))
		reusedKey("another request after the first run", code, body)
		code, body = post(t, e, placePath, e.Key, "reused-key", placeBody(n, -1, "first", cb+`,"parameters":{"nope":1}`))
		if code != 400 || body["error_label"] != "BAD_PARAMETERS" {
			t.Errorf("a reused key with bad parameters: %d %v, want the 400 first", code, body)
		}
		// ... and the same request, its members in another order, is the
		// first run.
		code, body = post(t, e, placePath, e.Key, "reused-key", placeBody(n, -1, "first", cb))
		if code != 200 || body["run_uid"] != uid {
			t.Errorf("the same request again: %d %v, want run %v", code, body, uid)
		}
		if got := e.count(`SELECT COUNT(*) FROM run_inputs`); got != n {
			t.Errorf("%d inputs stored, want the first run's %d", got, n)
		}
		if got := e.count(`SELECT COUNT(*) FROM runs`); got != 1 {
			t.Errorf("%d runs for one key", got)
		}
	})
}

// A node stores a bounded number of large submissions at once: one more
// waits for a slot and gets 503 SERVER_BUSY with Retry-After when none
// frees up in time; small submissions are not held up; once the slot is
// free, large submissions go through again.
func TestBulkSubmissionsBounded(t *testing.T) {
	e := startAsync(t, "sqlite", asyncOpts{noWorkers: true, bulkSubmissions: 1,
		setup: func(a *app.App) { a.API.BulkWait = 300 * time.Millisecond }})
	lines := placeLines(1500, -1, "bound")
	first := startStreamed(t, e, e.Key, "")
	first.write(t, `{"callback":{"url":"http://127.0.0.1:9/cb"},"inputs":[`+strings.Join(lines, ","))
	e.waitCount(t, 1000, "staged inputs", `SELECT COUNT(*) FROM run_inputs`)

	second := startStreamed(t, e, e.Key, "")
	go func() {
		_, _ = io.WriteString(second.w, string(placeBody(1500, -1, "second", `"callback":{"url":"http://127.0.0.1:9/cb"}`)))
		second.w.Close()
	}()
	r := <-second.done
	if r.err != nil || r.status != 503 || r.body["error_label"] != "SERVER_BUSY" || r.header.Get("Retry-After") != "1" {
		t.Fatalf("a second bulk submission while the only slot is taken: %d %v %v %v", r.status, r.header, r.body, r.err)
	}
	e.submit(e.Key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(5, "small"),
		"callback": map[string]any{"url": "http://127.0.0.1:9/cb"}})

	if r := first.finish(t, `]}`); r.status != 200 {
		t.Fatalf("the first: %d %v", r.status, r.body)
	}
	third := startStreamed(t, e, e.Key, "")
	if r := third.finish(t, string(placeBody(1500, -1, "third", `"callback":{"url":"http://127.0.0.1:9/cb"}`))); r.status != 200 {
		t.Fatalf("a bulk submission once the slot is free: %d %v", r.status, r.body)
	}
}

// A body over the 128 MiB limit is refused with 413 once the limit is
// passed, whatever it holds, and leaves nothing behind.
func TestBulkSubmissionOverTheLimit(t *testing.T) {
	e := startAsync(t, "sqlite", asyncOpts{noWorkers: true})
	s := startStreamed(t, e, e.Key, "")
	go func() {
		_, err := io.WriteString(s.w, `{"inputs":[`+strings.Join(placeLines(1500, -1, "over"), ",")+`],"x":[`)
		chunk := strings.Repeat(`"`+strings.Repeat("a", 1000)+`",`, 1000)
		for err == nil {
			_, err = io.WriteString(s.w, chunk)
		}
	}()
	var r streamedResult
	select {
	case r = <-s.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("no answer to an endless body")
	}
	s.w.Close()
	if r.err != nil || r.status != 413 {
		t.Fatalf("an endless body: %d %v %v", r.status, r.body, r.err)
	}
	e.waitCount(t, 0, "inputs left", `SELECT COUNT(*) FROM run_inputs`)
	e.waitCount(t, 0, "runs left", `SELECT COUNT(*) FROM runs`)
}

// The envelope of a streamed async body takes what the whole-body decoder
// takes, on the main route and on its early v4 alias, for submissions
// large enough to be staged: integration_users as identity_ids (refused
// when both are given and differ, even after every input was staged), and
// an empty or null parameters object.
func TestBulkSubmissionEnvelopeAliases(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{noWorkers: true})
		uid := e.identity(e.Key, "Ada", "sim_classic")
		const n = 1500 // two staging batches
		people := make([]string, n)
		for i := range people {
			people[i] = fmt.Sprintf(`{"linkedin_profile_url":"https://www.linkedin.com/in/alias-%d"}`, i)
		}
		inputs := `"inputs":[` + strings.Join(people, ",") + `]`
		cb := `"callback":{"url":"http://127.0.0.1:9/cb"}`
		ids := func(field string, uids ...string) string {
			b, _ := json.Marshal(uids)
			return `"` + field + `":` + string(b)
		}
		const nobody = "00000000-0000-4000-8000-000000000000"
		made := 0
		for _, path := range []string{"/v4/actions/linkedin-extract-people/run/async", "/v4/api/actions/linkedin-extract-people/async"} {
			for _, c := range []struct {
				what, body string
				code       int
				label      string
			}{
				{"integration_users", `{` + ids("integration_users", uid) + `,` + inputs + `,` + cb + `}`, 200, ""},
				{"integration_users after the inputs", `{` + inputs + `,` + cb + `,` + ids("integration_users", uid) + `}`, 200, ""},
				{"both alike", `{` + inputs + `,` + ids("identity_ids", uid) + `,` + ids("integration_users", uid) + `,` + cb + `}`, 200, ""},
				{"both different", `{` + inputs + `,` + ids("identity_ids", uid) + `,` + cb + `,` + ids("integration_users", nobody) + `}`, 400, "BAD_INPUT"},
				{"integration_users naming no identity", `{` + inputs + `,` + cb + `,` + ids("integration_users", nobody) + `}`, 404, "NOT_FOUND"},
				{"parameters null", `{` + ids("integration_users", uid) + `,` + inputs + `,` + cb + `,"parameters":null}`, 200, ""},
				{"parameters {}", `{` + ids("identity_ids", uid) + `,"parameters":{},` + inputs + `,` + cb + `}`, 200, ""},
				{"an unknown parameter", `{` + ids("identity_ids", uid) + `,` + inputs + `,` + cb + `,"parameters":{"zz_unknown":1}}`, 400, "BAD_PARAMETERS"},
			} {
				code, body := post(t, e, path, e.Key, "", []byte(c.body))
				if code != c.code || (c.label != "" && body["error_label"] != c.label) {
					t.Errorf("%s %s: %d %v, want %d %s", path, c.what, code, body, c.code, c.label)
					continue
				}
				if c.what == "both different" {
					if p, _ := body["params"].(map[string]any); p["path"] != "body/integration_users" {
						t.Errorf("%s %s: params %v, want the path body/integration_users", path, c.what, p)
					}
				}
				if code != 200 {
					continue
				}
				made++
				var got string
				var count int
				if err := e.App.DB.Handles().Read.QueryRow(`SELECT identity_uids, input_count FROM runs WHERE uid = $1`, body["run_uid"]).
					Scan(&got, &count); err != nil {
					t.Fatal(err)
				}
				if got != `["`+uid+`"]` || count != n {
					t.Errorf("%s %s: run of identities %s and %d inputs, want [%s] and %d", path, c.what, got, count, uid, n)
				}
			}
		}
		e.waitCount(t, made*n, "inputs stored", `SELECT COUNT(*) FROM run_inputs`)
		if got := e.count(`SELECT COUNT(*) FROM runs`); got != made {
			t.Errorf("%d runs, want the %d accepted", got, made)
		}
	})
}
