package linkedin

import (
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
			"date":             dateRange(x.O("timePeriod.startDate"), x.O("timePeriod.endDate")),
			"job_time_period":  period(x.O("timePeriod.startDate"), x.O("timePeriod.endDate"), c.s.d.now()),
			"company_logo_url": vectorImage(x.O(`company.miniCompany.logo["com.linkedin.common.VectorImage"]`))}
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
