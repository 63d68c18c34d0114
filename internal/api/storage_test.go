package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// bigAsync is an async body of n inputs large enough that storing it needs
// new database pages.
func bigAsync(n int) map[string]any {
	inputs := make([]any, n)
	for i := range inputs {
		inputs[i] = map[string]any{"google_maps_place_url": fmt.Sprintf("https://www.google.com/maps/place/full-%d", i),
			"custom_data": map[string]any{"pad": strings.Repeat("p", 200)}}
	}
	return map[string]any{"inputs": inputs, "callback": map[string]any{"url": "https://example.com/callback", "on": "final"}}
}

// waitReady polls /readyz until it answers want.
func waitReady(t *testing.T, env *apitest.Env, want int) apitest.Resp {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := env.Do("GET", "/readyz", "", nil)
		if r.Status == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d, want %d: %s", r.Status, want, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// storageRefused checks a 503 STORAGE_UNAVAILABLE with Retry-After, and
// returns its error_ref.
func storageRefused(t *testing.T, what string, r apitest.Resp) string {
	t.Helper()
	var body map[string]any
	_ = json.Unmarshal(r.Body, &body)
	if r.Status != 503 || body["error_label"] != "STORAGE_UNAVAILABLE" || body["error_scope"] != "server" ||
		r.Header.Get("Retry-After") == "" {
		t.Fatalf("%s: %d %v %s", what, r.Status, r.Header, r.Body)
	}
	if _, problems := standardErrorProblems(r.Body, r.Status); len(problems) > 0 {
		t.Errorf("%s: %v", what, problems)
	}
	return body["error_ref"].(string)
}

// A full disk (SQLite refusing to grow, as SQLITE_FULL) answers 503
// STORAGE_UNAVAILABLE with Retry-After, not 500; /readyz says not ready
// while writes fail and ready once they go through again; the log reports
// the failed requests at most once a second, every error_ref included.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, "sqlite")
	key := env.NewWorkspace("Full disk", "unlimited")
	var pages int
	if err := env.App.DB.Handles().Write.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.DB.Handles().Write.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	body := bigAsync(3000)
	var refs []string
	start := time.Now()
	for i := range 8 {
		r := env.Do("POST", "/v4/actions/googlemaps-extract-place/run/async", key, body)
		refs = append(refs, storageRefused(t, fmt.Sprintf("submission %d on a full disk", i), r))
	}
	took := time.Since(start)
	r := waitReady(t, env, 503)
	if !strings.Contains(string(r.Body), `"reason":"storage"`) || r.Header.Get("Retry-After") == "" {
		t.Errorf("/readyz on a full disk: %v %s", r.Header, r.Body)
	}
	// Every error_ref is in the log, on a line with the cause; and there
	// are no more such lines than seconds passed (plus the first).
	deadline := time.Now().Add(10 * time.Second)
	for {
		logs := env.Logs.String()
		missing := 0
		for _, ref := range refs {
			if !strings.Contains(logs, ref) {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d error_refs not in the log", missing, len(refs))
		}
		time.Sleep(100 * time.Millisecond)
	}
	lines := 0
	for _, l := range strings.Split(env.Logs.String(), "\n") {
		if strings.Contains(l, "storage unavailable") && strings.Contains(l, refs[0][:4]) {
			lines++
			if !strings.Contains(l, "database or disk is full") {
				t.Errorf("a log line without its cause: %s", l)
			}
		}
	}
	if max := int(took/time.Second) + 3; lines > max || lines == 0 {
		t.Errorf("%d log lines for %d refused requests in %v", lines, len(refs), took)
	}

	t.Log(env.Logs.String())
	if _, err := env.App.DB.Handles().Write.Exec(`PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	waitReady(t, env, 200)
	env.Must(200, "POST", "/v4/actions/googlemaps-extract-place/run/async", key, body)
}

// proxy forwards TCP connections to target until it is stopped; it can be
// started again on the same address.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func (p *proxy) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
}

// stop closes the listener and every connection: the database is gone.
func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// A PostgreSQL that cannot be reached answers 503 STORAGE_UNAVAILABLE
// with Retry-After, and /readyz says not ready until it is back.
func TestDeadDatabase(t *testing.T) {
	t.Parallel()
	if err := apitest.PostgresAvailable(); err != nil {
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	st := apitest.NewStore(t, "postgres")
	u, err := url.Parse(st.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: "127.0.0.1:0", target: u.Host}
	p.start(t)
	u.Host = p.addr
	st.DatabaseURL = u.String()
	env := apitest.StartOn(t, st)
	t.Cleanup(p.stop)
	key := env.NewWorkspace("Dead database", "unlimited")
	env.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Before the outage"})
	waitReady(t, env, 200)

	p.stop()
	for i, call := range []struct{ method, path string }{
		{"POST", "/v4/identities"}, {"GET", "/v4/runs"}, {"POST", "/v4/actions/googlemaps-extract-place/run/async"},
	} {
		var body any
		switch call.path {
		case "/v4/identities":
			body = map[string]any{"name": "During the outage"}
		case "/v4/actions/googlemaps-extract-place/run/async":
			body = bigAsync(10)
		}
		storageRefused(t, fmt.Sprintf("call %d, %s %s with the database gone", i, call.method, call.path),
			env.Do(call.method, call.path, key, body))
	}
	waitReady(t, env, 503)

	p.start(t)
	waitReady(t, env, 200)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := env.Do("POST", "/v4/identities", key, map[string]any{"name": "After the outage"})
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing once the database is back: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
