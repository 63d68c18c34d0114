package sim

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// A guest's answer depends on its key only: not on what was asked before,
// nor on the simulator's lifetime. Its ids lead back to it; an InMail to it
// opens a thread with it, kept across a restart.
func TestGuestsAnswerForTheirKey(t *testing.T) {
	_, fresh := newTestServer(t, Config{Seed: 5})
	want := fresh.get("/linkedin/profiles/ada-lovelace", "sim_classic")

	data := filepath.Join(t.TempDir(), "sim.jsonl")
	_, c := newTestServer(t, Config{Seed: 5, DataFile: data})
	for _, other := range []string{"grace-hopper", "alan-turing", "company-x"} {
		c.get("/linkedin/profiles/"+other, "sim_classic")
		c.get("/linkedin/companies/"+other, "sim_classic")
	}
	got := c.get("/linkedin/profiles/ADA-LOVELACE", "sim_classic")
	for _, f := range []string{"publicIdentifier", "profileUrl", "firstName", "lastName", "memberId", "salesNavId", "headline"} {
		if str(got, f) != str(want, f) {
			t.Errorf("%s: %q after other guests, %q on a fresh simulator", f, str(got, f), str(want, f))
		}
	}
	if str(got, "publicIdentifier") != "ada-lovelace" || str(got, "profileUrl") != "https://www.linkedin.com/in/ada-lovelace/" ||
		str(got, "firstName") != "Ada" || str(got, "lastName") != "Lovelace" {
		t.Fatalf("/in/ada-lovelace: %s %s at %s", str(got, "firstName"), str(got, "lastName"), str(got, "profileUrl"))
	}
	// Its member id and Sales Navigator id lead back to it.
	for _, id := range []string{str(got, "memberId"), str(got, "salesNavId")} {
		if back := c.get("/linkedin/profiles/"+id, "sim_classic"); str(back, "profileUrl") != str(got, "profileUrl") {
			t.Errorf("/linkedin/profiles/%s is %s", id, str(back, "profileUrl"))
		}
	}
	// Ada's posts are hers, and their ids lead back to them.
	posts := elements(c.get("/linkedin/profiles/ada-lovelace/posts", "sim_classic"))
	if len(posts) == 0 {
		t.Fatal("Ada has no posts")
	}
	for _, po := range posts {
		if str(po, "author", "profileUrl") != str(got, "profileUrl") {
			t.Errorf("a post of Ada's is by %s", str(po, "author", "profileUrl"))
		}
		back := c.get("/linkedin/posts/"+str(po, "activityId"), "sim_classic")
		if str(back, "url") != str(po, "url") || str(back, "author", "profileUrl") != str(got, "profileUrl") {
			t.Errorf("post %s extracts as %s by %s", str(po, "activityId"), str(back, "url"), str(back, "author", "profileUrl"))
		}
	}
	// A person of the world is still themselves, and "missing..." is still not found.
	world := elements(c.get("/linkedin/search/people?keywords=engineer&count=1", "sim_classic"))[0]
	if p := c.get("/linkedin/profiles/"+str(world, "publicIdentifier"), "sim_classic"); str(p, "memberId") != str(world, "memberId") {
		t.Errorf("a world handle gave member %s, not %s", str(p, "memberId"), str(world, "memberId"))
	}
	if st, _, _ := c.do("GET", "/linkedin/profiles/missing-someone", "sim_classic", nil); st != 404 {
		t.Errorf("missing-someone: %d", st)
	}

	// An InMail to Ada opens a thread with Ada, there after a restart.
	st, msg, _ := c.do("POST", "/linkedin/messages", "sim_premium", map[string]any{"recipient": "ada-lovelace", "text": "Hello Ada", "inmail": true})
	if st != 201 || str(msg, "recipient", "profileUrl") != str(got, "profileUrl") {
		t.Fatalf("InMail to Ada: %d %v", st, msg)
	}
	thread := str(msg, "threadId")
	check := func(c *client) {
		t.Helper()
		th := c.get("/linkedin/conversations/"+thread+"/messages", "sim_premium")
		if p := th["participant"].(map[string]any); str(p, "profileUrl") != str(got, "profileUrl") || str(p, "firstName") != "Ada" {
			t.Errorf("the thread is with %s %s", str(p, "firstName"), str(p, "profileUrl"))
		}
	}
	check(c)
	_, c2 := newTestServer(t, Config{Seed: 5, DataFile: data})
	check(c2)
}

// A guest company's employees are guests who work there: extracting one
// gives that company, and the company counts them all.
func TestGuestCompanyEmployeesWorkThere(t *testing.T) {
	_, c := newTestServer(t, Config{Seed: 8})
	co := c.get("/linkedin/companies/blue-harbor-foods", "sim_salesnav")["company"].(map[string]any)
	if str(co, "name") != "Blue Harbor Foods" || str(co, "url") != "https://www.linkedin.com/company/blue-harbor-foods/" {
		t.Fatalf("/company/blue-harbor-foods: %s at %s", str(co, "name"), str(co, "url"))
	}
	all := pageAll(t, c, "/linkedin/companies/blue-harbor-foods/employees", "sim_salesnav", 25)
	if len(all) == 0 || str(co, "staffCount") != jsonNumber(len(all)) {
		t.Fatalf("%d employees listed, staffCount %s", len(all), str(co, "staffCount"))
	}
	for _, e := range all[:min(5, len(all))] {
		p := c.get("/linkedin/profiles/"+str(e, "publicIdentifier"), "sim_salesnav")
		pos := p["positions"].([]any)[0].(map[string]any)
		if str(pos, "companyName") != "Blue Harbor Foods" || str(pos, "companyId") != str(co, "companyId") ||
			str(e, "companyName") != "Blue Harbor Foods" || str(p, "profileUrl") != str(e, "profileUrl") {
			t.Errorf("employee %s works at %s (%s)", str(e, "publicIdentifier"), str(pos, "companyName"), str(pos, "companyId"))
		}
	}
	// The company's id leads back to it.
	if back := c.get("/linkedin/companies/"+str(co, "companyId"), "sim_salesnav")["company"].(map[string]any); str(back, "name") != "Blue Harbor Foods" {
		t.Errorf("company %s is %s", str(co, "companyId"), str(back, "name"))
	}
}

func jsonNumber(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
