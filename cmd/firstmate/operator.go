package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

func simCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "accounts" {
		fs := flag.NewFlagSet("sim accounts", flag.ContinueOnError)
		fs.SetOutput(stderr)
		asJSON := fs.Bool("json", false, "print JSON")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(sim.Accounts())
		}
		fmt.Fprint(stdout, sim.AccountsMarkdown())
		return nil
	}
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("FIRSTMATE_SIM_ADDR", "127.0.0.1:8090"), "listen address")
	seed := fs.Int64("seed", 0, "world seed: the same seed gives the same world")
	dataFile := fs.String("data-file", "", "file that keeps the simulated accounts' writes across restarts")
	latency := fs.Duration("latency", 0, "latency added to every request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stdout, "simulator listening on http://%s (point Firstmate at it with FIRSTMATE_SIM_URL)\n", *addr)
	return sim.Run(ctx, *addr, sim.Config{Seed: *seed, DataFile: *dataFile, Latency: *latency})
}

// poolCmd manages the operator's pool of managed accounts. Adding one
// validates it against the platform (the simulator unless FIRSTMATE_SIM_URL
// points elsewhere).
func poolCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: firstmate pool add --name N --li-at COOKIE | pool list | pool remove --uid UID")
	}
	sub := args[0]
	cfg := config.Config{Operator: true}
	fs := flag.NewFlagSet("pool "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, &cfg)
	name := fs.String("name", "", "account name (add)")
	cookie := fs.String("li-at", "", "the account's li_at session cookie (add)")
	uid := fs.String("uid", "", "pool identity uid (remove)")
	asJSON := fs.Bool("json", false, "print JSON (list)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := app.Open(ctx, cfg, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer a.Close()
	pool, err := a.Identities.PoolPrincipal(ctx, func() []byte { return []byte("whsec_pool") })
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		if *name == "" || *cookie == "" {
			return errors.New("pool add needs --name and --li-at")
		}
		if err := a.UseSimulatorForOperator(); err != nil {
			return err
		}
		pa, err := a.Identities.AddPoolAccount(ctx, pool, *name, "linkedin", identity.Connect{Cookies: map[string]string{"li_at": *cookie}})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s (%s): status %s, level %s\n", pa.Identity.Name, pa.Identity.UID, pa.Integration.Status, pa.Integration.Level)
	case "list":
		accs, err := a.Identities.PoolAccounts(ctx, pool)
		if err != nil {
			return err
		}
		if *asJSON {
			type row struct {
				UID    string `json:"uid"`
				Name   string `json:"name"`
				Status string `json:"status"`
				Level  string `json:"level"`
				Error  string `json:"error"`
			}
			var rows []row
			for _, pa := range accs {
				r := row{UID: pa.Identity.UID, Name: pa.Identity.Name}
				if g := pa.Integration; g != nil {
					r.Status, r.Level, r.Error = g.Status, g.Level, g.Error
				}
				rows = append(rows, r)
			}
			return json.NewEncoder(stdout).Encode(rows)
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "UID\tNAME\tSTATUS\tLEVEL\tERROR")
		for _, pa := range accs {
			st, lvl, e := "-", "-", ""
			if g := pa.Integration; g != nil {
				st, lvl, e = g.Status, g.Level, g.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", pa.Identity.UID, pa.Identity.Name, st, lvl, e)
		}
		return tw.Flush()
	case "remove":
		if *uid == "" {
			return errors.New("pool remove needs --uid")
		}
		if err := a.Identities.RemovePoolAccount(ctx, pool, *uid); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "removed", *uid)
	default:
		return fmt.Errorf("unknown pool command %q", sub)
	}
	return nil
}
