package simdriver

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

type env struct {
	t   *testing.T
	sim *sim.Server
	d   *Driver
	hc  *http.Client
}

func newEnv(t *testing.T, cfg sim.Config) *env {
	t.Helper()
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return &env{t: t, sim: s, d: New(ts.URL), hc: ts.Client()}
}

func cookie(c string) platform.Credentials {
	return platform.Credentials{AuthType: platform.AuthCookies, Cookies: map[string]string{"li_at": c}}
}

func action(t *testing.T, slug string) *catalog.Action {
	t.Helper()
	a, ok := catalog.Get(slug)
	if !ok {
		t.Fatalf("catalogue lacks %s", slug)
	}
	return a
}

// defaults are the live parameter defaults, as the decoder would apply them.
func defaults(a *catalog.Action, over map[string]any) map[string]any {
	p := map[string]any{}
	for _, f := range a.LiveParams {
		if f.HasDefault {
			p[f.Name] = f.Default
		}
	}
	for k, v := range over {
		p[k] = v
	}
	return p
}

func (e *env) run(cred platform.Credentials, slug string, input, params map[string]any, page int, token string) (platform.Page, error) {
	a := action(e.t, slug)
	return e.d.Run(context.Background(), e.hc, cred, platform.Call{Action: a, Input: input, Params: defaults(a, params), Page: page, Token: token})
}

func (e *env) must(cred platform.Credentials, slug string, input, params map[string]any) []map[string]any {
	e.t.Helper()
	pg, err := e.run(cred, slug, input, params, 1, "")
	if err != nil {
		e.t.Fatalf("%s: %v", slug, err)
	}
	return pg.Results
}

