// Package dataplane decides what serves each platform family: the sandbox
// (the bundled simulator), a built-in driver that talks to the real
// platform, a remote executor (internal/executor), or nothing. The operator
// chooses one route per family (FIRSTMATE_PLATFORM_<FAMILY>); the catalogue's
// Action.Platform is the family.
//
// NewPlan checks a configuration and resolves its routes without touching
// the network; New builds the drivers. The engine then asks the Plane which
// driver runs an action (Action) or validates an integration (Integration,
// Authenticator), and the API and `firstmate platforms` ask it why an action
// is unavailable (Describe). Every refusal names the setting to change.
package dataplane

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/config"
	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/platform/hubspot"
	"github.com/firstmate-oss/firstmate/internal/platform/linkedin"
	"github.com/firstmate-oss/firstmate/internal/platform/places"
	"github.com/firstmate-oss/firstmate/internal/platform/tripadvisor"
)

// Kind is what a route is, as the API shows it.
type Kind string

const (
	// KindSandbox is the bundled simulator (or, for HubSpot, the bundled
	// fake HubSpot): no real account is touched.
	KindSandbox Kind = "sandbox"
	// KindBuiltin is a driver built into Firstmate that calls the real
	// platform.
	KindBuiltin Kind = "builtin"
	// KindExecutor is a remote executor: the operator's own automation,
	// reached over the executor protocol.
	KindExecutor Kind = "executor"
	// KindOff: nothing serves the family.
	KindOff Kind = "off"
)

// Route values (FIRSTMATE_PLATFORM_<FAMILY>) and driver names.
const (
	DriverSandbox    = "sandbox"
	DriverSession    = "session"    // linkedin: the LinkedIn session driver
	DriverPlaces     = "places"     // googlemaps: Google's Places API (New)
	DriverContentAPI = "contentapi" // tripadvisor: TripAdvisor's Content API
	DriverHubSpot    = "hubspot"    // hubspot: HubSpot's CRM API
	DriverExecutor   = "executor"   // executor:<URL>
	DriverOff        = "off"
)

// builtins are the built-in drivers each family may use besides the
// sandbox, executors and off. The TripAdvisor driver is named after the API
// it calls (contentapi), as the Google Maps one is (places): "tripadvisor"
// would not say which of TripAdvisor's APIs, nor that it is not the sandbox.
var builtins = map[string][]string{
	"linkedin":    {DriverSession},
	"googlemaps":  {DriverPlaces},
	"tripadvisor": {DriverContentAPI},
	"hubspot":     {DriverHubSpot},
}

// sandboxFamilies are served by the bundled simulator.
var sandboxFamilies = []string{"linkedin", "salesnavigator", "recruiterlite", "googlemaps", "tripadvisor", "thefork"}

// linkedinFamilies share their accounts: an integration of one serves the
// actions of the others.
var linkedinFamilies = []string{"linkedin", "salesnavigator", "recruiterlite"}

// Families are the platform families, in the order they are listed.
func Families() []string { return slices.Clone(config.PlatformFamilies) }

// Setting is the variable that routes a family.
func Setting(family string) string { return config.PlatformSetting(family) }

// choices says what serves a family, for messages: "sandbox, session or
// executor:<https URL>".
func choices(family string) string {
	var c []string
	if family == "hubspot" {
		c = append(c, DriverHubSpot, DriverSandbox)
	} else {
		c = append(c, DriverSandbox)
		c = append(c, builtins[family]...)
	}
	return strings.Join(c, ", ") + " or executor:<https URL>"
}

// Route is how one family is served.
type Route struct {
	Family string `json:"family"`
	Kind   Kind   `json:"kind"`
	// Driver is the route's value: sandbox, a built-in driver's name,
	// executor or off.
	Driver string `json:"driver"`
	// URL is the executor's base URL, or the API base of a built-in driver
	// (operators only: `firstmate platforms`; the API never shows it).
	URL string `json:"url,omitempty"`
	// Setting is the variable that chose it; Default says the operator
	// left it unset.
	Setting string `json:"setting"`
	Default bool   `json:"default"`
}

// Plan is a configuration's routing, checked.
type Plan struct {
	cfg      config.Config
	routes   map[string]Route
	secrets  map[string]string // by normalized executor URL; "" the bare one
	recipes  *linkedin.Recipes
	warnings []string
}

