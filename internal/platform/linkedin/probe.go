package linkedin

import (
	"context"
	"maps"
	"net/http"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// Probe statuses.
const (
	ProbeOK      = "ok"      // the answers still have the shape the mapping needs
	ProbeChanged = "changed" // an answer lacks a path the mapping needs (MissingPath)
	ProbeBroken  = "broken"  // LinkedIn refused or no longer serves a recipe (Label, UpstreamStatus)
	ProbeSkipped = "skipped" // not run (a write without --write, or nothing to run it on)
)

// ProbeOptions says what the probe runs the actions on. Empty fields take
// defaults: the account's own profile, LinkedIn's own company page, simple
// searches, the first conversation of the inbox.
type ProbeOptions struct {
	// Write runs the writes too: a connection request to Profile, a message
	// to Profile (Message), one received invitation accepted, the newest
	// sent invitation withdrawn. Without it, outreach actions run their
	// reads only and stop before writing.
	Write         bool
	Profile       string // a profile URL to read (and, with Write, to invite and message)
	Message       string // the message text of message-profile with Write
	Company       string // a company page URL
	PeopleSearch  string // a people search URL
	CompanySearch string // a company search URL
}

// ProbeResult is what the probe found for one action.
type ProbeResult struct {
	Action         string   `json:"action"`
	Status         string   `json:"status"`
	Recipes        []string `json:"recipes,omitempty"` // the recipes it called, in order
	Recipe         string   `json:"recipe,omitempty"`  // the recipe that changed or broke
	MissingPath    string   `json:"missing_path,omitempty"`
	Label          string   `json:"label,omitempty"`
	UpstreamStatus string   `json:"upstream_status,omitempty"`
	Detail         string   `json:"detail,omitempty"`
}

// Probe runs every action once against LinkedIn with an operator's own
// session and reports, per action, whether LinkedIn's answers still have the
// shape the mapping needs. It is read-only unless opts.Write.
func (d *Driver) Probe(ctx context.Context, hc *http.Client, cred platform.Credentials, opts ProbeOptions) []ProbeResult {
	cred.Cookies = maps.Clone(cred.Cookies)
	// Keep what LinkedIn refreshes between the actions, as the engine does
	// between calls (a JSESSIONID obtained once, a rotated one).
	ctx = platform.WithSessionSink(ctx, func(c map[string]string) { cred.Cookies = c })
	run := func(slug string, input, params map[string]any, size int, dry bool) (platform.Page, ProbeResult) {
		res := ProbeResult{Action: slug}
		a, ok := catalog.Get(slug)
		if !ok {
			res.Status, res.Detail = ProbeBroken, "not in the catalogue"
			return platform.Page{}, res
		}
		if size <= 0 {
			size = a.PageSize
		}
		p := map[string]any{}
		for _, f := range a.LiveParams {
			if f.HasDefault {
				p[f.Name] = f.Default
			}
		}
		maps.Copy(p, params)
		pg, calls, err := d.run(ctx, hc, cred, platform.Call{Action: a, Input: input, Params: p, Page: 1, PageSize: size}, dry)
		res.Recipes = calls
		if err == nil {
			res.Status = ProbeOK
			if dry {
				res.Detail = "reads only; run with --write to send the write too"
			}
			return pg, res
		}
		e, ok := apperr.As(err)
		if !ok {
			res.Status, res.Detail = ProbeBroken, err.Error()
			return pg, res
		}
		res.Label, res.UpstreamStatus, res.Detail = e.Label, e.Params[platform.ParamUpstreamStatus], e.Message
		res.Recipe = e.Params[platform.ParamRecipe]
		if res.Recipe == "" && len(calls) > 0 {
			res.Recipe = calls[len(calls)-1]
		}
		res.Status = ProbeBroken
		if e.Label == platform.LabelActionBroken && e.Params[platform.ParamMissingPath] != "" {
			res.Status, res.MissingPath = ProbeChanged, e.Params[platform.ParamMissingPath]
		}
		return pg, res
	}
	skip := func(slug, why string) ProbeResult {
		return ProbeResult{Action: slug, Status: ProbeSkipped, Detail: why}
	}
	def := func(v, d string) string {
		if strings.TrimSpace(v) == "" {
			return d
		}
		return v
	}

	var out []ProbeResult
	mePage, meRes := run("linkedin-me", nil, nil, 0, false)
	out = append(out, meRes)
	profile := opts.Profile
	if profile == "" && len(mePage.Results) == 1 {
		profile, _ = mePage.Results[0]["linkedin_profile_url"].(string)
	}
	onProfile := func(slug string, params map[string]any, dry bool) ProbeResult {
		if profile == "" {
			return skip(slug, "no profile to run it on (give --profile)")
		}
		_, r := run(slug, map[string]any{"linkedin_profile_url": profile}, params, 0, dry)
		return r
	}
	out = append(out, onProfile("linkedin-extract-people", nil, false), onProfile("linkedin-visit-profile", nil, false))
	_, r := run("linkedin-extract-company", map[string]any{"linkedin_company_url": def(opts.Company, "https://www.linkedin.com/company/linkedin/")}, nil, 0, false)
	out = append(out, r)
	_, r = run("linkedin-search-people", map[string]any{"linkedin_people_search_url": def(opts.PeopleSearch, "https://www.linkedin.com/search/results/people/?keywords=engineer")}, nil, 0, false)
	out = append(out, r)
	_, r = run("linkedin-search-companies", map[string]any{"linkedin_company_search_url": def(opts.CompanySearch, "https://www.linkedin.com/search/results/companies/?keywords=software")}, nil, 0, false)
	out = append(out, r)
	_, r = run("linkedin-extract-connections", nil, nil, 0, false)
	out = append(out, r)
	convs, r := run("linkedin-extract-conversations", nil, nil, 0, false)
	out = append(out, r)
	thread := ""
	if len(convs.Results) > 0 {
		thread, _ = convs.Results[0]["linkedin_thread_url"].(string)
	}
	if thread == "" {
		out = append(out, skip("linkedin-extract-messages", "no conversation in the inbox to read"))
	} else {
		_, r = run("linkedin-extract-messages", map[string]any{"linkedin_thread_url": thread}, nil, 0, false)
		out = append(out, r)
	}
	_, r = run("linkedin-extract-sent-invitations", nil, nil, 0, false)
	out = append(out, r)

	// Outreach: reads only unless --write, and then on the operator's
	// chosen profile only (never the account's own), one item each.
	switch {
	case !opts.Write:
		out = append(out, onProfile("linkedin-connect-profile", nil, true))
	case opts.Profile == "":
		out = append(out, skip("linkedin-connect-profile", "--write sends a connection request to --profile; none given"))
	default:
		out = append(out, onProfile("linkedin-connect-profile", nil, false))
	}
	switch {
	case !opts.Write:
		out = append(out, onProfile("linkedin-message-profile", map[string]any{"message": "probe"}, true))
	case opts.Profile == "" || strings.TrimSpace(opts.Message) == "":
		out = append(out, skip("linkedin-message-profile", "--write sends --message to --profile; give both"))
	default:
		out = append(out, onProfile("linkedin-message-profile", map[string]any{"message": opts.Message}, false))
	}
	_, r = run("linkedin-accept-invitations", nil, nil, 1, !opts.Write)
	out = append(out, r)
	_, r = run("linkedin-withdraw-invitations", nil, nil, 1, !opts.Write)
	out = append(out, r)
	return out
}
