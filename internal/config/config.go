// Package config holds the runtime configuration and the plan table. It is
// the one place that reads the environment: every setting is declared in
// Vars (name, flag, default, help), which Load applies, `firstmate help
// config` prints and the README's configuration table repeats (tests keep
// the three in step, and fail when code outside this package reads the
// environment or names a FIRSTMATE_ variable Vars does not declare).
//
// cmd/firstmate calls FromEnv once, lets its flags override the result and
// hands the Config to internal/app, which passes each package the values
// it needs through its constructor; only internal/dataplane (the platform
// routes, built from many settings at once) is given Config whole.
// The variables Go itself reads (GOMEMLIMIT; HTTPS_PROXY, HTTP_PROXY and
// NO_PROXY in net/http's transports, the executor client's included) are
// the runtime's and the standard library's, not read here; GOGC is declared
// here only because serve sets its own default.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/webhook/send"
)

// Config is everything the binary reads from flags and environment.
type Config struct {
	// Addr is the HTTP listen address.
	Addr string
	// DataDir holds the SQLite file and the secret-key file.
	DataDir string
	// DatabaseURL switches to PostgreSQL when it is a postgres:// URL.
	DatabaseURL string
	// PublicURL is the externally reachable base URL (login links, pagination
	// links). Empty means http://<Addr>.
	PublicURL string
	// SecretKey is a keyring spec ("kid:base64key,..."); empty means the
	// data-dir key file.
	SecretKey string
	// PlansFile overlays the built-in plans.
	PlansFile string
	// BootstrapAPIKey fixes the first owner's key on an empty database.
	BootstrapAPIKey string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// AccessLog writes one JSON line per HTTP request at info level.
	AccessLog bool
	// PprofAddr serves net/http/pprof on its own listener when not empty.
	PprofAddr string
	// GOGC is the environment's GOGC (Go's own setting); serve sets its own
	// default when it is empty.
	GOGC string
	// Operator runs a one-shot subcommand: no simulator, no seeding.
	Operator bool
	// OperatorPlatforms routes the platforms for a one-shot subcommand that
	// must talk to them (validating a pool account), as the server does; a
	// family routed to the sandbox gets a private in-memory simulator unless
	// FIRSTMATE_SIM_URL points at one. Set by the subcommand, not read from
	// the environment.
	OperatorPlatforms bool
	// ProxyPool is the egress proxy pool ("FR=http://u:p@host:port,US=...");
	// ProxyPoolFile a file of "COUNTRY URL" lines. Both empty: identities'
	// traffic goes out directly. See internal/proxy.
	ProxyPool     string
	ProxyPoolFile string
	// BulkSubmissions bounds the large async submissions (bodies over 1 MiB)
	// a node stores at once; more wait a few seconds, then get 503
	// (FIRSTMATE_BULK_SUBMISSIONS; 0: 2).
	BulkSubmissions int

	Callbacks Callbacks
	Jobs      Jobs
	Shutdown  Shutdown
	Schedules Schedules
	Health    Health
	Sim       Sim
	// HubSpotURL is the HubSpot API base ("" for https://api.hubapi.com,
	// "fake" for the bundled in-memory fake).
	HubSpotURL string
	LinkedIn   LinkedIn
	// Platforms is the route of each platform family, as the operator set
	// it (FIRSTMATE_PLATFORM_<FAMILY>, lower case, "" when unset): sandbox,
	// a built-in driver's name, executor:<URL> or off. internal/dataplane
	// checks and applies them.
	Platforms map[string]string
	// Concurrency bounds a family's upstream calls in flight across all
	// nodes (FIRSTMATE_PLATFORM_<FAMILY>_CONCURRENCY; absent: no bound but
	// the in-flight budget), for an upstream's own quotas.
	Concurrency map[string]int
	// ExecutorSecrets are the whsec_ secrets of remote executors, by base
	// URL as written; the key "" holds a bare secret that applies to every
	// executor without one of its own (FIRSTMATE_EXECUTOR_SECRETS).
	ExecutorSecrets map[string]string
	// ExecutorTimeout bounds one request to a remote executor (0: 60 s).
	ExecutorTimeout time.Duration
	GooglePlaces    APIKey
	TripAdvisor     APIKey
	Tracing         Tracing
}

// Tracing is OpenTelemetry trace export, from the specification's standard
// OTEL_* variables (the subset Firstmate honours). It is off unless an
// OTLP endpoint is set; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none
// turn it off even then. Only OTLP over HTTP (http/protobuf) is built in.
type Tracing struct {
	// Endpoint is OTEL_EXPORTER_OTLP_ENDPOINT, the collector's base URL:
	// traces go to <Endpoint>/v1/traces.
	Endpoint string
	// TracesEndpoint is OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, the full traces
	// URL; it wins over Endpoint.
	TracesEndpoint string
	// Headers are OTEL_EXPORTER_OTLP_HEADERS with
	// OTEL_EXPORTER_OTLP_TRACES_HEADERS over them (never logged).
	Headers       map[string]string
	TracesHeaders map[string]string
	// Disabled is OTEL_SDK_DISABLED=true.
	Disabled bool
	// Exporter is OTEL_TRACES_EXPORTER: "otlp" (or "") exports, "none" not.
	Exporter string
	// ServiceName is OTEL_SERVICE_NAME ("" for firstmate).
	ServiceName string
	// Resource is OTEL_RESOURCE_ATTRIBUTES (key=value,...).
	Resource map[string]string
	// Sampler and SamplerArg are OTEL_TRACES_SAMPLER and
	// OTEL_TRACES_SAMPLER_ARG ("" for parentbased_always_on).
	Sampler    string
	SamplerArg string
}

