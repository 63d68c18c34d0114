// Command bulkbench measures what maximal async submissions cost the server
// (issue 14, item 25), on SQLite and on PostgreSQL, against the real
// firstmate binary started as a separate process and pointed
// (FIRSTMATE_SIM_URL) at `firstmate sim`, its own process too:
//
//   - one, then three concurrent, submissions of 100,000 inputs of
//     googlemaps-extract-place with ~1.2 KB of custom_data each (a 125 MB
//     body), each scenario on a fresh server and database;
//   - the server's RSS before (idle) and its peak during the submissions
//     (sampled every 10 ms, and VmHWM);
//   - another workspace's live calls (googlemaps-extract-place, open loop
//     at -live-rate) before the submissions and while they are stored: p50,
//     p99 and max, counting correct answers only (200 with the place);
//   - on SQLite, the WAL file's size: its peak while the submissions are
//     stored and a few seconds after the last one;
//   - the submissions' times and their answers (a 503 is retried after its
//     Retry-After, as a client should; how many were is reported).
//
// Each run is cancelled as soon as it is stored (unless -work), so that
// what is measured is storing the submissions, not working their inputs
// (bench/asyncbench measures that).
//
// It prints Markdown tables and PASS/MISS against the targets; it never
// fails on a missed target.
//
//	go run ./bench/bulkbench [-inputs 100000] [-pad 1150] [-concurrent 1,3] [-live-rate 20]
//	    [-databases sqlite,postgres] [-firstmate-bin BIN] [-bulk-slots 0] [-work] [-keep]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
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

// Targets of issue 14, item 25.
const (
	targetPeakKiB = 250 * 1024
	action        = "googlemaps-extract-place"
)

type options struct {
	inputs      int
	pad         int
	concurrent  []int
	liveRate    float64
	baseline    time.Duration
	postgresURL string
	databases   []string
	firstmate   string
	bulkSlots   int
	work        bool
	keep        bool
}

func main() {
	benchkit.Prefix = "bulkbench"
	var o options
	var dbs, conc string
	flag.IntVar(&o.inputs, "inputs", 100_000, "inputs per submission")
	flag.IntVar(&o.pad, "pad", 1150, "bytes of custom_data padding per input (1150: a 125 MB body of 100,000)")
	flag.StringVar(&conc, "concurrent", "1,3", "scenarios: how many submissions at once, comma-separated")
	flag.Float64Var(&o.liveRate, "live-rate", 20, "the other workspace's live calls per second (open loop)")
	flag.DurationVar(&o.baseline, "baseline", 5*time.Second, "live calls measured before the submissions start")
	flag.StringVar(&o.postgresURL, "postgres-url", benchkit.EnvOr("FIRSTMATE_BENCH_DATABASE_URL", benchkit.DefaultPostgresURL),
		"PostgreSQL server; fresh schemas are created in it and dropped afterwards")
	flag.StringVar(&dbs, "databases", "sqlite,postgres", "databases to measure, comma-separated")
	flag.StringVar(&o.firstmate, "firstmate-bin", "", "prebuilt firstmate binary (default: go build ./cmd/firstmate)")
	flag.IntVar(&o.bulkSlots, "bulk-slots", 0, "FIRSTMATE_BULK_SUBMISSIONS for the server (0: its default)")
	flag.BoolVar(&o.work, "work", false, "let the runs be worked (default: each is cancelled once stored, so that only storing is measured)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data dirs, logs)")
	flag.Parse()
	o.databases = strings.Split(dbs, ",")
	for _, c := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bulkbench: bad -concurrent %q\n", conc)
			os.Exit(2)
		}
		o.concurrent = append(o.concurrent, n)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bulkbench:", err)
		os.Exit(1)
	}
}

