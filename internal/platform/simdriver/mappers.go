package simdriver

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Mappers turn simulator documents into the output vocabulary of the actions
// (snake_case names). One mapper serves every action that returns that kind
// of entity; shape() then keeps the fields the action declares.

func degree(d string) string {
	switch d {
	case "DISTANCE_1":
		return "1st"
	case "DISTANCE_2":
		return "2nd"
	case "DISTANCE_3":
		return "3rd"
	case "SELF":
		return "you"
	}
	return "3rd+"
}

func salesLeadURL(snid string) string {
	if len(snid) < 4 {
		return ""
	}
	return "https://www.linkedin.com/sales/lead/" + snid + ",NAME_SEARCH," + snid[len(snid)-4:]
}

func postSearchURL(snid string) string {
	return "https://www.linkedin.com/search/results/content/?fromMember=" + url.QueryEscape(`["`+snid+`"]`) + "&sortBy=%22date_posted%22"
}

func sharedSearchURL(snid string) string {
	return "https://www.linkedin.com/search/results/people/?facetConnectionOf=" + url.QueryEscape(`["`+snid+`"]`) + "&network=%5B%22F%22%5D"
}

func salesCompanyURL(id string) string { return "https://www.linkedin.com/sales/company/" + id }

func salesEmployeesURL(id string) string {
	return "https://www.linkedin.com/sales/search/people?query=(filters%3AList((type%3ACURRENT_COMPANY%2Cvalues%3AList((id%3Aurn%253Ali%253Aorganization%253A" + id + "%2CselectionType%3AINCLUDED)))))"
}

func employeesURL(id string) string {
	return "https://www.linkedin.com/search/results/people/?currentCompany=" + url.QueryEscape(`["`+id+`"]`)
}

func tenure(startMs int64) string {
	if startMs == 0 {
		return ""
	}
	months := int(time.Since(time.UnixMilli(startMs)).Hours() / 24 / 30)
	if months < 0 {
		months = 0
	}
	y, m := months/12, months%12
	switch {
	case y == 0:
		return fmt.Sprintf("%d months", m)
	case m == 0:
		return fmt.Sprintf("%d years", y)
	}
	return fmt.Sprintf("%d years %d months", y, m)
}

// person maps a full profile, a mini profile card or an employee card.
func person(p J) map[string]any {
	snid := p.S("salesNavId")
	loc := p.S("location")
	if l := p.O("location"); l != nil {
		loc = l.S("displayName")
	}
	company, companyID, companyURL := p.S("companyName"), p.S("companyId"), p.S("companyUrl")
	if pos := p.A("positions"); len(pos) > 0 {
		company, companyID, companyURL = pos[0].S("companyName"), pos[0].S("companyId"), pos[0].S("companyUrl")
	}
	summary := p.S("summary")
	if summary == "" {
		summary = p.S("headline")
	}
	deg := degree(p.S("memberDistance"))
	start := p.I("positionStartedAt")
	m := map[string]any{
		"linkedin_profile_handle":         p.S("publicIdentifier"),
		"linkedin_profile_url":            p.S("profileUrl"),
		"linkedin_profile_id":             p.I("memberId"),
		"sales_navigator_profile_id":      snid,
		"sales_navigator_profile_url":     salesLeadURL(snid),
		"first_name":                      p.S("firstName"),
		"last_name":                       p.S("lastName"),
		"full_name":                       strings.TrimSpace(p.S("firstName") + " " + p.S("lastName")),
		"headline":                        p.S("headline"),
		"summary":                         summary,
		"job_title":                       p.S("occupation"),
		"current_title":                   p.S("occupation"),
		"company_name":                    company,
		"current_company":                 company,
		"linkedin_company_id":             companyID,
		"linkedin_company_url":            companyURL,
		"sales_navigator_company_id":      companyID,
		"sales_navigator_company_url":     salesCompanyURL(companyID),
		"location":                        loc,
		"profile_image_url":               p.S("profilePicture"),
		"linkedin_profile_picture":        p.S("profilePicture"),
		"linkedin_profile_image_url":      p.S("profilePicture"),
		"connection_degree":               deg,
		"liker_connection_degree":         deg,
		"linkedin_connection_degree":      deg,
		"linkedin_people_post_search_url": postSearchURL(snid),
		"shared_connection_search_url":    sharedSearchURL(snid),
		"number_shared_connections":       p.I("sharedConnectionsCount"),
		"shared_connection_profile_urls":  p.Strs("sharedConnectionUrls"),
		"industry":                        p.S("industry"),
		"position_started_at":             ms(start),
		"tenure_start":                    day(start),
		"tenure_end":                      "",
		"tenure_length":                   tenure(start),
		"recently_hired":                  p.B("recentlyHired"),
		"recently_promoted":               p.B("recentlyPromoted"),
		"viewed":                          p.B("viewed"),
		"job_seeker":                      p.B("openToWork"),
	}
	return m
}