// URL is where spans are exported, "" when tracing is off.
func (t Tracing) URL() string {
	if t.Disabled || t.Exporter == "none" {
		return ""
	}
	if t.TracesEndpoint != "" {
		return t.TracesEndpoint
	}
	if t.Endpoint != "" {
		return strings.TrimRight(t.Endpoint, "/") + "/v1/traces"
	}
	return ""
}

// ExportHeaders are the headers of every export: the traces-only ones over
// the shared ones.
func (t Tracing) ExportHeaders() map[string]string {
	if len(t.Headers) == 0 && len(t.TracesHeaders) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, v := range t.Headers {
		out[k] = v
	}
	for k, v := range t.TracesHeaders {
		out[k] = v
	}
	return out
}

// APIKey configures an official-API driver that runs with the operator's
// own key.
type APIKey struct {
	Key string // never logged or printed
	URL string // "" for the API's own base
}

// PlatformFamilies are the platform families a route is set for, in the
// order help and the README list them: the catalogue's Action.Platform
// values.
var PlatformFamilies = []string{"linkedin", "salesnavigator", "recruiterlite", "googlemaps", "tripadvisor", "thefork", "hubspot"}

// PlatformSetting is the variable that routes a family.
func PlatformSetting(family string) string { return "FIRSTMATE_PLATFORM_" + strings.ToUpper(family) }

// ExecutorSecretsSetting holds the executors' secrets.
const ExecutorSecretsSetting = "FIRSTMATE_EXECUTOR_SECRETS"

// LinkedIn configures the LinkedIn session driver (internal/platform/linkedin):
// the server's when FIRSTMATE_PLATFORM_LINKEDIN=session, and `firstmate
// probe linkedin`'s, whose flags win.
type LinkedIn struct {
	// URL is LinkedIn's web origin ("" for https://www.linkedin.com); the
	// sandbox's URL tries the driver locally.
	URL string
	// Recipes is a recipes file overriding the embedded one ("" for none).
	Recipes string
}

// Callbacks are the delivery settings of run callbacks and integration
// webhooks.
type Callbacks struct {
	// AllowLoopback lets callbacks and webhooks reach loopback addresses,
	// for receivers on the same machine in local development. Off by
	// default, on a laptop too (contract §7).
	AllowLoopback bool
	// AllowCIDRs are private ranges callbacks may reach.
	AllowCIDRs []netip.Prefix
	// RetrySchedule is the wait before each attempt; nil means the
	// contract's (send.DefaultSchedule).
	RetrySchedule send.Schedule
	// Timeout bounds one delivery attempt.
	Timeout time.Duration
	// PerHost bounds the attempts running at once to one host.
	PerHost int
}

// Jobs size the async machinery of one node.
type Jobs struct {
	// Inflight is the node's budget of upstream calls in flight, shared by
	// async, schedule and live work (FIRSTMATE_INFLIGHT).
	Inflight int
	// RunWorkers is the least number of River workers running async chunks
	// (FIRSTMATE_RUN_WORKERS; more are started to fill Inflight).
	RunWorkers int
	// DeliveryWorkers work callback and webhook deliveries
	// (FIRSTMATE_DELIVERY_WORKERS).
	DeliveryWorkers int
	// RescueAfter is how long a job may run before another node takes it
	// over (its node is presumed dead).
	RescueAfter time.Duration
	// NodeDeadAfter is how long a node (PostgreSQL) may miss its heartbeat
	// before the others take over its jobs and leadership.
	NodeDeadAfter time.Duration
}

// Shutdown bounds a node's exit on SIGTERM.
type Shutdown struct {
	// Timeout bounds the whole shutdown: draining, in-flight requests,
	// running jobs.
	Timeout time.Duration
	// Drain is how long the node keeps serving, not ready, before it closes
	// its listener, so that load balancers see /readyz fail first; then, as
	// long again at most, it leaves its idle connections to their clients
	// (internal/app/drain.go). 0: 3 s on PostgreSQL (several nodes), none
	// on SQLite. At most a quarter of Timeout.
	Drain time.Duration
}

// Schedules tune the schedule firing loop.
type Schedules struct {
	// Poll is how often a node looks for due schedules
	// (FIRSTMATE_SCHEDULE_POLL).
	Poll time.Duration
	// Workers bounds the firings a node runs at once
	// (FIRSTMATE_SCHEDULE_WORKERS).
	Workers int
}

// Health tunes the periodic integration health checks.
type Health struct {
	// Off stops them (FIRSTMATE_HEALTH_CHECKS=off).
	Off bool
	// Interval is the time between two checks of one integration, ±20%
	// (FIRSTMATE_HEALTH_INTERVAL).
	Interval time.Duration
	// Tick is how often the leader claims due checks (FIRSTMATE_HEALTH_TICK).
	Tick time.Duration
	// Budget is the checks claimed per tick (FIRSTMATE_HEALTH_BUDGET).
	Budget int
	// Workers bounds the checks running at once (FIRSTMATE_HEALTH_WORKERS).
	Workers int
}

