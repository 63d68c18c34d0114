package linkedin

import (
	"strconv"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/platform"
)

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
