// Command inflightbench measures throughput when platforms are slow (issue
// 20): the real firstmate binary, pointed at `firstmate sim` run with an
// added latency (FIRSTMATE_SIM_LATENCY), on SQLite and on PostgreSQL, for
// each latency:
//
//   - async googlemaps-extract-place (no account), -inputs inputs: inputs/s
//     (POST to finished_at), the server's peak RSS, its CPU per input, the
//     most upstream calls the simulator served at once on one account (the
//     anonymous public account here: all of them), and the mean;
//   - async linkedin-extract-people in auto mode over -identities sandbox
//     identities (sim_user_<n>), -li-inputs inputs;
//   - live googlemaps-extract-place calls from -clients concurrent clients
//     for -live-for (at the latencies listed in -live-latencies): calls/s
//     and the p50 added to the platform's latency.
//
// It prints Markdown tables with PASS/MISS against the targets and
// never fails on a missed target.
//
//	go run ./bench/inflightbench [-inputs 20000] [-li-inputs 20000] [-identities 1000]
//	    [-latencies 0s,200ms,500ms,2s] [-live-latencies 500ms] [-clients 1000] [-databases sqlite,postgres]
//	    [-repeat 1]
//
// With -repeat N each async case runs N times and its row is the median run.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/firstmate-oss/firstmate/bench/internal/benchkit"
)

type options struct {
	inputs, liInputs, identities, clients int
	latencies, liveLatencies              []time.Duration
	liveFor                               time.Duration
	databases                             []string
	postgresURL                           string
	firstmate                             string
	runTimeout                            time.Duration
	pprofDir                              string
	inflight                              int
	repeat                                int
}

func durations(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		d, err := time.ParseDuration(p)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func main() {
	benchkit.Prefix = "inflightbench"
	var o options
	var lats, liveLats, dbs string
	flag.IntVar(&o.inputs, "inputs", 20_000, "inputs of the googlemaps async run (0: skip)")
	flag.IntVar(&o.liInputs, "li-inputs", 20_000, "inputs of the linkedin auto-mode async run (0: skip)")
	flag.IntVar(&o.identities, "identities", 1000, "sandbox identities of the linkedin run")
	flag.IntVar(&o.clients, "clients", 1000, "concurrent live clients (0: skip)")
	flag.DurationVar(&o.liveFor, "live-for", 20*time.Second, "measured length of the live load")
	flag.StringVar(&lats, "latencies", "0s,200ms,500ms,2s", "simulator latencies of the async runs")
	flag.StringVar(&liveLats, "live-latencies", "500ms", "simulator latencies of the live load")
	flag.StringVar(&dbs, "databases", "sqlite,postgres", "databases, comma-separated")
	flag.StringVar(&o.postgresURL, "postgres-url", benchkit.EnvOr("FIRSTMATE_BENCH_DATABASE_URL", benchkit.DefaultPostgresURL), "PostgreSQL server")
	flag.StringVar(&o.firstmate, "firstmate-bin", "", "prebuilt firstmate binary (default: go build ./cmd/firstmate)")
	flag.DurationVar(&o.runTimeout, "run-timeout", 10*time.Minute, "give up on a run after this long")
	flag.IntVar(&o.inflight, "inflight", 0, "FIRSTMATE_INFLIGHT of the server (0: its default)")
	flag.IntVar(&o.repeat, "repeat", 1, "runs of each async case; the table shows the median run and the spread "+
		"(on a shared 2-core machine two runs of one case can differ by a third)")
	flag.StringVar(&o.pprofDir, "pprof-dir", "", "write the server's CPU profile and goroutine dump of the measured live window "+
		"and of each async run here")
	flag.Parse()
	var err error
	if o.latencies, err = durations(lats); err == nil {
		o.liveLatencies, err = durations(liveLats)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "inflightbench:", err)
		os.Exit(2)
	}
	o.databases = strings.Split(dbs, ",")
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "inflightbench:", err)
		os.Exit(1)
	}
}

// asyncResult is one async run.
type asyncResult struct {
	db       string
	action   string
	latency  time.Duration
	inputs   int
	status   string
	e2e      time.Duration
	peakKiB  int64
	cpu      time.Duration
	inFlight int64   // most calls the simulator served at once on one account
	meanOpen float64 // calls the simulator served at once, on average over the run
	err      error
	// spread is the range of inputs/s over the case's runs (-repeat), ""
	// for a single run.
	spread string
}

