package runs_test

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// TestAsyncCallbackRetries: receivers that fail, are closed, answer 410 or
// ask for a Retry-After, then recover (contract §7), with the retry schedule
// shortened to 0s,1s,2s,3s. Nothing is lost, retry_count and the gaps follow
// the schedule, 410 stops at once, Retry-After is honoured, every attempt is
// signed with the same webhook-id; then the delivery list's filters, the
// single delivery and replay.
func TestAsyncCallbackRetries(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		e := startAsync(t, dialect, asyncOpts{})
		rc := newReceiver(t)
		rc.setSecret(e.secret(e.Key))
		rc.setAnswer(func(c *callback, w http.ResponseWriter) int {
			switch c.Path {
			case "/flaky":
				if c.Attempt <= 2 {
					return 500
				}
			case "/always500":
				return 500
			case "/gone":
				return 410
			case "/retry-after":
				if c.Attempt == 1 {
					w.Header().Set("Retry-After", "3")
					return 503
				}
			}
			return 200
		})
		// A receiver that is down (connection refused) until the first
		// retry was recorded.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closedAddr := ln.Addr().String()
		ln.Close()

		submit := func(url string) string {
			r := e.submit(e.Key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(1, "cb"),
				"callback": map[string]any{"url": url, "on": "final"}})
			return r["run_uid"].(string)
		}
		runs := map[string]string{}
		for _, p := range []string{"/flaky", "/always500", "/gone", "/retry-after"} {
			runs[p] = submit(rc.URL + p)
		}
		runs["/closed"] = submit("http://" + closedAddr + "/closed")

		delivery := func(path string) map[string]any {
			t.Helper()
			ds := e.callbacks(e.Key, runs[path], "")
			if len(ds) != 1 {
				t.Fatalf("%s: %d deliveries, want 1: %v", path, len(ds), ds)
			}
			return ds[0]
		}
		waitDelivery := func(path, what string, cond func(d map[string]any) bool) map[string]any {
			t.Helper()
			end := time.Now().Add(time.Minute)
			for {
				ds := e.callbacks(e.Key, runs[path], "")
				if len(ds) == 1 && cond(ds[0]) {
					return ds[0]
				}
				if time.Now().After(end) {
					t.Fatalf("%s: waited for %s: %v", path, what, ds)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}

		// The closed receiver comes up once a failed attempt is recorded:
		// FAILED, with the time of the next attempt, no retry made yet.
		d := waitDelivery("/closed", "a failed attempt", func(d map[string]any) bool { return d["status"] != "PENDING" })
		if d["status"] != "FAILED" || d["http_status"] != nil || d["last_error"] == nil || d["next_attempt_at"] == nil ||
			d["retry_count"] != float64(0) {
			t.Errorf("/closed after a refused connection: %v", d)
		}
		ln, err = net.Listen("tcp", closedAddr)
		if err != nil {
			t.Fatalf("reopening %s: %v", closedAddr, err)
		}
		late := &http.Server{Handler: rc.Config.Handler}
		go func() { _ = late.Serve(ln) }()
		t.Cleanup(func() { late.Close() })

		// Final: SUCCESS, or FAILED with no attempt left.
		final := func(d map[string]any) bool {
			return d["status"] == "SUCCESS" || d["status"] == "FAILED" && d["next_attempt_at"] == nil
		}
		check := func(path, status string, httpStatus, retries, attempts int) map[string]any {
			t.Helper()
			d := waitDelivery(path, "a final status", final)
			if d["status"] != status || d["retry_count"] != float64(retries) || d["http_status"] != float64(httpStatus) {
				t.Errorf("%s: status %v http_status %v retry_count %v, want %s %d %d: %v", path, d["status"], d["http_status"],
					d["retry_count"], status, httpStatus, retries, d)
			}
			got := rc.on(path)
			if len(got) != attempts {
				t.Errorf("%s: %d attempts reached the receiver, want %d", path, len(got), attempts)
			}
			for _, c := range got {
				if c.SigErr != nil {
					t.Errorf("%s: attempt %d: bad signature: %v", path, c.Attempt, c.SigErr)
				}
				if c.ID != d["callback_ref_uid"] || c.Body["callback_ref_uid"] != c.ID {
					t.Errorf("%s: attempt %d has webhook-id %s, body ref %v, want %v", path, c.Attempt, c.ID,
						c.Body["callback_ref_uid"], d["callback_ref_uid"])
				}
				if run, _ := c.Body["run"].(map[string]any); run["status"] != "SUCCEEDED" || run["run_uid"] != runs[path] {
					t.Errorf("%s: final callback run %v", path, run)
				}
			}
			return d
		}
		// retry_count counts the attempts after the first.
		check("/flaky", "SUCCESS", 200, 2, 3)
		check("/always500", "FAILED", 500, 3, 4)
		check("/gone", "FAILED", 410, 0, 1)
		check("/retry-after", "SUCCESS", 200, 1, 2)
		closed := waitDelivery("/closed", "a final status", final)
		if closed["status"] != "SUCCESS" || closed["http_status"] != float64(200) || closed["retry_count"].(float64) < 1 {
			t.Errorf("/closed after the receiver came up: %v", closed)
		}

		// Gaps follow the schedule (0s, 1s, 2s, 3s); Retry-After: 3 beats
		// the schedule's 1s. Upper bounds are loose: River's scheduler
		// promotes due jobs every few seconds.
		gaps := func(path string) []time.Duration {
			got := rc.on(path)
			var out []time.Duration
			for i := 1; i < len(got); i++ {
				out = append(out, got[i].At.Sub(got[i-1].At))
			}
			return out
		}
		const slack = 150 * time.Millisecond
		for path, want := range map[string][]time.Duration{
			"/flaky":       {time.Second, 2 * time.Second},
			"/always500":   {time.Second, 2 * time.Second, 3 * time.Second},
			"/retry-after": {3 * time.Second},
		} {
			g := gaps(path)
			if len(g) != len(want) {
				t.Errorf("%s: gaps %v, want %v", path, g, want)
				continue
			}
			for i := range g {
				if g[i] < want[i]-slack || g[i] > want[i]+10*time.Second {
					t.Errorf("%s: gap %d is %s, want about %s (all: %v)", path, i+1, g[i], want[i], g)
				}
			}
		}
		// Nothing more comes for the final failures.
		time.Sleep(3500 * time.Millisecond)
		if n := len(rc.on("/gone")); n != 1 {
			t.Errorf("/gone: %d attempts after 410, want 1", n)
		}
		if n := len(rc.on("/always500")); n != 4 {
			t.Errorf("/always500: %d attempts, want the schedule's 4", n)
		}

		// GET /runs/callbacks filters.
		uidsOf := func(ds []any) []string {
			var out []string
			for _, x := range ds {
				out = append(out, x.(map[string]any)["uid"].(string))
			}
			return out
		}
		list := func(q string) []any {
			t.Helper()
			return e.Must(200, "GET", "/v4/runs/callbacks"+q, e.Key, nil).Arr()
		}
		if got := list("?status[]=FAILED&limit=20"); len(got) != 2 {
			t.Errorf("status[]=FAILED: %d deliveries, want 2 (/always500 and /gone)", len(got))
		} else {
			for _, x := range got {
				if d := x.(map[string]any); d["status"] != "FAILED" {
					t.Errorf("status[]=FAILED returned %v", d)
				}
			}
		}
		if got := list("?status[]=SUCCESS&status[]=FAILED&limit=20"); len(got) != 5 {
			t.Errorf("status[]=SUCCESS&status[]=FAILED: %d, want 5", len(got))
		}
		if got := list("?status=SUCCESS&limit=20"); len(got) != 3 {
			t.Errorf("status=SUCCESS: %d, want 3", len(got))
		}
		if got := list("?status[]=PENDING"); len(got) != 0 {
			t.Errorf("status[]=PENDING: %v", got)
		}
		if got := list("?run_uid[]=" + runs["/gone"] + "&run_uid[]=" + runs["/flaky"] + "&limit=20"); len(got) != 2 {
			t.Errorf("two run_uid[]: %d deliveries, want 2", len(got))
		}
		if got := list("?run_uid[]=" + runs["/gone"] + "&status[]=SUCCESS"); len(got) != 0 {
			t.Errorf("run_uid[] and status[] are and-ed: %v", got)
		}
		if got := list(""); len(got) != 5 {
			t.Errorf("default limit: %d", len(got))
		}
		asc, desc := uidsOf(list("?sort=created_at&limit=20")), uidsOf(list("?sort=-created_at&limit=20"))
		if len(asc) != 5 || len(desc) != 5 {
			t.Fatalf("sorted lists: %v %v", asc, desc)
		}
		for i := range asc {
			if asc[i] != desc[len(desc)-1-i] {
				t.Errorf("sort=created_at %v is not the reverse of sort=-created_at %v", asc, desc)
				break
			}
		}
		var paged []string
		for off := 0; off < 6; off += 2 {
			paged = append(paged, uidsOf(list(fmt.Sprintf("?sort=created_at&limit=2&offset=%d", off)))...)
		}
		if fmt.Sprint(paged) != fmt.Sprint(asc) {
			t.Errorf("limit=2 pages %v, want %v", paged, asc)
		}
		retries := list("?sort=-retry_count&limit=1")
		if len(retries) != 1 || retries[0].(map[string]any)["retry_count"] != float64(3) {
			t.Errorf("sort=-retry_count&limit=1: %v", retries)
		}
		for _, q := range []string{"?limit=0", "?limit=21", "?limit=x", "?offset=-1", "?sort=bogus", "?status[]=DONE"} {
			if r := e.Do("GET", "/v4/runs/callbacks"+q, e.Key, nil); r.Status != 400 {
				t.Errorf("GET /v4/runs/callbacks%s: %d, want 400: %s", q, r.Status, r.Body)
			}
		}

		// One delivery; another workspace cannot see it.
		flaky := delivery("/flaky")
		one := e.Must(200, "GET", "/v4/runs/callbacks/"+flaky["uid"].(string), e.Key, nil).Obj()
		for _, k := range []string{"uid", "callback_ref_uid", "run_uid", "status", "retry_count", "http_status", "callback_url", "workspace_uid"} {
			if fmt.Sprint(one[k]) != fmt.Sprint(flaky[k]) {
				t.Errorf("GET /runs/callbacks/{uid}: %s = %v, the list says %v", k, one[k], flaky[k])
			}
		}
		if one["parent_uid"] != nil || one["callback_url"] != rc.URL+"/flaky" {
			t.Errorf("original delivery: %v", one)
		}
		other := e.workspace("Other callbacks workspace", "async_test")
		if r := e.Do("GET", "/v4/runs/callbacks/"+flaky["uid"].(string), other, nil); r.Status != 404 || r.Label() != "NOT_FOUND" {
			t.Errorf("another workspace's delivery: %d %s", r.Status, r.Body)
		}
		if r := e.Do("POST", "/v4/runs/callbacks/"+flaky["uid"].(string)+"/replay", other, nil); r.Status != 404 {
			t.Errorf("replaying another workspace's delivery: %d %s", r.Status, r.Body)
		}
		if got := e.Must(200, "GET", "/v4/runs/callbacks?limit=20", other, nil).Arr(); len(got) != 0 {
			t.Errorf("another workspace lists %d deliveries", len(got))
		}
		if r := e.Do("GET", "/v4/runs/callbacks/00000000-0000-0000-0000-000000000000", e.Key, nil); r.Status != 404 {
			t.Errorf("unknown delivery: %d", r.Status)
		}

		// Replay: a child with parent_uid and the same callback_ref_uid,
		// sent again with that webhook-id.
		before := len(rc.on("/flaky"))
		child := e.Must(200, "POST", "/v4/runs/callbacks/"+flaky["uid"].(string)+"/replay", e.Key, nil).Obj()
		if child["parent_uid"] != flaky["uid"] || child["callback_ref_uid"] != flaky["callback_ref_uid"] ||
			child["uid"] == flaky["uid"] || child["run_uid"] != flaky["run_uid"] {
			t.Fatalf("replay child %v of %v", child, flaky)
		}
		got := rc.waitFor(t, time.Minute, "the replayed callback", func([]callback) bool { return len(rc.on("/flaky")) > before })
		last := rc.on("/flaky")[before]
		if last.ID != flaky["callback_ref_uid"] || last.SigErr != nil || last.Body["callback_ref_uid"] != flaky["callback_ref_uid"] {
			t.Errorf("replayed attempt: id %s sig %v body %s", last.ID, last.SigErr, last.Raw)
		}
		_ = got
		childUID := child["uid"].(string)
		end := time.Now().Add(time.Minute)
		for {
			c := e.Must(200, "GET", "/v4/runs/callbacks/"+childUID, e.Key, nil).Obj()
			if c["status"] == "SUCCESS" {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("replay child never succeeded: %v", c)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if orig := e.Must(200, "GET", "/v4/runs/callbacks/"+flaky["uid"].(string), e.Key, nil).Obj(); orig["retry_count"] != float64(2) {
			t.Errorf("the replay changed its parent: %v", orig)
		}
		// The run's deliveries now include the child; FAILED ones can be
		// replayed too.
		all := e.callbacks(e.Key, runs["/flaky"], "")
		var parents []string
		for _, d := range all {
			p, _ := d["parent_uid"].(string)
			parents = append(parents, p)
		}
		sort.Strings(parents)
		if len(all) != 2 || parents[0] != "" || parents[1] != flaky["uid"] {
			t.Errorf("the run's deliveries after a replay: %v", all)
		}
		gone := delivery("/gone")
		if r := e.Must(200, "POST", "/v4/runs/callbacks/"+gone["uid"].(string)+"/replay", e.Key, nil).Obj(); r["callback_ref_uid"] != gone["callback_ref_uid"] {
			t.Errorf("replay of a FAILED delivery: %v", r)
		}
		rc.waitFor(t, time.Minute, "the replayed 410 delivery", func([]callback) bool { return len(rc.on("/gone")) == 2 })
	})
}

// TestAsyncSlowReceiver: a receiver slower than the callback timeout gets
// its attempt cut and retried (last_error says it timed out), and a slow
// receiver of one workspace does not hold up another workspace's callbacks
// (contract §7).
func TestAsyncSlowReceiver(t *testing.T) {
	t.Parallel()
	e := startAsync(t, "sqlite", asyncOpts{setup: func(a *app.App) {
		a.Dispatch.Sender = send.NewSender(send.Options{Policy: send.DevPolicy(), Timeout: time.Second})
	}})
	release := make(chan struct{})
	slow := newReceiver(t)
	slow.setAnswer(func(c *callback, w http.ResponseWriter) int {
		if c.Path == "/timeout" && c.Attempt == 1 {
			time.Sleep(1500 * time.Millisecond) // past the 1 s timeout
			return 200
		}
		if c.Path == "/slow" {
			select { // held until the test ends
			case <-release:
			case <-time.After(20 * time.Second):
			}
		}
		return 200
	})
	t.Cleanup(func() { close(release) })
	fast := newReceiver(t)

	sub := e.submit(e.Key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(1, "timeout"),
		"callback": map[string]any{"url": slow.URL + "/timeout", "on": "final"}})
	uid := sub["run_uid"].(string)
	end := time.Now().Add(time.Minute)
	for {
		ds := e.callbacks(e.Key, uid, "")
		if len(ds) == 1 && ds[0]["status"] == "SUCCESS" {
			if ds[0]["retry_count"] != float64(1) {
				t.Errorf("after a timed-out attempt: %v", ds[0])
			}
			break
		}
		if len(ds) == 1 && ds[0]["status"] == "FAILED" {
			if le, _ := ds[0]["last_error"].(string); !strings.Contains(le, "timed out") || ds[0]["retry_count"] != float64(0) {
				t.Errorf("a timed-out attempt: last_error %q, retry_count %v", le, ds[0]["retry_count"])
			}
		}
		if time.Now().After(end) {
			t.Fatalf("the timed-out delivery never succeeded: %v", ds)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Workspace A floods a receiver that never answers in time; workspace B
	// submits right after and is called back promptly.
	e.submit(e.Key, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(400, "flood"),
		"callback": map[string]any{"url": slow.URL + "/slow", "on": "all"}})
	time.Sleep(time.Second) // its callbacks start piling up
	other := e.workspace("Prompt workspace", "async_test")
	start := time.Now()
	sub = e.submit(other, "googlemaps-extract-place", map[string]any{"inputs": placeInputs(5, "prompt"),
		"callback": map[string]any{"url": fast.URL + "/prompt", "on": "all"}})
	fast.waitFor(t, time.Minute, "workspace B's callbacks", func(c []callback) bool { return len(c) == 6 })
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("workspace B's 6 callbacks took %s behind workspace A's slow receiver", d)
	} else {
		t.Logf("workspace B called back in %s", d)
	}
}
