package sim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func timeHours(h int) time.Duration { return time.Duration(h) * time.Hour }

func tokens(s string) []string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer("\"", " ", "(", " ", ")", " ", ",", " ").Replace(s)
	var out []string
	for _, t := range strings.Fields(s) {
		if t == "and" || t == "or" || t == "not" {
			continue
		}
		out = append(out, t)
	}
	return out
}

func matchAll(hay string, kws []string) bool {
	if len(kws) == 0 {
		return true
	}
	hay = strings.ToLower(hay)
	for _, k := range kws {
		if !strings.Contains(hay, k) && !strings.Contains(slugify(hay), slugify(k)) {
			return false
		}
	}
	return true
}

// personMatches applies the people-search filters the simulator understands.
func (s *Server) personMatches(p int, kw []string, q url.Values) bool {
	pc := s.w.core(p)
	cc := s.w.companies[pc.company]
	ci := cities[pc.ci]
	loc := ci.Name + ", " + ci.Region + ", " + ci.Country
	fn := functions[pc.fn].Name
	if !matchAll(pc.first+" "+pc.last+" "+pc.headline+" "+pc.title+" "+cc.Name+" "+loc+" "+fn, kw) {
		return false
	}
	if t := q.Get("title"); t != "" && !matchAll(pc.title, tokens(t)) {
		return false
	}
	if f := q.Get("firstName"); f != "" && !strings.EqualFold(f, pc.first) {
		return false
	}
	if l := q.Get("lastName"); l != "" && !strings.EqualFold(l, pc.last) {
		return false
	}
	if f := q.Get("function"); f != "" && !strings.EqualFold(f, fn) {
		return false
	}
	if g := q.Get("geo"); g != "" && !matchAll(loc, tokens(g)) {
		return false
	}
	return true
}

var digitsRe = regexp.MustCompile(`\d+`)

