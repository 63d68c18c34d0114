// Package simexec serves the executor protocol over the bundled simulator
// (`firstmate sim --executor`): the sandbox as a remote executor, so that
// any family can be routed through the protocol in tests, and so that the
// conformance kit has a reference executor to pass against. Its
// capabilities carry a conformance section: the sandbox accounts and the
// inputs that produce each error label (see internal/sim/ACCOUNTS.md).
package simexec

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/executor"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/simdriver"
)

// Families are the sandbox families the simulator serves.
var Families = []string{"linkedin", "salesnavigator", "recruiterlite", "googlemaps", "tripadvisor", "thefork"}

func accounts(family string) bool { return platform.Family(family) == platform.FamilyLinkedIn }

// Capabilities lists every catalogue action of the sandbox families.
func Capabilities() executor.Capabilities {
	c := executor.Capabilities{Protocol: executor.Version, Executor: "firstmate-sim"}
	for _, f := range Families {
		c.Families = append(c.Families, executor.Family{Name: f, Actions: executor.ActionsOf(f),
			Accounts: accounts(f), Login: accounts(f)})
	}
	return c
}

// Handler serves the protocol over the simulator at simURL.
func Handler(simURL, secret string, opts ...executor.HandlerOption) (http.Handler, error) {
	d := simdriver.New(simURL)
	opts = append([]executor.HandlerOption{executor.WithConformance(Conformance(d))}, opts...)
	return executor.Handler(d, d, Capabilities(), secret, opts...)
}

// Conformance returns what the sandbox's capabilities say to the
// conformance kit, computed once through d (the samples need ids of the
// sandbox account's own conversations and connections).
func Conformance(d *simdriver.Driver) func(context.Context) *executor.Conformance {
	return (&discovery{d: d}).conformance
}

// Mount serves the protocol under /v1/ next to the simulator's own routes
// (which never start with /v1/), simURL being the simulator's own address.
func Mount(sim http.Handler, simURL, secret string, opts ...executor.HandlerOption) (http.Handler, error) {
	exec, err := Handler(simURL, secret, opts...)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			exec.ServeHTTP(w, r)
			return
		}
		sim.ServeHTTP(w, r)
	}), nil
}

// Sandbox accounts (internal/sim/ACCOUNTS.md).
const (
	cookieSalesNav   = "sim_managed_1" // Sales Navigator, no hidden thresholds
	cookieRecruiter  = "sim_managed_recruiter"
	cookiePremium    = "sim_premium"
	cookieRestricted = "sim_restricted" // restricted past 10 profile visits a day
	cookieFlaky      = "sim_flaky"      // every sixth call answers 503
	cookieHang       = "sim_hang"
)

func cookie(c string) *executor.Credentials {
	return &executor.Credentials{AuthType: platform.AuthCookies, Cookies: map[string]string{"li_at": c}}
}

func basic(user string) *executor.Credentials {
	return &executor.Credentials{AuthType: platform.AuthBasic, Username: user, Password: "sandbox"}
}

// discovery builds the conformance section once: the samples that need ids
// of the sandbox account's own world (its conversations, its connections)
// are read through the driver.
type discovery struct {
	d    *simdriver.Driver
	mu   sync.Mutex
	conf *executor.Conformance
}

func (x *discovery) conformance(ctx context.Context) *executor.Conformance {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.conf != nil {
		return x.conf
	}
	c := staticConformance()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if s, err := x.samples(ctx); err == nil {
		c.Samples = s
		x.conf = c // discovered once; a failure is retried on the next request
	}
	return c
}

func (x *discovery) first(ctx context.Context, slug string, input map[string]any, field string, n int) ([]string, error) {
	a := mustAction(slug)
	pg, err := x.d.Run(ctx, nil, platform.Credentials{AuthType: platform.AuthCookies, Cookies: map[string]string{"li_at": cookieSalesNav}},
		platform.Call{Action: a, Input: input, Params: map[string]any{}, Page: 1})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range pg.Results {
		if s, _ := r[field].(string); s != "" {
			out = append(out, s)
		}
		if len(out) == n {
			break
		}
	}
	if len(out) < n {
		return nil, fmt.Errorf("simexec: %s gave %d %s, want %d", slug, len(out), field, n)
	}
	return out, nil
}

