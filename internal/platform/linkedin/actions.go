package linkedin

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

type handler func(c *callCtx) (platform.Page, error)

// handlers holds one entry per supported catalogue slug.
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"linkedin-me":                       runMe,
		"linkedin-extract-people":           extractPeople,
		"linkedin-visit-profile":            visitProfile,
		"linkedin-extract-company":          extractCompany,
		"linkedin-search-people":            searchPeople,
		"linkedin-search-companies":         searchCompanies,
		"linkedin-connect-profile":          connectProfile,
		"linkedin-message-profile":          messageProfile,
		"linkedin-extract-connections":      extractConnections,
		"linkedin-extract-conversations":    extractConversations,
		"linkedin-extract-messages":         extractMessages,
		"linkedin-accept-invitations":       acceptInvitations,
		"linkedin-withdraw-invitations":     withdrawInvitations,
		"linkedin-extract-sent-invitations": extractSentInvitations,
	}
}

func one(m map[string]any) platform.Page { return platform.Page{Results: []map[string]any{m}} }

// ---- the account itself --------------------------------------------------------

type meInfo struct {
	data, mini J
	plainID    string
	premium    bool
}

func (s *session) me() (*meInfo, error) {
	a, err := s.call("me", nil, nil)
	if err != nil {
		return nil, err
	}
	data := a.body.O("data")
	if data == nil {
		return nil, brokenShape("me", "data")
	}
	ref := data.S("*miniProfile")
	if ref == "" {
		return nil, brokenShape("me", "data.*miniProfile")
	}
	mini := newNormalized(a.body).byURN[ref]
	if mini == nil {
		return nil, brokenShape("me", "included[data.*miniProfile]")
	}
	if mini.S("publicIdentifier") == "" {
		return nil, brokenShape("me", "included[data.*miniProfile].publicIdentifier")
	}
	prem, ok := data.B("premiumSubscriber")
	if !ok {
		return nil, brokenShape("me", "data.premiumSubscriber")
	}
	return &meInfo{data: data, mini: mini, plainID: data.S("plainId"), premium: prem}, nil
}

// fatal reports whether a failure of a secondary read (level detection) must
// fail the call: the session itself is gone, restricted, rate limited or the
// platform is down. Anything else (a refusal, an endpoint that changed)
// degrades the answer instead.
func fatal(err error) bool {
	e, ok := apperr.As(err)
	if !ok {
		return true
	}
	switch e.Label {
	case platform.LabelNotConnected, platform.LabelRestricted, platform.Label429, platform.LabelLK524, platform.LabelProxy:
		return true
	}
	return platform.Transient(err)
}

// level: Classic unless /me says premium; a premium account with a Sales
// Navigator licence is Sales Navigator, one with the recruiter mailbox
// feature Recruiter Lite. When a licence check cannot be read the account
// stays at Premium, the conservative level (lower platform thresholds).
func (s *session) level(me *meInfo) (string, error) {
	if !me.premium {
		return platform.LevelClassic, nil
	}
	if a, err := s.call("sales_licenses", nil, nil); err != nil {
		if fatal(err) {
			return "", err
		}
	} else if len(a.body.A("elements")) > 0 {
		return platform.LevelSalesNav, nil
	}
	if a, err := s.call("feature_access", nil, nil); err != nil {
		if fatal(err) {
			return "", err
		}
	} else {
		for _, e := range a.body.A("data.data.premiumDashFeatureAccessByFeatureAccessTypes.elements") {
			if has, _ := e.B("hasAccess"); has && e.S("featureAccessType") == "CAN_ACCESS_RECRUITER_MAILBOX" {
				return platform.LevelRecruiter, nil
			}
		}
	}
	return platform.LevelPremium, nil
}

func picture(mini J) string {
	return vectorImage(mini.O(`picture["com.linkedin.common.VectorImage"]`))
}

func memberID(objectURN string) any {
	if !strings.HasPrefix(objectURN, "urn:li:member:") {
		return nil
	}
	n, err := strconv.ParseInt(urnID(objectURN), 10, 64)
	if err != nil {
		return nil
	}
	return n
}

func fullName(first, last string) string { return strings.TrimSpace(first + " " + last) }

func runMe(c *callCtx) (platform.Page, error) {
	me, err := c.s.me()
	if err != nil {
		return platform.Page{}, err
	}
	m := me.mini
	var twitter any
	if tw := me.data.A("publicContactInfo.twitterHandles"); len(tw) > 0 {
		twitter = tw[0].S("name")
	}
	var id any
	if n, ok := me.data.I("plainId"); ok {
		id = n
	}
	return one(map[string]any{
		"id": id, "first_name": m.S("firstName"), "last_name": m.S("lastName"), "full_name": fullName(m.S("firstName"), m.S("lastName")),
		"job_title": m.S("occupation"), "object_urn": m.S("objectUrn"), "handle": m.S("publicIdentifier"), "twitter": twitter,
		"premium_subscriber": me.premium, "linkedin_profile_url": profileURL(m.S("publicIdentifier")), "profile_image_url": picture(m),
		"sales_navigator_profile_id": urnID(m.S("entityUrn")),
	}), nil
}

// ---- profiles ------------------------------------------------------------------------

type profileInfo struct {
	body, profile, mini J
	id                  string // the profile id (ACoAA...), what Sales Navigator and the messaging and invitation endpoints take
}

func (c *callCtx) profile() (*profileInfo, error) {
	handle, err := profileHandle("linkedin_profile_url", c.in("linkedin_profile_url"))
	if err != nil {
		return nil, err
	}
	return c.s.profile(handle)
}

func (s *session) profile(handle string) (*profileInfo, error) {
	a, err := s.call("profile", map[string]string{"public_id": handle}, nil)
	if err != nil {
		return nil, err
	}
	for _, p := range []string{"profile", "profile.miniProfile", "profile.miniProfile.entityUrn", "profile.miniProfile.publicIdentifier"} {
		if !a.body.Has(p) {
			return nil, brokenShape("profile", p)
		}
	}
	p := a.body.O("profile")
	mini := p.O("miniProfile")
	return &profileInfo{body: a.body, profile: p, mini: mini, id: urnID(mini.S("entityUrn"))}, nil
}