// idList reads ids from a LinkedIn-style list parameter: ["123","456"], 123,456 or urns.
func idList(vals ...string) []string {
	var out []string
	for _, v := range vals {
		if v == "" {
			continue
		}
		var arr []string
		if json.Unmarshal([]byte(v), &arr) == nil {
			out = append(out, arr...)
			continue
		}
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}

// peopleCandidates: employees of the named companies, or a stable shuffle of
// everyone keyed by the query. Candidates are world people (searches match
// on them); as turns one into the person the results show, the guest
// working at a guest company in their stead (guests.go).
func (s *Server) peopleCandidates(q url.Values) (n int, at func(int) int, as func(int) int) {
	var comps []int
	guests := map[int]int{} // world company -> the guest company named in the query
	for _, id := range idList(append(q["currentCompany"], q["company"]...)...) {
		if c, ok := s.resolveCompany(id); ok {
			b := s.w.compBase(c)
			if b != c {
				guests[b] = c
			}
			comps = append(comps, b)
		}
	}
	as = func(p int) int { return p }
	if len(comps) > 0 {
		sort.Ints(comps)
		offs := []int{0}
		for _, c := range comps {
			offs = append(offs, offs[len(offs)-1]+s.w.companySize(c))
		}
		if len(guests) > 0 {
			as = func(p int) int {
				if g, ok := guests[s.w.companyOf(p)]; ok {
					return s.w.employee(g, p)
				}
				return p
			}
		}
		return offs[len(offs)-1], func(k int) int {
			i := sort.Search(len(comps), func(i int) bool { return offs[i+1] > k })
			return int(s.w.compStart[comps[i]]) + k - offs[i]
		}, as
	}
	pm := newPerm(hashString("people:"+canonicalQuery(q)), s.w.NPeople)
	return s.w.NPeople, pm.at, as
}

func canonicalQuery(q url.Values) string {
	c := url.Values{}
	for k, v := range q {
		switch k {
		case "start", "count", "paginationToken", "scanToken", "page":
			continue
		}
		c[k] = v
	}
	return c.Encode()
}

func (s *Server) hSearch(w http.ResponseWriter, r *http.Request, ss session) {
	if !s.consume(w, ss, "search") {
		return
	}
	q := r.URL.Query()
	kw := tokens(q.Get("keywords"))
	shuffle := func(kind string, n int) func(int) int {
		pm := newPerm(hashString(kind+":"+canonicalQuery(q)), n)
		return pm.at
	}
	switch r.PathValue("vertical") {
	case "people":
		n, at, as := s.peopleCandidates(q)
		s.scan(w, r, 10, n, maxSearchResults, at, func(p int) bool { return s.personMatches(p, kw, q) },
			func(p int) any { return s.employeeCard(ss, as(p)) })
	case "companies":
		s.scan(w, r, 10, s.w.NCompanies, maxSearchResults, shuffle("companies", s.w.NCompanies), func(c int) bool {
			cc := s.w.companies[c]
			if len(kw) == 0 {
				return true
			}
			co := s.w.company(c)
			return matchAll(cc.Name+" "+co.Industry+" "+co.City+" "+strings.Join(co.Specialties, " "), kw)
		}, func(c int) any { return s.companyCard(c, -1) })
	case "schools":
		s.scan(w, r, 10, s.w.NSchools, maxSearchResults, shuffle("schools", s.w.NSchools), func(i int) bool {
			return matchAll(s.w.schools[i].Name, kw)
		}, func(i int) any { return s.w.school(i) })
	case "groups":
		s.scan(w, r, 10, s.w.NGroups, maxSearchResults, shuffle("groups", s.w.NGroups), func(i int) bool {
			g := s.w.group(i)
			return matchAll(g.Name+" "+g.Description, kw)
		}, func(i int) any { return s.w.group(i) })
	case "events":
		s.scan(w, r, 10, s.w.NEvents, maxSearchResults, shuffle("events", s.w.NEvents), func(i int) bool {
			return matchAll(s.w.event(i).Name, kw)
		}, func(i int) any { return s.w.event(i) })
	case "jobs":
		n, at := s.w.NJobs, shuffle("jobs", s.w.NJobs)
		if ids := idList(q["f_C"]...); len(ids) > 0 {
			var js []int
			for _, id := range ids {
				if c, ok := s.resolveCompany(id); ok {
					js = append(js, s.w.jobsOfCompany(s.w.compBase(c), 1000)...)
				}
			}
			n, at = len(js), func(k int) int { return js[k] }
		}
		loc := tokens(q.Get("location"))
		remote := strings.Contains(q.Get("f_WT"), "2")
		s.scan(w, r, 50, n, maxSearchResults, at, func(i int) bool {
			j := s.w.job(i)
			return matchAll(j.Title+" "+j.CompanyName+" "+j.Field, kw) && matchAll(j.Location, loc) && (!remote || j.Remote)
		}, func(i int) any { return s.w.job(i) })
	case "content":
		slots := s.w.NPeople * postsPerPersonMax
		s.scan(w, r, 10, min(slots, 300_000), maxSearchResults, shuffle("content", slots), func(slot int) bool {
			return s.w.postExists(slot) && (len(kw) == 0 || matchAll(s.w.post(slot).Text, kw))
		}, func(slot int) any {
			po := s.postFor(ss, slot)
			lite := s.w.personLite(slot / postsPerPersonMax)
			return map[string]any{"post": po, "authorHeadline": lite.Headline}
		})
	default:
		notFound(w, "search vertical")
	}
}

// ---- Sales Navigator and Recruiter Lite ------------------------------------------------

func (s *Server) salesRoutes(m *http.ServeMux) {
	sn := func(pattern string, h func(http.ResponseWriter, *http.Request, session)) {
		m.HandleFunc(pattern, s.authed(scopeSales, h))
	}
	sn("GET /sales/profiles/{id}", s.hLead)
	sn("GET /sales/companies/{id}", s.hSalesCompany)
	sn("GET /sales/companies/{id}/headcount", s.hHeadcount)
	sn("GET /sales/companies/{id}/distribution", s.hDistribution)
	sn("GET /sales/companies/{id}/metrics", s.hMetrics)
	sn("GET /sales/companies/{id}/employees", s.hSalesEmployees)
	sn("GET /sales/search/people", s.hSalesSearchPeople)
	sn("GET /sales/search/companies", s.hSalesSearchCompanies)
	sn("GET /sales/lists/leads/{id}", s.hLeadList)
	sn("GET /sales/lists/accounts/{id}", s.hAccountList)
	sn("POST /sales/invitations", s.hSalesInvite)
	sn("POST /sales/inmails", s.hSalesInMail)
	m.HandleFunc("GET /recruiter/search/people", s.authed(scopeRecruiter, s.hRecruiterSearch))
}

func (s *Server) hLead(w http.ResponseWriter, r *http.Request, ss session) {
	p, ok := s.personOr404(w, r)
	if !ok {
		return
	}
	if !s.consume(w, ss, "view") {
		return
	}
	ps := s.fullProfile(ss, p)
	writeJSON(w, 200, map[string]any{"lead": ps, "salesNavUrl": salesLeadURL(ps.SalesNavID), "interests": []string{pick(newRNG(s.w.seed, kPersonFull, uint64(p)), postTopics)}})
}

func salesLeadURL(snid string) string {
	return "https://www.linkedin.com/sales/lead/" + snid + ",NAME_SEARCH," + snid[len(snid)-4:]
}

func (s *Server) hSalesCompany(w http.ResponseWriter, r *http.Request, ss session) {
	c, ok := s.companyOr404(w, r)
	if !ok {
		return
	}
	co := s.w.company(c)
	writeJSON(w, 200, map[string]any{"company": co, "employeesSearchUrl": salesEmployeesURL(co.ID)})
}

func salesEmployeesURL(id int64) string {
	return "https://www.linkedin.com/sales/search/people?query=(filters%3AList((type%3ACURRENT_COMPANY%2Cvalues%3AList((id%3Aurn%253Ali%253Aorganization%253A" + strconv.FormatInt(id, 10) + "%2CselectionType%3AINCLUDED)))))"
}

func (s *Server) hHeadcount(w http.ResponseWriter, r *http.Request, ss session) {
	c, ok := s.companyOr404(w, r)
	if !ok {
		return
	}
	co := s.w.company(c)
	rr := newRNG(s.w.seed, kCompany, uint64(c)<<8^0x4c)
	growth := 0.9 + rr.float()*0.4
	var months []map[string]int
	for i := 23; i >= 0; i-- {
		d := refTime.AddDate(0, -i, 0)
		f := 1 - (1-1/growth)*float64(i)/24
		months = append(months, map[string]int{"year": d.Year(), "month": int(d.Month()), "day": 1, "count": max(1, int(float64(co.StaffCount)*f))})
	}
	writeJSON(w, 200, map[string]any{"companyId": co.ID, "total": co.StaffCount, "medianTenureYears": float64(10+rr.intn(60)) / 10,
		"employeesSearchUrl": salesEmployeesURL(co.ID), "monthly": months})
}

func (s *Server) hDistribution(w http.ResponseWriter, r *http.Request, ss session) {
	c, ok := s.companyOr404(w, r)
	if !ok {
		return
	}
	co := s.w.company(c)
	counts := map[string]int{}
	from, to := s.w.compBlock(c)
	for p := from; p < to; p++ {
		counts[s.w.personLite(p).Function]++
	}
	var deps []map[string]any
	for _, it := range sortedCounts(counts, nil) {
		h := hashOf(s.w.seed, uint64(c), hashString(it.Name))
		deps = append(deps, map[string]any{"name": it.Name, "count": it.Count, "percentage": float64(it.Count*1000/co.StaffCount) / 10,
			"growth3m": int(h%21) - 5, "growth6m": int(h>>8%31) - 8, "growth12m": int(h>>16%41) - 10})
	}
	writeJSON(w, 200, map[string]any{"companyId": co.ID, "total": co.StaffCount, "departments": deps})
}

func (s *Server) hMetrics(w http.ResponseWriter, r *http.Request, ss session) {
	c, ok := s.companyOr404(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	kw := tokens(q.Get("keywords"))
	total, recent := 0, 0
	from, to := s.w.compBlock(c)
	for p := from; p < to; p++ {
		if s.personMatches(p, kw, q) {
			total++
			if hashOf(s.w.seed, uint64(p), 0x7e)%12 == 0 {
				recent++
			}
		}
	}
	co := s.w.company(c)
	h := hashOf(s.w.seed, uint64(c), 0x3e7)
	part := func(shift uint, div int) int {
		if total == 0 {
			return 0
		}
		return int((h >> shift) % uint64(total/div+1))
	}
	writeJSON(w, 200, map[string]any{"companyId": co.ID, "companyName": co.Name, "companyUrl": co.URL, "salesNavUrl": co.SalesNavURL,
		"searchUrl": salesEmployeesURL(co.ID), "total": total, "recentlyHired": recent, "postedRecently": part(4, 5),
		"mentionedInNews": part(12, 20), "commonExperience": part(20, 10), "followingYourCompany": part(28, 8),
		"pastColleagues": part(36, 15), "teamLink": part(44, 12), "viewedYourProfile": part(52, 25)})
}

func (s *Server) hSalesEmployees(w http.ResponseWriter, r *http.Request, ss session) {
	s.hEmployees(w, r, ss)
}

func (s *Server) hSalesSearchPeople(w http.ResponseWriter, r *http.Request, ss session) {
	if !s.consume(w, ss, "search") {
		return
	}
	q := r.URL.Query()
	kw := tokens(q.Get("keywords"))
	n, at, as := s.peopleCandidates(q)
	s.scan(w, r, 25, n, 2500, at, func(p int) bool { return s.personMatches(p, kw, q) }, func(p int) any { return s.employeeCard(ss, as(p)) })
}

func (s *Server) hSalesSearchCompanies(w http.ResponseWriter, r *http.Request, ss session) {
	if !s.consume(w, ss, "search") {
		return
	}
	q := r.URL.Query()
	kw := tokens(q.Get("keywords"))
	pm := newPerm(hashString("sales-companies:"+canonicalQuery(q)), s.w.NCompanies)
	s.scan(w, r, 25, s.w.NCompanies, 2500, pm.at, func(c int) bool {
		if len(kw) == 0 {
			return true
		}
		co := s.w.company(c)
		return matchAll(co.Name+" "+co.Industry+" "+co.City, kw)
	}, func(c int) any { return s.companyCard(c, -1) })
}

func (s *Server) listIndex(id string) (uint64, bool) {
	id = cleanKey(id)
	if id == "" || isMissing(id) {
		return 0, false
	}
	return hashString("list:" + id), true
}

func (s *Server) hLeadList(w http.ResponseWriter, r *http.Request, ss session) {
	h, ok := s.listIndex(r.PathValue("id"))
	if !ok {
		notFound(w, "list")
		return
	}
	n := 10 + int(h%290)
	pm := newPerm(h, s.w.NPeople)
	s.page(w, r, 25, n, func(i int) any { return s.employeeCard(ss, pm.at(i)) })
}

func (s *Server) hAccountList(w http.ResponseWriter, r *http.Request, ss session) {
	h, ok := s.listIndex(r.PathValue("id"))
	if !ok {
		notFound(w, "list")
		return
	}
	n := 5 + int(h%95)
	pm := newPerm(h, s.w.NCompanies)
	s.page(w, r, 25, n, func(i int) any {
		card := s.companyCard(pm.at(i), -1)
		card["employeesSearchUrl"] = salesEmployeesURL(card["companyId"].(int64))
		return card
	})
}

func (s *Server) hSalesInvite(w http.ResponseWriter, r *http.Request, ss session) {
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
		notFound(w, "lead")
		return
	}
	s.invite(w, ss, p, body.Message)
}

func (s *Server) hSalesInMail(w http.ResponseWriter, r *http.Request, ss session) {
	var body sendBody
	if err := decodeBody(r, &body); err != nil {
		writeErr(w, 400, "BAD_REQUEST", "invalid JSON body")
		return
	}
	p, ok := s.resolvePerson(body.Recipient)
	if !ok {
		notFound(w, "lead")
		return
	}
	body.InMail = true
	s.send(w, ss, p, body)
}

func (s *Server) hRecruiterSearch(w http.ResponseWriter, r *http.Request, ss session) {
	if !s.consume(w, ss, "search") {
		return
	}
	q := r.URL.Query()
	kw := tokens(q.Get("keywords"))
	n, at, as := s.peopleCandidates(q)
	s.scan(w, r, 25, n, maxSearchResults, at, func(p int) bool { return s.personMatches(p, kw, q) }, func(p int) any {
		ps := s.fullProfile(ss, as(p))
		return map[string]any{"candidate": ps, "jobSeeker": ps.OpenToWork}
	})
}
