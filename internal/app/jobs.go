package app

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/jobs"
	"github.com/firstmate-oss/firstmate/internal/runs"
	"github.com/firstmate-oss/firstmate/internal/webhook"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// callbackPolicy is the SSRF policy for callbacks and webhooks (contract
// §7): only public addresses by default, on a laptop too. Local development
// allows loopback with FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true; operators may
// allow private ranges with FIRSTMATE_CALLBACK_ALLOW_CIDRS (both read by
// package config into config.Callbacks).
func callbackPolicy(cfg config.Callbacks) send.Policy {
	return send.Policy{AllowLoopback: cfg.AllowLoopback, AllowCIDRs: cfg.AllowCIDRs}
}

// openJobs builds the async machinery: runs, deliveries and the River client.
func (a *App) openJobs(ctx context.Context) error {
	if err := jobs.Migrate(ctx, a.DB); err != nil {
		return err
	}
	cfg := a.Cfg.WithDefaults()
	policy := callbackPolicy(cfg.Callbacks)
	schedule := send.DefaultSchedule
	if cfg.Callbacks.RetrySchedule != nil {
		schedule = cfg.Callbacks.RetrySchedule
	}
	a.Runs = &runs.Service{DB: a.DB, Keys: a.Keys, Engine: a.Engine, Ledger: a.Ledger, Plans: a.Workspaces.Plan,
		Callbacks: policy, Log: a.Log, Queue: a.Queue}
	a.Dispatch = &webhook.Dispatcher{DB: a.DB, Keys: a.Keys, Schedule: schedule, Queue: a.Queue,
		Sender:        send.NewSender(send.Options{Policy: policy, Timeout: cfg.Callbacks.Timeout}),
		Hosts:         send.NewHostLimiter(cfg.Callbacks.PerHost),
		SigningSecret: a.Workspaces.SigningSecret, Parallel: 16, Observe: a.callMetrics().delivery, Tracer: a.Tracing.Tracer()}
	health := healthConfig(cfg.Health)
	j, err := jobs.New(a.DB, jobs.Config{RunWorkers: cfg.Jobs.RunWorkers, Inflight: cfg.Jobs.Inflight,
		DeliveryWorkers: cfg.Jobs.DeliveryWorkers, Logger: a.Log,
		RescueAfter: cfg.Jobs.RescueAfter, Health: health, NodeDeadAfter: cfg.Jobs.NodeDeadAfter, Version: Version,
		Tracer: a.Tracing.Tracer()},
		a.Queue, a.Runs, a.Dispatch)
	if err != nil {
		return err
	}
	a.Jobs = j
	return nil
}
