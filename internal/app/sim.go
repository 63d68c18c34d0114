package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/platform/simdriver"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

// startSimulator wires the platform drivers. By default Firstmate runs the
// bundled simulator in-process on a loopback port, so every action works
// offline. FIRSTMATE_SIM_URL points at a simulator running elsewhere
// (`firstmate sim`); FIRSTMATE_SIM=off starts none.
func (a *App) startSimulator() error {
	return a.startSimulatorWith(filepath.Join(a.Cfg.DataDir, "sim-writes.jsonl"))
}

func (a *App) startSimulatorWith(dataFile string) error {
	url := a.Cfg.Sim.URL
	if url == "" && !a.Cfg.Sim.Off {
		s, err := sim.New(sim.Config{Seed: a.Cfg.Sim.Seed, Latency: a.Cfg.Sim.Latency, DataFile: dataFile})
		if err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return fmt.Errorf("simulator: %w", err)
		}
		srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		a.Sim, a.simServer = s, srv
		url = "http://" + ln.Addr().String()
	}
	if url == "" {
		return nil
	}
	a.SimURL = url
	d := simdriver.New(url)
	for _, fam := range simdriver.Families() {
		a.Engine.Drivers[fam] = d
	}
	return nil
}

func (a *App) stopSimulator() {
	if a.simServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.simServer.Shutdown(ctx)
		_ = a.Sim.Close()
	}
}

// SeedManagedPool fills an empty managed pool with the simulator's managed
// sandbox accounts, so identity_mode "managed" works on a fresh install.
func (a *App) SeedManagedPool(ctx context.Context) error {
	if a.SimURL == "" {
		return nil
	}
	pool, err := a.Identities.PoolPrincipal(ctx, func() []byte { return []byte(newSigningSecret()) })
	if err != nil {
		return err
	}
	n, err := a.Identities.ManagedIdentityCount(ctx, pool)
	if err != nil || n > 0 {
		return err
	}
	for i, cookie := range sim.ManagedCookies() {
		if _, err := a.Identities.AddPoolAccount(ctx, pool, fmt.Sprintf("Managed sandbox %d", i+1), "linkedin",
			identity.Connect{Cookies: map[string]string{"li_at": cookie}}); err != nil {
			return err
		}
	}
	return nil
}

// UseSimulatorForOperator wires the drivers for a one-shot operator command
// that must talk to the platform (validating a pool account): the external
// simulator when FIRSTMATE_SIM_URL is set, else a private in-memory one.
func (a *App) UseSimulatorForOperator() error {
	if a.SimURL != "" {
		return nil
	}
	return a.startSimulatorWith("")
}
