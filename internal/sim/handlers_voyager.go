package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// The simulator's second face: LinkedIn's own web API ("Voyager"), as the
// LinkedIn session driver (internal/platform/linkedin) calls it, answering
// with the normalized shapes public clients document. It is an adapter over
// the simulator's own world, handlers and accounts: the same people,
// companies, conversations and invitations as the /linkedin/... routes, the
// same hidden thresholds and the same account behaviours (expiring, restricted,
// flaky, slow, hang), rendered the way LinkedIn renders them:
//
//   - cookies li_at + JSESSIONID and the csrf-token header (the JSESSIONID
//     value without its quotes), refused as LinkedIn refuses them: 403
//     "CSRF check failed.";
//   - an unknown session answers 401; an expired one redirects to the login
//     page; a restricted account redirects to a checkpoint page;
//   - the flaky account answers 429 and LinkedIn's bot-detection status 999
//     on alternate cycles, and 503;
//   - JSESSIONID rotates (Set-Cookie) after every second write.
//
// See ACCOUNTS.md ("LinkedIn web API face") for the routes.

// Voyager query ids the sandbox knows; any other is answered the way a
// GraphQL layer answers a persisted query it does not know.
var voyagerQueryIDs = map[string]string{
	"voyagerSearchDashClusters.b0928897b71bd00a5a7291755dcd64f0":       "search",
	"voyagerSearchDashClusters.bb967969ef89137e6dec45d038310505":       "search",
	"voyagerPremiumDashFeatureAccess.c87b20dac35795f9920f2a8072fd7af5": "feature_access",
}

const (
	vTypeMini       = "com.linkedin.voyager.identity.shared.MiniProfile"
	vTypeCollection = "com.linkedin.restli.common.CollectionResponse"
	vTypeAction     = "com.linkedin.restli.common.ActionResponse"
	vContentType    = "application/vnd.linkedin.normalized+json+2.1"
	vRotateEvery    = 2 // JSESSIONID rotates after every second write
)

func (s *Server) voyagerRoutes(m *http.ServeMux) {
	v := func(pattern string, h func(http.ResponseWriter, *http.Request, session)) {
		m.HandleFunc(pattern, s.voyager(h))
	}
	m.HandleFunc("GET /uas/authenticate", s.vSessionCookies)
	v("GET /voyager/api/me", s.vMe)
	v("GET /sales-api/salesApiIdentity", s.vSalesIdentity)
	v("GET /voyager/api/identity/profiles/{id}/profileView", s.vProfileView)
	v("GET /voyager/api/identity/profiles/{id}/networkinfo", s.vNetworkInfo)
	v("GET /voyager/api/organization/companies", s.vCompanies)
	v("GET /voyager/api/graphql", s.vGraphQL)
	v("POST /voyager/api/voyagerRelationshipsDashMemberRelationships", s.vConnect)
	v("POST /voyager/api/messaging/conversations", s.vMessageCreate)
	v("GET /voyager/api/messaging/conversations", s.vConversations)
	v("GET /voyager/api/messaging/conversations/{thread}", s.vConversation)
	v("GET /voyager/api/messaging/conversations/{thread}/events", s.vEvents)
	v("GET /voyager/api/relationships/dash/connections", s.vConnections)
	v("GET /voyager/api/relationships/invitationViews", s.vReceived)
	v("GET /voyager/api/relationships/sentInvitationViewsV2", s.vSent)
	v("POST /voyager/api/relationships/invitations/{id}", s.vInvitationAction)
	m.HandleFunc("/voyager/api/", func(w http.ResponseWriter, r *http.Request) {
		vWrite(w, http.StatusNotFound, map[string]any{"status": 404, "message": "no such resource"})
	})
}

// ---- the request pipeline: CSRF, session, behaviours, LinkedIn's error answers --

// voyager checks the CSRF pair, then runs h through the simulator's own
// session handling, translating its refusals into LinkedIn's answers.
func (s *Server) voyager(h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	inner := s.authed(scopeLinkedIn, h)
	return func(w http.ResponseWriter, r *http.Request) {
		js := ""
		if c, err := r.Cookie("JSESSIONID"); err == nil {
			js = strings.Trim(c.Value, `"`)
		}
		if js == "" || r.Header.Get("csrf-token") != js {
			w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte("CSRF check failed."))
			return
		}
		tw := &vWriter{w: w}
		inner(tw, r)
		if tw.failed {
			s.vTranslate(w, r, tw.status, tw.buf.Bytes())
		}
	}
}

// vWriter passes a success through and holds a failure back for translation.
type vWriter struct {
	w      http.ResponseWriter
	status int
	failed bool
	buf    bytes.Buffer
}

func (v *vWriter) Header() http.Header { return v.w.Header() }

func (v *vWriter) WriteHeader(c int) {
	if v.status != 0 {
		return
	}
	v.status = c
	if c >= 400 {
		v.failed = true
		return
	}
	v.w.WriteHeader(c)
}

func (v *vWriter) Write(b []byte) (int, error) {
	if v.status == 0 {
		v.WriteHeader(http.StatusOK)
	}
	if v.failed {
		return v.buf.Write(b)
	}
	return v.w.Write(b)
}

