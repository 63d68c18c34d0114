// Command apibench measures the API core on SQLite and on PostgreSQL, in one
// run, against the real firstmate binary started as a separate process:
//
//   - an authenticated GET /v4/identities/{uid} (one integration connected,
//     so the read includes the join);
//   - POST /v4/identities;
//   - a bare net/http handler answering the same bytes as the GET, in its own
//     process too (this program re-executed), as the baseline;
//   - the GET again with a developer-plan key, to show the API rate limiter
//     engaging (429s are counted apart, not as errors).
//
// Each case runs closed-loop keep-alive HTTP/1.1 clients for a warm-up and
// then a fixed measured duration. Only correct answers (the expected status
// and, for the reads, exactly the expected bytes) count as throughput and
// are timed; errors and 429s are counted apart. It prints a Markdown table
// (answers/s and correct answers/s, exact p50/p99 of the correct answers,
// errors, the server's peak RSS), the authenticated-read/bare ratio of
// correct answers per database, the idle RSS after start, and PASS/MISS
// against the targets. It never fails on a missed target.
//
//	go run ./bench/apibench [-duration 10s] [-warmup 2s] [-clients 32]
//	    [-postgres-url postgres://...] [-databases sqlite,postgres] [-pprof-dir DIR]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/firstmate-oss/firstmate/bench/internal/benchkit"
	"github.com/firstmate-oss/firstmate/internal/auth"
)

// Targets of issue 2.
const (
	targetReadRatio   = 0.30
	targetSQLiteP99   = 10 * time.Millisecond
	targetIdleRSSKiB  = 60 * 1024
	developerPlanRate = 200
)

type options struct {
	duration    time.Duration
	warmup      time.Duration
	clients     int
	postgresURL string
	databases   []string
	firstmate   string
	pprofDir    string
	keep        bool
}

func main() {
	benchkit.Prefix = "apibench"
	// Re-executed as the bare baseline server.
	if len(os.Args) > 1 && os.Args[1] == "-bare" {
		if err := bareMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "apibench bare:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	var dbs string
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured duration of each case")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up before each case (not measured)")
	flag.IntVar(&o.clients, "clients", 32, "concurrent keep-alive clients")
	flag.StringVar(&o.postgresURL, "postgres-url", benchkit.EnvOr("FIRSTMATE_BENCH_DATABASE_URL", benchkit.DefaultPostgresURL),
		"PostgreSQL server; a fresh schema is created in it and dropped afterwards")
	flag.StringVar(&dbs, "databases", "sqlite,postgres", "databases to measure, comma-separated")
	flag.StringVar(&o.firstmate, "firstmate-bin", "", "prebuilt firstmate binary (default: go build ./cmd/firstmate)")
	flag.StringVar(&o.pprofDir, "pprof-dir", "", "write server CPU profiles of the GET and POST cases here "+
		"(starts the server with FIRSTMATE_PPROF_ADDR)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data dirs, server logs)")
	flag.Parse()
	o.databases = strings.Split(dbs, ",")
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "apibench:", err)
		os.Exit(1)
	}
}

// caseResult is one row of the table.
type caseResult struct {
	db, name string
	load     benchkit.LoadResult
	peakKiB  int64
	// cpu is the server's CPU time during the measured window; dbCPU its
	// PostgreSQL backends' (0 on SQLite, which runs in the server), genCPU
	// the load generator's (this process).
	cpu, dbCPU, genCPU time.Duration
	note               string
}

// cpuPerReq is the server's CPU time per measured request, in µs.
func (c *caseResult) cpuPerReq() float64 { return c.perReq(c.cpu) }

// perReq is d per measured request, in µs.
func (c *caseResult) perReq(d time.Duration) float64 {
	if c.load.Total() == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(c.load.Total())
}

