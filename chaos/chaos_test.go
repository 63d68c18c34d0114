package chaos

// The chaos suite: three built `firstmate serve` nodes on one PostgreSQL,
// each through its own Proxy, under an async run with on:all callbacks,
// cron schedules firing every minute and live traffic from several
// workspaces, while the harness kills nodes with SIGKILL, cuts one node off
// the database and slows another, restarts PostgreSQL (pg_ctl restart -m
// fast), and restarts the three nodes one by one. Then it checks the
// invariants and prints them as a table.
//
// PostgreSQL is a private cluster the suite makes with initdb and starts on
// a free port (postgres_test.go), so that it can restart it without disturbing
// the tests that share the server at 5432. Where initdb is missing, the
// suite runs on that shared server (FIRSTMATE_TEST_DATABASE_URL) and, in
// place of the restart, cuts every node off at its proxy for 8 s (what the
// nodes see of a restart, without the server's own recovery), and says so.
//
// Sizes, the full ones: a 50,000-input async run with on:all
// callbacks (googlemaps-extract-place: no account, one result and one credit
// an input, so exactly-once outputs, charges and callbacks are exact
// counts), beside it a 2,000-input linkedin-extract-people run in auto mode
// over 8 sim_user accounts (the account paths: locks, Smart Limits), 500
// every-minute cron schedules (in a workspace of their own on the unlimited
// plan), live traffic from three workspaces, and three live clients on one
// LinkedIn identity whose Smart Limit (150 profile visits, 30 on its first
// day) they exhaust on three nodes through the faults. The nodes run with
// the defaults (FIRSTMATE_INFLIGHT 4096, the instant simulator in process)
// and 8 run workers, a short callback retry schedule and a 2 s drain.
//
// Faults: for 130 s a random node is killed with SIGKILL and restarted, the
// first time 5-15 s in, then every 20-40 s (3 to 6 kills); beside the
// kills, 10 s in, PostgreSQL restarts, then one node is cut off PostgreSQL
// for 20 s, then one is slowed by 200 ms a round trip for 20 s; then the
// three nodes restart one by one (SIGTERM). The faults come early because on
// an idle machine the 50,000 inputs are done about 45 s in (CI, 2026-12-07:
// with the restart last, it came after the outputs). The invariants are then checked with up to 60 s for runs
// to end and callbacks to arrive.
//
// Measured with these sizes (TestChaos's own time; the `go test` step adds
// the builds), on two cores shared with other builds: 3m35s, every
// invariant PASS, at a 1-min load of 25-38 (4m08s for the step); 4m24s at a
// load of 40 (5m22s for the step), where a node killed during the
// PostgreSQL cut took 90 s to become ready again and the two runs' callbacks
// were still arriving 60 s after the faults (FAIL); 5m48s at a load of
// 17-40 with the repository's whole `go test ./...` running beside it
// (6m28s for the step, just under .ci/run's 390 s): the nodes got so little
// CPU that the 50,000-input run was at 23,410 outputs when the faults ended
// and at 47,211 a minute later (FAIL). The faults are bounded in time, not
// in count; what is not bounded is the drain, which needs the run's
// throughput: at full size the suite fits CI's 6 minutes only while the
// machine is not busy with other work (CI runs the step alone).
//
// 2026-12-07, after the drain and readiness fixes (h/drain): three runs,
// every invariant PASS, each node ready 0.5-3.7 s after its restart, zero
// failed requests of 603, 282 and 680 during the rolling restarts: 2m42s
// at a load of 11-24 (the drain fix only); 2m53s at 13-23 with the whole `go test ./...`
// beside it; 2m36s at 23-34. The callbacks are now waited for while they
// keep arriving (their invariant has no time bound; the runs' 60 s is
// unchanged).

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	crand "crypto/rand"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
)