// vTranslate renders one of the simulator's refusals as LinkedIn does.
func (s *Server) vTranslate(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	if w.Header().Get("Content-Type") == vContentType { // already answered as LinkedIn does
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	var e struct {
		Code, Message string
	}
	_ = json.Unmarshal(body, &e)
	w.Header().Del("Content-Type")
	switch {
	case status == http.StatusUnauthorized && e.Code == "SESSION_EXPIRED":
		w.Header().Set("Location", "https://www.linkedin.com/uas/login?session_redirect="+url.QueryEscape(r.URL.RequestURI()))
		w.WriteHeader(http.StatusFound)
	case status == http.StatusForbidden && e.Code == "ACCOUNT_RESTRICTED":
		w.Header().Set("Location", "https://www.linkedin.com/checkpoint/challenge/AgHk3Vb1sandbox?ut=restricted")
		w.WriteHeader(http.StatusFound)
	case status == http.StatusTooManyRequests && s.flakyBotCycle(r):
		w.Header().Del("Retry-After")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(999)
		_, _ = w.Write([]byte("<html><body><h1>Request denied</h1></body></html>"))
	default:
		vWrite(w, status, map[string]any{"data": map[string]any{"status": status, "code": e.Code, "message": e.Message}, "included": []any{}})
	}
}

// flakyBotCycle: the flaky account's rate-limit answers alternate between a
// 429 and LinkedIn's bot detection (999), one cycle each.
func (s *Server) flakyBotCycle(r *http.Request) bool {
	a := s.ix.cookie(sessionFromRequest(r))
	if a == nil {
		return false
	}
	s.mu.Lock()
	n := s.runtime(a.Name).calls
	s.mu.Unlock()
	return (n/flakyCycle)%2 == 1
}

func vWrite(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", vContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// rotate hands out a new JSESSIONID after every second write, as LinkedIn
// does now and then. It runs after the write's event is committed, so the
// overlay's event count says how many writes there were.
func (s *Server) rotate(w http.ResponseWriter) {
	s.ov.mu.Lock()
	n := s.ov.seq
	s.ov.mu.Unlock()
	if n%vRotateEvery == 0 {
		w.Header().Add("Set-Cookie", fmt.Sprintf(`JSESSIONID="ajax:%019d"; Path=/; SameSite=None`, s.nextSeq()*7919+n))
	}
}

// vSessionCookies hands out a JSESSIONID, as GET /uas/authenticate does for
// a client that has none.
func (s *Server) vSessionCookies(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Set-Cookie", fmt.Sprintf(`JSESSIONID="ajax:%019d"; Path=/; SameSite=None`, 4_000_000_000+s.nextSeq()))
	w.Header().Add("Set-Cookie", `lang=v=2&lang=en-us; Path=/`)
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
}

// ---- renderers -----------------------------------------------------------------------

// vVector splits one of the world's image URLs into a VectorImage.
func vVector(u string) map[string]any {
	if u == "" {
		return nil
	}
	i := strings.Index(u, "/v2/")
	if i < 0 {
		return map[string]any{"rootUrl": u, "artifacts": []any{}}
	}
	j := strings.IndexByte(u[i+4:], '/')
	if j < 0 {
		return map[string]any{"rootUrl": u, "artifacts": []any{}}
	}
	root := u[:i+4+j+1]
	return map[string]any{"rootUrl": root, "artifacts": []any{
		map[string]any{"width": 100, "height": 100, "fileIdentifyingUrlPathSegment": strings.Replace(u[len(root):], "shrink_400_400", "shrink_100_100", 1)},
		map[string]any{"width": 400, "height": 400, "fileIdentifyingUrlPathSegment": u[len(root):]},
	}}
}

func miniURN(snid string) string    { return "urn:li:fs_miniProfile:" + snid }
func profileURN(snid string) string { return "urn:li:fsd_profile:" + snid }

func vMini(m Mini) map[string]any {
	out := map[string]any{"$type": vTypeMini, "entityUrn": miniURN(m.SalesNavID), "objectUrn": fmt.Sprintf("urn:li:member:%d", m.MemberID),
		"firstName": m.FirstName, "lastName": m.LastName, "occupation": m.Occupation, "publicIdentifier": m.PublicIdentifier,
		"trackingId": base62(uint64(m.MemberID)*7, 8) + "=="}
	if v := vVector(m.ProfilePicture); v != nil {
		out["picture"] = map[string]any{"com.linkedin.common.VectorImage": v}
	}
	return out
}

func vCollection(refs []string, start, count int, total *int, extra map[string]any) map[string]any {
	paging := map[string]any{"start": start, "count": count, "links": []any{}}
	if total != nil {
		paging["total"] = *total
	}
	d := map[string]any{"$type": vTypeCollection, "*elements": refs, "paging": paging}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// included collects entities once each, in a stable order.
type included struct {
	seen map[string]bool
	list []any
}

func (in *included) add(e map[string]any) {
	u, _ := e["entityUrn"].(string)
	if in.seen == nil {
		in.seen = map[string]bool{}
	}
	if in.seen[u] {
		return
	}
	in.seen[u] = true
	in.list = append(in.list, e)
}

func (in *included) items() []any {
	if in.list == nil {
		return []any{}
	}
	return in.list
}

// recorder captures what one of the simulator's own handlers answers.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder                     { return &recorder{h: http.Header{}} }
func (rc *recorder) Header() http.Header         { return rc.h }
func (rc *recorder) Write(b []byte) (int, error) { return rc.body.Write(b) }
func (rc *recorder) WriteHeader(c int)           { rc.status = c }
func (rc *recorder) ok() bool                    { return rc.status == 0 || rc.status < 300 }
func (rc *recorder) decode(v any) error {
	dec := json.NewDecoder(bytes.NewReader(rc.body.Bytes()))
	dec.UseNumber()
	return dec.Decode(v)
}
func (rc *recorder) replay(w http.ResponseWriter) { copyOut(w, rc.status, rc.h, rc.body.Bytes()) }

func copyOut(w http.ResponseWriter, status int, h http.Header, b []byte) {
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// inner builds a request for one of the simulator's own list handlers.
func inner(r *http.Request, path string, q url.Values) *http.Request {
	u := &url.URL{Path: path, RawQuery: q.Encode()}
	r2 := r.Clone(r.Context())
	r2.URL = u
	r2.RequestURI = u.RequestURI()
	return r2
}

type listOf[T any] struct {
	Elements []T    `json:"elements"`
	Paging   paging `json:"paging"`
}

// ---- the account ------------------------------------------------------------------------

func (s *Server) vMe(w http.ResponseWriter, r *http.Request, ss session) {
	p := s.w.person(ss.me)
	mini := vMini(s.w.mini(p))
	tw := strings.ReplaceAll(slugify(p.FirstName+p.LastName), "-", "")
	vWrite(w, http.StatusOK, map[string]any{
		"data": map[string]any{"$type": "com.linkedin.voyager.common.Me", "*miniProfile": mini["entityUrn"], "plainId": p.MemberID,
			"premiumSubscriber": ss.acct.Level != LevelClassic,
			"publicContactInfo": map[string]any{"$type": "com.linkedin.voyager.identity.shared.PublicContactInfo", "twitterHandles": []any{map[string]any{"name": tw}}}},
		"included": []any{mini}})
}

// vSalesIdentity lists the account's Sales Navigator licences.
func (s *Server) vSalesIdentity(w http.ResponseWriter, r *http.Request, ss session) {
	if r.URL.Query().Get("q") != "findLicensesByCurrentMember" {
		vWrite(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "unsupported finder"})
		return
	}
	els := []any{}
	if ss.acct.Level == LevelSalesNav {
		els = append(els, map[string]any{"name": "Sales Navigator Core", "agnosticIdentity": map[string]any{
			"contract": fmt.Sprintf("urn:li:contract:%d", 500000+s.w.memberID(ss.me)%100000), "seat": fmt.Sprintf("urn:li:seat:%d", s.w.memberID(ss.me))}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]any{"elements": els, "paging": map[string]any{"start": 0, "count": len(els), "total": len(els)}})
}

// ---- profiles --------------------------------------------------------------------------------

func (s *Server) vProfileView(w http.ResponseWriter, r *http.Request, ss session) {
	p, ok := s.personOr404(w, r)
	if !ok {
		return
	}
	if !s.consume(w, ss, "view") {
		return
	}
	ps := s.fullProfile(ss, p)
	lite := s.w.personLite(p)
	snid := ps.SalesNavID
	view := func(elements []any) map[string]any {
		if elements == nil {
			elements = []any{}
		}
		return map[string]any{"entityUrn": "urn:li:fs_profileView:" + snid, "profileId": snid, "elements": elements,
			"paging": map[string]any{"start": 0, "count": len(elements), "total": len(elements), "links": []any{}}}
	}
	var positions []any
	for i, x := range ps.Positions {
		handle := strings.TrimSuffix(strings.TrimPrefix(x.CompanyURL, "https://www.linkedin.com/company/"), "/")
		pos := map[string]any{"entityUrn": fmt.Sprintf("urn:li:fs_position:(%s,%d)", snid, i+1), "title": x.Title, "companyName": x.CompanyName,
			"companyUrn": fmt.Sprintf("urn:li:fs_miniCompany:%d", x.CompanyID), "locationName": x.Location,
			"timePeriod": map[string]any{"startDate": map[string]any{"month": x.Start.Month, "year": x.Start.Year}},
			"company": map[string]any{"miniCompany": map[string]any{"entityUrn": fmt.Sprintf("urn:li:fs_miniCompany:%d", x.CompanyID), "name": x.CompanyName,
				"universalName": handle, "logo": map[string]any{"com.linkedin.common.VectorImage": vVector(x.CompanyLogo)}}}}
		if x.End != nil {
			pos["timePeriod"].(map[string]any)["endDate"] = map[string]any{"month": x.End.Month, "year": x.End.Year}
		}
		positions = append(positions, pos)
	}
	var edus []any
	for i, e := range ps.Educations {
		edus = append(edus, map[string]any{"entityUrn": fmt.Sprintf("urn:li:fs_education:(%s,%d)", snid, i+1), "schoolName": e.SchoolName,
			"degreeName": e.Degree, "fieldOfStudy": e.Field, "schoolUrn": fmt.Sprintf("urn:li:fs_miniSchool:%d", e.SchoolID),
			"timePeriod": map[string]any{"startDate": map[string]any{"year": e.StartYear}, "endDate": map[string]any{"year": e.EndYear}},
			"school":     map[string]any{"entityUrn": fmt.Sprintf("urn:li:fs_miniSchool:%d", e.SchoolID), "schoolName": e.SchoolName, "active": true}})
	}
	var langs, skills, vols []any
	for _, l := range ps.Languages {
		langs = append(langs, map[string]any{"name": l})
	}
	for _, sk := range ps.Skills {
		skills = append(skills, map[string]any{"name": sk})
	}
	for _, v := range ps.Volunteering {
		vols = append(vols, map[string]any{"role": v.Role, "companyName": v.Organization, "cause": v.Cause})
	}
	mini := vMini(s.w.mini(lite))
	delete(mini, "$type")
	profile := map[string]any{"entityUrn": "urn:li:fs_profile:" + snid, "firstName": ps.FirstName, "lastName": ps.LastName,
		"headline": ps.Headline, "summary": ps.Summary, "locationName": ps.Location.Display,
		"geoLocationName": ps.Location.City + ", " + ps.Location.Region, "geoCountryName": ps.Location.Country, "industryName": ps.Industry,
		"defaultLocale": map[string]any{"country": ps.Location.CountryCode, "language": ps.ProfileLanguage},
		"location":      map[string]any{"basicLocation": map[string]any{"countryCode": strings.ToLower(ps.Location.CountryCode)}},
		"miniProfile":   mini}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]any{"entityUrn": "urn:li:fs_profileView:" + snid, "profile": profile,
		"positionView": view(positions), "educationView": view(edus), "languageView": view(langs), "skillView": view(skills),
		"volunteerExperienceView": view(vols), "certificationView": view(nil), "honorView": view(nil), "projectView": view(nil),
		"publicationView": view(nil)})
}

func (s *Server) vNetworkInfo(w http.ResponseWriter, r *http.Request, ss session) {
	p, ok := s.personOr404(w, r)
	if !ok {
		return
	}
	full := s.w.person(p)
	d, _ := s.distance(ss.acct.Name, ss.me, p)
	vWrite(w, http.StatusOK, map[string]any{"data": map[string]any{"$type": "com.linkedin.voyager.identity.profile.ProfileNetworkInfo",
		"entityUrn": "urn:li:fs_profileNetworkInfo:" + full.SalesNavID, "distance": map[string]any{"value": d},
		"followersCount": full.FollowersCount, "connectionsCount": full.ConnectionsCount, "following": false, "followable": d != "SELF"},
		"included": []any{}})
}

// ---- companies ----------------------------------------------------------------------------------

func (s *Server) vCompanies(w http.ResponseWriter, r *http.Request, ss session) {
	q := r.URL.Query()
	if q.Get("q") != "universalName" {
		vWrite(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "unsupported finder"})
		return
	}
	els := []any{}
	if c, ok := s.resolveCompany(q.Get("universalName")); ok {
		els = append(els, s.vOrganization(c))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]any{"elements": els, "paging": map[string]any{"start": 0, "count": len(els), "links": []any{}}})
}

