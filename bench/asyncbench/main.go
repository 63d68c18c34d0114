// Command asyncbench measures async runs and schedules (issue 4) on SQLite
// and on PostgreSQL, in one run, against the real firstmate binary started
// as a separate process and pointed (FIRSTMATE_SIM_URL) at `firstmate sim`,
// its own process too, with zero added latency:
//
//   - one async run of 100,000 inputs of googlemaps-extract-place, the
//     cheapest single-result action (one simulator request per input, no
//     identity, so no Smart Limits nor account locks; 1 credit a result),
//     with callback.on = all to a receiver in this process that counts
//     distinct deliveries and verifies the signature of a sample. It
//     reports the submission time (the client's POST with 100,000 inputs)
//     and the server's peak RSS meanwhile, end-to-end inputs/s (POST sent to
//     the run's finished_at, SUCCEEDED), callback deliveries/s (first to last
//     received) and the server's peak RSS over the whole run;
//   - raw River throughput of no-op jobs on the same kind of database, with
//     Firstmate's store and job settings, in this process, for the ratio;
//   - schedule firing lag with 10,000 active every-minute schedules:
//     runs.created_at - slot for every run of the next minute slots, read
//     from the database (milliseconds). Schedules are being built in
//     parallel; when the binary does not serve
//     POST /v4/actions/{slug}/run/schedule yet, that part says so.
//
// It prints Markdown tables and PASS/MISS against the targets; it never
// fails on a missed target.
//
//	go run ./bench/asyncbench [-inputs 100000] [-raw-jobs 20000] [-schedules 10000] [-firings 2]
//	    [-databases sqlite,postgres] [-pprof-dir DIR] [-keep]
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
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/firstmate-oss/firstmate/bench/internal/benchkit"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Targets of issue 4.
const (
	targetSubmit         = 3 * time.Second
	targetSubmitRSSKiB   = 300 * 1024
	targetSQLitePerSec   = 1000
	targetPostgresPerSec = 3000
	targetCallbacks      = 2000
	targetLagP99         = time.Second

	action = "googlemaps-extract-place"
)

type options struct {
	inputs          int
	rawJobs         int
	rawCooldown     time.Duration
	schedules       int
	firings         int
	verifyEvery     int
	runTimeout      time.Duration
	callbackTimeout time.Duration
	postgresURL     string
	pgParams        string
	databases       []string
	firstmate       string
	pprofDir        string
	profileFor      time.Duration
	profileSubmit   time.Duration
	keep            bool
}

func main() {
	benchkit.Prefix = "asyncbench"
	var o options
	var dbs string
	flag.IntVar(&o.inputs, "inputs", 100_000, "inputs of the async run")
	flag.IntVar(&o.rawJobs, "raw-jobs", 20_000, "no-op jobs of the raw River measurement (0: skip)")
	flag.DurationVar(&o.rawCooldown, "raw-fetch-cooldown", 10*time.Millisecond, "River FetchCooldown of the raw measurement (internal/jobs uses 10 ms)")
	flag.IntVar(&o.schedules, "schedules", 10_000, "every-minute schedules (0: skip)")
	flag.IntVar(&o.firings, "firings", 2, "minute slots whose firings are measured")
	flag.IntVar(&o.verifyEvery, "verify-every", 100, "verify the signature of one callback in this many (and of the final one)")
	flag.DurationVar(&o.runTimeout, "run-timeout", 15*time.Minute, "give up waiting for the run after this long")
	flag.DurationVar(&o.callbackTimeout, "callback-timeout", 5*time.Minute, "wait this long after the run ends for its callbacks")
	flag.StringVar(&o.postgresURL, "postgres-url", benchkit.EnvOr("FIRSTMATE_BENCH_DATABASE_URL", benchkit.DefaultPostgresURL),
		"PostgreSQL server; fresh schemas are created in it and dropped afterwards")
	flag.StringVar(&o.pgParams, "server-postgres-params", "", `extra URL parameters for the server's PostgreSQL URL (e.g. "pool_max_conns=60")`)
	flag.StringVar(&dbs, "databases", "sqlite,postgres", "databases to measure, comma-separated")
	flag.StringVar(&o.firstmate, "firstmate-bin", "", "prebuilt firstmate binary (default: go build ./cmd/firstmate)")
	flag.StringVar(&o.pprofDir, "pprof-dir", "", "write server CPU profiles (while the run is worked) here (FIRSTMATE_PPROF_ADDR)")
	flag.DurationVar(&o.profileFor, "profile-for", 20*time.Second, "length of the CPU profile taken after submission")
	flag.DurationVar(&o.profileSubmit, "profile-submit", 0, "with -pprof-dir, also profile this long from the start of the submission")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (data dirs, logs)")
	flag.Parse()
	o.databases = strings.Split(dbs, ",")
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "asyncbench:", err)
		os.Exit(1)
	}
}