// NewPlan checks the routing of cfg. A value no family accepts, a route to
// the sandbox without a simulator, places or contentapi without its key, an
// executor without a secret, over plain http off loopback, and a malformed
// LinkedIn recipes file are errors that name the setting to fix. Warnings
// are things that work but are probably not what the operator meant.
func NewPlan(cfg config.Config) (*Plan, error) {
	p := &Plan{cfg: cfg, routes: map[string]Route{}}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if err := p.readSecrets(); err != nil {
		fail("%v", err)
	}
	sandbox := !cfg.Sim.Off || cfg.Sim.URL != ""
	// linkedin first: the default of its two sibling families follows it.
	for _, fam := range Families() {
		r := Route{Family: fam, Setting: Setting(fam)}
		raw := strings.TrimSpace(cfg.Platforms[fam])
		if raw == "" {
			r.Default = true
			switch {
			case fam == "hubspot":
				raw = DriverHubSpot
			case fam == "salesnavigator" || fam == "recruiterlite":
				raw = DriverOff
				if p.routes["linkedin"].Kind == KindSandbox {
					raw = DriverSandbox
				} else if p.routes["linkedin"].Kind != KindOff {
					p.warn("%s is off: LinkedIn accounts are shared by linkedin, salesnavigator and recruiterlite, and "+
						"%s does not route linkedin to the sandbox; set %s to serve %s actions", Setting(fam), Setting("linkedin"),
						Setting(fam), fam)
				}
			case sandbox:
				raw = DriverSandbox
			default:
				raw = DriverOff
			}
		}
		if err := p.resolve(&r, raw, sandbox); err != nil {
			fail("%v", err)
			continue
		}
		p.routes[fam] = r
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("platform routing: %s", strings.Join(errs, "; "))
	}
	p.checkMixes()
	return p, nil
}

