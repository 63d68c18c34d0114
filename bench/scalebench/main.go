// Command scalebench measures how Firstmate scales out on PostgreSQL (issue
// 19, "Benchmark"): with one, two and three `firstmate serve` nodes on one
// PostgreSQL, in the same run, it measures
//
//   - live calls/s: closed-loop clients spread over the nodes, each calling
//     POST /v4/actions/googlemaps-extract-place/run/live (no identity, so no
//     Smart Limits nor account locks; one simulator request a call);
//   - async inputs/s: one run of -inputs inputs of the same action,
//     submitted to the first node and worked by every node, from the POST to
//     the run's SUCCEEDED;
//
// and, for each, the CPU time per call (per input) of every node, of the
// simulator (`firstmate sim`, a process of its own with no added latency)
// and of PostgreSQL's backends serving this run (their pids found in
// pg_stat_activity by the run's application_name; the server is shared
// with other sessions), from /proc/<pid>/stat utime+stime.
//
// From the CPU per call it derives what a machine with more cores would
// see: with c cores per node and PostgreSQL on its own cores, the nodes
// make at most c / (node CPU per call) calls/s each, and PostgreSQL at most
// p / (PostgreSQL CPU per call) for p cores of its own; the smaller bound
// limits. It prints Markdown tables with the 1-min load average.
//
//	go run ./bench/scalebench [-nodes 1,2,3] [-clients 16] [-duration 15s] [-inputs 5000] [-firmate-bin BIN]
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/firstmate-oss/firstmate/bench/internal/benchkit"
)

const action = "googlemaps-extract-place"

type result struct {
	nodes int
	// live
	calls      float64 // calls/s
	p50, p99   time.Duration
	errs       int
	liveNode   time.Duration // CPU per call, all nodes together
	liveSim    time.Duration
	livePG     time.Duration
	liveBusy   float64 // the box's busy share during the window
	liveLoad   string
	inputsPS   float64 // async inputs/s
	asyncNode  time.Duration
	asyncSim   time.Duration
	asyncPG    time.Duration
	asyncBusy  float64
	asyncLoad  string
	perNodeCPU []time.Duration // live, per node, per call
}

func main() {
	nodesFlag := flag.String("nodes", "1,2,3", "node counts to measure")
	clients := flag.Int("clients", 16, "closed-loop live clients")
	dur := flag.Duration("duration", 15*time.Second, "live measuring window")
	inputs := flag.Int("inputs", 5000, "inputs of the async run")
	prebuilt := flag.String("firstmate-bin", "", "a built firstmate binary (default: build one)")
	pg := flag.String("postgres", benchkit.EnvOr("FIRSTMATE_TEST_DATABASE_URL", benchkit.DefaultPostgresURL), "PostgreSQL URL")
	flag.Parse()
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "scalebench-")
	check(err)
	defer os.RemoveAll(tmp)
	bin, err := benchkit.Binary(ctx, *prebuilt, tmp)
	check(err)
	sim, err := benchkit.StartSim(ctx, bin, tmp)
	check(err)
	defer sim.Stop()
	var res []result
	for _, f := range strings.Split(*nodesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		check(err)
		r, err := measure(ctx, bin, tmp, *pg, sim, n, *clients, *dur, *inputs)
		check(err)
		res = append(res, r)
	}
	print(res, *clients, *inputs)
}