func ym(o J) string {
	if o == nil || o.I("year") == 0 {
		return "Present"
	}
	return time.Date(int(o.I("year")), time.Month(max(o.I("month"), 1)), 1, 0, 0, 0, 0, time.UTC).Format("Jan 2006")
}

func period(start, end J) string {
	s := time.Date(int(start.I("year")), time.Month(max(start.I("month"), 1)), 1, 0, 0, 0, 0, time.UTC)
	e := time.Now().UTC()
	if end != nil {
		e = time.Date(int(end.I("year")), time.Month(max(end.I("month"), 1)), 1, 0, 0, 0, 0, time.UTC)
	}
	months := (e.Year()-s.Year())*12 + int(e.Month()-s.Month()) + 1
	y, m := months/12, months%12
	switch {
	case y == 0:
		return fmt.Sprintf("%d mos", m)
	case m == 0:
		return fmt.Sprintf("%d yrs", y)
	}
	return fmt.Sprintf("%d yrs %d mos", y, m)
}

// fullPerson adds what only a full profile carries.
func fullPerson(p J) map[string]any {
	m := person(p)
	if bd := p.O("birthDate"); bd != nil {
		m["birth_date"] = fmt.Sprintf("%02d-%02d", bd.I("month"), bd.I("day"))
	} else {
		m["birth_date"] = ""
	}
	m["languages"] = p.Strs("languages")
	var skills []any
	for _, s := range p.Strs("skills") {
		skills = append(skills, map[string]any{"name": s})
	}
	m["skills"] = skills
	m["profile_country"] = p.S("location.countryCode")
	m["profile_language"] = p.S("profileLanguage")
	var edu, eduR []any
	for _, e := range p.A("educations") {
		item := map[string]any{"school_name": e.S("schoolName"), "linkedin_school_url": e.S("schoolUrl"),
			"date": fmt.Sprintf("%d - %d", e.I("startYear"), e.I("endYear")), "linkedin_school_id": e.S("schoolId"), "degree_name": e.S("degreeName")}
		edu = append(edu, item)
		eduR = append(eduR, map[string]any{"school_name": e.S("schoolName"), "date": item["date"]})
	}
	m["education"], m["educations"] = edu, eduR
	if len(edu) > 0 {
		m["school_name"], m["linkedin_school_url"] = edu[0].(map[string]any)["school_name"], edu[0].(map[string]any)["linkedin_school_url"]
	} else {
		m["school_name"], m["linkedin_school_url"] = "", ""
	}
	var vol []any
	for _, v := range p.A("volunteering") {
		vol = append(vol, map[string]any(v))
	}
	m["volunteer_experiences"] = vol
	m["number_connections"] = p.I("connectionsCount")
	m["number_followers"] = p.I("followersCount")
	m["open_to_work"] = p.B("openToWork")
	var exps, expsR []any
	pos := p.A("positions")
	for _, x := range pos {
		var end J
		if e := x.O("endDate"); e != nil {
			end = e
		}
		date := ym(x.O("startDate")) + " - " + ym(end)
		exps = append(exps, map[string]any{"title": x.S("title"), "company_name": x.S("companyName"), "company_description": x.S("companyDescription"),
			"linkedin_company_url": x.S("companyUrl"), "location": x.S("location"), "linkedin_company_id": x.S("companyId"), "date": date,
			"job_time_period": period(x.O("startDate"), end), "company_logo_url": x.S("companyLogo")})
		expsR = append(expsR, map[string]any{"company_id": x.S("companyId"), "company_name": x.S("companyName"), "date": date, "job_title": x.S("title"), "linkedin_company_id": x.S("companyId")})
	}
	m["experiences"] = exps
	m["recruiter_experiences"] = expsR
	m["linkedin_thread_id"] = p.S("messagingThreadId")
	m["past_company_name"], m["past_job_title"], m["past_sales_navigator_company_id"], m["past_linkedin_company_id"], m["past_linkedin_company_url"] = "", "", "", "", ""
	if len(pos) > 1 {
		m["past_company_name"], m["past_job_title"] = pos[1].S("companyName"), pos[1].S("title")
		m["past_sales_navigator_company_id"], m["past_linkedin_company_id"], m["past_linkedin_company_url"] = pos[1].S("salesNavCompanyId"), pos[1].S("companyId"), pos[1].S("companyUrl")
	}
	m["connected_at"] = ms(p.I("connectedAt"))
	return m
}