// checkType verifies a value against a catalogue node: present, and of the
// declared JSON type, recursively.
func checkType(path string, n *catalog.Node, typ string, v any) error {
	typ = nodeType(n, typ)
	bad := func() error { return fmt.Errorf("%s: want %s, got %T (%v)", path, typ, v, v) }
	switch typ {
	case "string":
		if _, ok := v.(string); !ok {
			return bad()
		}
	case "integer":
		switch v.(type) {
		case int64, int:
		default:
			return bad()
		}
	case "number":
		switch v.(type) {
		case int64, int, float64:
		default:
			return bad()
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad()
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return bad()
		}
		for i, x := range arr {
			if n != nil && n.Items != nil {
				if err := checkType(fmt.Sprintf("%s[%d]", path, i), n.Items, "", x); err != nil {
					return err
				}
			}
		}
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		if n != nil {
			for _, p := range n.Props {
				x, ok := m[p.Name]
				if !ok {
					return fmt.Errorf("%s.%s: missing", path, p.Name)
				}
				if err := checkType(path+"."+p.Name, p.Node, "", x); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func checkOutputs(t *testing.T, a *catalog.Action, results []map[string]any) {
	t.Helper()
	for i, r := range results {
		for _, f := range a.Outputs {
			v, ok := r[f.Name]
			if !ok {
				t.Fatalf("%s result %d: field %s missing", a.Slug, i, f.Name)
			}
			if err := checkType(f.Name, f.Node, f.Type, v); err != nil {
				t.Fatalf("%s result %d: %v", a.Slug, i, err)
			}
		}
		if len(r) != len(a.Outputs) {
			t.Fatalf("%s: %d fields, the catalogue declares %d", a.Slug, len(r), len(a.Outputs))
		}
		// The wire form must survive JSON: no NaN, no unexportable values.
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("%s: %v", a.Slug, err)
		}
	}
}

// fixture discovers world entities through the driver itself.
type fixture struct {
	profile, company, post, event, group, job, thread, connection, school, snid string
}

func (e *env) fixture(cred platform.Credentials) fixture {
	e.t.Helper()
	var f fixture
	emps := e.must(cred, "linkedin-search-company-employees", map[string]any{"linkedin_company_url": "https://www.linkedin.com/company/acme/"}, nil)
	f.profile = emps[0]["linkedin_profile_url"].(string)
	f.company = emps[0]["linkedin_company_url"].(string)
	f.snid = emps[0]["sales_navigator_profile_id"].(string)
	posts := e.must(cred, "linkedin-extract-people-post-activity", map[string]any{"linkedin_profile_url": f.profile}, nil)
	f.post = posts[0]["linkedin_post_url"].(string)
	conv := e.must(cred, "linkedin-extract-conversations", map[string]any{}, nil)
	f.thread = conv[0]["linkedin_thread_id"].(string)
	conns := e.must(cred, "linkedin-extract-connections", map[string]any{}, nil)
	f.connection = conns[0]["linkedin_profile_url"].(string)
	f.event = e.must(cred, "linkedin-search-events", map[string]any{"linkedin_event_search_url": "https://www.linkedin.com/search/results/events/?keywords=summit"}, nil)[0]["linkedin_event_url"].(string)
	f.group = e.must(cred, "linkedin-search-groups", map[string]any{"linkedin_group_search_url": "https://www.linkedin.com/search/results/groups/?keywords=network"}, nil)[0]["linkedin_group_url"].(string)
	f.job = e.must(cred, "linkedin-search-jobs", map[string]any{"linkedin_job_search_url": "https://www.linkedin.com/jobs/search/?keywords=engineer"}, nil)[0]["linkedin_job_url"].(string)
	f.school = e.must(cred, "linkedin-search-schools", map[string]any{"linkedin_school_search_url": "https://www.linkedin.com/search/results/schools/?keywords=university"}, nil)[0]["linkedin_school_url"].(string)
	return f
}

type sample struct {
	cookie string
	input  func(f fixture, i int) map[string]any
	params map[string]any
}

func in(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[0+i].(string)] = kv[i+1]
	}
	return m
}

func fixed(m map[string]any) func(fixture, int) map[string]any {
	return func(fixture, int) map[string]any { return m }
}

// people cycles through world people by alias, to find one whose list is not empty.
func people(field string) func(fixture, int) map[string]any {
	return func(f fixture, i int) map[string]any {
		if i == 0 {
			return in(field, f.profile)
		}
		return in(field, fmt.Sprintf("https://www.linkedin.com/in/someone-%d", i))
	}
}

func companies(field string) func(fixture, int) map[string]any {
	return func(f fixture, i int) map[string]any {
		if i == 0 {
			return in(field, f.company)
		}
		return in(field, fmt.Sprintf("https://www.linkedin.com/company/firm-%d/", i))
	}
}

var samples = map[string]sample{
	"googlemaps-extract-place":       {"", fixed(in("google_maps_place_url", "https://www.google.com/maps/place/Cafe+Lumiere/")), nil},
	"googlemaps-search-places":       {"", fixed(in("google_maps_search_url", "https://www.google.com/maps/search/bakery+in+lyon/")), nil},
	"googlemaps-extract-reviews":     {"", fixed(in("google_maps_place_url", "https://www.google.com/maps/place/Cafe+Lumiere/")), nil},
	"tripadvisor-extract-hotel":      {"", fixed(in("tripadvisor_hotel_url", "https://www.tripadvisor.com/Hotel_Review-g187147-d1234-Reviews-Hotel_X-Paris.html")), nil},
	"tripadvisor-extract-restaurant": {"", fixed(in("tripadvisor_restaurant_url", "https://www.tripadvisor.com/Restaurant_Review-g187147-d555-Reviews-Chez_Y-Paris.html")), nil},
	"tripadvisor-extract-reviews":    {"", fixed(in("tripadvisor_reviews_url", "https://www.tripadvisor.com/Hotel_Review-g187147-d1234-Reviews-Hotel_X-Paris.html")), nil},
	"tripadvisor-search-hotels":      {"", fixed(in("tripadvisor_search_url", "https://www.tripadvisor.com/Hotels-g187147-Paris_Ile_de_France-Hotels.html")), nil},
	"tripadvisor-search-restaurants": {"", fixed(in("tripadvisor_search_url", "https://www.tripadvisor.com/Restaurants-g187265-Lyon.html")), nil},
	"thefork-extract-reviews":        {"", fixed(in("thefork_reviews_url", "https://www.thefork.com/restaurant/le-petit-r12345")), nil},

	"linkedin-me":                       {"sim_salesnav", fixed(in()), nil},
	"linkedin-extract-connections":      {"sim_salesnav", fixed(in()), nil},
	"linkedin-extract-followers":        {"sim_salesnav", fixed(in()), nil},
	"linkedin-extract-profile-viewers":  {"sim_salesnav", fixed(in()), nil},
	"linkedin-extract-sent-invitations": {"sim_salesnav", fixed(in()), nil},
	"linkedin-accept-invitations":       {"sim_salesnav", fixed(in()), nil},
	"linkedin-withdraw-invitations":     {"sim_salesnav", fixed(in()), nil},
	"linkedin-extract-conversations":    {"sim_salesnav", fixed(in()), nil},
	"linkedin-extract-messages": {"sim_salesnav", func(f fixture, _ int) map[string]any {
		return in("linkedin_thread_url", "https://www.linkedin.com/messaging/thread/"+f.thread+"/")
	}, nil},
	"linkedin-extract-messages-legacy": {"sim_salesnav", func(f fixture, _ int) map[string]any {
		return in("linkedin_thread_url", "https://www.linkedin.com/messaging/thread/"+f.thread+"/")
	}, nil},
	"linkedin-archive-message":      {"sim_salesnav", func(f fixture, _ int) map[string]any { return in("linkedin_thread_id", f.thread) }, nil},
	"linkedin-mark-message-as-read": {"sim_salesnav", func(f fixture, _ int) map[string]any { return in("linkedin_thread_id", f.thread) }, nil},
	"linkedin-message-profile": {"sim_salesnav", func(f fixture, _ int) map[string]any { return in("linkedin_profile_url", f.connection) },
		map[string]any{"message": "Hello from the test", "files": []any{map[string]any{"filename": "deck.pdf", "file_data": "JVBERi0xLjQK"}}}},
	"linkedin-inmail-profile":                     {"sim_salesnav", people("linkedin_profile_url"), map[string]any{"subject": "Hi", "message": "An InMail"}},
	"linkedin-extract-people":                     {"sim_salesnav", people("linkedin_profile_url"), nil},
	"linkedin-visit-profile":                      {"sim_salesnav", people("linkedin_profile_url"), nil},
	"linkedin-extract-contact":                    {"sim_salesnav", people("linkedin_profile_url"), nil},
	"linkedin-extract-licenses-certifications":    {"sim_salesnav", people("linkedin_profile_url"), nil},
	"linkedin-extract-people-post-activity":       {"sim_salesnav", people("linkedin_profile_url"), nil},
	"linkedin-extract-people-comment-activity":    {"sim_salesnav", people("linkedin_profile_url"), nil},
	"linkedin-extract-people-reaction-activity":   {"sim_salesnav", people("linkedin_profile_url"), nil},
	"linkedin-follow-profile":                     {"sim_salesnav", people("linkedin_profile_url"), nil},
	"linkedin-connect-profile":                    {"sim_salesnav", people("linkedin_profile_url"), map[string]any{"message": "Let's connect"}},
	"linkedin-peopleid-from-salesnavigatorid":     {"", func(f fixture, _ int) map[string]any { return in("sales_navigator_profile_id", f.snid) }, nil},
	"linkedin-extract-company":                    {"sim_salesnav", companies("linkedin_company_url"), nil},
	"linkedin-visit-company":                      {"sim_salesnav", companies("linkedin_company_url"), nil},
	"linkedin-extract-company-affiliates":         {"sim_salesnav", companies("linkedin_company_url"), nil},
	"linkedin-extract-similar-companies":          {"sim_salesnav", companies("linkedin_company_url"), nil},
	"linkedin-extract-company-employees-insights": {"sim_salesnav", companies("linkedin_company_url"), map[string]any{"affiliates": true}},
	"linkedin-extract-page-followers":             {"sim_salesnav", companies("linkedin_company_url"), nil},
	"linkedin-search-company-employees":           {"sim_salesnav", companies("linkedin_company_url"), nil},
	"linkedin-extract-school-alumnis":             {"sim_salesnav", func(f fixture, _ int) map[string]any { return in("linkedin_school_url", f.school) }, nil},
	"linkedin-extract-post":                       {"sim_salesnav", func(f fixture, _ int) map[string]any { return in("linkedin_post_url", f.post) }, nil},
	"linkedin-extract-post-likers":                {"sim_salesnav", func(f fixture, _ int) map[string]any { return in("linkedin_post_url", f.post) }, nil},
	"linkedin-extract-post-commenters": {"sim_salesnav", func(f fixture, i int) map[string]any {
		if i == 0 {
			return in("linkedin_post_url", f.post)
		}
		return in("linkedin_post_url", fmt.Sprintf("https://www.linkedin.com/posts/someone_post-%d", i))
	}, nil},
	"linkedin-like-post":               {"sim_salesnav", func(f fixture, _ int) map[string]any { return in("linkedin_post_url", f.post) }, map[string]any{"interaction_type": "celebrate"}},
	"linkedin-comment-post":            {"sim_salesnav", func(f fixture, _ int) map[string]any { return in("linkedin_post_url", f.post) }, map[string]any{"comment": "Nice one"}},
	"linkedin-extract-event":           {"sim_salesnav", func(f fixture, _ int) map[string]any { return in("linkedin_event_url", f.event) }, nil},
	"linkedin-extract-event-attendees": {"sim_salesnav", func(f fixture, _ int) map[string]any { return in("linkedin_event_url", f.event) }, nil},
	"linkedin-invite-event": {"sim_salesnav", func(f fixture, _ int) map[string]any {
		return in("linkedin_event_url", f.event, "linkedin_profile_url", f.connection)
	}, nil},
	"linkedin-extract-group-members": {"sim_salesnav", func(f fixture, _ int) map[string]any { return in("linkedin_group_url", f.group) }, nil},
	"linkedin-extract-job":           {"sim_salesnav", func(f fixture, _ int) map[string]any { return in("linkedin_job_url", f.job) }, nil},
	"linkedin-search-people":         {"sim_salesnav", fixed(in("linkedin_people_search_url", "https://www.linkedin.com/search/results/people/?keywords=product%20manager&origin=GLOBAL_SEARCH_HEADER")), nil},
	"linkedin-search-companies":      {"sim_salesnav", fixed(in("linkedin_company_search_url", "https://www.linkedin.com/search/results/companies/?keywords=labs")), nil},
	"linkedin-search-schools":        {"sim_salesnav", fixed(in("linkedin_school_search_url", "https://www.linkedin.com/search/results/schools/?keywords=university")), nil},
	"linkedin-search-groups":         {"sim_salesnav", fixed(in("linkedin_group_search_url", "https://www.linkedin.com/search/results/groups/?keywords=network")), nil},
	"linkedin-search-events":         {"sim_salesnav", fixed(in("linkedin_event_search_url", "https://www.linkedin.com/search/results/events/?keywords=summit")), nil},
	"linkedin-search-jobs":           {"sim_salesnav", fixed(in("linkedin_job_search_url", "https://www.linkedin.com/jobs/search/?keywords=engineer&location=Paris")), nil},
	"linkedin-search-content":        {"sim_salesnav", fixed(in("linkedin_content_search_url", "https://www.linkedin.com/search/results/content/?keywords=hiring")), nil},

	"salesnavigator-visit-profile": {"sim_salesnav", func(f fixture, _ int) map[string]any {
		return in("sales_navigator_profile_url", "https://www.linkedin.com/sales/lead/"+f.snid+",NAME_SEARCH,abcd")
	}, nil},
	"salesnavigator-connect-profile": {"sim_salesnav", func(f fixture, _ int) map[string]any {
		return in("sales_navigator_profile_url", "https://www.linkedin.com/sales/people/"+f.snid+",NAME_SEARCH,abcd")
	}, map[string]any{"message": "Hello"}},
	"salesnavigator-inmail-profile": {"sim_salesnav", func(f fixture, _ int) map[string]any {
		return in("sales_navigator_profile_url", "https://www.linkedin.com/sales/lead/"+f.snid+",NAME_SEARCH,abcd")
	}, map[string]any{"subject": "Quick question", "message": "Do you have a minute?"}},
	"salesnavigator-visit-company":                  {"sim_salesnav", fixed(in("sales_navigator_company_url", "https://www.linkedin.com/sales/company/acme")), nil},
	"salesnavigator-extract-employees-count":        {"sim_salesnav", fixed(in("sales_navigator_company_url", "https://www.linkedin.com/sales/company/acme")), nil},
	"salesnavigator-extract-employees-distribution": {"sim_salesnav", fixed(in("sales_navigator_company_url", "https://www.linkedin.com/sales/company/acme")), nil},
	"salesnavigator-search-metrics":                 {"sim_salesnav", fixed(in("sales_navigator_company_id", "12345")), nil},
	"salesnavigator-search-company-employees":       {"sim_salesnav", fixed(in("sales_navigator_company_url", "https://www.linkedin.com/sales/company/acme")), nil},
	"salesnavigator-search-people":                  {"sim_salesnav", fixed(in("sales_navigator_profile_search_url", "https://www.linkedin.com/sales/search/people?query=(keywords%3Asales)")), nil},
	"salesnavigator-search-companies":               {"sim_salesnav", fixed(in("sales_navigator_company_search_url", "https://www.linkedin.com/sales/search/company?query=(keywords%3Alabs)")), nil},
	"salesnavigator-extract-leads-list":             {"sim_salesnav", fixed(in("sales_navigator_profile_list_url", "https://www.linkedin.com/sales/lists/people/7012345678901234567?sortCriteria=CREATED_TIME")), nil},
	"salesnavigator-extract-accounts-list":          {"sim_salesnav", fixed(in("sales_navigator_company_list_url", "https://www.linkedin.com/sales/lists/company/7012345678901234568")), nil},
	"recruiterlite-search-people":                   {"sim_recruiter", fixed(in("linkedin_recruiter_search_url", "https://www.linkedin.com/talent/search?keywords=designer")), nil},
}

// Every catalogued action runs live through the driver, and every output
// field the catalogue names comes back with its declared type.
func TestEverySlugLive(t *testing.T) {
	strict = true
	defer func() { strict = false }()
	e := newEnv(t, sim.Config{Seed: 1})
	f := e.fixture(cookie("sim_salesnav"))
	var all []*catalog.Action
	for _, a := range catalog.All() {
		if a.Integration != "hubspot" { // the hubspot driver's (internal/platform/hubspot)
			all = append(all, a)
		}
	}
	if len(all) < 60 || len(handlers) != len(all) {
		t.Fatalf("catalogue has %d actions, the driver handles %d", len(all), len(handlers))
	}
	for _, a := range all {
		s, ok := samples[a.Slug]
		if !ok {
			t.Errorf("no sample input for %s", a.Slug)
			continue
		}
		if _, ok := handlers[a.Slug]; !ok {
			t.Errorf("no handler for %s", a.Slug)
			continue
		}
		t.Run(a.Slug, func(t *testing.T) {
			var cred platform.Credentials
			if s.cookie != "" {
				cred = cookie(s.cookie)
			}
			var pg platform.Page
			var err error
			for i := 0; i < 25; i++ {
				pg, err = e.run(cred, a.Slug, s.input(f, i), s.params, 1, "")
				if err != nil {
					t.Fatal(err)
				}
				if len(pg.Results) > 0 {
					break
				}
			}
			if len(pg.Results) == 0 {
				t.Fatal("no results")
			}
			if !a.ListOutput && len(pg.Results) != 1 {
				t.Fatalf("object action returned %d results", len(pg.Results))
			}
			if a.ListOutput && a.PageSize > 0 && len(pg.Results) > a.PageSize {
				t.Fatalf("page of %d results, page size %d", len(pg.Results), a.PageSize)
			}
			checkOutputs(t, a, pg.Results)
		})
	}
	for slug := range handlers {
		if _, ok := catalog.Get(slug); !ok {
			t.Errorf("handler for unknown slug %s", slug)
		}
	}
}

func TestPaginationToTheEnd(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 1})
	cred := cookie("sim_premium")
	for _, slug := range []string{"linkedin-extract-connections", "linkedin-search-company-employees"} {
		input := map[string]any{}
		if slug == "linkedin-search-company-employees" {
			input["linkedin_company_url"] = "https://www.linkedin.com/company/acme/"
		}
		for _, byToken := range []bool{false, true} {
			seen := map[string]bool{}
			token, n := "", 0
			for page := 1; ; page++ {
				tok := ""
				if byToken {
					tok = token
				}
				pg, err := e.run(cred, slug, input, nil, page, tok)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range pg.Results {
					u := r["linkedin_profile_url"].(string)
					if seen[u] {
						t.Fatalf("%s: duplicate %s on page %d", slug, u, page)
					}
					seen[u] = true
				}
				n += len(pg.Results)
				token = pg.NextToken
				if len(pg.Results) == 0 || !pg.More {
					break
				}
				if page > 200 {
					t.Fatal("no end")
				}
			}
			// an empty page past the end
			pg, err := e.run(cred, slug, input, nil, n/action(t, slug).PageSize+2, "")
			if err != nil || len(pg.Results) != 0 || pg.More {
				t.Fatalf("%s: page past the end: %v %d", slug, err, len(pg.Results))
			}
			if n == 0 {
				t.Fatalf("%s: nothing paged", slug)
			}
		}
	}
	// connections: the count agrees with the upstream total (no gaps)
	var total int
	for page := 1; ; page++ {
		pg, err := e.run(cred, "linkedin-extract-connections", nil, nil, page, "")
		if err != nil {
			t.Fatal(err)
		}
		total += len(pg.Results)
		if !pg.More {
			break
		}
	}
	req, _ := http.NewRequest("GET", e.d.base+"/linkedin/connections?count=1", nil)
	req.AddCookie(&http.Cookie{Name: "li_at", Value: "sim_premium"})
	res, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Paging struct{ Total int } }
	json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if total != body.Paging.Total {
		t.Fatalf("paged %d connections, upstream says %d", total, body.Paging.Total)
	}
}