// Sim configures the bundled platform simulator.
type Sim struct {
	// Off starts no simulator (and wires no simulated platform).
	Off bool
	// URL points at a simulator running elsewhere (`firstmate sim`).
	URL string
	// Seed is the simulated world's seed: the same seed, the same world.
	Seed int64
	// Latency is added by the simulator to every call.
	Latency time.Duration
	// Addr is where `firstmate sim` listens.
	Addr string
	// ExecutorSecret is the whsec_ secret `firstmate sim --executor` signs
	// the executor protocol with (its --executor-secret flag wins); empty,
	// the command makes one and prints it.
	ExecutorSecret string
}

// Default values; the packages that use them keep their own defaults for a
// zero value, and internal/app's tests check that the two agree.
const (
	DefaultAddr             = "127.0.0.1:8080"
	DefaultDataDir          = "firstmate-data"
	DefaultLogLevel         = "info"
	DefaultCallbackTimeout  = 15 * time.Second
	DefaultCallbackPerHost  = 32
	DefaultRunWorkers       = 32
	DefaultInflight         = 4096
	DefaultDeliveryWorkers  = 16
	DefaultJobRescueAfter   = 30 * time.Second
	DefaultNodeDeadAfter    = 6 * time.Second
	DefaultShutdownTimeout  = 30 * time.Second
	DefaultSchedulePoll     = 250 * time.Millisecond
	DefaultScheduleWorkers  = 8
	DefaultHealthInterval   = 6 * time.Hour
	DefaultHealthTick       = 5 * time.Minute
	DefaultHealthBudget     = 100
	DefaultHealthWorkers    = 2
	DefaultSimAddr          = "127.0.0.1:8090"
	DefaultCallbackLoopback = false
	DefaultBulkSubmissions  = 2
)

// Defaults is the configuration with no environment and no flags.
func Defaults() Config {
	return Config{
		Addr: DefaultAddr, DataDir: DefaultDataDir, LogLevel: DefaultLogLevel, AccessLog: true,
		BulkSubmissions: DefaultBulkSubmissions,
		Callbacks:       Callbacks{AllowLoopback: DefaultCallbackLoopback, Timeout: DefaultCallbackTimeout, PerHost: DefaultCallbackPerHost},
		Jobs: Jobs{Inflight: DefaultInflight, RunWorkers: DefaultRunWorkers, DeliveryWorkers: DefaultDeliveryWorkers,
			RescueAfter: DefaultJobRescueAfter, NodeDeadAfter: DefaultNodeDeadAfter},
		Shutdown:  Shutdown{Timeout: DefaultShutdownTimeout},
		Schedules: Schedules{Poll: DefaultSchedulePoll, Workers: DefaultScheduleWorkers},
		Health: Health{Interval: DefaultHealthInterval, Tick: DefaultHealthTick, Budget: DefaultHealthBudget,
			Workers: DefaultHealthWorkers},
		Sim: Sim{Addr: DefaultSimAddr},
	}
}

// WithDefaults fills the zero numeric settings of a configuration built by
// hand (tests) with the defaults. Switches are left as they are.
func (c Config) WithDefaults() Config {
	d := Defaults()
	set := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	set(&c.Addr, d.Addr)
	set(&c.DataDir, d.DataDir)
	set(&c.LogLevel, d.LogLevel)
	set(&c.Sim.Addr, d.Sim.Addr)
	for _, f := range []struct {
		v   *int
		def int
	}{{&c.BulkSubmissions, d.BulkSubmissions}, {&c.Callbacks.PerHost, d.Callbacks.PerHost}, {&c.Jobs.RunWorkers, d.Jobs.RunWorkers},
		{&c.Jobs.DeliveryWorkers, d.Jobs.DeliveryWorkers}, {&c.Schedules.Workers, d.Schedules.Workers},
		{&c.Health.Budget, d.Health.Budget}, {&c.Health.Workers, d.Health.Workers}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&c.Callbacks.Timeout, d.Callbacks.Timeout},
		{&c.Jobs.RescueAfter, d.Jobs.RescueAfter}, {&c.Schedules.Poll, d.Schedules.Poll},
		{&c.Jobs.NodeDeadAfter, d.Jobs.NodeDeadAfter}, {&c.Shutdown.Timeout, d.Shutdown.Timeout},
		{&c.Health.Interval, d.Health.Interval}, {&c.Health.Tick, d.Health.Tick}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	return c
}

// Var is one environment variable Firstmate reads.
type Var struct {
	Name    string
	Flag    string // the flag that overrides it ("" for none)
	Default string // as shown to users ("" for none)
	Help    string
	Section string
	// Secret: the value is never repeated in an error message.
	Secret bool
	set    func(c *Config, v string) error
}

// Sections of Vars, in the order help prints them.
const (
	SectionServer    = "Server and storage"
	SectionCallbacks = "Callbacks and webhooks"
	SectionJobs      = "Async runs, schedules and health checks"
	SectionPlatforms = "Platforms"
	SectionTracing   = "Tracing (OpenTelemetry's standard variables)"
)

