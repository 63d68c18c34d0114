// Package linkedin is the LinkedIn session driver: it runs the core LinkedIn
// actions through the JSON API LinkedIn's own web app uses ("Voyager"),
// authenticated by the member's session cookies (li_at, and JSESSIONID whose
// value is also the CSRF token), through the identity's own egress client.
//
// Every endpoint (method, path, query, decoration ids, GraphQL query ids,
// headers) is a recipe in a data file (recipes/voyager.json, embedded; an
// operator overrides it with LoadRecipes); the mapping of LinkedIn's answers
// onto the actions' output fields is Go. Fields LinkedIn did not return are
// left out, never invented, and an answer whose shape the mapping cannot read
// is an ACTION_BROKEN error naming the recipe and the missing path, never an
// empty success.
//
// The driver is cookies-only: it does not implement platform.Authenticator.
// LinkedIn's programmatic login (/uas/authenticate) answers CHALLENGE to most
// logins from a server (tomquirk/linkedin-api issues 96, 162, 253, 329) and
// its challenges are browser pages (captcha, e-mailed PIN form) the driver
// cannot answer honestly; a user connects with the cookies of a browser
// session instead (and its user agent, see Credentials.UserAgent).
//
// It was built from the public documentation and code of open-source
// LinkedIn clients, and is tested only against the bundled sandbox's
// web-API face (internal/sim), never against linkedin.com.
package linkedin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// DefaultBaseURL is LinkedIn's web origin.
const DefaultBaseURL = "https://www.linkedin.com"

// Config configures a driver.
type Config struct {
	// Recipes are the endpoint recipes; nil uses the embedded ones.
	Recipes *Recipes
	// BaseURL is LinkedIn's web origin (FIRSTMATE_LINKEDIN_URL); "" is
	// https://www.linkedin.com. Point it at the sandbox to try the driver.
	BaseURL string
	// Now is the clock (default time.Now); experiences' durations use it.
	Now func() time.Time
}

// Driver is the LinkedIn session driver.
type Driver struct {
	recipes *Recipes
	base    string
	now     func() time.Time
}

var _ platform.Driver = (*Driver)(nil)

// New builds a driver. A base URL that is not an absolute http(s) URL is an
// error.
func New(cfg Config) (*Driver, error) {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("linkedin: base URL %q must be an absolute http(s) URL without query (e.g. %s)", cfg.BaseURL, DefaultBaseURL)
	}
	r := cfg.Recipes
	if r == nil {
		r = DefaultRecipes()
	} else if err := r.validate(); err != nil {
		return nil, fmt.Errorf("linkedin: invalid recipes: %w", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Driver{recipes: r, base: base, now: now}, nil
}

// Family is the engine's driver key this driver serves.
const Family = "linkedin"

// Actions lists the catalogue slugs this driver runs, sorted. Every other
// LinkedIn action is unavailable under it.
func Actions() []string {
	out := make([]string, 0, len(handlers))
	for k := range handlers {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Supports reports whether the driver runs the action.
func Supports(slug string) bool {
	_, ok := handlers[slug]
	return ok
}

// Me validates the session and detects the account's level.
func (d *Driver) Me(ctx context.Context, hc *http.Client, cred platform.Credentials) (platform.Account, error) {
	s, err := d.newSession(ctx, hc, cred)
	if err != nil {
		return platform.Account{}, err
	}
	me, err := s.me()
	if err != nil {
		return platform.Account{}, err
	}
	level, err := s.level(me)
	if err != nil {
		return platform.Account{}, err
	}
	return platform.Account{Level: level, Name: strings.TrimSpace(me.mini.S("firstName") + " " + me.mini.S("lastName")),
		Permalink: profileURL(me.mini.S("publicIdentifier")), ExternalID: me.plainID}, nil
}

// Run fetches one page of an action.
func (d *Driver) Run(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error) {
	pg, _, err := d.run(ctx, hc, cred, call, false)
	return pg, err
}

// run is Run that also tells which recipes it called. dry runs the reads of
// an outreach action and stops before its writes (the probe without
// --write).
func (d *Driver) run(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call, dry bool) (platform.Page, []string, error) {
	if call.Action == nil {
		return platform.Page{}, nil, apperr.Internal(fmt.Errorf("linkedin: call without an action"))
	}
	h, ok := handlers[call.Action.Slug]
	if !ok {
		return platform.Page{}, nil, apperr.Upstream(platform.LabelIntegration, "the LinkedIn session driver does not run %s", call.Action.Slug)
	}
	s, err := d.newSession(ctx, hc, cred)
	if err != nil {
		return platform.Page{}, nil, err
	}
	c := &callCtx{s: s, call: call, size: call.PageSize, page: max(call.Page, 1), dry: dry}
	if c.size <= 0 {
		c.size = call.Action.PageSize
	}
	if c.size <= 0 {
		c.size = 100
	}
	pg, err := h(c)
	if err != nil {
		return platform.Page{}, s.calls, err
	}
	for i, m := range pg.Results {
		pg.Results[i] = shape(call.Action, m)
	}
	if pg.Results == nil {
		pg.Results = []map[string]any{}
	}
	return pg, s.calls, nil
}

// callCtx carries one call through its handler.
type callCtx struct {
	s          *session
	call       platform.Call
	size, page int
	dry        bool // stop before any write (the probe)
}

func (c *callCtx) in(name string) string {
	v, ok := c.call.Input[name]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return strings.TrimSpace(s)
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

func (c *callCtx) param(name string) any {
	if c.call.Params == nil {
		return nil
	}
	return c.call.Params[name]
}

func (c *callCtx) paramS(name string) string {
	switch v := c.param(name).(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

func (c *callCtx) paramB(name string) (bool, bool) {
	switch v := c.param(name).(type) {
	case bool:
		return v, true
	case string:
		return v == "true", v == "true" || v == "false"
	}
	return false, false
}

// PausesOnRateLimit: LinkedIn restricts accounts that keep calling through
// its rate limits and bot detection, so the engine pauses an account's work
// on the first 429 or 999 (platform.Pacer).
func (d *Driver) PausesOnRateLimit() bool { return true }
