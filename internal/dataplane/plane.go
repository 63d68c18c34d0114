package dataplane

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/hubspot"
	"github.com/firstmate-oss/firstmate/internal/platform/linkedin"
	"github.com/firstmate-oss/firstmate/internal/platform/places"
	"github.com/firstmate-oss/firstmate/internal/platform/simdriver"
	"github.com/firstmate-oss/firstmate/internal/platform/tripadvisor"
)

// Error labels and params of routing refusals (HTTP 424, scope config).
const (
	// LabelActionUnavailable: no driver on this server runs the action.
	LabelActionUnavailable = "ACTION_UNAVAILABLE"
	// LabelPlatformUnavailable: no driver on this server validates the
	// integration's accounts (it becomes INVALID with this error).
	LabelPlatformUnavailable = "PLATFORM_UNAVAILABLE"
	// ParamSetting names the setting the operator changes.
	ParamSetting = "setting"
	// ParamReason says why, as a code (the Reason* constants).
	ParamReason = "reason"
)

// Why an action is unavailable.
const (
	ReasonFamilyOff          = "family_off"            // its family's route is off
	ReasonDriverLacksAction  = "driver_lacks_action"   // the built-in driver does not run it
	ReasonExecutorLacks      = "executor_lacks_action" // the executor's capabilities do not list it
	ReasonExecutorNotReached = "executor_not_reached"  // the executor's capabilities are not known yet
)

// Deps are what the plane needs from its host.
type Deps struct {
	// SimulatorURL returns the URL of the bundled simulator, starting it if
	// need be. It is called once, when a family is routed to the sandbox.
	// Nil builds no sandbox driver: the plane can then only describe routes
	// (`firstmate platforms`).
	SimulatorURL func() (string, error)
	// FakeHubSpotURL returns the bundled fake HubSpot's URL, starting it if
	// need be (HubSpot routed to the sandbox). Nil: as SimulatorURL.
	FakeHubSpotURL func() string
	// ExecutorHTTP carries the executor hop (nil: executor.NewHTTPClient()).
	ExecutorHTTP *http.Client
	Log          *slog.Logger
	// Refresh is how often known executor capabilities are asked again (0:
	// DefaultRefresh); until first known they are asked sooner.
	Refresh time.Duration
	// ObserveCall, when set, is told of every driver call an action makes
	// (Action's driver): the platform family, the outcome's label ("OK"
	// or the error label) and how long it took (metrics, tracing).
	ObserveCall func(family, label string, took time.Duration)
	// Tracer, when set, makes a span of every driver call an action makes
	// (nil: tracing is off).
	Tracer trace.Tracer
}

// DefaultRefresh is how often an executor's capabilities are refreshed.
const DefaultRefresh = time.Minute

// Plane holds each family's driver.
type Plane struct {
	plan    *Plan
	log     *slog.Logger
	routes  map[string]*route
	execs   []*execState
	refresh time.Duration
	observe func(family, label string, took time.Duration)
	tracer  trace.Tracer

	stopOnce sync.Once
	stop     chan struct{}
	wg       sync.WaitGroup
}

// route is a family's route with its driver.
type route struct {
	Route
	driver platform.Driver // sandbox and built-in drivers
	// serves says which of the family's actions a built-in driver runs
	// (nil: all of them).
	serves func(slug string) bool
	// name is the driver's name as the API shows it.
	name  string
	notes map[string]string
	exec  *execState // executor routes (driver is its client)
}

