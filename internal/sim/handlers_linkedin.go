package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

func (s *Server) routes() {
	m := http.NewServeMux()
	li := func(pattern string, h func(http.ResponseWriter, *http.Request, session)) {
		m.HandleFunc(pattern, s.authed(scopeLinkedIn, h))
	}
	m.HandleFunc("POST /linkedin/login", s.handleLogin)
	m.HandleFunc("POST /linkedin/checkpoint", s.handleCheckpoint)
	li("GET /linkedin/me", s.hMe)
	m.HandleFunc("GET /linkedin/public/members/{id}", s.hPublicMember)
	li("GET /linkedin/profiles/{id}", s.hProfile)
	li("GET /linkedin/profiles/{id}/contact-info", s.hContact)
	li("GET /linkedin/profiles/{id}/certifications", s.hCertifications)
	li("GET /linkedin/profiles/{id}/posts", s.hProfilePosts)
	li("GET /linkedin/profiles/{id}/comments", s.hProfileComments)
	li("GET /linkedin/profiles/{id}/reactions", s.hProfileReactions)
	li("POST /linkedin/profiles/{id}/follow", s.hFollow)
	li("GET /linkedin/companies/{id}", s.hCompany)
	li("GET /linkedin/companies/{id}/employees", s.hEmployees)
	li("GET /linkedin/companies/{id}/insights", s.hInsights)
	li("GET /linkedin/companies/{id}/affiliates", s.hAffiliates)
	li("GET /linkedin/companies/{id}/similar", s.hSimilar)
	li("GET /linkedin/companies/{id}/followers", s.hCompanyFollowers)
	li("GET /linkedin/schools/{id}", s.hSchool)
	li("GET /linkedin/schools/{id}/alumni", s.hAlumni)
	li("GET /linkedin/posts/{id}", s.hPost)
	li("GET /linkedin/posts/{id}/likers", s.hLikers)
	li("GET /linkedin/posts/{id}/comments", s.hPostComments)
	li("POST /linkedin/posts/{id}/reactions", s.hReact)
	li("POST /linkedin/posts/{id}/comments", s.hComment)
	li("GET /linkedin/events/{id}", s.hEvent)
	li("GET /linkedin/events/{id}/attendees", s.hAttendees)
	li("POST /linkedin/events/{id}/invitations", s.hEventInvite)
	li("GET /linkedin/groups/{id}", s.hGroup)
	li("GET /linkedin/groups/{id}/members", s.hGroupMembers)
	li("GET /linkedin/jobs/{id}", s.hJob)
	li("GET /linkedin/search/{vertical}", s.hSearch)
	li("GET /linkedin/connections", s.hConnections)
	li("GET /linkedin/followers", s.hFollowers)
	li("GET /linkedin/profile-viewers", s.hViewers)
	li("GET /linkedin/invitations/received", s.hReceived)
	li("POST /linkedin/invitations/received/{id}/accept", s.hAccept)
	li("GET /linkedin/invitations/sent", s.hSent)
	li("POST /linkedin/invitations", s.hInvite)
	li("DELETE /linkedin/invitations/sent/{id}", s.hWithdraw)
	li("GET /linkedin/conversations", s.hConversations)
	li("GET /linkedin/conversations/{thread}/messages", s.hThreadMessages)
	li("POST /linkedin/conversations/{thread}/messages", s.hReply)
	li("POST /linkedin/conversations/{thread}/archive", s.hArchive)
	li("POST /linkedin/conversations/{thread}/read", s.hMarkRead)
	li("POST /linkedin/messages", s.hSendMessage)
	li("GET /linkedin/dms/{path...}", s.hDownload)
	s.salesRoutes(m)
	s.publicRoutes(m)
	s.voyagerRoutes(m) // LinkedIn's web API face (handlers_voyager.go)
	m.HandleFunc("GET /_sim/stats", s.handleStats)
	m.HandleFunc("GET /_sim/accounts", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, Accounts()) })
	m.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		writeJSON(w, 200, map[string]bool{"ok": true})
	})
	m.HandleFunc("GET /_sim/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"ok": true, "people": s.w.NPeople, "companies": s.w.NCompanies, "seed": s.cfg.Seed})
	})
	s.mux = m
}

// ---- resolvers: any key lands on an entity, except keys starting with "missing" --
// A key the world does not hold is a guest (guests.go): answered for as asked.

func cleanKey(id string) string {
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	return strings.Trim(strings.TrimSpace(id), "/")
}

func isMissing(id string) bool { return strings.HasPrefix(strings.ToLower(id), "missing") }

func (s *Server) resolvePerson(id string) (int, bool) {
	id = cleanKey(id)
	if i := strings.IndexByte(id, ','); i > 0 { // sales URLs: ACwAA...,NAME_SEARCH,xyz
		id = id[:i]
	}
	if id == "" || isMissing(id) {
		return 0, false
	}
	if p, ok := s.w.personByHandle(id); ok {
		return p, true
	}
	if p, ok := s.w.personBySalesNavID(id); ok {
		return p, true
	}
	if h, ok := handleFromSalesNavID(id); ok { // a guest's Sales Navigator id
		if p, ok := s.w.personByHandle(h); ok {
			return p, true
		}
		return s.w.guestPersonIndex(h), true
	}
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		if p, ok := s.w.personByMemberID(n); ok {
			return p, true
		}
	}
	return s.w.guestPersonIndex(strings.ToLower(id)), true
}

func (s *Server) resolveCompany(id string) (int, bool) {
	id = guestKey(id)
	if id == "" || isMissing(id) {
		return 0, false
	}
	if c, ok := s.w.compByHandle[id]; ok {
		return c, true
	}
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		if c, ok := s.w.compByID[n]; ok {
			return c, true
		}
	}
	return s.w.guestCompanyIndex(id), true
}