// result is one scenario on one database.
type result struct {
	db          string
	concurrent  int
	idleKiB     int64
	peakKiB     int64 // sampled VmRSS during the submissions
	hwmKiB      int64 // VmHWM at the end of the submissions
	submit      []time.Duration
	retried     int // 503s retried after Retry-After
	window      time.Duration
	base, under latency
	walPeak     int64 // SQLite: bytes
	walAfter    int64
	err         error
}

// latency is the other workspace's live calls in one window.
type latency struct {
	ok, bad int
	lat     []time.Duration // correct answers only, sorted
}

func (l latency) p(q float64) time.Duration { return benchkit.Percentile(l.lat, q) }

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "bulkbench-")
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
	started, loadBefore := time.Now(), benchkit.LoadAvg()
	simSrv, err := benchkit.StartSim(ctx, bin, tmp)
	if err != nil {
		return err
	}
	defer simSrv.Stop()
	benchkit.Logf("building a %d-input body", o.inputs)
	body := submissionBody(o.inputs, o.pad)
	benchkit.Logf("body: %.1f MB", float64(len(body))/1e6)

	var results []*result
	for _, db := range o.databases {
		db = strings.TrimSpace(db)
		if db != "sqlite" && db != "postgres" {
			return fmt.Errorf("unknown database %q (want sqlite or postgres)", db)
		}
		for i, n := range o.concurrent {
			r := &result{db: db, concurrent: n}
			r.err = scenario(ctx, o, bin, tmp, fmt.Sprintf("%s-%d", db, i), simSrv.Base, body, r)
			if r.err != nil {
				benchkit.Logf("%s, %d at once: %v", db, n, r.err)
			}
			results = append(results, r)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	printReport(os.Stdout, o, bin, len(body), results, time.Since(started), loadBefore+" before, "+benchkit.LoadAvg()+" after")
	for _, r := range results {
		if r.err != nil {
			return fmt.Errorf("%s could not be measured", r.db)
		}
	}
	return nil
}

// submissionBody is n inputs, each with pad bytes of custom_data, and no
// callback (nothing to deliver: the submission alone is measured).
func submissionBody(n, pad int) []byte {
	var b bytes.Buffer
	b.Grow(n * (pad + 120))
	padding := strings.Repeat("x", pad)
	b.WriteString(`{"inputs":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"google_maps_place_url":"https://www.google.com/maps/place/Bulk+%d/","custom_data":{"row":%d,"pad":"%s"}}`,
			i, i, padding)
	}
	b.WriteString(`],"callback":{"url":null}}`)
	return b.Bytes()
}

func scenario(ctx context.Context, o options, bin, tmp, name, simURL string, body []byte, r *result) error {
	var dbURL string
	if r.db == "postgres" {
		u, drop, err := benchkit.PostgresSchema(ctx, o.postgresURL, "bulkbench")
		if err != nil {
			return err
		}
		defer drop()
		dbURL = u
	}
	env := []string{"FIRSTMATE_SIM_URL=" + simURL}
	if o.bulkSlots > 0 {
		env = append(env, "FIRSTMATE_BULK_SUBMISSIONS="+strconv.Itoa(o.bulkSlots))
	}
	fm, err := benchkit.StartFirstmate(ctx, bin, tmp, name, dbURL, false, env...)
	if err != nil {
		return err
	}
	defer fm.Stop()
	bulkWS, err := fm.CreateWorkspace(ctx, bin, "Bulk", "unlimited", "bulk@example.com")
	if err != nil {
		return err
	}
	tenant, err := fm.CreateWorkspace(ctx, bin, "Tenant", "unlimited", "tenant@example.com")
	if err != nil {
		return err
	}
	time.Sleep(time.Second)
	r.idleKiB, _, _ = benchkit.ProcMem(fm.PID())

	// The other workspace's live calls run throughout; each is filed under
	// the window its scheduled start falls in.
	live := startLive(fm.Base, tenant.APIKey, o.liveRate)
	var walStop func() int64
	if r.db == "sqlite" {
		walStop = sampleSize(filepath.Join(fm.DataDir, "firstmate.db-wal"))
	}
	time.Sleep(o.baseline)
	rss := benchkit.SampleRSS(fm.PID(), 10*time.Millisecond)
	t0 := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range r.concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, retried, err := submit(ctx, fm.Base, bulkWS.APIKey, body, !o.work)
			mu.Lock()
			defer mu.Unlock()
			r.submit = append(r.submit, d)
			r.retried += retried
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	t1 := time.Now()
	r.peakKiB = rss.Stop()
	_, r.hwmKiB, _ = benchkit.ProcMem(fm.PID())
	r.window = t1.Sub(t0)
	calls := live.stop()
	for _, c := range calls {
		switch {
		case c.at.Before(t0.Add(-o.baseline)):
		case c.at.Before(t0):
			r.base.add(c)
		case c.at.Before(t1):
			r.under.add(c)
		}
	}
	slices.Sort(r.base.lat)
	slices.Sort(r.under.lat)
	slices.Sort(r.submit)
	if walStop != nil {
		time.Sleep(5 * time.Second)
		r.walPeak = walStop()
		r.walAfter = fileSize(filepath.Join(fm.DataDir, "firstmate.db-wal"))
	}
	return firstErr
}