// dbReport is everything measured on one database.
type dbReport struct {
	db          string
	idleRSSKiB  int64
	bare, get   *caseResult
	post, limit *caseResult
	created     int
	hwmKiB      int64
	err         error
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "apibench-")
	if err != nil {
		return err
	}
	if o.keep {
		benchkit.Logf("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	bin := o.firstmate
	if bin == "" {
		bin = filepath.Join(tmp, "firstmate")
		if err := benchkit.BuildFirstmate(ctx, bin); err != nil {
			return err
		}
	}
	if o.pprofDir != "" {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return err
		}
	}
	started, loadBefore := time.Now(), benchkit.LoadAvg()
	var reports []*dbReport
	for _, db := range o.databases {
		db = strings.TrimSpace(db)
		if db != "sqlite" && db != "postgres" {
			return fmt.Errorf("unknown database %q (want sqlite or postgres)", db)
		}
		rep := benchDatabase(ctx, o, bin, tmp, db)
		if rep.err != nil {
			benchkit.Logf("%s: %v", db, rep.err)
		}
		reports = append(reports, rep)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	printReport(os.Stdout, o, reports, time.Since(started), loadBefore+" before, "+benchkit.LoadAvg()+" after")
	for _, r := range reports {
		if r.err != nil {
			return fmt.Errorf("%s could not be measured", r.db)
		}
	}
	return nil
}

func benchDatabase(ctx context.Context, o options, bin, tmp, db string) *dbReport {
	rep := &dbReport{db: db}
	rep.err = func() error {
		dataDir := filepath.Join(tmp, db+"-data")
		var dbURL string
		var backends func() []int
		if db == "postgres" {
			u, drop, err := benchkit.PostgresSchema(ctx, o.postgresURL, "apibench")
			if err != nil {
				return err
			}
			defer drop()
			dbURL = u
			backends = sessionsOf(ctx, o.postgresURL, u)
		}
		devKey, _, _ := auth.NewAPIKey()
		addr, err := benchkit.FreeAddr()
		if err != nil {
			return err
		}
		args := []string{"serve", "--data-dir", dataDir, "--addr", addr}
		if dbURL != "" {
			args = append(args, "--database-url", dbURL)
		}
		env := benchkit.ChildEnv("FIRSTMATE_BOOTSTRAP_API_KEY=" + devKey)
		var pprofAddr string
		if o.pprofDir != "" {
			if pprofAddr, err = benchkit.FreeAddr(); err != nil {
				return err
			}
			env = append(env, "FIRSTMATE_PPROF_ADDR="+pprofAddr)
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		benchkit.Logf("%s: starting firstmate on %s", db, addr)
		srv, err := benchkit.StartServer(ctx, "firstmate", cmd, addr, filepath.Join(tmp, db+"-firstmate.log"), "/healthz")
		if err != nil {
			return err
		}
		defer srv.Stop()

		// Idle RSS: after start (migrations done, demo workspace created,
		// listening), before any load.
		time.Sleep(time.Second)
		if rep.idleRSSKiB, _, err = benchkit.ProcMem(srv.PID()); err != nil {
			return err
		}

		// The throughput cases use an unlimited-plan workspace.
		ws, err := benchkit.CreateWorkspace(ctx, bin, dataDir, dbURL, "Bench unlimited", "unlimited", "bench@example.com")
		if err != nil {
			return err
		}

		uidU, bodyU, err := setupIdentity(srv.Base, ws.APIKey)
		if err != nil {
			return fmt.Errorf("set up the unlimited workspace's identity: %w", err)
		}
		uidD, bodyD, err := setupIdentity(srv.Base, devKey)
		if err != nil {
			return fmt.Errorf("set up the developer workspace's identity: %w", err)
		}
		benchkit.Logf("%s: identity %s (%d bytes of JSON, one linkedin integration)", db, uidU, len(bodyU))

		// Baseline: the bare handler, in its own process, same bytes.
		rep.bare, err = bareCase(ctx, o, tmp, db, uidU, bodyU)
		if err != nil {
			return err
		}

		getPath := "/v4/identities/" + uidU
		rep.get = measure(ctx, o, db, "GET /v4/identities/{uid}", srv, pprofAddr, backends,
			func(int, int) (*http.Request, error) {
				return benchkit.Authed(http.MethodGet, srv.Base+getPath, ws.APIKey, nil)
			},
			exact(http.StatusOK, bodyU))

		before, err := countIdentities(srv.Base, ws.APIKey)
		if err != nil {
			return err
		}
		rep.post = measure(ctx, o, db, "POST /v4/identities", srv, pprofAddr, backends,
			func(w, seq int) (*http.Request, error) {
				body := fmt.Sprintf(`{"name":"Bench identity %d-%d","timezone":"Europe/Paris"}`, w, seq)
				return benchkit.Authed(http.MethodPost, srv.Base+"/v4/identities", ws.APIKey, []byte(body))
			},
			func(status int, body []byte) benchkit.Outcome {
				if status/100 == 2 && bytes.HasPrefix(body, []byte(`{"uid":`)) {
					return benchkit.OK
				}
				return benchkit.Failed
			})
		after, err := countIdentities(srv.Base, ws.APIKey)
		if err != nil {
			return err
		}
		rep.created = after - before
		rep.post.note = fmt.Sprintf("%d identities in the workspace at the end", after)

		devPath := "/v4/identities/" + uidD
		rep.limit = measure(ctx, o, db, "GET /v4/identities/{uid}, developer plan (200 req/s)", srv, "", backends,
			func(int, int) (*http.Request, error) {
				return benchkit.Authed(http.MethodGet, srv.Base+devPath, devKey, nil)
			},
			func(status int, body []byte) benchkit.Outcome {
				if status == http.StatusTooManyRequests {
					return benchkit.Limited
				}
				return exact(http.StatusOK, bodyD)(status, body)
			})
		_, rep.hwmKiB, _ = benchkit.ProcMem(srv.PID())
		return ctx.Err()
	}()
	return rep
}

// exact accepts only status want with exactly the expected bytes.
func exact(want int, body []byte) func(int, []byte) benchkit.Outcome {
	return func(status int, got []byte) benchkit.Outcome {
		if status == want && bytes.Equal(got, body) {
			return benchkit.OK
		}
		return benchkit.Failed
	}
}

// setupIdentity creates an identity with a LinkedIn integration and returns
// its uid and the exact bytes GET /v4/identities/{uid} answers.
func setupIdentity(base, key string) (string, []byte, error) {
	var id struct{ UID string }
	if _, err := benchkit.Call(http.MethodPost, base+"/v4/identities", key,
		map[string]any{"name": "Bench identity", "timezone": "Europe/Paris"}, &id); err != nil {
		return "", nil, err
	}
	if _, err := benchkit.Call(http.MethodPost, base+"/v4/identities/"+id.UID+"/integrations/linkedin", key,
		map[string]any{"auth_data": map[string]any{"cookies": map[string]string{"li_at": "bench-li-at-cookie"}},
			"account_name": "Bench account"}, nil); err != nil {
		return "", nil, err
	}
	var got struct {
		Integrations []json.RawMessage `json:"integrations"`
	}
	body, err := benchkit.Call(http.MethodGet, base+"/v4/identities/"+id.UID, key, nil, &got)
	if err != nil {
		return "", nil, err
	}
	if len(got.Integrations) != 1 {
		return "", nil, fmt.Errorf("identity has %d integrations, want 1: %s", len(got.Integrations), body)
	}
	return id.UID, body, nil
}

// countIdentities reads the workspace's identity count (users_synced).
func countIdentities(base, key string) (int, error) {
	var ws struct {
		UsersSynced *int `json:"users_synced"`
	}
	if _, err := benchkit.Call(http.MethodGet, base+"/v4/workspaces", key, nil, &ws); err != nil {
		return 0, err
	}
	if ws.UsersSynced == nil {
		return 0, errors.New("GET /v4/workspaces: no users_synced")
	}
	return *ws.UsersSynced, nil
}

// measure runs one case against srv, sampling its RSS, and fetches a CPU
// profile of the measured window when pprofAddr is set.
func measure(ctx context.Context, o options, db, name string, srv *benchkit.Server, pprofAddr string, backends func() []int,
	newReq func(w, seq int) (*http.Request, error), check func(int, []byte) benchkit.Outcome) *caseResult {
	benchkit.Logf("%s: %s: %d clients, %v warm-up + %v", db, name, o.clients, o.warmup, o.duration)
	client := benchkit.NewClient(o.clients)
	defer client.CloseIdleConnections()
	var profDone chan struct{}
	if pprofAddr != "" {
		profDone = make(chan struct{})
		go func() {
			defer close(profDone)
			time.Sleep(o.warmup)
			secs := max(1, int(o.duration.Seconds())-1)
			file := filepath.Join(o.pprofDir, db+"-"+benchkit.Slug(name)+".pprof")
			if err := benchkit.FetchProfile("http://"+pprofAddr+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), file); err != nil {
				benchkit.Logf("cpu profile: %v", err)
			} else {
				benchkit.Logf("cpu profile: %s", file)
			}
		}()
	}
	cpuc := make(chan [3]time.Duration, 1)
	go func() {
		// CPU times over the measured window only: the server's, its
		// PostgreSQL sessions' (the pool is warm by then), this process's.
		time.Sleep(o.warmup)
		var pids []int
		if backends != nil {
			pids = backends()
		}
		a, _ := benchkit.ProcCPU(srv.PID())
		da := benchkit.PIDsCPU(pids)
		ga, _ := benchkit.ProcCPU(os.Getpid())
		time.Sleep(o.duration)
		b, _ := benchkit.ProcCPU(srv.PID())
		gb, _ := benchkit.ProcCPU(os.Getpid())
		cpuc <- [3]time.Duration{b - a, benchkit.PIDsCPU(pids) - da, gb - ga}
	}()
	rss := benchkit.SampleRSS(srv.PID(), 20*time.Millisecond)
	res := benchkit.RunLoad(ctx, benchkit.LoadSpec{Clients: o.clients, Warmup: o.warmup, Dur: o.duration,
		Do: benchkit.HTTPDo(client, o.clients, newReq, check)})
	peak := rss.Stop()
	if profDone != nil {
		<-profDone
	}
	if res.FirstError != "" {
		benchkit.Logf("%s: %s: first error: %s", db, name, res.FirstError)
	}
	cpu := <-cpuc
	return &caseResult{db: db, name: name, load: res, peakKiB: peak, cpu: cpu[0], dbCPU: cpu[1], genCPU: cpu[2]}
}

// sessionsOf returns the lister of the server's PostgreSQL backends: those
// named after the bench's schema (the application_name of dbURL).
func sessionsOf(ctx context.Context, base, dbURL string) func() []int {
	app := ""
	if u, err := url.Parse(dbURL); err == nil {
		app = u.Query().Get("application_name")
	}
	return func() []int {
		pids, err := benchkit.BackendPIDs(ctx, base, app)
		if err != nil {
			benchkit.Logf("PostgreSQL CPU not measured: %v", err)
		}
		return pids
	}
}

// bareCase runs the baseline: this program re-executed with -bare, serving
// body on GET /v4/identities/{uid}.
func bareCase(ctx context.Context, o options, tmp, db, uid string, body []byte) (*caseResult, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(tmp, db+"-bare-body.json")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		return nil, err
	}
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-bare", "-addr", addr, "-body", file)
	cmd.Env = benchkit.ChildEnv()
	srv, err := benchkit.StartServer(ctx, "bare handler", cmd, addr, filepath.Join(tmp, db+"-bare.log"), "/healthz")
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	u := srv.Base + "/v4/identities/" + uid
	return measure(ctx, o, db, "bare net/http handler, same bytes", srv, "", nil,
		func(int, int) (*http.Request, error) { return http.NewRequest(http.MethodGet, u, nil) },
		exact(http.StatusOK, body)), nil
}