func staffRangeOf(s string) map[string]any {
	a, b, ok := strings.Cut(s, "-")
	out := map[string]any{}
	if n, err := strconv.Atoi(a); err == nil {
		out["start"] = n
	}
	if ok {
		if n, err := strconv.Atoi(b); err == nil {
			out["end"] = n
		}
	}
	return out
}

func (s *Server) vOrgSummary(c int) map[string]any {
	co := s.w.company(c)
	return map[string]any{"entityUrn": fmt.Sprintf("urn:li:fs_normalized_company:%d", co.ID), "name": co.Name, "universalName": co.Handle,
		"url": co.URL, "description": co.Tagline, "followingInfo": map[string]any{"followerCount": co.FollowersCount, "following": false},
		"companyIndustries": []any{map[string]any{"localizedName": co.Industry}}, "showcase": false}
}

func (s *Server) vOrganization(c int) map[string]any {
	co := s.w.company(c)
	var inds []any
	for _, i := range co.Industries {
		inds = append(inds, map[string]any{"localizedName": i, "entityUrn": fmt.Sprintf("urn:li:fs_industry:%d", hashString(i)%200)})
	}
	var locs []any
	for _, l := range co.Locations {
		locs = append(locs, map[string]any{"country": l.Country, "geographicArea": l.Region, "city": l.City, "postalCode": l.PostalCode,
			"line1": l.Street, "headquarter": l.HQ})
	}
	var affURNs []any
	res := map[string]any{}
	for _, a := range s.w.affiliates(c) {
		sum := s.vOrgSummary(a)
		u := sum["entityUrn"].(string)
		affURNs = append(affURNs, u)
		res[u] = sum
	}
	if affURNs == nil {
		affURNs = []any{}
	}
	org := map[string]any{
		"$type": "com.linkedin.voyager.organization.Company", "entityUrn": fmt.Sprintf("urn:li:fs_normalized_company:%d", co.ID),
		"name": co.Name, "universalName": co.Handle, "tagline": co.Tagline, "description": co.Description, "url": co.URL,
		"companyPageUrl": co.Website, "phone": map[string]any{"number": co.Phone}, "companyIndustries": inds,
		"staffCount": co.StaffCount, "staffCountRange": staffRangeOf(co.StaffRange), "specialities": co.Specialties,
		"foundedOn": map[string]any{"year": co.Founded}, "companyType": map[string]any{"localizedName": co.Type, "code": strings.ToUpper(co.Type[:1])},
		"followingInfo":      map[string]any{"followerCount": co.FollowersCount, "following": false},
		"headquarter":        map[string]any{"country": co.CountryCode, "geographicArea": co.Region, "city": co.City, "postalCode": co.PostalCode, "line1": co.Street},
		"confirmedLocations": locs, "claimable": !co.Claimed,
		"logo":                          map[string]any{"image": map[string]any{"com.linkedin.common.VectorImage": vVector(co.Logo)}, "type": "SQUARE_LOGO"},
		"jobSearchPageUrl":              fmt.Sprintf("https://www.linkedin.com/jobs/search/?f_C=%d", co.ID),
		"companyEmployeesSearchPageUrl": fmt.Sprintf("https://www.linkedin.com/search/results/people/?currentCompany=%%5B%%22%d%%22%%5D", co.ID),
		"affiliatedCompanies":           affURNs, "affiliatedCompaniesResolutionResults": res, "showcase": false, "paidCompany": false,
	}
	if f := co.Funding; f != nil {
		var inv []any
		for _, i := range f.Investors {
			inv = append(inv, map[string]any{"name": map[string]any{"text": i.Name}, "investorCrunchbaseUrl": i.CrunchbaseURL})
		}
		date := map[string]any{}
		if y, m, d, ok := ymd(f.RoundDate); ok {
			date = map[string]any{"year": y, "month": m, "day": d}
		}
		org["fundingData"] = map[string]any{"companyCrunchbaseUrl": f.CrunchbaseURL, "numFundingRounds": f.NumberOfRounds,
			"lastFundingRound": map[string]any{"fundingType": f.RoundType, "announcedOn": date, "leadInvestors": inv,
				"moneyRaised": map[string]any{"currencyCode": f.Currency, "amount": strconv.FormatInt(f.MoneyRaised, 10)}}}
	}
	return org
}