// resolveSchool returns the school and, for a guest, its key.
func (s *Server) resolveSchool(id string) (int, string, bool) {
	id = guestKey(id)
	if id == "" || isMissing(id) {
		return 0, "", false
	}
	if c, ok := s.w.schoolByHdl[id]; ok {
		return c, "", true
	}
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		if c, ok := s.w.schoolByID[n]; ok {
			return c, "", true
		}
	}
	return alias("school:"+id, s.w.NSchools), id, true
}

// resolvePost returns the post slot and, for an activity id the world does
// not hold, that id (the guest post's own).
func (s *Server) resolvePost(id string) (int, int64, bool) {
	id = cleanKey(id)
	if id == "" || isMissing(id) {
		return 0, 0, false
	}
	var guest int64
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		if slot, ok := s.w.postSlot(n); ok {
			return slot, 0, true
		}
		if n > 0 {
			guest = n
		}
	}
	slot := alias("post:"+id, s.w.NPeople*postsPerPersonMax)
	p := slot / postsPerPersonMax
	n := 1 + int(hashOf(s.w.seed, kPost, uint64(p))%postsPerPersonMax)
	return p*postsPerPersonMax + slot%postsPerPersonMax%n, guest, true
}

// resolveNumeric resolves an entity with numeric ids (events, groups, jobs)
// and returns, for a numeric id the world does not hold, that id.
func (s *Server) resolveNumeric(id string, dec func(int64) (int, bool), n int, kind string) (int, int64, bool) {
	id = cleanKey(id)
	if id == "" || isMissing(id) {
		return 0, 0, false
	}
	var guest int64
	if v, err := strconv.ParseInt(id, 10, 64); err == nil {
		if i, ok := dec(v); ok {
			return i, 0, true
		}
		if v > 0 {
			guest = v
		}
	}
	return alias(kind+":"+id, n), guest, true
}

func (s *Server) personOr404(w http.ResponseWriter, r *http.Request) (int, bool) {
	p, ok := s.resolvePerson(r.PathValue("id"))
	if !ok {
		notFound(w, "profile")
	}
	return p, ok
}

func (s *Server) companyOr404(w http.ResponseWriter, r *http.Request) (int, bool) {
	c, ok := s.resolveCompany(r.PathValue("id"))
	if !ok {
		notFound(w, "company")
	}
	return c, ok
}

func (s *Server) postOr404(w http.ResponseWriter, r *http.Request) (int, int64, bool) {
	p, guest, ok := s.resolvePost(r.PathValue("id"))
	if !ok {
		notFound(w, "post")
	}
	return p, guest, ok
}

// postAs is post slot as asked: a guest post keeps the asked activity id.
func (s *Server) postAs(ss session, slot int, guest int64) Post {
	po := s.postFor(ss, slot)
	if guest != 0 {
		po.ActivityID, po.URN = guest, fmt.Sprintf("urn:li:activity:%d", guest)
		po.URL = fmt.Sprintf("https://www.linkedin.com/feed/update/urn:li:activity:%d/", guest)
	}
	return po
}

func decodeBody(r *http.Request, v any) error {
	if r.Body == nil {
		return nil
	}
	err := json.NewDecoder(r.Body).Decode(v)
	if err != nil && err.Error() == "EOF" {
		return nil
	}
	return err
}

// ---- me and profiles --------------------------------------------------------------

func (s *Server) hMe(w http.ResponseWriter, r *http.Request, ss session) {
	p := s.w.person(ss.me)
	tw := strings.ReplaceAll(slugify(p.FirstName+p.LastName), "-", "")
	writeJSON(w, 200, map[string]any{
		"profile":     p,
		"plan":        ss.acct.Level,
		"premium":     ss.acct.Level != LevelClassic,
		"salesNav":    ss.acct.Level == LevelSalesNav,
		"recruiter":   ss.acct.Level == LevelRecruiter,
		"twitter":     tw,
		"accountName": ss.acct.Name,
	})
}

func (s *Server) fullProfile(ss session, p int) Person {
	ps := s.w.person(p)
	ps.Distance, ps.ConnectedAt = s.distance(ss.acct.Name, ss.me, p)
	if ps.Distance == "DISTANCE_1" {
		ps.ThreadID = s.w.threadID(ss.me, p)
	} else {
		s.ov.view(ss.acct.Name, func(a *acctState) {
			if a.threads[p] != nil {
				ps.ThreadID = s.w.threadID(ss.me, p)
			}
		})
	}
	return ps
}

// hPublicMember resolves a member's public ids without a session, as the
// platform's public profile pages do.
func (s *Server) hPublicMember(w http.ResponseWriter, r *http.Request) {
	p, ok := s.resolvePerson(r.PathValue("id"))
	if !ok {
		notFound(w, "profile")
		return
	}
	lite := s.w.personLite(p)
	writeJSON(w, 200, map[string]any{"memberId": lite.MemberID, "publicIdentifier": lite.PublicIdentifier, "profileUrl": lite.ProfileURL, "salesNavId": lite.SalesNavID})
}