func (r asyncResult) perSec() float64 {
	if r.e2e <= 0 {
		return 0
	}
	return float64(r.inputs) / r.e2e.Seconds()
}

type liveResult struct {
	db      string
	latency time.Duration
	res     benchkit.LoadResult
	err     error
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "inflightbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := o.firstmate
	if bin == "" {
		bin = filepath.Join(tmp, "firstmate")
		if err := benchkit.BuildFirstmate(ctx, bin); err != nil {
			return err
		}
	}
	// A callback receiver that answers 200 (the runs need a callback URL).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	cbURL := "http://" + ln.Addr().String() + "/cb"

	started, loadBefore := time.Now(), benchkit.LoadAvg()
	var asyncs []asyncResult
	var lives []liveResult
	var loads []string
	for _, db := range o.databases {
		db = strings.TrimSpace(db)
		for _, lat := range o.latencies {
			for _, job := range []struct {
				action string
				n      int
			}{{"googlemaps-extract-place", o.inputs}, {"linkedin-extract-people", o.liInputs}} {
				if job.n == 0 || ctx.Err() != nil {
					continue
				}
				var runs []asyncResult
				for range max(o.repeat, 1) {
					r := asyncCase(ctx, o, bin, tmp, db, lat, job.action, job.n, cbURL)
					if r.err != nil {
						benchkit.Logf("%s %s %s: %v", db, job.action, lat, r.err)
					}
					runs = append(runs, r)
				}
				asyncs = append(asyncs, median(runs))
			}
		}
		for _, lat := range o.liveLatencies {
			if o.clients == 0 || ctx.Err() != nil {
				continue
			}
			r := liveCase(ctx, o, bin, tmp, db, lat)
			if r.err != nil {
				benchkit.Logf("%s live %s: %v", db, lat, r.err)
			}
			lives = append(lives, r)
		}
		loads = append(loads, benchkit.LoadAvg()+" after "+db)
	}
	report(o, asyncs, lives, time.Since(started), loadBefore+" before, "+strings.Join(loads, ", "))
	return ctx.Err()
}

// median is the run of median throughput among runs of one case, with the
// spread of them all; a failed run makes the case failed (its error shown).
func median(runs []asyncResult) asyncResult {
	for _, r := range runs {
		if r.err != nil {
			return r
		}
	}
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b asyncResult) int { return cmp.Compare(a.perSec(), b.perSec()) })
	m := sorted[len(sorted)/2]
	if len(sorted) > 1 {
		m.spread = fmt.Sprintf("%.0f–%.0f", sorted[0].perSec(), sorted[len(sorted)-1].perSec())
	}
	return m
}

// env is one firstmate and its simulator at a latency.
type env struct {
	sim     *benchkit.Server
	fm      *benchkit.Firstmate
	key     string
	bin     string
	cleanup []func()
}

func (e *env) close() {
	for i := len(e.cleanup) - 1; i >= 0; i-- {
		e.cleanup[i]()
	}
}

func startEnv(ctx context.Context, o options, bin, tmp, db string, lat time.Duration) (*env, error) {
	e := &env{bin: bin}
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "sim", "--addr", addr)
	cmd.Env = benchkit.ChildEnv("FIRSTMATE_SIM_LATENCY=" + lat.String())
	if e.sim, err = benchkit.StartServer(ctx, "simulator", cmd, addr, filepath.Join(tmp, "sim.log"), "/_sim/health"); err != nil {
		return nil, err
	}
	e.cleanup = append(e.cleanup, e.sim.Stop)
	var dbURL string
	if db == "postgres" {
		u, drop, err := benchkit.PostgresSchema(ctx, o.postgresURL, "inflightbench")
		if err != nil {
			e.close()
			return nil, err
		}
		e.cleanup = append(e.cleanup, drop)
		dbURL = u
	}
	name := fmt.Sprintf("%s-%s", db, lat)
	fmEnv := []string{"FIRSTMATE_SIM_URL=" + e.sim.Base, "FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true", "FIRSTMATE_LOG_LEVEL=warn"}
	if o.inflight > 0 {
		fmEnv = append(fmEnv, "FIRSTMATE_INFLIGHT="+strconv.Itoa(o.inflight))
	}
	e.fm, err = benchkit.StartFirstmate(ctx, bin, tmp, name, dbURL, o.pprofDir != "", fmEnv...)
	if err != nil {
		e.close()
		return nil, err
	}
	e.cleanup = append(e.cleanup, e.fm.Stop)
	e.fm.Name = name
	ws, err := e.fm.CreateWorkspace(ctx, bin, "Inflightbench", "unlimited", "inflightbench@example.com")
	if err != nil {
		e.close()
		return nil, err
	}
	e.key = ws.APIKey
	return e, nil
}