const (
	asyncInputs = 50_000 // googlemaps-extract-place: no account, one result each
	liInputs    = 2_000  // linkedin-extract-people, auto mode over liAccounts sim_user identities
	liAccounts  = 8
	schedules   = 500
	liveSpaces  = 3
	// The Smart Limit workspace's identity: profile_visits set to limitSet;
	// a new identity runs at 1/5 of its maximum on day 1 (contract §8, rounded
	// up), so limitQuota live calls may go through, and no more.
	limitSet   = 150
	limitQuota = (limitSet + 4) / 5
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "firstmate-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "firstmate")
	build := exec.Command("go", "build", "-o", bin, "../cmd/firstmate")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build firstmate:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func pgBase() string {
	if u := os.Getenv("FIRSTMATE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// node is one serve process, restartable on the same address.
type node struct {
	name, addr, dbURL, dataDir string
	env                        []string
	proxy                      *Proxy

	// notReady is the last answer of /readyz other than 200 while the
	// node started (start's goroutine only).
	notReady string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *lockedWriter
}

func (n *node) base() string { return "http://" + n.addr }

// start starts the node and waits until it is ready; a node that exits
// while starting (the database unreachable: every node cut off) is started
// again, as systemd's Restart=on-failure would.
//
// It returns how long the node took to be ready and, when it answered
// /readyz with anything but 200 on the way, its last such answer (what a
// slow start waited for).
func (n *node) start(t *testing.T) (time.Duration, string) {
	t.Helper()
	began := time.Now()
	end := began.Add(90 * time.Second)
	for !n.startOnce(t, end) {
		if time.Now().After(end) {
			t.Errorf("%s not ready after 90 s (last /readyz answer: %s):\n%s", n.name, n.notReady, tail(n.log.String()))
			return time.Since(began), n.notReady
		}
		time.Sleep(time.Second)
	}
	return time.Since(began), n.notReady
}

func (n *node) startOnce(t *testing.T, end time.Time) bool {
	cmd := exec.Command(bin, "serve", "--addr", n.addr, "--data-dir", n.dataDir, "--database-url", n.dbURL)
	cmd.Env = n.env
	// One log across the node's starts (the cause of a stall is often in an
	// earlier life of the node).
	n.mu.Lock()
	if n.log == nil {
		n.log = &lockedWriter{w: &bytes.Buffer{}}
	}
	logb := n.log
	n.mu.Unlock()
	fmt.Fprintf(logb, "--- %s started at %s\n", n.name, time.Now().Format("15:04:05.000"))
	cmd.Stdout, cmd.Stderr = io.Discard, logb
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Error(err)
		return false
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	n.mu.Lock()
	n.cmd, n.exited = cmd, exited
	n.mu.Unlock()
	n.notReady = ""
	for {
		res, err := http.Get(n.base() + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return true
			}
			n.notReady = fmt.Sprintf("%d %.300s", res.StatusCode, body)
		}
		select {
		case <-exited:
			return false
		default:
		}
		if time.Now().After(end) {
			n.signal(syscall.SIGKILL)
			<-exited
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (n *node) signal(sig syscall.Signal) chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	_ = n.cmd.Process.Signal(sig)
	return n.exited
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.(*bytes.Buffer).String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	p, err := NewProxy("127.0.0.1:1") // only to get a free port
	if err != nil {
		t.Fatal(err)
	}
	a := p.Addr()
	p.Close()
	return a
}

// client calls the API through any node, trying the next node only when a
// connection is refused (a node restarting), as a client behind a simple
// balancer would.
type client struct {
	nodes []*node
	http  *http.Client
}

var errRefused = errors.New("every node refused the connection")

func (c *client) do(method, path, key string, body any, out any) (int, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	start := rand.IntN(len(c.nodes))
	for i := range c.nodes {
		n := c.nodes[(start+i)%len(c.nodes)]
		req, _ := http.NewRequest(method, n.base()+path, bytes.NewReader(raw))
		req.Header.Set("X-API-Key", key)
		req.Header.Set("Content-Type", "application/json")
		res, err := c.http.Do(req)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue
			}
			return 0, err
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if out != nil {
			_ = json.Unmarshal(data, out)
		}
		return res.StatusCode, nil
	}
	return 0, errRefused
}

// receiver records callbacks: per run (the URL's last segment) the
// callbacks per custom_data idx, and the final ones (no custom_data).
type receiver struct {
	mu     sync.Mutex
	byIdx  map[string]map[int]int
	finals map[string]int
	sched  atomic.Int64
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(400)
		return
	}
	if strings.HasPrefix(req.URL.Path, "/sched") {
		r.sched.Add(1)
		w.WriteHeader(200)
		return
	}
	run := req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]
	var body struct {
		CustomData *struct {
			Idx int `json:"idx"`
		} `json:"custom_data"`
	}
	_ = json.Unmarshal(raw, &body)
	r.mu.Lock()
	if body.CustomData != nil {
		m := r.byIdx[run]
		if m == nil {
			m = map[int]int{}
			r.byIdx[run] = m
		}
		m[body.CustomData.Idx]++
	} else {
		r.finals[run]++
	}
	r.mu.Unlock()
	w.WriteHeader(200)
}

// counts is, for one run, the inputs called back, the duplicates and the
// final callbacks.
func (r *receiver) counts(run string) (distinct, dups, finals int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.byIdx[run] {
		dups += c - 1
	}
	return len(r.byIdx[run]), dups, r.finals[run]
}

// TestChaos runs when FIRSTMATE_CHAOS=1 (.ci/run sets it and runs it in a
// step of its own, bounded to 6 minutes): it takes 3.5 to 4.5 minutes, most
// of them faults, and would otherwise lengthen every `go test ./...`.
func TestChaos(t *testing.T) {
	if os.Getenv("FIRSTMATE_CHAOS") != "1" {
		t.Skip("the chaos suite runs with FIRSTMATE_CHAOS=1 (about 4 minutes; .ci/run runs it)")
	}
	ctx := context.Background()
	began := time.Now()
	base := pgBase()
	cluster, err := StartCluster(ctx)
	if err != nil {
		t.Logf("no private PostgreSQL cluster (%v): running on the shared server %s, and the PostgreSQL restart is simulated by cutting every node off at its proxy",
			err, base)
	} else {
		defer cluster.Stop()
		base = cluster.URL()
		t.Logf("private PostgreSQL cluster on %s, started in %s", base, time.Since(began).Round(time.Millisecond))
	}
	// A fresh schema, dropped at the end.
	b := make([]byte, 6)
	_, _ = crand.Read(b)
	schema := "fmchaos_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("FIRSTMATE_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	admin.Close(ctx)
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, base); err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	direct, _ := url.Parse(base)
	q := direct.Query()
	q.Set("search_path", schema)
	direct.RawQuery = q.Encode()
	db, err := sql.Open("pgx", direct.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	rc := &receiver{byIdx: map[string]map[int]int{}, finals: map[string]int{}}
	recvSrv := &http.Server{Handler: rc}
	recvAddr := freeAddr(t)
	ln, err := netListen(recvAddr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = recvSrv.Serve(ln) }()
	defer recvSrv.Close()

	const key = "fm_chaossuitebootstrapkey23456789"
	secret := "k1:" + strings.Repeat("Q", 43) + "="
	var nodes []*node
	for i := 1; i <= 3; i++ {
		p, err := NewProxy(direct.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		u := *direct
		u.Host = p.Addr()
		n := &node{name: fmt.Sprintf("node%d", i), addr: freeAddr(t), dbURL: u.String(), dataDir: t.TempDir(), proxy: p,
			env: append(os.Environ(), "FIRSTMATE_BOOTSTRAP_API_KEY="+key, "FIRSTMATE_SECRET_KEY="+secret,
				"FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true", "FIRSTMATE_ACCESS_LOG=off", "FIRSTMATE_LOG_LEVEL=warn",
				"FIRSTMATE_CALLBACK_RETRY_SCHEDULE=0s,1s,2s,3s,5s,5s,5s,5s,5s,5s", "FIRSTMATE_RUN_WORKERS=8",
				"FIRSTMATE_SHUTDOWN_DRAIN=2s", "FIRSTMATE_SHUTDOWN_TIMEOUT=20s")}
		n.start(t)
		nodes = append(nodes, n)
		defer func() {
			select {
			case <-n.exited:
			default:
				n.signal(syscall.SIGKILL)
				<-n.exited
			}
		}()
	}
	cl := &client{nodes: nodes, http: &http.Client{Timeout: 60 * time.Second}}
	must := func(status int, method, path, key string, body any, out any) {
		t.Helper()
		for attempt := 0; ; attempt++ {
			code, err := cl.do(method, path, key, body, out)
			if err == nil && code == status {
				return
			}
			if attempt == 5 {
				t.Fatalf("%s %s: %d %v", method, path, code, err)
			}
			t.Logf("%s %s: %d %v (try %d)", method, path, code, err, attempt+1)
			time.Sleep(time.Second)
		}
	}
	t.Logf("three nodes ready %s after the start", time.Since(began).Round(time.Millisecond))

	// Workspaces: the demo one (schedules and live traffic), two more of
	// live traffic, one for the 50,000-input run, one for the LinkedIn run
	// on sim_user accounts, and one whose identity's Smart Limit the live
	// clients exhaust.
	newWorkspace := func(name string) string {
		t.Helper()
		var created struct {
			APIKey string `json:"api_key"`
		}
		cmd := exec.Command(bin, "workspace", "create", "--name", name, "--owner-email",
			strings.ToLower(strings.ReplaceAll(name, " ", ""))+"@example.com", "--plan", "unlimited", "--json",
			"--database-url", nodes[0].dbURL, "--data-dir", t.TempDir())
		cmd.Env = nodes[0].env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("workspace create %s: %v", name, err)
		}
		if err := json.Unmarshal(out, &created); err != nil || created.APIKey == "" {
			t.Fatalf("workspace create %s: %v %s", name, err, out)
		}
		return created.APIKey
	}
	liveKeys := []string{key}
	for i := 0; i < liveSpaces-1; i++ {
		liveKeys = append(liveKeys, newWorkspace(fmt.Sprintf("Live %d", i)))
	}
	asyncKey, liKey, limitKey := newWorkspace("Async"), newWorkspace("Accounts"), newWorkspace("Limits")
	// The schedules' own workspace on the unlimited plan (1,000 runs at
	// once): on the demo workspace's plan (10 at once) 500 firings a minute
	// queue behind each other, and a firing whose run is still waiting at
	// the next minute skips it (the overlap policy).
	schedKey := newWorkspace("Schedules")
	identity := func(key string, n, visits int) string {
		t.Helper()
		var id map[string]any
		must(200, "POST", "/v4/identities", key, map[string]any{"name": fmt.Sprintf("Chaos %d", n)}, &id)
		uid := id["uid"].(string)
		must(200, "POST", "/v4/identities/"+uid+"/integrations/linkedin", key,
			map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": fmt.Sprintf("sim_user_%d", n)}}}, nil)
		must(200, "PUT", "/v4/identities/"+uid+"/limits", key, map[string]any{"profile_visits": visits, "profile_enrichments": 100_000}, nil)
		return uid
	}
	var liIDs []string
	for i := 1; i <= liAccounts; i++ {
		liIDs = append(liIDs, identity(liKey, 1000+i, 100_000))
	}
	limitID := identity(limitKey, 2001, limitSet)
	var lim []struct {
		Key       string `json:"key"`
		MaxLimit  int    `json:"max_limit"`
		Consumed  int    `json:"consumed"`
		Remaining int    `json:"remaining"`
	}
	must(200, "GET", "/v4/identities/"+limitID+"/actions/linkedin-extract-people/limits", limitKey, nil, &lim)
	for _, l := range lim {
		if l.Key == "profile_visits" && (l.MaxLimit != limitQuota || l.Remaining != limitQuota) {
			t.Fatalf("Smart Limit identity: profile_visits %+v, want a maximum and remaining of %d (1/5 of %d on day 1)", l, limitQuota, limitSet)
		}
	}

	// 500 every-minute schedules, made by 8 clients at once; each one's
	// creation time is kept to count the minutes it was due.
	schedMade := map[string]time.Time{}
	{
		var mu sync.Mutex
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					var out struct {
						UID string `json:"schedule_uid"`
					}
					var code int
					var err error
					for attempt := 0; attempt < 5; attempt++ {
						code, err = cl.do("POST", "/v4/actions/googlemaps-extract-place/run/schedule", schedKey, map[string]any{
							"inputs":   []any{map[string]any{"google_maps_place_url": fmt.Sprintf("https://www.google.com/maps/place/sched-%d", i)}},
							"callback": map[string]any{"url": "http://" + recvAddr + "/sched", "on": "final"}, "cron": "* * * * *", "timezone": "UTC",
							"name": fmt.Sprintf("Chaos %d", i)}, &out)
						if err == nil && code == 200 {
							break
						}
						time.Sleep(time.Second)
					}
					if out.UID == "" {
						t.Errorf("schedule %d: %d %v", i, code, err)
						continue
					}
					mu.Lock()
					schedMade[out.UID] = time.Now()
					mu.Unlock()
				}
			}()
		}
		for i := 0; i < schedules; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d schedules made at %s", schedules, time.Since(began).Round(time.Millisecond))

	// The async runs, submitted as raw JSON (50,000 inputs).
	submit := func(slug, key string, head string, n int, input func(i int) string, hook string) string {
		t.Helper()
		var b bytes.Buffer
		b.WriteString(`{` + head + `"callback":{"url":"http://` + recvAddr + `/hook/` + hook + `","on":"all"},"inputs":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(input(i))
		}
		b.WriteString(`]}`)
		var sub map[string]any
		must(200, "POST", "/v4/actions/"+slug+"/run/async", key, json.RawMessage(b.Bytes()), &sub)
		return sub["run_uid"].(string)
	}
	ids, _ := json.Marshal(liIDs)
	liRun := submit("linkedin-extract-people", liKey, `"identity_mode":"auto","identity_ids":`+string(ids)+`,`, liInputs, func(i int) string {
		return fmt.Sprintf(`{"linkedin_profile_url":"https://www.linkedin.com/in/chaos-%d","custom_data":{"idx":%d}}`, i, i)
	}, "li")
	t.Logf("%d-input run submitted at %s", liInputs, time.Since(began).Round(time.Millisecond))
	placeRun := submit("googlemaps-extract-place", asyncKey, "", asyncInputs, func(i int) string {
		return fmt.Sprintf(`{"google_maps_place_url":"https://www.google.com/maps/place/chaos-%d","custom_data":{"idx":%d}}`, i, i)
	}, "place")
	t.Logf("runs submitted at %s", time.Since(began).Round(time.Millisecond))
	t.Logf("set up (workspaces, identities, %d schedules, a %d-input and a %d-input run) at %s", schedules, asyncInputs, liInputs,
		time.Since(began).Round(time.Millisecond))

	// Live traffic until the end: two clients per live workspace (Google
	// Maps, no account), and three on the Smart Limit identity. A client
	// retries nothing but a refused connection (on the next node); an
	// answer of 429 LIMIT_REACHED is the limit working, not a failure.
	var rolling atomic.Bool
	var liveOK, liveFailed, rollingFailed, rollingOK atomic.Int64
	var limitOK, limitReached, limitOther atomic.Int64
	var limitOutcomes sync.Map // "code label error" -> *atomic.Int64
	var rollingErrs sync.Map
	stopLive := make(chan struct{})
	var liveWG sync.WaitGroup
	liveClient := func(k string, limited bool) {
		defer liveWG.Done()
		lc := &client{nodes: nodes, http: &http.Client{Timeout: 30 * time.Second}}
		for i := 0; ; i++ {
			select {
			case <-stopLive:
				return
			default:
			}
			var code int
			var err error
			var out struct {
				Label string `json:"error_label"`
			}
			if limited {
				code, err = lc.do("POST", "/v4/actions/linkedin-extract-people/run/live", k, map[string]any{"identity_ids": []string{limitID},
					"input": map[string]any{"linkedin_profile_url": fmt.Sprintf("https://www.linkedin.com/in/limit-%d", rand.IntN(1_000_000))}}, &out)
			} else {
				code, err = lc.do("POST", "/v4/actions/googlemaps-search-places/run/live", k,
					map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/live"}}, nil)
			}
			reached := code == 429 && out.Label == "LIMIT_REACHED"
			// On the LinkedIn identity an upstream refusal (424, or 429 when
			// the simulated platform rate limits the account) is an answer
			// too; a refused connection retried on another node is not seen.
			ok := err == nil && (code == 200 || (limited && (code == 429 || code == 424)))
			if limited {
				k := fmt.Sprintf("%d %s", code, out.Label)
				if err != nil {
					k = fmt.Sprintf("error %T", err)
				}
				c, _ := limitOutcomes.LoadOrStore(k, new(atomic.Int64))
				c.(*atomic.Int64).Add(1)
			}
			switch {
			case !limited:
			case err == nil && code == 200:
				limitOK.Add(1)
			case reached:
				limitReached.Add(1)
			default:
				limitOther.Add(1)
			}
			if ok {
				liveOK.Add(1)
			} else {
				liveFailed.Add(1)
			}
			if rolling.Load() {
				if ok {
					rollingOK.Add(1)
				} else {
					rollingFailed.Add(1)
					rollingErrs.Store(fmt.Sprintf("%d %v", code, err), true)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, k := range liveKeys {
		for c := 0; c < 2; c++ {
			liveWG.Add(1)
			go liveClient(k, false)
		}
	}
	for c := 0; c < 3; c++ {
		liveWG.Add(1)
		go liveClient(limitKey, true)
	}

	// Faults: for faultWindow, a random node killed with kill -9 every
	// 20-40 s and restarted; beside the kills, one node cut off PostgreSQL
	// for 20 s, one slowed for 20 s, and PostgreSQL restarted once. Then a
	// rolling restart of the three.
	const faultWindow = 130 * time.Second
	var events []string
	var eventsMu sync.Mutex // the kills' goroutine and the network faults record events at once
	ev := func(format string, args ...any) {
		s := fmt.Sprintf("%6.1fs  ", time.Since(began).Seconds()) + fmt.Sprintf(format, args...)
		eventsMu.Lock()
		events = append(events, s)
		eventsMu.Unlock()
		t.Log(s)
	}
	progress := func() {
		var placeOut, liOut int
		_ = db.QueryRow(`SELECT count(*) FROM run_outputs o JOIN runs r ON r.id = o.run_id WHERE r.uid = $1`, placeRun).Scan(&placeOut)
		_ = db.QueryRow(`SELECT count(*) FROM run_outputs o JOIN runs r ON r.id = o.run_id WHERE r.uid = $1`, liRun).Scan(&liOut)
		pc, _, _ := rc.counts("place")
		lc, _, _ := rc.counts("li")
		ev("progress: outputs %d + %d, callbacks %d + %d, schedule callbacks %d, Smart Limit calls %d ok / %d reached",
			placeOut, liOut, pc, lc, rc.sched.Load(), limitOK.Load(), limitReached.Load())
	}
	faultsStart := time.Now()
	kills := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			// The first kill comes 5-15 s in, while the async runs are
			// still going on an idle machine (they end about 45 s in
			// there); the next every 20-40 s.
			wait := time.Duration(20+rand.IntN(21)) * time.Second
			if i == 0 {
				wait = time.Duration(5+rand.IntN(11)) * time.Second
			}
			if time.Since(faultsStart)+wait > faultWindow {
				return
			}
			time.Sleep(wait)
			n := nodes[rand.IntN(len(nodes))]
			<-n.signal(syscall.SIGKILL)
			kills++
			ev("kill -9 %s", n.name)
			progress()
			took, notReady := n.start(t)
			ev("%s restarted, ready in %s%s", n.name, took.Round(100*time.Millisecond), notReadyNote(notReady))
		}
	}()
	// PostgreSQL restarts first, 10 s in, then the cut and the slow link:
	// on an idle machine the async runs are still going through all three.
	time.Sleep(10 * time.Second)
	if cluster != nil {
		ev("PostgreSQL restarting (pg_ctl restart -m fast)")
		down, err := cluster.Restart(ctx)
		if err != nil {
			t.Fatalf("PostgreSQL restart: %v\n%s", err, cluster.Log())
		}
		ev("PostgreSQL restarted (pg_ctl took %s)", down.Round(time.Millisecond))
	} else {
		for _, n := range nodes {
			n.proxy.Cut(true)
		}
		ev("every node cut off from PostgreSQL (in place of a PostgreSQL restart: no initdb)")
		time.Sleep(8 * time.Second)
		for _, n := range nodes {
			n.proxy.Cut(false)
		}
		ev("every node reconnected")
	}
	time.Sleep(5 * time.Second)
	cut := nodes[rand.IntN(3)]
	cut.proxy.Cut(true)
	ev("%s cut off from PostgreSQL", cut.name)
	time.Sleep(20 * time.Second)
	cut.proxy.Cut(false)
	ev("%s reconnected", cut.name)
	slow := nodes[rand.IntN(3)]
	slow.proxy.Slow(100 * time.Millisecond)
	ev("%s slowed to +200 ms per round trip", slow.name)
	time.Sleep(20 * time.Second)
	slow.proxy.Slow(0)
	ev("%s at full speed", slow.name)
	<-done
	progress()
	// Rolling restart, with live traffic counted.
	rolling.Store(true)
	for _, n := range nodes {
		sent := time.Now()
		<-n.signal(syscall.SIGTERM)
		ev("%s stopped by SIGTERM in %s", n.name, time.Since(sent).Round(time.Millisecond))
		took, notReady := n.start(t)
		ev("%s restarted, ready in %s%s", n.name, took.Round(100*time.Millisecond), notReadyNote(notReady))
	}
	rolling.Store(false)
	faultsEnd := time.Now()
	ev("faults over (%s of faults, %d kills)", faultsEnd.Sub(faultsStart).Round(time.Second), kills)
	progress()

	// Every run made before the faults' end terminal within 60 s of it,
	// and the two runs' callbacks in (the final ones follow the runs' end).
	var nonTerminal int
	for end := faultsEnd.Add(60 * time.Second); ; {
		_ = db.QueryRow(`SELECT count(*) FROM runs WHERE created_at < $1 AND status IN ('CREATED', 'QUEUED', 'RUNNING', 'SCHEDULED')`,
			faultsEnd.UnixMilli()).Scan(&nonTerminal)
		pc, _, pf := rc.counts("place")
		lc, _, lf := rc.counts("li")
		if (nonTerminal == 0 && pc == asyncInputs && lc == liInputs && pf > 0 && lf > 0) || time.Now().After(end) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	ev("runs terminal (%d not) and callbacks in", nonTerminal)
	// Callbacks have no time bound of their own (every one delivered,
	// duplicates under 0.5%): on a loaded machine they may still be
	// arriving when the runs' 60 s are over. The suite waits for them as
	// long as they keep arriving (some in every 15 s), within the CI step's
	// bound (5m15s since the start, leaving time for the checks).
	callbacksIn := func() int {
		pc, _, pf := rc.counts("place")
		lc, _, lf := rc.counts("li")
		n := pc + lc
		if pf > 0 {
			n++
		}
		if lf > 0 {
			n++
		}
		return n
	}
	if want := asyncInputs + liInputs + 2; callbacksIn() < want {
		last, progressed := callbacksIn(), time.Now()
		for callbacksIn() < want && time.Since(progressed) < 15*time.Second && time.Since(began) < 5*time.Minute+15*time.Second {
			time.Sleep(500 * time.Millisecond)
			if n := callbacksIn(); n > last {
				last, progressed = n, time.Now()
			}
		}
		ev("callbacks still arriving after the runs' 60 s: waited for them while they came, %d of %d in", callbacksIn(), want)
	}
	if nonTerminal == 0 {
		// A final callback may still be on its way.
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			_, _, pf := rc.counts("place")
			_, _, lf := rc.counts("li")
			if pf > 0 && lf > 0 {
				break
			}
		}
	}
	close(stopLive)
	liveWG.Wait()

	// Invariants.
	type row struct {
		name, got, want string
		ok              bool
	}
	var rows []row
	add := func(name string, ok bool, got, want string) { rows = append(rows, row{name, got, want, ok}) }

	credits := func(key string) int {
		var ws map[string]any
		must(200, "GET", "/v4/workspaces", key, nil, &ws)
		f, _ := ws["credits_used"].(float64)
		return int(f)
	}
	var dupNote []string
	allDups := 0
	for _, r := range []struct {
		name, uid, hook, key string
		n                    int
	}{{"googlemaps-extract-place", placeRun, "place", asyncKey, asyncInputs}, {"linkedin-extract-people", liRun, "li", liKey, liInputs}} {
		var outputs, distinctInputs int
		var status string
		_ = db.QueryRow(`SELECT count(o.id), count(DISTINCT o.input_idx), min(r.status) FROM runs r LEFT JOIN run_outputs o ON o.run_id = r.id WHERE r.uid = $1`,
			r.uid).Scan(&outputs, &distinctInputs, &status)
		add(fmt.Sprintf("%s: every input's output exactly once", r.name), outputs == r.n && distinctInputs == r.n && status == "SUCCEEDED",
			fmt.Sprintf("%d outputs, %d inputs, run %s", outputs, distinctInputs, status), fmt.Sprintf("%d, %d, SUCCEEDED", r.n, r.n))
		// One result per input at credit ratio 1 (contract §5).
		used := credits(r.key)
		add(fmt.Sprintf("%s: every result charged exactly once", r.name), used == r.n, fmt.Sprint(used), fmt.Sprint(r.n))
		distinct, dups, finals := rc.counts(r.hook)
		add(fmt.Sprintf("%s: every callback delivered", r.name), distinct == r.n && finals >= 1,
			fmt.Sprintf("%d inputs, %d final", distinct, finals), fmt.Sprintf("%d inputs, 1 final", r.n))
		dupNote = append(dupNote, fmt.Sprintf("%s %d of %d", r.hook, dups, r.n))
		allDups += dups
	}
	// Duplicates over all the runs' callbacks (a kill during a small run's
	// deliveries weighs more on its own share).
	add("callback duplicates under 0.5% (both runs)", float64(allDups) < 0.005*float64(asyncInputs+liInputs),
		fmt.Sprintf("%d (%.2f%%: %s)", allDups, 100*float64(allDups)/float64(asyncInputs+liInputs), strings.Join(dupNote, ", ")), "< 0.5%")

	// Smart Limits: the live clients ran past the identity's quota on three
	// nodes through the faults. No more than the quota was consumed or
	// answered; the quota was used up; what was consumed and not answered
	// 200 is at most the calls that ended without an answer (a node killed
	// mid-call). Its credits follow the same bounds (one result a call).
	must(200, "GET", "/v4/identities/"+limitID+"/actions/linkedin-extract-people/limits", limitKey, nil, &lim)
	consumed := -1
	for _, l := range lim {
		if l.Key == "profile_visits" {
			consumed = l.Consumed
		}
	}
	okN, otherN := int(limitOK.Load()), int(limitOther.Load())
	add("Smart Limit exact across nodes (live, one identity)",
		consumed == limitQuota && okN <= limitQuota && consumed-okN <= otherN && limitReached.Load() > 0,
		fmt.Sprintf("consumed %d, %d answered 200, %d LIMIT_REACHED, %d unanswered", consumed, okN, limitReached.Load(), otherN),
		fmt.Sprintf("consumed %d, 200s <= %d, consumed - 200s <= unanswered", limitQuota, limitQuota))
	var outcomes []string
	limitOutcomes.Range(func(k, v any) bool {
		outcomes = append(outcomes, fmt.Sprintf("%s: %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	t.Logf("Smart Limit clients' answers: %v", outcomes)
	limitCredits := credits(limitKey)
	add("credits exact for the Smart Limit workspace (live)", limitCredits >= okN && limitCredits <= okN+otherN,
		fmt.Sprint(limitCredits), fmt.Sprintf("%d to %d", okN, okN+otherN))

	// Schedules: every minute boundary since a schedule was made is a slot.
	// A slot fires exactly one run, made within its minute, unless the
	// previous firing's run was still going at the slot (contract §6's
	// overlap policy: skipped) or the slot is under 15 s old (on its way).
	// No slot fires twice, none is lost, and every schedule fired at least
	// twice.
	// A run's finished_at is stamped before its last commit, which on this
	// busy box can land seconds later: a run stamped finished up to
	// commitLag before a slot may still have been going when it fired.
	const commitLag = 5_000 // ms
	// Every schedule's second slot has had 20 s to fire (on a fast machine
	// the faults and the drain may end before it).
	var lastMade time.Time
	for _, made := range schedMade {
		if made.After(lastMade) {
			lastMade = made
		}
	}
	if until := time.UnixMilli((lastMade.UnixMilli()/60_000+2)*60_000 + 20_000); time.Now().Before(until) {
		t.Logf("waiting %s for every schedule's second slot", time.Until(until).Round(time.Second))
		time.Sleep(time.Until(until))
	}
	checked := time.Now()
	type firing struct{ created, finished int64 }
	firings := map[string][]firing{}
	rowsq, err := db.Query(`SELECT scheduled_run_uid, created_at, COALESCE(finished_at, 0) FROM runs WHERE scheduled_run_uid <> '' ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	for rowsq.Next() {
		var uid string
		var f firing
		_ = rowsq.Scan(&uid, &f.created, &f.finished)
		firings[uid] = append(firings[uid], f)
	}
	rowsq.Close()
	var slotsFired, slotsSkipped, slotsPending, slotsLost, slotsTwice, firedTotal int
	var badSched []string
	minFired := 1 << 30
	for uid, made := range schedMade {
		fs := firings[uid]
		firedTotal += len(fs)
		minFired = min(minFired, len(fs))
		if len(fs) < 2 {
			badSched = append(badSched, fmt.Sprintf("%s fired %d times", uid, len(fs)))
		}
		for b := (made.UnixMilli()/60_000 + 1) * 60_000; b <= checked.UnixMilli(); b += 60_000 {
			in, prev := 0, -1
			for i, f := range fs {
				if f.created >= b && f.created < b+60_000 {
					in++
				}
				if f.created < b {
					prev = i
				}
			}
			switch {
			case in == 1:
				slotsFired++
			case in > 1:
				slotsTwice++
				badSched = append(badSched, fmt.Sprintf("%s fired %d times in the slot %s", uid, in, time.UnixMilli(b).UTC().Format("15:04")))
			case prev >= 0 && (fs[prev].finished == 0 || fs[prev].finished > b-commitLag):
				slotsSkipped++
			case b > checked.UnixMilli()-15_000:
				slotsPending++
			default:
				slotsLost++
				var fl []string
				for _, f := range fs {
					fl = append(fl, fmt.Sprintf("made %s finished %s", time.UnixMilli(f.created).UTC().Format("15:04:05.0"),
						time.UnixMilli(f.finished).UTC().Format("15:04:05.0")))
				}
				badSched = append(badSched, fmt.Sprintf("%s lost the slot %s (its runs: %s)", uid, time.UnixMilli(b).UTC().Format("15:04"),
					strings.Join(fl, ", ")))
			}
		}
	}
	if len(badSched) > 5 {
		badSched = append(badSched[:5], "...")
	}
	add("every schedule fires exactly once per due minute (at least twice)", len(schedMade) == schedules && len(badSched) == 0,
		fmt.Sprintf("%d schedules, %d firings (each >= %d): slots fired once %d, skipped as the previous run was going %d, on their way %d, twice %d, lost %d %v",
			len(schedMade), firedTotal, minFired, slotsFired, slotsSkipped, slotsPending, slotsTwice, slotsLost, badSched),
		fmt.Sprintf("%d schedules, each >= 2 firings, 0 twice, 0 lost", schedules))
	add("no run non-terminal 60 s after the faults", nonTerminal == 0, fmt.Sprint(nonTerminal), "0")
	var errs []string
	rollingErrs.Range(func(k, _ any) bool { errs = append(errs, k.(string)); return true })
	add("zero failed requests during the rolling restart", rollingFailed.Load() == 0,
		fmt.Sprintf("%d failed of %d %v", rollingFailed.Load(), rollingFailed.Load()+rollingOK.Load(), errs), "0")

	var b2 strings.Builder
	fmt.Fprintf(&b2, "\nchaos: 3 nodes, %d + %d async inputs, %d schedules, %d live workspaces + 1 on a Smart Limit; %d live calls ok, %d failed during faults; %d schedule callbacks; %s in all\n",
		asyncInputs, liInputs, schedules, liveSpaces, liveOK.Load(), liveFailed.Load(), rc.sched.Load(), time.Since(began).Round(time.Second))
	eventsMu.Lock()
	for _, e := range events {
		fmt.Fprintln(&b2, "  "+e)
	}
	eventsMu.Unlock()
	fmt.Fprintf(&b2, "\n| invariant | got | want | |\n|---|---|---|---|\n")
	for _, r := range rows {
		mark := "PASS"
		if !r.ok {
			mark = "FAIL"
			t.Errorf("invariant %q: got %s, want %s", r.name, r.got, r.want)
		}
		fmt.Fprintf(&b2, "| %s | %s | %s | %s |\n", r.name, r.got, r.want, mark)
	}
	fmt.Print(b2.String())
	if t.Failed() {
		diagnose(t, db)
		for _, r := range []struct{ uid, hook string }{{placeRun, "place"}, {liRun, "li"}} {
			q := func(title, query string, args ...any) { query1(t, db, title, query, args...) }
			q("deliveries of run "+r.hook, `SELECT d.event, d.status, d.retry_count, d.http_status, left(d.last_error, 120) AS last_error, count(*)
				FROM deliveries d JOIN runs x ON x.id = d.run_id WHERE x.uid = $1 GROUP BY 1, 2, 3, 4, 5 ORDER BY 6 DESC LIMIT 15`, r.uid)
			rc.mu.Lock()
			var missing []int
			n := asyncInputs
			if r.hook == "li" {
				n = liInputs
			}
			for i := 0; i < n && len(missing) < 3; i++ {
				if rc.byIdx[r.hook][i] == 0 {
					missing = append(missing, i)
				}
			}
			rc.mu.Unlock()
			for _, i := range missing {
				q(fmt.Sprintf("run %s: deliveries of input %d (never called back)", r.hook, i), `SELECT d.id, d.uid, d.parent_uid, d.event, d.status,
					d.retry_count, d.http_status, d.next_attempt_at, d.created_at, d.updated_at, left(d.last_error, 200) AS last_error
					FROM deliveries d JOIN runs x ON x.id = d.run_id WHERE x.uid = $1 AND d.payload LIKE $2`, r.uid, fmt.Sprintf(`%%"idx":%d}%%`, i))
				q(fmt.Sprintf("run %s: input %d", r.hook, i), `SELECT i.status, i.chunk, i.attempts, i.batch_uid, i.updated_at FROM run_inputs i JOIN runs x ON x.id = i.run_id
					WHERE x.uid = $1 AND i.idx = $2`, r.uid, i)
			}
		}
		for _, n := range nodes {
			f := filepath.Join(os.TempDir(), schema+"-"+n.name+".log")
			_ = os.WriteFile(f, []byte(n.log.String()), 0o644)
			t.Logf("%s log (whole: %s), tail:\n%s", n.name, f, tail(n.log.String()))
		}
	}
}

