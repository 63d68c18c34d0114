// Command executorbench measures what the remote executor hop costs a live
// call (issue 15): live calls through the API of one family served by the
// built-in simulator driver, against the same family routed to the
// simulator's executor (`firstmate sim --executor`), in the same run.
//
// One `firstmate sim --executor` process serves both: its simulator face
// (FIRSTMATE_SIM_URL) to server A, which runs the built-in sandbox driver,
// and its executor face (/v1/...) to server B, which routes the family to
// it (FIRSTMATE_PLATFORM_<FAMILY>=executor:...). The two servers are the
// same binary, each on its own SQLite data directory, measured in turns
// (A B B A per round, so that a drift of the shared box's load does not
// favour either). The only difference between them is the executor hop:
// B's call to the executor and the executor's own call to the simulator's
// face, on loopback.
//
// Per round: p50 of sequential calls (one client: the latency the hop adds)
// and the throughput of -clients closed-loop clients (the share B keeps).
// The verdicts use the medians of the rounds.
//
//	go run ./bench/executorbench [-rounds 5] [-dur 5s] [-clients 32]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/bench/internal/benchkit"
	"github.com/firstmate-oss/firstmate/internal/executor"
)

type options struct {
	bin     string
	rounds  int
	dur     time.Duration
	warmup  time.Duration
	clients int
	family  string
	slug    string
}

func main() {
	benchkit.Prefix = "executorbench"
	var o options
	flag.StringVar(&o.bin, "firstmate-bin", "", "a prebuilt firstmate binary (default: build the working tree)")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds; each measures A and B at 1 client and at -clients")
	flag.DurationVar(&o.dur, "dur", 5*time.Second, "measured time of each case")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "warm-up before each case")
	flag.IntVar(&o.clients, "clients", 32, "closed-loop clients of the throughput cases")
	flag.StringVar(&o.slug, "action", "googlemaps-extract-place", "the live action (of a family that needs no identity)")
	flag.Parse()
	o.family, _, _ = strings.Cut(o.slug, "-")
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "executorbench:", err)
		os.Exit(1)
	}
}

// server is one Firstmate under test.
type server struct {
	name string
	fm   *benchkit.Firstmate
	key  string
	cl1  *http.Client
	clN  *http.Client
}

type caseResult struct {
	load    benchkit.LoadResult
	cpu     time.Duration // server CPU during the measured case
	execCPU time.Duration // the sim/executor process's CPU
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "executorbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(tmp, "firstmate")
		if err := benchkit.BuildFirstmate(ctx, bin); err != nil {
			return err
		}
	}
	loadBefore := loadavg()
	secret := executor.NewSecret()
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return err
	}
	simCmd := exec.Command(bin, "sim", "--addr", addr, "--executor")
	simCmd.Env = benchkit.ChildEnv("FIRSTMATE_SIM_EXECUTOR_SECRET=" + secret)
	sim, err := benchkit.StartServer(ctx, "sim --executor", simCmd, addr, filepath.Join(tmp, "sim.log"), "/_sim/health")
	if err != nil {
		return err
	}
	defer sim.Stop()
	common := []string{"FIRSTMATE_ACCESS_LOG=off", "FIRSTMATE_LOG_LEVEL=warn", "FIRSTMATE_HEALTH_CHECKS=off"}
	fmA, err := benchkit.StartFirstmate(ctx, bin, tmp, "sandbox", "", false, append(common, "FIRSTMATE_SIM_URL="+sim.Base)...)
	if err != nil {
		return err
	}
	defer fmA.Stop()
	setting := "FIRSTMATE_PLATFORM_" + strings.ToUpper(o.family)
	fmB, err := benchkit.StartFirstmate(ctx, bin, tmp, "executor", "", false, append(common, "FIRSTMATE_SIM_URL="+sim.Base,
		setting+"=executor:"+sim.Base, "FIRSTMATE_EXECUTOR_SECRETS="+secret)...)
	if err != nil {
		return err
	}
	defer fmB.Stop()
	var servers []*server
	for _, s := range []struct {
		name string
		fm   *benchkit.Firstmate
	}{{"A sandbox driver", fmA}, {"B executor", fmB}} {
		ws, err := s.fm.CreateWorkspace(ctx, bin, "Bench", "unlimited", "bench@example.com")
		if err != nil {
			return err
		}
		srv := &server{name: s.name, fm: s.fm, key: ws.APIKey, cl1: benchkit.NewClient(1), clN: benchkit.NewClient(o.clients)}
		// What serves the action on each: the sandbox driver, the executor.
		var d struct {
			Available bool                  `json:"available"`
			Driver    struct{ Kind string } `json:"driver"`
		}
		if _, err := benchkit.Call("GET", s.fm.Base+"/v4/actions/"+o.slug, srv.key, nil, &d); err != nil {
			return err
		}
		want := map[string]string{"A sandbox driver": "sandbox", "B executor": "executor"}[s.name]
		if !d.Available || d.Driver.Kind != want {
			return fmt.Errorf("%s serves %s with %+v, want %s", s.name, o.slug, d, want)
		}
		servers = append(servers, srv)
	}
	benchkit.Logf("A: %s (built-in sandbox driver), B: %s (executor at %s)", fmA.Base, fmB.Base, sim.Base)

	lat := make([][]caseResult, 2) // by server: the 1-client cases, by round
	thr := make([][]caseResult, 2)
	for r := 0; r < o.rounds; r++ {
		order := []int{0, 1, 1, 0}
		if r%2 == 1 {
			order = []int{1, 0, 0, 1}
		}
		// The first two measure latency, the last two throughput.
		for i, si := range order {
			clients := 1
			if i >= 2 {
				clients = o.clients
			}
			c := measure(ctx, o, servers[si], sim, clients)
			if c.load.Errors > 0 {
				return fmt.Errorf("%s, %d clients: %d errors, first: %s", servers[si].name, clients, c.load.Errors, c.load.FirstError)
			}
			benchkit.Logf("round %d %s %d clients: %.0f calls/s p50 %s", r+1, servers[si].name, clients, c.load.OKPerSec(), ms(c.load.P(0.5)))
			if clients == 1 {
				lat[si] = append(lat[si], c)
			} else {
				thr[si] = append(thr[si], c)
			}
		}
	}
	report(os.Stdout, o, bin, lat, thr, loadBefore, loadavg())
	return nil
}

