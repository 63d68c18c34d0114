package linkedin_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/linkedin"
	"github.com/firstmate-oss/firstmate/internal/sim"
)

// The actions issue 16 asks the session driver to run, and nothing else.
var coreActions = []string{
	"linkedin-accept-invitations", "linkedin-connect-profile", "linkedin-extract-company", "linkedin-extract-connections",
	"linkedin-extract-conversations", "linkedin-extract-messages", "linkedin-extract-people", "linkedin-extract-sent-invitations",
	"linkedin-me", "linkedin-message-profile", "linkedin-search-companies", "linkedin-search-people", "linkedin-visit-profile",
	"linkedin-withdraw-invitations",
}

func TestSupportsExactlyTheCoreActions(t *testing.T) {
	if got := linkedin.Actions(); !slices.Equal(got, coreActions) {
		t.Fatalf("Actions() = %v\nwant %v", got, coreActions)
	}
	for _, s := range coreActions {
		if !linkedin.Supports(s) {
			t.Errorf("Supports(%s) = false", s)
		}
	}
	for _, s := range []string{"linkedin-extract-post", "linkedin-like-post", "salesnavigator-search-people", "linkedin-follow-profile"} {
		if linkedin.Supports(s) {
			t.Errorf("Supports(%s) = true: the driver does not run it", s)
		}
	}
}

// Every action, through the driver against the sandbox's web-API face, gives
// outputs the reference output schema accepts.
func TestEveryActionMatchesTheReference(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 3})
	s := newSession(cookies("sim_premium"))
	var me map[string]any
	{
		pg := e.must(s, liveCall(t, "linkedin-me", nil))
		if len(pg.Results) != 1 {
			t.Fatalf("me: %d results", len(pg.Results))
		}
		me = pg.Results[0]
		for _, f := range []string{"id", "first_name", "last_name", "handle", "linkedin_profile_url", "premium_subscriber", "sales_navigator_profile_id", "object_urn"} {
			if _, ok := me[f]; !ok {
				t.Errorf("me lacks %s: %v", f, me)
			}
		}
		if me["premium_subscriber"] != true {
			t.Errorf("sim_premium: premium_subscriber = %v", me["premium_subscriber"])
		}
	}
	// a connection of the account: extract it, message it
	conns := e.must(s, liveCall(t, "linkedin-extract-connections", nil)).Results
	if len(conns) == 0 {
		t.Fatal("no connections")
	}
	friend := conns[0]["linkedin_profile_url"].(string)
	people := e.must(s, liveCall(t, "linkedin-extract-people", in("linkedin_profile_url", friend))).Results[0]
	for _, f := range []string{"first_name", "last_name", "full_name", "headline", "linkedin_profile_id", "sales_navigator_profile_id",
		"experiences", "education", "skills", "languages", "connection_degree", "number_connections", "number_followers", "company_name"} {
		if _, ok := people[f]; !ok {
			t.Errorf("extract-people lacks %s", f)
		}
	}
	if people["connection_degree"] != "1st" {
		t.Errorf("a connection's degree = %v, want 1st", people["connection_degree"])
	}
	// LinkedIn's profile answer carries no birth date, no open-to-work flag,
	// no thread: the output leaves them out rather than inventing them.
	for _, f := range []string{"birth_date", "open_to_work", "linkedin_thread_id", "connected_at"} {
		if v, ok := people[f]; ok {
			t.Errorf("extract-people invented %s = %v", f, v)
		}
	}
	if v := e.must(s, liveCall(t, "linkedin-visit-profile", in("linkedin_profile_url", friend))).Results[0]; v["sales_navigator_profile_id"] != people["sales_navigator_profile_id"] {
		t.Errorf("visit-profile id %v != extract-people id %v", v["sales_navigator_profile_id"], people["sales_navigator_profile_id"])
	}
	co := e.must(s, liveCall(t, "linkedin-extract-company", in("linkedin_company_url", people["linkedin_company_url"].(string)))).Results[0]
	if co["company_name"] != people["company_name"] {
		t.Errorf("company %v, the person works at %v", co["company_name"], people["company_name"])
	}
	sp := e.must(s, liveCall(t, "linkedin-search-people", in("linkedin_people_search_url", "https://www.linkedin.com/search/results/people/?keywords=engineer")))
	if len(sp.Results) != 10 || !sp.More {
		t.Errorf("search-people: %d results, more=%v", len(sp.Results), sp.More)
	}
	sc := e.must(s, liveCall(t, "linkedin-search-companies", in("linkedin_company_search_url", "https://www.linkedin.com/search/results/companies/?keywords=software")))
	if len(sc.Results) == 0 {
		t.Error("search-companies: nothing")
	}
	convs := e.must(s, liveCall(t, "linkedin-extract-conversations", nil)).Results
	if len(convs) == 0 {
		t.Fatal("no conversations")
	}
	msgs := e.must(s, liveCall(t, "linkedin-extract-messages", in("linkedin_thread_url", convs[0]["linkedin_thread_url"].(string)))).Results
	if len(msgs) == 0 {
		t.Error("no messages in the newest conversation")
	}
	e.must(s, liveCall(t, "linkedin-extract-sent-invitations", nil))
	sent := e.must(s, liveCall(t, "linkedin-message-profile", map[string]any{"input": map[string]any{"linkedin_profile_url": friend},
		"parameters": map[string]any{"message": "Hello from the session driver"}})).Results[0]
	if sent["is_sent"] != true || sent["message"] != "Hello from the session driver" || sent["linkedin_thread_id"] == nil {
		t.Errorf("message-profile: %v", sent)
	}
	// the message is in the thread, read back through the driver
	back := e.must(s, liveCall(t, "linkedin-extract-messages", in("linkedin_thread_url", sent["linkedin_thread_url"].(string)))).Results
	if last := back[len(back)-1]; last["content"] != "Hello from the session driver" || last["message_id"] != sent["linkedin_message_id"] {
		t.Errorf("the sent message does not read back last: %v", last)
	}
	acc := e.must(s, liveCall(t, "linkedin-accept-invitations", nil)).Results
	if len(acc) == 0 {
		t.Error("no invitation accepted")
	}
	wd := e.must(s, liveCall(t, "linkedin-withdraw-invitations", nil)).Results
	if len(wd) == 0 {
		t.Error("no invitation withdrawn")
	}
}