func measure(ctx context.Context, bin, tmp, pg string, sim *benchkit.Server, n, clients int, dur time.Duration, inputs int) (result, error) {
	r := result{nodes: n}
	dbURL, drop, err := benchkit.PostgresSchema(ctx, pg, "scalebench")
	if err != nil {
		return r, err
	}
	defer drop()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return r, err
	}
	defer db.Close()
	appName := ""
	if u := strings.Index(dbURL, "application_name="); u >= 0 {
		appName = strings.SplitN(dbURL[u+len("application_name="):], "&", 2)[0]
	}
	key := "fm_scalebenchbootstrapkey23456789"
	env := []string{"FIRSTMATE_BOOTSTRAP_API_KEY=" + key, "FIRSTMATE_SIM_URL=" + sim.Base, "FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true", "FIRSTMATE_ACCESS_LOG=off", "FIRSTMATE_LOG_LEVEL=warn"}
	var nodes []*benchkit.Firstmate
	for i := range n {
		name := fmt.Sprintf("n%d-%d", n, i+1)
		if err := os.MkdirAll(filepath.Join(tmp, name+"-data"), 0o700); err != nil {
			return r, err
		}
		// One keyring for every node (and the CLI, which reads the first
		// node's data dir): the first node makes it, the others copy it.
		if i > 0 {
			k, err := os.ReadFile(filepath.Join(nodes[0].DataDir, "secret.key"))
			if err != nil {
				return r, err
			}
			if err := os.WriteFile(filepath.Join(tmp, name+"-data", "secret.key"), k, 0o600); err != nil {
				return r, err
			}
		}
		fm, err := benchkit.StartFirstmate(ctx, bin, tmp, name, dbURL, false, env...)
		if err != nil {
			return r, err
		}
		defer fm.Stop()
		nodes = append(nodes, fm)
	}
	// The bootstrap workspace is on the free plan: an unlimited one.
	ws, err := nodes[0].CreateWorkspace(ctx, bin, "Scalebench", "unlimited", "scale@example.com")
	if err != nil {
		return r, err
	}
	pgPIDs := func() []int {
		rows, err := db.Query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, appName)
		if err != nil {
			return nil
		}
		defer rows.Close()
		var ps []int
		for rows.Next() {
			var p int
			_ = rows.Scan(&p)
			ps = append(ps, p)
		}
		return ps
	}
	type snap struct {
		node      []time.Duration
		sim       time.Duration
		pg        map[int]time.Duration
		busy, tot time.Duration
	}
	take := func() snap {
		s := snap{pg: map[int]time.Duration{}}
		for _, fm := range nodes {
			c, _ := benchkit.ProcCPU(fm.PID())
			s.node = append(s.node, c)
		}
		s.sim, _ = benchkit.ProcCPU(sim.PID())
		for _, p := range pgPIDs() {
			c, _ := benchkit.ProcCPU(p)
			s.pg[p] = c
		}
		s.busy, s.tot = benchkit.BoxCPU()
		return s
	}
	// diff is the CPU used between a and b: per node, the simulator, and
	// PostgreSQL's backends of this run (a backend started meanwhile
	// counts from zero; one that ended is lost, which pools make rare).
	diff := func(a, b snap) (nodes []time.Duration, simCPU, pgCPU time.Duration, busy float64) {
		for i := range b.node {
			nodes = append(nodes, b.node[i]-a.node[i])
		}
		for p, c := range b.pg {
			pgCPU += c - a.pg[p]
		}
		return nodes, b.sim - a.sim, pgCPU, float64(b.busy-a.busy) / float64(b.tot-a.tot)
	}
	sum := func(ds []time.Duration) (t time.Duration) {
		for _, d := range ds {
			t += d
		}
		return t
	}

	// Live.
	hc := benchkit.NewClient(clients)
	body := []byte(`{"input":{"google_maps_place_url":"https://www.google.com/maps/place/scalebench"}}`)
	do := benchkit.HTTPDo(hc, clients, func(w, seq int) (*http.Request, error) {
		return benchkit.Authed("POST", nodes[(w+seq)%len(nodes)].Base+"/v4/actions/"+action+"/run/live", ws.APIKey, body)
	}, func(status int, _ []byte) benchkit.Outcome {
		switch status {
		case 200:
			return benchkit.OK
		case 429:
			return benchkit.Limited
		}
		return benchkit.Failed
	})
	warm := 3 * time.Second
	var before snap
	go func() { time.Sleep(warm); before = take() }()
	lr := benchkit.RunLoad(ctx, benchkit.LoadSpec{Clients: clients, Warmup: warm, Dur: dur, Do: do})
	after := take()
	r.liveLoad = benchkit.LoadAvg()
	per, simCPU, pgCPU, busy := diff(before, after)
	calls := time.Duration(max(lr.OK, 1))
	r.calls, r.p50, r.p99, r.errs = lr.OKPerSec(), lr.P(0.50), lr.P(0.99), lr.Errors+lr.Limited
	r.liveNode, r.liveSim, r.livePG, r.liveBusy = sum(per)/calls, simCPU/calls, pgCPU/calls, busy
	for _, c := range per {
		r.perNodeCPU = append(r.perNodeCPU, c/calls)
	}
	benchkit.Logf("%d node(s): live %.0f calls/s (p50 %s, p99 %s, %d not ok: %s), node CPU %s/call, PostgreSQL %s/call, sim %s/call, box %.0f%% busy, load %s",
		n, r.calls, benchkit.Ms(r.p50), benchkit.Ms(r.p99), r.errs, lr.FirstError, r.liveNode, r.livePG, r.liveSim, 100*busy, r.liveLoad)

	// Async.
	var b strings.Builder
	b.WriteString(`{"inputs":[`)
	for i := range inputs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"google_maps_place_url":"https://www.google.com/maps/place/scale-%d-%d"}`, n, i)
	}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	defer recv.Close()
	fmt.Fprintf(&b, `],"callback":{"url":%q,"on":"final"}}`, recv.URL)
	before = take()
	began := time.Now()
	var sub map[string]any
	if _, err := benchkit.Call("POST", nodes[0].Base+"/v4/actions/"+action+"/run/async", ws.APIKey, jsonRaw(b.String()), &sub); err != nil {
		return r, err
	}
	uid, _ := sub["run_uid"].(string)
	for {
		var st map[string]any
		if _, err := benchkit.Call("GET", nodes[0].Base+"/v4/runs/"+uid, ws.APIKey, nil, &st); err == nil {
			if s, _ := st["status"].(string); s == "SUCCEEDED" || s == "FAILED" || s == "PARTIAL_SUCCEEDED" {
				if s != "SUCCEEDED" {
					return r, fmt.Errorf("async run %s", s)
				}
				break
			}
		}
		if time.Since(began) > 10*time.Minute {
			return r, fmt.Errorf("async run not done in 10 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(began)
	after = take()
	r.asyncLoad = benchkit.LoadAvg()
	per, simCPU, pgCPU, busy = diff(before, after)
	in := time.Duration(inputs)
	r.inputsPS = float64(inputs) / took.Seconds()
	r.asyncNode, r.asyncSim, r.asyncPG, r.asyncBusy = sum(per)/in, simCPU/in, pgCPU/in, busy
	benchkit.Logf("%d node(s): async %.0f inputs/s (%s for %d), node CPU %s/input, PostgreSQL %s/input, sim %s/input, box %.0f%% busy, load %s",
		n, r.inputsPS, took.Round(time.Millisecond), inputs, r.asyncNode, r.asyncPG, r.asyncSim, 100*busy, r.asyncLoad)
	return r, nil
}

// jsonRaw is a body already encoded.
type jsonRaw string

func (j jsonRaw) MarshalJSON() ([]byte, error) { return []byte(j), nil }

func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

func print(res []result, clients, inputs int) {
	fmt.Printf("\n%d cores; live: %d closed-loop clients over the nodes; async: one run of %d inputs; action %s\n\n", runtime.NumCPU(), clients, inputs, action)
	fmt.Printf("| nodes | live calls/s | p50 | p99 | not ok | node CPU/call (each node) | PostgreSQL CPU/call | sim CPU/call | box busy | load |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range res {
		var each []string
		for _, c := range r.perNodeCPU {
			each = append(each, us(c))
		}
		fmt.Printf("| %d | %.0f | %s | %s | %d | %s (%s) | %s | %s | %.0f%% | %s |\n", r.nodes, r.calls, benchkit.Ms(r.p50), benchkit.Ms(r.p99), r.errs,
			us(r.liveNode), strings.Join(each, ", "), us(r.livePG), us(r.liveSim), 100*r.liveBusy, r.liveLoad)
	}
	fmt.Printf("\n| nodes | async inputs/s | node CPU/input | PostgreSQL CPU/input | sim CPU/input | box busy | load |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range res {
		fmt.Printf("| %d | %.0f | %s | %s | %s | %.0f%% | %s |\n", r.nodes, r.inputsPS, us(r.asyncNode), us(r.asyncPG), us(r.asyncSim), 100*r.asyncBusy, r.asyncLoad)
	}
	// What more cores would give, from the CPU per call of the largest run:
	// each node's calls/s bound by its cores, PostgreSQL's by its own.
	last := res[len(res)-1]
	fmt.Printf("\nDerived (from the %d-node CPU per call/input; the simulator stands for the platforms and is left out):\n\n", last.nodes)
	fmt.Printf("| cores per node | nodes | live calls/s bound by the nodes | by PostgreSQL on 4 / 8 / 16 cores | async inputs/s bound by the nodes | by PostgreSQL on 4 / 8 / 16 cores |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, cores := range []int{2, 4, 8} {
		for _, n := range []int{1, 2, 3} {
			nodeLive := float64(n*cores) / last.liveNode.Seconds()
			nodeAsync := float64(n*cores) / last.asyncNode.Seconds()
			fmt.Printf("| %d | %d | %.0f | %.0f / %.0f / %.0f | %.0f | %.0f / %.0f / %.0f |\n", cores, n, nodeLive,
				4/last.livePG.Seconds(), 8/last.livePG.Seconds(), 16/last.livePG.Seconds(), nodeAsync,
				4/last.asyncPG.Seconds(), 8/last.asyncPG.Seconds(), 16/last.asyncPG.Seconds())
		}
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}
