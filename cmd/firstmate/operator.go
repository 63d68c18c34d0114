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
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/sim"
	"github.com/firstmate-oss/firstmate/internal/store"
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
	withExecutor := fs.Bool("executor", false, "also serve the remote executor protocol (/v1/...) for the sandbox families")
	execSecret := fs.String("executor-secret", config.SimExecutorSecret(), "whsec_ secret of the executor protocol (default: FIRSTMATE_SIM_EXECUTOR_SECRET, else a new one, printed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := sim.Config{Seed: *seed, DataFile: *dataFile, Latency: *latency}
	if *withExecutor {
		wrap, err := simExecutor(*execSecret, stdout)
		if err != nil {
			return err
		}
		cfg.Wrap = wrap
	} else {
		fmt.Fprintf(stdout, "simulator listening on http://%s (point Firstmate at it with FIRSTMATE_SIM_URL)\n", *addr)
	}
	return sim.Run(ctx, *addr, cfg)
}

// poolCmd manages the operator's pool of managed accounts. Adding one
// validates it against the platform (the simulator unless FIRSTMATE_SIM_URL
// points elsewhere).
func poolCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: firstmate pool add --name N --li-at COOKIE | pool list | pool check | pool remove --uid UID | " +
			"pool rent --workspace W --identity I --days N [--platform linkedin] | pool expire")
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
	workspaceUID := fs.String("workspace", "", "renting workspace uid (rent)")
	identityUID := fs.String("identity", "", "renting identity uid (rent)")
	days := fs.Int("days", 30, "rental period in days (rent)")
	platform := fs.String("platform", "linkedin", "platform to rent (rent)")
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
		rented, err := store.PoolRentalEnds(ctx, a.DB.R)
		if err != nil {
			return err
		}
		rentedUntil := func(id int64) string {
			if ends, ok := rented[id]; ok {
				return store.Time(ends).UTC().Format(time.RFC3339)
			}
			return ""
		}
		if *asJSON {
			type row struct {
				UID         string `json:"uid"`
				Name        string `json:"name"`
				Status      string `json:"status"`
				Level       string `json:"level"`
				Error       string `json:"error"`
				RentedUntil string `json:"rented_until,omitempty"`
			}
			var rows []row
			for _, pa := range accs {
				r := row{UID: pa.Identity.UID, Name: pa.Identity.Name, RentedUntil: rentedUntil(pa.Identity.ID)}
				if g := pa.Integration; g != nil {
					r.Status, r.Level, r.Error = g.Status, g.Level, g.Error
				}
				rows = append(rows, r)
			}
			return json.NewEncoder(stdout).Encode(rows)
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "UID\tNAME\tSTATUS\tLEVEL\tRENTED UNTIL\tERROR")
		for _, pa := range accs {
			st, lvl, e := "-", "-", ""
			if g := pa.Integration; g != nil {
				st, lvl, e = g.Status, g.Level, g.Error
			}
			ru := rentedUntil(pa.Identity.ID)
			if ru == "" {
				ru = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", pa.Identity.UID, pa.Identity.Name, st, lvl, ru, e)
		}
		return tw.Flush()
	case "check":
		// Validate every pool account now through the driver; an expired
		// session is marked INVALID (with its AUTH_EXPIRED transition).
		if err := a.UseSimulatorForOperator(); err != nil {
			return err
		}
		accs, err := a.Identities.PoolAccounts(ctx, pool)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "UID\tNAME\tCHECK\tSTATUS")
		bad := 0
		for _, pa := range accs {
			outcome, st := "no integration", "-"
			if g := pa.Integration; g != nil {
				o, err := a.Engine.CheckIntegration(ctx, g.ID, 0)
				if err != nil {
					return err
				}
				outcome = string(o)
				if fresh, err := store.GetIntegrationByID(ctx, a.DB.Read, g.ID); err == nil {
					st = fresh.Status
				}
			}
			if st != model.StatusValid {
				bad++
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", pa.Identity.UID, pa.Identity.Name, outcome, st)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d of %d pool accounts are not VALID\n", bad, len(accs))
	case "rent":
		if *workspaceUID == "" || *identityUID == "" {
			return errors.New("pool rent needs --workspace and --identity")
		}
		wsID, err := store.WorkspaceIDByUID(ctx, a.DB.R, *workspaceUID)
		if err != nil {
			return fmt.Errorf("workspace %s: %w", *workspaceUID, err)
		}
		r, g, err := a.Identities.Rent(ctx, wsID, *identityUID, *platform, *days, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rented %s to identity %s until %s (rental %s, integration %s)\n", g.Name, r.IdentityUID,
			store.Time(r.EndsAt).UTC().Format(time.RFC3339), r.UID, g.UID)
	case "expire":
		n, err := a.Identities.ExpireRentals(ctx, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ended %d rental(s)\n", n)
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
