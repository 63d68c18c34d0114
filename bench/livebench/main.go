// Command livebench measures live actions (issue 3): linkedin-extract-people
// through the API, with everything the API does around the call (key
// authentication, input validation, identity lookup, Smart Limits, the
// credit charge, the LIVE run record), against the same call made directly by
// the platform driver (simdriver.New(simURL).Run) from this process. Both hit
// one simulator, `firstmate sim`, running as its own process with zero added
// latency; the server under test is pointed at it with FIRSTMATE_SIM_URL.
//
// For each database (SQLite, then PostgreSQL) it starts the real firstmate
// binary, makes a workspace on the unlimited plan, raises the workspace's
// profile_visits and profile_enrichments Smart Limits out of the way, and
// connects many identities (64 by default) to the simulator's managed
// sandbox accounts (Sales Navigator, no hidden platform thresholds). An
// account runs one call at a time, so each client spreads its calls over
// identities round-robin (identity_mode direct) and no two clients share an
// identity. Every call asks for a profile URL never asked before.
//
// Then it keeps calling the simulator directly until it has seen 100,000
// distinct people (by linkedin_profile_id), and reads the simulator
// process's RSS: the world is generated on demand, so touching it must not
// grow memory.
//
// The throughput comparison runs in rounds (-rounds, 3 by default): direct,
// API, direct, API, direct... Each API case is compared with the direct
// cases on either side of it, and the ratio and the added p50 judged are the
// medians of the rounds', so that one slow stretch of the box moves the
// verdict by one place rather than deciding it. Only correct answers count:
// throughput is successful calls per second, and the percentiles are their
// latencies (a failed call is counted, not timed).
//
// It prints a Markdown table (calls/s, exact p50/p99, errors, peak RSS and
// CPU per call of the server and of the simulator), the ratios, and
// PASS/MISS against the targets. It never fails on a missed target.
//
//	go run ./bench/livebench [-duration 10s] [-warmup 2s] [-clients 32] [-identities 64] [-rounds 3]
//	    [-mode direct|auto|managed] [-touch 100000] [-databases sqlite,postgres] [-pprof-dir DIR]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/firstmate-oss/firstmate/bench/internal/benchkit"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/simdriver"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

// Targets of issue 3.
const (
	targetRatio      = 0.40
	targetAddedP50   = 2 * time.Millisecond
	targetSimRSSKiB  = 100 * 1024
	targetTouched    = 100_000
	slug             = "linkedin-extract-people"
	profileURLPrefix = "https://www.linkedin.com/in/livebench-"
)

type options struct {
	duration     time.Duration
	warmup       time.Duration
	clients      int
	identities   int
	mode         string
	latencyDur   time.Duration
	rate         float64
	rateDur      time.Duration
	touch        int
	touchTimeout time.Duration
	postgresURL  string
	databases    []string
	firstmate    string
	pprofDir     string
	keep         bool
	hop          bool
	serverEnv    string
	rounds       int
}

func main() {
	benchkit.Prefix = "livebench"
	if addr := os.Getenv(hopAddrEnv); addr != "" {
		if err := serveHop(addr, os.Getenv(hopSimEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "livebench: bare hop:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	var dbs string
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured duration of each case")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up before each case (not measured)")
	flag.IntVar(&o.clients, "clients", 32, "concurrent keep-alive clients")
	flag.IntVar(&o.identities, "identities", 64, "identities, each connected to a managed sandbox account")
	flag.StringVar(&o.mode, "mode", "direct", `identity_mode of the API calls: "direct" (round-robin identity_ids), "auto", or "managed" (the operator's pool, which the server seeds with the simulator's managed sandbox accounts: few accounts, so busy ones answer 429)`)
	flag.DurationVar(&o.latencyDur, "latency-duration", 5*time.Second, "measured duration of the one-client cases (0: skip)")
	flag.Float64Var(&o.rate, "rate", 0, "calls/s of the open-loop cases (0: half the API's throughput with -clients)")
	flag.DurationVar(&o.rateDur, "rate-duration", 8*time.Second, "measured duration of the open-loop cases (0: skip)")
	flag.IntVar(&o.touch, "touch", targetTouched, "distinct simulated people to touch before reading the simulator's RSS")
	flag.DurationVar(&o.touchTimeout, "touch-timeout", 4*time.Minute, "give up touching people after this long")
	flag.StringVar(&o.postgresURL, "postgres-url", benchkit.EnvOr("FIRSTMATE_BENCH_DATABASE_URL", benchkit.DefaultPostgresURL),
		"PostgreSQL server; a fresh schema is created in it and dropped afterwards")
	flag.StringVar(&dbs, "databases", "sqlite,postgres", "databases to measure, comma-separated")
	flag.StringVar(&o.firstmate, "firstmate-bin", "", "prebuilt firstmate binary (default: go build ./cmd/firstmate)")
	flag.StringVar(&o.pprofDir, "pprof-dir", "", "write server CPU profiles of the API cases here (FIRSTMATE_PPROF_ADDR)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data dirs, logs)")
	flag.StringVar(&o.serverEnv, "server-env", "", `extra environment of the server, comma-separated (e.g. "GOGC=200")`)
	flag.BoolVar(&o.hop, "hop", true, "also measure the bare hop (a minimal HTTP server in front of the driver) against the direct path")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of the throughput comparison: the API (or the hop) and the direct path alternate, "+
		"and the ratio judged is the median of the rounds'")
	flag.Parse()
	o.databases = strings.Split(dbs, ",")
	if o.rounds < 1 {
		fmt.Fprintln(os.Stderr, "livebench: -rounds must be at least 1")
		os.Exit(2)
	}
	if o.mode != "direct" && o.mode != "auto" && o.mode != "managed" {
		fmt.Fprintln(os.Stderr, "livebench: -mode must be direct, auto or managed")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "livebench:", err)
		os.Exit(1)
	}
}

