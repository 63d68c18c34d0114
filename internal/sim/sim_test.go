package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newTestServer(t *testing.T, cfg Config) (*Server, *client) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, &client{t: t, base: ts.URL, hc: ts.Client()}
}

func (c *client) do(method, path, cookie string, body any) (int, map[string]any, http.Header) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "li_at", Value: cookie})
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			c.t.Fatalf("%s %s: not JSON: %s", method, path, raw)
		}
	}
	return res.StatusCode, out, res.Header
}

func (c *client) get(path, cookie string) map[string]any {
	c.t.Helper()
	st, out, _ := c.do("GET", path, cookie, nil)
	if st != 200 {
		c.t.Fatalf("GET %s: %d %v", path, st, out)
	}
	return out
}

func elements(m map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range m["elements"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		v = v.(map[string]any)[p]
	}
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

func TestBijections(t *testing.T) {
	for _, x := range []uint32{0, 1, 2, 77, 1 << 20, 0xdeadbeef, 0xffffffff} {
		if unscramble32(scramble32(x)) != x {
			t.Fatalf("scramble32 not invertible at %d", x)
		}
	}
	pm := newPerm(12345, 120_000)
	seen := map[int]bool{}
	for k := 0; k < 5000; k++ {
		v := pm.at(k)
		if seen[v] || pm.index(v) != k {
			t.Fatalf("perm broken at %d", k)
		}
		seen[v] = true
	}
}

func TestIDRoundTrips(t *testing.T) {
	w := newWorld(7, WorldSize{})
	for _, p := range []int{0, 1, 999, 54321, w.NPeople - 1} {
		if got, ok := w.personByHandle(w.handle(p)); !ok || got != p {
			t.Fatalf("handle round trip %d: %d %v", p, got, ok)
		}
		if got, ok := w.personBySalesNavID(w.salesNavID(p)); !ok || got != p {
			t.Fatalf("sales nav id round trip %d", p)
		}
		if got, ok := w.personByMemberID(w.memberID(p)); !ok || got != p {
			t.Fatalf("member id round trip %d", p)
		}
		slot := p * postsPerPersonMax
		if got, ok := w.postSlot(w.activityID(slot)); !ok || got != slot {
			t.Fatalf("activity round trip %d", slot)
		}
		if s, k, ok := w.commentByID(w.commentID(slot, 5)); !ok || s != slot || k != 5 {
			t.Fatalf("comment round trip %d", slot)
		}
		me, q, ok := w.parseThreadID(w.threadID(p, 42))
		if !ok || me != p || q != 42 {
			t.Fatalf("thread round trip %d", p)
		}
	}
	for _, i := range []int{0, 17, 1999} {
		if got, ok := w.eventByID(w.eventID(i)); !ok || got != i {
			t.Fatal("event round trip")
		}
		if got, ok := w.groupByID(w.groupID(i)); !ok || got != i {
			t.Fatal("group round trip")
		}
		if got, ok := w.jobByID(w.jobID(i)); !ok || got != i {
			t.Fatal("job round trip")
		}
		if got, ok := w.placeByID(w.placeID(i)); !ok || got != i {
			t.Fatal("place round trip")
		}
	}
	// every company has employees and the blocks cover everyone
	total := 0
	for c := 0; c < w.NCompanies; c++ {
		if w.companySize(c) < 1 {
			t.Fatalf("company %d is empty", c)
		}
		total += w.companySize(c)
	}
	if total != w.NPeople || w.companyOf(w.NPeople-1) != w.NCompanies-1 || w.companyOf(0) != 0 {
		t.Fatalf("company blocks broken: %d", total)
	}
}

func TestDeterministicWorld(t *testing.T) {
	_, a := newTestServer(t, Config{Seed: 3})
	_, b := newTestServer(t, Config{Seed: 3})
	_, c := newTestServer(t, Config{Seed: 4})
	pa := a.get("/linkedin/profiles/jane-doe", "sim_classic")
	pb := b.get("/linkedin/profiles/jane-doe", "sim_classic")
	pc := c.get("/linkedin/profiles/jane-doe", "sim_classic")
	ja, _ := json.Marshal(pa)
	jb, _ := json.Marshal(pb)
	jc, _ := json.Marshal(pc)
	if !bytes.Equal(ja, jb) {
		t.Fatal("same seed, same URL, different person")
	}
	if bytes.Equal(ja, jc) {
		t.Fatal("different seeds gave the same person")
	}
	// the canonical URL extracts the same person as the alias
	again := a.get("/linkedin/profiles/"+str(pa, "publicIdentifier"), "sim_classic")
	if str(again, "memberId") != str(pa, "memberId") {
		t.Fatal("canonical handle does not give the same person")
	}
	if st, _, _ := a.do("GET", "/linkedin/profiles/missing-person", "sim_classic", nil); st != 404 {
		t.Fatalf("missing profile: %d", st)
	}
}

func TestListsAgreeWithExtracts(t *testing.T) {
	_, c := newTestServer(t, Config{Seed: 1})
	co := c.get("/linkedin/companies/acme", "sim_salesnav")["company"].(map[string]any)
	emps := elements(c.get("/linkedin/companies/acme/employees?count=10", "sim_salesnav"))
	if len(emps) == 0 {
		t.Fatal("no employees")
	}
	for _, e := range emps {
		p := c.get("/linkedin/profiles/"+str(e, "publicIdentifier"), "sim_salesnav")
		pos := p["positions"].([]any)[0].(map[string]any)
		if str(pos, "companyId") != str(co, "companyId") || str(p, "profileUrl") != str(e, "profileUrl") {
			t.Fatalf("employee %s does not work at %s", str(e, "publicIdentifier"), str(co, "name"))
		}
	}
	// search results are people one can extract
	res := elements(c.get("/linkedin/search/people?keywords=engineer&count=5", "sim_salesnav"))
	if len(res) != 5 {
		t.Fatalf("search gave %d results", len(res))
	}
	for _, r := range res {
		p := c.get("/linkedin/profiles/"+url.PathEscape(str(r, "profileUrl")[len("https://www.linkedin.com/in/"):]), "sim_salesnav")
		if str(p, "memberId") != str(r, "memberId") || !strings.Contains(strings.ToLower(str(p, "headline")+str(p, "occupation")+str(p, "firstName")+str(p, "lastName")+str(p, "function")+str(p, "location", "displayName")+str(p["positions"].([]any)[0].(map[string]any), "companyName")), "engineer") {
			t.Fatalf("search result does not extract to a matching person: %v", p["headline"])
		}
	}
	// post likers are people
	posts := elements(c.get("/linkedin/profiles/"+str(emps[0], "publicIdentifier")+"/posts", "sim_salesnav"))
	if len(posts) == 0 {
		t.Fatal("no posts")
	}
	act := str(posts[0], "activityId")
	likers := elements(c.get("/linkedin/posts/"+act+"/likers?count=3", "sim_salesnav"))
	for _, l := range likers {
		a := l["actor"].(map[string]any)
		p := c.get("/linkedin/profiles/"+str(a, "publicIdentifier"), "sim_salesnav")
		if str(p, "memberId") != str(a, "memberId") {
			t.Fatal("liker is not a person")
		}
	}
}

func pageAll(t *testing.T, c *client, path, cookie string, count int) []map[string]any {
	var all []map[string]any
	for start := 0; ; start += count {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		els := elements(c.get(fmt.Sprintf("%s%sstart=%d&count=%d", path, sep, start, count), cookie))
		if len(els) == 0 {
			return all
		}
		all = append(all, els...)
		if len(all) > 20000 {
			t.Fatal("list does not end")
		}
	}
}

func TestPagingEndsWithoutGapsOrDuplicates(t *testing.T) {
	_, c := newTestServer(t, Config{Seed: 1})
	conns := pageAll(t, c, "/linkedin/connections", "sim_premium", 40)
	seen := map[string]bool{}
	for _, e := range conns {
		id := str(e["connection"].(map[string]any), "memberId")
		if seen[id] {
			t.Fatalf("duplicate connection %s", id)
		}
		seen[id] = true
		if e["connection"].(map[string]any)["memberDistance"] != "DISTANCE_1" {
			t.Fatal("a connection is not 1st degree")
		}
	}
	first := c.get("/linkedin/connections?count=1", "sim_premium")
	if total := first["paging"].(map[string]any)["total"].(json.Number).String(); total != fmt.Sprint(len(conns)) {
		t.Fatalf("paged %d connections, total says %s", len(conns), total)
	}
	// scanned searches page the same by start and by token
	byStart := pageAll(t, c, "/linkedin/search/people?keywords=sales", "sim_premium", 10)
	if len(byStart) == 0 || len(byStart) > maxSearchResults {
		t.Fatalf("search returned %d", len(byStart))
	}
	var byToken []map[string]any
	tok := ""
	for start := 0; ; start += 10 {
		path := fmt.Sprintf("/linkedin/search/people?keywords=sales&count=10&start=%d", start)
		if tok != "" {
			path += "&scanToken=" + tok
		}
		body := c.get(path, "sim_premium")
		els := elements(body)
		byToken = append(byToken, els...)
		md, _ := body["metadata"].(map[string]any)
		if md == nil {
			break
		}
		tok = md["scanToken"].(string)
	}
	if len(byToken) != len(byStart) {
		t.Fatalf("token paging %d vs start paging %d", len(byToken), len(byStart))
	}
	for i := range byToken {
		if str(byToken[i], "memberId") != str(byStart[i], "memberId") {
			t.Fatalf("paging differs at %d", i)
		}
	}
}

func TestWritesPersistAcrossRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sim.jsonl")
	s1, c := newTestServer(t, Config{Seed: 9, DataFile: file})
	target := "someone-new"
	st, inv, _ := c.do("POST", "/linkedin/invitations", "sim_classic", map[string]any{"profile": target, "message": "Hello!"})
	if st != 201 || inv["status"] != "SENT" {
		t.Fatalf("invite: %d %v", st, inv)
	}
	sent := elements(c.get("/linkedin/invitations/sent", "sim_classic"))
	if str(sent[0], "invitationId") != str(inv, "invitationId") || sent[0]["message"] != "Hello!" {
		t.Fatal("new invitation is not first in sent invitations")
	}
	// the second ask is idempotent
	if st, again, _ := c.do("POST", "/linkedin/invitations", "sim_classic", map[string]any{"profile": target}); st != 200 || again["status"] != "PENDING" {
		t.Fatalf("re-invite: %d %v", st, again)
	}
	// withdraw an older (generated) invitation
	old := sent[len(sent)-1]
	if st, _, _ := c.do("DELETE", "/linkedin/invitations/sent/"+str(old, "invitationId"), "sim_classic", nil); st != 200 {
		t.Fatalf("withdraw: %d", st)
	}
	// message a connection, like a post, accept an invitation, follow someone
	conn := elements(c.get("/linkedin/connections?count=1", "sim_classic"))[0]["connection"].(map[string]any)
	st, msg, _ := c.do("POST", "/linkedin/messages", "sim_classic", map[string]any{"recipient": str(conn, "publicIdentifier"), "text": "ping from test"})
	if st != 201 {
		t.Fatalf("message: %d %v", st, msg)
	}
	recv := elements(c.get("/linkedin/invitations/received", "sim_classic"))
	if st, _, _ := c.do("POST", "/linkedin/invitations/received/"+str(recv[0], "invitationId")+"/accept", "sim_classic", nil); st != 200 {
		t.Fatal("accept failed")
	}
	newFriend := str(recv[0]["profile"].(map[string]any), "memberId")
	post := c.get("/linkedin/posts/some-post", "sim_classic")
	if st, _, _ := c.do("POST", "/linkedin/posts/"+str(post, "activityId")+"/reactions", "sim_classic", map[string]any{"reactionType": "PRAISE"}); st != 200 {
		t.Fatal("like failed")
	}

	check := func(c *client) {
		t.Helper()
		sent := elements(c.get("/linkedin/invitations/sent", "sim_classic"))
		if str(sent[0], "invitationId") != str(inv, "invitationId") {
			t.Fatal("sent invitation lost")
		}
		for _, s := range sent {
			if str(s, "invitationId") == str(old, "invitationId") {
				t.Fatal("withdrawn invitation came back")
			}
		}
		msgs := elements(c.get("/linkedin/conversations/"+str(msg, "threadId")+"/messages?count=100", "sim_classic"))
		if msgs[len(msgs)-1]["body"] != "ping from test" {
			t.Fatal("message not in its thread")
		}
		convs := elements(c.get("/linkedin/conversations?count=1", "sim_classic"))
		if str(convs[0], "threadId") != str(msg, "threadId") {
			t.Fatal("messaged thread is not the most recent conversation")
		}
		if str(elements(c.get("/linkedin/connections?count=1", "sim_classic"))[0]["connection"].(map[string]any), "memberId") != newFriend {
			t.Fatal("accepted invitation is not the newest connection")
		}
		p := c.get("/linkedin/posts/"+str(post, "activityId"), "sim_classic")
		if p["viewerReaction"] != "PRAISE" {
			t.Fatal("reaction lost")
		}
	}
	check(c)
	s1.Close()

	// a torn last line (crash mid-write) is dropped on restart
	f, _ := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"op":"invite","acct":"classic","p":1`)
	f.Close()
	_, c2 := newTestServer(t, Config{Seed: 9, DataFile: file})
	check(c2)
	raw, _ := os.ReadFile(file)
	if !bytes.HasSuffix(raw, []byte("\n")) {
		t.Fatal("torn line not trimmed")
	}
}

func TestSandboxAccounts(t *testing.T) {
	_, c := newTestServer(t, Config{Seed: 1, SlowLatency: time.Millisecond, HangFor: 20 * time.Second})

	if st, body, _ := c.do("GET", "/linkedin/me", "nope", nil); st != 401 || body["code"] != "INVALID_SESSION" {
		t.Fatalf("unknown cookie: %d", st)
	}
	for i := 1; i <= expiringAfterCalls; i++ {
		c.get("/linkedin/me", "sim_expiring")
	}
	if st, body, _ := c.do("GET", "/linkedin/me", "sim_expiring", nil); st != 401 || body["code"] != "SESSION_EXPIRED" {
		t.Fatalf("expiring: %d %v", st, body)
	}
	for i := 0; i < restrictedViewLimit; i++ {
		c.get(fmt.Sprintf("/linkedin/profiles/p%d", i), "sim_restricted")
	}
	if st, body, _ := c.do("GET", "/linkedin/profiles/one-more", "sim_restricted", nil); st != 403 || body["code"] != "ACCOUNT_RESTRICTED" {
		t.Fatalf("restricted: %d", st)
	}
	if st, _, _ := c.do("GET", "/linkedin/me", "sim_restricted", nil); st != 403 {
		t.Fatal("restriction does not last")
	}
	var got []int
	var retry string
	for i := 0; i < 2*flakyCycle; i++ {
		st, _, h := c.do("GET", "/linkedin/me", "sim_flaky", nil)
		got = append(got, st)
		if st == 429 {
			retry = h.Get("Retry-After")
		}
	}
	want := []int{200, 200, 200, 200, 429, 503, 200, 200, 200, 200, 429, 503}
	if fmt.Sprint(got) != fmt.Sprint(want) || retry != "1" {
		t.Fatalf("flaky: %v (retry-after %q)", got, retry)
	}
	c.get("/linkedin/me", "sim_slow")
	if st, body, _ := c.do("GET", "/sales/search/people", "sim_premium", nil); st != 403 || body["code"] != "SALES_NAVIGATOR_REQUIRED" {
		t.Fatalf("premium on sales: %d", st)
	}
	if st, _, _ := c.do("GET", "/recruiter/search/people", "sim_recruiter", nil); st != 200 {
		t.Fatalf("recruiter: %d", st)
	}
	for _, a := range Accounts() {
		if a.Behaviour == "managed" && a.IsSalesNav() {
			c.get("/sales/search/people?keywords=cto", a.Cookie)
		}
	}
	// hang: the client gives up, the simulator notices
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/linkedin/me", nil)
	req.AddCookie(&http.Cookie{Name: "li_at", Value: "sim_hang"})
	if _, err := c.hc.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hang: %v", err)
	}
}

func TestLoginsAndCheckpoints(t *testing.T) {
	_, c := newTestServer(t, Config{Seed: 1})
	login := func(user, pw string) (int, map[string]any) {
		st, body, _ := c.do("POST", "/linkedin/login", "", map[string]any{"username": user, "password": pw})
		return st, body
	}
	cp := func(state, code string) (int, map[string]any) {
		st, body, _ := c.do("POST", "/linkedin/checkpoint", "", map[string]any{"state": state, "code": code})
		return st, body
	}
	st, body := login("classic@sim.test", SandboxPassword)
	if st != 200 || body["status"] != "AUTHENTICATED" {
		t.Fatalf("classic login: %d %v", st, body)
	}
	me := c.get("/linkedin/me", body["cookies"].(map[string]any)["li_at"].(string))
	if me["plan"] != LevelClassic {
		t.Fatal("session cookie is not the classic account")
	}
	if st, _ := login("classic@sim.test", "nope"); st != 401 {
		t.Fatal("wrong password accepted")
	}
	if st, _ := login("wrong@sim.test", SandboxPassword); st != 401 {
		t.Fatal("wrong@ logged in")
	}
	for _, a := range Accounts() {
		if a.Checkpoint == "" || a.Behaviour == "captcha-fail" {
			continue
		}
		st, body := login(a.Username, SandboxPassword)
		chk := body["checkpoint"].(map[string]any)
		if st != 200 || body["status"] != "CHALLENGE" || chk["type"] != a.Checkpoint {
			t.Fatalf("%s: %d %v", a.Name, st, body)
		}
		state := chk["state"].(string)
		if a.Checkpoint == CheckpointInApp {
			for i := 1; i < inAppPollsNeeded; i++ {
				if st, body := cp(state, ""); st != 200 || body["status"] != "CHALLENGE" {
					t.Fatalf("in-app poll %d: %v", i, body)
				}
			}
		} else if a.Checkpoint != CheckpointCaptcha {
			if st, body := cp(state, "000000"); st != 400 || body["code"] != "WRONG_CODE" {
				t.Fatalf("%s wrong code: %d", a.Name, st)
			}
		}
		st, body = cp(state, a.Code)
		if st != 200 || body["status"] != "AUTHENTICATED" {
			t.Fatalf("%s answer: %d %v", a.Name, st, body)
		}
		c.get("/linkedin/me", body["cookies"].(map[string]any)["li_at"].(string))
	}
	// a wrong captcha answer burns the attempt
	_, body = login("captcha@sim.test", SandboxPassword)
	state := body["checkpoint"].(map[string]any)["state"].(string)
	if st, body := cp(state, "nope"); st != 401 || body["code"] != "CHALLENGE_FAILED" {
		t.Fatalf("captcha wrong: %d", st)
	}
	if st, _ := cp(state, "sim-captcha"); st != 401 {
		t.Fatal("burned captcha state still usable")
	}
	_, body = login("captcha-fail@sim.test", SandboxPassword)
	if st, _ := cp(body["checkpoint"].(map[string]any)["state"].(string), "anything"); st != 401 {
		t.Fatal("captcha-fail passed")
	}
}

func TestStatsRecordRemoteAddress(t *testing.T) {
	s, c := newTestServer(t, Config{Seed: 1})
	req, _ := http.NewRequest("GET", c.base+"/linkedin/me", nil)
	req.AddCookie(&http.Cookie{Name: "li_at", Value: "sim_premium"})
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	st := s.Stats()["premium"]
	if st.Calls != 1 || st.RemoteHosts["127.0.0.1"] != 1 || st.ForwardedFor["203.0.113.7"] != 1 || st.Statuses["200"] != 1 {
		t.Fatalf("stats: %+v", st)
	}
	body := c.get("/_sim/stats", "")
	if _, ok := body["accounts"].(map[string]any)["premium"]; !ok {
		t.Fatal("stats endpoint lacks the account")
	}
}

func TestAccountsDocumented(t *testing.T) {
	doc, err := os.ReadFile("ACCOUNTS.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), AccountsMarkdown()) {
		t.Fatalf("ACCOUNTS.md is out of date; its table must be:\n%s", AccountsMarkdown())
	}
}

// The world is generated, not stored: touching 100,000+ people keeps the heap small.
func TestHundredThousandPeopleStayOutOfMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("touches every person")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w := newWorld(1, WorldSize{})
	if w.NPeople < 100_000 {
		t.Fatalf("only %d people", w.NPeople)
	}
	sum := 0
	for p := 0; p < w.NPeople; p++ {
		sum += len(w.personLite(p).PublicIdentifier)
		if p%10 == 0 {
			sum += len(w.person(p).Skills)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if grown > 30<<20 {
		t.Fatalf("heap grew by %d MB after touching %d people", grown>>20, w.NPeople)
	}
	t.Logf("touched %d people (%d), heap grew %d KB", w.NPeople, sum, grown>>10)
	runtime.KeepAlive(w)
}

// Any sim_user_<n> is a ready account whose level n chooses; the stats
// count how many of its requests were served at once.
func TestNumberedAccounts(t *testing.T) {
	s, c := newTestServer(t, Config{Seed: 1, Latency: 50 * time.Millisecond})
	want := map[int]string{1: "Classic", 2: "Premium", 3: "Sales Navigator", 4: "Recruiter Lite", 4001: "Classic", 9999998: "Premium"}
	for n, level := range want {
		me := c.get("/linkedin/me", fmt.Sprintf("sim_user_%d", n))
		if me["plan"] != level || me["accountName"] != fmt.Sprintf("user_%d", n) {
			t.Fatalf("sim_user_%d: %v, want plan %s", n, me, level)
		}
	}
	for _, bad := range []string{"sim_user_0", "sim_user_", "sim_user_007", "sim_user_10000001", "sim_user_1x"} {
		if st, body, _ := c.do("GET", "/linkedin/me", bad, nil); st != 401 || body["code"] != "INVALID_SESSION" {
			t.Fatalf("%s: %d %v", bad, st, body)
		}
	}
	if st := s.Stats()["user_1"]; st.Calls != 1 || st.MaxConcurrent != 1 {
		t.Fatalf("one call at a time: %+v", st)
	}
	// Two requests of one account at once are seen as such.
	done := make(chan struct{})
	for range 2 {
		go func() {
			defer func() { done <- struct{}{} }()
			req, _ := http.NewRequest("GET", c.base+"/linkedin/me", nil)
			req.AddCookie(&http.Cookie{Name: "li_at", Value: "sim_user_2"})
			if res, err := c.hc.Do(req); err == nil {
				res.Body.Close()
			}
		}()
	}
	<-done
	<-done
	if st := s.Stats()["user_2"]; st.Calls != 3 || st.MaxConcurrent != 2 {
		t.Fatalf("two at once: %+v", st)
	}
}