// company maps a full company document.
func company(co J, affiliates []J, jobSearchURL string) map[string]any {
	id := co.S("companyId")
	var locs []any
	for _, l := range co.A("locations") {
		addr := strings.Join(nonEmpty(l.S("line1"), l.S("postalCode")+" "+l.S("city"), l.S("country")), ", ")
		locs = append(locs, map[string]any{"address": addr, "geographic_area": l.S("geographicArea"), "street": l.S("line1"),
			"postal_code": l.S("postalCode"), "city": l.S("city"), "country": l.S("country")})
	}
	var affs []any
	for _, a := range affiliates {
		affs = append(affs, map[string]any{"company_name": a.S("name"), "entity_urn": a.S("entityUrn"), "followers_count": a.I("followerCount"),
			"industry": a.S("industry"), "linkedin_company_url": a.S("url"), "original_company_name": co.S("name"),
			"original_linkedin_company_id": id, "original_linkedin_company_url": co.S("url")})
	}
	m := map[string]any{
		"company_name": co.S("name"), "specialties": co.Strs("specialities"), "tagline": co.S("tagline"),
		"linkedin_company_id": co.I("companyId"), "description": co.S("description"), "type": co.S("companyType"),
		"founded_on": co.I("foundedYear"), "linkedin_company_url": co.S("url"), "website": co.S("websiteUrl"),
		"linkedin_company_phone": co.S("phone"), "sales_navigator_company_url": co.S("salesNavigatorUrl"),
		"industries": co.Strs("industries"), "industries_v1": co.Strs("industries"), "industry": co.S("industry"),
		"linkedin_job_search_url": jobSearchURL, "followers_count": co.I("followerCount"), "number_employees": co.I("staffCount"),
		"employees_range": co.S("staffCountRange"), "linkedin_employees_url": employeesURL(id),
		"sales_navigator_employees_url": salesEmployeesURL(id), "country": co.S("countryCode"), "geographic_area": co.S("region"),
		"city": co.S("city"), "postal_code": co.S("postalCode"), "headquarters": co.S("city") + ", " + co.S("country"),
		"locations": locs, "number_of_locations": len(locs), "logo_url": co.S("logoUrl"), "domain": co.S("domain"),
		"location": co.S("city") + ", " + co.S("region") + ", " + co.S("country"), "linkedin_school_id": 0,
		"linkedin_page_claimed": co.B("claimed"), "updated_at": co.S("updatedAt"), "affiliates": affs,
		"linkedin_company_handle": co.S("universalName"),
		"last_funding_investors":  []any{}, "crunchbase_company_url": "", "last_funding_date": "", "last_funding_type": "",
		"last_funding_raised": 0, "last_funding_currency": "",
	}
	if f := co.O("funding"); f != nil {
		var inv []any
		for _, i := range f.A("leadInvestors") {
			inv = append(inv, map[string]any{"name": i.S("name"), "crunchbase_company_url": i.S("crunchbaseUrl")})
		}
		m["last_funding_investors"], m["crunchbase_company_url"], m["last_funding_date"] = inv, f.S("crunchbaseUrl"), f.S("lastRoundDate")
		m["last_funding_type"], m["last_funding_raised"], m["last_funding_currency"] = f.S("lastRoundType"), f.I("lastRoundAmount"), f.S("lastRoundCurrency")
	}
	return m
}