func measure(ctx context.Context, o options, s *server, sim *benchkit.Server, clients int) caseResult {
	cl := s.cl1
	if clients > 1 {
		cl = s.clN
	}
	u := s.fm.Base + "/v4/actions/" + o.slug + "/run/live"
	do := benchkit.HTTPDo(cl, clients, func(w, seq int) (*http.Request, error) {
		body := fmt.Sprintf(`{"input":{"google_maps_place_url":"https://www.google.com/maps/place/Bench+Cafe+%d/"}}`, seq%500)
		return benchkit.Authed("POST", u, s.key, []byte(body))
	}, func(status int, body []byte) benchkit.Outcome {
		if status == 200 && bytes.Contains(body, []byte(`"place_name"`)) {
			return benchkit.OK
		}
		return benchkit.Failed
	})
	cpu0, _ := benchkit.ProcCPU(s.fm.PID())
	ex0, _ := benchkit.ProcCPU(sim.PID())
	var res caseResult
	// The CPU counters span warm-up and window: scaled to the window below.
	res.load = benchkit.RunLoad(ctx, benchkit.LoadSpec{Clients: clients, Warmup: o.warmup, Dur: o.dur, Do: do})
	cpu1, _ := benchkit.ProcCPU(s.fm.PID())
	ex1, _ := benchkit.ProcCPU(sim.PID())
	res.cpu, res.execCPU = cpu1-cpu0, ex1-ex0
	return res
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// perCall is a case's CPU per answered call (warm-up calls included in both
// the CPU and, estimated at the window's rate, the count).
func perCall(cpu time.Duration, c caseResult, o options) string {
	total := c.load.OKPerSec() * (o.dur + o.warmup).Seconds()
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f µs", float64(cpu.Microseconds())/total)
}

func report(w io.Writer, o options, bin string, lat, thr [][]caseResult, loadBefore, loadAfter string) {
	fmt.Fprintf(w, "## executorbench: %s, built-in sandbox driver (A) vs the simulator's executor (B)\n\n", o.slug)
	fmt.Fprintf(w, "- %d cores (GOMAXPROCS %d), %s/%s; 1-min load average %s before, %s after\n", runtime.NumCPU(),
		runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, loadBefore, loadAfter)
	fmt.Fprintf(w, "- %d rounds of A and B in turns (A B B A, then B A A B); %s measured after %s of warm-up per case; "+
		"throughput with %d closed-loop clients\n\n", o.rounds, o.dur, o.warmup, o.clients)
	fmt.Fprintln(w, "| round | p50 A (1 client) | p50 B | added by the hop | calls/s A | calls/s B | B / A | server CPU/call A | B | executor process CPU/call (B) |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var added, ratios, cpuA, cpuB []float64
	for r := range lat[0] {
		a, b := lat[0][r], lat[1][r]
		ta, tb := thr[0][r], thr[1][r]
		d := float64(b.load.P(0.5)-a.load.P(0.5)) / float64(time.Millisecond)
		ratio := tb.load.OKPerSec() / ta.load.OKPerSec()
		added, ratios = append(added, d), append(ratios, ratio)
		cpuA, cpuB = append(cpuA, perCallUS(ta.cpu, ta, o)), append(cpuB, perCallUS(tb.cpu, tb, o))
		fmt.Fprintf(w, "| %d | %s | %s | %+.3f ms | %.0f | %.0f | %.1f %% | %s | %s | %s |\n", r+1, ms(a.load.P(0.5)), ms(b.load.P(0.5)), d,
			ta.load.OKPerSec(), tb.load.OKPerSec(), 100*ratio, perCall(ta.cpu, ta, o), perCall(tb.cpu, tb, o), perCall(tb.execCPU, tb, o))
	}
	mAdded, mRatio := median(added), median(ratios)
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	fmt.Fprintf(w, "\nMedian of the rounds: the hop adds **%+.3f ms** at p50 (target ≤ 0.3 ms: %s); B keeps **%.1f %%** of A's throughput "+
		"(target ≥ 80 %%: %s).\n", mAdded, verdict(mAdded <= 0.3), 100*mRatio, verdict(mRatio >= 0.8))
	fmt.Fprintf(w, "Firstmate's own CPU per call, median: A %.0f µs, B %.0f µs: with the executor on machines of its own, "+
		"B would keep at most %.1f %% of A's throughput on CPU-bound servers.\n", median(cpuA), median(cpuB), 100*median(cpuA)/median(cpuB))
}

func perCallUS(cpu time.Duration, c caseResult, o options) float64 {
	total := c.load.OKPerSec() * (o.dur + o.warmup).Seconds()
	if total == 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / total
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
