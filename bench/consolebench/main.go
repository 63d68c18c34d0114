// Command consolebench measures the console's pages (issue 17) with a
// workspace of 100,000 runs and 1,000 identities: the server time of each
// page (the console handler in process, from request to last byte written,
// which includes its in-process API calls and the database) at p50/p95/max,
// the CPU time and allocations per request (which, unlike wall time, do not
// grow when other processes share the cores), and the bytes each page
// transfers (uncompressed HTML).
//
// The data is seeded through the store (one demo workspace on SQLite, or on
// PostgreSQL with -database-url): runs over the last 30 days with a mix of
// actions and statuses, and identities, the measured one with a connected
// sandbox account. It prints a Markdown table and PASS/MISS against the targets
// (p95 < 50 ms, < 200 KB); it never fails on a missed target.
//
//	go run ./bench/consolebench [-runs 100000] [-identities 1000] [-n 40] [-database-url postgres://...]
//	    [-pages /identities,/runs] [-cpuprofile cpu.prof]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

func main() {
	runs := flag.Int("runs", 100_000, "runs to seed")
	idents := flag.Int("identities", 1000, "identities to seed")
	n := flag.Int("n", 40, "measured requests per page (after 3 warm-up requests)")
	dbURL := flag.String("database-url", "", "PostgreSQL URL (empty: SQLite in a temporary directory)")
	only := flag.String("pages", "", "measure only the pages whose path contains one of these comma-separated strings")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the measured requests to this file")
	flag.Parse()
	if err := run(*runs, *idents, *n, *dbURL, *only, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "consolebench:", err)
		os.Exit(1)
	}
}

func run(nRuns, nIdents, n int, dbURL, only, profile string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "consolebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := config.Defaults()
	cfg.DataDir, cfg.DatabaseURL, cfg.Addr = dir, dbURL, "127.0.0.1:0"
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	created, _, err := a.Workspaces.EnsureDemo(ctx, "")
	if err != nil {
		return err
	}
	ws := created.Workspace
	t0 := time.Now()
	firstIdentity, firstRun, err := seed(ctx, a, ws, created.Owner, nRuns, nIdents)
	if err != nil {
		return err
	}
	// The measured identity has a connected sandbox account, so its page
	// shows every Smart Limit window.
	connect := httptest.NewRequest("POST", "/v4/identities/"+firstIdentity+"/integrations/linkedin",
		strings.NewReader(`{"auth_data":{"cookies":{"li_at":"sim_classic"}}}`))
	connect.Header.Set("X-API-Key", created.APIKey)
	connect.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	a.API.ServeHTTP(rec, connect)
	if rec.Code != 200 {
		return fmt.Errorf("connect the measured identity: %d %s", rec.Code, rec.Body.String())
	}
	seeded := time.Since(t0)
	token, _, err := a.Workspaces.StartSession(ctx, created.Owner.ID, time.Now())
	if err != nil {
		return err
	}
	pages := []string{"/", "/identities", "/identities?page=20", "/identities/" + firstIdentity, "/runs",
		"/runs?status=FAILED&action=linkedin-extract-people", "/runs/" + firstRun, "/schedules", "/actions",
		"/actions/linkedin-extract-people", "/members", "/agents", "/settings", "/api-reference"}
	if only != "" {
		var keep []string
		for _, p := range pages {
			for _, o := range strings.Split(only, ",") {
				if strings.Contains(p, o) {
					keep = append(keep, p)
					break
				}
			}
		}
		pages = keep
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	fmt.Printf("## Console pages (issue 17)\n\n")
	fmt.Printf("- Date: %s\n- Machine: %d cores (%s/%s), load before: %s\n- Database: %s, seeded in %s: %d runs, %d identities\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, loadavg(), a.DB.Dialect,
		seeded.Round(time.Second), nRuns, nIdents)
	fmt.Println("| page | p50 | p95 | max | CPU per request | allocs per request | bytes | p95 < 50 ms | < 200 KB |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---|---|")
	for _, p := range pages {
		var times []time.Duration
		size := 0
		var cpu0 time.Duration
		var mem0 runtime.MemStats
		for i := 0; i < n+3; i++ {
			if i == 3 {
				cpu0 = cpuTime()
				runtime.ReadMemStats(&mem0)
			}
			req := httptest.NewRequest("GET", p, nil)
			req.AddCookie(&http.Cookie{Name: "fm_session", Value: token})
			rec := httptest.NewRecorder()
			start := time.Now()
			a.Console.ServeHTTP(rec, req)
			d := time.Since(start)
			if rec.Code != 200 {
				return fmt.Errorf("GET %s: %d %.300s", p, rec.Code, rec.Body.String())
			}
			if i >= 3 {
				times = append(times, d)
			}
			size = rec.Body.Len()
		}
		cpu := (cpuTime() - cpu0) / time.Duration(n)
		var mem1 runtime.MemStats
		runtime.ReadMemStats(&mem1)
		slices.Sort(times)
		p50, p95, mx := times[len(times)/2], times[(len(times)*95+99)/100-1], times[len(times)-1]
		fmt.Printf("| `%s` | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %d | %d | %s | %s |\n", p, ms(p50), ms(p95), ms(mx), ms(cpu),
			(mem1.Mallocs-mem0.Mallocs)/uint64(n), size, verdict(p95 < 50*time.Millisecond), verdict(size < 200_000))
	}
	fmt.Printf("\nLoad after: %s\n", loadavg())
	return nil
}

// cpuTime is the CPU this process used (user and system): unlike wall
// time, it does not grow when other processes share the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil || len(b) < 14 {
		return "?"
	}
	return string(b[:14])
}