func TestSearchAndListsAgreeWithExtracts(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 2})
	cred := cookie("sim_salesnav")
	found := e.must(cred, "linkedin-search-people", in("linkedin_people_search_url", "https://www.linkedin.com/search/results/people/?keywords=engineer"), nil)
	for _, r := range found[:3] {
		p := e.must(cred, "linkedin-extract-people", in("linkedin_profile_url", r["linkedin_profile_url"]), nil)[0]
		if p["linkedin_profile_id"] != r["linkedin_profile_id"] || p["linkedin_profile_url"] != r["linkedin_profile_url"] || p["full_name"] != r["full_name"] {
			t.Fatalf("search result %v extracts as %v", r["linkedin_profile_url"], p["linkedin_profile_url"])
		}
	}
	co := e.must(cred, "linkedin-extract-company", in("linkedin_company_url", "https://www.linkedin.com/company/northwind/"), nil)[0]
	emps := e.must(cred, "linkedin-search-company-employees", in("linkedin_company_url", co["linkedin_company_url"]), nil)
	for _, r := range emps[:3] {
		p := e.must(cred, "linkedin-extract-people", in("linkedin_profile_url", r["linkedin_profile_url"]), nil)[0]
		if p["linkedin_company_url"] != co["linkedin_company_url"] || p["company_name"] != co["company_name"] {
			t.Fatalf("employee %v works at %v, not %v", r["linkedin_profile_url"], p["company_name"], co["company_name"])
		}
	}
	// the company's headcount matches its employee list
	var n int64
	for page := 1; ; page++ {
		pg, err := e.run(cred, "linkedin-search-company-employees", in("linkedin_company_url", co["linkedin_company_url"]), nil, page, "")
		if err != nil {
			t.Fatal(err)
		}
		n += int64(len(pg.Results))
		if !pg.More {
			break
		}
	}
	if n != co["number_employees"].(int64) {
		t.Fatalf("company says %d employees, list has %d", co["number_employees"], n)
	}
	// Sales Navigator id -> LinkedIn id agrees with the profile
	id := e.must(platform.Credentials{}, "linkedin-peopleid-from-salesnavigatorid", in("sales_navigator_profile_id", found[0]["sales_navigator_profile_id"]), nil)[0]
	if id["linkedin_profile_id"] != found[0]["linkedin_profile_id"] {
		t.Fatal("sales navigator id resolves to another member")
	}
}