// asyncResult is the async run on one database.
type asyncResult struct {
	submit       time.Duration
	submitRSSKiB int64
	runUID       string
	status       string
	outputs      int
	e2e          time.Duration // POST sent to finished_at
	peakKiB      int64         // server, submission to the last callback
	cb           callbackStats
	cbTimedOut   bool
	cpu          time.Duration // server CPU, submission to the last callback
	chunks       int           // River jobs the run was cut into (runs.chunk_count)
	err          error
}

func (a *asyncResult) inputsPerSec(n int) float64 {
	if a.e2e <= 0 {
		return 0
	}
	return float64(n) / a.e2e.Seconds()
}

type dbReport struct {
	db      string
	idleKiB int64
	raw     []rawResult
	async   *asyncResult
	sched   *scheduleResult
	err     error
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "asyncbench-")
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
	simSrv, err := benchkit.StartSim(ctx, bin, tmp)
	if err != nil {
		return err
	}
	defer simSrv.Stop()
	rc, err := startReceiver()
	if err != nil {
		return err
	}
	defer rc.close()

	var reports []*dbReport
	var loads []string
	for _, db := range o.databases {
		db = strings.TrimSpace(db)
		if db != "sqlite" && db != "postgres" {
			return fmt.Errorf("unknown database %q (want sqlite or postgres)", db)
		}
		rep := &dbReport{db: db}
		if o.rawJobs > 0 {
			rep.raw = rawRiver(ctx, o, tmp, db)
		}
		rep.err = benchDatabase(ctx, o, bin, tmp, simSrv.Base, rc, rep)
		if rep.err != nil {
			benchkit.Logf("%s: %v", db, rep.err)
		}
		reports = append(reports, rep)
		loads = append(loads, benchkit.LoadAvg()+" after "+db)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	printReport(os.Stdout, o, reports, time.Since(started), loadBefore+" before, "+strings.Join(loads, ", "))
	for _, r := range reports {
		if r.err != nil {
			return fmt.Errorf("%s could not be measured", r.db)
		}
	}
	return nil
}

func benchDatabase(ctx context.Context, o options, bin, tmp, simURL string, rc *receiver, rep *dbReport) error {
	db := rep.db
	var dbURL string
	if db == "postgres" {
		u, drop, err := benchkit.PostgresSchema(ctx, o.postgresURL, "asyncbench")
		if err != nil {
			return err
		}
		defer drop()
		dbURL = u
		if o.pgParams != "" {
			dbURL += "&" + o.pgParams
		}
	}
	fm, err := benchkit.StartFirstmate(ctx, bin, tmp, db, dbURL, o.pprofDir != "", "FIRSTMATE_SIM_URL="+simURL,
		"FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true") // the callback receiver runs on this machine
	if err != nil {
		return err
	}
	defer fm.Stop()
	fm.Name = db
	time.Sleep(time.Second)
	rep.idleKiB, _, _ = benchkit.ProcMem(fm.PID())
	ws, err := fm.CreateWorkspace(ctx, bin, "Asyncbench", "unlimited", "asyncbench@example.com")
	if err != nil {
		return err
	}
	// The action uses no platform account, so no Smart Limit applies to it;
	// working hours and the outreach gap are set off all the same, so that
	// the measurement never depends on the hour it runs at.
	var settings struct {
		Secret string `json:"callback_signing_secret"`
	}
	if _, err := benchkit.Call(http.MethodPut, fm.Base+"/v4/workspaces/settings", ws.APIKey,
		map[string]any{"smart_limit_overrides": map[string]any{"working_hours": map[string]any{"enabled": false},
			"outreach_gap": map[string]any{"min_seconds": 0, "max_seconds": 0}}}, &settings); err != nil {
		return err
	}
	rss := benchkit.SampleRSS(fm.PID(), 20*time.Millisecond)
	defer rss.Stop()
	if o.inputs > 0 {
		rep.async = asyncRun(ctx, o, fm, ws.APIKey, settings.Secret, rc, rss)
		if rep.async.err != nil {
			return rep.async.err
		}
	}
	if o.schedules > 0 {
		rep.sched = measureSchedules(ctx, o, fm, ws.APIKey, rc.url, rss)
		if rep.sched.err != nil && !errors.Is(rep.sched.err, errNoSchedules) {
			return rep.sched.err
		}
	}
	return nil
}