// bareMain is the baseline server: net/http with the firstmate server's
// timeouts, answering the recorded bytes with the same headers.
func bareMain(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	file := fs.String("body", "", "file holding the response body")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	length := strconv.Itoa(len(body))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v4/identities/{uid}", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func printReport(w io.Writer, o options, reports []*dbReport, took time.Duration, load string) {
	src := benchkit.Source(o.firstmate)
	fmt.Fprintf(w, "go run ./bench/apibench: %s, %s/%s, %d CPUs, %d clients (keep-alive HTTP/1.1), %v warm-up + %v measured per case, firstmate %s, run took %v, 1-min load average %s\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), o.clients, o.warmup, o.duration,
		src, took.Round(time.Second), load)
	fmt.Fprintln(w, "| database | case | req/s | correct/s | p50 | p99 | errors | 429s | peak RSS | server CPU/req | PostgreSQL CPU/req | load generator CPU/req |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range reports {
		if r.err != nil && r.bare == nil {
			fmt.Fprintf(w, "| %s | not measured: %s | | | | | | | | | | |\n", r.db, strings.ReplaceAll(r.err.Error(), "\n", " "))
			continue
		}
		for _, c := range []*caseResult{r.bare, r.get, r.post, r.limit} {
			if c == nil {
				continue
			}
			l := c.load
			dbCPU := "–"
			if c.dbCPU > 0 {
				dbCPU = fmt.Sprintf("%.0f µs", c.perReq(c.dbCPU))
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %s | %s | %d | %d | %s | %.0f µs | %s | %.0f µs |\n", c.db, c.name, l.AnsweredPerSec(),
				l.OKPerSec(), benchkit.Ms(l.P(0.50)), benchkit.Ms(l.P(0.99)), l.Errors, l.Limited, benchkit.MiB(c.peakKiB), c.cpuPerReq(),
				dbCPU, c.perReq(c.genCPU))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "req/s counts every answer; correct/s only the expected ones (status, and for the reads exactly the")
	fmt.Fprintln(w, "expected bytes), and p50/p99 are those answers' latencies. Errors and 429s are counted, not timed.")
	fmt.Fprintln(w, "Peak RSS is the highest VmRSS sampled every 20 ms during the case (warm-up included); the firstmate")
	fmt.Fprintln(w, "process serves the GET, POST and developer-plan cases in turn, so its peak carries over from case to case.")
	fmt.Fprintln(w, "Server CPU/req is the server process's user+system CPU time over the measured window divided by the")
	fmt.Fprintln(w, "requests answered. PostgreSQL CPU/req is the same for the server's PostgreSQL backends (its sessions,")
	fmt.Fprintln(w, "named after the bench's schema); on SQLite the database runs inside the server. Load generator CPU/req is")
	fmt.Fprintln(w, "this program's own: it shares the same CPUs, so the three together bound the answers/s the machine can give.")
	fmt.Fprintln(w)
	for _, r := range reports {
		if r.idleRSSKiB > 0 {
			fmt.Fprintf(w, "- %s: idle RSS after start %s; VmHWM at the end %s", r.db, benchkit.MiB(r.idleRSSKiB), benchkit.MiB(r.hwmKiB))
			if r.post != nil {
				fmt.Fprintf(w, "; POST created %d identities (%s)", r.created, r.post.note)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Targets:")
	fmt.Fprintln(w)
	for _, r := range reports {
		if r.bare != nil && r.get != nil {
			ratio := readRatio(r.get.load, r.bare.load)
			fmt.Fprintf(w, "- %s: authenticated read / bare handler = %.0f / %.0f correct answers/s = %.1f%% (target >= %.0f%%): %s\n",
				r.db, r.get.load.OKPerSec(), r.bare.load.OKPerSec(), 100*ratio, 100*targetReadRatio,
				benchkit.PassMiss(ratio >= targetReadRatio))
		}
	}
	for _, r := range reports {
		if r.db != "sqlite" {
			continue
		}
		for _, c := range []*caseResult{r.get, r.post} {
			if c != nil {
				// With no correct answer there is no latency to judge.
				p99 := c.load.P(0.99)
				fmt.Fprintf(w, "- sqlite: %s p99 = %s over %d correct answers (target < %s): %s\n", c.name, benchkit.Ms(p99), c.load.OK,
					benchkit.Ms(targetSQLiteP99), benchkit.PassMiss(c.load.OK > 0 && p99 < targetSQLiteP99))
			}
		}
	}
	for _, r := range reports {
		if r.idleRSSKiB > 0 {
			fmt.Fprintf(w, "- %s: idle RSS after start = %s (target < %s): %s\n", r.db, benchkit.MiB(r.idleRSSKiB),
				benchkit.MiB(targetIdleRSSKiB), benchkit.PassMiss(r.idleRSSKiB < targetIdleRSSKiB))
		}
	}
	for _, r := range reports {
		if r.limit != nil {
			l := r.limit.load
			fmt.Fprintf(w, "- %s: developer plan: %.0f 2xx/s for a %d req/s limit, %d answers 429 (limiter engaged: %s)\n",
				r.db, l.OKPerSec(), developerPlanRate, l.Limited, yesNo(l.Limited > 0))
		}
	}
	fmt.Fprintln(w, "  (these clients ignore Retry-After; rejected requests still count against the 200/s and 12,000/min")
	fmt.Fprintln(w, "  windows, so once the minute window is spent every request gets 429 until the next minute starts)")
	for _, r := range reports {
		for _, c := range []*caseResult{r.bare, r.get, r.post, r.limit} {
			if c != nil && c.load.Errors > 0 {
				fmt.Fprintf(w, "- WARNING %s %s: %d errors, first: %s\n", c.db, c.name, c.load.Errors, c.load.FirstError)
			}
		}
	}
}

// readRatio is the authenticated read's throughput over the bare handler's,
// both in correct answers: an error or a wrong body is not throughput.
func readRatio(get, bare benchkit.LoadResult) float64 {
	if bare.OK == 0 {
		return 0
	}
	return get.OKPerSec() / bare.OKPerSec()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