func ymd(s string) (y, m, d int, ok bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	var err error
	if y, err = strconv.Atoi(parts[0]); err != nil {
		return 0, 0, 0, false
	}
	if m, err = strconv.Atoi(parts[1]); err != nil {
		return 0, 0, 0, false
	}
	if d, err = strconv.Atoi(parts[2]); err != nil {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// ---- GraphQL: search and feature access ---------------------------------------------------------

func rawQueryParam(raw, name string) (string, bool) {
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}

func (s *Server) vGraphQL(w http.ResponseWriter, r *http.Request, ss session) {
	qid, _ := rawQueryParam(r.URL.RawQuery, "queryId")
	qid, _ = url.QueryUnescape(qid)
	kind, known := voyagerQueryIDs[qid]
	if !known {
		vWrite(w, http.StatusBadRequest, map[string]any{"status": 400,
			"message": fmt.Sprintf("PersistedQueryNotFound: no persisted query for queryId %q", qid)})
		return
	}
	rawVars, _ := rawQueryParam(r.URL.RawQuery, "variables")
	vars, err := parseRestli(rawVars)
	if err != nil {
		vWrite(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "invalid variables: " + err.Error()})
		return
	}
	switch kind {
	case "feature_access":
		els := []any{}
		for _, t := range vars.list("featureAccessTypes") {
			els = append(els, map[string]any{"featureAccessType": t, "hasAccess": t == "CAN_ACCESS_RECRUITER_MAILBOX" && ss.acct.Level == LevelRecruiter})
		}
		vWrite(w, http.StatusOK, map[string]any{"data": map[string]any{"data": map[string]any{
			"premiumDashFeatureAccessByFeatureAccessTypes": map[string]any{"$type": vTypeCollection, "elements": els}}}, "included": []any{}})
	case "search":
		s.vSearch(w, r, ss, vars)
	}
}

func (s *Server) vSearch(w http.ResponseWriter, r *http.Request, ss session, vars restli) {
	start, _ := strconv.Atoi(vars.str("start"))
	query := vars.obj("query")
	q := url.Values{"start": {strconv.Itoa(max(start, 0))}, "count": {"10"}}
	if k := query.str("keywords"); k != "" {
		q.Set("keywords", k)
	}
	resultType := ""
	for _, p := range query.items("queryParameters") {
		key, vals := p.str("key"), p.list("value")
		switch key {
		case "resultType":
			if len(vals) > 0 {
				resultType = vals[0]
			}
		case "currentCompany", "company":
			q.Set("currentCompany", strings.Join(vals, ","))
		case "title", "firstName", "lastName":
			q.Set(key, strings.Join(vals, " "))
		}
	}
	vertical := map[string]string{"PEOPLE": "people", "COMPANIES": "companies"}[resultType]
	if vertical == "" {
		vWrite(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "the sandbox searches PEOPLE and COMPANIES"})
		return
	}
	r2 := inner(r, "/linkedin/search/"+vertical, q)
	r2.SetPathValue("vertical", vertical)
	rec := newRecorder()
	s.hSearch(rec, r2, ss)
	if !rec.ok() {
		rec.replay(w)
		return
	}
	var inc included
	var items []any
	switch vertical {
	case "people":
		var body listOf[employeeCard]
		if err := rec.decode(&body); err != nil {
			writeErr(w, 500, "INTERNAL", err.Error())
			return
		}
		for _, e := range body.Elements {
			u := fmt.Sprintf("urn:li:fsd_entityResultViewModel:(%s,SEARCH_SRP,DEFAULT)", profileURN(e.SalesNavID))
			res := map[string]any{"$type": "com.linkedin.voyager.dash.search.EntityResultViewModel", "entityUrn": u,
				"title": map[string]any{"text": e.FirstName + " " + e.LastName}, "primarySubtitle": map[string]any{"text": e.Headline},
				"secondarySubtitle": map[string]any{"text": e.Location},
				"navigationUrl":     e.ProfileURL + "?miniProfileUrn=" + url.QueryEscape(miniURN(e.SalesNavID)),
				"trackingUrn":       fmt.Sprintf("urn:li:member:%d", e.MemberID), "entityCustomTrackingInfo": map[string]any{"memberDistance": e.Distance}}
			if v := vVector(e.ProfilePicture); v != nil {
				res["image"] = map[string]any{"attributes": []any{map[string]any{"detailData": map[string]any{"nonEntityProfilePicture": map[string]any{"vectorImage": v}}}}}
			}
			if e.SharedCount != nil && *e.SharedCount > 0 {
				word := "connections"
				if *e.SharedCount == 1 {
					word = "connection"
				}
				res["insightsResolutionResults"] = []any{map[string]any{"simpleInsight": map[string]any{"title": map[string]any{"text": fmt.Sprintf("%d mutual %s", *e.SharedCount, word)}}}}
			}
			inc.add(res)
			items = append(items, map[string]any{"$type": "com.linkedin.voyager.dash.search.SearchItem", "item": map[string]any{"*entityResult": u}})
		}
	case "companies":
		var body listOf[map[string]any]
		if err := rec.decode(&body); err != nil {
			writeErr(w, 500, "INTERNAL", err.Error())
			return
		}
		for _, c := range body.Elements {
			id := fmt.Sprint(c["companyId"])
			u := fmt.Sprintf("urn:li:fsd_entityResultViewModel:(urn:li:fsd_company:%s,SEARCH_SRP,DEFAULT)", id)
			fc, _ := c["followerCount"].(json.Number)
			followers, _ := fc.Int64()
			res := map[string]any{"$type": "com.linkedin.voyager.dash.search.EntityResultViewModel", "entityUrn": u,
				"title": map[string]any{"text": c["name"]}, "primarySubtitle": map[string]any{"text": fmt.Sprintf("%v • %v", c["industry"], c["location"])},
				"secondarySubtitle": map[string]any{"text": humanCount(int(followers)) + " followers"}, "summary": map[string]any{"text": c["tagline"]},
				"navigationUrl": c["url"], "trackingUrn": "urn:li:company:" + id}
			if logo, _ := c["logoUrl"].(string); logo != "" {
				res["image"] = map[string]any{"attributes": []any{map[string]any{"detailData": map[string]any{"nonEntityCompanyLogo": map[string]any{"vectorImage": vVector(logo)}}}}}
			}
			inc.add(res)
			items = append(items, map[string]any{"$type": "com.linkedin.voyager.dash.search.SearchItem", "item": map[string]any{"*entityResult": u}})
		}
	}
	if items == nil {
		items = []any{}
	}
	clusters := []any{}
	if len(items) > 0 {
		clusters = append(clusters, map[string]any{"$type": "com.linkedin.voyager.dash.search.SearchClusterViewModel", "items": items})
	}
	vWrite(w, http.StatusOK, map[string]any{"data": map[string]any{"data": map[string]any{"searchDashClustersByAll": map[string]any{
		"$type": vTypeCollection, "elements": clusters, "paging": map[string]any{"start": start, "count": 10}}}},
		"included": inc.items()})
}