// New builds the drivers of a plan.
func New(p *Plan, deps Deps) (*Plane, error) {
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	pl := &Plane{plan: p, log: log, routes: map[string]*route{}, refresh: deps.Refresh, stop: make(chan struct{}),
		observe: deps.ObserveCall, tracer: deps.Tracer}
	if pl.refresh <= 0 {
		pl.refresh = DefaultRefresh
	}
	hc := deps.ExecutorHTTP
	if hc == nil {
		hc = executor.NewHTTPClient()
	}
	var sim *simdriver.Driver
	simDriver := func() (*simdriver.Driver, error) {
		if sim != nil || deps.SimulatorURL == nil {
			return sim, nil
		}
		u, err := deps.SimulatorURL()
		if err != nil {
			return nil, err
		}
		sim = simdriver.New(u)
		return sim, nil
	}
	execs := map[string]*execState{}
	cfg := p.cfg
	for _, r := range p.Routes() {
		rt := &route{Route: r, name: r.Driver}
		switch {
		case r.Kind == KindSandbox && r.Family == "hubspot":
			if deps.FakeHubSpotURL != nil {
				rt.driver = hubspot.New(deps.FakeHubSpotURL())
			}
		case r.Kind == KindSandbox:
			d, err := simDriver()
			if err != nil {
				return nil, fmt.Errorf("the sandbox (%s=sandbox): %w", r.Setting, err)
			}
			if d != nil {
				rt.driver = d
			}
		case r.Driver == DriverSession:
			d, err := linkedin.New(linkedin.Config{Recipes: p.recipes, BaseURL: cfg.LinkedIn.URL})
			if err != nil {
				return nil, fmt.Errorf("%s=session: %w", r.Setting, err)
			}
			rt.driver, rt.serves = d, linkedin.Supports
		case r.Driver == DriverPlaces:
			d := places.New(places.Config{Key: cfg.GooglePlaces.Key, BaseURL: cfg.GooglePlaces.URL})
			rt.driver, rt.notes = d, d.Notes()
			rt.serves = func(slug string) bool { _, ok := rt.notes[slug]; return ok }
		case r.Driver == DriverContentAPI:
			d := tripadvisor.New(tripadvisor.Config{Key: cfg.TripAdvisor.Key, BaseURL: cfg.TripAdvisor.URL})
			rt.driver, rt.notes = d, d.Notes()
			rt.serves = func(slug string) bool { _, ok := rt.notes[slug]; return ok }
		case r.Driver == DriverHubSpot:
			rt.driver = hubspot.New(r.URL)
		case r.Kind == KindExecutor:
			x := execs[r.URL]
			if x == nil {
				secret, ok := p.secrets[r.URL]
				if !ok {
					secret = p.secrets[""]
				}
				c, err := executor.New(r.URL, secret, hc, cfg.ExecutorTimeout)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", r.Setting, err)
				}
				x = &execState{base: r.URL, client: c}
				execs[r.URL] = x
				pl.execs = append(pl.execs, x)
			}
			x.families = append(x.families, r.Family)
			rt.exec, rt.driver = x, x.client.ForFamily(r.Family)
		}
		pl.routes[r.Family] = rt
	}
	return pl, nil
}

// Plan is the routing the plane was built from.
func (pl *Plane) Plan() *Plan { return pl.plan }

// Routes are the families' routes, in Families order.
func (pl *Plane) Routes() []Route { return pl.plan.Routes() }

// Route is one family's route.
func (pl *Plane) Route(family string) Route { return pl.plan.Route(family) }

// Wrap replaces the family's driver with wrap(driver), called once now:
// tests use it to observe or gate calls. Call it before the plane serves.
func (pl *Plane) Wrap(family string, wrap func(platform.Driver) platform.Driver) {
	if rt := pl.routes[family]; rt != nil && rt.driver != nil {
		rt.driver = wrap(rt.driver)
	}
}

// builtinTitle names the built-in drivers in messages.
var builtinTitle = map[string]string{DriverSession: "LinkedIn session", DriverPlaces: "Google Places API",
	DriverContentAPI: "TripAdvisor Content API", DriverHubSpot: "HubSpot API"}

// DriverInfo is the driver that serves an action, as the API shows it.
type DriverInfo struct {
	Kind Kind `json:"kind"`
	// Name is the built-in driver's name (session, places, contentapi,
	// hubspot), "sandbox", or the name an executor gives itself in its
	// capabilities ("executor" until they are known).
	Name string `json:"name"`
}

// Availability says whether an action can run here, and how.
type Availability struct {
	Slug      string `json:"slug"`
	Family    string `json:"family"`
	Available bool   `json:"available"`
	// Reason says why not, naming the setting to change; Code is one of the
	// Reason* constants.
	Reason  string `json:"unavailable_reason,omitempty"`
	Code    string `json:"-"`
	Setting string `json:"setting"`
	// Driver is the route's driver (nil when the family is off).
	Driver *DriverInfo `json:"driver"`
	// Limitations are what the driver documents it gives less of than the
	// reference (the official-API drivers' notes).
	Limitations string `json:"limitations,omitempty"`
}