func TestLevels(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 4})
	for cookie, want := range map[string]string{"sim_classic": platform.LevelClassic, "sim_premium": platform.LevelPremium,
		"sim_salesnav": platform.LevelSalesNav, "sim_recruiter": platform.LevelRecruiter} {
		acc, err := e.d.Me(context.Background(), e.ts.Client(), cookies(cookie))
		if err != nil {
			t.Fatalf("%s: %v", cookie, err)
		}
		if acc.Level != want {
			t.Errorf("%s: level %q, want %q", cookie, acc.Level, want)
		}
		// the account as the simulator's own face describes it
		var me struct {
			Profile struct {
				FirstName, LastName, PublicIdentifier string
				MemberID                              int64
			}
		}
		e.simJSON(cookie, "/linkedin/me", &me)
		if acc.Name != me.Profile.FirstName+" "+me.Profile.LastName || acc.ExternalID != fmt.Sprint(me.Profile.MemberID) ||
			!strings.Contains(acc.Permalink, "/in/"+me.Profile.PublicIdentifier) {
			t.Errorf("%s: account %+v, the sandbox says %+v", cookie, acc, me.Profile)
		}
	}
}

// Connect: a new person gets an invitation (pending), a second request is
// reported pending again (LinkedIn refuses to resend), a connection is
// reported connected without a new invitation.
func TestConnect(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 5})
	s := newSession(cookies("sim_premium"))
	var stranger string
	sp := e.must(s, liveCall(t, "linkedin-search-people", in("linkedin_people_search_url", "https://www.linkedin.com/search/results/people/?keywords=manager")))
	for _, r := range sp.Results {
		if r["connection_degree"] != "1st" {
			stranger = r["linkedin_profile_url"].(string)
			break
		}
	}
	if stranger == "" {
		t.Fatal("no stranger found")
	}
	call := liveCall(t, "linkedin-connect-profile", map[string]any{"input": map[string]any{"linkedin_profile_url": stranger},
		"parameters": map[string]any{"message": "Glad to connect"}})
	first := e.must(s, call).Results[0]
	if first["pending"] != "true" || first["connected"] != false {
		t.Fatalf("first request: %v", first)
	}
	var runtime struct {
		Runtime map[string]struct {
			Invitations int `json:"invitations_today"`
		} `json:"runtime"`
	}
	e.simJSON("", "/_sim/stats", &runtime)
	if runtime.Runtime["premium"].Invitations != 1 {
		t.Fatalf("the sandbox counted %d invitations", runtime.Runtime["premium"].Invitations)
	}
	again := e.must(s, call).Results[0]
	if again["pending"] != "true" || again["recently_declined"] != false {
		t.Errorf("second request: %v", again)
	}
	sent := e.must(s, liveCall(t, "linkedin-extract-sent-invitations", nil)).Results
	found := false
	for _, r := range sent {
		found = found || r["linkedin_profile_url"] == stranger
	}
	if !found {
		t.Errorf("the invitation is not among the sent ones")
	}
	conns := e.must(s, liveCall(t, "linkedin-extract-connections", nil)).Results
	c := e.must(s, liveCall(t, "linkedin-connect-profile", in("linkedin_profile_url", conns[0]["linkedin_profile_url"].(string)))).Results[0]
	if c["connected"] != true || c["pending"] != "false" {
		t.Errorf("connection: %v", c)
	}
	e.simJSON("", "/_sim/stats", &runtime)
	if runtime.Runtime["premium"].Invitations != 1 {
		t.Errorf("the sandbox counted %d invitations, want still 1", runtime.Runtime["premium"].Invitations)
	}
	// a note over LinkedIn's 300 characters is refused before anything is sent
	long := liveCall(t, "linkedin-connect-profile", map[string]any{"input": map[string]any{"linkedin_profile_url": stranger},
		"parameters": map[string]any{"message": strings.Repeat("x", 301)}})
	if _, err := e.run(s, long); err == nil || !strings.Contains(err.Error(), "300") {
		t.Errorf("a 301-character note: %v", err)
	}
}