// humanCount is the web app's "12K" style.
func humanCount(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 10_000:
		return fmt.Sprintf("%dK", n/1000)
	}
	return strconv.Itoa(n)
}

// ---- outreach ------------------------------------------------------------------------------------

func (s *Server) vConnect(w http.ResponseWriter, r *http.Request, ss session) {
	if r.URL.Query().Get("action") != "verifyQuotaAndCreateV2" {
		vWrite(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "unsupported action"})
		return
	}
	var body struct {
		Invitee struct {
			InviteeUnion struct {
				MemberProfile string `json:"memberProfile"`
			} `json:"inviteeUnion"`
		} `json:"invitee"`
		CustomMessage string `json:"customMessage"`
	}
	if err := decodeBody(r, &body); err != nil || !strings.HasPrefix(body.Invitee.InviteeUnion.MemberProfile, "urn:li:fsd_profile:") {
		vWrite(w, http.StatusBadRequest, map[string]any{"data": map[string]any{"status": 400, "code": "INVALID_REQUEST", "message": "expected invitee.inviteeUnion.memberProfile"}})
		return
	}
	p, ok := s.resolvePerson(strings.TrimPrefix(body.Invitee.InviteeUnion.MemberProfile, "urn:li:fsd_profile:"))
	if !ok {
		notFound(w, "profile")
		return
	}
	rec := newRecorder()
	s.invite(rec, ss, p, body.CustomMessage)
	if !rec.ok() {
		rec.replay(w)
		return
	}
	var res struct {
		Status       string `json:"status"`
		InvitationID int64  `json:"invitationId"`
	}
	_ = rec.decode(&res)
	if res.Status != "SENT" {
		// already connected, pending, or refused recently: LinkedIn will not
		// send another one yet
		vWrite(w, http.StatusBadRequest, map[string]any{"data": map[string]any{"status": 400, "code": "CANT_RESEND_YET"}, "included": []any{}})
		return
	}
	s.rotate(w)
	vWrite(w, http.StatusOK, map[string]any{"data": map[string]any{"$type": vTypeAction, "value": map[string]any{
		"$type":         "com.linkedin.voyager.dash.relationships.InvitationCreationResult",
		"invitationUrn": fmt.Sprintf("urn:li:fsd_invitation:%d", res.InvitationID), "*invitee": profileURN(s.w.salesNavID(p))}}, "included": []any{}})
}