func (p *Plan) warn(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

// Warnings are the plan's doubtful settings, for the start log.
func (p *Plan) Warnings() []string { return slices.Clone(p.warnings) }

func (p *Plan) resolve(r *Route, raw string, sandbox bool) error {
	fam, setting := r.Family, r.Setting
	if rest, ok := strings.CutPrefix(raw, "executor:"); ok {
		return p.resolveExecutor(r, strings.TrimSpace(rest))
	}
	switch {
	case raw == DriverOff:
		r.Kind, r.Driver = KindOff, DriverOff
		return nil
	case raw == DriverSandbox && fam == "hubspot":
		r.Kind, r.Driver = KindSandbox, DriverSandbox
		return nil
	case raw == DriverSandbox && slices.Contains(sandboxFamilies, fam):
		if !sandbox {
			return fmt.Errorf("%s=sandbox needs the bundled simulator, but FIRSTMATE_SIM is off and FIRSTMATE_SIM_URL is not set: "+
				"turn the simulator on, point FIRSTMATE_SIM_URL at one, or route %s elsewhere (%s)", setting, fam, choices(fam))
		}
		r.Kind, r.Driver, r.URL = KindSandbox, DriverSandbox, p.cfg.Sim.URL
		return nil
	case raw == "executor":
		return fmt.Errorf("%s=executor needs the executor's URL: executor:https://executor.internal", setting)
	case !slices.Contains(builtins[fam], raw):
		return fmt.Errorf("%s=%q: %s takes %s, or off", setting, raw, fam, choices(fam))
	}
	r.Kind, r.Driver = KindBuiltin, raw
	switch raw {
	case DriverSession:
		recipes, err := linkedin.LoadRecipes(p.cfg.LinkedIn.Recipes)
		if err != nil {
			return fmt.Errorf("%s=session: FIRSTMATE_LINKEDIN_RECIPES: %v", setting, err)
		}
		if _, err := linkedin.New(linkedin.Config{Recipes: recipes, BaseURL: p.cfg.LinkedIn.URL}); err != nil {
			return fmt.Errorf("%s=session: FIRSTMATE_LINKEDIN_URL: %v", setting, err)
		}
		p.recipes = recipes
		r.URL = orDefault(p.cfg.LinkedIn.URL, linkedin.DefaultBaseURL)
	case DriverPlaces:
		if strings.TrimSpace(p.cfg.GooglePlaces.Key) == "" {
			return fmt.Errorf("%s=places needs the Google Places API key: set %s", setting, places.KeySetting)
		}
		r.URL = orDefault(p.cfg.GooglePlaces.URL, places.DefaultURL)
		if err := checkBase(r.URL); err != nil {
			return fmt.Errorf("FIRSTMATE_GOOGLE_PLACES_URL: %v", err)
		}
	case DriverContentAPI:
		if strings.TrimSpace(p.cfg.TripAdvisor.Key) == "" {
			return fmt.Errorf("%s=contentapi needs the TripAdvisor Content API key: set %s", setting, tripadvisor.KeySetting)
		}
		r.URL = orDefault(p.cfg.TripAdvisor.URL, tripadvisor.DefaultURL)
		if err := checkBase(r.URL); err != nil {
			return fmt.Errorf("FIRSTMATE_TRIPADVISOR_URL: %v", err)
		}
	case DriverHubSpot:
		u := strings.TrimSpace(p.cfg.HubSpotURL)
		if u == "fake" {
			// FIRSTMATE_HUBSPOT_URL=fake: the bundled fake HubSpot, which
			// is the sandbox whatever the route's name.
			r.Kind, r.Driver = KindSandbox, DriverSandbox
			return nil
		}
		r.URL = orDefault(u, hubspot.DefaultURL)
		if err := checkBase(r.URL); err != nil {
			return fmt.Errorf("FIRSTMATE_HUBSPOT_URL: %v", err)
		}
	}
	return nil
}

func (p *Plan) resolveExecutor(r *Route, raw string) error {
	setting := r.Setting
	if raw == "" {
		return fmt.Errorf("%s=executor: needs the executor's URL: executor:https://executor.internal", setting)
	}
	norm, err := normalizeURL(raw)
	if err != nil {
		return fmt.Errorf("%s: %v", setting, err)
	}
	secret, ok := p.secrets[norm]
	if !ok {
		secret, ok = p.secrets[""]
	}
	// The URL's rules (https off loopback, no credentials, no query) are
	// executor.New's: asked with a throwaway secret, it judges the URL alone.
	if _, err := executor.New(norm, executor.NewSecret(), nil, 0); err != nil {
		return fmt.Errorf("%s: %v", setting, err)
	}
	if !ok {
		return fmt.Errorf("%s routes %s to the executor at %s, but %s holds no secret for it: add %s=whsec_... (the secret the executor verifies requests with)",
			setting, r.Family, norm, config.ExecutorSecretsSetting, norm)
	}
	if err := executor.CheckSecret(secret); err != nil {
		return fmt.Errorf("%s: the secret of %s: %v", config.ExecutorSecretsSetting, norm, err)
	}
	r.Kind, r.Driver, r.URL = KindExecutor, DriverExecutor, norm
	return nil
}

// readSecrets normalizes FIRSTMATE_EXECUTOR_SECRETS' URLs and warns of
// secrets no route uses (a typo in a URL would otherwise only show as a
// missing secret).
func (p *Plan) readSecrets() error {
	p.secrets = map[string]string{}
	for u, s := range p.cfg.ExecutorSecrets {
		if u == "" {
			p.secrets[""] = s
			continue
		}
		norm, err := normalizeURL(u)
		if err != nil {
			return fmt.Errorf("%s: %v", config.ExecutorSecretsSetting, err)
		}
		p.secrets[norm] = s
	}
	return nil
}

// checkMixes warns of routes that work but are probably not meant.
func (p *Plan) checkMixes() {
	used := map[string]bool{}
	for _, r := range p.routes {
		if r.Kind == KindExecutor {
			used[r.URL] = true
		}
	}
	for u := range p.secrets {
		if u != "" && !used[u] {
			p.warn("%s holds a secret for %s, which no FIRSTMATE_PLATFORM_* setting routes to", config.ExecutorSecretsSetting, u)
		}
	}
	li := p.routes["linkedin"]
	for _, fam := range linkedinFamilies[1:] {
		r := p.routes[fam]
		if r.Default || r.Kind == KindOff || li.Kind == KindOff {
			continue
		}
		if (r.Kind == KindSandbox) != (li.Kind == KindSandbox) {
			p.warn("%s and %s mix the sandbox with a real driver: LinkedIn accounts are shared by both families, and an account "+
				"one accepts the other refuses (and marks INVALID)", Setting("linkedin"), Setting(fam))
		}
	}
	if p.routes["googlemaps"].Kind == KindSandbox && strings.TrimSpace(p.cfg.GooglePlaces.Key) != "" {
		p.warn("%s is set but %s is the sandbox: set it to places to use Google's API", places.KeySetting, Setting("googlemaps"))
	}
	if p.routes["tripadvisor"].Kind == KindSandbox && strings.TrimSpace(p.cfg.TripAdvisor.Key) != "" {
		p.warn("%s is set but %s is the sandbox: set it to contentapi to use TripAdvisor's API", tripadvisor.KeySetting, Setting("tripadvisor"))
	}
}

// Routes are the families' routes, in Families order.
func (p *Plan) Routes() []Route {
	out := make([]Route, 0, len(p.routes))
	for _, fam := range Families() {
		out = append(out, p.routes[fam])
	}
	return out
}

// Route is one family's route.
func (p *Plan) Route(family string) Route { return p.routes[family] }

// NeedsSimulator says whether a family is routed to the bundled simulator.
func (p *Plan) NeedsSimulator() bool {
	for _, fam := range sandboxFamilies {
		if p.routes[fam].Kind == KindSandbox {
			return true
		}
	}
	return false
}

// normalizeURL makes the form executor URLs are compared in: lower-case
// scheme and host, no trailing slash.
func normalizeURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%q is not an executor URL such as https://executor.internal", redact(raw))
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	return u.String(), nil
}

// redact hides a URL's user information, should one be given by mistake.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	return raw
}

// checkBase accepts an absolute http(s) URL.
func checkBase(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an absolute http(s) URL", redact(raw))
	}
	return nil
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}

// hostOf is an executor URL's host, the part messages to API clients name
// (as the executor client's own errors do).
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}
