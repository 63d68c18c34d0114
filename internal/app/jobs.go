package app

import (
	"context"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/delivery"
	"github.com/firstmate-oss/firstmate/internal/dispatch"
	"github.com/firstmate-oss/firstmate/internal/jobs"
	"github.com/firstmate-oss/firstmate/internal/runs"
)

// callbackPolicy is the SSRF policy for callbacks and webhooks (contract
// §7): only public addresses by default, on a laptop too. Local development
// allows loopback with FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true (or
// config.Config.AllowLoopbackCallbacks); operators may allow private ranges
// with FIRSTMATE_CALLBACK_ALLOW_CIDRS.
func callbackPolicy(cfg configLike, allowLoopback bool) (delivery.Policy, error) {
	p := delivery.Policy{AllowLoopback: allowLoopback || cfg.allowLoopback()}
	for _, c := range cfg.allowCIDRs() {
		pre, err := netip.ParsePrefix(c)
		if err != nil {
			return p, err
		}
		p.AllowCIDRs = append(p.AllowCIDRs, pre)
	}
	return p, nil
}

// configLike reads the delivery settings from the environment; they are
// operator settings, not per-request ones.
type configLike struct{}

func (configLike) allowLoopback() bool {
	v, ok := os.LookupEnv("FIRSTMATE_CALLBACK_ALLOW_LOOPBACK")
	if !ok || strings.TrimSpace(v) == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	// A value that does not parse (a typo such as "flase") keeps loopback
	// closed: an SSRF allowance must not be opened by a mistake.
	return err == nil && b
}

func (configLike) allowCIDRs() []string {
	var out []string
	for _, c := range strings.Split(os.Getenv("FIRSTMATE_CALLBACK_ALLOW_CIDRS"), ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

// openJobs builds the async machinery: runs, deliveries and the River client.
func (a *App) openJobs(ctx context.Context) error {
	if err := jobs.Migrate(ctx, a.DB); err != nil {
		return err
	}
	policy, err := callbackPolicy(configLike{}, a.Cfg.AllowLoopbackCallbacks)
	if err != nil {
		return err
	}
	schedule := delivery.DefaultSchedule
	if s := os.Getenv("FIRSTMATE_CALLBACK_RETRY_SCHEDULE"); s != "" {
		if schedule, err = delivery.ParseSchedule(s); err != nil {
			return err
		}
	}
	a.Runs = &runs.Service{DB: a.DB, Keys: a.Keys, Engine: a.Engine, Ledger: a.Ledger, Plans: a.Workspaces.Plan,
		Callbacks: policy, Log: a.Log}
	a.Dispatch = &dispatch.Dispatcher{DB: a.DB, Keys: a.Keys, Schedule: schedule,
		Sender:        delivery.NewSender(delivery.Options{Policy: policy, Timeout: envDuration("FIRSTMATE_CALLBACK_TIMEOUT", 15*time.Second)}),
		Hosts:         delivery.NewHostLimiter(envInt("FIRSTMATE_CALLBACK_PER_HOST", 32)),
		SigningSecret: a.Workspaces.SigningSecret, Parallel: 16}
	j, err := jobs.New(a.DB, jobs.Config{RunWorkers: envInt("FIRSTMATE_RUN_WORKERS", 32),
		DeliveryWorkers: envInt("FIRSTMATE_DELIVERY_WORKERS", 16), Logger: a.Log,
		RescueAfter: envDuration("FIRSTMATE_JOB_RESCUE_AFTER", jobs.DefaultRescueAfter), Health: healthConfig()}, a.Runs, a.Dispatch)
	if err != nil {
		return err
	}
	a.Jobs = j
	a.Runs.Queue, a.Dispatch.Queue = j, j
	a.wireIntegrations(policy, j, healthConfig())
	return nil
}