// Vars lists every environment variable, by section.
var Vars = []Var{
	{Name: "FIRSTMATE_ADDR", Flag: "--addr", Default: DefaultAddr, Section: SectionServer,
		Help: "listen address", set: str(func(c *Config) *string { return &c.Addr })},
	{Name: "FIRSTMATE_DATA_DIR", Flag: "--data-dir", Default: "./" + DefaultDataDir, Section: SectionServer,
		Help: "SQLite file and secret-key file", set: str(func(c *Config) *string { return &c.DataDir })},
	{Name: "FIRSTMATE_DATABASE_URL", Flag: "--database-url", Default: "(SQLite)", Section: SectionServer,
		Help: "a postgres:// URL switches to PostgreSQL", set: str(func(c *Config) *string { return &c.DatabaseURL })},
	{Name: "FIRSTMATE_PUBLIC_URL", Flag: "--public-url", Default: "http://<addr>", Section: SectionServer,
		Help: "base of login links and pagination links", set: str(func(c *Config) *string { return &c.PublicURL })},
	{Name: "FIRSTMATE_SECRET_KEY", Default: "<data-dir>/secret.key", Section: SectionServer,
		Help: "keyring kid:base64key[,kid:base64key...]; the first key encrypts, all decrypt; the file is made only for an empty database",
		set:  str(func(c *Config) *string { return &c.SecretKey })},
	{Name: "FIRSTMATE_BOOTSTRAP_API_KEY", Default: "random", Section: SectionServer,
		Help: "fixes the first owner key on an empty database (fm_ + 16 or more characters)",
		set:  str(func(c *Config) *string { return &c.BootstrapAPIKey })},
	{Name: "FIRSTMATE_PLANS_FILE", Default: "built-in", Section: SectionServer,
		Help: "JSON array of plans overlaying the built-in ones", set: str(func(c *Config) *string { return &c.PlansFile })},
	{Name: "FIRSTMATE_LOG_LEVEL", Default: DefaultLogLevel, Section: SectionServer,
		Help: "debug, info, warn or error (JSON logs on stderr)", set: setLogLevel},
	{Name: "FIRSTMATE_ACCESS_LOG", Default: "on", Section: SectionServer,
		Help: "one JSON line per request at info level (method, route, status, duration, workspace and run uid); off to silence",
		set:  onOff(func(c *Config) *bool { return &c.AccessLog }, false)},
	{Name: "FIRSTMATE_PPROF_ADDR", Default: "off", Section: SectionServer,
		Help: "serve net/http/pprof on this address (never the API's)", set: str(func(c *Config) *string { return &c.PprofAddr })},
	{Name: "FIRSTMATE_PROXY_POOL", Default: "none", Section: SectionServer,
		Help: "egress proxies, one per identity: FR=http://user:pass@host:port,US=...",
		set:  str(func(c *Config) *string { return &c.ProxyPool })},
	{Name: "FIRSTMATE_PROXY_POOL_FILE", Default: "none", Section: SectionServer,
		Help: "file of COUNTRY URL lines (# comments); without either pool identities' traffic goes out directly",
		set:  str(func(c *Config) *string { return &c.ProxyPoolFile })},
	{Name: "FIRSTMATE_BULK_SUBMISSIONS", Default: strconv.Itoa(DefaultBulkSubmissions), Section: SectionServer,
		Help: "async submissions over 1 MiB (or of unknown length) a node stores at once; one more waits 5s for a slot, then gets 503 SERVER_BUSY",
		set:  positive(func(c *Config) *int { return &c.BulkSubmissions })},
	{Name: "GOGC", Default: "200", Section: SectionServer,
		Help: "Go's garbage collector target; serve defaults it to 200 (fewer collections for a little more memory) with, unless GOMEMLIMIT is set, a soft memory limit of 128 MiB + 64 KiB per FIRSTMATE_INFLIGHT slot",
		set:  str(func(c *Config) *string { return &c.GOGC })},

	{Name: "FIRSTMATE_CALLBACK_ALLOW_LOOPBACK", Default: strconv.FormatBool(DefaultCallbackLoopback), Section: SectionCallbacks,
		Help: "true lets callbacks and webhooks reach loopback receivers (127.0.0.0/8, ::1, localhost) for local development; refused otherwise",
		set:  setAllowLoopback},
	{Name: "FIRSTMATE_CALLBACK_ALLOW_CIDRS", Default: "none", Section: SectionCallbacks,
		Help: "private ranges callbacks and webhooks may reach, comma-separated (10.0.0.0/8,...); cloud metadata stays refused",
		set:  setAllowCIDRs},
	{Name: "FIRSTMATE_CALLBACK_RETRY_SCHEDULE", Default: send.DefaultSchedule.String(), Section: SectionCallbacks,
		Help: "wait before each delivery attempt, comma-separated durations (one per attempt)",
		set:  setRetrySchedule},
	{Name: "FIRSTMATE_CALLBACK_TIMEOUT", Default: DefaultCallbackTimeout.String(), Section: SectionCallbacks,
		Help: "time limit of one delivery attempt", set: duration(func(c *Config) *time.Duration { return &c.Callbacks.Timeout })},
	{Name: "FIRSTMATE_CALLBACK_PER_HOST", Default: strconv.Itoa(DefaultCallbackPerHost), Section: SectionCallbacks,
		Help: "delivery attempts running at once to one host, per node", set: positive(func(c *Config) *int { return &c.Callbacks.PerHost })},

	{Name: "FIRSTMATE_INFLIGHT", Default: strconv.Itoa(DefaultInflight), Section: SectionJobs,
		Help: "upstream calls in flight at once, per node, shared by live, async and schedule work (a sixteenth is kept for live calls); ~100 KiB of memory each: 4096 keeps a node under 500 MB",
		set:  positive(func(c *Config) *int { return &c.Jobs.Inflight })},
	{Name: "FIRSTMATE_RUN_WORKERS", Default: strconv.Itoa(DefaultRunWorkers), Section: SectionJobs,
		Help: "async run chunks worked at once, per node, at least (enough more to fill FIRSTMATE_INFLIGHT); a chunk's inputs run concurrently",
		set:  positive(func(c *Config) *int { return &c.Jobs.RunWorkers })},
	{Name: "FIRSTMATE_DELIVERY_WORKERS", Default: strconv.Itoa(DefaultDeliveryWorkers), Section: SectionJobs,
		Help: "callback and webhook deliveries worked at once, per node", set: positive(func(c *Config) *int { return &c.Jobs.DeliveryWorkers })},
	{Name: "FIRSTMATE_JOB_RESCUE_AFTER", Default: "30s", Section: SectionJobs,
		Help: "a job running longer than this on a node presumed dead is taken over by another (30s at least)",
		set:  duration(func(c *Config) *time.Duration { return &c.Jobs.RescueAfter })},
	{Name: "FIRSTMATE_NODE_DEAD_AFTER", Default: DefaultNodeDeadAfter.String(), Section: SectionJobs,
		Help: "PostgreSQL: a node silent this long is dead; its jobs and River leadership go to another node at once",
		set:  duration(func(c *Config) *time.Duration { return &c.Jobs.NodeDeadAfter })},
	{Name: "FIRSTMATE_SHUTDOWN_TIMEOUT", Default: DefaultShutdownTimeout.String(), Section: SectionServer,
		Help: "on SIGTERM the node reports not ready, finishes in-flight requests and jobs, and exits within this time",
		set:  duration(func(c *Config) *time.Duration { return &c.Shutdown.Timeout })},
	{Name: "FIRSTMATE_SHUTDOWN_DRAIN", Default: "3s on PostgreSQL, 0 on SQLite", Section: SectionServer,
		Help: "on SIGTERM, how long the node keeps serving (not ready, every answer closing its connection) before it closes its listener; then, until the jobs are done and as long again at most, it leaves idle connections to their clients",
		set:  duration(func(c *Config) *time.Duration { return &c.Shutdown.Drain })},
	{Name: "FIRSTMATE_SCHEDULE_POLL", Default: DefaultSchedulePoll.String(), Section: SectionJobs,
		Help: "how often each node looks for due schedules", set: duration(func(c *Config) *time.Duration { return &c.Schedules.Poll })},
	{Name: "FIRSTMATE_SCHEDULE_WORKERS", Default: strconv.Itoa(DefaultScheduleWorkers), Section: SectionJobs,
		Help: "schedule firings at once, per node (PostgreSQL)", set: positive(func(c *Config) *int { return &c.Schedules.Workers })},
	{Name: "FIRSTMATE_HEALTH_CHECKS", Default: "on", Section: SectionJobs,
		Help: "periodic integration health checks; off to stop them", set: onOff(func(c *Config) *bool { return &c.Health.Off }, true)},
	{Name: "FIRSTMATE_HEALTH_INTERVAL", Default: "6h", Section: SectionJobs,
		Help: "time between two checks of one integration (±20% jitter)", set: duration(func(c *Config) *time.Duration { return &c.Health.Interval })},
	{Name: "FIRSTMATE_HEALTH_TICK", Default: "5m", Section: SectionJobs,
		Help: "how often due checks are claimed (on one node)", set: duration(func(c *Config) *time.Duration { return &c.Health.Tick })},
	{Name: "FIRSTMATE_HEALTH_BUDGET", Default: strconv.Itoa(DefaultHealthBudget), Section: SectionJobs,
		Help: "checks claimed per tick", set: positive(func(c *Config) *int { return &c.Health.Budget })},
	{Name: "FIRSTMATE_HEALTH_WORKERS", Default: strconv.Itoa(DefaultHealthWorkers), Section: SectionJobs,
		Help: "checks running at once", set: positive(func(c *Config) *int { return &c.Health.Workers })},

	{Name: "FIRSTMATE_SIM", Default: "on", Section: SectionPlatforms,
		Help: "the bundled simulator in-process, for the families routed to the sandbox; off starts none, and those families default to off",
		set:  onOff(func(c *Config) *bool { return &c.Sim.Off }, true)},
	{Name: "FIRSTMATE_SIM_URL", Default: "in-process", Section: SectionPlatforms,
		Help: "use a simulator running elsewhere (firstmate sim)", set: str(func(c *Config) *string { return &c.Sim.URL })},
	{Name: "FIRSTMATE_SIM_SEED", Default: "0", Section: SectionPlatforms,
		Help: "the simulator's world seed, in-process or for firstmate sim (the same seed gives the same world)", set: setSimSeed},
	{Name: "FIRSTMATE_SIM_LATENCY", Default: "0s", Section: SectionPlatforms,
		Help: "latency the simulator adds to every call, in-process or for firstmate sim", set: setSimLatency},
	{Name: "FIRSTMATE_SIM_ADDR", Default: DefaultSimAddr, Section: SectionPlatforms,
		Help: "listen address of firstmate sim (its --addr wins)", set: str(func(c *Config) *string { return &c.Sim.Addr })},
	{Name: "FIRSTMATE_SIM_EXECUTOR_SECRET", Default: "generated", Section: SectionPlatforms,
		Help: "whsec_ secret of the executor protocol firstmate sim --executor serves (its --executor-secret wins); unset, a new one is made and printed",
		set:  str(func(c *Config) *string { return &c.Sim.ExecutorSecret })},
	{Name: "FIRSTMATE_LINKEDIN_URL", Default: "https://www.linkedin.com", Section: SectionPlatforms,
		Help: "LinkedIn's web origin for the LinkedIn session driver (FIRSTMATE_PLATFORM_LINKEDIN=session, and firstmate probe linkedin, whose --base-url wins); the simulator's URL tries it locally",
		set:  str(func(c *Config) *string { return &c.LinkedIn.URL })},
	{Name: "FIRSTMATE_LINKEDIN_RECIPES", Default: "built-in", Section: SectionPlatforms,
		Help: "a recipes file overriding the LinkedIn session driver's endpoint recipes when LinkedIn moves an endpoint (read at start; firstmate probe linkedin's --recipes wins)",
		set:  str(func(c *Config) *string { return &c.LinkedIn.Recipes })},
	{Name: "FIRSTMATE_HUBSPOT_URL", Default: "https://api.hubapi.com", Section: SectionPlatforms,
		Help: "HubSpot API base; fake starts a bundled in-memory HubSpot (token pat-sandbox-firstmate)",
		set:  str(func(c *Config) *string { return &c.HubSpotURL })},
	{Name: "FIRSTMATE_GOOGLE_PLACES_KEY", Default: "none", Section: SectionPlatforms, Secret: true,
		Help: "Google Places API (New) key of FIRSTMATE_PLATFORM_GOOGLEMAPS=places (never logged or printed)",
		set:  str(func(c *Config) *string { return &c.GooglePlaces.Key })},
	{Name: "FIRSTMATE_GOOGLE_PLACES_URL", Default: "https://places.googleapis.com", Section: SectionPlatforms,
		Help: "Places API base (an egress gateway, or a local fake in tests)", set: str(func(c *Config) *string { return &c.GooglePlaces.URL })},
	{Name: "FIRSTMATE_TRIPADVISOR_KEY", Default: "none", Section: SectionPlatforms, Secret: true,
		Help: "TripAdvisor Content API key of FIRSTMATE_PLATFORM_TRIPADVISOR=contentapi (never logged or printed)",
		set:  str(func(c *Config) *string { return &c.TripAdvisor.Key })},
	{Name: "FIRSTMATE_TRIPADVISOR_URL", Default: "https://api.content.tripadvisor.com/api/v1", Section: SectionPlatforms,
		Help: "Content API base (an egress gateway, or a local fake in tests)", set: str(func(c *Config) *string { return &c.TripAdvisor.URL })},
	{Name: ExecutorSecretsSetting, Default: "none", Section: SectionPlatforms, Secret: true,
		Help: "whsec_ secrets of the remote executors: https://a.internal=whsec_...,https://b.internal=whsec_...; a bare whsec_... applies to every executor without its own",
		set:  setExecutorSecrets},
	{Name: "FIRSTMATE_EXECUTOR_TIMEOUT", Default: "60s", Section: SectionPlatforms,
		Help: "time limit of one request to a remote executor (a live call's own limit may cut it shorter)",
		set:  duration(func(c *Config) *time.Duration { return &c.ExecutorTimeout })},

	{Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Default: "off", Section: SectionTracing,
		Help: "OTLP/HTTP collector base URL (http://collector:4318); set, it turns tracing on: spans go to <URL>/v1/traces",
		set:  setOTLPURL(func(c *Config) *string { return &c.Tracing.Endpoint })},
	{Name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", Default: "off", Section: SectionTracing,
		Help: "the full OTLP/HTTP traces URL; wins over OTEL_EXPORTER_OTLP_ENDPOINT, and turns tracing on too",
		set:  setOTLPURL(func(c *Config) *string { return &c.Tracing.TracesEndpoint })},
	{Name: "OTEL_EXPORTER_OTLP_HEADERS", Default: "none", Section: SectionTracing, Secret: true,
		Help: "headers of every export, key=value,... (URL-encoded values; e.g. a backend's API key; never logged)",
		set:  setOTLPHeaders(func(c *Config) *map[string]string { return &c.Tracing.Headers })},
	{Name: "OTEL_EXPORTER_OTLP_TRACES_HEADERS", Default: "none", Section: SectionTracing, Secret: true,
		Help: "headers of trace exports, over OTEL_EXPORTER_OTLP_HEADERS (never logged)",
		set:  setOTLPHeaders(func(c *Config) *map[string]string { return &c.Tracing.TracesHeaders })},
	{Name: "OTEL_EXPORTER_OTLP_PROTOCOL", Default: "http/protobuf", Section: SectionTracing,
		Help: "only http/protobuf is built in (grpc is refused at start rather than silently not exported)", set: setOTLPProtocol},
	{Name: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", Default: "http/protobuf", Section: SectionTracing,
		Help: "as OTEL_EXPORTER_OTLP_PROTOCOL, for traces", set: setOTLPProtocol},
	{Name: "OTEL_SDK_DISABLED", Default: "false", Section: SectionTracing,
		Help: "true turns tracing off whatever else is set", set: onOff(func(c *Config) *bool { return &c.Tracing.Disabled }, false)},
	{Name: "OTEL_TRACES_EXPORTER", Default: "otlp", Section: SectionTracing,
		Help: "otlp, or none to turn tracing off", set: setTracesExporter},
	{Name: "OTEL_SERVICE_NAME", Default: "firstmate", Section: SectionTracing,
		Help: "service.name of the spans (name each deployment; nodes are told apart by host.name)",
		set:  str(func(c *Config) *string { return &c.Tracing.ServiceName })},
	{Name: "OTEL_RESOURCE_ATTRIBUTES", Default: "none", Section: SectionTracing,
		Help: "more resource attributes, key=value,... (deployment.environment=prod)", set: setResourceAttributes},
	{Name: "OTEL_TRACES_SAMPLER", Default: "parentbased_always_on", Section: SectionTracing,
		Help: "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio",
		set:  setSampler},
	{Name: "OTEL_TRACES_SAMPLER_ARG", Default: "1.0", Section: SectionTracing,
		Help: "the ratio of the traceidratio samplers, from 0 to 1", set: setSamplerArg},
}

