package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform/simdriver"
)

// lvFix holds world entities discovered through the API, plus the
// account-relative ones (a thread, a connection) of the account that runs.
type lvFix struct {
	profile, company, post, event, group, job, school, snid string
	thread, connection                                      string
}

type lvSample struct {
	input  func(f lvFix, i int) map[string]any
	params map[string]any
}

func lvIn(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func lvFixed(m map[string]any) func(lvFix, int) map[string]any {
	return func(lvFix, int) map[string]any { return m }
}

// lvPeople cycles through world people to find one whose list is not empty.
func lvPeople(field string) func(lvFix, int) map[string]any {
	return func(f lvFix, i int) map[string]any {
		if i == 0 {
			return lvIn(field, f.profile)
		}
		return lvIn(field, fmt.Sprintf("https://www.linkedin.com/in/someone-%d", i))
	}
}

func lvCompanies(field string) func(lvFix, int) map[string]any {
	return func(f lvFix, i int) map[string]any {
		if i == 0 {
			return lvIn(field, f.company)
		}
		return lvIn(field, fmt.Sprintf("https://www.linkedin.com/company/firm-%d/", i))
	}
}

func lvThread(field string) func(lvFix, int) map[string]any {
	return func(f lvFix, _ int) map[string]any {
		if field == "linkedin_thread_id" {
			return lvIn(field, f.thread)
		}
		return lvIn(field, "https://www.linkedin.com/messaging/thread/"+f.thread+"/")
	}
}

// lvSamples: one sample input per catalogue slug (the simdriver tests use the
// same ones, through the driver instead of the API).
var lvSamples = map[string]lvSample{
	"googlemaps-extract-place":       {lvFixed(lvIn("google_maps_place_url", "https://www.google.com/maps/place/Cafe+Lumiere/")), nil},
	"googlemaps-search-places":       {lvFixed(lvIn("google_maps_search_url", "https://www.google.com/maps/search/bakery+in+lyon/")), nil},
	"googlemaps-extract-reviews":     {lvFixed(lvIn("google_maps_place_url", "https://www.google.com/maps/place/Cafe+Lumiere/")), nil},
	"tripadvisor-extract-hotel":      {lvFixed(lvIn("tripadvisor_hotel_url", "https://www.tripadvisor.com/Hotel_Review-g187147-d1234-Reviews-Hotel_X-Paris.html")), nil},
	"tripadvisor-extract-restaurant": {lvFixed(lvIn("tripadvisor_restaurant_url", "https://www.tripadvisor.com/Restaurant_Review-g187147-d555-Reviews-Chez_Y-Paris.html")), nil},
	"tripadvisor-extract-reviews":    {lvFixed(lvIn("tripadvisor_reviews_url", "https://www.tripadvisor.com/Hotel_Review-g187147-d1234-Reviews-Hotel_X-Paris.html")), map[string]any{"language": "all"}},
	"tripadvisor-search-hotels":      {lvFixed(lvIn("tripadvisor_search_url", "https://www.tripadvisor.com/Hotels-g187147-Paris_Ile_de_France-Hotels.html")), nil},
	"tripadvisor-search-restaurants": {lvFixed(lvIn("tripadvisor_search_url", "https://www.tripadvisor.com/Restaurants-g187265-Lyon.html")), nil},
	"thefork-extract-reviews":        {lvFixed(lvIn("thefork_reviews_url", "https://www.thefork.com/restaurant/le-petit-r12345")), nil},

	"linkedin-me":                       {lvFixed(lvIn()), nil},
	"linkedin-extract-connections":      {lvFixed(lvIn()), nil},
	"linkedin-extract-followers":        {lvFixed(lvIn()), nil},
	"linkedin-extract-profile-viewers":  {lvFixed(lvIn()), nil},
	"linkedin-extract-sent-invitations": {lvFixed(lvIn()), nil},
	"linkedin-accept-invitations":       {lvFixed(lvIn()), nil},
	"linkedin-withdraw-invitations":     {lvFixed(lvIn()), nil},
	"linkedin-extract-conversations":    {lvFixed(lvIn()), nil},
	"linkedin-extract-messages":         {lvThread("linkedin_thread_url"), nil},
	"linkedin-extract-messages-legacy":  {lvThread("linkedin_thread_url"), nil},
	"linkedin-archive-message":          {lvThread("linkedin_thread_id"), nil},
	"linkedin-mark-message-as-read":     {lvThread("linkedin_thread_id"), nil},
	"linkedin-message-profile": {func(f lvFix, _ int) map[string]any { return lvIn("linkedin_profile_url", f.connection) },
		map[string]any{"message": "Hello from the test", "files": []any{map[string]any{"filename": "deck.pdf", "file_data": "JVBERi0xLjQK"}}}},
	"linkedin-inmail-profile":                     {lvPeople("linkedin_profile_url"), map[string]any{"subject": "Hi", "message": "An InMail"}},
	"linkedin-extract-people":                     {lvPeople("linkedin_profile_url"), nil},
	"linkedin-visit-profile":                      {lvPeople("linkedin_profile_url"), nil},
	"linkedin-extract-contact":                    {lvPeople("linkedin_profile_url"), nil},
	"linkedin-extract-licenses-certifications":    {lvPeople("linkedin_profile_url"), nil},
	"linkedin-extract-people-post-activity":       {lvPeople("linkedin_profile_url"), nil},
	"linkedin-extract-people-comment-activity":    {lvPeople("linkedin_profile_url"), nil},
	"linkedin-extract-people-reaction-activity":   {lvPeople("linkedin_profile_url"), nil},
	"linkedin-follow-profile":                     {lvPeople("linkedin_profile_url"), nil},
	"linkedin-connect-profile":                    {lvPeople("linkedin_profile_url"), map[string]any{"message": "Let's connect"}},
	"linkedin-peopleid-from-salesnavigatorid":     {func(f lvFix, _ int) map[string]any { return lvIn("sales_navigator_profile_id", f.snid) }, nil},
	"linkedin-extract-company":                    {lvCompanies("linkedin_company_url"), nil},
	"linkedin-visit-company":                      {lvCompanies("linkedin_company_url"), nil},
	"linkedin-extract-company-affiliates":         {lvCompanies("linkedin_company_url"), nil},
	"linkedin-extract-similar-companies":          {lvCompanies("linkedin_company_url"), nil},
	"linkedin-extract-company-employees-insights": {lvCompanies("linkedin_company_url"), map[string]any{"affiliates": true}},
	"linkedin-extract-page-followers":             {lvCompanies("linkedin_company_url"), nil},
	"linkedin-search-company-employees":           {lvCompanies("linkedin_company_url"), nil},
	"linkedin-extract-school-alumnis":             {func(f lvFix, _ int) map[string]any { return lvIn("linkedin_school_url", f.school) }, nil},
	"linkedin-extract-post":                       {func(f lvFix, _ int) map[string]any { return lvIn("linkedin_post_url", f.post) }, nil},
	"linkedin-extract-post-likers":                {func(f lvFix, _ int) map[string]any { return lvIn("linkedin_post_url", f.post) }, nil},
	"linkedin-extract-post-commenters": {func(f lvFix, i int) map[string]any {
		if i == 0 {
			return lvIn("linkedin_post_url", f.post)
		}
		return lvIn("linkedin_post_url", fmt.Sprintf("https://www.linkedin.com/posts/someone_post-%d", i))
	}, nil},
	"linkedin-like-post":               {func(f lvFix, _ int) map[string]any { return lvIn("linkedin_post_url", f.post) }, map[string]any{"interaction_type": "celebrate"}},
	"linkedin-comment-post":            {func(f lvFix, _ int) map[string]any { return lvIn("linkedin_post_url", f.post) }, map[string]any{"comment": "Nice one"}},
	"linkedin-extract-event":           {func(f lvFix, _ int) map[string]any { return lvIn("linkedin_event_url", f.event) }, nil},
	"linkedin-extract-event-attendees": {func(f lvFix, _ int) map[string]any { return lvIn("linkedin_event_url", f.event) }, nil},
	"linkedin-invite-event": {func(f lvFix, _ int) map[string]any {
		return lvIn("linkedin_event_url", f.event, "linkedin_profile_url", f.connection)
	}, nil},
	"linkedin-extract-group-members": {func(f lvFix, _ int) map[string]any { return lvIn("linkedin_group_url", f.group) }, nil},
	"linkedin-extract-job":           {func(f lvFix, _ int) map[string]any { return lvIn("linkedin_job_url", f.job) }, nil},
	"linkedin-search-people":         {lvFixed(lvIn("linkedin_people_search_url", "https://www.linkedin.com/search/results/people/?keywords=product%20manager&origin=GLOBAL_SEARCH_HEADER")), nil},
	"linkedin-search-companies":      {lvFixed(lvIn("linkedin_company_search_url", "https://www.linkedin.com/search/results/companies/?keywords=labs")), nil},
	"linkedin-search-schools":        {lvFixed(lvIn("linkedin_school_search_url", "https://www.linkedin.com/search/results/schools/?keywords=university")), nil},
	"linkedin-search-groups":         {lvFixed(lvIn("linkedin_group_search_url", "https://www.linkedin.com/search/results/groups/?keywords=network")), nil},
	"linkedin-search-events":         {lvFixed(lvIn("linkedin_event_search_url", "https://www.linkedin.com/search/results/events/?keywords=summit")), nil},
	"linkedin-search-jobs":           {lvFixed(lvIn("linkedin_job_search_url", "https://www.linkedin.com/jobs/search/?keywords=engineer&location=Paris")), nil},
	"linkedin-search-content":        {lvFixed(lvIn("linkedin_content_search_url", "https://www.linkedin.com/search/results/content/?keywords=hiring")), nil},

	"salesnavigator-visit-profile": {func(f lvFix, _ int) map[string]any {
		return lvIn("sales_navigator_profile_url", "https://www.linkedin.com/sales/lead/"+f.snid+",NAME_SEARCH,abcd")
	}, nil},
	"salesnavigator-connect-profile": {func(f lvFix, _ int) map[string]any {
		return lvIn("sales_navigator_profile_url", "https://www.linkedin.com/sales/people/"+f.snid+",NAME_SEARCH,abcd")
	}, map[string]any{"message": "Hello"}},
	"salesnavigator-inmail-profile": {func(f lvFix, _ int) map[string]any {
		return lvIn("sales_navigator_profile_url", "https://www.linkedin.com/sales/lead/"+f.snid+",NAME_SEARCH,abcd")
	}, map[string]any{"subject": "Quick question", "message": "Do you have a minute?"}},
	"salesnavigator-visit-company":                  {lvFixed(lvIn("sales_navigator_company_url", "https://www.linkedin.com/sales/company/acme")), nil},
	"salesnavigator-extract-employees-count":        {lvFixed(lvIn("sales_navigator_company_url", "https://www.linkedin.com/sales/company/acme")), nil},
	"salesnavigator-extract-employees-distribution": {lvFixed(lvIn("sales_navigator_company_url", "https://www.linkedin.com/sales/company/acme")), nil},
	"salesnavigator-search-metrics":                 {lvFixed(lvIn("sales_navigator_company_id", "12345")), nil},
	"salesnavigator-search-company-employees":       {lvFixed(lvIn("sales_navigator_company_url", "https://www.linkedin.com/sales/company/acme")), nil},
	"salesnavigator-search-people":                  {lvFixed(lvIn("sales_navigator_profile_search_url", "https://www.linkedin.com/sales/search/people?query=(keywords%3Asales)")), nil},
	"salesnavigator-search-companies":               {lvFixed(lvIn("sales_navigator_company_search_url", "https://www.linkedin.com/sales/search/company?query=(keywords%3Alabs)")), nil},
	"salesnavigator-extract-leads-list":             {lvFixed(lvIn("sales_navigator_profile_list_url", "https://www.linkedin.com/sales/lists/people/7012345678901234567?sortCriteria=CREATED_TIME")), nil},
	"salesnavigator-extract-accounts-list":          {lvFixed(lvIn("sales_navigator_company_list_url", "https://www.linkedin.com/sales/lists/company/7012345678901234568")), nil},
	"recruiterlite-search-people":                   {lvFixed(lvIn("linkedin_recruiter_search_url", "https://www.linkedin.com/talent/search?keywords=designer")), nil},
}

// lvSimulated says whether the embedded simulator serves the action's platform.
func lvSimulated(a *catalog.Action) bool {
	fam := a.Platform
	switch fam {
	case "salesnavigator", "recruiterlite":
		fam = "linkedin"
	}
	for _, f := range simdriver.Families() {
		if f == fam {
			return true
		}
	}
	return false
}

// lvLevelOf is the sandbox account an action runs with: the lowest level
// that serves it.
func lvLevelOf(a *catalog.Action) string {
	switch {
	case a.Integration == "salesnavigator":
		return "sim_salesnav"
	case a.Integration == "recruiterlite":
		return "sim_recruiter"
	case a.Slug == "linkedin-inmail-profile":
		return "sim_premium" // InMail needs a paid subscription
	}
	return "sim_classic"
}

// lvWorld discovers world entities through the live API.
func lvWorld(t *testing.T, env *apitest.Env, key, uid string) lvFix {
	t.Helper()
	first := func(slug string, input map[string]any) map[string]any {
		t.Helper()
		r := lvLive(env, key, slug, map[string]any{"input": input, "identity_ids": []string{uid}}, "")
		arr := r.Arr()
		if r.Status != 200 || len(arr) == 0 {
			t.Fatalf("fixture %s: %d %s", slug, r.Status, lvTrunc(r.Body))
		}
		return arr[0].(map[string]any)
	}
	var f lvFix
	emp := first("linkedin-search-company-employees", lvIn("linkedin_company_url", "https://www.linkedin.com/company/acme/"))
	f.profile, f.company, f.snid = emp["linkedin_profile_url"].(string), emp["linkedin_company_url"].(string), emp["sales_navigator_profile_id"].(string)
	f.post = first("linkedin-extract-people-post-activity", lvIn("linkedin_profile_url", f.profile))["linkedin_post_url"].(string)
	f.event = first("linkedin-search-events", lvIn("linkedin_event_search_url", "https://www.linkedin.com/search/results/events/?keywords=summit"))["linkedin_event_url"].(string)
	f.group = first("linkedin-search-groups", lvIn("linkedin_group_search_url", "https://www.linkedin.com/search/results/groups/?keywords=network"))["linkedin_group_url"].(string)
	f.job = first("linkedin-search-jobs", lvIn("linkedin_job_search_url", "https://www.linkedin.com/jobs/search/?keywords=engineer"))["linkedin_job_url"].(string)
	f.school = first("linkedin-search-schools", lvIn("linkedin_school_search_url", "https://www.linkedin.com/search/results/schools/?keywords=university"))["linkedin_school_url"].(string)
	return f
}

// lvAccountFix adds the running account's own thread and connection.
func lvAccountFix(t *testing.T, env *apitest.Env, key, uid string, f lvFix) lvFix {
	t.Helper()
	for _, slug := range []string{"linkedin-extract-conversations", "linkedin-extract-connections"} {
		r := lvLive(env, key, slug, map[string]any{"identity_ids": []string{uid}}, "")
		arr := r.Arr()
		if r.Status != 200 || len(arr) == 0 {
			t.Fatalf("fixture %s: %d %s", slug, r.Status, lvTrunc(r.Body))
		}
		m := arr[0].(map[string]any)
		if slug == "linkedin-extract-conversations" {
			f.thread = m["linkedin_thread_id"].(string)
		} else {
			f.connection = m["linkedin_profile_url"].(string)
		}
	}
	return f
}

// lvSimThread asks the simulator directly for the first thread of the
// account behind an li_at cookie.
func lvSimThread(t *testing.T, env *apitest.Env, cookie string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", env.App.SimURL+"/linkedin/conversations?count=1", nil)
	req.AddCookie(&http.Cookie{Name: "li_at", Value: cookie})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Elements []struct {
			ThreadID string `json:"threadId"`
		} `json:"elements"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || len(body.Elements) == 0 {
		t.Fatalf("sim conversations of %s: %v %d", cookie, err, res.StatusCode)
	}
	return body.Elements[0].ThreadID
}

// TestLiveEverySlug runs every catalogue action live through
// POST /v4/actions/{slug}/run/live against the embedded simulator, in each
// identity mode the action allows, and checks each 200 body against the
// catalogue's output fields. Modes the action refuses must answer 400.
func TestLiveEverySlug(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		env := lvStart(t, dialect, func(a *app.App) { a.Engine.LockWait = time.Minute })
		// The reference's 71 actions run on the simulated platforms; the
		// catalogue's extensions on other upstreams (HubSpot) are tested
		// with their own driver.
		var all []*catalog.Action
		for _, a := range catalog.All() {
			if lvSimulated(a) {
				all = append(all, a)
			}
		}
		if len(all) != 71 {
			t.Fatalf("catalogue has %d actions on the simulated platforms, the reference 71", len(all))
		}
		// One workspace per account level, each with one identity: auto mode
		// then has exactly one account to pick.
		type wsp struct{ key, uid string }
		wss := map[string]wsp{}
		for _, cookie := range []string{"sim_classic", "sim_premium", "sim_salesnav", "sim_recruiter"} {
			key := env.NewWorkspace("Every slug "+strings.TrimPrefix(cookie, "sim_"), "unlimited")
			// The test is about shapes, not Smart Limits: lift the maxima a new
			// identity's ramp-up would hit after a few dozen calls.
			env.Must(200, "PUT", "/v4/workspaces/settings", key, map[string]any{"smart_limit_overrides": apitest.WithoutProtections(map[string]any{
				"profile_visits": 2000, "search_pages": 5000, "search_results": 100000, "connection_requests": map[string]any{"24h": 500, "7d": 2000},
				"inmails": 500, "messages": 2000, "contact_info": 500})})
			wss[cookie] = wsp{key, lvIdentity(t, env, key, "Every slug "+cookie, cookie)}
		}
		cl := wss["sim_classic"]
		world := lvWorld(t, env, cl.key, cl.uid)
		fixes := map[string]lvFix{}
		for cookie, w := range wss {
			if cookie == "sim_recruiter" {
				fixes[cookie] = world
				continue
			}
			fixes[cookie] = lvAccountFix(t, env, w.key, w.uid, world)
		}
		// A fresh workspace with no identity at all: managed mode needs no setup.
		fresh := env.NewWorkspace("Every slug fresh", "unlimited")

		for _, a := range all {
			s, ok := lvSamples[a.Slug]
			if !ok {
				t.Errorf("no sample input for %s", a.Slug)
				continue
			}
			t.Run(a.Slug, func(t *testing.T) {
				cookie := lvLevelOf(a)
				w, f := wss[cookie], fixes[cookie]
				ids := a.AcceptsIdentityIn("live")
				body := func(input map[string]any, extra map[string]any) map[string]any {
					b := map[string]any{}
					if a.LiveInput {
						b["input"] = input
					}
					if s.params != nil {
						b["parameters"] = s.params
					}
					for k, v := range extra {
						b[k] = v
					}
					return b
				}
				// Find an input with results (direct mode, or no identity).
				first := map[string]any{}
				if a.NeedsIdentity {
					first["identity_ids"] = []string{w.uid}
					if ids.Mode {
						first["identity_mode"] = "direct"
					}
				}
				var input map[string]any
				var r apitest.Resp
				n := 0
				for i := 0; i < 25; i++ {
					input = s.input(f, i)
					r = lvLive(env, w.key, a.Slug, body(input, first), "")
					if n = lvCheckBody(t, a, r); n > 0 {
						break
					}
				}
				if n == 0 {
					t.Fatalf("no results in 25 tries")
				}
				lvCheckRun(t, env, w.key, r, a.Slug, "SUCCEEDED", n, "")

				// Every non-list action whose run is not a write may repeat;
				// writes that consume a list (accept, withdraw) may come back empty.
				drains := a.Slug == "linkedin-accept-invitations" || a.Slug == "linkedin-withdraw-invitations"
				check := func(mode string, r apitest.Resp) {
					t.Helper()
					if r.Status != 200 {
						t.Fatalf("%s mode: %d %s", mode, r.Status, lvTrunc(r.Body))
					}
					if got := lvCheckBody(t, a, r); got == 0 && !drains {
						t.Fatalf("%s mode: no results", mode)
					}
				}

				if !a.NeedsIdentity {
					if !ids.IDs {
						// The reference refuses identity fields on these bodies.
						r := lvLive(env, w.key, a.Slug, body(input, map[string]any{"identity_ids": []string{w.uid}}), "")
						p := lvErr(t, "identity_ids on "+a.Slug, r, 400, "BAD_INPUT")
						_ = p
						if msg, _ := r.Obj()["message"].(string); msg != "body must NOT have additional properties (identity_ids)" {
							t.Fatalf("message %q", msg)
						}
						r = lvLive(env, w.key, a.Slug, body(input, map[string]any{"identity_mode": "auto"}), "")
						lvErr(t, "identity_mode on "+a.Slug, r, 400, "BAD_INPUT")
						return
					}
					// Identity fields are accepted and ignored.
					check("direct", lvLive(env, w.key, a.Slug, body(input, map[string]any{"identity_ids": []string{w.uid}}), ""))
					check("auto", lvLive(env, w.key, a.Slug, body(input, map[string]any{"identity_mode": "auto"}), ""))
					check("managed", lvLive(env, fresh, a.Slug, body(input, map[string]any{"identity_mode": "managed", "identity_ids": []string{}}), ""))
					return
				}
				if !ids.Mode {
					// linkedin-me: direct only; identity_mode is not part of its body.
					r := lvLive(env, w.key, a.Slug, body(input, map[string]any{"identity_ids": []string{w.uid}, "identity_mode": "auto"}), "")
					lvErr(t, "identity_mode on "+a.Slug, r, 400, "BAD_INPUT")
					return
				}
				check("auto", lvLive(env, w.key, a.Slug, body(input, map[string]any{"identity_mode": "auto"}), ""))
				managed := body(input, map[string]any{"identity_mode": "managed", "identity_ids": []string{}})
				if !a.ManagedAllowed() {
					r := lvLive(env, fresh, a.Slug, managed, "")
					lvErr(t, "managed "+a.Kind, r, 400, "BAD_INPUT")
					lvCheckRunAbsent(t, env, fresh, r)
					return
				}
				r = lvLive(env, fresh, a.Slug, managed, "")
				check("managed", r)
				lvCheckRun(t, env, fresh, r, a.Slug, "SUCCEEDED", lvCount(a, r), "")
			})
		}
	})
}

// lvCount is the number of results of a 200 live body.
func lvCount(a *catalog.Action, r apitest.Resp) int {
	if a.ListOutput {
		return len(r.Arr())
	}
	return 1
}

// lvCheckRunAbsent: a request refused before it runs records no run.
func lvCheckRunAbsent(t testing.TB, env *apitest.Env, key string, r apitest.Resp) {
	t.Helper()
	if uid := r.Header.Get("X-Run-Uid"); uid != "" {
		runs := env.Must(200, "GET", "/v4/runs?uid[]="+uid, key, nil).Arr()
		if len(runs) != 0 {
			t.Fatalf("a body refused with 400 recorded a run: %v", runs)
		}
	}
}