// caseResult is one row of the table.
type caseResult struct {
	db, name string
	clients  int
	rate     float64 // open-loop calls/s (0: closed loop)
	load     benchkit.LoadResult
	// peakKiB is the server's peak RSS during the case (0: no server).
	peakKiB int64
	// cpu and simCPU are the server's and the simulator's CPU time over the
	// measured window; pgCPU PostgreSQL's (all its processes), genCPU this
	// process's (load generator and direct driver), busy the whole box's
	// busy share of its CPUs.
	cpu, simCPU, pgCPU, genCPU time.Duration
	busy                       float64
}

func (c *caseResult) perCall(d time.Duration) float64 {
	if c.load.Total() == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(c.load.Total())
}

type dbReport struct {
	db          string
	direct, api *caseResult
	// directAgain repeats direct after api: the throughput ratio is taken
	// against both, so that a box that speeds up or slows down during the
	// run moves the two sides alike.
	directAgain *caseResult
	// more are the further rounds of the comparison (-rounds), each an API
	// case and a direct one after it. The box of this project has slow
	// stretches of tens of seconds; a round that falls into one only moves
	// the median of the rounds' ratios by one place.
	more []round
	// direct1 and api1 run one client at a time: latency without queueing.
	direct1, api1 *caseResult
	// directRate and apiRate start calls at a fixed rate both paths sustain
	// (open loop, at most -clients in flight): latency at equal load.
	directRate, apiRate *caseResult
	runs                int // LIVE runs recorded, read back through the API
	err                 error
}

// directOKPerSec is the direct path's throughput the API is compared with:
// the mean of the runs before and after it.
func (r *dbReport) directOKPerSec() float64 {
	if r.directAgain == nil {
		return r.direct.load.OKPerSec()
	}
	return (r.direct.load.OKPerSec() + r.directAgain.load.OKPerSec()) / 2
}

// round is one further round of the throughput comparison.
type round struct{ api, direct *caseResult }

// ratios are the API's throughput over the direct path's around it, round
// by round: the first against direct and directAgain, each further one
// against the direct cases before and after it.
func (r *dbReport) ratios() []float64 {
	out := []float64{r.api.load.OKPerSec() / r.directOKPerSec()}
	before := r.directAgain
	for _, m := range r.more {
		out = append(out, m.api.load.OKPerSec()/((before.load.OKPerSec()+m.direct.load.OKPerSec())/2))
		before = m.direct
	}
	return out
}

// medianRatio is the median of the rounds' ratios.
func (r *dbReport) medianRatio() float64 { return median(r.ratios()) }

// median is the middle value (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// addedP50s are the API's added p50 at -clients, round by round, in
// milliseconds: its p50 minus the mean of the direct path's p50s on either
// side of it (the pairs ratios() compares). Percentiles are of correct
// answers only; a round where a side had none is +Inf (not judged better
// for it).
func (r *dbReport) addedP50s() []float64 {
	p50 := func(c *caseResult) float64 {
		if c.load.OK == 0 {
			return math.Inf(1)
		}
		return float64(c.load.P(0.50).Microseconds()) / 1000
	}
	added := func(api, before, after *caseResult) float64 {
		direct := p50(before)
		if after != nil {
			direct = (p50(before) + p50(after)) / 2
		}
		if math.IsInf(direct, 1) {
			return math.Inf(1)
		}
		return p50(api) - direct
	}
	out := []float64{added(r.api, r.direct, r.directAgain)}
	before := r.directAgain
	for _, m := range r.more {
		out = append(out, added(m.api, before, m.direct))
		before = m.direct
	}
	return out
}

// medianAddedP50 is the median of the rounds' added p50s, in milliseconds.
func (r *dbReport) medianAddedP50() float64 { return median(r.addedP50s()) }

// addedLabel lists the rounds' added p50s in the order they ran.
func (r *dbReport) addedLabel() string {
	var parts []string
	for _, x := range r.addedP50s() {
		parts = append(parts, msLabel(x))
	}
	return strings.Join(parts, ", ")
}

func msLabel(ms float64) string {
	if math.IsInf(ms, 1) {
		return "no correct answer"
	}
	return fmt.Sprintf("%.2f ms", ms)
}

// ratiosLabel lists the rounds' ratios in the order they ran.
func (r *dbReport) ratiosLabel() string {
	var parts []string
	for _, x := range r.ratios() {
		parts = append(parts, fmt.Sprintf("%.1f%%", 100*x))
	}
	return strings.Join(parts, ", ")
}