// platformVars are the routes, one per family (FIRSTMATE_PLATFORM_<FAMILY>).
func platformVars() []Var {
	choices := map[string]string{
		"linkedin":   "sandbox, session (the built-in LinkedIn session driver), executor:<https URL> or off",
		"googlemaps": "sandbox, places (Google's Places API, FIRSTMATE_GOOGLE_PLACES_KEY), executor:<https URL> or off",
		"tripadvisor": "sandbox, contentapi (TripAdvisor's Content API, FIRSTMATE_TRIPADVISOR_KEY), executor:<https URL> " +
			"or off",
		"hubspot": "hubspot (HubSpot's API at FIRSTMATE_HUBSPOT_URL), sandbox (the bundled fake HubSpot), executor:<https URL> or off",
	}
	var out []Var
	for _, fam := range PlatformFamilies {
		fam := fam
		def, what := "sandbox (off with FIRSTMATE_SIM=off)", "sandbox, executor:<https URL> or off"
		if c, ok := choices[fam]; ok {
			what = c
		}
		switch fam {
		case "hubspot":
			def = "hubspot"
		case "salesnavigator", "recruiterlite":
			def = "sandbox when linkedin is (else off)"
		}
		out = append(out, Var{Name: PlatformSetting(fam), Default: def, Section: SectionPlatforms,
			Help: "what serves the " + fam + " actions: " + what,
			set: func(c *Config, v string) error {
				if c.Platforms == nil {
					c.Platforms = map[string]string{}
				}
				// The keyword is case-insensitive; an executor URL is kept as
				// written (internal/dataplane checks it).
				if kw, rest, ok := strings.Cut(v, ":"); ok && strings.EqualFold(kw, "executor") {
					v = "executor:" + strings.TrimSpace(rest)
				} else {
					v = strings.ToLower(v)
				}
				c.Platforms[fam] = v
				return nil
			}})
		out = append(out, Var{Name: ConcurrencySetting(fam), Default: "none", Section: SectionPlatforms,
			Help: "upstream calls of the " + fam + " actions in flight at once across all nodes (an upstream quota); none: only FIRSTMATE_INFLIGHT bounds them",
			set: func(c *Config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					return errors.New("want a positive integer")
				}
				if c.Concurrency == nil {
					c.Concurrency = map[string]int{}
				}
				c.Concurrency[fam] = n
				return nil
			}})
	}
	return out
}