// networkInfo returns the member's distance and network counts.
func (s *session) networkInfo(handle string) (J, error) {
	a, err := s.call("network_info", map[string]string{"public_id": handle}, nil)
	if err != nil {
		return nil, err
	}
	if !a.body.Has("data.distance.value") {
		return nil, brokenShape("network_info", "data.distance.value")
	}
	return a.body.O("data"), nil
}

func degree(d string) string {
	switch d {
	case "DISTANCE_1":
		return "1st"
	case "DISTANCE_2":
		return "2nd"
	case "DISTANCE_3":
		return "3rd"
	case "OUT_OF_NETWORK":
		return "3rd+"
	case "SELF":
		return "you"
	}
	return ""
}

func ym(o J) (time.Time, bool) {
	y, ok := o.I("year")
	if !ok || y <= 0 {
		return time.Time{}, false
	}
	m, _ := o.I("month")
	return time.Date(int(y), time.Month(max(m, 1)), 1, 0, 0, 0, 0, time.UTC), true
}

// period is the web app's "3 yrs 2 mos" of a position, counted to now when
// it has not ended.
func period(start, end J, now time.Time) string {
	s, ok := ym(start)
	if !ok {
		return ""
	}
	e := now.UTC()
	if t, ok := ym(end); ok {
		e = t
	}
	months := (e.Year()-s.Year())*12 + int(e.Month()-s.Month()) + 1
	if months <= 0 {
		return ""
	}
	y, m := months/12, months%12
	switch {
	case y == 0:
		return fmt.Sprintf("%d mos", m)
	case m == 0:
		return fmt.Sprintf("%d yrs", y)
	}
	return fmt.Sprintf("%d yrs %d mos", y, m)
}

func dateRange(start, end J) string {
	s, ok := ym(start)
	if !ok {
		return ""
	}
	e := "Present"
	if t, ok := ym(end); ok {
		e = t.Format("Jan 2006")
	}
	return s.Format("Jan 2006") + " - " + e
}

func extractPeople(c *callCtx) (platform.Page, error) {
	handle, err := profileHandle("linkedin_profile_url", c.in("linkedin_profile_url"))
	if err != nil {
		return platform.Page{}, err
	}
	pi, err := c.s.profile(handle)
	if err != nil {
		return platform.Page{}, err
	}
	ni, err := c.s.networkInfo(handle)
	if err != nil {
		return platform.Page{}, err
	}
	p, mini, body := pi.profile, pi.mini, pi.body
	h := mini.S("publicIdentifier")
	m := map[string]any{
		"linkedin_profile_handle": h, "linkedin_profile_url": profileURL(h),
		"first_name": p.S("firstName"), "last_name": p.S("lastName"), "full_name": fullName(p.S("firstName"), p.S("lastName")),
		"headline": p.S("headline"), "summary": p.S("summary"), "job_title": mini.S("occupation"),
		"sales_navigator_profile_id": pi.id, "linkedin_profile_id": memberID(mini.S("objectUrn")),
		"profile_country": p.S("location.basicLocation.countryCode"), "profile_language": p.S("defaultLocale.language"),
		"location": firstOf(p.S("geoLocationName"), p.S("locationName")), "profile_image_url": picture(mini),
		"linkedin_people_post_search_url": postSearchURL(pi.id), "connection_degree": degree(ni.S("distance.value")),
	}
	if n, ok := ni.I("connectionsCount"); ok {
		m["number_connections"] = n
	}
	if n, ok := ni.I("followersCount"); ok {
		m["number_followers"] = n
	}
	var langs []any
	for _, l := range body.A("languageView.elements") {
		if n := l.S("name"); n != "" {
			langs = append(langs, n)
		}
	}
	if body.Has("languageView") {
		m["languages"] = orEmpty(langs)
	}
	var skills []any
	for _, s := range body.A("skillView.elements") {
		if n := s.S("name"); n != "" {
			skills = append(skills, map[string]any{"name": n})
		}
	}
	if body.Has("skillView") {
		m["skills"] = orEmpty(skills)
	}
	var edu []any
	for _, e := range body.A("educationView.elements") {
		sid := urnID(firstOf(e.S("schoolUrn"), e.S("school.entityUrn")))
		item := map[string]any{"school_name": firstOf(e.S("schoolName"), e.S("school.schoolName")), "linkedin_school_id": sid,
			"linkedin_school_url": schoolURL(sid), "degree_name": e.S("degreeName")}
		sy, _ := e.I("timePeriod.startDate.year")
		ey, _ := e.I("timePeriod.endDate.year")
		switch {
		case sy > 0 && ey > 0:
			item["date"] = fmt.Sprintf("%d - %d", sy, ey)
		case sy > 0:
			item["date"] = fmt.Sprintf("%d - Present", sy)
		}
		edu = append(edu, item)
	}
	if body.Has("educationView") {
		m["education"] = orEmpty(edu)
	}
	if len(edu) > 0 {
		first := edu[0].(map[string]any)
		m["school_name"], m["linkedin_school_url"] = first["school_name"], first["linkedin_school_url"]
	}
	var vol []any
	for _, v := range body.A("volunteerExperienceView.elements") {
		item := map[string]any{}
		for _, k := range []string{"role", "companyName", "cause", "description"} {
			if s := v.S(k); s != "" {
				item[k] = s
			}
		}
		vol = append(vol, item)
	}
	if body.Has("volunteerExperienceView") {
		m["volunteer_experiences"] = orEmpty(vol)
	}
	var exps []any
	var current, past J
	for _, x := range body.A("positionView.elements") {
		cid := urnID(firstOf(x.S("companyUrn"), x.S("company.miniCompany.entityUrn")))
		cu := companyURL(x.S("company.miniCompany.universalName"))
		item := map[string]any{"title": x.S("title"), "company_name": x.S("companyName"), "linkedin_company_url": cu,
			"location": firstOf(x.S("locationName"), x.S("geoLocationName")), "linkedin_company_id": cid,
			"date": dateRange(x.O("timePeriod.startDate"), x.O("timePeriod.endDate")),
			"job_time_period": period(x.O("timePeriod.startDate"), x.O("timePeriod.endDate"), c.s.d.now()),
			"company_logo_url": vectorImage(x.O(`company.miniCompany.logo["com.linkedin.common.VectorImage"]`)),
			"company_description": x.S("description")}
		for k, v := range item {
			if v == "" {
				delete(item, k)
			}
		}
		exps = append(exps, item)
		switch {
		case current == nil && !x.Has("timePeriod.endDate"):
			current = x
		case past == nil && x.Has("timePeriod.endDate"):
			past = x
		}
	}
	if body.Has("positionView") {
		m["experiences"] = orEmpty(exps)
	}
	if current != nil {
		m["company_name"] = current.S("companyName")
		m["linkedin_company_id"] = urnID(firstOf(current.S("companyUrn"), current.S("company.miniCompany.entityUrn")))
		m["linkedin_company_url"] = companyURL(current.S("company.miniCompany.universalName"))
	}
	if past != nil {
		pid := urnID(firstOf(past.S("companyUrn"), past.S("company.miniCompany.entityUrn")))
		m["past_company_name"], m["past_job_title"] = past.S("companyName"), past.S("title")
		m["past_linkedin_company_id"], m["past_linkedin_company_url"] = pid, companyURL(past.S("company.miniCompany.universalName"))
	}
	return one(m), nil
}