// Describe says whether the action can run and what serves it.
func (pl *Plane) Describe(a *catalog.Action) Availability {
	av := Availability{Slug: a.Slug, Family: a.Platform, Setting: Setting(a.Platform)}
	rt := pl.routes[a.Platform]
	if rt == nil || rt.Kind == KindOff {
		av.Code = ReasonFamilyOff
		av.Reason = fmt.Sprintf("no driver serves the %s actions on this server: %s is off; the operator sets it to %s",
			a.Platform, av.Setting, choices(a.Platform))
		return av
	}
	av.Driver = &DriverInfo{Kind: rt.Kind, Name: rt.name}
	av.Limitations = rt.notes[a.Slug]
	switch {
	case rt.Kind == KindExecutor:
		caps, known, lastErr := rt.exec.state()
		if caps != nil && caps.Executor != "" {
			av.Driver.Name = caps.Executor
		}
		switch {
		case !known:
			av.Code = ReasonExecutorNotReached
			av.Reason = fmt.Sprintf("the executor at %s (%s) has not been reached yet: %s; Firstmate asks it for its capabilities at start "+
				"and every few seconds until it answers", hostOf(rt.URL), av.Setting, notReachedWhy(lastErr))
			if fault(lastErr) == "signature" {
				av.Setting = config.ExecutorSecretsSetting
				av.Reason += "; the operator gives it the executor's secret in " + av.Setting
			}
		case !caps.Serves(a.Slug):
			av.Code = ReasonExecutorLacks
			av.Reason = fmt.Sprintf("the executor at %s (%s) does not serve %s: its capabilities do not list it; the operator adds "+
				"it to the executor, or routes %s elsewhere (%s)", hostOf(rt.URL), av.Setting, a.Slug, a.Platform, choices(a.Platform))
		default:
			av.Available = true
		}
	case rt.serves != nil && !rt.serves(a.Slug):
		av.Code = ReasonDriverLacksAction
		av.Reason = fmt.Sprintf("the %s driver (%s=%s) does not run %s; the operator routes %s to the sandbox or to an executor "+
			"(executor:<https URL>) to serve it", builtinTitle[rt.Driver], av.Setting, rt.Driver, a.Slug, a.Platform)
	default:
		av.Available = true
	}
	return av
}

func notReachedWhy(err error) string {
	if err == nil {
		return "no answer yet"
	}
	if e, ok := apperr.As(err); ok {
		return e.Message
	}
	return err.Error()
}

func fault(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Params[executor.ParamExecutorFault]
	}
	return ""
}

// Error is the refusal of an unavailable action: 424 ACTION_UNAVAILABLE,
// scope config, with params.setting and params.reason.
func (av Availability) Error() *apperr.Error {
	return apperr.Config(424, LabelActionUnavailable, "%s is unavailable: %s", av.Slug, av.Reason).
		With(ParamSetting, av.Setting).With(ParamReason, av.Code)
}

// Unavailable is nil when the action can run, else its refusal.
func (pl *Plane) Unavailable(a *catalog.Action) error {
	if av := pl.Describe(a); !av.Available {
		return av.Error()
	}
	return nil
}

// NotReached reports a refusal because an executor has not been reached
// yet: async work waits for it rather than blocking.
func NotReached(err error) bool {
	e, ok := apperr.As(err)
	return ok && e.Label == LabelActionUnavailable && e.Params[ParamReason] == ReasonExecutorNotReached
}

// Action returns the driver that runs a, or the refusal (424
// ACTION_UNAVAILABLE) that says why none does.
func (pl *Plane) Action(a *catalog.Action) (platform.Driver, error) {
	av := pl.Describe(a)
	if !av.Available {
		return nil, av.Error()
	}
	rt := pl.routes[a.Platform]
	if rt.driver == nil {
		return nil, apperr.Internal(fmt.Errorf("dataplane: %s routed to %s without a driver", rt.Family, rt.Driver))
	}
	if pl.observe == nil && pl.tracer == nil {
		return rt.driver, nil
	}
	return observe(rt.driver, rt.Family, pl.observe, pl.tracer), nil
}