func (s *Server) hProfile(w http.ResponseWriter, r *http.Request, ss session) {
	p, ok := s.personOr404(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Get("projection") == "mini" {
		writeJSON(w, 200, s.miniFor(ss.acct.Name, ss.me, p))
		return
	}
	if !s.consume(w, ss, "view") {
		return
	}
	writeJSON(w, 200, s.fullProfile(ss, p))
}

func (s *Server) hContact(w http.ResponseWriter, r *http.Request, ss session) {
	p, ok := s.personOr404(w, r)
	if !ok {
		return
	}
	if !s.consume(w, ss, "view") {
		return
	}
	ci := s.w.contactInfo(p)
	_, at := s.distance(ss.acct.Name, ss.me, p)
	lite := s.w.personLite(p)
	writeJSON(w, 200, map[string]any{"contactInfo": ci, "connectedAt": at, "publicIdentifier": lite.PublicIdentifier,
		"profileUrl": lite.ProfileURL, "memberId": lite.MemberID, "salesNavId": lite.SalesNavID})
}

func (s *Server) hCertifications(w http.ResponseWriter, r *http.Request, ss session) {
	p, ok := s.personOr404(w, r)
	if !ok {
		return
	}
	certs := s.w.certifications(p)
	s.page(w, r, 20, len(certs), func(i int) any { return certs[i] })
}

func (s *Server) hProfilePosts(w http.ResponseWriter, r *http.Request, ss session) {
	p, ok := s.personOr404(w, r)
	if !ok {
		return
	}
	n := s.w.personLite(p).posts
	s.page(w, r, 20, n, func(i int) any { return s.postFor(ss, p*postsPerPersonMax+i) })
}

func (s *Server) postFor(ss session, slot int) Post {
	po := s.w.post(slot)
	s.ov.mu.Lock()
	for acct, kind := range s.ov.likes[slot] {
		po.Reactions++
		if acct == ss.acct.Name {
			po.ViewerReacted = kind
		}
	}
	po.Comments += len(s.ov.comments[slot])
	s.ov.mu.Unlock()
	return po
}

// A person's comment activity: comments on other people's posts.
func (s *Server) hProfileComments(w http.ResponseWriter, r *http.Request, ss session) {
	p, ok := s.personOr404(w, r)
	if !ok {
		return
	}
	n := int(hashOf(s.w.seed, uint64(p), 0xc0) % 30)
	s.page(w, r, 20, n, func(i int) any {
		slot, _, _ := s.resolvePost(fmt.Sprintf("activity-of-%d-%d", p, i))
		k := commentsPerPost - 1 - i
		c := s.w.comment(slot, k, p)
		c.CreatedAt -= int64(i) * 3_600_000
		return c
	})
}

type reactionActivity struct {
	URN      string `json:"reactionUrn"`
	Type     string `json:"reactionType"`
	At       int64  `json:"reactedAt"`
	Post     Post   `json:"post"`
	Reactor  Mini   `json:"actor"`
	Reaction string `json:"permalink"`
}

func (s *Server) hProfileReactions(w http.ResponseWriter, r *http.Request, ss session) {
	p, ok := s.personOr404(w, r)
	if !ok {
		return
	}
	n := int(hashOf(s.w.seed, uint64(p), 0xea) % 40)
	actor := s.w.mini(s.w.personLite(p))
	s.page(w, r, 20, n, func(i int) any {
		slot, _, _ := s.resolvePost(fmt.Sprintf("reaction-of-%d-%d", p, i))
		po := s.w.post(slot)
		typ := reactionTypes[hashOf(s.w.seed, uint64(p), uint64(i))%uint64(len(reactionTypes))]
		urn := fmt.Sprintf("urn:li:reaction:(urn:li:member:%d,urn:li:activity:%d)", actor.MemberID, po.ActivityID)
		return reactionActivity{URN: urn, Type: typ, At: po.PublishedAt + int64(i+1)*600_000, Post: po, Reactor: actor,
			Reaction: fmt.Sprintf("https://www.linkedin.com/feed/update/urn:li:activity:%d/?reaction=%s", po.ActivityID, url.QueryEscape(urn))}
	})
}

func (s *Server) hFollow(w http.ResponseWriter, r *http.Request, ss session) {
	p, ok := s.personOr404(w, r)
	if !ok {
		return
	}
	var body struct {
		Action string `json:"action"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeErr(w, 400, "BAD_REQUEST", "invalid JSON body")
		return
	}
	on := body.Action != "unfollow"
	if err := s.commit(event{Op: "follow", Acct: ss.acct.Name, P: p, On: on, At: s.now().UnixMilli()}); err != nil {
		writeErr(w, 500, "INTERNAL", err.Error())
		return
	}
	lite := s.w.personLite(p)
	writeJSON(w, 200, map[string]any{"following": on, "memberId": lite.MemberID, "publicIdentifier": lite.PublicIdentifier, "profileUrl": lite.ProfileURL})
}

// ---- companies and schools -----------------------------------------------------------

func (s *Server) hCompany(w http.ResponseWriter, r *http.Request, ss session) {
	c, ok := s.companyOr404(w, r)
	if !ok {
		return
	}
	co := s.w.company(c)
	var affs []map[string]any
	for _, a := range s.w.affiliates(s.w.compBase(c)) {
		affs = append(affs, s.companyCard(a, c))
	}
	if affs == nil {
		affs = []map[string]any{}
	}
	writeJSON(w, 200, map[string]any{"company": co, "affiliates": affs, "jobSearchUrl": fmt.Sprintf("https://www.linkedin.com/jobs/search/?f_C=%d", co.ID)})
}

// companyCard is the compact company used in lists; origin is the company the
// list was asked about (-1 for none).
func (s *Server) companyCard(c, origin int) map[string]any {
	co := s.w.company(c)
	m := map[string]any{"companyId": co.ID, "entityUrn": co.EntityURN, "universalName": co.Handle, "url": co.URL, "name": co.Name,
		"industry": co.Industry, "followerCount": co.FollowersCount, "tagline": co.Tagline, "description": co.Description,
		"staffCount": co.StaffCount, "staffCountRange": co.StaffRange, "location": co.City + ", " + co.Country, "salesNavigatorUrl": co.SalesNavURL,
		"logoUrl": co.Logo}
	if origin >= 0 {
		o := s.w.company(origin)
		m["origin"] = map[string]any{"companyId": o.ID, "name": o.Name, "url": o.URL}
		if hashOf(s.w.seed, uint64(c), uint64(origin))%2 == 0 {
			m["relationship"] = "SHOWCASE"
		} else {
			m["relationship"] = "AFFILIATED"
		}
	}
	return m
}

func (s *Server) hAffiliates(w http.ResponseWriter, r *http.Request, ss session) {
	c, ok := s.companyOr404(w, r)
	if !ok {
		return
	}
	affs := s.w.affiliates(s.w.compBase(c))
	s.page(w, r, 50, len(affs), func(i int) any { return s.companyCard(affs[i], c) })
}

func (s *Server) hSimilar(w http.ResponseWriter, r *http.Request, ss session) {
	c, ok := s.companyOr404(w, r)
	if !ok {
		return
	}
	sim := s.w.similar(s.w.compBase(c))
	s.page(w, r, 50, len(sim), func(i int) any { return s.companyCard(sim[i], c) })
}

type employeeCard struct {
	Mini
	TenureStart      int64 `json:"positionStartedAt"`
	RecentlyHired    bool  `json:"recentlyHired"`
	RecentlyPromoted bool  `json:"recentlyPromoted"`
	Viewed           bool  `json:"viewed"`
	SalesNavCompany  int64 `json:"salesNavCompanyId"`
}

func (s *Server) employeeCard(ss session, p int) employeeCard {
	m := s.miniFor(ss.acct.Name, ss.me, p)
	h := hashOf(s.w.seed, uint64(p), 0x7e)
	start := refTime.AddDate(-int(h%12), -int(h>>8%12), 0)
	return employeeCard{Mini: m, TenureStart: start.UnixMilli(), RecentlyHired: h%12 == 0, RecentlyPromoted: h%17 == 0,
		Viewed: hashOf(s.w.seed, uint64(ss.me), uint64(p), 0x71)%5 == 0, SalesNavCompany: m.CompanyID}
}

func (s *Server) hEmployees(w http.ResponseWriter, r *http.Request, ss session) {
	c, ok := s.companyOr404(w, r)
	if !ok {
		return
	}
	if !s.consume(w, ss, "search") {
		return
	}
	base, _ := s.w.compBlock(c)
	kw := tokens(r.URL.Query().Get("keywords"))
	s.scan(w, r, 10, s.w.companySize(c), maxSearchResults, func(k int) int { return base + k },
		func(p int) bool { return s.personMatches(p, kw, r.URL.Query()) },
		func(p int) any { return s.employeeCard(ss, s.w.employee(c, p)) })
}

type countItem struct {
	Name  string `json:"name"`
	ID    string `json:"id,omitempty"`
	Count int    `json:"count"`
}

func sortedCounts(m map[string]int, ids map[string]string) []countItem {
	out := make([]countItem, 0, len(m))
	for k, v := range m {
		out = append(out, countItem{Name: k, ID: ids[k], Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// insights are counted over the real employees of the company.
func (s *Server) hInsights(w http.ResponseWriter, r *http.Request, ss session) {
	c, ok := s.companyOr404(w, r)
	if !ok {
		return
	}
	locs, schools, fns, skills, fields, deg := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	schoolIDs := map[string]string{}
	members := []int{c}
	if r.URL.Query().Get("includeAffiliates") == "true" {
		members = append(members, s.w.affiliates(s.w.compBase(c))...)
	}
	for _, mc := range members {
		from, to := s.w.compBlock(mc)
		for p := from; p < to; p++ {
			lite := s.w.personLite(p)
			locs[lite.Location.City+", "+lite.Location.Country]++
			sc := s.w.schools[s.w.schoolOf(p)]
			schools[sc.Name]++
			schoolIDs[sc.Name] = strconv.FormatInt(sc.ID, 10)
			fn := functions[lite.fn]
			fns[fn.Name]++
			skills[fn.Skills[hashOf(s.w.seed, uint64(p), 0x5c)%uint64(len(fn.Skills))]]++
			fields[fieldsOfStudy[hashOf(s.w.seed, uint64(p), 0xf5)%uint64(len(fieldsOfStudy))]]++
			d, _ := s.distance(ss.acct.Name, ss.me, p)
			deg[d]++
		}
	}
	co := s.w.company(c)
	writeJSON(w, 200, map[string]any{"companyId": co.ID, "universalName": co.Handle, "url": co.URL, "staffCount": co.StaffCount,
		"byLocation": sortedCounts(locs, nil), "bySchool": sortedCounts(schools, schoolIDs), "byFunction": sortedCounts(fns, nil),
		"bySkill": sortedCounts(skills, nil), "byFieldOfStudy": sortedCounts(fields, nil), "byDistance": sortedCounts(deg, nil)})
}

func (s *Server) hCompanyFollowers(w http.ResponseWriter, r *http.Request, ss session) {
	c, ok := s.companyOr404(w, r)
	if !ok {
		return
	}
	co := s.w.company(c)
	n := min(co.FollowersCount, s.w.NPeople)
	pm := newPerm(hashOf(s.w.seed, kCompany, uint64(c), 0xf0), s.w.NPeople)
	s.page(w, r, 40, n, func(i int) any {
		p := pm.at(i)
		return map[string]any{"follower": s.miniFor(ss.acct.Name, ss.me, p), "followedAt": refTime.Add(-timeHours(i*7 + int(hashOf(s.w.seed, uint64(p))%7))).UnixMilli()}
	})
}

func (s *Server) hSchool(w http.ResponseWriter, r *http.Request, ss session) {
	sc, guest, ok := s.resolveSchool(r.PathValue("id"))
	if !ok {
		notFound(w, "school")
		return
	}
	writeJSON(w, 200, s.w.schoolAs(sc, guest))
}

func (s *Server) hAlumni(w http.ResponseWriter, r *http.Request, ss session) {
	sc, guest, ok := s.resolveSchool(r.PathValue("id"))
	if !ok {
		notFound(w, "school")
		return
	}
	school := s.w.schoolAs(sc, guest)
	s.page(w, r, 10, school.Alumni, func(i int) any {
		p := sc + i*s.w.NSchools
		return map[string]any{"profile": s.miniFor(ss.acct.Name, ss.me, p), "schoolName": school.Name, "schoolId": school.ID}
	})
}

// ---- posts ---------------------------------------------------------------------------

func (s *Server) hPost(w http.ResponseWriter, r *http.Request, ss session) {
	slot, guest, ok := s.postOr404(w, r)
	if !ok {
		return
	}
	writeJSON(w, 200, s.postAs(ss, slot, guest))
}

type liker struct {
	Actor Mini   `json:"actor"`
	Type  string `json:"reactionType"`
	URN   string `json:"reactionUrn"`
}

func (s *Server) hLikers(w http.ResponseWriter, r *http.Request, ss session) {
	slot, guest, ok := s.postOr404(w, r)
	if !ok {
		return
	}
	po := s.postAs(ss, slot, guest)
	// overlay reactions from sandbox accounts come first
	type ovl struct{ acct, kind string }
	var extra []ovl
	s.ov.mu.Lock()
	for a, k := range s.ov.likes[slot] {
		extra = append(extra, ovl{a, k})
	}
	s.ov.mu.Unlock()
	sort.Slice(extra, func(i, j int) bool { return extra[i].acct < extra[j].acct })
	pm := s.w.likerPerm(slot)
	s.page(w, r, 30, len(extra)+po.Reactions, func(i int) any {
		var p int
		var typ string
		if i < len(extra) {
			p, typ = s.w.accountPerson(extra[i].acct), extra[i].kind
		} else {
			k := i - len(extra)
			p = pm.at(k)
			typ = reactionTypes[hashOf(s.w.seed, uint64(slot), uint64(k))%uint64(len(reactionTypes))]
		}
		m := s.miniFor(ss.acct.Name, ss.me, p)
		return liker{Actor: m, Type: typ, URN: fmt.Sprintf("urn:li:reaction:(urn:li:member:%d,urn:li:activity:%d)", m.MemberID, po.ActivityID)}
	})
}

func (s *Server) hPostComments(w http.ResponseWriter, r *http.Request, ss session) {
	slot, guest, ok := s.postOr404(w, r)
	if !ok {
		return
	}
	po := s.postAs(ss, slot, guest)
	s.ov.mu.Lock()
	extra := append([]ovComment(nil), s.ov.comments[slot]...)
	s.ov.mu.Unlock()
	pm := s.w.commenterPerm(slot)
	n := len(extra) + po.Comments
	oldestFirst := r.URL.Query().Get("sort") == "chronological"
	s.page(w, r, 10, n, func(i int) any {
		if oldestFirst {
			i = n - 1 - i
		}
		// newest first: overlay comments (newest last in the log), then generated
		if i < len(extra) {
			oc := extra[len(extra)-1-i]
			c := s.w.comment(slot, 0, s.w.accountPerson(oc.Acct))
			c.PostID, c.PostURL = po.ActivityID, po.URL
			c.ID, c.Text, c.CreatedAt, c.Likes, c.Replies, c.LastReply, c.ParentID = oc.ID, oc.Text, oc.At, 0, 0, "", oc.Parent
			c.URN = fmt.Sprintf("urn:li:comment:(activity:%d,%d)", po.ActivityID, oc.ID)
			c.URL = commentURL(po.ActivityID, oc.ID)
			c.Commenter = s.miniFor(ss.acct.Name, ss.me, s.w.accountPerson(oc.Acct))
			return c
		}
		k := i - len(extra)
		c := s.w.comment(slot, k, pm.at(k))
		c.Commenter = s.miniFor(ss.acct.Name, ss.me, pm.at(k))
		c.CreatedAt = po.PublishedAt + int64(po.Comments-k)*1_800_000
		if guest != 0 {
			c.PostID, c.PostURL = po.ActivityID, po.URL
			c.URN = fmt.Sprintf("urn:li:comment:(activity:%d,%d)", po.ActivityID, c.ID)
			c.URL = commentURL(po.ActivityID, c.ID)
		}
		return c
	})
}

func (s *Server) hReact(w http.ResponseWriter, r *http.Request, ss session) {
	slot, guest, ok := s.postOr404(w, r)
	if !ok {
		return
	}
	var body struct {
		ReactionType string `json:"reactionType"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeErr(w, 400, "BAD_REQUEST", "invalid JSON body")
		return
	}
	kind := strings.ToUpper(body.ReactionType)
	if kind == "" {
		kind = "LIKE"
	}
	if kind == "NONE" || kind == "UNLIKE" {
		kind = ""
	}
	if err := s.commit(event{Op: "like", Acct: ss.acct.Name, Slot: slot, Kind: kind, At: s.now().UnixMilli()}); err != nil {
		writeErr(w, 500, "INTERNAL", err.Error())
		return
	}
	po := s.postAs(ss, slot, guest)
	writeJSON(w, 200, map[string]any{"reactionType": kind, "postUrl": po.URL, "activityId": po.ActivityID, "numLikes": po.Reactions})
}

func (s *Server) hComment(w http.ResponseWriter, r *http.Request, ss session) {
	slot, guest, ok := s.postOr404(w, r)
	if !ok {
		return
	}
	var body struct {
		Text            string `json:"text"`
		ParentCommentID int64  `json:"parentCommentId"`
	}
	if err := decodeBody(r, &body); err != nil || strings.TrimSpace(body.Text) == "" {
		writeErr(w, 400, "BAD_REQUEST", "a comment needs a text")
		return
	}
	po := s.postAs(ss, slot, guest)
	now := s.now().UnixMilli()
	id := commentIDBase - 1 - s.nextSeq()*1000 - int64(hashOf(s.w.seed, uint64(now))%1000)
	if err := s.commit(event{Op: "comment", Acct: ss.acct.Name, Slot: slot, ID: id, Parent: body.ParentCommentID, Text: body.Text, At: now}); err != nil {
		writeErr(w, 500, "INTERNAL", err.Error())
		return
	}
	writeJSON(w, 201, map[string]any{"commentId": id, "urn": fmt.Sprintf("urn:li:comment:(activity:%d,%d)", po.ActivityID, id),
		"threadUrn": fmt.Sprintf("urn:li:activity:%d", po.ActivityID), "permalink": commentURL(po.ActivityID, id), "text": body.Text, "createdAt": now})
}

// ---- events, groups, jobs ---------------------------------------------------------------

func (s *Server) hEvent(w http.ResponseWriter, r *http.Request, ss session) {
	e, guest, ok := s.resolveNumeric(r.PathValue("id"), s.w.eventByID, s.w.NEvents, "event")
	if !ok {
		notFound(w, "event")
		return
	}
	writeJSON(w, 200, s.w.eventAs(e, guest))
}

func (s *Server) hAttendees(w http.ResponseWriter, r *http.Request, ss session) {
	e, guest, ok := s.resolveNumeric(r.PathValue("id"), s.w.eventByID, s.w.NEvents, "event")
	if !ok {
		notFound(w, "event")
		return
	}
	ev := s.w.eventAs(e, guest)
	pm := s.w.attendeePerm(e)
	s.page(w, r, 10, ev.Attendees, func(i int) any {
		p := pm.at(i)
		return map[string]any{"attendee": s.miniFor(ss.acct.Name, ss.me, p), "eventUrl": ev.URL}
	})
}

func (s *Server) hEventInvite(w http.ResponseWriter, r *http.Request, ss session) {
	e, guest, ok := s.resolveNumeric(r.PathValue("id"), s.w.eventByID, s.w.NEvents, "event")
	if !ok {
		notFound(w, "event")
		return
	}
	var body struct {
		Profile string `json:"profile"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeErr(w, 400, "BAD_REQUEST", "invalid JSON body")
		return
	}
	p, ok := s.resolvePerson(body.Profile)
	if !ok {
		notFound(w, "profile")
		return
	}
	if d, _ := s.distance(ss.acct.Name, ss.me, p); d != "DISTANCE_1" {
		writeErr(w, 400, "NOT_CONNECTED", "you can only invite your connections to an event")
		return
	}
	if err := s.commit(event{Op: "event_invite", Acct: ss.acct.Name, E: e, P: p, At: s.now().UnixMilli()}); err != nil {
		writeErr(w, 500, "INTERNAL", err.Error())
		return
	}
	writeJSON(w, 200, map[string]any{"invitee": s.miniFor(ss.acct.Name, ss.me, p), "eventUrl": s.w.eventAs(e, guest).URL, "status": "PENDING"})
}

func (s *Server) hGroup(w http.ResponseWriter, r *http.Request, ss session) {
	g, guest, ok := s.resolveNumeric(r.PathValue("id"), s.w.groupByID, s.w.NGroups, "group")
	if !ok {
		notFound(w, "group")
		return
	}
	writeJSON(w, 200, s.w.groupAs(g, guest))
}

func (s *Server) hGroupMembers(w http.ResponseWriter, r *http.Request, ss session) {
	g, guest, ok := s.resolveNumeric(r.PathValue("id"), s.w.groupByID, s.w.NGroups, "group")
	if !ok {
		notFound(w, "group")
		return
	}
	gr := s.w.groupAs(g, guest)
	pm := s.w.memberPerm(g)
	role := func(i int) string {
		switch {
		case i == 0:
			return "OWNER"
		case i < 3:
			return "MANAGER"
		}
		return "MEMBER"
	}
	want := map[string]bool{}
	for _, x := range strings.Split(r.URL.Query().Get("roles"), ",") {
		if x != "" {
			want[strings.ToUpper(x)] = true
		}
	}
	render := func(i int) any {
		p := pm.at(i)
		return map[string]any{"member": s.miniFor(ss.acct.Name, ss.me, p), "role": role(i), "groupId": gr.ID,
			"joinedAt": gr.CreatedAt + int64(i)*3_600_000*7}
	}
	if len(want) == 0 {
		s.page(w, r, 10, gr.Members, render)
		return
	}
	s.scan(w, r, 10, gr.Members, gr.Members, func(k int) int { return k }, func(i int) bool { return want[role(i)] }, render)
}

func (s *Server) hJob(w http.ResponseWriter, r *http.Request, ss session) {
	j, guest, ok := s.resolveNumeric(r.PathValue("id"), s.w.jobByID, s.w.NJobs, "job")
	if !ok {
		notFound(w, "job")
		return
	}
	writeJSON(w, 200, s.w.jobAs(j, guest))
}

// ---- the account's own network ------------------------------------------------------------

func (s *Server) hConnections(w http.ResponseWriter, r *http.Request, ss session) {
	type conn struct {
		p  int
		at int64
	}
	var fresh []conn
	s.ov.view(ss.acct.Name, func(a *acctState) {
		for p, at := range a.connections {
			fresh = append(fresh, conn{p, at})
		}
	})
	sort.Slice(fresh, func(i, j int) bool {
		if fresh[i].at != fresh[j].at {
			return fresh[i].at > fresh[j].at
		}
		return fresh[i].p < fresh[j].p
	})
	n := s.w.nConnections(ss.me)
	s.page(w, r, 40, len(fresh)+n, func(i int) any {
		var p int
		var at int64
		if i < len(fresh) {
			p, at = fresh[i].p, fresh[i].at
		} else {
			p = s.w.connAt(ss.me, i-len(fresh))
			at = s.w.connectedAtGen(ss.me, i-len(fresh))
		}
		m := s.miniFor(ss.acct.Name, ss.me, p)
		return map[string]any{"connection": m, "connectedAt": at}
	})
}

func (s *Server) hFollowers(w http.ResponseWriter, r *http.Request, ss session) {
	n := s.w.relCount(ss.me, relFollowers, 50, 350)
	pm := s.w.relPerm(ss.me, relFollowers)
	s.page(w, r, 20, n, func(i int) any {
		return map[string]any{"follower": s.miniFor(ss.acct.Name, ss.me, pm.at(i)), "followedAt": refTime.Add(-timeHours(i * 11)).UnixMilli()}
	})
}

func (s *Server) hViewers(w http.ResponseWriter, r *http.Request, ss session) {
	n := s.w.relCount(ss.me, relViewers, 5, 45)
	pm := s.w.relPerm(ss.me, relViewers)
	s.page(w, r, 10, n, func(i int) any {
		return map[string]any{"viewer": s.miniFor(ss.acct.Name, ss.me, pm.at(i)), "viewedAt": refTime.Add(-timeHours(i*9 + 1)).UnixMilli()}
	})
}

func (s *Server) hReceived(w http.ResponseWriter, r *http.Request, ss session) {
	inv := s.receivedInvitations(ss.acct.Name, ss.me)
	s.page(w, r, 100, len(inv), func(i int) any { return inv[i] })
}

func (s *Server) hAccept(w http.ResponseWriter, r *http.Request, ss session) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, inv := range s.receivedInvitations(ss.acct.Name, ss.me) {
		if inv.ID == id {
			if err := s.commit(event{Op: "accept", Acct: ss.acct.Name, P: inv.p, At: s.now().UnixMilli()}); err != nil {
				writeErr(w, 500, "INTERNAL", err.Error())
				return
			}
			inv.Direction = "ACCEPTED"
			writeJSON(w, 200, inv)
			return
		}
	}
	notFound(w, "invitation")
}

func (s *Server) hSent(w http.ResponseWriter, r *http.Request, ss session) {
	inv := s.sentInvitations(ss.acct.Name, ss.me)
	s.page(w, r, 100, len(inv), func(i int) any { return inv[i] })
}

// invite sends a connection request (shared by LinkedIn and Sales Navigator).
func (s *Server) invite(w http.ResponseWriter, ss session, p int, message string) {
	lite := s.w.personLite(p)
	res := map[string]any{"memberId": lite.MemberID, "salesNavId": lite.SalesNavID, "profileUrl": lite.ProfileURL, "message": message}
	if p == ss.me {
		writeErr(w, 400, "CANT_INVITE_SELF", "you cannot invite yourself")
		return
	}
	if d, _ := s.distance(ss.acct.Name, ss.me, p); d == "DISTANCE_1" {
		res["status"] = "ALREADY_CONNECTED"
		writeJSON(w, 200, res)
		return
	}
	for _, inv := range s.sentInvitations(ss.acct.Name, ss.me) {
		if inv.p == p {
			res["status"], res["invitationId"] = "PENDING", inv.ID
			writeJSON(w, 200, res)
			return
		}
	}
	declined := false
	s.ov.view(ss.acct.Name, func(a *acctState) { declined = a.withdrawn[p] })
	if declined || hashOf(s.w.seed, uint64(ss.me), uint64(p), 0xde)%25 == 0 {
		res["status"] = "RECENTLY_DECLINED"
		writeJSON(w, 200, res)
		return
	}
	if len(message) > 300 {
		writeErr(w, 400, "MESSAGE_TOO_LONG", "an invitation note is at most 300 characters")
		return
	}
	if !s.consume(w, ss, "invite") {
		return
	}
	id := s.w.invitationID(ss.me, fmt.Sprintf("N%d", s.now().UnixNano()), p)
	if err := s.commit(event{Op: "invite", Acct: ss.acct.Name, P: p, ID: id, Text: message, At: s.now().UnixMilli()}); err != nil {
		writeErr(w, 500, "INTERNAL", err.Error())
		return
	}
	res["status"], res["invitationId"] = "SENT", id
	writeJSON(w, 201, res)
}

func (s *Server) hInvite(w http.ResponseWriter, r *http.Request, ss session) {
	var body struct {
		Profile string `json:"profile"`
		Message string `json:"message"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeErr(w, 400, "BAD_REQUEST", "invalid JSON body")
		return
	}
	p, ok := s.resolvePerson(body.Profile)
	if !ok {
		notFound(w, "profile")
		return
	}
	s.invite(w, ss, p, body.Message)
}

func (s *Server) hWithdraw(w http.ResponseWriter, r *http.Request, ss session) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	for _, inv := range s.sentInvitations(ss.acct.Name, ss.me) {
		if inv.ID == id {
			if err := s.commit(event{Op: "withdraw", Acct: ss.acct.Name, P: inv.p, At: s.now().UnixMilli()}); err != nil {
				writeErr(w, 500, "INTERNAL", err.Error())
				return
			}
			inv.Direction = "WITHDRAWN"
			writeJSON(w, 200, inv)
			return
		}
	}
	notFound(w, "invitation")
}