// profile writes, when -pprof-dir is set, the server's CPU profile of d
// starting after delay, and a goroutine dump and a heap profile in the
// middle of it.
func (e *env) profile(o options, what string, delay, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	if o.pprofDir == "" || e.fm.PprofAddr == "" {
		close(done)
		return done
	}
	base := filepath.Join(o.pprofDir, e.fm.Name+"-"+what)
	go func() {
		defer close(done)
		time.Sleep(delay)
		cpu := benchkit.ProfileCPU(e.fm.PprofAddr, d, base+".cpu.pprof")
		time.Sleep(d / 2)
		if err := benchkit.FetchProfile("http://"+e.fm.PprofAddr+"/debug/pprof/goroutine?debug=1", base+".goroutines.txt"); err != nil {
			benchkit.Logf("goroutine dump: %v", err)
		}
		if err := benchkit.FetchProfile("http://"+e.fm.PprofAddr+"/debug/pprof/heap", base+".heap.pprof"); err != nil {
			benchkit.Logf("heap profile: %v", err)
		}
		_ = benchkit.FetchProfile("http://"+e.fm.PprofAddr+"/debug/pprof/heap?debug=1", base+".memstats.txt")
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.fm.PID())); err == nil {
			_ = os.WriteFile(base+".status.txt", st, 0o644)
		}
		<-cpu
	}()
	return done
}

// simOpen is the number of requests the simulator is serving now (-1:
// unknown).
func (e *env) simOpen() int64 {
	var st struct {
		Open int64 `json:"open"`
	}
	if _, err := benchkit.Call(http.MethodGet, e.sim.Base+"/_sim/stats", "", nil, &st); err != nil {
		return -1
	}
	return st.Open
}

// simOpen is the most requests the simulator served at once, over every
// account (the anonymous public platforms included).
func (e *env) simMaxConcurrent() int64 {
	var st struct {
		Accounts map[string]struct {
			MaxConcurrent int64 `json:"max_concurrent"`
		} `json:"accounts"`
	}
	if _, err := benchkit.Call(http.MethodGet, e.sim.Base+"/_sim/stats", "", nil, &st); err != nil {
		return -1
	}
	var best int64
	for _, a := range st.Accounts {
		best = max(best, a.MaxConcurrent)
	}
	return best
}