// moreRounds runs the comparison's further rounds (the first one has run).
func (b *bench) moreRounds(rep *dbReport, api, direct func() *caseResult) {
	if rep.directAgain == nil {
		return
	}
	for k := 2; k <= b.o.rounds; k++ {
		a := api()
		if a == nil {
			return // could not be measured (the caller reports why)
		}
		m := round{api: a, direct: direct()}
		m.api.name += fmt.Sprintf(" (round %d)", k)
		m.direct.name += fmt.Sprintf(" (round %d)", k)
		rep.more = append(rep.more, m)
	}
}

// directLabel shows how directOKPerSec was made.
func (r *dbReport) directLabel() string {
	if r.directAgain == nil {
		return fmt.Sprintf("%.0f", r.direct.load.OKPerSec())
	}
	return fmt.Sprintf("mean(%.0f before, %.0f after) = %.0f", r.direct.load.OKPerSec(), r.directAgain.load.OKPerSec(), r.directOKPerSec())
}

// cases are the report's cases in the order they ran, leaving out those not
// measured.
func (r *dbReport) cases() []*caseResult {
	var out []*caseResult
	for _, c := range []*caseResult{r.direct, r.api, r.directAgain} {
		if c != nil {
			out = append(out, c)
		}
	}
	for _, m := range r.more {
		out = append(out, m.api, m.direct)
	}
	for _, c := range []*caseResult{r.direct1, r.api1, r.directRate, r.apiRate} {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

type simReport struct {
	idleKiB           int64
	rssKiB, hwmKiB    int64 // after touching
	touched           int
	touchCalls        int64
	touchTook         time.Duration
	touchErr          error
	distinctURLs      int64
	peakDuringRunsKiB int64
}

// people counts the distinct simulated people seen in answers.
type people struct {
	mu   sync.Mutex
	seen map[int64]struct{}
}

func (p *people) add(id int64) {
	if id == 0 {
		return
	}
	p.mu.Lock()
	p.seen[id] = struct{}{}
	p.mu.Unlock()
}

func (p *people) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}

// bench is the state shared by every case.
type bench struct {
	o       options
	bin     string
	tmp     string
	sim     *benchkit.Server
	drv     *simdriver.Driver
	action  *catalog.Action
	params  map[string]any
	cookies []string
	// next numbers profile URLs: every call asks for a new one.
	next   atomic.Int64
	people *people
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "livebench-")
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
	a, ok := catalog.Get(slug)
	if !ok {
		return fmt.Errorf("no action %s in the catalogue", slug)
	}
	b := &bench{o: o, bin: bin, tmp: tmp, action: a, cookies: sim.ManagedCookies(), people: &people{seen: map[int64]struct{}{}},
		params: liveParams()}
	if len(b.cookies) == 0 {
		return errors.New("the simulator has no managed sandbox accounts")
	}

	started, loadBefore := time.Now(), benchkit.LoadAvg()
	b.sim, err = benchkit.StartSim(ctx, bin, tmp)
	if err != nil {
		return err
	}
	defer b.sim.Stop()
	b.drv = simdriver.New(b.sim.Base)
	sr := &simReport{}
	time.Sleep(time.Second)
	if sr.idleKiB, _, err = benchkit.ProcMem(b.sim.PID()); err != nil {
		return err
	}
	simRSS := benchkit.SampleRSS(b.sim.PID(), 50*time.Millisecond)

	var hop *dbReport
	if o.hop {
		hop = &dbReport{db: "none"}
		hop.direct = b.directCase(ctx, "none", b.closed(o.clients, o.duration))
		if hop.api, err = b.hopCase(ctx, b.closed(o.clients, o.duration)); err != nil {
			return err
		}
		hop.directAgain = b.directCase(ctx, "none", b.closed(o.clients, o.duration))
		hop.directAgain.name += " (again, after the hop)"
		var hopErr error
		b.moreRounds(hop, func() *caseResult {
			c, err := b.hopCase(ctx, b.closed(o.clients, o.duration))
			if err != nil && hopErr == nil {
				hopErr = err
			}
			return c
		}, func() *caseResult { return b.directCase(ctx, "none", b.closed(o.clients, o.duration)) })
		if hopErr != nil {
			return hopErr
		}
	}
	var reports []*dbReport
	for _, db := range o.databases {
		db = strings.TrimSpace(db)
		if db != "sqlite" && db != "postgres" {
			return fmt.Errorf("unknown database %q (want sqlite or postgres)", db)
		}
		rep := b.benchDatabase(ctx, db)
		if rep.err != nil {
			benchkit.Logf("%s: %v", db, rep.err)
		}
		reports = append(reports, rep)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	sr.peakDuringRunsKiB = simRSS.Stop()
	loadMid := benchkit.LoadAvg()
	b.touchPeople(ctx, sr)
	sr.distinctURLs = b.next.Load()
	printReport(os.Stdout, b, hop, reports, sr, time.Since(started), loadBefore+" before, "+loadMid+" after the API cases, "+
		benchkit.LoadAvg()+" at the end")
	for _, r := range reports {
		if r.err != nil {
			return fmt.Errorf("%s could not be measured", r.db)
		}
	}
	return sr.touchErr
}

// profileURL is a profile URL never asked before. The simulator resolves any
// handle to a person of its world (as LinkedIn redirects an old vanity
// name), so fresh handles land on people spread over the whole world.
func (b *bench) profileURL() string {
	return profileURLPrefix + strconv.FormatInt(b.next.Add(1), 36)
}

// identityOf spreads a client's calls over identities: client w uses
// identities w, w+clients, w+2*clients... in turn, so no two clients ever
// use the same account (each account runs one call at a time).
func identityOf(w, seq, clients, n int) int {
	per := max(1, (n+clients-1)/clients)
	return (w + clients*(seq%per)) % n
}

func (b *bench) benchDatabase(ctx context.Context, db string) *dbReport {
	rep := &dbReport{db: db}
	rep.err = func() error {
		var dbURL string
		if db == "postgres" {
			u, drop, err := benchkit.PostgresSchema(ctx, b.o.postgresURL, "livebench")
			if err != nil {
				return err
			}
			defer drop()
			dbURL = u
		}
		env := []string{"FIRSTMATE_SIM_URL=" + b.sim.Base}
		if b.o.serverEnv != "" {
			env = append(env, strings.Split(b.o.serverEnv, ",")...)
		}
		fm, err := benchkit.StartFirstmate(ctx, b.bin, b.tmp, db, dbURL, b.o.pprofDir != "", env...)
		if err != nil {
			return err
		}
		defer fm.Stop()
		ws, err := fm.CreateWorkspace(ctx, b.bin, "Livebench", "unlimited", "livebench@example.com")
		if err != nil {
			return err
		}
		// Smart Limits stay on (they are checked and recorded on every call)
		// but high enough not to stop the run: the defaults allow a Sales
		// Navigator account 500 profile visits a day, a fifth of that on the
		// first day of the ramp-up. Working hours and the outreach gap hold
		// back neither a live call nor an extraction; they are set off all
		// the same, so that the measurement never depends on the hour.
		if _, err := benchkit.Call(http.MethodPut, fm.Base+"/v4/workspaces/settings", ws.APIKey,
			map[string]any{"smart_limit_overrides": map[string]any{"profile_visits": 1_000_000_000,
				"profile_enrichments": 1_000_000_000, "working_hours": map[string]any{"enabled": false},
				"outreach_gap": map[string]any{"min_seconds": 0, "max_seconds": 0}}}, nil); err != nil {
			return err
		}
		uids, err := b.connectIdentities(fm.Base, ws.APIKey)
		if err != nil {
			return err
		}
		benchkit.Logf("%s: %d identities connected to %d managed sandbox accounts", db, len(uids), len(b.cookies))

		// The direct driver, the API, then the direct driver again, back to
		// back, so that the API is compared with the box as it was on either
		// side of it.
		rep.direct = b.directCase(ctx, db, b.closed(b.o.clients, b.o.duration))
		rep.api = b.apiCase(ctx, db, fm, ws.APIKey, uids, b.closed(b.o.clients, b.o.duration))
		rep.directAgain = b.directCase(ctx, db, b.closed(b.o.clients, b.o.duration))
		rep.directAgain.name += " (again, after the API)"
		b.moreRounds(rep, func() *caseResult {
			return b.apiCase(ctx, db, fm, ws.APIKey, uids, b.closed(b.o.clients, b.o.duration))
		},
			func() *caseResult { return b.directCase(ctx, db, b.closed(b.o.clients, b.o.duration)) })
		if b.o.latencyDur > 0 {
			rep.direct1 = b.directCase(ctx, db, b.closed(1, b.o.latencyDur))
			rep.api1 = b.apiCase(ctx, db, fm, ws.APIKey, uids, b.closed(1, b.o.latencyDur))
		}
		if b.o.rateDur > 0 {
			rate := b.o.rate
			if rate <= 0 {
				rate = max(1, float64(int(rep.api.load.OKPerSec()/2/10))*10) // half, rounded down to tens
			}
			rep.directRate = b.directCase(ctx, db, b.open(rate, b.o.clients, b.o.rateDur))
			rep.apiRate = b.apiCase(ctx, db, fm, ws.APIKey, uids, b.open(rate, b.o.clients, b.o.rateDur))
		}
		rep.runs, _ = countLiveRuns(fm.Base, ws.APIKey)
		return ctx.Err()
	}()
	return rep
}

// connectIdentities creates the identities and connects each to one of the
// simulator's managed sandbox accounts, in turn.
func (b *bench) connectIdentities(base, key string) ([]string, error) {
	uids := make([]string, b.o.identities)
	errs := make([]error, b.o.identities)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range uids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var id struct{ UID string }
			if _, err := benchkit.Call(http.MethodPost, base+"/v4/identities", key,
				map[string]any{"name": fmt.Sprintf("Livebench %d", i), "timezone": "Europe/Paris"}, &id); err != nil {
				errs[i] = err
				return
			}
			var integ struct{ Status, Level string }
			if _, err := benchkit.Call(http.MethodPost, base+"/v4/identities/"+id.UID+"/integrations/linkedin", key,
				map[string]any{"auth_data": map[string]any{"cookies": map[string]string{"li_at": b.cookies[i%len(b.cookies)]}}},
				&integ); err != nil {
				errs[i] = err
				return
			}
			if integ.Status != "VALID" {
				errs[i] = fmt.Errorf("identity %s: integration %s (%s), want VALID", id.UID, integ.Status, integ.Level)
				return
			}
			uids[i] = id.UID
		}()
	}
	wg.Wait()
	return uids, errors.Join(errs...)
}