func TestWritesPersistThroughTheDriver(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sim.jsonl")
	e := newEnv(t, sim.Config{Seed: 5, DataFile: file})
	cred := cookie("sim_premium")
	target := "https://www.linkedin.com/in/new-contact-for-test"
	res := e.must(cred, "linkedin-connect-profile", in("linkedin_profile_url", target), map[string]any{"message": "Hi there"})[0]
	if res["pending"] != "true" || res["connected"] != false {
		t.Fatalf("connect: %v", res)
	}
	canonical := e.must(cred, "linkedin-visit-profile", in("linkedin_profile_url", target), nil)
	_ = canonical
	sent := e.must(cred, "linkedin-extract-sent-invitations", nil, nil)
	if sent[0]["sales_navigator_profile_id"] != res["sales_navigator_profile_id"] {
		t.Fatalf("new invitation not first in sent invitations: %v", sent[0])
	}
	conns := e.must(cred, "linkedin-extract-connections", nil, nil)
	msg := e.must(cred, "linkedin-message-profile", in("linkedin_profile_url", conns[0]["linkedin_profile_url"]), map[string]any{"message": "persisted?"})[0]
	check := func(e *env) {
		t.Helper()
		sent := e.must(cred, "linkedin-extract-sent-invitations", nil, nil)
		if sent[0]["sales_navigator_profile_id"] != res["sales_navigator_profile_id"] {
			t.Fatal("sent invitation lost")
		}
		msgs := e.must(cred, "linkedin-extract-messages", in("linkedin_thread_url", msg["linkedin_thread_url"]), nil)
		if msgs[len(msgs)-1]["content"] != "persisted?" {
			t.Fatalf("message not in its thread: %v", msgs[len(msgs)-1]["content"])
		}
	}
	check(e)
	e.sim.Close()
	e2 := newEnv(t, sim.Config{Seed: 5, DataFile: file})
	check(e2)
	// withdraw empties the sent list page by page, newest first
	before := len(e2.must(cred, "linkedin-extract-sent-invitations", nil, nil))
	w := e2.must(cred, "linkedin-withdraw-invitations", nil, nil)
	if len(w) != before || !strings.Contains(w[0]["linkedin_profile_url"].(string), "/in/") {
		t.Fatalf("withdrew %d of %d", len(w), before)
	}
	if left := e2.must(cred, "linkedin-extract-sent-invitations", nil, nil); len(left) != 0 {
		t.Fatalf("%d invitations left after withdrawing", len(left))
	}
	// accept: invitations become connections
	acc := e2.must(cred, "linkedin-accept-invitations", nil, nil)
	if len(acc) == 0 {
		t.Fatal("nothing to accept")
	}
	conns = e2.must(cred, "linkedin-extract-connections", nil, nil)
	newest := map[any]bool{}
	for _, c := range conns[:len(acc)] {
		newest[c["linkedin_profile_url"]] = true
	}
	for _, a := range acc {
		if !newest[a["linkedin_profile_url"]] {
			t.Fatalf("accepted %v is not among the newest connections", a["linkedin_profile_url"])
		}
	}
	// archive removes the thread from the inbox
	e2.must(cred, "linkedin-archive-message", in("linkedin_thread_id", msg["linkedin_thread_id"]), nil)
	for _, c := range e2.must(cred, "linkedin-extract-conversations", nil, nil) {
		if c["linkedin_thread_id"] == msg["linkedin_thread_id"] {
			t.Fatal("archived thread still in the inbox")
		}
	}
	raw, _ := os.ReadFile(file)
	if len(raw) == 0 {
		t.Fatal("nothing written to the data file")
	}
}

