// Command firstmate runs the Firstmate API and its operator subcommands.
//
//	firstmate [serve]              serve the API (the default)
//	firstmate migrate              apply database migrations and exit
//	firstmate workspace create     create a workspace and print its owner's key
//	firstmate version              print the version
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
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
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stdout, stderr)
	case "migrate":
		return migrate(args, stdout, stderr)
	case "workspace":
		return workspaceCmd(args, stdout, stderr)
	case "sim":
		return simCmd(args, stdout, stderr)
	case "pool":
		return poolCmd(args, stdout, stderr)
	case "proxies":
		return proxiesCmd(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "firstmate", app.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage: firstmate [command] [flags]

commands:
  serve                 serve the API (default)
  migrate               apply database migrations and exit
  workspace create      create a workspace: --name N --plan P --owner-email E
  sim                   run the platform simulator alone: --addr, --seed, --data-file, --latency
  sim accounts [--json] print the simulator's sandbox accounts
  pool add|list|remove  manage the managed-identity pool (identity_mode "managed")
  proxies list [--json] the egress proxy pool: country, assigned identity, health (no credentials)
  version               print the version

common flags (and environment variables):
  --data-dir DIR        FIRSTMATE_DATA_DIR      SQLite file and secret key (default ./firstmate-data)
  --database-url URL    FIRSTMATE_DATABASE_URL  postgres://... to use PostgreSQL
serve flags:
  --addr HOST:PORT      FIRSTMATE_ADDR          listen address (default 127.0.0.1:8080)
  --public-url URL      FIRSTMATE_PUBLIC_URL    externally reachable base URL
other environment:
  FIRSTMATE_SECRET_KEY        keyring "kid:base64key[,kid:base64key...]" (first is active)
  FIRSTMATE_PLANS_FILE        JSON file of plans overlaying the built-in ones
  FIRSTMATE_BOOTSTRAP_API_KEY fixes the first owner's key on an empty database
  FIRSTMATE_LOG_LEVEL         debug, info, warn or error (default info)
  FIRSTMATE_PPROF_ADDR        serve net/http/pprof on this address (off by default)
  FIRSTMATE_PROXY_POOL        egress proxies, one per identity: "FR=http://user:pass@host:port,US=..."
  FIRSTMATE_PROXY_POOL_FILE   file of "COUNTRY URL" lines (# comments); unset with the above: direct egress
  FIRSTMATE_BULK_SUBMISSIONS  large async submissions (over 1 MiB) stored at once per node (default 2)
`

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// commonFlags binds the flags every data-touching subcommand shares.
func commonFlags(fs *flag.FlagSet, cfg *config.Config) {
	fs.StringVar(&cfg.DataDir, "data-dir", env("FIRSTMATE_DATA_DIR", "firstmate-data"), "data directory")
	fs.StringVar(&cfg.DatabaseURL, "database-url", env("FIRSTMATE_DATABASE_URL", ""), "postgres:// URL (default: SQLite in the data dir)")
	cfg.SecretKey = os.Getenv("FIRSTMATE_SECRET_KEY")
	cfg.PlansFile = os.Getenv("FIRSTMATE_PLANS_FILE")
	cfg.LogLevel = env("FIRSTMATE_LOG_LEVEL", "info")
	cfg.ProxyPool, cfg.ProxyPoolFile = os.Getenv("FIRSTMATE_PROXY_POOL"), os.Getenv("FIRSTMATE_PROXY_POOL_FILE")
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func serve(args []string, stdout, stderr io.Writer) error {
	var cfg config.Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, &cfg)
	fs.StringVar(&cfg.Addr, "addr", env("FIRSTMATE_ADDR", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&cfg.PublicURL, "public-url", env("FIRSTMATE_PUBLIC_URL", ""), "public base URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.BootstrapAPIKey = os.Getenv("FIRSTMATE_BOOTSTRAP_API_KEY")
	if n, err := strconv.Atoi(os.Getenv("FIRSTMATE_BULK_SUBMISSIONS")); err == nil && n > 0 {
		cfg.BulkSubmissions = n
	}
	log := newLogger(stderr, cfg.LogLevel)
	if os.Getenv("GOGC") == "" {
		// Half as many garbage collections as Go's default (100): the
		// server's live heap is small and its garbage is per request, so
		// this costs a few tens of MiB and saved ~9% of the CPU of a live
		// call (bench/RESULTS.md). GOGC set in the environment wins.
		debug.SetGCPercent(200)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if addr := os.Getenv("FIRSTMATE_PPROF_ADDR"); addr != "" {
		servePprof(addr, log)
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
	return a.Serve(ctx, func(addr string) {
		log.Info("listening", "addr", addr, "database", a.DB.Dialect, "version", app.Version)
		base := a.PublicURL()
		if isNew {
			fmt.Fprintf(stdout, `
Firstmate is running at %s (database: %s)

A demo workspace was created on the developer plan.
Owner API key (shown once, keep it):

  %s

Try it:

  curl -s -H 'X-API-Key: %s' %s/v4/workspaces

`, base, a.DB.Dialect, created.APIKey, created.APIKey, base)
		} else {
			fmt.Fprintf(stdout, "Firstmate is running at %s (database: %s)\n", base, a.DB.Dialect)
		}
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

func migrate(args []string, stdout, stderr io.Writer) error {
	cfg := config.Config{Operator: true}
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := app.Open(context.Background(), cfg, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(stdout, "migrations applied (%s)\n", a.DB.Dialect)
	return nil
}

func workspaceCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: firstmate workspace create --name N --plan P --owner-email E [--json]")
	}
	cfg := config.Config{Operator: true}
	fs := flag.NewFlagSet("workspace create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, &cfg)
	name := fs.String("name", "", "workspace name")
	plan := fs.String("plan", "trial", "plan name")
	email := fs.String("owner-email", "", "owner's email")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *name == "" || *email == "" {
		return errors.New("--name and --owner-email are required")
	}
	a, err := app.Open(context.Background(), cfg, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer a.Close()
	c, err := a.Workspaces.Create(context.Background(), *name, *plan, *email, "")
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{"workspace_uid": c.Workspace.UID,
			"owner_uid": c.Owner.UID, "api_key": c.APIKey, "plan": c.Workspace.Plan})
	}
	fmt.Fprintf(stdout, "workspace %s (%s) created on plan %s\nowner %s API key: %s\n",
		c.Workspace.Name, c.Workspace.UID, c.Workspace.Plan, c.Owner.Email, c.APIKey)
	return nil
}