func (s *Server) vMessageCreate(w http.ResponseWriter, r *http.Request, ss session) {
	if r.URL.Query().Get("action") != "create" {
		vWrite(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "unsupported action"})
		return
	}
	var body struct {
		KeyVersion         string `json:"keyVersion"`
		ConversationCreate struct {
			EventCreate struct {
				Value map[string]struct {
					AttributedBody struct {
						Text string `json:"text"`
					} `json:"attributedBody"`
				} `json:"value"`
			} `json:"eventCreate"`
			Recipients []string `json:"recipients"`
			Subtype    string   `json:"subtype"`
		} `json:"conversationCreate"`
	}
	if err := decodeBody(r, &body); err != nil || len(body.ConversationCreate.Recipients) != 1 {
		vWrite(w, http.StatusBadRequest, map[string]any{"data": map[string]any{"status": 400, "code": "INVALID_REQUEST", "message": "expected conversationCreate with one recipient"}})
		return
	}
	p, ok := s.resolvePerson(body.ConversationCreate.Recipients[0])
	if !ok {
		notFound(w, "profile")
		return
	}
	text := body.ConversationCreate.EventCreate.Value["com.linkedin.voyager.messaging.create.MessageCreate"].AttributedBody.Text
	rec := newRecorder()
	s.send(rec, ss, p, sendBody{Text: text})
	if !rec.ok() {
		rec.replay(w)
		return
	}
	var res struct {
		MessageID   string `json:"messageId"`
		ThreadID    string `json:"threadId"`
		DeliveredAt int64  `json:"deliveredAt"`
	}
	_ = rec.decode(&res)
	s.rotate(w)
	vWrite(w, http.StatusCreated, map[string]any{"data": map[string]any{"$type": vTypeAction, "value": map[string]any{
		"$type": "com.linkedin.voyager.messaging.create.EventCreateResponse", "createdAt": res.DeliveredAt,
		"eventUrn":        fmt.Sprintf("urn:li:fs_event:(%s,%s)", res.ThreadID, res.MessageID),
		"backendEventUrn": "urn:li:messagingMessage:" + res.MessageID, "conversationUrn": "urn:li:fs_conversation:" + res.ThreadID,
		"backendConversationUrn": "urn:li:messagingThread:" + res.ThreadID}}, "included": []any{}})
}

// ---- the network -------------------------------------------------------------------------------------

func (s *Server) vConnections(w http.ResponseWriter, r *http.Request, ss session) {
	q := r.URL.Query()
	if q.Get("q") != "search" {
		vWrite(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "unsupported finder"})
		return
	}
	rec := newRecorder()
	s.hConnections(rec, inner(r, "/linkedin/connections", url.Values{"start": {q.Get("start")}, "count": {q.Get("count")}}), ss)
	if !rec.ok() {
		rec.replay(w)
		return
	}
	var body listOf[struct {
		Connection  Mini  `json:"connection"`
		ConnectedAt int64 `json:"connectedAt"`
	}]
	if err := rec.decode(&body); err != nil {
		writeErr(w, 500, "INTERNAL", err.Error())
		return
	}
	var inc included
	refs := []string{}
	for _, e := range body.Elements {
		m := e.Connection
		u := "urn:li:fsd_connection:" + m.SalesNavID
		refs = append(refs, u)
		inc.add(map[string]any{"$type": "com.linkedin.voyager.dash.relationships.Connection", "entityUrn": u, "createdAt": e.ConnectedAt,
			"*connectedMemberResolutionResult": profileURN(m.SalesNavID)})
		prof := map[string]any{"$type": "com.linkedin.voyager.dash.identity.profile.Profile", "entityUrn": profileURN(m.SalesNavID),
			"firstName": m.FirstName, "lastName": m.LastName, "headline": m.Headline, "publicIdentifier": m.PublicIdentifier,
			"objectUrn": fmt.Sprintf("urn:li:member:%d", m.MemberID)}
		if v := vVector(m.ProfilePicture); v != nil {
			prof["profilePicture"] = map[string]any{"displayImageReference": map[string]any{"vectorImage": v}}
		}
		inc.add(prof)
	}
	vWrite(w, http.StatusOK, map[string]any{"data": vCollection(refs, body.Paging.Start, len(refs), nil, nil), "included": inc.items()})
}