// ---- messaging ---------------------------------------------------------------------------

func (s *Server) threadOr404(w http.ResponseWriter, r *http.Request, ss session) (int, bool) {
	tid := cleanKey(r.PathValue("thread"))
	me, p, ok := s.w.parseThreadID(tid)
	if !ok || me != ss.me {
		notFound(w, "conversation")
		return 0, false
	}
	return p, true
}

func (s *Server) hConversations(w http.ResponseWriter, r *http.Request, ss session) {
	convs := s.conversations(ss.acct.Name, ss.me)
	switch r.URL.Query().Get("filter") {
	case "unread":
		convs = filter(convs, func(c Conversation) bool { return !c.Read })
	case "read":
		convs = filter(convs, func(c Conversation) bool { return c.Read })
	}
	s.page(w, r, 20, len(convs), func(i int) any { return convs[i] })
}

func filter[T any](xs []T, keep func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) hThreadMessages(w http.ResponseWriter, r *http.Request, ss session) {
	p, ok := s.threadOr404(w, r, ss)
	if !ok {
		return
	}
	msgs := s.messages(ss.acct.Name, ss.me, p)
	if len(msgs) == 0 {
		notFound(w, "conversation")
		return
	}
	other := s.miniFor(ss.acct.Name, ss.me, p)
	start, count := s.window(r, 20)
	els := []Message{}
	for i := start; i < len(msgs) && i < start+count; i++ {
		els = append(els, msgs[i])
	}
	total := len(msgs)
	body := map[string]any{"elements": els, "paging": paging{Start: start, Count: len(els), Total: &total}, "participant": other, "threadId": s.w.threadID(ss.me, p)}
	if start+len(els) < total {
		body["metadata"] = map[string]any{"paginationToken": s.encodeToken(start + len(els))}
	}
	writeJSON(w, 200, body)
}