// driverClient is configured as the server's own client for direct egress
// (internal/proxy newTransport(nil, 64)), so that both paths talk to the
// simulator the same way.
func driverClient() *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * 64,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

// groupCommits reads the server's group commit counters from /metrics:
// "name batches" and "name calls" to their values.
func groupCommits(base string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		for _, kind := range []string{"batches", "calls"} {
			prefix := "firstmate_group_commit_" + kind + "_total{group=\""
			if !strings.HasPrefix(line, prefix) {
				continue
			}
			name, value, ok := strings.Cut(line[len(prefix):], "\"} ")
			if v, err := strconv.ParseFloat(value, 64); ok && err == nil {
				out[name+" "+kind] = v
			}
		}
	}
	return out
}

// logGroupCommits logs how many writes each group commit batched per
// transaction over a case (warm-up included).
func logGroupCommits(db, label string, before, after map[string]float64) {
	var parts []string
	for _, name := range []string{"smart_limits", "live_runs"} {
		batches := after[name+" batches"] - before[name+" batches"]
		calls := after[name+" calls"] - before[name+" calls"]
		if batches > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f writes in %.0f transactions (%.1f per commit)", name, calls, batches, calls/batches))
		}
	}
	if len(parts) > 0 {
		benchkit.Logf("%s: %s: group commit: %s", db, label, strings.Join(parts, ", "))
	}
}

