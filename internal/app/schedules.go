package app

import (
	"github.com/firstmate-oss/firstmate/internal/schedules"
)

// openSchedules builds schedule mode. Its firing loop runs beside the River
// client: App.Serve starts and stops both (see package schedules for why a
// poller on every node rather than a River periodic job).
// FIRSTMATE_SCHEDULE_POLL (a duration, 250ms by default) and
// FIRSTMATE_SCHEDULE_WORKERS (parallel firings per node on PostgreSQL, 8 by
// default) tune it.
func (a *App) openSchedules() {
	a.Schedules = &schedules.Service{DB: a.DB, Keys: a.Keys, Runs: a.Runs, Log: a.Log,
		PollInterval: envDuration("FIRSTMATE_SCHEDULE_POLL", schedules.DefaultPollInterval),
		Parallel:     envInt("FIRSTMATE_SCHEDULE_WORKERS", schedules.DefaultParallel)}
}