func orEmpty(xs []any) []any {
	if xs == nil {
		return []any{}
	}
	return xs
}

func firstOf(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}

// visitProfile opens the profile, which is what records a visit on LinkedIn.
func visitProfile(c *callCtx) (platform.Page, error) {
	pi, err := c.profile()
	if err != nil {
		return platform.Page{}, err
	}
	return one(map[string]any{"sales_navigator_profile_id": pi.id}), nil
}

// ---- companies -------------------------------------------------------------------------

func extractCompany(c *callCtx) (platform.Page, error) {
	name, err := companyName("linkedin_company_url", c.in("linkedin_company_url"))
	if err != nil {
		return platform.Page{}, err
	}
	a, err := c.s.call("company", map[string]string{"universal_name": name}, nil)
	if err != nil {
		return platform.Page{}, err
	}
	if !a.body.Has("elements") {
		return platform.Page{}, brokenShape("company", "elements")
	}
	els := a.body.A("elements")
	if len(els) == 0 {
		return platform.Page{}, platform.FromStatus(platform.FamilyLinkedIn, 404, "", "no LinkedIn company page "+name, "")
	}
	co := els[0]
	for _, p := range []string{"entityUrn", "name", "universalName"} {
		if !co.Has(p) {
			return platform.Page{}, brokenShape("company", "elements[0]."+p)
		}
	}
	id := urnID(co.S("entityUrn"))
	var idNum any
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		idNum = n
	}
	handle := co.S("universalName")
	m := map[string]any{
		"company_name": co.S("name"), "tagline": co.S("tagline"), "description": co.S("description"),
		"linkedin_company_id": idNum, "linkedin_company_handle": handle, "linkedin_company_url": firstOf(stripQuery(co.S("url")), companyURL(handle)),
		"type": co.S("companyType.localizedName"), "website": co.S("companyPageUrl"), "domain": domainOf(co.S("companyPageUrl")),
		"linkedin_company_phone": co.S("phone.number"), "linkedin_job_search_url": co.S("jobSearchPageUrl"),
		"linkedin_employees_url": co.S("companyEmployeesSearchPageUrl"), "logo_url": vectorImage(co.O(`logo.image["com.linkedin.common.VectorImage"]`)),
	}
	if idNum != nil {
		m["sales_navigator_company_url"] = "https://www.linkedin.com/sales/company/" + id
		m["sales_navigator_employees_url"] = "https://www.linkedin.com/sales/search/people?query=(filters%3AList((type%3ACURRENT_COMPANY%2Cvalues%3AList((id%3Aurn%253Ali%253Aorganization%253A" + id + "%2CselectionType%3AINCLUDED)))))"
	}
	if co.Has("specialities") {
		m["specialties"] = strsAny(co.Strs("specialities"))
	}
	var inds []any
	for _, i := range co.A("companyIndustries") {
		if n := i.S("localizedName"); n != "" {
			inds = append(inds, n)
		}
	}
	if co.Has("companyIndustries") {
		m["industries"], m["industries_v1"] = orEmpty(inds), orEmpty(inds)
		if len(inds) > 0 {
			m["industry"] = inds[0]
		}
	}
	if y, ok := co.I("foundedOn.year"); ok {
		m["founded_on"] = y
	}
	if n, ok := co.I("followingInfo.followerCount"); ok {
		m["followers_count"] = n
	}
	if n, ok := co.I("staffCount"); ok {
		m["number_employees"] = n
	}
	if s, ok := co.I("staffCountRange.start"); ok {
		if e, ok := co.I("staffCountRange.end"); ok {
			m["employees_range"] = fmt.Sprintf("%d-%d", s, e)
		} else {
			m["employees_range"] = fmt.Sprintf("%d+", s)
		}
	}
	if claimable, ok := co.B("claimable"); ok {
		m["linkedin_page_claimed"] = !claimable
	}
	if hq := co.O("headquarter"); hq != nil {
		m["country"], m["geographic_area"], m["city"], m["postal_code"] = hq.S("country"), hq.S("geographicArea"), hq.S("city"), hq.S("postalCode")
		m["headquarters"] = joinNonEmpty(", ", hq.S("city"), hq.S("country"))
		m["location"] = joinNonEmpty(", ", hq.S("city"), hq.S("geographicArea"), hq.S("country"))
	}
	var locs []any
	for _, l := range co.A("confirmedLocations") {
		locs = append(locs, map[string]any{"address": joinNonEmpty(", ", l.S("line1"), strings.TrimSpace(l.S("postalCode")+" "+l.S("city")), l.S("country")),
			"geographic_area": l.S("geographicArea"), "street": l.S("line1"), "postal_code": l.S("postalCode"), "city": l.S("city"), "country": l.S("country")})
	}
	if co.Has("confirmedLocations") {
		m["locations"], m["number_of_locations"] = orEmpty(locs), int64(len(locs))
	}
	var affs []any
	res := co.O("affiliatedCompaniesResolutionResults")
	for _, u := range co.Strs("affiliatedCompanies") {
		a := res.O(`["` + u + `"]`)
		if a == nil {
			continue
		}
		item := map[string]any{"company_name": a.S("name"), "entity_urn": a.S("entityUrn"),
			"linkedin_company_url": firstOf(stripQuery(a.S("url")), companyURL(a.S("universalName"))),
			"original_company_name": co.S("name"), "original_linkedin_company_id": id, "original_linkedin_company_url": m["linkedin_company_url"]}
		if n, ok := a.I("followingInfo.followerCount"); ok {
			item["followers_count"] = n
		}
		if ind := a.A("companyIndustries"); len(ind) > 0 {
			item["industry"] = ind[0].S("localizedName")
		}
		affs = append(affs, item)
	}
	if co.Has("affiliatedCompanies") {
		m["affiliates"] = orEmpty(affs)
	}
	if f := co.O("fundingData"); f != nil {
		m["crunchbase_company_url"] = f.S("companyCrunchbaseUrl")
		lr := f.O("lastFundingRound")
		m["last_funding_type"] = lr.S("fundingType")
		m["last_funding_currency"] = lr.S("moneyRaised.currencyCode")
		if amt, err := strconv.ParseInt(lr.S("moneyRaised.amount"), 10, 64); err == nil {
			m["last_funding_raised"] = amt
		}
		if y, ok := lr.I("announcedOn.year"); ok {
			mo, _ := lr.I("announcedOn.month")
			d, _ := lr.I("announcedOn.day")
			m["last_funding_date"] = fmt.Sprintf("%04d-%02d-%02d", y, max(mo, 1), max(d, 1))
		}
		var inv []any
		for _, i := range lr.A("leadInvestors") {
			inv = append(inv, map[string]any{"name": i.S("name.text"), "crunchbase_company_url": i.S("investorCrunchbaseUrl")})
		}
		if lr.Has("leadInvestors") {
			m["last_funding_investors"] = orEmpty(inv)
		}
	}
	return one(m), nil
}