type sendBody struct {
	Recipient string `json:"recipient"`
	Text      string `json:"text"`
	Subject   string `json:"subject"`
	InMail    bool   `json:"inmail"`
	Files     []struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
		Type string `json:"mediaType"`
	} `json:"attachments"`
}

func (s *Server) send(w http.ResponseWriter, ss session, p int, body sendBody) {
	if strings.TrimSpace(body.Text) == "" {
		writeErr(w, 400, "BAD_REQUEST", "a message needs a text")
		return
	}
	if p == ss.me {
		writeErr(w, 400, "CANT_MESSAGE_SELF", "you cannot message yourself")
		return
	}
	d, _ := s.distance(ss.acct.Name, ss.me, p)
	kind := ""
	if body.InMail {
		kind = "INMAIL"
	} else if d != "DISTANCE_1" {
		writeErr(w, 403, "NOT_CONNECTED", "you can only message your connections; use InMail")
		return
	}
	if !s.consume(w, ss, "message") {
		return
	}
	now := s.now().UnixMilli()
	seq := s.nextSeq()
	var files []File
	for i, f := range body.Files {
		files = append(files, File{Name: f.Name, Size: f.Size, Type: f.Type, URN: fmt.Sprintf("urn:li:digitalmediaAsset:%s", base62(hashOf(s.w.seed, uint64(now), uint64(seq), uint64(i))%1e15, 9))})
	}
	id := int64(hashOf(s.w.seed, uint64(now), uint64(seq), 0x3e) % 1e15)
	if err := s.commit(event{Op: "message", Acct: ss.acct.Name, P: p, ID: id, Text: body.Text, Subject: body.Subject, Kind: kind, At: now, Files: files}); err != nil {
		writeErr(w, 500, "INTERNAL", err.Error())
		return
	}
	tid := s.w.threadID(ss.me, p)
	att := []map[string]any{}
	for _, f := range files {
		att = append(att, map[string]any{"assetUrn": f.URN, "byteSize": f.Size, "mediaType": f.Type, "name": f.Name})
	}
	lite := s.w.personLite(p)
	writeJSON(w, 201, map[string]any{"messageId": fmt.Sprint(id), "threadId": tid, "threadUrl": threadURL(tid), "deliveredAt": now,
		"body": body.Text, "subject": body.Subject, "messageType": map[bool]string{true: "INMAIL", false: "MEMBER_TO_MEMBER"}[kind != ""],
		"attachments": att, "recipient": map[string]any{"memberId": lite.MemberID, "salesNavId": lite.SalesNavID, "profileUrl": lite.ProfileURL}})
}

