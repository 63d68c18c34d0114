package app

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/api"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/jobs"
	"github.com/firstmate-oss/firstmate/internal/schedules"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// The defaults config shows (help, README) are the ones the packages apply
// to a zero setting.
func TestConfigDefaultsAgreeWithThePackages(t *testing.T) {
	d := config.Defaults()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"health interval", d.Health.Interval, identity.DefaultHealthInterval},
		{"health tick", d.Health.Tick, jobs.DefaultHealthTick},
		{"health budget", d.Health.Budget, jobs.DefaultHealthBudget},
		{"health workers", d.Health.Workers, jobs.DefaultHealthWorkers},
		{"schedule poll", d.Schedules.Poll, schedules.DefaultPollInterval},
		{"schedule workers", d.Schedules.Workers, schedules.DefaultParallel},
		{"job rescue after", d.Jobs.RescueAfter, jobs.DefaultRescueAfter},
		{"bulk submissions", d.BulkSubmissions, api.DefaultBulkSubmissions},
	} {
		if c.got != c.want {
			t.Errorf("%s: config says %v, the package applies %v", c.name, c.got, c.want)
		}
	}
	for _, v := range config.Vars {
		if v.Name == "FIRSTMATE_CALLBACK_RETRY_SCHEDULE" && v.Default != send.DefaultSchedule.String() {
			t.Errorf("retry schedule: config shows %s, delivery applies %s", v.Default, send.DefaultSchedule)
		}
	}
}

// Open takes its settings from the configuration it is given, not from the
// environment: here the environment says one thing and the configuration
// another.
func TestOpenFollowsTheConfiguration(t *testing.T) {
	t.Setenv("FIRSTMATE_SIM", "on")
	t.Setenv("FIRSTMATE_CALLBACK_ALLOW_LOOPBACK", "true")
	cfg := config.Config{DataDir: t.TempDir(), SecretKey: secret.NewSpec("k1"), Addr: "127.0.0.1:0"}
	cfg.Sim.Off = true
	cfg.Callbacks.AllowLoopback = false
	a, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.SimURL != "" || a.Sim != nil {
		t.Errorf("Sim.Off: a simulator was started at %q", a.SimURL)
	}
	if err := a.Runs.Callbacks.ValidateURL("http://127.0.0.1:9/"); err == nil {
		t.Errorf("Callbacks.AllowLoopback false: a loopback callback was accepted")
	}
}