// vInvitationList renders the simulator's invitations; views wraps each in
// an invitation view (received), as LinkedIn does.
func (s *Server) vInvitationList(w http.ResponseWriter, r *http.Request, ss session, path string, views bool) {
	q := r.URL.Query()
	rec := newRecorder()
	r2 := inner(r, path, url.Values{"start": {q.Get("start")}, "count": {q.Get("count")}})
	if views {
		s.hReceived(rec, r2, ss)
	} else {
		s.hSent(rec, r2, ss)
	}
	if !rec.ok() {
		rec.replay(w)
		return
	}
	var body listOf[Invitation]
	if err := rec.decode(&body); err != nil {
		writeErr(w, 500, "INTERNAL", err.Error())
		return
	}
	me := vMini(s.w.mini(s.w.personLite(ss.me)))
	var inc included
	inc.add(me)
	refs := []string{}
	for _, inv := range body.Elements {
		u := fmt.Sprintf("urn:li:fs_relInvitation:%d", inv.ID)
		other := vMini(inv.Person)
		inc.add(other)
		e := map[string]any{"$type": "com.linkedin.voyager.relationships.invitation.Invitation", "entityUrn": u, "sharedSecret": inv.Secret,
			"sentTime": inv.SentAt, "invitationType": "CONNECTION", "customMessage": inv.Message != "",
			"toMemberId": inv.Person.SalesNavID, "mailboxItemId": strconv.FormatInt(inv.ID, 10)}
		if inv.Message != "" {
			e["message"] = inv.Message
		}
		if views {
			e["*fromMember"], e["*toMember"] = other["entityUrn"], me["entityUrn"]
			vu := fmt.Sprintf("urn:li:fs_relInvitationView:%d", inv.ID)
			inc.add(map[string]any{"$type": "com.linkedin.voyager.relationships.invitation.InvitationView", "entityUrn": vu, "*invitation": u})
			refs = append(refs, vu)
		} else {
			e["*fromMember"], e["*toMember"] = me["entityUrn"], other["entityUrn"]
			refs = append(refs, u)
		}
		inc.add(e)
	}
	vWrite(w, http.StatusOK, map[string]any{"data": vCollection(refs, body.Paging.Start, len(refs), body.Paging.Total, nil), "included": inc.items()})
}

func (s *Server) vReceived(w http.ResponseWriter, r *http.Request, ss session) {
	if r.URL.Query().Get("q") != "receivedInvitation" {
		vWrite(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "unsupported finder"})
		return
	}
	s.vInvitationList(w, r, ss, "/linkedin/invitations/received", true)
}

func (s *Server) vSent(w http.ResponseWriter, r *http.Request, ss session) {
	if q := r.URL.Query(); q.Get("q") != "invitationType" || q.Get("invitationType") != "CONNECTION" {
		vWrite(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "unsupported finder"})
		return
	}
	s.vInvitationList(w, r, ss, "/linkedin/invitations/sent", false)
}

func (s *Server) vInvitationAction(w http.ResponseWriter, r *http.Request, ss session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	action := r.URL.Query().Get("action")
	var body struct {
		InvitationID string `json:"invitationId"`
		SharedSecret string `json:"invitationSharedSecret"`
		IsGeneric    bool   `json:"isGenericInvitation"`
	}
	if derr := decodeBody(r, &body); err != nil || derr != nil || (action != "accept" && action != "withdraw") {
		vWrite(w, http.StatusBadRequest, map[string]any{"data": map[string]any{"status": 400, "code": "INVALID_REQUEST", "message": "expected an invitation id, ?action=accept|withdraw and a JSON body"}})
		return
	}
	list := s.receivedInvitations(ss.acct.Name, ss.me)
	op := "accept"
	if action == "withdraw" {
		list, op = s.sentInvitations(ss.acct.Name, ss.me), "withdraw"
	}
	for _, inv := range list {
		if inv.ID != id {
			continue
		}
		if (op == "accept" || body.SharedSecret != "") && body.SharedSecret != inv.Secret {
			vWrite(w, http.StatusBadRequest, map[string]any{"data": map[string]any{"status": 400, "code": "INVALID_SHARED_SECRET", "message": "the invitation's shared secret does not match"}})
			return
		}
		if err := s.ov.commit(event{Op: op, Acct: ss.acct.Name, P: inv.p, At: s.now().UnixMilli()}); err != nil {
			writeErr(w, 500, "INTERNAL", err.Error())
			return
		}
		s.rotate(w)
		vWrite(w, http.StatusOK, map[string]any{"data": map[string]any{"$type": vTypeAction, "value": map[string]any{}}, "included": []any{}})
		return
	}
	notFound(w, "invitation")
}

// ---- messaging ----------------------------------------------------------------------------------------

func convURN(tid string) string { return "urn:li:fs_conversation:" + tid }
func memberURN(tid, snid string) string {
	return fmt.Sprintf("urn:li:fs_messagingMember:(%s,%s)", tid, snid)
}
func eventURN(tid, msgID string) string { return fmt.Sprintf("urn:li:fs_event:(%s,%s)", tid, msgID) }

// vMember adds a messaging member and its mini profile; it returns the
// member's URN.
func vMember(inc *included, tid string, m Mini) string {
	mini := vMini(m)
	inc.add(mini)
	u := memberURN(tid, m.SalesNavID)
	inc.add(map[string]any{"$type": "com.linkedin.voyager.messaging.MessagingMember", "entityUrn": u, "*miniProfile": mini["entityUrn"]})
	return u
}

func vEvent(inc *included, tid string, msg Message) string {
	from := vMember(inc, tid, msg.Sender)
	u := eventURN(tid, msg.ID)
	var att []any
	for _, a := range msg.Attachments {
		m, _ := a.(map[string]any)
		att = append(att, map[string]any{"id": m["assetUrn"], "name": m["name"], "byteSize": m["byteSize"], "mediaType": m["mediaType"],
			"reference": map[string]any{"string": "https://www.linkedin.com/dms/" + fmt.Sprint(m["assetUrn"])}})
	}
	if att == nil {
		att = []any{}
	}
	inc.add(map[string]any{"$type": "com.linkedin.voyager.messaging.Event", "entityUrn": u, "createdAt": msg.CreatedAt, "*from": from,
		"subtype": "MEMBER_TO_MEMBER", "backendUrn": "urn:li:messagingMessage:" + msg.ID,
		"eventContent": map[string]any{"$type": "com.linkedin.voyager.messaging.event.MessageEvent",
			"attributedBody": map[string]any{"text": msg.Text, "attributes": []any{}}, "attachments": att}})
	return u
}

func vConversationEntity(inc *included, c Conversation, total int) map[string]any {
	var parts []string
	for _, p := range c.Participants {
		parts = append(parts, vMember(inc, c.ThreadID, p))
	}
	e := map[string]any{"$type": "com.linkedin.voyager.messaging.Conversation", "entityUrn": convURN(c.ThreadID), "*participants": parts,
		"*events": []string{vEvent(inc, c.ThreadID, c.LastMessage)}, "lastActivityAt": c.LastActivity, "read": c.Read,
		"unreadCount": c.UnreadCount, "archived": c.Archived, "withNonConnection": false, "muted": false, "blocked": false}
	if total >= 0 {
		e["totalEventCount"] = total
	}
	return e
}