// ConcurrencySetting bounds a family's calls in flight across nodes.
func ConcurrencySetting(family string) string { return PlatformSetting(family) + "_CONCURRENCY" }

func init() {
	// The routes go first among the platform settings: they are what an
	// operator sets first.
	i := 0
	for i < len(Vars) && Vars[i].Section != SectionPlatforms {
		i++
	}
	Vars = append(Vars[:i], append(platformVars(), Vars[i:]...)...)
}

// setExecutorSecrets reads "URL=whsec_...,URL=whsec_..." and a bare
// "whsec_..." (the key ""). Only the syntax is checked here; the URLs and
// secrets are checked with the routes (internal/dataplane). Messages never
// repeat a secret.
func setExecutorSecrets(c *Config, v string) error {
	out := map[string]string{}
	for i, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.HasPrefix(part, "whsec_") {
			if _, dup := out[""]; dup {
				return errors.New("more than one bare whsec_ secret")
			}
			out[""] = part
			continue
		}
		u, sec, ok := strings.Cut(part, "=")
		u, sec = strings.TrimSpace(u), strings.TrimSpace(sec)
		if !ok || u == "" || sec == "" {
			return fmt.Errorf("item %d: want URL=whsec_... (or a bare whsec_... for every executor)", i+1)
		}
		if _, dup := out[u]; dup {
			return fmt.Errorf("item %d: %s is given two secrets", i+1, u)
		}
		out[u] = sec
	}
	c.ExecutorSecrets = out
	return nil
}

