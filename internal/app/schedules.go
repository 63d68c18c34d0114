package app

import (
	"github.com/firstmate-oss/firstmate/internal/schedules"
)

// openSchedules builds schedule mode. Its firing loop runs beside the River
// client: App.Serve starts and stops both (see package schedules for why a
// poller on every node rather than a River periodic job).
// FIRSTMATE_SCHEDULE_POLL and FIRSTMATE_SCHEDULE_WORKERS (parallel firings
// per node on PostgreSQL) tune it.
func (a *App) openSchedules() {
	cfg := a.Cfg.WithDefaults().Schedules
	a.Schedules = &schedules.Service{DB: a.DB, Keys: a.Keys, Runs: a.Runs, Log: a.Log,
		PollInterval: cfg.Poll, Parallel: cfg.Workers}
}