func strsAny(xs []string) []any {
	out := make([]any, 0, len(xs))
	for _, x := range xs {
		out = append(out, x)
	}
	return out
}

func joinNonEmpty(sep string, xs ...string) string {
	var out []string
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return strings.Join(out, sep)
}

func domainOf(site string) string {
	u := stripQuery(site)
	if u == "" {
		return ""
	}
	host := strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	host, _, _ = strings.Cut(host, "/")
	return strings.TrimPrefix(host, "www.")
}

// ---- searches ------------------------------------------------------------------------------

// searchPageSize is what LinkedIn's search answers per page; the recipe
// pages by start.
const searchPageSize = 10

// searchResultsCap: LinkedIn stops a search after 1,000 results.
const searchResultsCap = 1000

func (c *callCtx) search(field, resultType, vertical string) (*normalized, []J, bool, int, error) {
	kw, qp, err := searchQuery(field, c.in(field), resultType, vertical)
	if err != nil {
		return nil, nil, false, 0, err
	}
	start := (c.page - 1) * searchPageSize
	if t, ok := strings.CutPrefix(c.call.Token, "s:"); ok {
		if n, err := strconv.Atoi(t); err == nil && n >= 0 {
			start = n
		}
	}
	if start >= searchResultsCap {
		return nil, nil, false, start, nil
	}
	a, err := c.s.call("search", map[string]string{"start": strconv.Itoa(start), "keywords_clause": kw, "query_parameters": qp}, nil)
	if err != nil {
		return nil, nil, false, start, err
	}
	const root = "data.data.searchDashClustersByAll"
	for _, p := range []string{root, root + ".elements"} {
		if !a.body.Has(p) {
			return nil, nil, false, start, brokenShape("search", p)
		}
	}
	n := newNormalized(a.body)
	var results []J
	for _, cl := range a.body.A(root + ".elements") {
		for _, it := range cl.A("items") {
			e := it.O("item.entityResult")
			if e == nil {
				ref := it.S("item.*entityResult")
				if ref == "" {
					continue // another kind of search item (a card, a banner)
				}
				if e = n.byURN[ref]; e == nil {
					return nil, nil, false, start, brokenShape("search", "included["+ref+"]")
				}
			}
			results = append(results, e)
		}
	}
	total, hasTotal := a.body.I(root + ".paging.total")
	limit := int64(searchResultsCap)
	if hasTotal && total < limit {
		limit = total
	}
	more := len(results) > 0 && int64(start+len(results)) < limit
	if !hasTotal {
		more = len(results) >= searchPageSize && start+len(results) < searchResultsCap
	}
	return n, results, more, start, nil
}

func searchPage(results []J, more bool, start int, mapper func(J) map[string]any) platform.Page {
	pg := platform.Page{More: more}
	for _, r := range results {
		pg.Results = append(pg.Results, mapper(r))
	}
	if more {
		pg.NextToken = "s:" + strconv.Itoa(start+len(results))
	}
	return pg
}

func searchPeople(c *callCtx) (platform.Page, error) {
	_, res, more, start, err := c.search("linkedin_people_search_url", "PEOPLE", "people")
	if err != nil {
		return platform.Page{}, err
	}
	return searchPage(res, more, start, func(e J) map[string]any {
		name := e.S("title.text")
		first, last, _ := strings.Cut(name, " ")
		pid := profileIDIn(e.S("entityUrn"))
		nav := stripQuery(e.S("navigationUrl"))
		handle := ""
		if segs, _ := segments(nav); len(segs) > 0 {
			handle = after(segs, "in")
		}
		m := map[string]any{
			"full_name": name, "first_name": first, "last_name": last, "headline": e.S("primarySubtitle.text"),
			"job_title": e.S("primarySubtitle.text"), "current_title": e.S("primarySubtitle.text"), "location": e.S("secondarySubtitle.text"),
			"linkedin_profile_url": nav, "linkedin_profile_handle": handle, "linkedin_profile_id": memberID(e.S("trackingUrn")),
			"sales_navigator_profile_id": pid, "connection_degree": degree(e.S("entityCustomTrackingInfo.memberDistance")),
			"linkedin_people_post_search_url": postSearchURL(pid),
		}
		for _, a := range e.A("image.attributes") {
			if img := vectorImage(a.O("detailData.nonEntityProfilePicture.vectorImage")); img != "" {
				m["profile_image_url"] = img
				break
			}
		}
		for _, in := range e.A("insightsResolutionResults") {
			t := in.S("simpleInsight.title.text")
			if n, ok := mutualCount(t); ok {
				m["number_shared_connections"] = n
				m["shared_connection_search_url"] = sharedSearchURL(pid)
			}
		}
		return m
	}), nil
}