func nonEmpty(xs ...string) []string {
	var out []string
	for _, x := range xs {
		if strings.TrimSpace(x) != "" {
			out = append(out, strings.TrimSpace(x))
		}
	}
	return out
}

// companyCard maps the compact company of lists and searches.
func companyCard(c J) map[string]any {
	id := c.S("companyId")
	emp := c.S("employeesSearchUrl")
	if emp == "" {
		emp = salesEmployeesURL(id)
	}
	return map[string]any{
		"company_name": c.S("name"), "description": c.S("description"), "short_description": c.S("tagline"),
		"followers": c.I("followerCount"), "followers_count": c.I("followerCount"), "linkedin_company_url": c.S("url"),
		"linkedin_company_id": id, "linkedin_company_handle": c.S("universalName"), "industry": c.S("industry"),
		"original_company_name": c.S("origin.name"), "original_linkedin_company_id": c.S("origin.companyId"),
		"original_linkedin_company_url": c.S("origin.url"), "affiliate_status": c.S("relationship"),
		"category": c.S("industry"), "sales_navigator_company_id": id, "sales_navigator_company_url": salesCompanyURL(id),
		"sales_navigator_employees_url": emp, "location": c.S("location"), "number_employees": c.S("staffCountRange"),
	}
}

// post maps a post document.
func post(po J) map[string]any {
	m := person(po.O("author"))
	media := po.Strs("mediaUrls")
	orig := po.S("resharedPostUrl")
	for k, v := range map[string]any{
		"linkedin_post_id": po.S("activityId"), "linkedin_post_url": po.S("url"), "content_text": po.S("commentary"),
		"published_date": ms(po.I("publishedAt")), "published_time": ms(po.I("publishedAt")),
		"linkedin_original_post": orig, "linkedin_original_post_url": orig, "linkedin_post_type": po.S("contentType"),
		"reaction_count": po.I("numLikes"), "comment_count": po.I("numComments"), "repost_count": po.I("numShares"),
		"linkedin_job_url": po.S("jobUrl"), "hyperlinks": po.Strs("links"), "post_media_url": media,
		"content_image_url": po.S("imageUrl"), "linkedin_company_id": po.I("authorCompanyId"),
	} {
		m[k] = v
	}
	return m
}

// comment maps a comment with its commenter.
func comment(c J) map[string]any {
	m := person(c.O("commenter"))
	ctype := "COMMENT"
	if c.I("parentCommentId") != 0 {
		ctype = "REPLY"
	}
	for k, v := range map[string]any{
		"comment_text": c.S("text"), "comment_time": ms(c.I("createdAt")), "comment_like_count": c.I("numLikes"),
		"comment_reply_count": c.I("numReplies"), "last_reply": c.S("lastReplyText"), "linkedin_comment_url": c.S("permalink"),
		"linkedin_comment_id": c.S("commentId"), "linkedin_post_url": c.S("postUrl"), "linkedin_post_id": c.S("postActivityId"),
		"author_comment_reply": c.S("lastReplyText"), "comment_type": ctype,
	} {
		m[k] = v
	}
	return m
}

// attachmentKinds spell the reference's attachment "type" values; the
// platform writes them in its own case ("FILE").
var attachmentKinds = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"file", "audio", "video", "vectorImage", "externalMedia", "forwardedMessageContent",
		"messageAdRenderContent", "conversationAdsMessageContent", "hostUrnData", "repliedMessageContent"} {
		m[strings.ToLower(k)] = k
	}
	return m
}()

// attachments maps a message's attachments to the reference's shapes: the
// same members, with the type spelled as the reference's enum has it.
func attachments(v any) []any {
	out := []any{}
	arr, _ := v.([]any)
	for _, x := range arr {
		m, ok := asMap(x)
		if !ok {
			continue
		}
		c := make(map[string]any, len(m))
		for k, v := range m {
			c[k] = v
		}
		if t, ok := c["type"].(string); ok {
			if canon, known := attachmentKinds[strings.ToLower(t)]; known {
				c["type"] = canon
			}
		}
		out = append(out, c)
	}
	return out
}