// integrationRoute is the route that validates an integration's accounts:
// its own family's, or, for a Sales Navigator or Recruiter Lite integration
// whose family is off, LinkedIn's (the account is a LinkedIn account, and
// it also serves linkedin actions).
func (pl *Plane) integrationRoute(integration string) (*route, string, error) {
	rt := pl.routes[integration]
	fam := integration
	if (rt == nil || rt.Kind == KindOff) && slices.Contains(linkedinFamilies, integration) {
		if li := pl.routes["linkedin"]; li != nil && li.Kind != KindOff {
			rt, fam = li, "linkedin"
		}
	}
	if rt == nil || rt.Kind == KindOff {
		setting := Setting(integration)
		return nil, "", apperr.Config(424, LabelPlatformUnavailable,
			"no driver validates %s accounts on this server: %s is off; the operator sets it to %s, then the account is connected again",
			integration, setting, choices(integration)).With(ParamSetting, setting)
	}
	return rt, fam, nil
}

// Integration returns the driver that validates an integration's
// credentials (Me), or the refusal (424 PLATFORM_UNAVAILABLE) that says why
// none does. An executor whose capabilities are not known yet is asked
// anyway: if it cannot answer, the connection waits (PENDING) and is
// verified again.
func (pl *Plane) Integration(integration string) (platform.Driver, error) {
	rt, fam, err := pl.integrationRoute(integration)
	if err != nil {
		return nil, err
	}
	if rt.driver == nil {
		return nil, apperr.Internal(fmt.Errorf("dataplane: %s routed to %s without a driver", rt.Family, rt.Driver))
	}
	if rt.Kind == KindExecutor {
		if caps, known, _ := rt.exec.state(); known {
			if f, ok := caps.Family(fam); !ok || !f.Accounts {
				return nil, apperr.Config(424, LabelPlatformUnavailable,
					"the executor at %s (%s) does not validate %s accounts: its capabilities do not say accounts: true for %s",
					hostOf(rt.URL), rt.Setting, integration, fam).With(ParamSetting, rt.Setting)
			}
		}
	}
	return rt.driver, nil
}

// ErrNoLogin refuses a username/password connection on a platform whose
// driver only takes cookies.
var ErrNoLogin = apperr.Upstream(platform.LabelIntegration, "this platform cannot be connected with a username and a password on this server; use cookies")

// Authenticator returns what logs in to an integration's platform with a
// username and a password: the refusal of Integration, or ErrNoLogin.
func (pl *Plane) Authenticator(integration string) (platform.Authenticator, error) {
	d, err := pl.Integration(integration)
	if err != nil {
		return nil, err
	}
	rt, fam, _ := pl.integrationRoute(integration)
	if rt.Kind == KindExecutor {
		if caps, known, _ := rt.exec.state(); known {
			if f, _ := caps.Family(fam); !f.Login {
				return nil, ErrNoLogin
			}
		}
	}
	a, ok := d.(platform.Authenticator)
	if !ok {
		return nil, ErrNoLogin
	}
	return a, nil
}

// Banner says, in a few lines for the start banner, which families are
// real, which are the sandbox and which are off.
func (pl *Plane) Banner() string {
	var real, sandbox, off []string
	for _, r := range pl.Routes() {
		switch r.Kind {
		case KindSandbox:
			sandbox = append(sandbox, r.Family)
		case KindOff:
			off = append(off, r.Family)
		case KindExecutor:
			real = append(real, fmt.Sprintf("%s (executor %s)", r.Family, r.URL))
		default:
			real = append(real, fmt.Sprintf("%s (%s, %s)", r.Family, r.Driver, r.URL))
		}
	}
	var b strings.Builder
	b.WriteString("Platforms (firstmate platforms lists every action):\n")
	line := func(what string, fams []string, note string) {
		if len(fams) > 0 {
			fmt.Fprintf(&b, "  %-8s %s%s\n", what, strings.Join(fams, ", "), note)
		}
	}
	line("real:", real, "")
	line("sandbox:", sandbox, " (simulated: no real account is touched)")
	line("off:", off, " (their actions answer 424 ACTION_UNAVAILABLE; set FIRSTMATE_PLATFORM_<FAMILY>)")
	return b.String()
}