// The session driver does not upload attachments: a message with files is
// refused, never sent without them.
func TestMessageWithFilesIsRefused(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 6})
	s := newSession(cookies("sim_premium"))
	conns := e.must(s, liveCall(t, "linkedin-extract-connections", nil)).Results
	call := liveCall(t, "linkedin-message-profile", map[string]any{"input": map[string]any{"linkedin_profile_url": conns[0]["linkedin_profile_url"]},
		"parameters": map[string]any{"message": "hi", "files": []any{map[string]any{"filename": "a.pdf", "file_data": "aGVsbG8="}}}})
	e.reset()
	if _, err := e.run(s, call); label(err) != "BAD_PARAMETERS" {
		t.Fatalf("files: %v", err)
	}
	for _, r := range e.requests() {
		if r.Method != "GET" {
			t.Errorf("a write went out: %s %s", r.Method, r.Path)
		}
	}
}

// Pagination runs to the end and the two faces of the sandbox agree.
func TestPaginationToTheEnd(t *testing.T) {
	e := newEnv(t, sim.Config{Seed: 7})
	s := newSession(cookies("sim_classic"))
	var conns struct {
		Paging struct{ Total int }
	}
	e.simJSON("sim_classic", "/linkedin/connections?count=1", &conns)
	got := e.all(s, liveCall(t, "linkedin-extract-connections", nil), 100)
	if len(got) != conns.Paging.Total {
		t.Errorf("connections: %d through the driver, %d in the sandbox", len(got), conns.Paging.Total)
	}
	seenURL := map[string]bool{}
	for _, r := range got {
		u := r["linkedin_profile_url"].(string)
		if seenURL[u] {
			t.Errorf("connection %s twice", u)
		}
		seenURL[u] = true
	}

	var inbox struct {
		Paging   struct{ Total int }
		Elements []struct{ ThreadID string }
	}
	e.simJSON("sim_classic", "/linkedin/conversations?count=100", &inbox)
	convs := e.all(s, liveCall(t, "linkedin-extract-conversations", nil), 20)
	if len(convs) != inbox.Paging.Total {
		t.Errorf("conversations: %d through the driver, %d in the sandbox", len(convs), inbox.Paging.Total)
	}
	for i := range min(len(convs), len(inbox.Elements)) {
		if convs[i]["linkedin_thread_id"] != inbox.Elements[i].ThreadID {
			t.Errorf("conversation %d: %v, the sandbox lists %s", i, convs[i]["linkedin_thread_id"], inbox.Elements[i].ThreadID)
			break
		}
	}
	var unread int
	for _, c := range convs {
		if c["read"] == false {
			unread++
		}
	}
	onlyUnread := e.all(s, liveCall(t, "linkedin-extract-conversations", map[string]any{"parameters": map[string]any{"read": false}}), 20)
	if len(onlyUnread) != unread {
		t.Errorf("read=false: %d conversations, %d are unread", len(onlyUnread), unread)
	}

	// a long thread: write 25 messages, then read them all back in order
	friend := got[0]["linkedin_profile_url"].(string)
	var thread string
	for i := range 25 {
		r := e.must(s, liveCall(t, "linkedin-message-profile", map[string]any{"input": map[string]any{"linkedin_profile_url": friend},
			"parameters": map[string]any{"message": fmt.Sprintf("message %02d", i)}})).Results[0]
		thread = r["linkedin_thread_url"].(string)
	}
	var simThread struct {
		Paging   struct{ Total int }
		Elements []struct{ MessageID string }
	}
	tid := strings.TrimSuffix(strings.TrimPrefix(thread, "https://www.linkedin.com/messaging/thread/"), "/")
	e.simJSON("sim_classic", "/linkedin/conversations/"+url.PathEscape(tid)+"/messages?count=100", &simThread)
	msgs := e.all(s, liveCall(t, "linkedin-extract-messages", in("linkedin_thread_url", thread)), 10)
	if len(msgs) != simThread.Paging.Total {
		t.Fatalf("messages: %d through the driver, %d in the sandbox", len(msgs), simThread.Paging.Total)
	}
	positions := map[int64]bool{}
	ids := map[string]bool{}
	for _, m := range msgs {
		positions[m["position"].(int64)] = true
		ids[m["message_id"].(string)] = true
	}
	for i, m := range simThread.Elements {
		if !positions[int64(i)] {
			t.Errorf("no message at position %d", i)
		}
		if !ids[m.MessageID] {
			t.Errorf("message %s missing", m.MessageID)
		}
	}

	var sentSim struct {
		Paging struct{ Total int }
	}
	e.simJSON("sim_classic", "/linkedin/invitations/sent?count=1", &sentSim)
	sentCall := liveCall(t, "linkedin-extract-sent-invitations", nil)
	sentCall.PageSize = 3 // a smaller page than LinkedIn's, to page several times
	if got := e.all(s, sentCall, 20); len(got) != sentSim.Paging.Total {
		t.Errorf("sent invitations: %d through the driver, %d in the sandbox", len(got), sentSim.Paging.Total)
	}

	// a search of a small company's employees, to its last page
	co := e.must(s, liveCall(t, "linkedin-extract-company", in("linkedin_company_url", companyOf(t, e, s, got)))).Results[0]
	id := fmt.Sprint(co["linkedin_company_id"])
	var simSearch struct {
		Elements []struct{ MemberID int64 }
		Metadata map[string]any
	}
	var want []int64
	for start := 0; ; start += 10 {
		simSearch.Elements, simSearch.Metadata = nil, nil
		e.simJSON("sim_classic", fmt.Sprintf("/linkedin/search/people?currentCompany=%s&start=%d&count=10", id, start), &simSearch)
		for _, el := range simSearch.Elements {
			want = append(want, el.MemberID)
		}
		if simSearch.Metadata == nil {
			break
		}
	}
	res := e.all(s, liveCall(t, "linkedin-search-people", in("linkedin_people_search_url",
		"https://www.linkedin.com/search/results/people/?currentCompany="+url.QueryEscape(`["`+id+`"]`))), 30)
	var gotIDs []int64
	for _, r := range res {
		gotIDs = append(gotIDs, r["linkedin_profile_id"].(int64))
	}
	if !slices.Equal(gotIDs, want) {
		t.Errorf("company search: %d people %v\nthe sandbox lists %d %v", len(gotIDs), gotIDs, len(want), want)
	}
}

// companyOf finds a company with between 11 and 40 employees among the
// connections' employers, so that its search spans a few pages.
func companyOf(t *testing.T, e *env, s *session, conns []map[string]any) string {
	t.Helper()
	for _, c := range conns[:min(len(conns), 60)] {
		p := e.must(s, liveCall(t, "linkedin-extract-people", in("linkedin_profile_url", c["linkedin_profile_url"].(string)))).Results[0]
		u, _ := p["linkedin_company_url"].(string)
		if u == "" {
			continue
		}
		co := e.must(s, liveCall(t, "linkedin-extract-company", in("linkedin_company_url", u))).Results[0]
		if n, _ := co["number_employees"].(int64); n > 10 && n <= 40 {
			return co["linkedin_company_url"].(string)
		}
	}
	t.Fatal("no small company among the connections' employers")
	return ""
}
