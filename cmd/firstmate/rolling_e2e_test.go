package main

// End-to-end test of rolling restarts (issue 19: "zero failed API requests
// during the rolling restart, clients retry only on connection refused"):
// two built nodes on one PostgreSQL, a pool of clients sending POSTs and
// GETs over keep-alive connections to either node, while the nodes are
// restarted one after the other with SIGTERM, each replacement on the same
// address. A client retries a request on the other node only when its
// connection is refused (the node is down, or reset it while connecting,
// before anything was sent); any other error — an EOF or a reset on a
// pooled connection the stopping node closed, a 5xx — is a failed request,
// and the test wants none.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

func TestE2ERollingRestartNoFailedRequest(t *testing.T) {
	if err := apitest.PostgresAvailable(); err != nil {
		apitest.Dialects(t) // FIRSTMATE_REQUIRE_POSTGRES: fail without PostgreSQL
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	const (
		key     = "fm_rollingrestarttestbootstrapkey23"
		clients = 24
		// slowClients send live calls, which take up to 1.5 s.
		slowClients = 8
		restarts    = 4
	)
	// The platforms answer live calls in 0 to 1.5 s, so that some requests
	// are under way when a node's drain begins and ends.
	sm, err := sim.New(sim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Millisecond)
		sm.Handler().ServeHTTP(w, r)
	}))
	defer func() { up.Close(); sm.Close() }()
	st := apitest.NewStore(t, "postgres")
	addrs := make([]string, 2)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	env := []string{"FIRSTMATE_BOOTSTRAP_API_KEY=" + key, "FIRSTMATE_SECRET_KEY=" + st.SecretKey, "FIRSTMATE_ACCESS_LOG=off",
		"FIRSTMATE_SHUTDOWN_DRAIN=1s", "FIRSTMATE_SIM_URL=" + up.URL}
	var started []*server
	start := func(i int) *server {
		s := startServer(t, []string{"serve", "--addr", addrs[i], "--data-dir", t.TempDir(), "--database-url", st.DatabaseURL}, env...)
		started = append(started, s)
		return s
	}
	nodes := []*server{start(0), start(1)}
	// A workspace on the unlimited plan: the clients' pace is above the
	// developer plan's API rate limit.
	out, _ := runCmd(t, true, []string{"workspace", "create", "--name", "Rolling", "--owner-email", "rolling@example.com", "--plan", "unlimited",
		"--json", "--database-url", st.DatabaseURL, "--data-dir", t.TempDir()}, env...)
	var ws struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(out), &ws); err != nil || ws.APIKey == "" {
		t.Fatalf("workspace create: %v %s", err, out)
	}

	// Clients share one transport with room for many idle connections per
	// node, so that idle keep-alive connections are in the pool whenever a
	// node stops (the case a server closing idle connections gets wrong).
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: deadline}
	do := func(method, path string, body any) (int, []byte, error) {
		var raw []byte
		if body != nil {
			raw, _ = json.Marshal(body)
		}
		first := rand.IntN(len(addrs))
		for i := range addrs {
			req, _ := http.NewRequest(method, "http://"+addrs[(first+i)%len(addrs)]+path, bytes.NewReader(raw))
			req.Header.Set("X-API-Key", ws.APIKey)
			req.Header.Set("Content-Type", "application/json")
			res, err := hc.Do(req)
			if errors.Is(err, syscall.ECONNREFUSED) || refusedAtConnect(err) {
				continue // the node is down: the next one
			}
			if err != nil {
				return 0, nil, err
			}
			data, err := io.ReadAll(res.Body)
			res.Body.Close()
			return res.StatusCode, data, err
		}
		return 0, nil, errors.New("both nodes refused the connection")
	}

	var ok atomic.Int64
	var mu sync.Mutex
	var failures []string
	fail := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, s)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range slowClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, data, err := do("POST", "/v4/actions/googlemaps-search-places/run/live",
					map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/rolling"}})
				if err != nil || code != 200 {
					fail(fmt.Sprintf("POST .../run/live: %d %v %.200s", code, err, data))
					continue
				}
				ok.Add(1)
			}
		}()
	}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// A write, a read of what was written and a delete, through any
				// node.
				code, data, err := do("POST", "/v4/identities", map[string]any{"name": fmt.Sprintf("Rolling %d-%d", c, i)})
				var id struct {
					UID string `json:"uid"`
				}
				if err == nil && code == 200 {
					_ = json.Unmarshal(data, &id)
				}
				if err != nil || code != 200 || id.UID == "" {
					fail(fmt.Sprintf("POST /v4/identities: %d %v %.200s", code, err, data))
					continue
				}
				ok.Add(1)
				code, data, err = do("GET", "/v4/identities/"+id.UID, nil)
				if err != nil || code != 200 {
					fail(fmt.Sprintf("GET /v4/identities/%s: %d %v %.200s", id.UID, code, err, data))
					continue
				}
				ok.Add(1)
				code, data, err = do("DELETE", "/v4/identities/"+id.UID, nil)
				if err != nil || code != 200 {
					fail(fmt.Sprintf("DELETE /v4/identities/%s: %d %v %.200s", id.UID, code, err, data))
					continue
				}
				ok.Add(1)
				// Pauses of a few milliseconds leave connections idle in
				// the pool at any moment.
				time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
			}
		}()
	}
	// Progress, not time: each phase waits until the clients have had some
	// answers, so that every restart happens under traffic.
	waitAnswers := func(n int64) {
		t.Helper()
		from := ok.Load()
		for end := time.Now().Add(deadline); ok.Load() < from+n; time.Sleep(25 * time.Millisecond) {
			if time.Now().After(end) {
				mu.Lock()
				f := append([]string(nil), failures[max(0, len(failures)-10):]...)
				mu.Unlock()
				t.Fatalf("%d more answers: not after %s; last failures:\n%s", n, deadline, joinLines(f))
			}
		}
	}
	waitAnswers(200)
	for r := range restarts {
		i := r % len(nodes)
		before := ok.Load()
		nodes[i].stop(t, syscall.SIGTERM)
		nodes[i] = start(i)
		waitAnswers(200)
		t.Logf("restart %d (node %d): %d answers while it stopped and started", r+1, i, ok.Load()-before)
	}
	close(stop)
	wg.Wait()
	for _, n := range nodes {
		n.stop(t, syscall.SIGTERM)
	}
	t.Logf("%d answers, %d failed requests over %d restarts", ok.Load(), len(failures), restarts)
	if len(failures) > 0 {
		if len(failures) > 10 {
			failures = append(failures[:10], "...")
		}
		t.Errorf("%d requests failed during rolling restarts (want none):\n%s", len(failures), joinLines(failures))
		for i, s := range started {
			t.Logf("node start %d, stderr:\n%s", i, s.stderr)
		}
	}
}

// refusedAtConnect says whether err is a reset while connecting: the
// stopping node closed its listener with this connection's handshake just
// done and not yet accepted (a window of microseconds, README "Rolling
// restarts"). connect() failed, so no byte of the request was sent: the
// connection was refused, as a load balancer that retries a failed connect
// on the next node sees it.
func refusedAtConnect(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && errors.Is(err, syscall.ECONNRESET)
}

func joinLines(s []string) string {
	var b bytes.Buffer
	for _, l := range s {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