// setOTLPURL takes an http(s) URL.
func setOTLPURL(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("want an http:// or https:// URL such as http://collector:4318")
		}
		*field(c) = v
		return nil
	}
}

// parseKeyValues reads the specification's key=value,... lists (W3C
// baggage syntax without properties: values are URL-encoded).
func parseKeyValues(v string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, errors.New("want key=value pairs separated by commas")
		}
		dec, err := url.PathUnescape(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("the value of %s is not URL-encoded text", k)
		}
		out[k] = dec
	}
	return out, nil
}

// setOTLPHeaders never repeats a value in its errors: headers hold keys.
func setOTLPHeaders(field func(*Config) *map[string]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		m, err := parseKeyValues(v)
		if err != nil {
			return err
		}
		*field(c) = m
		return nil
	}
}

func setResourceAttributes(c *Config, v string) error {
	m, err := parseKeyValues(v)
	if err != nil {
		return err
	}
	c.Tracing.Resource = m
	return nil
}

func setOTLPProtocol(_ *Config, v string) error {
	if v != "http/protobuf" {
		return errors.New("only http/protobuf is built in: point it at the collector's OTLP/HTTP port (4318)")
	}
	return nil
}

func setTracesExporter(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "otlp", "none":
		c.Tracing.Exporter = strings.ToLower(v)
		return nil
	}
	return errors.New("want otlp or none")
}