func (s *Server) hSendMessage(w http.ResponseWriter, r *http.Request, ss session) {
	var body sendBody
	if err := decodeBody(r, &body); err != nil {
		writeErr(w, 400, "BAD_REQUEST", "invalid JSON body")
		return
	}
	p, ok := s.resolvePerson(body.Recipient)
	if !ok {
		notFound(w, "profile")
		return
	}
	if body.InMail && ss.acct.Level == LevelClassic {
		writeErr(w, 403, "PREMIUM_REQUIRED", "InMail needs a premium subscription")
		return
	}
	s.send(w, ss, p, body)
}

func (s *Server) hReply(w http.ResponseWriter, r *http.Request, ss session) {
	p, ok := s.threadOr404(w, r, ss)
	if !ok {
		return
	}
	var body sendBody
	if err := decodeBody(r, &body); err != nil {
		writeErr(w, 400, "BAD_REQUEST", "invalid JSON body")
		return
	}
	body.InMail = false
	s.send(w, ss, p, body)
}

func (s *Server) threadWrite(w http.ResponseWriter, r *http.Request, ss session, op string) {
	p, ok := s.threadOr404(w, r, ss)
	if !ok {
		return
	}
	if len(s.messages(ss.acct.Name, ss.me, p)) == 0 {
		notFound(w, "conversation")
		return
	}
	if err := s.commit(event{Op: op, Acct: ss.acct.Name, P: p, On: true, At: s.now().UnixMilli()}); err != nil {
		writeErr(w, 500, "INTERNAL", err.Error())
		return
	}
	writeJSON(w, 200, map[string]any{"threadId": s.w.threadID(ss.me, p), "status": strings.ToUpper(op) + "D"})
}

func (s *Server) hArchive(w http.ResponseWriter, r *http.Request, ss session) {
	s.threadWrite(w, r, ss, "archive")
}
func (s *Server) hMarkRead(w http.ResponseWriter, r *http.Request, ss session) {
	s.threadWrite(w, r, ss, "read")
}