// identities connects sim_user_1..n, raising their Smart Limits for the
// volume (the limits are not what is measured).
func (e *env) identities(n int) ([]string, error) {
	uids := make([]string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				err := func() error {
					var id map[string]any
					if _, err := benchkit.Call(http.MethodPost, e.fm.Base+"/v4/identities", e.key, map[string]any{"name": fmt.Sprintf("User %d", i+1)}, &id); err != nil {
						return err
					}
					uid, _ := id["uid"].(string)
					if _, err := benchkit.Call(http.MethodPost, e.fm.Base+"/v4/identities/"+uid+"/integrations/linkedin", e.key,
						map[string]any{"auth_data": map[string]any{"cookies": map[string]any{"li_at": "sim_user_" + strconv.Itoa(i+1)}}}, nil); err != nil {
						return err
					}
					if _, err := benchkit.Call(http.MethodPut, e.fm.Base+"/v4/identities/"+uid+"/limits", e.key,
						map[string]any{"profile_visits": 100_000, "profile_enrichments": 100_000}, nil); err != nil {
						return err
					}
					uids[i] = uid
					return nil
				}()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return uids, firstErr
}

func asyncCase(ctx context.Context, o options, bin, tmp, db string, lat time.Duration, action string, n int, cbURL string) asyncResult {
	res := asyncResult{db: db, action: action, latency: lat, inputs: n}
	e, err := startEnv(ctx, o, bin, tmp, db, lat)
	if err != nil {
		res.err = err
		return res
	}
	defer e.close()
	inputs := make([]map[string]any, n)
	body := map[string]any{"callback": map[string]any{"url": cbURL, "on": "final"}}
	if action == "linkedin-extract-people" {
		benchkit.Logf("%s: connecting %d sandbox identities", e.fm.Name, o.identities)
		if _, err := e.identities(o.identities); err != nil {
			res.err = err
			return res
		}
		for i := range inputs {
			inputs[i] = map[string]any{"linkedin_profile_url": fmt.Sprintf("https://www.linkedin.com/in/inflight-%d", i)}
		}
		body["identity_mode"] = "auto"
	} else {
		for i := range inputs {
			inputs[i] = map[string]any{"google_maps_place_url": fmt.Sprintf("https://www.google.com/maps/place/inflight-%d", i)}
		}
	}
	body["inputs"] = inputs
	// Reset the simulator's stats (the connections' calls).
	_, _ = benchkit.Call(http.MethodPost, e.sim.Base+"/_sim/reset", "", nil, nil)
	rss := benchkit.SampleRSS(e.fm.PID(), 20*time.Millisecond)
	defer rss.Stop()
	cpu0, _ := benchkit.ProcCPU(e.fm.PID())
	benchkit.Logf("%s: %s, %d inputs at %s of latency", e.fm.Name, action, n, lat)
	prof := e.profile(o, benchkit.Slug(action), 3*time.Second, 10*time.Second)
	defer func() { <-prof }()
	t0 := time.Now()
	var sub struct {
		UID string `json:"run_uid"`
	}
	if _, err := benchkit.Call(http.MethodPost, e.fm.Base+"/v4/actions/"+action+"/run/async", e.key, body, &sub); err != nil {
		res.err = err
		return res
	}
	var view struct {
		Status     string     `json:"status"`
		Outputs    int        `json:"output_count"`
		FinishedAt *time.Time `json:"finished_at"`
	}
	var openSum, openN int64
	lastLog := t0
	for end := time.Now().Add(o.runTimeout); ; time.Sleep(200 * time.Millisecond) {
		if _, err := benchkit.Call(http.MethodGet, e.fm.Base+"/v4/runs/"+sub.UID, e.key, nil, &view); err != nil {
			res.err = err
			return res
		}
		if n := e.simOpen(); n >= 0 {
			openSum, openN = openSum+n, openN+1
			if time.Since(lastLog) >= 5*time.Second {
				lastLog = time.Now()
				benchkit.Logf("%s: %5.1fs %6d outputs, %5d calls at the simulator", e.fm.Name, time.Since(t0).Seconds(), view.Outputs, n)
			}
		}
		if view.FinishedAt != nil && view.Status != "RUNNING" {
			break
		}
		if time.Now().After(end) || ctx.Err() != nil {
			res.err = fmt.Errorf("run not finished after %s: %s, %d outputs", o.runTimeout, view.Status, view.Outputs)
			return res
		}
	}
	res.e2e = view.FinishedAt.Sub(t0)
	res.status = view.Status
	cpu1, _ := benchkit.ProcCPU(e.fm.PID())
	res.cpu = cpu1 - cpu0
	res.peakKiB = rss.Peak()
	res.inFlight = e.simMaxConcurrent()
	if openN > 0 {
		res.meanOpen = float64(openSum) / float64(openN)
	}
	if view.Status != "SUCCEEDED" || view.Outputs != n {
		res.err = fmt.Errorf("run %s with %d outputs of %d", view.Status, view.Outputs, n)
	}
	benchkit.Logf("%s: %s %.0f inputs/s, peak RSS %d MiB, %d in flight at most", e.fm.Name, action, res.perSec(), res.peakKiB/1024, res.inFlight)
	return res
}

func liveCase(ctx context.Context, o options, bin, tmp, db string, lat time.Duration) liveResult {
	res := liveResult{db: db, latency: lat}
	e, err := startEnv(ctx, o, bin, tmp, db, lat)
	if err != nil {
		res.err = err
		return res
	}
	defer e.close()
	client := benchkit.NewClient(o.clients)
	benchkit.Logf("%s: live, %d clients at %s of latency", e.fm.Name, o.clients, lat)
	prof := e.profile(o, "live", 5*time.Second, o.liveFor)
	defer func() { <-prof }()
	res.res = benchkit.RunLoad(ctx, benchkit.LoadSpec{Clients: o.clients, Warmup: 5 * time.Second, Dur: o.liveFor,
		Do: func(ctx context.Context, w, seq int) (benchkit.Outcome, string) {
			body, _ := json.Marshal(map[string]any{"input": map[string]any{
				"google_maps_place_url": fmt.Sprintf("https://www.google.com/maps/place/live-%d-%d", w, seq)}})
			req, err := benchkit.Authed(http.MethodPost, e.fm.Base+"/v4/actions/googlemaps-extract-place/run/live", e.key, body)
			if err != nil {
				return benchkit.Failed, err.Error()
			}
			r, err := client.Do(req.WithContext(ctx))
			if err != nil {
				return benchkit.Failed, err.Error()
			}
			// Read to the end: a body closed unread closes its connection,
			// and each call would then dial anew (and leave a TIME_WAIT).
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
			switch r.StatusCode {
			case 200:
				return benchkit.OK, ""
			case 429:
				return benchkit.Limited, ""
			}
			return benchkit.Failed, r.Status
		}})
	return res
}

func report(o options, asyncs []asyncResult, lives []liveResult, took time.Duration, loads string) {
	fmt.Printf("\n## inflightbench, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Printf("Load average: %s. Wall time %s.\n\n", loads, took.Round(time.Second))
	if o.repeat > 1 {
		fmt.Printf("Each async case ran %d times: the row is the median run, its inputs/s followed by the range of all runs.\n\n", o.repeat)
	}
	fmt.Println("| database | action | latency | inputs | inputs/s | vs 0 ms | peak RSS | CPU/input | most calls at once on one account | mean calls at once | target |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	zero := map[string]float64{}
	for _, r := range asyncs {
		if r.latency == 0 && r.err == nil {
			zero[r.db+r.action] = r.perSec()
		}
	}
	for _, r := range asyncs {
		if r.err != nil {
			fmt.Printf("| %s | %s | %s | %d | error: %v | | | | | | |\n", r.db, r.action, r.latency, r.inputs, r.err)
			continue
		}
		ratio, verdict := "", ""
		if z := zero[r.db+r.action]; z > 0 && r.latency > 0 {
			q := r.perSec() / z
			ratio = fmt.Sprintf("%.0f%%", 100*q)
			want := 0.0
			switch {
			case r.latency == 500*time.Millisecond && r.db == "sqlite":
				want = 0.75
			case r.latency == 2*time.Second:
				want = 0.5
			}
			if want > 0 {
				verdict = fmt.Sprintf("≥%.0f%%: %s", 100*want, passMiss(q >= want))
			}
		}
		if r.peakKiB > 0 && r.inFlight >= 4000 {
			verdict += fmt.Sprintf(" RSS<500 MB: %s", passMiss(r.peakKiB < 500*1024))
		}
		rate := fmt.Sprintf("%.0f", r.perSec())
		if r.spread != "" {
			rate += " (" + r.spread + ")"
		}
		fmt.Printf("| %s | %s | %s | %d | %s | %s | %d MiB | %.2f ms | %d | %.0f | %s |\n", r.db, r.action, r.latency, r.inputs, rate, ratio,
			r.peakKiB/1024, float64(r.cpu.Microseconds())/1000/float64(r.inputs), r.inFlight, r.meanOpen, verdict)
	}
	if len(lives) > 0 {
		fmt.Println()
		fmt.Println("| database | live latency | clients | calls/s | p50 | added p50 | p99 | errors |")
		fmt.Println("|---|---|---|---|---|---|---|---|")
		for _, l := range lives {
			if l.err != nil {
				fmt.Printf("| %s | %s | %d | error: %v | | | | |\n", l.db, l.latency, o.clients, l.err)
				continue
			}
			p50 := l.res.P(0.5)
			fmt.Printf("| %s | %s | %d | %.0f | %s | %s | %s | %d (%s) |\n", l.db, l.latency, o.clients, l.res.OKPerSec(),
				p50.Round(time.Millisecond), (p50 - l.latency).Round(time.Millisecond), l.res.P(0.99).Round(time.Millisecond),
				l.res.Errors+l.res.Limited, l.res.FirstError)
		}
	}
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}