func (s *Server) vConversations(w http.ResponseWriter, r *http.Request, ss session) {
	q := r.URL.Query()
	if q.Get("keyVersion") != "LEGACY_INBOX" {
		vWrite(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "keyVersion LEGACY_INBOX expected"})
		return
	}
	before := int64(0)
	if v := q.Get("createdBefore"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			vWrite(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "createdBefore must be a time in milliseconds"})
			return
		}
		before = n
	}
	const pageSize = 20
	var inc included
	refs := []string{}
	unread := 0
	for _, c := range s.conversations(ss.acct.Name, ss.me) {
		if !c.Read {
			unread++
		}
		if (before > 0 && c.LastActivity >= before) || len(refs) >= pageSize {
			continue
		}
		inc.add(vConversationEntity(&inc, c, -1))
		refs = append(refs, convURN(c.ThreadID))
	}
	vWrite(w, http.StatusOK, map[string]any{"data": vCollection(refs, 0, len(refs), nil,
		map[string]any{"metadata": map[string]any{"$type": "com.linkedin.voyager.messaging.ConversationsMetadata", "unreadCount": unread}}),
		"included": inc.items()})
}

// thread resolves a conversation id of the account; ok is false (and the
// answer written) when it is not one.
func (s *Server) vThread(w http.ResponseWriter, r *http.Request, ss session) (string, int, []Message, bool) {
	p, ok := s.threadOr404(w, r, ss)
	if !ok {
		return "", 0, nil, false
	}
	msgs := s.messages(ss.acct.Name, ss.me, p)
	if len(msgs) == 0 {
		notFound(w, "conversation")
		return "", 0, nil, false
	}
	return s.w.threadID(ss.me, p), p, msgs, true
}

func (s *Server) vConversation(w http.ResponseWriter, r *http.Request, ss session) {
	tid, p, msgs, ok := s.vThread(w, r, ss)
	if !ok {
		return
	}
	var conv *Conversation
	for _, c := range s.conversations(ss.acct.Name, ss.me) {
		if c.ThreadID == tid {
			conv = &c
			break
		}
	}
	if conv == nil { // archived: still readable by id
		last := msgs[len(msgs)-1]
		conv = &Conversation{ThreadID: tid, Participants: []Mini{s.miniFor(ss.acct.Name, ss.me, p)}, LastActivity: last.CreatedAt,
			LastMessage: last, Read: true, Archived: true}
	}
	var inc included
	vWrite(w, http.StatusOK, map[string]any{"data": vConversationEntity(&inc, *conv, len(msgs)), "included": inc.items()})
}

func (s *Server) vEvents(w http.ResponseWriter, r *http.Request, ss session) {
	tid, _, msgs, ok := s.vThread(w, r, ss)
	if !ok {
		return
	}
	before := int64(0)
	if v := r.URL.Query().Get("createdBefore"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			vWrite(w, http.StatusBadRequest, map[string]any{"status": 400, "message": "createdBefore must be a time in milliseconds"})
			return
		}
		before = n
	}
	const pageSize = 20
	var page []Message
	for _, m := range msgs { // oldest first
		if before == 0 || m.CreatedAt < before {
			page = append(page, m)
		}
	}
	if len(page) > pageSize {
		page = page[len(page)-pageSize:]
	}
	sort.SliceStable(page, func(i, j int) bool { return page[i].CreatedAt < page[j].CreatedAt })
	var inc included
	refs := []string{}
	for _, m := range page {
		refs = append(refs, vEvent(&inc, tid, m))
	}
	vWrite(w, http.StatusOK, map[string]any{"data": vCollection(refs, 0, len(refs), nil, nil), "included": inc.items()})
}

// ---- Rest.li --------------------------------------------------------------------------------------------

// restli is a parsed Rest.li value: a string, a list or an object.
type restli struct {
	s   string
	l   []restli
	o   map[string]restli
	typ byte // 's', 'l', 'o'
}

func (v restli) str(k string) string { return v.o[k].s }
func (v restli) obj(k string) restli { return v.o[k] }
func (v restli) items(k string) []restli {
	return v.o[k].l
}
func (v restli) list(k string) []string {
	var out []string
	for _, x := range v.o[k].l {
		out = append(out, x.s)
	}
	return out
}

// parseRestli parses a Rest.li 2.0 URL-encoded value: (k:v,...), List(...),
// or a percent-encoded string.
func parseRestli(raw string) (restli, error) {
	p := &rlParser{s: raw}
	v, err := p.value()
	if err != nil {
		return restli{}, err
	}
	if p.i != len(p.s) {
		return restli{}, fmt.Errorf("unexpected %q at %d", p.s[p.i:], p.i)
	}
	return v, nil
}

type rlParser struct {
	s string
	i int
}

func (p *rlParser) value() (restli, error) {
	switch {
	case strings.HasPrefix(p.s[p.i:], "List("):
		p.i += len("List(")
		v := restli{typ: 'l'}
		for p.i < len(p.s) && p.s[p.i] != ')' {
			x, err := p.value()
			if err != nil {
				return v, err
			}
			v.l = append(v.l, x)
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
			}
		}
		if p.i >= len(p.s) {
			return v, fmt.Errorf("unclosed List(")
		}
		p.i++
		return v, nil
	case p.i < len(p.s) && p.s[p.i] == '(':
		p.i++
		v := restli{typ: 'o', o: map[string]restli{}}
		for p.i < len(p.s) && p.s[p.i] != ')' {
			j := strings.IndexByte(p.s[p.i:], ':')
			if j < 0 {
				return v, fmt.Errorf("expected key: at %d", p.i)
			}
			key, err := url.PathUnescape(p.s[p.i : p.i+j])
			if err != nil {
				return v, err
			}
			p.i += j + 1
			x, err := p.value()
			if err != nil {
				return v, err
			}
			v.o[key] = x
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
			}
		}
		if p.i >= len(p.s) {
			return v, fmt.Errorf("unclosed (")
		}
		p.i++
		return v, nil
	}
	j := p.i
	for j < len(p.s) && !strings.ContainsRune(",():", rune(p.s[j])) {
		j++
	}
	s, err := url.PathUnescape(p.s[p.i:j])
	if err != nil {
		return restli{}, err
	}
	p.i = j
	return restli{typ: 's', s: s}, nil
}
