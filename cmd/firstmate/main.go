// Command firstmate runs the Firstmate API and its operator subcommands;
// `firstmate --help` lists them all (cli.go), `firstmate help config` lists
// every environment variable (internal/config).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/config"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "firstmate:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	err := (&cli{stdout: stdout, stderr: stderr}).dispatch(args)
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func (c *cli) serve(args []string) error {
	o := c.flags("serve", true)
	o.fs.StringVar(&o.cfg.Addr, "addr", o.cfg.Addr, "listen address (FIRSTMATE_ADDR)")
	o.fs.StringVar(&o.cfg.PublicURL, "public-url", o.cfg.PublicURL, "externally reachable base URL; default http://<addr> (FIRSTMATE_PUBLIC_URL)")
	if err := o.parse(args); err != nil {
		return err
	}
	cfg := o.cfg
	log := newLogger(c.stderr, cfg.LogLevel)
	if cfg.GOGC == "" {
		// Half as many garbage collections as Go's default (100): the
		// server's live heap is small and its garbage is per request, so
		// this costs a few tens of MiB and saved ~9% of the CPU of a live
		// call (bench/RESULTS.md). GOGC set in the environment wins.
		debug.SetGCPercent(200)
		if debug.SetMemoryLimit(-1) == math.MaxInt64 { // GOMEMLIMIT not set (-1 reads the limit)
			// ...but not without bound: with thousands of upstream calls in
			// flight the live heap is ~120 MiB and GOGC 200 let it grow to
			// three times that (peak RSS 482 MiB at 3,840 calls at 2 s).
			// A soft limit sized from the in-flight budget makes the
			// collector run sooner only when the heap gets there (2% of
			// the CPU went to GC in that run), and never below what the
			// budget needs (bench/RESULTS.md, issue 20).
			debug.SetMemoryLimit(memLimit(cfg.Jobs.Inflight))
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.PprofAddr != "" {
		servePprof(cfg.PprofAddr, log)
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	created, isNew, err := a.Workspaces.EnsureDemo(ctx, cfg.BootstrapAPIKey)
	if err != nil {
		return fmt.Errorf("create the demo workspace: %w", err)
	}
	var setPassword string
	if isNew {
		// The demo owner has no password yet: a one-time link sets it.
		if setPassword, err = a.Workspaces.PasswordLinkFor(ctx, created.Owner.ID); err != nil {
			return fmt.Errorf("issue the demo owner's password link: %w", err)
		}
	}
	return a.Serve(ctx, func(addr string) {
		log.Info("listening", "addr", addr, "database", a.DB.Dialect, "version", app.Version, "node", a.Jobs.NodeID())
		base := a.PublicURL()
		if isNew {
			fmt.Fprintf(c.stdout, `
Firstmate is running at %s (database: %s)

A demo workspace was created on the developer plan.
Dashboard: open this one-time link to set the owner's password
(owner@firstmate.local, valid 48 hours), then sign in at %s/

  %s/set-password/%s

Owner API key (shown once, keep it):

  %s

Try it:

  curl -s -H 'X-API-Key: %s' %s/v4/workspaces

`, base, a.DB.Dialect, base, base, setPassword, created.APIKey, created.APIKey, base)
		} else {
			fmt.Fprintf(c.stdout, "Firstmate is running at %s (database: %s)\n", base, a.DB.Dialect)
		}
		// What is real and what is the sandbox, where the operator looks
		// first.
		fmt.Fprintf(c.stdout, "\n%s\n", a.Plane.Banner())
	})
}

// servePprof exposes net/http/pprof on its own listener, only when
// FIRSTMATE_PPROF_ADDR is set (bench/ uses it to profile the server). It is
// off by default and never on the API's address.
func servePprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		log.Warn("pprof enabled", "addr", addr)
		if err := http.ListenAndServe(addr, mux); err != nil {
			log.Error("pprof listener", "error", err)
		}
	}()
}

// open opens the application for a one-shot operator command.
func (o *opts) open(ctx context.Context) (*app.App, error) {
	o.cfg.Operator = true
	return app.Open(ctx, o.cfg, newLogger(o.c.stderr, o.cfg.LogLevel))
}

func (c *cli) migrate(args []string) error {
	o := c.flags("migrate", true)
	if err := o.parse(args); err != nil {
		return err
	}
	a, err := o.open(context.Background())
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(c.stdout, "migrations applied (%s)\n", a.DB.Dialect)
	return nil
}

func (c *cli) workspaceCreate(args []string) error {
	o := c.flags("workspace create", true)
	name := o.fs.String("name", "", "workspace name (required)")
	plan := o.fs.String("plan", "trial", "plan name (see the README's plan table)")
	email := o.fs.String("owner-email", "", "the owner's e-mail (required)")
	asJSON := o.fs.Bool("json", false, "print JSON")
	if err := o.parse(args); err != nil {
		return err
	}
	if *name == "" || *email == "" {
		return errors.New("--name and --owner-email are required (see firstmate workspace create --help)")
	}
	a, err := o.open(context.Background())
	if err != nil {
		return err
	}
	defer a.Close()
	ws, err := a.Workspaces.Create(context.Background(), *name, *plan, *email, "")
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]string{"workspace_uid": ws.Workspace.UID,
			"owner_uid": ws.Owner.UID, "api_key": ws.APIKey, "plan": ws.Workspace.Plan})
	}
	fmt.Fprintf(c.stdout, "workspace %s (%s) created on plan %s\nowner %s API key: %s\n",
		ws.Workspace.Name, ws.Workspace.UID, ws.Workspace.Plan, ws.Owner.Email, ws.APIKey)
	return nil
}

func (c *cli) version(args []string) error {
	o := c.flags("version", false)
	o.envErr = nil // the version is printed whatever the environment holds
	if err := o.parse(args); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "firstmate", app.Version)
	return nil
}

// memLimit is serve's default soft memory limit (GOMEMLIMIT unset): 128 MiB
// for the server itself (its heap, caches and pools when idle are well
// under that) plus 64 KiB for each slot of the in-flight budget (measured:
// ~60 KiB of live heap and goroutine stacks a call in flight, its HTTP
// connection included), so that the calls the budget allows never make the
// collector run continuously: 384 MiB at the default 4,096.
func memLimit(inflight int) int64 {
	if inflight <= 0 {
		inflight = config.DefaultInflight
	}
	return 128<<20 + int64(inflight)*64<<10
}
