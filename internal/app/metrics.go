package app

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/firstmate-oss/firstmate/internal/store"
)

// Operations metrics beyond the HTTP ones, served at /metrics with them
// (deploy/grafana-dashboard.json and deploy/alerts.yml use these names).
// The database-wide figures come from a few aggregate queries
// (store.OpsFigures), read at most every figuresTTL however often
// Prometheus scrapes; pool usage and leadership are this node's.
type opsCollector struct {
	a *App

	mu   sync.Mutex
	at   time.Time
	figs store.OpsFigures
	err  error
}

const figuresTTL = 5 * time.Second

var (
	descRuns = prometheus.NewDesc("firstmate_runs", "Runs by execution mode and status.",
		[]string{"mode", "status"}, nil)
	descInputs = prometheus.NewDesc("firstmate_async_inputs_processed", "Inputs of async runs already worked (grows while runs are kept; use rate() for inputs/s).",
		nil, nil)
	descPostponed = prometheus.NewDesc("firstmate_runs_postponed", "Async runs waiting on a Smart Limit (postponed).", nil, nil)
	descStuck     = prometheus.NewDesc("firstmate_runs_stuck", "Async runs queued or running whose state has not changed for 15 minutes.", nil, nil)
	descDeliv     = prometheus.NewDesc("firstmate_deliveries", "Callback and webhook deliveries by kind and status (SUCCESS, FAILED, PENDING).",
		[]string{"kind", "status"}, nil)
	descJobs       = prometheus.NewDesc("firstmate_jobs", "Unfinished River jobs by queue and state (queue depth).", []string{"queue", "state"}, nil)
	descJobAge     = prometheus.NewDesc("firstmate_jobs_oldest_available_seconds", "Age of the oldest job waiting to be worked, by queue.", []string{"queue"}, nil)
	descIntegr     = prometheus.NewDesc("firstmate_integrations", "Integrations by status (VALID, EXPIRED, INVALID, ...).", []string{"status"}, nil)
	descProxies    = prometheus.NewDesc("firstmate_proxies", "Egress proxies of the pool, active ones, by health.", []string{"health"}, nil)
	descFigErr     = prometheus.NewDesc("firstmate_metrics_query_errors", "1 when the last read of the database-wide figures failed.", nil, nil)
	descPool       = prometheus.NewDesc("firstmate_db_pool_connections", "This node's database connections by state.", []string{"pool", "state"}, nil)
	descPoolMax    = prometheus.NewDesc("firstmate_db_pool_max_connections", "This node's database connection limit.", []string{"pool"}, nil)
	descPoolWaits  = prometheus.NewDesc("firstmate_db_pool_waits_total", "Times this node waited for a free database connection.", []string{"pool"}, nil)
	descPoolWaitDu = prometheus.NewDesc("firstmate_db_pool_wait_seconds_total", "Time this node waited for free database connections.", []string{"pool"}, nil)
	descLeader     = prometheus.NewDesc("firstmate_leader", "1 when this node is River's leader (runs the periodic work).", []string{"node"}, nil)
	descDraining   = prometheus.NewDesc("firstmate_draining", "1 while this node shuts down.", nil, nil)
)

func (c *opsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRuns, descInputs, descPostponed, descStuck, descDeliv, descJobs, descJobAge,
		descIntegr, descProxies, descFigErr, descPool, descPoolMax, descPoolWaits, descPoolWaitDu, descLeader, descDraining} {
		ch <- d
	}
}

func (c *opsCollector) figures() (store.OpsFigures, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > figuresTTL {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c.figs, c.err = c.a.DB.OpsFigures(ctx)
		cancel()
		c.at = time.Now()
	}
	return c.figs, c.err
}

func (c *opsCollector) Collect(ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	f, err := c.figures()
	if err != nil {
		g(descFigErr, 1)
	} else {
		g(descFigErr, 0)
		for k, n := range f.RunsByStatus {
			g(descRuns, float64(n), k[0], k[1])
		}
		g(descInputs, float64(f.InputsProcessed))
		g(descPostponed, float64(f.Postponed))
		g(descStuck, float64(f.Stuck))
		for k, n := range f.Deliveries {
			g(descDeliv, float64(n), k[0], k[1])
		}
		for k, n := range f.Jobs {
			g(descJobs, float64(n), k[0], k[1])
		}
		for q, s := range f.OldestAvailable {
			g(descJobAge, s, q)
		}
		for s, n := range f.Integrations {
			g(descIntegr, float64(n), s)
		}
		g(descProxies, float64(f.ProxiesHealthy), "healthy")
		g(descProxies, float64(f.ProxiesTotal-f.ProxiesHealthy), "unhealthy")
	}
	for _, st := range c.a.DB.PoolStats() {
		name := st.Name
		g(descPool, float64(st.InUse), name, "in_use")
		g(descPool, float64(st.Idle), name, "idle")
		g(descPoolMax, float64(st.MaxOpenConnections), name)
		ch <- prometheus.MustNewConstMetric(descPoolWaits, prometheus.CounterValue, float64(st.WaitCount), name)
		ch <- prometheus.MustNewConstMetric(descPoolWaitDu, prometheus.CounterValue, st.WaitDuration.Seconds(), name)
	}
	leader := 0.0
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if id, err := c.a.DB.Leader(ctx); err == nil && id == c.a.Jobs.NodeID() {
		leader = 1
	}
	cancel()
	g(descLeader, leader, c.a.Jobs.NodeID())
	draining := 0.0
	if c.a.API.Draining() {
		draining = 1
	}
	g(descDraining, draining)
}

// registerOpsMetrics adds the operations metrics to the API's registry.
func (a *App) registerOpsMetrics() error {
	if err := a.API.Registry.Register(&opsCollector{a: a}); err != nil {
		return err
	}
	m := a.callMetrics()
	for _, c := range []prometheus.Collector{m.driverCalls, m.driverSeconds, m.deliverySeconds} {
		if err := a.API.Registry.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// callMetrics are this node's driver calls and callback deliveries, timed
// where they happen (dataplane.Deps.ObserveCall, webhook.Dispatcher.Observe).
type callMetrics struct {
	driverCalls     *prometheus.CounterVec
	driverSeconds   *prometheus.HistogramVec
	deliverySeconds *prometheus.HistogramVec
}

// callMetrics builds the metrics on first use: the data plane is opened
// before the API (and its registry) exists.
func (a *App) callMetrics() *callMetrics {
	if a.calls == nil {
		buckets := []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
		a.calls = &callMetrics{
			driverCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "firstmate_driver_calls_total",
				Help: "Driver calls (one page of an action) by platform family and outcome label (OK or the error label)."},
				[]string{"family", "label"}),
			driverSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "firstmate_driver_call_duration_seconds",
				Help: "Time of one driver call by platform family.", Buckets: buckets}, []string{"family"}),
			deliverySeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "firstmate_delivery_duration_seconds",
				Help:    "Time a receiver took to answer one callback or webhook attempt, by kind and outcome (success, failure).",
				Buckets: buckets}, []string{"kind", "outcome"}),
		}
	}
	return a.calls
}

func (m *callMetrics) driverCall(family, label string, took time.Duration) {
	m.driverCalls.WithLabelValues(family, label).Inc()
	m.driverSeconds.WithLabelValues(family).Observe(took.Seconds())
}

func (m *callMetrics) delivery(kind, outcome string, took time.Duration) {
	m.deliverySeconds.WithLabelValues(kind, outcome).Observe(took.Seconds())
}