func label(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Label
	}
	return fmt.Sprintf("not an apperr: %v", err)
}

func TestFailuresMapToLabels(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 1, SlowLatency: time.Millisecond, HangFor: 30 * time.Second})
	me := func(c string) error { _, err := e.d.Me(context.Background(), e.hc, cookie(c)); return err }

	// expired session
	for i := 0; i < 5; i++ {
		if err := me("sim_expiring"); err != nil {
			t.Fatal(err)
		}
	}
	err := me("sim_expiring")
	if label(err) != platform.LabelNotConnected || !platform.IsSessionExpired(err) || platform.Transient(err) {
		t.Fatalf("expired: %v", err)
	}
	if err := me("not-a-session"); !platform.IsSessionExpired(err) {
		t.Fatalf("unknown session: %v", err)
	}
	// flaky: 429 with retry-after, then 503
	var got []string
	for i := 0; i < 6; i++ {
		err := me("sim_flaky")
		if err == nil {
			got = append(got, "ok")
			continue
		}
		got = append(got, label(err))
		if !platform.Transient(err) {
			t.Fatalf("flaky failure not transient: %v", err)
		}
		if label(err) == platform.Label429 && platform.RetryAfter(err) != 1 {
			t.Fatalf("retry after: %d", platform.RetryAfter(err))
		}
	}
	if strings.Join(got, ",") != "ok,ok,ok,ok,STATUS_429,LK_ERROR" {
		t.Fatalf("flaky: %v", got)
	}
	// restricted past the hidden threshold
	cred := cookie("sim_restricted")
	var last error
	for i := 0; i < 12; i++ {
		_, last = e.run(cred, "linkedin-extract-people", in("linkedin_profile_url", fmt.Sprintf("https://www.linkedin.com/in/p-%d", i)), nil, 1, "")
		if last != nil {
			break
		}
	}
	if label(last) != platform.Label403 || platform.Transient(last) {
		t.Fatalf("restricted: %v", last)
	}
	// not found
	_, err = e.run(cookie("sim_premium"), "linkedin-extract-people", in("linkedin_profile_url", "https://www.linkedin.com/in/missing-person"), nil, 1, "")
	if label(err) != platform.Label404 || platform.Transient(err) {
		t.Fatalf("404: %v", err)
	}
	// Sales Navigator action on a Premium account
	_, err = e.run(cookie("sim_premium"), "salesnavigator-search-people", in("sales_navigator_profile_search_url", "https://www.linkedin.com/sales/search/people?query=(keywords%3Acto)"), nil, 1, "")
	if label(err) != platform.LabelSNUpgrade {
		t.Fatalf("upgrade: %v", err)
	}
	// a public platform failing: GENERIC_ERROR (transient), 429
	_, err = e.run(platform.Credentials{}, "googlemaps-extract-place", in("google_maps_place_url", "https://www.google.com/maps/place/error-503-cafe"), nil, 1, "")
	if label(err) != platform.LabelGeneric || !platform.Transient(err) {
		t.Fatalf("maps 503: %v", err)
	}
	_, err = e.run(platform.Credentials{}, "googlemaps-extract-place", in("google_maps_place_url", "https://www.google.com/maps/place/error-429-cafe"), nil, 1, "")
	if label(err) != platform.Label429 || platform.RetryAfter(err) != 2 {
		t.Fatalf("maps 429: %v", err)
	}
	// a hanging platform: the client's deadline becomes LK_524
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = e.d.Me(ctx, e.hc, cookie("sim_hang"))
	if label(err) != platform.LabelLK524 || !platform.Transient(err) {
		t.Fatalf("hang: %v", err)
	}
	short := &http.Client{Timeout: 100 * time.Millisecond}
	if _, err := e.d.Me(context.Background(), short, cookie("sim_hang")); label(err) != platform.LabelLK524 {
		t.Fatalf("client timeout: %v", err)
	}
	// an unreachable proxy
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	proxied := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: dead})}}
	if _, err := e.d.Me(context.Background(), proxied, cookie("sim_premium")); label(err) != platform.LabelProxy || !platform.Transient(err) {
		t.Fatalf("proxy: %v", err)
	}
	// an unreachable platform
	gone := New("http://" + dead)
	if _, err := gone.Me(context.Background(), e.hc, cookie("sim_premium")); label(err) != platform.LabelLKError || !platform.Transient(err) {
		t.Fatalf("unreachable: %v", err)
	}
	// no cookie at all
	if _, err := e.run(platform.Credentials{}, "linkedin-me", nil, nil, 1, ""); !platform.IsSessionExpired(err) {
		t.Fatalf("no cookie: %v", err)
	}
}

