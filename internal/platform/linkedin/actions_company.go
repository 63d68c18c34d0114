package linkedin

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/platform"
)

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
			"linkedin_company_url":  firstOf(stripQuery(a.S("url")), companyURL(a.S("universalName"))),
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