// message maps one message of a thread.
func message(msg J, threadID string) map[string]any {
	s := msg.O("sender")
	att := attachments(msg.get("attachments"))
	return map[string]any{
		"linkedin_thread_id": threadID, "position": msg.I("position"), "delivered_at": ms(msg.I("deliveredAt")),
		"created_at": ms(msg.I("createdAt")), "first_name": s.S("firstName"), "last_name": s.S("lastName"),
		"linkedin_profile_id": s.I("memberId"), "sales_navigator_profile_id": s.S("salesNavId"), "job_title": s.S("occupation"),
		"content": msg.S("body"), "message_id": msg.S("messageId"), "attachments": att,
	}
}

// review maps a review of any reviewed place.
func review(r J) map[string]any {
	rv := r.O("review")
	t := rv.I("time") * 1000
	at := rv.I("owner_answer_time") * 1000
	return map[string]any{
		"author_name": rv.S("author_name"), "author_img": rv.S("author_photo"), "author_reviews_count": rv.I("author_review_count"),
		"author_number_of_reviews": rv.I("author_review_count"), "grade": rv.F("rating"), "review_rating": rv.F("rating"),
		"content": rv.S("text"), "review_comment": rv.S("text"), "translated_content": rv.S("translated_text"),
		"answer": rv.S("owner_answer"), "review_response": rv.S("owner_answer"), "translated_answer": rv.S("owner_answer"),
		"review_date": ms(t), "standard_review_date": ms(t), "answer_date": ms(at), "standard_answer_date": ms(at),
		"experience_date": rv.S("visited_in"), "review_language": rv.S("language"), "review_title": rv.S("title"),
		"review_image": rv.S("photo"), "reviewer_picture": rv.S("author_photo"), "reviewer_name": rv.S("author_name"),
		"tripadvisor_reviewer_url": rv.S("author_url"), "review_id": rv.S("review_id"), "city": r.S("city"),
	}
}

// property maps a TripAdvisor hotel or restaurant.
func property(p J) map[string]any {
	sub := map[string]any{}
	for k, v := range p.O("subratings") {
		sub[k] = v
	}
	hours := map[string]any{}
	for d, slots := range p.O("hours") {
		var out []any
		for _, s := range (J{"x": slots}).A("x") {
			out = append(out, map[string]any{"open_time": s.S("open"), "close_time": s.S("close")})
		}
		hours[d] = out
	}
	return map[string]any{
		"name": p.S("name"), "grade": p.F("rating"), "rating": p.F("rating"), "ranking": p.I("ranking_position"),
		"price_range": p.S("price_level"), "number_reviews": p.I("num_reviews"), "review_count": p.I("num_reviews"),
		"awards": p.Strs("awards"), "breakdown_grade": sub, "email": p.S("email"), "website": p.S("website"),
		"address": p.S("address"), "description": p.S("description"), "phone": p.S("phone"),
		"amenities": p.Strs("amenities"), "hidden_amenities": p.Strs("more_amenities"), "stars": p.F("hotel_class"),
		"property_url": p.S("web_url"), "categories": p.Strs("cuisine"), "details": p.Strs("features"), "open_hours": hours,
		"photos": p.Strs("photos"), "property_id": p.S("location_id"),
		"tripadvisor_hotel_url": p.S("web_url"), "tripadvisor_restaurant_url": p.S("web_url"),
	}
}

// place maps a Google Maps place.
func place(p J) map[string]any {
	return map[string]any{
		"address": p.S("formatted_address"), "website": p.S("website"), "place_name": p.S("name"),
		"google_maps_place_url": p.S("url"), "rating": p.S("rating"), "number_reviews": p.I("user_ratings_total"),
		"category": p.S("primary_type"), "opening_hours": p.Strs("weekday_text"), "description": p.S("editorial_summary"),
		"services_available": p.Strs("service_options"), "additional_info": p.S("about"), "google_maps_place_id": p.S("place_id"),
		"phone": p.S("international_phone_number"), "coordinates_latitude": p.S("lat"), "coordinates_longitude": p.S("lng"),
		"closed_temporarily": p.S("business_status") == "CLOSED_TEMPORARILY", "closed_permanently": p.S("business_status") == "CLOSED_PERMANENTLY",
	}
}

func merge(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