var actions = []string{"linkedin-extract-people", "linkedin-search-people", "linkedin-visit-profile", "linkedin-message-profile",
	"googlemaps-extract-place", "googlemaps-search-places", "salesnavigator-search-people", "tripadvisor-extract-hotel"}
var statuses = []string{"SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "STOPPED", "INVALID"}

// seed stores identities and finished runs through the store's own inserts.
func seed(ctx context.Context, a *app.App, ws model.Workspace, owner model.Member, nRuns, nIdents int) (string, string, error) {
	rng := rand.New(rand.NewPCG(17, 17))
	var firstIdentity, firstRun string
	var uids []string
	for i := 0; i < nIdents; i++ {
		id, err := store.InsertIdentity(ctx, a.DB.Handles().W, model.Identity{UID: uuid.NewString(), WorkspaceID: ws.ID,
			Name: fmt.Sprintf("Identity %04d", i), Timezone: "Europe/Paris", Type: model.IdentityStandard})
		if err != nil {
			return "", "", fmt.Errorf("seed identities: %w", err)
		}
		uids = append(uids, id.UID)
		if i == 0 {
			firstIdentity = id.UID
		}
	}
	now := time.Now()
	for done := 0; done < nRuns; {
		batch := make([]model.Run, 0, 500)
		for j := 0; j < 500 && done < nRuns; j++ {
			created := now.Add(-time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
			fin := created.Add(time.Duration(rng.IntN(60000)) * time.Millisecond)
			mode := "ASYNC"
			if rng.IntN(3) == 0 {
				mode = "LIVE"
			}
			r := model.Run{UID: uuid.NewString(), WorkspaceID: ws.ID, MemberUID: owner.UID, ActionName: actions[rng.IntN(len(actions))],
				ExecutionMode: mode, Status: statuses[rng.IntN(len(statuses))], IdentityMode: "direct",
				IdentityUIDs: []string{uids[rng.IntN(len(uids))]}, Parameters: "{}", InputCount: 1 + rng.IntN(50),
				StartedAt: &created, FinishedAt: &fin, CreatedAt: created}
			r.OutputCount = rng.IntN(r.InputCount*3 + 1)
			r.CreditsUsed = int64(r.OutputCount) * 1000
			if done == 0 {
				r.ExecutionMode, r.Status = "ASYNC", "SUCCEEDED"
				firstRun = r.UID
			}
			batch = append(batch, r)
			done++
		}
		if err := a.DB.InsertFinishedRuns(ctx, a.DB.Handles().W, batch); err != nil {
			return "", "", fmt.Errorf("seed runs: %w", err)
		}
	}
	return firstIdentity, firstRun, nil
}
