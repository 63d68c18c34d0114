package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/sim"
	"github.com/firstmate-oss/firstmate/internal/store"
)

func (c *cli) simAccounts(args []string) error {
	o := c.flags("sim accounts", false)
	o.envErr = nil // prints a fixed table
	asJSON := o.fs.Bool("json", false, "print JSON")
	if err := o.parse(args); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sim.Accounts())
	}
	fmt.Fprint(c.stdout, sim.AccountsMarkdown())
	return nil
}

func (c *cli) simServe(args []string) error {
	o := c.flags("sim", false)
	addr := o.fs.String("addr", o.cfg.Sim.Addr, "listen address (FIRSTMATE_SIM_ADDR)")
	seed := o.fs.Int64("seed", o.cfg.Sim.Seed, "world seed: the same seed gives the same world (FIRSTMATE_SIM_SEED)")
	dataFile := o.fs.String("data-file", "", "file that keeps the simulated accounts' writes across restarts")
	latency := o.fs.Duration("latency", o.cfg.Sim.Latency, "latency added to every request (FIRSTMATE_SIM_LATENCY)")
	withExecutor := o.fs.Bool("executor", false, "also serve the remote executor protocol (/v1/...) for the sandbox families")
	// No flag default from the environment: --help would print the secret.
	execSecret := o.fs.String("executor-secret", "", "whsec_ secret of the executor protocol (default: FIRSTMATE_SIM_EXECUTOR_SECRET, else a new one, printed)")
	if err := o.parse(args); err != nil {
		return err
	}
	if *execSecret == "" {
		*execSecret = o.cfg.Sim.ExecutorSecret
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := sim.Config{Seed: *seed, DataFile: *dataFile, Latency: *latency}
	if *withExecutor {
		wrap, err := simExecutor(*execSecret, c.stdout)
		if err != nil {
			return err
		}
		cfg.Wrap = wrap
	} else {
		fmt.Fprintf(c.stdout, "simulator listening on http://%s (point Firstmate at it with FIRSTMATE_SIM_URL)\n", *addr)
	}
	return sim.Run(ctx, *addr, cfg)
}

// poolApp opens the application and the operator's pool principal for a
// pool command.
func (o *opts) poolApp(ctx context.Context) (*app.App, model.Principal, error) {
	a, err := o.open(ctx)
	if err != nil {
		return nil, model.Principal{}, err
	}
	pool, err := a.Identities.PoolPrincipal(ctx, func() []byte { return []byte("whsec_pool") })
	if err != nil {
		a.Close()
		return nil, model.Principal{}, err
	}
	return a, pool, nil
}

func poolCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}

// poolAdd adds an account, validated against the platform first (the
// simulator unless FIRSTMATE_SIM_URL points elsewhere).
func (c *cli) poolAdd(args []string) error {
	o := c.flags("pool add", true)
	name := o.fs.String("name", "", "account name (required)")
	cookie := o.fs.String("li-at", "", "the account's li_at session cookie (required)")
	if err := o.parse(args); err != nil {
		return err
	}
	if *name == "" || *cookie == "" {
		return errors.New("pool add needs --name and --li-at")
	}
	ctx, cancel := poolCtx()
	defer cancel()
	o.cfg.OperatorPlatforms = true // it verifies accounts with their platform
	a, pool, err := o.poolApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	pa, err := a.Identities.AddPoolAccount(ctx, pool, *name, "linkedin", identity.Connect{Cookies: map[string]string{"li_at": *cookie}})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "added %s (%s): status %s, level %s\n", pa.Identity.Name, pa.Identity.UID, pa.Integration.Status, pa.Integration.Level)
	return nil
}

func (c *cli) poolList(args []string) error {
	o := c.flags("pool list", true)
	asJSON := o.fs.Bool("json", false, "print JSON")
	if err := o.parse(args); err != nil {
		return err
	}
	ctx, cancel := poolCtx()
	defer cancel()
	a, pool, err := o.poolApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	accs, err := a.Identities.PoolAccounts(ctx, pool)
	if err != nil {
		return err
	}
	rented, err := a.DB.PoolRentalEnds(ctx)
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
		rows := []row{}
		for _, pa := range accs {
			r := row{UID: pa.Identity.UID, Name: pa.Identity.Name, RentedUntil: rentedUntil(pa.Identity.ID)}
			if g := pa.Integration; g != nil {
				r.Status, r.Level, r.Error = g.Status, g.Level, g.Error
			}
			rows = append(rows, r)
		}
		return json.NewEncoder(c.stdout).Encode(rows)
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
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
}

// poolCheck validates every pool account now through the driver; an
// expired session is marked INVALID (with its AUTH_EXPIRED transition).
func (c *cli) poolCheck(args []string) error {
	o := c.flags("pool check", true)
	if err := o.parse(args); err != nil {
		return err
	}
	ctx, cancel := poolCtx()
	defer cancel()
	o.cfg.OperatorPlatforms = true // it verifies accounts with their platform
	a, pool, err := o.poolApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	accs, err := a.Identities.PoolAccounts(ctx, pool)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
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
			if fresh, err := a.DB.GetIntegrationByID(ctx, g.ID); err == nil {
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
	fmt.Fprintf(c.stdout, "%d of %d pool accounts are not VALID\n", bad, len(accs))
	return nil
}

func (c *cli) poolRemove(args []string) error {
	o := c.flags("pool remove", true)
	uid := o.fs.String("uid", "", "the pool identity's uid (required; see pool list)")
	if err := o.parse(args); err != nil {
		return err
	}
	if *uid == "" {
		return errors.New("pool remove needs --uid")
	}
	ctx, cancel := poolCtx()
	defer cancel()
	a, pool, err := o.poolApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Identities.RemovePoolAccount(ctx, pool, *uid); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "removed", *uid)
	return nil
}

func (c *cli) poolRent(args []string) error {
	o := c.flags("pool rent", true)
	workspaceRef := o.fs.String("workspace", "", "the renting workspace's uid or name (required)")
	identityUID := o.fs.String("identity", "", "the renting identity's uid (required)")
	days := o.fs.Int("days", 30, "rental period in days")
	platform := o.fs.String("platform", "linkedin", "platform to rent")
	if err := o.parse(args); err != nil {
		return err
	}
	if *workspaceRef == "" || *identityUID == "" {
		return errors.New("pool rent needs --workspace and --identity")
	}
	ctx, cancel := poolCtx()
	defer cancel()
	a, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	ws, err := a.Workspaces.Find(ctx, *workspaceRef)
	if err != nil {
		return err
	}
	r, g, err := a.Identities.Rent(ctx, ws.ID, *identityUID, *platform, *days, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "rented %s to identity %s until %s (rental %s, integration %s)\n", g.Name, r.IdentityUID,
		store.Time(r.EndsAt).UTC().Format(time.RFC3339), r.UID, g.UID)
	return nil
}

func (c *cli) poolExpire(args []string) error {
	o := c.flags("pool expire", true)
	if err := o.parse(args); err != nil {
		return err
	}
	ctx, cancel := poolCtx()
	defer cancel()
	a, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.Identities.ExpireRentals(ctx, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "ended %d rental(s)\n", n)
	return nil
}