func TestSandboxAccountsThroughTheDriver(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 1, SlowLatency: time.Millisecond})
	ctx := context.Background()
	for _, a := range sim.Accounts() {
		if a.Cookie == "" || a.Behaviour == "hang" || a.Behaviour == "flaky" {
			continue
		}
		acc, err := e.d.Me(ctx, e.hc, cookie(a.Cookie))
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		if acc.Level != a.Level || acc.Name == "" || !strings.HasPrefix(acc.Permalink, "https://www.linkedin.com/in/") || acc.ExternalID == "" {
			t.Fatalf("%s: %+v", a.Name, acc)
		}
	}
	// logins: straight, with each checkpoint, wrong password
	for _, a := range sim.Accounts() {
		if a.Username == "" {
			continue
		}
		res, err := e.d.Login(ctx, e.hc, a.Username, a.Password)
		if a.Behaviour == "wrong-password" {
			if label(err) != platform.LabelIntegration {
				t.Fatalf("wrong password: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		if a.Checkpoint == "" {
			if res.Cookies["li_at"] == "" || res.Level != a.Level {
				t.Fatalf("%s: %+v", a.Name, res)
			}
			continue
		}
		if res.Checkpoint == nil || res.Checkpoint.Type != a.Checkpoint {
			t.Fatalf("%s: expected checkpoint %s, got %+v", a.Name, a.Checkpoint, res)
		}
		if a.Behaviour == "captcha-fail" {
			if _, err := e.d.Checkpoint(ctx, e.hc, res.Checkpoint.State, "x"); label(err) != platform.LabelIntegration {
				t.Fatalf("captcha-fail: %v", err)
			}
			continue
		}
		if a.Checkpoint == sim.CheckpointInApp {
			for i := 0; i < 10 && res.Checkpoint != nil; i++ {
				if res, err = e.d.Checkpoint(ctx, e.hc, res.Checkpoint.State, ""); err != nil {
					t.Fatal(err)
				}
			}
		} else {
			if a.Checkpoint != sim.CheckpointCaptcha {
				if _, err := e.d.Checkpoint(ctx, e.hc, res.Checkpoint.State, "000000"); label(err) != "BAD_INPUT" {
					t.Fatalf("%s wrong code: %v", a.Name, err)
				}
			}
			if res, err = e.d.Checkpoint(ctx, e.hc, res.Checkpoint.State, a.Code); err != nil {
				t.Fatalf("%s: %v", a.Name, err)
			}
		}
		if res.Checkpoint != nil || res.Cookies["li_at"] == "" {
			t.Fatalf("%s: not logged in: %+v", a.Name, res)
		}
		if _, err := e.d.Me(ctx, e.hc, platform.SessionCredentials(res)); err != nil {
			t.Fatalf("%s session: %v", a.Name, err)
		}
	}
	// the simulator saw each account's traffic from its remote address
	st := e.sim.Stats()
	if st["premium"].Calls == 0 || len(st["premium"].RemoteAddrs) == 0 {
		t.Fatalf("stats: %+v", st["premium"])
	}
}