// directCall is one linkedin-extract-people call made by the driver itself.
func (b *bench) directCall(ctx context.Context, hc *http.Client, cookie string) (benchkit.Outcome, string) {
	call := platform.Call{Action: b.action, Input: map[string]any{"linkedin_profile_url": b.profileURL()}, Params: b.params,
		Page: 1, PageSize: b.action.PageSize}
	pg, err := b.drv.Run(ctx, hc, platform.Credentials{AuthType: platform.AuthCookies, Cookies: map[string]string{"li_at": cookie}}, call)
	if err != nil {
		return benchkit.Failed, err.Error()
	}
	if len(pg.Results) != 1 {
		return benchkit.Failed, fmt.Sprintf("%d results, want 1", len(pg.Results))
	}
	b.people.add(profileID(pg.Results[0]["linkedin_profile_id"]))
	return benchkit.OK, ""
}

func profileID(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	case interface{ Int64() (int64, error) }:
		n, _ := x.Int64()
		return n
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// loadShape is how a case drives its calls: closed loop (clients workers,
// each calling again as soon as it has an answer) or open loop (calls
// started at a fixed rate, at most slots in flight).
type loadShape struct {
	label string
	slots int     // concurrent workers or in-flight slots
	rate  float64 // 0: closed loop
	run   func(ctx context.Context, do func(ctx context.Context, w, seq int) (benchkit.Outcome, string)) benchkit.LoadResult
	dur   time.Duration
}

func (b *bench) closed(clients int, dur time.Duration) loadShape {
	return loadShape{label: clientsOf(clients), slots: clients, dur: dur,
		run: func(ctx context.Context, do func(ctx context.Context, w, seq int) (benchkit.Outcome, string)) benchkit.LoadResult {
			return benchkit.RunLoad(ctx, benchkit.LoadSpec{Clients: clients, Warmup: b.o.warmup, Dur: dur, Do: do})
		}}
}

func (b *bench) open(rate float64, slots int, dur time.Duration) loadShape {
	return loadShape{label: fmt.Sprintf("open loop at %.0f calls/s (at most %d in flight)", rate, slots), slots: slots,
		rate: rate, dur: dur,
		run: func(ctx context.Context, do func(ctx context.Context, w, seq int) (benchkit.Outcome, string)) benchkit.LoadResult {
			return benchkit.RunRate(ctx, benchkit.RateSpec{Rate: rate, MaxInFlight: slots, Warmup: b.o.warmup, Dur: dur, Do: do})
		}}
}

func (b *bench) directCase(ctx context.Context, db string, shape loadShape) *caseResult {
	name := "direct: simdriver Run → simulator, " + shape.label
	benchkit.Logf("%s: %s, %v warm-up + %v", db, name, b.o.warmup, shape.dur)
	hc := driverClient()
	defer hc.CloseIdleConnections()
	simCPU := cpuOver(b.sim.PID(), b.o.warmup, shape.dur)
	other := othersOver(db, b.o.warmup, shape.dur)
	res := shape.run(ctx, func(ctx context.Context, w, seq int) (benchkit.Outcome, string) {
		return b.directCall(ctx, hc, b.cookies[identityOf(w, seq, shape.slots, b.o.identities)%len(b.cookies)])
	})
	if res.FirstError != "" {
		benchkit.Logf("%s: %s: first error: %s", db, name, res.FirstError)
	}
	c := &caseResult{db: db, name: name, clients: shape.slots, rate: shape.rate, load: res, simCPU: <-simCPU}
	(<-other).into(c)
	return c
}

var idField = []byte(`"linkedin_profile_id":`)

// checkPerson checks an answer of the API or the bare hop: a person, whose
// id counts towards the people touched.
func (b *bench) checkPerson(status int, body []byte) benchkit.Outcome {
	if status == http.StatusTooManyRequests {
		return benchkit.Limited // an account busy or a limit: should not happen here
	}
	i := bytes.Index(body, idField)
	if status != http.StatusOK || i < 0 {
		return benchkit.Failed
	}
	rest := body[i+len(idField):]
	end := bytes.IndexAny(rest, ",}")
	if end > 0 {
		n, _ := strconv.ParseInt(strings.TrimSpace(string(rest[:end])), 10, 64)
		b.people.add(n)
	}
	return benchkit.OK
}

// liveParams are the live parameters' defaults, as the API applies them.
func liveParams() map[string]any {
	return map[string]any{"experiences": false, "highlights": false, "sections": false, "skills": false}
}

func (b *bench) apiCase(ctx context.Context, db string, fm *benchkit.Firstmate, key string, uids []string,
	shape loadShape) *caseResult {
	clients, dur := shape.slots, shape.dur
	name := fmt.Sprintf("API: POST /v4/actions/%s/run/live, identity_mode %s, %s", slug, b.o.mode, shape.label)
	benchkit.Logf("%s: %s, %v warm-up + %v", db, name, b.o.warmup, dur)
	client := benchkit.NewClient(clients)
	defer client.CloseIdleConnections()
	u := fm.Base + "/v4/actions/" + slug + "/run/live"
	newReq := func(w, seq int) (*http.Request, error) {
		var body string
		if b.o.mode != "direct" {
			body = fmt.Sprintf(`{"input":{"linkedin_profile_url":%q},"identity_mode":%q}`, b.profileURL(), b.o.mode)
		} else {
			body = fmt.Sprintf(`{"input":{"linkedin_profile_url":%q},"identity_ids":[%q]}`, b.profileURL(),
				uids[identityOf(w, seq, clients, len(uids))])
		}
		return benchkit.Authed(http.MethodPost, u, key, []byte(body))
	}
	var prof <-chan struct{}
	if fm.PprofAddr != "" && clients == b.o.clients && shape.rate == 0 {
		file := filepath.Join(b.o.pprofDir, db+"-live-api.pprof")
		ch := make(chan struct{})
		prof = ch
		go func() {
			defer close(ch)
			select {
			case <-time.After(b.o.warmup):
			case <-ctx.Done():
				return
			}
			<-benchkit.ProfileCPU(fm.PprofAddr, dur-time.Second, file)
		}()
	}
	cpu := cpuOver(fm.PID(), b.o.warmup, dur)
	simCPU := cpuOver(b.sim.PID(), b.o.warmup, dur)
	other := othersOver(db, b.o.warmup, dur)
	rss := benchkit.SampleRSS(fm.PID(), 20*time.Millisecond)
	groupsBefore := groupCommits(fm.Base)
	res := shape.run(ctx, benchkit.HTTPDo(client, clients, newReq, b.checkPerson))
	peak := rss.Stop()
	logGroupCommits(db, shape.label, groupsBefore, groupCommits(fm.Base))
	if prof != nil {
		<-prof
		// Allocations since the server started, most of them by this case.
		file := filepath.Join(b.o.pprofDir, db+"-live-api.allocs.pprof")
		if err := benchkit.FetchProfile("http://"+fm.PprofAddr+"/debug/pprof/allocs", file); err != nil {
			benchkit.Logf("allocs profile: %v", err)
		}
	}
	if res.FirstError != "" {
		benchkit.Logf("%s: %s: first error: %s", db, name, res.FirstError)
	}
	c := &caseResult{db: db, name: name, clients: clients, rate: shape.rate, load: res, peakKiB: peak, cpu: <-cpu,
		simCPU: <-simCPU}
	(<-other).into(c)
	return c
}

// others is the CPU time of what shares the box with the server and the
// simulator over a measured window.
type others struct {
	pg, gen time.Duration
	busy    float64
}

func (o others) into(c *caseResult) { c.pgCPU, c.genCPU, c.busy = o.pg, o.gen, o.busy }

// othersOver measures PostgreSQL (for db "postgres"), this process and the
// whole box over [now+warmup, now+warmup+dur].
func othersOver(db string, warmup, dur time.Duration) <-chan others {
	c := make(chan others, 1)
	go func() {
		time.Sleep(warmup)
		read := func() (pg, gen, busy, total time.Duration) {
			if db == "postgres" {
				pg = benchkit.CommCPU("postgres")
			}
			gen, _ = benchkit.ProcCPU(os.Getpid())
			busy, total = benchkit.BoxCPU()
			return
		}
		pg0, gen0, busy0, total0 := read()
		time.Sleep(dur)
		pg1, gen1, busy1, total1 := read()
		o := others{pg: pg1 - pg0, gen: gen1 - gen0}
		if total1 > total0 {
			o.busy = float64(busy1-busy0) / float64(total1-total0)
		}
		c <- o
	}()
	return c
}

// cpuOver reports a process's CPU time over [now+warmup, now+warmup+dur].
func cpuOver(pid int, warmup, dur time.Duration) <-chan time.Duration {
	c := make(chan time.Duration, 1)
	go func() {
		time.Sleep(warmup)
		a, _ := benchkit.ProcCPU(pid)
		time.Sleep(dur)
		z, _ := benchkit.ProcCPU(pid)
		c <- z - a
	}()
	return c
}

// countLiveRuns reads back how many LIVE runs the API recorded.
func countLiveRuns(base, key string) (int, error) {
	// The list is paged (100 at most); probe offsets instead of paging
	// through tens of thousands of runs.
	lo, hi := 0, 1<<24
	for lo < hi {
		mid := (lo + hi) / 2
		var page []struct{ UID string }
		if _, err := benchkit.Call(http.MethodGet, base+"/v4/runs?execution_mode[]=LIVE&limit=1&offset="+strconv.Itoa(mid),
			key, nil, &page); err != nil {
			return 0, err
		}
		if len(page) > 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// touchPeople calls the simulator directly until it has answered for
// o.touch distinct people, then reads its memory.
func (b *bench) touchPeople(ctx context.Context, sr *simReport) {
	start := time.Now()
	target := b.o.touch
	benchkit.Logf("touching simulated people: %d distinct so far, target %d", b.people.count(), target)
	hc := driverClient()
	defer hc.CloseIdleConnections()
	tctx, cancel := context.WithTimeout(ctx, b.o.touchTimeout)
	defer cancel()
	var calls atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := range b.o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; tctx.Err() == nil; seq++ {
				if seq%64 == 0 && b.people.count() >= target {
					return
				}
				o, detail := b.directCall(tctx, hc, b.cookies[(w+seq)%len(b.cookies)])
				calls.Add(1)
				if o != benchkit.OK && tctx.Err() == nil && firstErr.Load() == nil {
					firstErr.Store(detail)
				}
			}
		}()
	}
	wg.Wait()
	sr.touched, sr.touchCalls, sr.touchTook = b.people.count(), calls.Load(), time.Since(start)
	if sr.touched < target {
		sr.touchErr = fmt.Errorf("touched only %d distinct people in %v (target %d)", sr.touched, b.o.touchTimeout, target)
		if e, ok := firstErr.Load().(string); ok {
			sr.touchErr = fmt.Errorf("%w; first error: %s", sr.touchErr, e)
		}
	}
	// Let the simulator's GC settle as an idle process would.
	time.Sleep(2 * time.Second)
	sr.rssKiB, sr.hwmKiB, _ = benchkit.ProcMem(b.sim.PID())
	benchkit.Logf("touched %d distinct people with %d more calls in %v; simulator RSS %s (peak %s)", sr.touched, sr.touchCalls,
		sr.touchTook.Round(time.Second), benchkit.MiB(sr.rssKiB), benchkit.MiB(sr.hwmKiB))
}

func printReport(w io.Writer, b *bench, hop *dbReport, reports []*dbReport, sr *simReport, took time.Duration, load string) {
	o := b.o
	fmt.Fprintf(w, "go run ./bench/livebench: %s, %s/%s, %d CPUs, %d clients, %d identities on %d managed sandbox accounts, "+
		"identity_mode %s, %v warm-up + %v measured per case (%v for the one-client cases), simulator latency 0, firstmate %s, run took %v, 1-min load average %s\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), o.clients, o.identities, len(b.cookies), o.mode,
		o.warmup, o.duration, o.latencyDur, benchkit.Source(o.firstmate), took.Round(time.Second), load)
	fmt.Fprintln(w, "| database | path | calls/s | p50 | p99 | errors | 429s | server peak RSS | server CPU/call | simulator CPU/call | PostgreSQL CPU/call | load generator CPU/call | box busy |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	rows := reports
	if hop != nil {
		rows = append([]*dbReport{hop}, reports...)
	}
	for _, r := range rows {
		if r.err != nil && r.direct == nil {
			fmt.Fprintf(w, "| %s | not measured: %s | | | | | | | | |\n", r.db, strings.ReplaceAll(r.err.Error(), "\n", " "))
			continue
		}
		for _, c := range r.cases() {
			l := c.load
			srvRSS, srvCPU := "-", "-"
			if c.peakKiB > 0 {
				srvRSS, srvCPU = benchkit.MiB(c.peakKiB), fmt.Sprintf("%.0f µs", c.perCall(c.cpu))
			}
			pgCPU := "-"
			if c.db == "postgres" {
				pgCPU = fmt.Sprintf("%.0f µs", c.perCall(c.pgCPU))
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %d | %d | %s | %s | %.0f µs | %s | %.0f µs | %.0f %% |\n", c.db, c.name,
				l.OKPerSec(), benchkit.Ms(l.P(0.50)), benchkit.Ms(l.P(0.99)), l.Errors, l.Limited, srvRSS, srvCPU,
				c.perCall(c.simCPU), pgCPU, c.perCall(c.genCPU), 100*c.busy)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "calls/s counts successful calls only, and p50/p99 are their latencies (failed calls are counted, not timed). CPU/call is the process's user+system CPU time over the measured window")
	fmt.Fprintln(w, "divided by the calls made; PostgreSQL's is that of all its processes (other databases' work on the same")
	fmt.Fprintln(w, "server included). The load generator and the direct driver run in this process and share the same CPUs.")
	fmt.Fprintln(w, "Box busy is the share of all CPUs not idle over the window, whoever used them.")
	for _, r := range reports {
		if r.api != nil {
			fmt.Fprintf(w, "- %s: %d LIVE runs recorded by the server (warm-up included)\n", r.db, r.runs)
		}
	}
	fmt.Fprintf(w, "- simulator: RSS %s idle after start, peak %s during the cases; after touching %d distinct people "+
		"(%d distinct profile URLs asked in all, %d calls in the touch phase, %v): RSS %s, VmHWM %s\n",
		benchkit.MiB(sr.idleKiB), benchkit.MiB(sr.peakDuringRunsKiB), sr.touched, sr.distinctURLs, sr.touchCalls,
		sr.touchTook.Round(time.Second), benchkit.MiB(sr.rssKiB), benchkit.MiB(sr.hwmKiB))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Targets:")
	fmt.Fprintln(w)
	if hop != nil && hop.direct != nil && hop.api != nil {
		fmt.Fprintf(w, "- calibration: bare hop / direct throughput = %.0f / %s calls/s = %.1f%%; rounds %s, median %.1f%%: "+
			"the most an API in front of the driver reaches on this box\n",
			hop.api.load.OKPerSec(), hop.directLabel(), 100*hop.api.load.OKPerSec()/hop.directOKPerSec(), hop.ratiosLabel(),
			100*hop.medianRatio())
	}
	for _, r := range reports {
		if r.direct == nil || r.api == nil {
			continue
		}
		ratio := r.medianRatio()
		fmt.Fprintf(w, "- %s: API / direct throughput = %.0f / %s calls/s = %.1f%%; rounds %s, median %.1f%% (target >= %.0f%%): %s\n",
			r.db, r.api.load.OKPerSec(), r.directLabel(), 100*r.api.load.OKPerSec()/r.directOKPerSec(), r.ratiosLabel(), 100*ratio,
			100*targetRatio, benchkit.PassMiss(ratio >= targetRatio))
		added := r.medianAddedP50()
		fmt.Fprintf(w, "- %s: added p50 at %d clients (API p50 - mean of the direct p50s around it): rounds %s, median %s "+
			"(target <= %s): %s\n", r.db, r.api.clients, r.addedLabel(), msLabel(added), benchkit.Ms(targetAddedP50),
			benchkit.PassMiss(added <= float64(targetAddedP50.Microseconds())/1000))
		if r.direct1 != nil && r.api1 != nil {
			added1 := r.api1.load.P(0.50) - r.direct1.load.P(0.50)
			fmt.Fprintf(w, "  (one client at a time, no queueing: %s - %s = %s added)\n", benchkit.Ms(r.api1.load.P(0.50)),
				benchkit.Ms(r.direct1.load.P(0.50)), benchkit.Ms(added1))
		}
		if r.directRate != nil && r.apiRate != nil {
			addedR := r.apiRate.load.P(0.50) - r.directRate.load.P(0.50)
			fmt.Fprintf(w, "- %s: added p50 at an equal offered load (open loop, %.0f calls/s, at most %d in flight) = %s - %s = %s "+
				"(target <= %s): %s\n", r.db, r.apiRate.rate, r.apiRate.clients, benchkit.Ms(r.apiRate.load.P(0.50)),
				benchkit.Ms(r.directRate.load.P(0.50)), benchkit.Ms(addedR), benchkit.Ms(targetAddedP50),
				benchkit.PassMiss(r.apiRate.load.OK > 0 && r.directRate.load.OK > 0 && addedR <= targetAddedP50))
		}
	}
	fmt.Fprintf(w, "- simulator world (120,000 people) after touching %d distinct people: RSS %s (target <= %s, and >= %d people touched): %s\n",
		sr.touched, benchkit.MiB(sr.rssKiB), benchkit.MiB(targetSimRSSKiB), o.touch,
		benchkit.PassMiss(sr.rssKiB > 0 && sr.rssKiB <= targetSimRSSKiB && sr.touched >= o.touch))
	for _, r := range reports {
		for _, c := range r.cases() {
			if c.load.Errors > 0 {
				fmt.Fprintf(w, "- WARNING %s %s: %d errors, first: %s\n", c.db, c.name, c.load.Errors, c.load.FirstError)
			}
		}
	}
	if sr.touchErr != nil {
		fmt.Fprintf(w, "- WARNING simulator: %v\n", sr.touchErr)
	}
}

func clientsOf(n int) string {
	if n == 1 {
		return "1 client"
	}
	return strconv.Itoa(n) + " clients"
}
