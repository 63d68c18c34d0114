package simdriver

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

// TestTheSandboxAnswersForTheEntityAsked: an extraction by a URL the
// simulated world does not hold returns that entity, at that URL, named
// after it, the same every time, and agreeing with the other ways of
// reaching it. Every expected value here is read off the URL asked.
func TestTheSandboxAnswersForTheEntityAsked(t *testing.T) {
	data := filepath.Join(t.TempDir(), "sim.jsonl")
	e := newEnv(t, sim.Config{Seed: 11, DataFile: data})
	cred := cookie("sim_salesnav")
	one := func(slug, field, u string) map[string]any {
		t.Helper()
		r := e.must(cred, slug, in(field, u), nil)
		if len(r) == 0 {
			t.Fatalf("%s %s: no result", slug, u)
		}
		return r[0]
	}

	// People: /in/ada-lovelace is Ada Lovelace.
	const ada = "https://www.linkedin.com/in/ada-lovelace/"
	p := one("linkedin-extract-people", "linkedin_profile_url", ada)
	if p["linkedin_profile_url"] != ada || p["first_name"] != "Ada" || p["last_name"] != "Lovelace" ||
		p["full_name"] != "Ada Lovelace" || p["linkedin_profile_handle"] != "ada-lovelace" {
		t.Fatalf("extract %s: %v %v %v", ada, p["linkedin_profile_url"], p["full_name"], p["linkedin_profile_handle"])
	}
	if q := one("linkedin-extract-people", "linkedin_profile_url", strings.TrimSuffix(ada, "/")); q["linkedin_profile_id"] != p["linkedin_profile_id"] ||
		q["linkedin_profile_url"] != ada {
		t.Errorf("without the trailing slash: %v %v", q["linkedin_profile_url"], q["linkedin_profile_id"])
	}
	if g := one("linkedin-extract-people", "linkedin_profile_url", "https://www.linkedin.com/in/Grace-Hopper-1906"); g["full_name"] != "Grace Hopper" ||
		g["linkedin_profile_url"] != "https://www.linkedin.com/in/grace-hopper-1906/" || g["linkedin_profile_id"] == p["linkedin_profile_id"] {
		t.Errorf("/in/Grace-Hopper-1906: %v at %v", g["full_name"], g["linkedin_profile_url"])
	}
	// The same answer from another simulator with the same seed.
	e2 := newEnv(t, sim.Config{Seed: 11})
	again := e2.must(cred, "linkedin-extract-people", in("linkedin_profile_url", ada), nil)[0]
	if a, b := mustJSON(t, p), mustJSON(t, again); a != b {
		t.Errorf("the same URL on the same seed gave another profile:\n%s\n%s", a, b)
	}
	// Its Sales Navigator URL and id lead back to Ada.
	lead := one("salesnavigator-visit-profile", "sales_navigator_profile_url",
		"https://www.linkedin.com/sales/lead/"+p["sales_navigator_profile_id"].(string)+",NAME_SEARCH,abcd")
	if lead["sales_navigator_profile_id"] != p["sales_navigator_profile_id"] {
		t.Errorf("Ada's Sales Navigator URL visits %v", lead["sales_navigator_profile_id"])
	}
	id := e.must(platform.Credentials{}, "linkedin-peopleid-from-salesnavigatorid", in("sales_navigator_profile_id", p["sales_navigator_profile_id"]), nil)[0]
	if id["linkedin_profile_id"] != p["linkedin_profile_id"] {
		t.Errorf("Ada's Sales Navigator id resolves to member %v, not %v", id["linkedin_profile_id"], p["linkedin_profile_id"])
	}
	// A connection request goes to Ada, and stays hers after a restart.
	sent := e.must(cookie("sim_premium"), "linkedin-connect-profile", in("linkedin_profile_url", ada), map[string]any{"message": "Hello Ada"})[0]
	if sent["sales_navigator_profile_id"] != p["sales_navigator_profile_id"] || sent["pending"] != "true" {
		t.Errorf("connect to Ada answered for %v", sent)
	}
	checkSent := func(e *env) {
		t.Helper()
		list := e.must(cookie("sim_premium"), "linkedin-extract-sent-invitations", nil, nil)
		if len(list) == 0 || list[0]["sales_navigator_profile_id"] != p["sales_navigator_profile_id"] ||
			(list[0]["linkedin_profile_url"] != nil && list[0]["linkedin_profile_url"] != ada) ||
			(list[0]["full_name"] != nil && list[0]["full_name"] != "Ada Lovelace") {
			t.Errorf("the newest sent invitation: %v", list[0])
		}
	}
	checkSent(e)
	e.sim.Close()
	e = newEnv(t, sim.Config{Seed: 11, DataFile: data})
	checkSent(e)

	// Companies: /company/acme-robotics is Acme Robotics, and its employees work there.
	const acme = "https://www.linkedin.com/company/acme-robotics/"
	co := one("linkedin-extract-company", "linkedin_company_url", acme)
	if co["linkedin_company_url"] != acme || co["company_name"] != "Acme Robotics" {
		t.Fatalf("extract %s: %v at %v", acme, co["company_name"], co["linkedin_company_url"])
	}
	emps := e.must(cred, "linkedin-search-company-employees", in("linkedin_company_url", acme), nil)
	if len(emps) == 0 {
		t.Fatal("Acme Robotics has no employees")
	}
	for _, r := range emps[:min(3, len(emps))] {
		x := one("linkedin-extract-people", "linkedin_profile_url", r["linkedin_profile_url"].(string))
		if x["company_name"] != "Acme Robotics" || x["linkedin_company_url"] != acme || x["linkedin_profile_url"] != r["linkedin_profile_url"] {
			t.Errorf("employee %v extracts as %v at %v", r["linkedin_profile_url"], x["linkedin_profile_url"], x["company_name"])
		}
	}
	sn := one("salesnavigator-visit-company", "sales_navigator_company_url", co["sales_navigator_company_url"].(string))
	if fmt.Sprint(sn["sales_navigator_company_id"]) != fmt.Sprint(co["linkedin_company_id"]) {
		t.Errorf("Acme's Sales Navigator URL gives company %v, not %v", sn["sales_navigator_company_id"], co["linkedin_company_id"])
	}

	// Schools, posts, events, jobs, groups: the id or name in the URL.
	if al := one("linkedin-extract-school-alumnis", "linkedin_school_url", "https://www.linkedin.com/school/ecole-des-mines/"); al["school_name"] != "Ecole Des Mines" {
		t.Errorf("alumni of /school/ecole-des-mines are of %v", al["school_name"])
	}
	const post = "https://www.linkedin.com/feed/update/urn:li:activity:7200000000000000001/"
	if po := one("linkedin-extract-post", "linkedin_post_url", post); po["linkedin_post_url"] != post || fmt.Sprint(po["linkedin_post_id"]) != "7200000000000000001" {
		t.Errorf("extract %s: %v %v", post, po["linkedin_post_url"], po["linkedin_post_id"])
	}
	const event = "https://www.linkedin.com/events/7123456789012345678/"
	if ev := one("linkedin-extract-event", "linkedin_event_url", event); ev["linkedin_event_url"] != event || fmt.Sprint(ev["linkedin_event_id"]) != "7123456789012345678" {
		t.Errorf("extract %s: %v %v", event, ev["linkedin_event_url"], ev["linkedin_event_id"])
	}
	const job = "https://www.linkedin.com/jobs/view/3999999999/"
	if jb := one("linkedin-extract-job", "linkedin_job_url", job); jb["linkedin_job_url"] != job || fmt.Sprint(jb["linkedin_job_id"]) != "3999999999" {
		t.Errorf("extract %s: %v %v", job, jb["linkedin_job_url"], jb["linkedin_job_id"])
	}
	if gm := one("linkedin-extract-group-members", "linkedin_group_url", "https://www.linkedin.com/groups/9999999/"); fmt.Sprint(gm["linkedin_group_id"]) != "9999999" {
		t.Errorf("members of /groups/9999999 are of group %v", gm["linkedin_group_id"])
	}

	// Places: named after the Maps URL; its own URL leads back to it.
	pl := one("googlemaps-extract-place", "google_maps_place_url", "https://www.google.com/maps/place/Cafe+Lumiere/")
	if pl["place_name"] != "Cafe Lumiere" || !strings.HasPrefix(pl["google_maps_place_url"].(string), "https://www.google.com/maps/place/Cafe+Lumiere/") {
		t.Errorf("/maps/place/Cafe+Lumiere: %v at %v", pl["place_name"], pl["google_maps_place_url"])
	}
	if back := one("googlemaps-extract-place", "google_maps_place_url", pl["google_maps_place_url"].(string)); back["place_name"] != "Cafe Lumiere" ||
		back["google_maps_place_id"] != pl["google_maps_place_id"] {
		t.Errorf("the place's own URL gives %v (%v)", back["place_name"], back["google_maps_place_id"])
	}
	// TripAdvisor and TheFork: the page's name and URL.
	const hotel = "https://www.tripadvisor.com/Hotel_Review-g187147-d99999-Reviews-Hotel_Le_Marais-Paris_Ile_de_France.html"
	if h := one("tripadvisor-extract-hotel", "tripadvisor_hotel_url", hotel); h["name"] != "Hotel Le Marais" || h["property_url"] != hotel {
		t.Errorf("extract %s: %v at %v", hotel, h["name"], h["property_url"])
	}
	const fork = "https://www.thefork.com/restaurant/le-petit-bistro-r424242"
	if rv := e.must(platform.Credentials{}, "thefork-extract-reviews", in("thefork_reviews_url", fork), nil); len(rv) > 0 && rv[0]["property_url"] != fork {
		t.Errorf("reviews of %s are of %v", fork, rv[0]["property_url"])
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