// TraceSamplers are the OTEL_TRACES_SAMPLER values (internal/tracing builds
// each; its tests check the two lists agree).
var TraceSamplers = []string{"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off",
	"parentbased_traceidratio"}

func setSampler(c *Config, v string) error {
	for _, s := range TraceSamplers {
		if strings.EqualFold(v, s) {
			c.Tracing.Sampler = s
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(TraceSamplers, ", "))
}

func setSamplerArg(c *Config, v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		return errors.New("want a ratio from 0 to 1")
	}
	c.Tracing.SamplerArg = v
	return nil
}

// FromEnv reads the configuration from the process environment.
func FromEnv() (Config, error) { return Load(os.LookupEnv) }

// Load applies every variable of Vars that lookup finds (an empty value is
// unset) over the defaults. A malformed value is an error naming the
// variable; the configuration returned with it keeps the default for that
// variable, or the safe value for a security allowance (a typo never opens
// loopback callbacks).
func Load(lookup func(string) (string, bool)) (Config, error) {
	c := Defaults()
	var errs []error
	for _, v := range Vars {
		raw, ok := lookup(v.Name)
		if !ok || strings.TrimSpace(raw) == "" {
			continue
		}
		if err := v.set(&c, strings.TrimSpace(raw)); err != nil {
			if v.Secret {
				errs = append(errs, fmt.Errorf("config: %s: %w", v.Name, err))
				continue
			}
			errs = append(errs, fmt.Errorf("config: %s=%q: %w", v.Name, raw, err))
		}
	}
	return c, errors.Join(errs...)
}

func str(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

func positive(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errors.New("want a positive integer")
		}
		*field(c) = n
		return nil
	}
}

func duration(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("want a positive duration such as 250ms, 30s or 6h")
		}
		*field(c) = d
		return nil
	}
}

// parseSwitch reads on/off, true/false, yes/no or 1/0.
func parseSwitch(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "true", "yes", "1":
		return true, nil
	case "off", "false", "no", "0":
		return false, nil
	}
	return false, errors.New("want on or off (true or false)")
}

// onOff sets a switch; inverted fields hold "off" (Health.Off, Sim.Off).
func onOff(field func(*Config) *bool, inverted bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		on, err := parseSwitch(v)
		if err != nil {
			return err
		}
		*field(c) = on != inverted
		return nil
	}
}

func setLogLevel(c *Config, v string) error {
	switch strings.ToLower(v) {
	case "debug", "info", "warn", "error":
		c.LogLevel = strings.ToLower(v)
		return nil
	}
	return errors.New("want debug, info, warn or error")
}

// setAllowLoopback fails closed: a value that does not parse (a typo such as
// "flase") leaves loopback refused, as well as being reported.
func setAllowLoopback(c *Config, v string) error {
	on, err := parseSwitch(v)
	c.Callbacks.AllowLoopback = err == nil && on
	return err
}

func setAllowCIDRs(c *Config, v string) error {
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR range such as 10.0.0.0/8", part)
		}
		out = append(out, p)
	}
	c.Callbacks.AllowCIDRs = out
	return nil
}

func setRetrySchedule(c *Config, v string) error {
	s, err := send.ParseSchedule(v)
	if err != nil {
		return err
	}
	if len(s) == 0 {
		return errors.New("want at least one attempt")
	}
	c.Callbacks.RetrySchedule = s
	return nil
}

func setSimSeed(c *Config, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return errors.New("want an integer")
	}
	c.Sim.Seed = n
	return nil
}

func setSimLatency(c *Config, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return errors.New("want a duration such as 0s or 50ms")
	}
	c.Sim.Latency = d
	return nil
}

// Help is the text of `firstmate help config`: every variable with its flag,
// default and meaning, by section.
func Help() string {
	var b strings.Builder
	b.WriteString("Firstmate reads these environment variables; a flag, where there is one, wins.\n")
	for _, sec := range []string{SectionServer, SectionCallbacks, SectionJobs, SectionPlatforms, SectionTracing} {
		fmt.Fprintf(&b, "\n%s:\n", sec)
		for _, v := range Vars {
			if v.Section != sec {
				continue
			}
			name := v.Name
			if v.Flag != "" {
				name += " (" + v.Flag + ")"
			}
			def := ""
			if v.Default != "" {
				def = " [default " + v.Default + "]"
			}
			fmt.Fprintf(&b, "  %s%s\n      %s\n", name, def, v.Help)
		}
	}
	return b.String()
}
