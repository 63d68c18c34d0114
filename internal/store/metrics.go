package store

import (
	"context"
	"fmt"
)

// Figures for the operations metrics (internal/app, metrics.go). Each is one
// aggregate query, run at most every few seconds whatever the scrape rate.

// OpsFigures are the database-wide figures /metrics exposes.
type OpsFigures struct {
	// RunsByStatus counts runs per mode and status.
	RunsByStatus map[[2]string]int64
	// InputsProcessed is the inputs of async runs already worked (their
	// input_count less those still pending).
	InputsProcessed int64
	// Postponed counts runs waiting on a Smart Limit (postponed_until set).
	Postponed int64
	// Stuck counts async runs QUEUED or RUNNING whose row has not changed
	// for 15 minutes.
	Stuck int64
	// Deliveries counts callback and webhook deliveries per kind and status.
	Deliveries map[[2]string]int64
	// Jobs counts River jobs not finished per queue and state.
	Jobs map[[2]string]int64
	// OldestAvailable is the age in seconds of the oldest job waiting to
	// be worked, per queue.
	OldestAvailable map[string]float64
	// Integrations counts integrations per status (EXPIRED, INVALID, ...).
	Integrations map[string]int64
	// ProxiesHealthy and ProxiesTotal describe the egress proxy pool.
	ProxiesHealthy, ProxiesTotal int64
}

// OpsFigures reads the figures.
func (db *Store) OpsFigures(ctx context.Context) (OpsFigures, error) {
	f := OpsFigures{RunsByStatus: map[[2]string]int64{}, Deliveries: map[[2]string]int64{}, Jobs: map[[2]string]int64{},
		OldestAvailable: map[string]float64{}, Integrations: map[string]int64{}}
	read := sqlQ{db.read}
	pairs := func(q string, into map[[2]string]int64) error {
		return queryEach(ctx, read, func(row scanner) error {
			var a, b string
			var n int64
			err := row.Scan(&a, &b, &n)
			into[[2]string{a, b}] = n
			return err
		}, q)
	}
	if err := pairs(`SELECT execution_mode, status, count(*) FROM runs GROUP BY execution_mode, status`, f.RunsByStatus); err != nil {
		return f, fmt.Errorf("store: ops figures (runs): %w", err)
	}
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(sum(input_count - pending_count), 0),
			COALESCE(sum(CASE WHEN postponed_until IS NOT NULL AND status IN ('QUEUED', 'RUNNING') THEN 1 ELSE 0 END), 0),
			COALESCE(sum(CASE WHEN status IN ('QUEUED', 'RUNNING') AND updated_at < $1 THEN 1 ELSE 0 END), 0)
		FROM runs WHERE execution_mode = 'ASYNC'`, Now()-15*60*1000).Scan(&f.InputsProcessed, &f.Postponed, &f.Stuck); err != nil {
		return f, fmt.Errorf("store: ops figures (inputs): %w", err)
	}
	if err := pairs(`SELECT kind, status, count(*) FROM deliveries GROUP BY kind, status`, f.Deliveries); err != nil {
		return f, fmt.Errorf("store: ops figures (deliveries): %w", err)
	}
	if err := pairs(`SELECT queue, state, count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')
		GROUP BY queue, state`, f.Jobs); err != nil {
		return f, fmt.Errorf("store: ops figures (jobs): %w", err)
	}
	age := db.dialect.secondsSince("min(scheduled_at)")
	err := queryEach(ctx, read, func(row scanner) error {
		var q string
		var s float64
		err := row.Scan(&q, &s)
		f.OldestAvailable[q] = max(s, 0)
		return err
	}, `SELECT queue, `+age+` FROM river_job WHERE state = 'available' GROUP BY queue`)
	if err != nil {
		return f, fmt.Errorf("store: ops figures (job age): %w", err)
	}
	err = queryEach(ctx, read, func(row scanner) error {
		var s string
		var n int64
		err := row.Scan(&s, &n)
		f.Integrations[s] = n
		return err
	}, `SELECT status, count(*) FROM integrations GROUP BY status`)
	if err != nil {
		return f, fmt.Errorf("store: ops figures (integrations): %w", err)
	}
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(sum(CASE WHEN healthy AND active THEN 1 ELSE 0 END), 0),
			COALESCE(sum(CASE WHEN active THEN 1 ELSE 0 END), 0) FROM proxies`).Scan(&f.ProxiesHealthy, &f.ProxiesTotal); err != nil {
		return f, fmt.Errorf("store: ops figures (proxies): %w", err)
	}
	return f, nil
}