func (l *latency) add(c call) {
	if !c.ok {
		l.bad++
		return
	}
	l.ok++
	l.lat = append(l.lat, c.took)
}

// submit posts one body, retrying a 503 after its Retry-After, checks the
// run holds every input, and cancels it if asked to.
func submit(ctx context.Context, base, key string, body []byte, cancel bool) (time.Duration, int, error) {
	client := &http.Client{Timeout: 10 * time.Minute}
	start := time.Now()
	retried := 0
	for {
		req, err := benchkit.Authed(http.MethodPost, base+"/v4/actions/"+action+"/run/async", key, body)
		if err != nil {
			return 0, retried, err
		}
		res, err := client.Do(req.WithContext(ctx))
		if err != nil {
			return 0, retried, err
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "" {
			secs, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			retried++
			time.Sleep(time.Duration(max(secs, 1)) * time.Second)
			continue
		}
		took := time.Since(start)
		if res.StatusCode != http.StatusOK {
			return took, retried, fmt.Errorf("submission: %d %s", res.StatusCode, trunc(data))
		}
		var out struct {
			RunUID string `json:"run_uid"`
		}
		if err := json.Unmarshal(data, &out); err != nil || out.RunUID == "" {
			return took, retried, fmt.Errorf("submission answer: %s", trunc(data))
		}
		if cancel {
			if _, err := benchkit.Call(http.MethodPost, base+"/v4/runs/"+out.RunUID+"/cancel", key, nil, nil); err != nil {
				return took, retried, err
			}
		}
		var run struct {
			InputCount int `json:"input_count"`
		}
		if _, err := benchkit.Call(http.MethodGet, base+"/v4/runs/"+out.RunUID, key, nil, &run); err != nil {
			return took, retried, err
		}
		want := bytes.Count(body, []byte(`"google_maps_place_url"`))
		if run.InputCount != want {
			return took, retried, fmt.Errorf("run %s holds %d inputs, want %d", out.RunUID, run.InputCount, want)
		}
		return took, retried, nil
	}
}

func trunc(b []byte) string {
	if len(b) > 300 {
		b = b[:300]
	}
	return string(b)
}

// call is one live call of the other workspace.
type call struct {
	at   time.Time // scheduled start
	took time.Duration
	ok   bool
}

type liveLoad struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	calls []call
}

