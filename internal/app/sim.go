package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/firstmate-oss/firstmate/internal/dataplane"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

// ExecutorStartWait bounds how long start waits for the remote executors'
// first capabilities: the server starts after it whatever they answered,
// and their families' actions stay unavailable until they answer.
const ExecutorStartWait = 3 * time.Second

// openDataPlane routes each platform family to its driver (see
// internal/dataplane): the bundled simulator for the families routed to the
// sandbox (started in-process on a loopback port unless FIRSTMATE_SIM_URL
// points at one running elsewhere), the built-in drivers, the remote
// executors. A misconfiguration refuses to start, naming the setting.
// simData is the simulator's data file ("" keeps its writes in memory).
func (a *App) openDataPlane(simData string) error {
	plan, err := dataplane.NewPlan(a.Cfg)
	if err != nil {
		return err
	}
	for _, w := range plan.Warnings() {
		a.Log.Warn(w)
	}
	plane, err := dataplane.New(plan, dataplane.Deps{
		SimulatorURL:   func() (string, error) { return a.startSimulator(simData) },
		FakeHubSpotURL: a.fakeHubSpot,
		Log:            a.Log,
		ObserveCall:    a.callMetrics().driverCall,
		Tracer:         a.Tracing.Tracer(),
	})
	if err != nil {
		a.stopSimulator()
		return err
	}
	a.Plane = plane
	plane.Start(ExecutorStartWait)
	for _, r := range plane.Routes() {
		if r.Kind == dataplane.KindOff {
			a.Log.Warn("no driver serves this platform family: its actions answer 424 ACTION_UNAVAILABLE",
				"family", r.Family, "setting", r.Setting)
		}
	}
	return nil
}

// startSimulator returns the simulator's URL: FIRSTMATE_SIM_URL, or a
// simulator started in-process on a loopback port (writing its guests to
// dataFile, "" for none).
func (a *App) startSimulator(dataFile string) (string, error) {
	if a.Cfg.Sim.URL != "" {
		a.SimURL = a.Cfg.Sim.URL
		return a.SimURL, nil
	}
	s, err := sim.New(sim.Config{Seed: a.Cfg.Sim.Seed, Latency: a.Cfg.Sim.Latency, DataFile: dataFile})
	if err != nil {
		return "", fmt.Errorf("simulator: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return "", fmt.Errorf("simulator: %w", err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	a.Sim, a.simServer = s, srv
	a.SimURL = "http://" + ln.Addr().String()
	return a.SimURL, nil
}

func (a *App) stopSimulator() {
	if a.simServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.simServer.Shutdown(ctx)
		_ = a.Sim.Close()
		a.simServer = nil
	}
}

// SeedManagedPool fills an empty managed pool with the simulator's managed
// sandbox accounts, so identity_mode "managed" works on a fresh install. It
// does so only when LinkedIn is routed to the sandbox: sandbox cookies mean
// nothing to a real LinkedIn driver.
func (a *App) SeedManagedPool(ctx context.Context) error {
	if a.Plane == nil || a.Plane.Route("linkedin").Kind != dataplane.KindSandbox {
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

// simDataFile is where the in-process simulator keeps the guests written to.
func (a *App) simDataFile() string { return filepath.Join(a.Cfg.DataDir, "sim-writes.jsonl") }