// notReadyNote is, for the events, a node's last not-ready answer while it
// started, if any.
func notReadyNote(s string) string {
	if s == "" {
		return ""
	}
	return " (answered, before: " + s + ")"
}

// diagnose logs what the database holds of unfinished work: River's jobs
// that did not complete, the inputs still pending per run and chunk, and
// the nodes' heartbeats.
func diagnose(t *testing.T, db *sql.DB) {
	t.Helper()
	q := func(title, query string) { query1(t, db, title, query) }
	q("River jobs not completed", `SELECT kind, state, queue, attempt, count(*), min(scheduled_at) AS first_scheduled, max(attempted_at) AS last_attempted
		FROM river_job WHERE state <> 'completed' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`)
	q("River jobs not completed, first 15", `SELECT id, kind, state, queue, attempt, scheduled_at, attempted_at, attempted_by, args,
		left(errors[array_length(errors, 1)]::text, 300) AS last_error FROM river_job WHERE state <> 'completed' ORDER BY id LIMIT 15`)
	q("inputs not done, per run and chunk (first 20)", `SELECT r.uid, r.status, i.chunk, i.status, count(*), max(i.attempts) AS attempts, max(i.error) AS error
		FROM run_inputs i JOIN runs r ON r.id = i.run_id WHERE i.status <> 'DONE' GROUP BY 1, 2, 3, 4 ORDER BY 1, 3 LIMIT 20`)
	q("runs not terminal", `SELECT uid, action_name, status, postponed_until, output_count, input_count, left(last_error, 200) FROM runs
		WHERE status IN ('CREATED', 'QUEUED', 'RUNNING', 'SCHEDULED') LIMIT 10`)
	q("nodes", `SELECT id, started_at, heartbeat_at, (extract(epoch from now()) * 1000)::bigint - heartbeat_at AS silent_ms FROM nodes ORDER BY started_at`)
}

// query1 logs a query's rows as a small table.
func query1(t *testing.T, db *sql.DB, title, query string, args ...any) {
	t.Helper()
	{
		rows, err := db.Query(query, args...)
		if err != nil {
			t.Logf("%s: %v", title, err)
			return
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var b strings.Builder
		fmt.Fprintf(&b, "%s\n  %s\n", title, strings.Join(cols, " | "))
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			_ = rows.Scan(ptrs...)
			parts := make([]string, len(cols))
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				parts[i] = fmt.Sprint(v)
			}
			fmt.Fprintf(&b, "  %s\n", strings.Join(parts, " | "))
		}
		t.Log(b.String())
	}
}