// profileIDIn finds the profile id inside an entity result URN:
// urn:li:fsd_entityResultViewModel:(urn:li:fsd_profile:ACoAA...,SEARCH_SRP,DEFAULT).
func profileIDIn(u string) string {
	i := strings.Index(u, "fsd_profile:")
	if i < 0 {
		return ""
	}
	rest := u[i+len("fsd_profile:"):]
	if j := strings.IndexAny(rest, ",)"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// mutualCount reads "12 mutual connections" (and "1 other mutual
// connection").
func mutualCount(t string) (int64, bool) {
	if !strings.Contains(strings.ToLower(t), "mutual connection") {
		return 0, false
	}
	for _, f := range strings.Fields(t) {
		if n, err := strconv.ParseInt(strings.ReplaceAll(f, ",", ""), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

func searchCompanies(c *callCtx) (platform.Page, error) {
	_, res, more, start, err := c.search("linkedin_company_search_url", "COMPANIES", "companies")
	if err != nil {
		return platform.Page{}, err
	}
	return searchPage(res, more, start, func(e J) map[string]any {
		nav := stripQuery(e.S("navigationUrl"))
		handle := ""
		if segs, _ := segments(nav); len(segs) > 0 {
			handle = after(segs, "company", "school", "showcase")
		}
		id := ""
		if u := e.S("trackingUrn"); strings.HasPrefix(u, "urn:li:company:") {
			id = urnID(u)
		}
		followers, _, _ := strings.Cut(e.S("secondarySubtitle.text"), " follower")
		return map[string]any{"company_name": e.S("title.text"), "description": e.S("summary.text"),
			"short_description": e.S("primarySubtitle.text"), "followers": strings.TrimSpace(followers),
			"linkedin_company_url": nav, "linkedin_company_handle": handle, "linkedin_company_id": id}
	}), nil
}

// ---- outreach ------------------------------------------------------------------------------------

// maxNote is LinkedIn's limit on an invitation note.
const maxNote = 300

func connectProfile(c *callCtx) (platform.Page, error) {
	note := strings.TrimSpace(c.paramS("message"))
	if n := len([]rune(note)); n > maxNote {
		return platform.Page{}, apperr.BadParameters("message: LinkedIn takes invitation notes of at most %d characters (this one has %d)", maxNote, n)
	}
	handle, err := profileHandle("linkedin_profile_url", c.in("linkedin_profile_url"))
	if err != nil {
		return platform.Page{}, err
	}
	pi, err := c.s.profile(handle)
	if err != nil {
		return platform.Page{}, err
	}
	ni, err := c.s.networkInfo(handle)
	if err != nil {
		return platform.Page{}, err
	}
	if c.dry {
		return platform.Page{Results: []map[string]any{}}, nil
	}
	out := map[string]any{"sales_navigator_profile_id": pi.id, "connected": false, "pending": false, "recently_declined": false}
	switch ni.S("distance.value") {
	case "SELF":
		return platform.Page{}, apperr.BadInput("linkedin_profile_url: this is the account's own profile")
	case "DISTANCE_1":
		out["connected"] = true
		return one(out), nil
	}
	body := map[string]any{"invitee": map[string]any{"inviteeUnion": map[string]any{"memberProfile": "urn:li:fsd_profile:" + pi.id}}}
	if note != "" {
		body["customMessage"] = note
	}
	if _, err := c.s.call("connect", nil, body); err != nil {
		e, ok := apperr.As(err)
		if !ok || e.Params[platform.ParamUpstreamCode] != "CANT_RESEND_YET" {
			return platform.Page{}, err
		}
		// An invitation went out recently: still pending, or withdrawn or
		// declined (LinkedIn refuses a new one for some weeks either way).
		pending, err := c.s.invitationPending(pi.id)
		if err != nil {
			return platform.Page{}, err
		}
		out["pending"], out["recently_declined"] = pending, !pending
		return one(out), nil
	}
	out["pending"] = true
	if note != "" {
		out["message"] = note
	}
	return one(out), nil
}

// invitationPending looks for a pending sent invitation to a profile (the
// first pages of the sent invitations, newest first).
func (s *session) invitationPending(profileID string) (bool, error) {
	for start := 0; start < 500; start += 100 {
		n, els, _, err := s.sentInvitations(start, 100)
		if err != nil {
			return false, err
		}
		for _, inv := range els {
			if to := n.ref(inv, "*toMember"); to != nil && urnID(to.S("entityUrn")) == profileID {
				return true, nil
			}
		}
		if len(els) < 100 {
			break
		}
	}
	return false, nil
}

func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func messageProfile(c *callCtx) (platform.Page, error) {
	if f, ok := c.param("files").([]any); ok && len(f) > 0 {
		return platform.Page{}, apperr.BadParameters("files: the LinkedIn session driver does not send attachments; send the message without files")
	}
	text := strings.TrimSpace(c.paramS("message"))
	if text == "" {
		return platform.Page{}, apperr.BadParameters("message: a message needs a text")
	}
	pi, err := c.profile()
	if err != nil {
		return platform.Page{}, err
	}
	if c.dry {
		return platform.Page{Results: []map[string]any{}}, nil
	}
	body := map[string]any{"keyVersion": "LEGACY_INBOX", "conversationCreate": map[string]any{
		"eventCreate": map[string]any{"originToken": uuid4(), "value": map[string]any{
			"com.linkedin.voyager.messaging.create.MessageCreate": map[string]any{
				"attributedBody": map[string]any{"text": text, "attributes": []any{}}, "attachments": []any{}}}},
		"recipients": []string{pi.id}, "subtype": "MEMBER_TO_MEMBER"}}
	a, err := c.s.call("message", nil, body)
	if err != nil {
		return platform.Page{}, err
	}
	for _, p := range []string{"data.value.conversationUrn", "data.value.eventUrn"} {
		if !a.body.Has(p) {
			return platform.Page{}, brokenShape("message", p)
		}
	}
	v := a.body.O("data.value")
	tid := urnID(v.S("conversationUrn"))
	at, ok := v.I("createdAt")
	return one(map[string]any{"message": text, "sales_navigator_profile_id": pi.id, "linkedin_thread_id": tid,
		"linkedin_thread_url": threadURL(tid), "is_sent": true, "delivered_at": ms(at, ok),
		"linkedin_message_id": urnID(v.S("eventUrn")), "attachments": []any{}}), nil
}

// ---- the account's network -----------------------------------------------------------------------

func offset(c *callCtx) int {
	if t, ok := strings.CutPrefix(c.call.Token, "o:"); ok {
		if n, err := strconv.Atoi(t); err == nil && n >= 0 {
			return n
		}
	}
	return (c.page - 1) * c.size
}

// more decides whether another page follows a start/count window.
func more(body J, start, got, count int) bool {
	if total, ok := body.I("data.paging.total"); ok {
		return got > 0 && int64(start+got) < total
	}
	return got >= count
}

func extractConnections(c *callCtx) (platform.Page, error) {
	start := offset(c)
	a, err := c.s.call("connections", map[string]string{"start": strconv.Itoa(start), "count": strconv.Itoa(c.size)}, nil)
	if err != nil {
		return platform.Page{}, err
	}
	if !a.body.Has("data.*elements") {
		return platform.Page{}, brokenShape("connections", "data.*elements")
	}
	n := newNormalized(a.body)
	var pg platform.Page
	refs := a.body.O("data").Strs("*elements")
	for _, u := range refs {
		conn := n.byURN[u]
		if conn == nil {
			return platform.Page{}, brokenShape("connections", "included["+u+"]")
		}
		p := n.ref(conn, "*connectedMemberResolutionResult")
		if p == nil {
			p = n.ref(conn, "*connectedMember")
		}
		if p == nil {
			return platform.Page{}, brokenShape("connections", "included[*connectedMemberResolutionResult]")
		}
		h := p.S("publicIdentifier")
		at, ok := conn.I("createdAt")
		pg.Results = append(pg.Results, map[string]any{"first_name": p.S("firstName"), "last_name": p.S("lastName"),
			"full_name": fullName(p.S("firstName"), p.S("lastName")), "job_title": p.S("headline"), "linkedin_profile_handle": h,
			"linkedin_profile_url": profileURL(h), "linkedin_profile_id": memberID(p.S("objectUrn")),
			"profile_image_url": vectorImage(p.O("profilePicture.displayImageReference.vectorImage")),
			"sales_navigator_profile_id": urnID(p.S("entityUrn")), "connected_at": ms(at, ok)})
	}
	pg.More = more(a.body, start, len(refs), c.size)
	if pg.More {
		pg.NextToken = "o:" + strconv.Itoa(start+len(refs))
	}
	return pg, nil
}

// ---- messaging ------------------------------------------------------------------------------------------

// member resolves a messaging member (participant, sender) to its mini
// profile.
func member(n *normalized, urn string) J {
	mm := n.byURN[urn]
	if mm == nil {
		return nil
	}
	if mini := n.ref(mm, "*miniProfile"); mini != nil {
		return mini
	}
	return mm.O(`messagingMember.miniProfile`)
}

func eventText(ev J) string {
	return firstOf(ev.S(`eventContent.attributedBody.text`), ev.S(`eventContent.body`),
		ev.S(`eventContent["com.linkedin.voyager.messaging.event.MessageEvent"].attributedBody.text`))
}

func attachments(ev J) []any {
	var out []any
	for _, a := range ev.A("eventContent.attachments") {
		item := map[string]any{"type": "file"}
		if s := firstOf(a.S("id"), a.S("assetUrn")); s != "" {
			item["assetUrn"] = s
		}
		if n, ok := a.I("byteSize"); ok {
			item["byteSize"] = n
		}
		if s := a.S("mediaType"); s != "" {
			item["mediaType"] = s
		}
		if s := a.S("name"); s != "" {
			item["name"] = s
		}
		out = append(out, item)
	}
	return orEmpty(out)
}

func extractConversations(c *callCtx) (platform.Page, error) {
	onlyUnread := false
	if v, ok := c.paramB("read"); ok && !v {
		onlyUnread = true
	}
	before := ""
	if t, ok := strings.CutPrefix(c.call.Token, "cb:"); ok {
		before = t
	}
	// Without a token, page N is reached by walking from the top. The unread
	// filter is applied here (the inbox recipe has no such query), so a page
	// of LinkedIn's may hold no match: the walk then goes on, a bounded
	// number of pages, and hands back a token if it has to stop early.
	skip := 0
	if c.call.Token == "" {
		skip = c.page - 1
	}
	for hop := 0; hop < 20; hop++ {
		a, err := c.s.call("conversations", map[string]string{"created_before": before}, nil)
		if err != nil {
			return platform.Page{}, err
		}
		if !a.body.Has("data.*elements") {
			return platform.Page{}, brokenShape("conversations", "data.*elements")
		}
		n := newNormalized(a.body)
		refs := a.body.O("data").Strs("*elements")
		results := []map[string]any{}
		var last int64
		for _, u := range refs {
			cv := n.byURN[u]
			if cv == nil {
				return platform.Page{}, brokenShape("conversations", "included["+u+"]")
			}
			la, ok := cv.I("lastActivityAt")
			if !ok {
				return platform.Page{}, brokenShape("conversations", "included[conversation].lastActivityAt")
			}
			last = la
			if read, _ := cv.B("read"); onlyUnread && read {
				continue
			}
			results = append(results, conversation(n, cv))
		}
		done := len(refs) < c.size || last <= 0
		if !done {
			before = strconv.FormatInt(last, 10)
		}
		switch {
		case done && skip > 0:
			return platform.Page{Results: []map[string]any{}}, nil
		case skip > 0:
			skip--
			continue
		case len(results) == 0 && !done:
			continue
		}
		pg := platform.Page{Results: results, More: !done}
		if pg.More {
			pg.NextToken = "cb:" + before
		}
		return pg, nil
	}
	return platform.Page{Results: []map[string]any{}, More: true, NextToken: "cb:" + before}, nil
}

func conversation(n *normalized, cv J) map[string]any {
	tid := urnID(cv.S("entityUrn"))
	var parts []any
	for _, u := range cv.Strs("*participants") {
		mini := member(n, u)
		if mini == nil {
			continue
		}
		pid := urnID(mini.S("entityUrn"))
		parts = append(parts, map[string]any{"linkedin_profile_id": memberID(mini.S("objectUrn")), "sales_navigator_profile_id": pid,
			"linkedin_profile_url": profileURL(mini.S("publicIdentifier")), "first_name": mini.S("firstName"), "last_name": mini.S("lastName"),
			"job_title": mini.S("occupation"), "linkedin_people_post_search_url": postSearchURL(pid)})
	}
	m := map[string]any{"linkedin_thread_id": tid, "linkedin_thread_url": threadURL(tid), "participants": orEmpty(parts)}
	if b, ok := cv.B("read"); ok {
		m["read"] = b
	}
	if u, ok := cv.I("unreadCount"); ok {
		m["unread_count"] = u
	}
	la, ok := cv.I("lastActivityAt")
	m["last_activity_at"] = ms(la, ok)
	if evs := n.refs(cv, "*events"); len(evs) > 0 {
		ev := evs[0]
		at, ok := ev.I("createdAt")
		lm := map[string]any{"delivered_at": ms(at, ok), "message_id": urnID(ev.S("entityUrn")), "content": eventText(ev), "attachments": attachments(ev)}
		if s := member(n, ev.S("*from")); s != nil {
			lm["first_name"], lm["last_name"], lm["job_title"] = s.S("firstName"), s.S("lastName"), s.S("occupation")
			lm["linkedin_profile_id"], lm["sales_navigator_profile_id"] = memberID(s.S("objectUrn")), urnID(s.S("entityUrn"))
		}
		m["last_message"] = lm
	}
	return m
}

func extractMessages(c *callCtx) (platform.Page, error) {
	tid, err := threadID("linkedin_thread_url", c.in("linkedin_thread_url"))
	if err != nil {
		return platform.Page{}, err
	}
	// Token: m:<createdBefore>:<events still older than it, or -1>.
	before, remaining := "", int64(-1)
	if t, ok := strings.CutPrefix(c.call.Token, "m:"); ok {
		b, r, _ := strings.Cut(t, ":")
		before = b
		if n, err := strconv.ParseInt(r, 10, 64); err == nil {
			remaining = n
		}
	} else {
		a, err := c.s.call("conversation", map[string]string{"thread_id": tid}, nil)
		if err != nil {
			return platform.Page{}, err
		}
		if !a.body.Has("data.entityUrn") {
			return platform.Page{}, brokenShape("conversation", "data.entityUrn")
		}
		if n, ok := a.body.I("data.totalEventCount"); ok {
			remaining = n
		}
	}
	var pg platform.Page
	for walked := 0; ; walked++ {
		a, err := c.s.call("conversation_events", map[string]string{"thread_id": tid, "created_before": before}, nil)
		if err != nil {
			return platform.Page{}, err
		}
		if !a.body.Has("data.*elements") {
			return platform.Page{}, brokenShape("conversation_events", "data.*elements")
		}
		n := newNormalized(a.body)
		refs := a.body.O("data").Strs("*elements")
		evs := make([]J, 0, len(refs))
		for _, u := range refs {
			ev := n.byURN[u]
			if ev == nil {
				return platform.Page{}, brokenShape("conversation_events", "included["+u+"]")
			}
			if _, ok := ev.I("createdAt"); !ok {
				return platform.Page{}, brokenShape("conversation_events", "included[event].createdAt")
			}
			evs = append(evs, ev)
		}
		// oldest first within the page
		for i := 1; i < len(evs); i++ {
			for j := i; j > 0; j-- {
				a, _ := evs[j-1].I("createdAt")
				b, _ := evs[j].I("createdAt")
				if a <= b {
					break
				}
				evs[j-1], evs[j] = evs[j], evs[j-1]
			}
		}
		base := int64(-1)
		if remaining >= 0 {
			base = max(remaining-int64(len(evs)), 0)
		}
		var results []map[string]any
		for i, ev := range evs {
			if eventText(ev) == "" && len(ev.A("eventContent.attachments")) == 0 {
				continue // not a message (a participant change, a reaction)
			}
			at, ok := ev.I("createdAt")
			m := map[string]any{"linkedin_thread_id": tid, "created_at": ms(at, ok), "content": eventText(ev),
				"message_id": urnID(ev.S("entityUrn")), "attachments": attachments(ev)}
			if base >= 0 {
				m["position"] = base + int64(i)
			}
			if s := member(n, ev.S("*from")); s != nil {
				m["first_name"], m["last_name"], m["job_title"] = s.S("firstName"), s.S("lastName"), s.S("occupation")
				m["linkedin_profile_id"], m["sales_navigator_profile_id"] = memberID(s.S("objectUrn")), urnID(s.S("entityUrn"))
			}
			results = append(results, m)
		}
		if remaining >= 0 {
			remaining = base
		}
		done := len(evs) == 0 || remaining == 0 || (remaining < 0 && len(evs) < c.size)
		if len(evs) > 0 {
			oldest, _ := evs[0].I("createdAt")
			before = strconv.FormatInt(oldest, 10)
		}
		// page N without a token: walk back from the newest page
		if c.call.Token == "" && walked < c.page-1 && !done {
			continue
		}
		if c.call.Token == "" && walked < c.page-1 {
			return platform.Page{Results: []map[string]any{}}, nil
		}
		pg.Results = results
		pg.More = !done
		if pg.More {
			pg.NextToken = "m:" + before + ":" + strconv.FormatInt(remaining, 10)
		}
		return pg, nil
	}
}

// ---- invitations -------------------------------------------------------------------------------------------

// invitation resolves an element of an invitation list: an invitation view
// (with *invitation) or the invitation itself.
func invitation(n *normalized, urn string) J {
	e := n.byURN[urn]
	if e == nil {
		return nil
	}
	if inv := n.ref(e, "*invitation"); inv != nil {
		return inv
	}
	return e
}

func (s *session) sentInvitations(start, count int) (*normalized, []J, J, error) {
	a, err := s.call("sent_invitations", map[string]string{"start": strconv.Itoa(start), "count": strconv.Itoa(count)}, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	if !a.body.Has("data.*elements") {
		return nil, nil, nil, brokenShape("sent_invitations", "data.*elements")
	}
	n := newNormalized(a.body)
	var out []J
	for _, u := range a.body.O("data").Strs("*elements") {
		inv := invitation(n, u)
		if inv == nil {
			return nil, nil, nil, brokenShape("sent_invitations", "included["+u+"]")
		}
		if n.ref(inv, "*toMember") == nil {
			return nil, nil, nil, brokenShape("sent_invitations", "included[invitation].*toMember")
		}
		out = append(out, inv)
	}
	return n, out, a.body, nil
}

func extractSentInvitations(c *callCtx) (platform.Page, error) {
	start := offset(c)
	n, invs, body, err := c.s.sentInvitations(start, c.size)
	if err != nil {
		return platform.Page{}, err
	}
	var pg platform.Page
	for _, inv := range invs {
		to := n.ref(inv, "*toMember")
		at, ok := inv.I("sentTime")
		var mid any
		if id := memberID(to.S("objectUrn")); id != nil {
			mid = strconv.FormatInt(id.(int64), 10)
		}
		pg.Results = append(pg.Results, map[string]any{"first_name": to.S("firstName"), "last_name": to.S("lastName"),
			"full_name": fullName(to.S("firstName"), to.S("lastName")), "job_title": to.S("occupation"),
			"linkedin_profile_id": mid, "linkedin_profile_url": profileURL(to.S("publicIdentifier")),
			"sales_navigator_profile_id": urnID(to.S("entityUrn")), "invitation_id": urnID(inv.S("entityUrn")), "sent_date": ms(at, ok)})
	}
	pg.More = more(body, start, len(invs), c.size)
	if pg.More {
		pg.NextToken = "o:" + strconv.Itoa(start+len(invs))
	}
	return pg, nil
}

// acceptInvitations accepts one page of received invitations. Accepted ones
// leave the list, so every page reads from its top.
func acceptInvitations(c *callCtx) (platform.Page, error) {
	a, err := c.s.call("received_invitations", map[string]string{"start": "0", "count": strconv.Itoa(c.size)}, nil)
	if err != nil {
		return platform.Page{}, err
	}
	if !a.body.Has("data.*elements") {
		return platform.Page{}, brokenShape("received_invitations", "data.*elements")
	}
	n := newNormalized(a.body)
	refs := a.body.O("data").Strs("*elements")
	var pg platform.Page
	for _, u := range refs {
		inv := invitation(n, u)
		if inv == nil {
			return platform.Page{}, brokenShape("received_invitations", "included["+u+"]")
		}
		from := n.ref(inv, "*fromMember")
		if from == nil {
			return platform.Page{}, brokenShape("received_invitations", "included[invitation].*fromMember")
		}
		id := urnID(inv.S("entityUrn"))
		if c.dry {
			continue
		}
		body := map[string]any{"invitationId": id, "invitationSharedSecret": inv.S("sharedSecret"), "isGenericInvitation": false}
		if _, err := c.s.call("accept_invitation", map[string]string{"invitation_id": id}, body); err != nil {
			if len(pg.Results) > 0 && !fatal(err) {
				break // report what was accepted; the rest waits for the next call
			}
			return platform.Page{}, err
		}
		at, ok := inv.I("sentTime")
		var invID any
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			invID = n
		}
		h := from.S("publicIdentifier")
		pg.Results = append(pg.Results, map[string]any{"first_name": from.S("firstName"), "last_name": from.S("lastName"),
			"full_name": fullName(from.S("firstName"), from.S("lastName")), "linkedin_profile_handle": h, "linkedin_profile_url": profileURL(h),
			"linkedin_profile_id": memberID(from.S("objectUrn")), "linkedin_profile_image_url": picture(from),
			"sales_navigator_profile_id": urnID(from.S("entityUrn")), "title": from.S("occupation"),
			"linkedin_invitation_id": invID, "linkedin_invitation_urn": inv.S("entityUrn"), "invitation_secret": inv.S("sharedSecret"),
			"message": inv.S("message"), "sent_time": ms(at, ok)})
	}
	if total, ok := a.body.I("data.paging.total"); ok {
		pg.More = len(pg.Results) > 0 && total > int64(len(pg.Results))
	} else {
		pg.More = len(pg.Results) > 0 && len(refs) >= c.size
	}
	return pg, nil
}

// withdrawInvitations withdraws one page of sent invitations, newest first
// (oldest first with last_page_start).
func withdrawInvitations(c *callCtx) (platform.Page, error) {
	n, invs, body, err := c.s.sentInvitations(0, 100)
	if err != nil {
		return platform.Page{}, err
	}
	oldestFirst, _ := c.paramB("last_page_start")
	total, hasTotal := body.I("data.paging.total")
	if oldestFirst && hasTotal && total > int64(len(invs)) {
		if n, invs, _, err = c.s.sentInvitations(int(max(total-100, 0)), 100); err != nil {
			return platform.Page{}, err
		}
	}
	if oldestFirst {
		for i, j := 0, len(invs)-1; i < j; i, j = i+1, j-1 {
			invs[i], invs[j] = invs[j], invs[i]
		}
	}
	if len(invs) > c.size {
		invs = invs[:c.size]
	}
	var pg platform.Page
	if c.dry {
		return pg, nil
	}
	for _, inv := range invs {
		id := urnID(inv.S("entityUrn"))
		req := map[string]any{"invitationId": id, "isGenericInvitation": false}
		if s := inv.S("sharedSecret"); s != "" {
			req["invitationSharedSecret"] = s
		}
		if _, err := c.s.call("withdraw_invitation", map[string]string{"invitation_id": id}, req); err != nil {
			if len(pg.Results) > 0 && !fatal(err) {
				break
			}
			return platform.Page{}, err
		}
		pg.Results = append(pg.Results, map[string]any{"linkedin_profile_url": profileURL(n.ref(inv, "*toMember").S("publicIdentifier"))})
	}
	if hasTotal {
		pg.More = len(pg.Results) > 0 && total > int64(len(pg.Results))
	} else {
		pg.More = len(pg.Results) > 0 && len(invs) >= c.size
	}
	return pg, nil
}