// submissionBody is the POST body: o.inputs distinct place URLs and a
// callback on every batch.
func submissionBody(n int, callbackURL string) []byte {
	var b bytes.Buffer
	b.Grow(n * 80)
	b.WriteString(`{"inputs":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"google_maps_place_url":"https://www.google.com/maps/place/asyncbench-`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`"}`)
	}
	b.WriteString(`],"callback":{"url":`)
	u, _ := json.Marshal(callbackURL)
	b.Write(u)
	b.WriteString(`,"on":"all"}}`)
	return b.Bytes()
}

type runView struct {
	UID         string     `json:"uid"`
	Status      string     `json:"status"`
	InputCount  int        `json:"input_count"`
	OutputCount int        `json:"output_count"`
	FinishedAt  *time.Time `json:"finished_at"`
	LastError   any        `json:"last_error"`
}

func terminal(status string) bool {
	switch status {
	case "SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "STOPPED", "INVALID", "BLOCKED":
		return true
	}
	return false
}

func asyncRun(ctx context.Context, o options, fm *benchkit.Firstmate, key, secret string, rc *receiver, rss *benchkit.RSSSampler) *asyncResult {
	res := &asyncResult{}
	res.err = func() error {
		body := submissionBody(o.inputs, rc.url)
		rc.reset(secret, o.verifyEvery, o.inputs+1)
		benchkit.Logf("%s: submitting %d inputs of %s (%.1f MB), callback on all", fm.Name, o.inputs, action, float64(len(body))/1e6)
		req, err := benchkit.Authed(http.MethodPost, fm.Base+"/v4/actions/"+action+"/run/async", key, body)
		if err != nil {
			return err
		}
		client := &http.Client{Timeout: 5 * time.Minute}
		var submitProf <-chan struct{}
		if fm.PprofAddr != "" && o.profileSubmit > 0 {
			submitProf = benchkit.ProfileCPU(fm.PprofAddr, o.profileSubmit, filepath.Join(o.pprofDir, fm.Name+"-submit.pprof"))
			time.Sleep(100 * time.Millisecond) // let the profile start
		}
		rss.Reset()
		cpu0, _ := benchkit.ProcCPU(fm.PID())
		t0 := time.Now()
		r, err := client.Do(req.WithContext(ctx))
		if err != nil {
			return err
		}
		answer, err := io.ReadAll(r.Body)
		r.Body.Close()
		res.submit = time.Since(t0)
		res.submitRSSKiB = rss.Peak()
		if err != nil {
			return err
		}
		if r.StatusCode/100 != 2 {
			return fmt.Errorf("POST run/async: status %d: %.300s", r.StatusCode, answer)
		}
		var sub struct {
			RunUID string `json:"run_uid"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(answer, &sub); err != nil || sub.RunUID == "" {
			return fmt.Errorf("POST run/async answered %.300s", answer)
		}
		res.runUID = sub.RunUID
		benchkit.Logf("%s: run %s %s after %v (peak RSS %s)", fm.Name, sub.RunUID, sub.Status, res.submit.Round(time.Millisecond),
			benchkit.MiB(res.submitRSSKiB))
		if submitProf != nil {
			<-submitProf
		}
		var prof <-chan struct{}
		if fm.PprofAddr != "" {
			prof = benchkit.ProfileCPU(fm.PprofAddr, o.profileFor, filepath.Join(o.pprofDir, fm.Name+"-async.pprof"))
		}

		// Wait for the run to finish.
		deadline := time.Now().Add(o.runTimeout)
		lastLog := time.Now()
		var rv runView
		for {
			if _, err := benchkit.Call(http.MethodGet, fm.Base+"/v4/runs/"+sub.RunUID, key, nil, &rv); err != nil {
				return err
			}
			if terminal(rv.Status) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("run %s still %s after %v (%d outputs)", sub.RunUID, rv.Status, o.runTimeout, rv.OutputCount)
			}
			if time.Since(lastLog) > 15*time.Second {
				cb := rc.snapshot()
				benchkit.Logf("%s: run %s, %d outputs after %v, %d callbacks received", fm.Name, rv.Status, rv.OutputCount,
					time.Since(t0).Round(time.Second), cb.distinct)
				lastLog = time.Now()
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
		runEnded := time.Now()
		res.status, res.outputs = rv.Status, rv.OutputCount
		if rv.FinishedAt != nil {
			res.e2e = rv.FinishedAt.Sub(t0)
		} else {
			res.e2e = runEnded.Sub(t0)
		}
		benchkit.Logf("%s: run %s after %v, %d outputs; waiting for callbacks", fm.Name, rv.Status, res.e2e.Round(time.Millisecond),
			rv.OutputCount)
		res.chunks = chunkCount(ctx, fm, res.runUID)
		atEnd := rc.snapshot()
		select {
		case <-rc.doneChan():
		case <-time.After(o.callbackTimeout):
			res.cbTimedOut = true
		case <-ctx.Done():
			return ctx.Err()
		}
		res.cb = rc.snapshot()
		res.cb.afterRunEnd = res.cb.distinct - atEnd.distinct
		if res.cb.last.After(runEnded) {
			res.cb.afterRunEndDuration = res.cb.last.Sub(runEnded)
		}
		cpu1, _ := benchkit.ProcCPU(fm.PID())
		res.cpu = cpu1 - cpu0
		res.peakKiB = rss.Peak()
		if prof != nil {
			<-prof
		}
		benchkit.Logf("%s: %d distinct callbacks (%d requests), %.0f/s", fm.Name, res.cb.distinct, res.cb.received, res.cb.perSec())
		return nil
	}()
	return res
}

func printReport(w io.Writer, o options, reports []*dbReport, took time.Duration, load string) {
	fmt.Fprintf(w, "go run ./bench/asyncbench: %s, %s/%s, %d CPUs, firstmate %s, simulator latency 0, run took %v, "+
		"1-min load average %s\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		benchkit.Source(o.firstmate), took.Round(time.Second), load)

	fmt.Fprintf(w, "Async run: %d inputs of %s, callback.on = all (a receiver in the bench process), %d River run workers "+
		"(FIRSTMATE_RUN_WORKERS default), %s.\n\n", o.inputs, action, 32, chunksOf(reports))
	fmt.Fprintln(w, "| database | submission | RSS during submission | end-to-end | inputs/s | callbacks | callbacks/s | after run end | server peak RSS | server CPU/input | signatures |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range reports {
		a := r.async
		if a == nil || a.runUID == "" {
			msg := "not measured"
			if r.err != nil {
				msg += ": " + strings.ReplaceAll(r.err.Error(), "\n", " ")
			}
			fmt.Fprintf(w, "| %s | %s | | | | | | | | | |\n", r.db, msg)
			continue
		}
		sig := fmt.Sprintf("%d verified, %d bad", a.cb.verified, a.cb.badSig)
		fmt.Fprintf(w, "| %s | %.2f s | %s | %.1f s (%s) | %.0f | %d of %d (%d requests) | %.0f | %d in %.1f s | %s | %.0f µs | %s |\n",
			r.db, a.submit.Seconds(), benchkit.MiB(a.submitRSSKiB), a.e2e.Seconds(), a.status, a.inputsPerSec(o.inputs),
			a.cb.distinct, o.inputs+1, a.cb.received, a.cb.perSec(), a.cb.afterRunEnd, a.cb.afterRunEndDuration.Seconds(),
			benchkit.MiB(a.peakKiB), float64(a.cpu.Microseconds())/float64(o.inputs), sig)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "End-to-end is from the POST being sent to the run's finished_at; callbacks/s from the first to the last")
	fmt.Fprintln(w, "distinct delivery received (counted by webhook-id, the final one included); \"after run end\" is how many")
	fmt.Fprintln(w, "arrived after the run was seen finished, and over how long. Server CPU/input is the server's CPU time from")
	fmt.Fprintln(w, "submission to the last callback, per input (PostgreSQL's own backends not included).")
	for _, r := range reports {
		if r.idleKiB > 0 {
			fmt.Fprintf(w, "- %s: server idle RSS after start %s\n", r.db, benchkit.MiB(r.idleKiB))
		}
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "Raw River: %d no-op jobs inserted with InsertManyFast (1,000 a call) before the client starts, then worked by "+
		"one client with 32 workers, FetchCooldown %v (internal/jobs: 10 ms), FetchPollInterval as internal/jobs.\n\n", o.rawJobs,
		o.rawCooldown)
	fmt.Fprintln(w, "| database | driver | insert | jobs/s worked | async chunk jobs/s | async / raw |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	for _, r := range reports {
		for _, x := range r.raw {
			if x.err != nil {
				fmt.Fprintf(w, "| %s | %s | not measured: %s | | | |\n", r.db, x.driver, x.err)
				continue
			}
			chunks, ratio := "-", "-"
			if r.async != nil && r.async.e2e > 0 && r.async.chunks > 0 {
				cps := float64(r.async.chunks) / r.async.e2e.Seconds()
				chunks = fmt.Sprintf("%.0f", cps)
				ratio = fmt.Sprintf("%.1f%%", 100*cps/x.perSec())
			}
			fmt.Fprintf(w, "| %s | %s | %.2f s | %.0f | %s | %s |\n", r.db, x.driver, x.insert.Seconds(), x.perSec(), chunks, ratio)
		}
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "Schedules: %d schedules `* * * * *` (UTC, one input, callback on final); lag = runs.created_at - the minute slot, "+
		"for every run of the next %d slots; visible = when a reader polling every %v from the slot on first counted 50 / 99 %% "+
		"of the slot's runs committed (a firing prepared ahead of its slot is created at the slot and committed at it: "+
		"its created_at lag is 0 and only this column measures it). The target is judged on the larger of the two p99s.\n\n",
		o.schedules, o.firings, pollVisible)
	fmt.Fprintln(w, "| database | created in | firings | missing | lag p50 | lag p99 | lag max | visible p50 / p99 | server peak RSS |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range reports {
		s := r.sched
		switch {
		case s == nil:
			fmt.Fprintf(w, "| %s | not measured | | | | | | |\n", r.db)
		case s.err != nil:
			fmt.Fprintf(w, "| %s | not measured: %s | | | | | | |\n", r.db, strings.ReplaceAll(s.err.Error(), "\n", " "))
		default:
			fmt.Fprintf(w, "| %s | %.1f s | %d | %d | %s | %s | %s | – / %s | %s |\n", r.db, s.created.Seconds(), len(s.all), s.missing(),
				lag(s.p(0.5)), lag(s.p(0.99)), lag(s.p(1)), lag(s.visibleP99()), benchkit.MiB(s.peakKiB))
			for _, f := range s.firings {
				fmt.Fprintf(w, "|  | slot %s | %d | %d | %s | %s | %s | %s / %s | |\n", f.slot.UTC().Format("15:04"), len(f.lags), f.missing(),
					lag(benchkit.Percentile(f.lags, 0.5)), lag(benchkit.Percentile(f.lags, 0.99)), lag(f.taken),
					lag(f.visible(50)), lag(f.visible(99)))
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Missing firings are slots a schedule did not fire within the minute: skipped because its previous run had")
	fmt.Fprintln(w, "not finished (the overlap policy), or fired so late that the catch-up fired the next slot instead.")
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Targets:")
	fmt.Fprintln(w)
	for _, r := range reports {
		a := r.async
		if a == nil || a.runUID == "" {
			continue
		}
		fmt.Fprintf(w, "- %s: submission %.2f s (target <= %.0f s): %s; RSS during submission %s (target <= %s): %s\n", r.db,
			a.submit.Seconds(), targetSubmit.Seconds(), benchkit.PassMiss(a.submit <= targetSubmit), benchkit.MiB(a.submitRSSKiB),
			benchkit.MiB(targetSubmitRSSKiB), benchkit.PassMiss(a.submitRSSKiB <= targetSubmitRSSKiB))
		target := float64(targetSQLitePerSec)
		if r.db == "postgres" {
			target = targetPostgresPerSec
		}
		ok := a.status == "SUCCEEDED" && a.inputsPerSec(o.inputs) >= target
		fmt.Fprintf(w, "- %s: end-to-end %.0f inputs/s, %s (target >= %.0f/s, SUCCEEDED): %s\n", r.db, a.inputsPerSec(o.inputs),
			a.status, target, benchkit.PassMiss(ok))
		ok = a.cb.perSec() >= targetCallbacks && a.cb.distinct == o.inputs+1 && a.cb.badSig == 0
		fmt.Fprintf(w, "- %s: callbacks %.0f/s, %d of %d delivered, %d bad signatures (target >= %d/s, all delivered): %s\n", r.db,
			a.cb.perSec(), a.cb.distinct, o.inputs+1, a.cb.badSig, targetCallbacks, benchkit.PassMiss(ok))
	}
	for _, r := range reports {
		s := r.sched
		if s == nil {
			continue
		}
		if s.err != nil {
			fmt.Fprintf(w, "- %s: schedule firing lag: not measured (%v)\n", r.db, s.err)
			continue
		}
		p99 := max(s.p(0.99), s.visibleP99())
		ok := len(s.all) > 0 && p99 <= targetLagP99
		fmt.Fprintf(w, "- %s: schedule firing lag p99 %s (created_at %s, visible %s) over %d firings, %d missing (target <= %s, none missing): %s\n", r.db,
			lag(p99), lag(s.p(0.99)), lag(s.visibleP99()), len(s.all), s.missing(), lag(targetLagP99), benchkit.PassMiss(ok && s.missing() == 0))
	}
	for _, r := range reports {
		if a := r.async; a != nil && a.cb.badSig > 0 {
			fmt.Fprintf(w, "- WARNING %s: bad callback signature: %s\n", r.db, a.cb.firstBadSig)
		}
		if a := r.async; a != nil && a.cbTimedOut {
			fmt.Fprintf(w, "- WARNING %s: callbacks still missing %v after the run ended\n", r.db, o.callbackTimeout)
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// lag prints a firing lag: milliseconds below a second, seconds above.
func lag(d time.Duration) string {
	if d < time.Second {
		return benchkit.Ms(d)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// chunkCount reads how many chunk jobs a run was cut into (0: unknown).
func chunkCount(ctx context.Context, fm *benchkit.Firstmate, runUID string) int {
	st, err := store.Open(ctx, fm.DBURL, fm.DataDir)
	if err != nil {
		return 0
	}
	defer st.Close()
	var n int
	_ = st.Handles().Read.QueryRowContext(ctx, `SELECT chunk_count FROM runs WHERE uid = $1`, runUID).Scan(&n)
	return n
}

func chunksOf(reports []*dbReport) string {
	var parts []string
	for _, r := range reports {
		if r.async != nil && r.async.chunks > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d chunk jobs", r.db, r.async.chunks))
		}
	}
	if len(parts) == 0 {
		return "chunk jobs not read"
	}
	return strings.Join(parts, ", ")
}