func (x *discovery) samples(ctx context.Context) ([]executor.Case, error) {
	threads, err := x.first(ctx, "linkedin-extract-conversations", map[string]any{}, "linkedin_thread_id", 3)
	if err != nil {
		return nil, err
	}
	conns, err := x.first(ctx, "linkedin-extract-connections", map[string]any{}, "linkedin_profile_url", 2)
	if err != nil {
		return nil, err
	}
	events, err := x.first(ctx, "linkedin-search-events",
		map[string]any{"linkedin_event_search_url": "https://www.linkedin.com/search/results/events/?keywords=summit"}, "linkedin_event_url", 1)
	if err != nil {
		return nil, err
	}
	threadURL := "https://www.linkedin.com/messaging/thread/" + threads[0] + "/"
	return []executor.Case{
		{Action: "linkedin-extract-messages", Input: map[string]any{"linkedin_thread_url": threadURL}},
		{Action: "linkedin-extract-messages-legacy", Input: map[string]any{"linkedin_thread_url": threadURL}},
		{Action: "linkedin-archive-message", Input: map[string]any{"linkedin_thread_id": threads[1]}},
		{Action: "linkedin-mark-message-as-read", Input: map[string]any{"linkedin_thread_id": threads[2]}},
		{Action: "linkedin-message-profile", Input: map[string]any{"linkedin_profile_url": conns[0]},
			Parameters: map[string]any{"message": "Hello from the conformance kit"}},
		{Action: "linkedin-invite-event", Input: map[string]any{"linkedin_event_url": events[0], "linkedin_profile_url": conns[1]}},
	}, nil
}

const (
	profileURL = "https://www.linkedin.com/in/jane-doe/"
	placeURL   = "https://www.google.com/maps/place/"
)

// staticConformance is the part that needs no discovery: the accounts, the
// error triggers (sandbox test keys and accounts), the slow request and a
// login with a checkpoint.
func staticConformance() *executor.Conformance {
	sn := cookie(cookieSalesNav)
	return &executor.Conformance{
		Credentials: map[string]executor.Credentials{
			"linkedin": *sn, "salesnavigator": *sn, "recruiterlite": *cookie(cookieRecruiter),
		},
		Errors: []executor.Case{
			{Endpoint: "me", Family: "linkedin", Credentials: cookie("sim_no_such_session"), Expect: platform.LabelNotConnected},
			{Action: "linkedin-visit-profile", Input: map[string]any{"linkedin_profile_url": profileURL},
				Credentials: cookie(cookieRestricted), Expect: platform.Label403, Attempts: 12},
			{Action: "linkedin-extract-people", Input: map[string]any{"linkedin_profile_url": "https://www.linkedin.com/in/missing-person/"},
				Expect: platform.Label404},
			{Action: "googlemaps-extract-place", Input: map[string]any{"google_maps_place_url": placeURL + "error-429-cafe/"},
				Expect: platform.Label429},
			{Action: "googlemaps-extract-place", Input: map[string]any{"google_maps_place_url": placeURL + "error-503-cafe/"},
				Expect: platform.LabelGeneric},
			{Endpoint: "me", Family: "linkedin", Credentials: cookie(cookieFlaky), Expect: platform.LabelLKError, Attempts: 6},
			{Action: "googlemaps-extract-place", Input: map[string]any{"google_maps_place_url": placeURL + "Cafe+Lumiere/"},
				ProxyURL: "http://127.0.0.1:1", Expect: platform.LabelProxy},
			{Endpoint: "login", Family: "linkedin", Credentials: basic("wrong@sim.test"), Expect: platform.LabelIntegration},
			{Action: "salesnavigator-search-people", Credentials: cookie(cookiePremium),
				Input:  map[string]any{"sales_navigator_profile_search_url": "https://www.linkedin.com/sales/search/people?query=(keywords%3Asales)"},
				Expect: platform.LabelSNUpgrade},
			{Endpoint: "checkpoint", Family: "linkedin", Credentials: basic("2fa@sim.test"), Code: "000000", Expect: executor.LabelBadInput},
		},
		Slow: &executor.Case{Action: "linkedin-extract-people", Input: map[string]any{"linkedin_profile_url": profileURL},
			Credentials: cookie(cookieHang), Expect: platform.LabelLK524},
		Login: &executor.LoginCase{Family: "linkedin", Username: "2fa@sim.test", Password: "sandbox", Code: "123456"},
	}
}

func mustAction(slug string) *catalog.Action {
	a, ok := catalog.Get(slug)
	if !ok {
		panic("simexec: the catalogue lacks " + slug)
	}
	return a
}