// startLive calls the live action at rate per second, open loop: latency
// runs from each call's scheduled start, so queueing shows.
func startLive(base, key string, rate float64) *liveLoad {
	l := &liveLoad{stopc: make(chan struct{})}
	client := benchkit.NewClient(64)
	body := []byte(`{"input":{"google_maps_place_url":"https://www.google.com/maps/place/Cafe+Lumiere/"}}`)
	interval := time.Duration(float64(time.Second) / rate)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		start := time.Now()
		for seq := 0; ; seq++ {
			due := start.Add(time.Duration(seq) * interval)
			select {
			case <-l.stopc:
				return
			case <-time.After(time.Until(due)):
			}
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				c := call{at: due}
				req, err := benchkit.Authed(http.MethodPost, base+"/v4/actions/"+action+"/run/live", key, body)
				if err == nil {
					var res *http.Response
					if res, err = client.Do(req); err == nil {
						data, _ := io.ReadAll(res.Body)
						res.Body.Close()
						c.ok = res.StatusCode == http.StatusOK && bytes.Contains(data, []byte(`"google_maps_place_url"`))
					}
				}
				c.took = time.Since(due)
				l.mu.Lock()
				l.calls = append(l.calls, c)
				l.mu.Unlock()
			}()
		}
	}()
	return l
}

func (l *liveLoad) stop() []call {
	close(l.stopc)
	l.wg.Wait()
	return l.calls
}

// sampleSize records the largest size of a file until stopped.
func sampleSize(path string) (stop func() int64) {
	var peak int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, fileSize(path))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { close(done); wg.Wait(); return peak }
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func printReport(w io.Writer, o options, bin string, bodyLen int, results []*result, took time.Duration, load string) {
	fmt.Fprintf(w, "## Bulk submissions (issue 14)\n\n")
	fmt.Fprintf(w, "- Date: %s\n", time.Now().Format("2006-01-02 15:04"))
	fmt.Fprintf(w, "- Load average: %s\n", load)
	worked := "each run cancelled once stored"
	if o.work {
		worked = "runs worked meanwhile"
	}
	fmt.Fprintf(w, "- Program: `go run ./bench/bulkbench` (%d inputs, %.1f MB body, live calls at %.0f/s, %s; %s); took %s\n\n",
		o.inputs, float64(bodyLen)/1e6, o.liveRate, worked, benchkit.Source(o.firstmate), took.Round(time.Second))
	fmt.Fprintln(w, "| database | at once | submission (each) | 503 retried | idle RSS | peak RSS during | VmHWM | live p50 / p99 / max before | live p50 / p99 / max during | live calls failed | WAL peak / 5 s after |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|---|---|---:|---|")
	for _, r := range results {
		if r.err != nil && len(r.submit) == 0 {
			fmt.Fprintf(w, "| %s | %d | error: %v | | | | | | | | |\n", r.db, r.concurrent, r.err)
			continue
		}
		subs := make([]string, len(r.submit))
		for i, d := range r.submit {
			subs[i] = fmt.Sprintf("%.1f s", d.Seconds())
		}
		wal := "n/a"
		if r.db == "sqlite" {
			wal = fmt.Sprintf("%.1f / %.1f MiB", float64(r.walPeak)/(1<<20), float64(r.walAfter)/(1<<20))
		}
		fmt.Fprintf(w, "| %s | %d | %s | %d | %s | %s | %s | %s / %s / %s | %s / %s / %s | %d of %d | %s |\n",
			r.db, r.concurrent, strings.Join(subs, ", "), r.retried, benchkit.MiB(r.idleKiB), benchkit.MiB(r.peakKiB),
			benchkit.MiB(r.hwmKiB), ms(r.base.p(0.5)), ms(r.base.p(0.99)), ms(r.base.p(1)),
			ms(r.under.p(0.5)), ms(r.under.p(0.99)), ms(r.under.p(1)), r.under.bad, r.under.ok+r.under.bad, wal)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | result |")
	fmt.Fprintln(w, "|---|---|")
	for _, r := range results {
		fmt.Fprintf(w, "| %s, %d at once: peak RSS < 250 MB | %s (%s) |\n", r.db, r.concurrent,
			benchkit.PassMiss(r.err == nil && r.peakKiB > 0 && r.peakKiB < targetPeakKiB), benchkit.MiB(r.peakKiB))
	}
}
