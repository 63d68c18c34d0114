package simdriver

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

type handler func(c *callCtx) (platform.Page, error)

// handlers holds one entry per catalogue slug.
var handlers = map[string]handler{
	// ---- Google Maps, TripAdvisor, TheFork ------------------------------------
	"googlemaps-extract-place": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/maps/place/"+placeKey(c.in("google_maps_place_url")), nil)
		if err != nil {
			return platform.Page{}, err
		}
		return one(place(j.O("result"))), nil
	},
	"googlemaps-search-places": func(c *callCtx) (platform.Page, error) {
		q := url.Values{"query": {mapsQuery(c.in("google_maps_search_url"))}}
		return c.list("/maps/search", q, func(p J) map[string]any { return place(p) })
	},
	"googlemaps-extract-reviews": func(c *callCtx) (platform.Page, error) {
		return c.list("/maps/place/"+placeKey(c.in("google_maps_place_url"))+"/reviews", nil, func(r J) map[string]any {
			return merge(review(r), map[string]any{"source": "google_maps", "google_maps_review_id": r.S("review.review_id"),
				"google_maps_review_url": r.S("review.review_url"), "google_maps_place_url": r.S("placeUrl"), "place_name": r.S("placeName")})
		})
	},
	"tripadvisor-extract-hotel": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/tripadvisor/hotels/"+taID(c.in("tripadvisor_hotel_url")), asked(c.in("tripadvisor_hotel_url")))
		if err != nil {
			return platform.Page{}, err
		}
		return one(property(j)), nil
	},
	"tripadvisor-extract-restaurant": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/tripadvisor/restaurants/"+taID(c.in("tripadvisor_restaurant_url")), asked(c.in("tripadvisor_restaurant_url")))
		if err != nil {
			return platform.Page{}, err
		}
		return one(property(j)), nil
	},
	"tripadvisor-extract-reviews": func(c *callCtx) (platform.Page, error) {
		u := c.in("tripadvisor_reviews_url")
		kind := "hotels"
		if strings.Contains(u, "Restaurant_Review") {
			kind = "restaurants"
		}
		return c.list("/tripadvisor/"+kind+"/"+taID(u)+"/reviews", asked(u), func(r J) map[string]any {
			return merge(review(r), map[string]any{"property": r.S("property"), "tripadvisor_reviews_url": r.S("propertyUrl"),
				"tripadvisor_reviews_id": r.S("review.review_id"), "tripadvisor_review_url": r.S("review.review_url"),
				"tripadvisor_review_id": r.I("reviewId"), "review_date": r.S("review.visited_in")})
		})
	},
	"tripadvisor-search-hotels": func(c *callCtx) (platform.Page, error) {
		q := url.Values{"geo": {taGeo(c.in("tripadvisor_search_url"))}, "category": {"hotels"}}
		return c.list("/tripadvisor/search", q, func(p J) map[string]any { return property(p) })
	},
	"tripadvisor-search-restaurants": func(c *callCtx) (platform.Page, error) {
		q := url.Values{"geo": {taGeo(c.in("tripadvisor_search_url"))}, "category": {"restaurants"}}
		return c.list("/tripadvisor/search", q, func(p J) map[string]any { return property(p) })
	},
	"thefork-extract-reviews": func(c *callCtx) (platform.Page, error) {
		q := asked(c.in("thefork_reviews_url"))
		q.Set("sort", c.paramS("sort"))
		q.Set("language", c.paramS("language"))
		return c.list("/thefork/restaurants/"+forkKey(c.in("thefork_reviews_url"))+"/reviews", q, func(r J) map[string]any {
			return merge(review(r), map[string]any{"property_id": r.S("restaurantId"), "property_url": r.S("restaurantUrl"),
				"answer_status": r.S("answerStatus"), "experience_date": r.S("mealDate")})
		})
	},

	// ---- LinkedIn: the account itself ------------------------------------------
	"linkedin-me": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/linkedin/me", nil)
		if err != nil {
			return platform.Page{}, err
		}
		p := j.O("profile")
		m := person(p)
		m["id"] = p.I("memberId")
		m["object_urn"] = p.S("objectUrn")
		m["handle"] = p.S("publicIdentifier")
		m["twitter"] = j.S("twitter")
		m["premium_subscriber"] = j.B("premium")
		return one(m), nil
	},
	"linkedin-extract-connections": func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/connections", nil, func(e J) map[string]any {
			return merge(person(e.O("connection")), map[string]any{"connected_at": ms(e.I("connectedAt"))})
		})
	},
	"linkedin-extract-followers": func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/followers", nil, func(e J) map[string]any { return person(e.O("follower")) })
	},
	"linkedin-extract-profile-viewers": func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/profile-viewers", nil, func(e J) map[string]any {
			return merge(person(e.O("viewer")), map[string]any{"view_timestamp": e.I("viewedAt"), "view_date": ms(e.I("viewedAt"))})
		})
	},
	"linkedin-extract-sent-invitations": func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/invitations/sent", nil, func(e J) map[string]any {
			return merge(person(e.O("profile")), map[string]any{"invitation_id": e.S("invitationId"), "sent_date": ms(e.I("sentTime"))})
		})
	},
	"linkedin-accept-invitations":   acceptInvitations,
	"linkedin-withdraw-invitations": withdrawInvitations,
	"linkedin-extract-conversations": func(c *callCtx) (platform.Page, error) {
		q := url.Values{}
		// read=false keeps only the unread conversations; the default (true) keeps all.
		if v, ok := c.param("read").(bool); ok && !v {
			q.Set("filter", "unread")
		}
		return c.list("/linkedin/conversations", q, conversation)
	},
	"linkedin-extract-messages": func(c *callCtx) (platform.Page, error) {
		tid := threadKey(c.in("linkedin_thread_url"))
		body, err := c.get("/linkedin/conversations/"+tid+"/messages", c.window(nil))
		if err != nil {
			return platform.Page{}, err
		}
		id := body.S("threadId")
		return pageOf(body, func(m J) map[string]any { return message(m, id) }), nil
	},
	"linkedin-extract-messages-legacy": func(c *callCtx) (platform.Page, error) {
		tid := threadKey(c.in("linkedin_thread_url"))
		var msgs []any
		var first J
		q := url.Values{"count": {"100"}}
		for i := 0; i < 100; i++ {
			body, err := c.get("/linkedin/conversations/"+tid+"/messages", q)
			if err != nil {
				return platform.Page{}, err
			}
			first = body
			for _, m := range body.A("elements") {
				msgs = append(msgs, message(m, body.S("threadId")))
			}
			tok := body.S("metadata.paginationToken")
			if tok == "" {
				break
			}
			q.Set("paginationToken", tok)
		}
		m := person(first.O("participant"))
		m["messages"] = msgs
		m["linkedin_thread_id"] = first.S("threadId")
		return one(m), nil
	},
	"linkedin-archive-message":      threadWrite("archive"),
	"linkedin-mark-message-as-read": threadWrite("read"),
	"linkedin-message-profile":      sendMessage(false),
	"linkedin-inmail-profile":       sendMessage(true),

	// ---- LinkedIn: people ----------------------------------------------------------
	"linkedin-extract-people": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/linkedin/profiles/"+profileKey(c.in("linkedin_profile_url")), nil)
		if err != nil {
			return platform.Page{}, err
		}
		return one(fullPerson(j)), nil
	},
	"linkedin-visit-profile": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/linkedin/profiles/"+profileKey(c.in("linkedin_profile_url")), nil)
		if err != nil {
			return platform.Page{}, err
		}
		return one(person(j)), nil
	},
	"linkedin-extract-contact": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/linkedin/profiles/"+profileKey(c.in("linkedin_profile_url"))+"/contact-info", nil)
		if err != nil {
			return platform.Page{}, err
		}
		ci := j.O("contactInfo")
		phones, tw, sites := ci.Strs("phoneNumbers"), ci.Strs("twitterHandles"), ci.Strs("websites")
		first := func(xs []any) string {
			if len(xs) > 0 {
				return fmt.Sprint(xs[0])
			}
			return ""
		}
		return one(map[string]any{"connected_at": ms(j.I("connectedAt")), "email": ci.S("emailAddress"), "website": first(sites),
			"twitter_handles": tw, "twitter": first(tw), "phones": phones, "phone": first(phones),
			"linkedin_profile_handle": j.S("publicIdentifier"), "linkedin_profile_url": j.S("profileUrl"),
			"sales_navigator_profile_id": j.S("salesNavId"), "linkedin_profile_id": j.I("memberId")}), nil
	},
	"linkedin-extract-licenses-certifications": func(c *callCtx) (platform.Page, error) {
		key := profileKey(c.in("linkedin_profile_url"))
		who, err := c.get("/linkedin/profiles/"+key, url.Values{"projection": {"mini"}})
		if err != nil {
			return platform.Page{}, err
		}
		return c.list("/linkedin/profiles/"+key+"/certifications", nil, func(e J) map[string]any {
			return map[string]any{"credential_id": e.S("licenseNumber"), "linkedin_profile_url": who.S("profileUrl"),
				"linkedin_profile_id": who.I("memberId"), "company_name": e.S("authority"), "original_linkedin_company_url": e.S("companyUrl"),
				"external_certificate_link": e.S("url"), "issued_date": e.S("issuedOn"), "expiration_date": e.S("expiresOn"), "title": e.S("name")}
		})
	},
	"linkedin-extract-people-post-activity": func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/profiles/"+profileKey(c.in("linkedin_profile_url"))+"/posts", nil, post)
	},
	"linkedin-extract-people-comment-activity": func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/profiles/"+profileKey(c.in("linkedin_profile_url"))+"/comments", nil, comment)
	},
	"linkedin-extract-people-reaction-activity": func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/profiles/"+profileKey(c.in("linkedin_profile_url"))+"/reactions", nil, func(e J) map[string]any {
			return merge(person(e.O("actor")), map[string]any{"linkedin_post_url": e.S("post.url"), "linkedin_reaction_id": e.S("reactionUrn"),
				"linkedin_reaction_type": e.S("reactionType"), "linkedin_post_id": e.S("post.activityId"), "linkedin_reaction_url": e.S("permalink"),
				"published_time": ms(e.I("reactedAt"))})
		})
	},
	"linkedin-follow-profile": func(c *callCtx) (platform.Page, error) {
		action := "follow"
		if c.paramB("unfollow") {
			action = "unfollow"
		}
		j, err := c.post("/linkedin/profiles/"+profileKey(c.in("linkedin_profile_url"))+"/follow", map[string]any{"action": action})
		if err != nil {
			return platform.Page{}, err
		}
		return one(map[string]any{"linkedin_profile_url": j.S("profileUrl"), "linkedin_profile_handle": j.S("publicIdentifier"),
			"followed": j.B("following"), "linkedin_profile_id": j.I("memberId")}), nil
	},
	"linkedin-connect-profile": func(c *callCtx) (platform.Page, error) {
		return connect(c, "/linkedin/invitations", c.in("linkedin_profile_url"), profileKey)
	},
	"linkedin-peopleid-from-salesnavigatorid": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/linkedin/public/members/"+url.PathEscape(c.in("sales_navigator_profile_id")), nil)
		if err != nil {
			return platform.Page{}, err
		}
		return one(map[string]any{"linkedin_profile_id": j.I("memberId")}), nil
	},

	// ---- LinkedIn: companies and schools -------------------------------------------
	"linkedin-extract-company": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/linkedin/companies/"+companyKey(c.in("linkedin_company_url")), nil)
		if err != nil {
			return platform.Page{}, err
		}
		return one(company(j.O("company"), j.A("affiliates"), j.S("jobSearchUrl"))), nil
	},
	"linkedin-visit-company": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/linkedin/companies/"+companyKey(c.in("linkedin_company_url")), nil)
		if err != nil {
			return platform.Page{}, err
		}
		return one(map[string]any{"linkedin_company_id": j.S("company.companyId")}), nil
	},
	"linkedin-extract-company-affiliates": func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/companies/"+companyKey(c.in("linkedin_company_url"))+"/affiliates", nil, companyCard)
	},
	"linkedin-extract-similar-companies": func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/companies/"+companyKey(c.in("linkedin_company_url"))+"/similar", nil, companyCard)
	},
	"linkedin-extract-company-employees-insights": func(c *callCtx) (platform.Page, error) {
		key := companyKey(c.in("linkedin_company_url"))
		if c.in("linkedin_company_url") == "" {
			key = c.in("linkedin_company_id")
		}
		q := url.Values{}
		if c.paramB("affiliates") {
			q.Set("includeAffiliates", "true")
		}
		j, err := c.get("/linkedin/companies/"+key+"/insights", q)
		if err != nil {
			return platform.Page{}, err
		}
		counts := func(k string, f func(J) map[string]any) []any {
			var out []any
			for _, x := range j.A(k) {
				out = append(out, f(x))
			}
			return out
		}
		named := func(x J) map[string]any { return map[string]any{"name": x.S("name"), "count": x.I("count")} }
		return one(map[string]any{"linkedin_company_url": j.S("url"), "linkedin_company_handle": j.S("universalName"),
			"linkedin_company_id": j.I("companyId"), "locations": counts("byLocation", named),
			"schools":   counts("bySchool", func(x J) map[string]any { return merge(named(x), map[string]any{"linkedin_school_id": x.S("id")}) }),
			"functions": counts("byFunction", named), "skills": counts("bySkill", named), "fields_of_study": counts("byFieldOfStudy", named),
			"connection_degrees": counts("byDistance", func(x J) map[string]any {
				return map[string]any{"connection_degree": degree(x.S("name")), "count": x.I("count")}
			})}), nil
	},
	"linkedin-extract-page-followers": func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/companies/"+companyKey(c.in("linkedin_company_url"))+"/followers", nil, func(e J) map[string]any {
			return merge(person(e.O("follower")), map[string]any{"followed_at": ms(e.I("followedAt"))})
		})
	},
	"linkedin-search-company-employees": func(c *callCtx) (platform.Page, error) {
		key := companyKey(c.in("linkedin_company_url"))
		if c.in("linkedin_company_url") == "" {
			key = c.in("linkedin_company_id")
		}
		return c.list("/linkedin/companies/"+key+"/employees", nil, person)
	},
	"linkedin-extract-school-alumnis": func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/schools/"+schoolKey(c.in("linkedin_school_url"))+"/alumni", nil, func(e J) map[string]any {
			return merge(person(e.O("profile")), map[string]any{"school_name": e.S("schoolName")})
		})
	},

	// ---- LinkedIn: posts, events, groups, jobs --------------------------------------
	"linkedin-extract-post": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/linkedin/posts/"+postKey(c.in("linkedin_post_url")), nil)
		if err != nil {
			return platform.Page{}, err
		}
		return one(post(j)), nil
	},
	"linkedin-extract-post-likers": func(c *callCtx) (platform.Page, error) {
		u := c.in("linkedin_post_url")
		key := postKey(u)
		return c.list("/linkedin/posts/"+key+"/likers", nil, func(e J) map[string]any {
			return merge(person(e.O("actor")), map[string]any{"reaction_type": e.S("reactionType"), "reaction_urn": e.S("reactionUrn"),
				"linkedin_post_url": u, "linkedin_post_id": key})
		})
	},
	"linkedin-extract-post-commenters": func(c *callCtx) (platform.Page, error) {
		q := url.Values{}
		if c.paramS("sort_order") == "relevant" {
			q.Set("sort", "relevance")
		}
		return c.list("/linkedin/posts/"+postKey(c.in("linkedin_post_url"))+"/comments", q, comment)
	},
	"linkedin-like-post": func(c *callCtx) (platform.Page, error) {
		kind := map[string]string{"like": "LIKE", "love": "EMPATHY", "celebrate": "PRAISE", "support": "APPRECIATION",
			"insightful": "INTEREST", "funny": "ENTERTAINMENT"}[c.paramS("interaction_type")]
		if kind == "" { // "random" or unset
			kinds := []string{"LIKE", "PRAISE", "EMPATHY", "INTEREST", "APPRECIATION", "ENTERTAINMENT"}
			kind = kinds[len(c.in("linkedin_post_url"))%len(kinds)]
		}
		j, err := c.post("/linkedin/posts/"+postKey(c.in("linkedin_post_url"))+"/reactions", map[string]any{"reactionType": kind})
		if err != nil {
			return platform.Page{}, err
		}
		return one(map[string]any{"reaction": j.S("reactionType"), "linkedin_post_url": j.S("postUrl")}), nil
	},
	"linkedin-comment-post": func(c *callCtx) (platform.Page, error) {
		postID, parent := postKey(c.in("linkedin_post_url")), ""
		if c.in("linkedin_post_url") == "" {
			postID, parent = commentRef(c.in("linkedin_comment_url"))
		}
		body := map[string]any{"text": c.paramS("comment")}
		if parent != "" {
			n, _ := strconv.ParseInt(parent, 10, 64)
			body["parentCommentId"] = n
		}
		j, err := c.post("/linkedin/posts/"+postID+"/comments", body)
		if err != nil {
			return platform.Page{}, err
		}
		return one(map[string]any{"linkedin_url": j.S("permalink"), "thread_urn": j.S("threadUrn"), "comment": j.S("text"),
			"created_at": ms(j.I("createdAt"))}), nil
	},
	"linkedin-extract-event": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/linkedin/events/"+eventKey(c.in("linkedin_event_url")), nil)
		if err != nil {
			return platform.Page{}, err
		}
		return one(event(j)), nil
	},
	"linkedin-extract-event-attendees": func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/events/"+eventKey(c.in("linkedin_event_url"))+"/attendees", nil, func(e J) map[string]any {
			return merge(person(e.O("attendee")), map[string]any{"linkedin_event_url": e.S("eventUrl")})
		})
	},
	"linkedin-invite-event": func(c *callCtx) (platform.Page, error) {
		j, err := c.post("/linkedin/events/"+eventKey(c.in("linkedin_event_url"))+"/invitations",
			map[string]any{"profile": profileKey(c.in("linkedin_profile_url"))})
		if err != nil {
			return platform.Page{}, err
		}
		return one(merge(person(j.O("invitee")), map[string]any{"pending": j.S("status") == "PENDING", "linkedin_event_url": j.S("eventUrl")})), nil
	},
	"linkedin-extract-group-members": func(c *callCtx) (platform.Page, error) {
		key := groupKey(c.in("linkedin_group_url"))
		var roles []string
		for p, r := range map[string]string{"group_owner": "OWNER", "group_manager": "MANAGER", "group_member": "MEMBER"} {
			if c.paramB(p) {
				roles = append(roles, r)
			}
		}
		q := url.Values{}
		if len(roles) > 0 && len(roles) < 3 {
			q.Set("roles", strings.Join(sorted(roles), ","))
		}
		return c.list("/linkedin/groups/"+key+"/members", q, func(e J) map[string]any {
			return merge(person(e.O("member")), map[string]any{"membership_status": e.S("role"), "joined_at": ms(e.I("joinedAt")),
				"linkedin_group_id": e.S("groupId")})
		})
	},
	"linkedin-extract-job": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/linkedin/jobs/"+jobKey(c.in("linkedin_job_url")), nil)
		if err != nil {
			return platform.Page{}, err
		}
		m := job(j)
		m["profile_full_name"] = strings.TrimSpace(j.S("poster.firstName") + " " + j.S("poster.lastName"))
		m["linkedin_profile_id"] = j.I("poster.memberId")
		m["linkedin_profile_url"] = j.S("poster.profileUrl")
		return one(m), nil
	},

	// ---- LinkedIn searches ------------------------------------------------------------
	"linkedin-search-people":    search("people", "linkedin_people_search_url", person),
	"linkedin-search-companies": search("companies", "linkedin_company_search_url", companyCard),
	"linkedin-search-schools": search("schools", "linkedin_school_search_url", func(s J) map[string]any {
		return map[string]any{"school_name": s.S("name"), "description": s.S("description"), "location": s.S("location"),
			"members": s.S("alumniCount"), "linkedin_school_url": s.S("url"), "linkedin_school_id": s.S("schoolId"), "linkedin_school_handle": s.S("universalName")}
	}),
	"linkedin-search-groups": search("groups", "linkedin_group_search_url", func(g J) map[string]any {
		return map[string]any{"group_name": g.S("name"), "description": g.S("description"), "members": g.S("memberCount"),
			"linkedin_group_url": g.S("url"), "linkedin_group_id": g.S("groupId")}
	}),
	"linkedin-search-events": search("events", "linkedin_event_search_url", func(e J) map[string]any {
		return map[string]any{"event_name": e.S("name"), "description": e.S("description"), "date": ms(e.I("startsAt")),
			"location": e.S("location"), "linkedin_event_url": e.S("url"), "attendees": e.S("attendeeCount"), "linkedin_event_id": e.S("eventId")}
	}),
	"linkedin-search-jobs": func(c *callCtx) (platform.Page, error) {
		u := c.in("linkedin_job_search_url")
		initial := searchQuery(u).Get("keywords")
		return search("jobs", "linkedin_job_search_url", func(j J) map[string]any {
			return merge(job(j), map[string]any{"initial_query": initial})
		})(c)
	},
	"linkedin-search-content": search("content", "linkedin_content_search_url", func(e J) map[string]any {
		m := post(e.O("post"))
		m["author_name"] = m["full_name"]
		m["headline"] = e.S("authorHeadline")
		return m
	}),

	// ---- Sales Navigator ----------------------------------------------------------------
	"salesnavigator-visit-profile": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/sales/profiles/"+profileKey(c.in("sales_navigator_profile_url")), nil)
		if err != nil {
			return platform.Page{}, err
		}
		return one(person(j.O("lead"))), nil
	},
	"salesnavigator-visit-company": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/sales/companies/"+companyKey(c.in("sales_navigator_company_url")), nil)
		if err != nil {
			return platform.Page{}, err
		}
		return one(map[string]any{"sales_navigator_company_id": j.S("company.companyId")}), nil
	},
	"salesnavigator-connect-profile": func(c *callCtx) (platform.Page, error) {
		return connect(c, "/sales/invitations", c.in("sales_navigator_profile_url"), profileKey)
	},
	"salesnavigator-inmail-profile": func(c *callCtx) (platform.Page, error) {
		j, err := c.post("/sales/inmails", map[string]any{"recipient": profileKey(c.in("sales_navigator_profile_url")),
			"subject": c.paramS("subject"), "text": c.paramS("message"), "attachments": files(c.param("files"))})
		if err != nil {
			return platform.Page{}, err
		}
		return one(map[string]any{"message": j.S("body"), "sales_navigator_profile_id": j.S("recipient.salesNavId"),
			"linkedin_thread_id": j.S("threadId"), "linkedin_message_id": j.S("messageId")}), nil
	},
	"salesnavigator-extract-employees-count": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/sales/companies/"+companyKey(c.in("sales_navigator_company_url"))+"/headcount", nil)
		if err != nil {
			return platform.Page{}, err
		}
		var months []any
		for _, m := range j.A("monthly") {
			months = append(months, map[string]any{"date_on": map[string]any{"month": m.I("month"), "year": m.I("year"), "day": m.I("day")},
				"employee_count": m.I("count")})
		}
		return one(map[string]any{"sales_navigator_employee_url": j.S("employeesSearchUrl"), "sales_navigator_company_id": j.S("companyId"),
			"employee_median_tenure": j.F("medianTenureYears"), "total_employee_count": j.I("total"), "monthly_headcounts": months}), nil
	},
	"salesnavigator-extract-employees-distribution": func(c *callCtx) (platform.Page, error) {
		j, err := c.get("/sales/companies/"+companyKey(c.in("sales_navigator_company_url"))+"/distribution", nil)
		if err != nil {
			return platform.Page{}, err
		}
		var deps []any
		for _, d := range j.A("departments") {
			deps = append(deps, map[string]any{"name": d.S("name"), "headcount_total": d.I("count"), "headcount_percentage": d.F("percentage"),
				"headcount_growth_3_months": d.I("growth3m"), "headcount_growth_6_months": d.I("growth6m"), "headcount_growth_12_months": d.I("growth12m")})
		}
		return one(map[string]any{"sales_navigator_company_id": j.S("companyId"), "total_employee_count": j.I("total"), "departments": deps}), nil
	},
	"salesnavigator-search-metrics": func(c *callCtx) (platform.Page, error) {
		q := url.Values{}
		for p, k := range map[string]string{"keywords": "keywords", "employees_title": "title", "function": "function", "geo": "geo"} {
			if v := c.paramS(p); v != "" {
				q.Set(k, v)
			}
		}
		j, err := c.get("/sales/companies/"+url.PathEscape(c.in("sales_navigator_company_id"))+"/metrics", q)
		if err != nil {
			return platform.Page{}, err
		}
		return one(map[string]any{"sales_navigator_profile_search_url": j.S("searchUrl"), "sales_navigator_company_url": j.S("salesNavUrl"),
			"company_name": j.S("companyName"), "sales_navigator_company_id": j.I("companyId"), "linkedin_company_url": j.S("companyUrl"),
			"total_leads": j.I("total"), "new_leads": j.S("recentlyHired"), "leads_posted_recently": j.S("postedRecently"),
			"leads_mentioned_in_news": j.S("mentionedInNews"), "leads_with_common_experience": j.S("commonExperience"),
			"leads_following_your_company": j.S("followingYourCompany"), "leads_past_colleague": j.S("pastColleagues"),
			"leads_teamlink_your_executives": j.S("teamLink"), "leads_viewed_profile_recently": j.S("viewedYourProfile")}), nil
	},
	"salesnavigator-search-company-employees": func(c *callCtx) (platform.Page, error) {
		key := companyKey(c.in("sales_navigator_company_url"))
		if c.in("sales_navigator_company_url") == "" {
			key = url.PathEscape(c.in("linkedin_company_id"))
		}
		q := url.Values{}
		for p, k := range map[string]string{"keywords": "keywords", "employees_title": "title", "function": "function", "geo": "geo"} {
			if v := c.paramS(p); v != "" {
				q.Set(k, v)
			}
		}
		return c.list("/sales/companies/"+key+"/employees", q, func(e J) map[string]any {
			m := person(e)
			m["sales_navigator_search_url"] = salesEmployeesURL(e.S("companyId"))
			m["connection_degree"] = leadingDegree(e.S("memberDistance"))
			return m
		})
	},
	"salesnavigator-search-people": func(c *callCtx) (platform.Page, error) {
		u := c.in("sales_navigator_profile_search_url")
		return c.list("/sales/search/people", salesQuery(u), func(e J) map[string]any {
			m := person(e)
			m["sales_navigator_search_url"] = u
			m["connection_degree"] = leadingDegree(e.S("memberDistance"))
			return m
		})
	},
	"salesnavigator-search-companies": func(c *callCtx) (platform.Page, error) {
		u := c.in("sales_navigator_company_search_url")
		return c.list("/sales/search/companies", salesQuery(u), func(e J) map[string]any {
			return merge(companyCard(e), map[string]any{"sales_navigator_search_url": u})
		})
	},
	"salesnavigator-extract-leads-list": func(c *callCtx) (platform.Page, error) {
		u := c.in("sales_navigator_profile_list_url")
		return c.list("/sales/lists/leads/"+listKey(u), nil, func(e J) map[string]any {
			m := person(e)
			m["sales_navigator_profile_list_url"] = u
			m["sales_navigator_search_url"] = salesEmployeesURL(e.S("companyId"))
			m["connection_degree"] = leadingDegree(e.S("memberDistance"))
			return m
		})
	},
	"salesnavigator-extract-accounts-list": func(c *callCtx) (platform.Page, error) {
		u := c.in("sales_navigator_company_list_url")
		return c.list("/sales/lists/accounts/"+listKey(u), nil, func(e J) map[string]any {
			return merge(companyCard(e), map[string]any{"sales_navigator_company_list_url": u})
		})
	},

	// ---- Recruiter Lite ------------------------------------------------------------------
	"recruiterlite-search-people": func(c *callCtx) (platform.Page, error) {
		return c.list("/recruiter/search/people", salesQuery(c.in("linkedin_recruiter_search_url")), func(e J) map[string]any {
			m := fullPerson(e.O("candidate"))
			m["experiences"] = m["recruiter_experiences"]
			m["job_seeker"] = e.B("jobSeeker")
			return m
		})
	},
}

func sorted(xs []string) []string {
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if xs[j] < xs[i] {
				xs[i], xs[j] = xs[j], xs[i]
			}
		}
	}
	return xs
}

// leadingDegree is Sales Navigator's numeric degree (1, 2, 3).
func leadingDegree(d string) int {
	switch d {
	case "DISTANCE_1":
		return 1
	case "DISTANCE_2":
		return 2
	}
	return 3
}

func search(vertical, field string, mapper func(J) map[string]any) handler {
	return func(c *callCtx) (platform.Page, error) {
		return c.list("/linkedin/search/"+vertical, searchQuery(c.in(field)), mapper)
	}
}

func event(e J) map[string]any {
	var speakers []any
	for _, s := range e.A("speakers") {
		speakers = append(speakers, map[string]any{"first_name": s.S("firstName"), "last_name": s.S("lastName"),
			"full_name": strings.TrimSpace(s.S("firstName") + " " + s.S("lastName")), "linkedin_profile_url": s.S("profileUrl")})
	}
	org := e.O("organizer")
	return map[string]any{"event_name": e.S("name"), "event_information": e.S("description"), "linkedin_event_id": e.S("eventId"),
		"linkedin_event_url": e.S("url"), "event_external_link": e.S("externalUrl"), "created_at": ms(e.I("createdAt")),
		"number_attendees": e.S("attendeeCount"), "event_start_datetime": ms(e.I("startsAt")), "event_end_datetime": ms(e.I("endsAt")),
		"company_name": e.S("organizerCompanyName"), "linkedin_company_id": e.S("organizerCompanyId"), "linkedin_company_url": e.S("organizerCompanyUrl"),
		"first_name": org.S("firstName"), "last_name": org.S("lastName"), "full_name": strings.TrimSpace(org.S("firstName") + " " + org.S("lastName")),
		"speakers": speakers}
}

func job(j J) map[string]any {
	listed := j.I("listedAt")
	return map[string]any{"linkedin_job_id": j.S("jobId"), "job_location": j.S("formattedLocation"), "linkedin_job_url": j.S("url"),
		"field": j.S("jobFunction"), "job_description": j.S("description"), "type": j.S("employmentType"), "title": j.S("title"),
		"target_job_title": j.S("title"), "remote_allowed": j.B("workRemoteAllowed"), "remote": j.B("workRemoteAllowed"),
		"skills": j.Strs("skills"), "linkedin_company_id": j.S("companyId"), "linkedin_company_url": j.S("companyUrl"),
		"company_name": j.S("companyName"), "linkedin_job_application_url": j.S("applyUrl"), "posted_at": ms(listed),
		"reposted_at": ms(j.I("repostedAt")), "listed_at": ms(listed), "expire_at": ms(j.I("expireAt")), "sponsored": j.B("sponsored"),
		"new": listed >= j.I("expireAt")-30*86_400_000+0 && j.I("applies") < 25, "source_domain": j.S("sourceDomain"),
		"applicants_count": j.S("applies")}
}

func conversation(cv J) map[string]any {
	var parts []any
	for _, p := range cv.A("participants") {
		m := person(p)
		parts = append(parts, map[string]any{"linkedin_profile_id": m["linkedin_profile_id"], "sales_navigator_profile_id": m["sales_navigator_profile_id"],
			"linkedin_profile_url": m["linkedin_profile_url"], "first_name": m["first_name"], "last_name": m["last_name"],
			"job_title": m["job_title"], "linkedin_people_post_search_url": m["linkedin_people_post_search_url"]})
	}
	last := cv.O("lastMessage")
	s := last.O("sender")
	att := attachments(last.get("attachments"))
	return map[string]any{"participants": parts, "linkedin_thread_id": cv.S("threadId"), "linkedin_thread_url": cv.S("threadUrl"),
		"read": cv.B("read"), "total_received_messages": cv.S("receivedCount"), "created_at": ms(cv.I("createdAt")),
		"last_activity_at": ms(cv.I("lastActivityAt")), "unread_count": cv.I("unreadCount"), "sponsored": cv.B("sponsored"),
		"last_message": map[string]any{"delivered_at": ms(last.I("deliveredAt")), "first_name": s.S("firstName"), "last_name": s.S("lastName"),
			"linkedin_profile_id": s.I("memberId"), "sales_navigator_profile_id": s.S("salesNavId"), "job_title": s.S("occupation"),
			"message_id": last.S("messageId"), "content": last.S("body"), "attachments": att}}
}

func threadWrite(op string) handler {
	return func(c *callCtx) (platform.Page, error) {
		j, err := c.post("/linkedin/conversations/"+threadKey(c.in("linkedin_thread_id"))+"/"+op, nil)
		if err != nil {
			return platform.Page{}, err
		}
		return one(map[string]any{"linkedin_thread_id": j.S("threadId")}), nil
	}
}

// files turns the action's base64 attachments into upload descriptions.
func files(v any) []map[string]any {
	arr, _ := v.([]any)
	var out []map[string]any
	for _, x := range arr {
		m, _ := asMap(x)
		name := J(m).S("filename")
		data := J(m).S("file_data")
		typ := "application/octet-stream"
		switch {
		case strings.HasSuffix(strings.ToLower(name), ".pdf"):
			typ = "application/pdf"
		case strings.HasSuffix(strings.ToLower(name), ".png"):
			typ = "image/png"
		case strings.HasSuffix(strings.ToLower(name), ".jpg"), strings.HasSuffix(strings.ToLower(name), ".jpeg"):
			typ = "image/jpeg"
		}
		out = append(out, map[string]any{"name": name, "size": len(data) * 3 / 4, "mediaType": typ})
	}
	return out
}

func sendMessage(inmail bool) handler {
	return func(c *callCtx) (platform.Page, error) {
		body := map[string]any{"recipient": profileKey(c.in("linkedin_profile_url")), "text": c.paramS("message"),
			"attachments": files(c.param("files")), "inmail": inmail}
		if inmail {
			body["subject"] = c.paramS("subject")
		}
		j, err := c.post("/linkedin/messages", body)
		if err != nil {
			return platform.Page{}, err
		}
		var att []any
		for _, a := range j.A("attachments") {
			att = append(att, map[string]any(a))
		}
		snid := j.S("recipient.salesNavId")
		return one(map[string]any{"message": j.S("body"), "sales_navigator_profile_id": snid, "linkedin_thread_id": j.S("threadId"),
			"linkedin_thread_url": j.S("threadUrl"), "is_sent": true, "reply": "", "delivered_at": ms(j.I("deliveredAt")),
			"linkedin_message_id": j.S("messageId"), "attachments": att, "linkedin_people_post_search_url": postSearchURL(snid)}), nil
	}
}

func connect(c *callCtx, path, profile string, key func(string) string) (platform.Page, error) {
	j, err := c.post(path, map[string]any{"profile": key(profile), "message": c.paramS("message")})
	if err != nil {
		return platform.Page{}, err
	}
	st := j.S("status")
	return one(map[string]any{"message": j.S("message"), "sales_navigator_profile_id": j.S("salesNavId"),
		"recently_declined": st == "RECENTLY_DECLINED", "connected": st == "ALREADY_CONNECTED",
		"pending": st == "SENT" || st == "PENDING"}), nil
}

// acceptInvitations accepts one page of pending invitations. Accepted ones
// leave the pending list, so every page reads from the top of it.
func acceptInvitations(c *callCtx) (platform.Page, error) {
	body, err := c.get("/linkedin/invitations/received", url.Values{"start": {"0"}, "count": {strconv.Itoa(c.size)}})
	if err != nil {
		return platform.Page{}, err
	}
	var pg platform.Page
	for _, inv := range body.A("elements") {
		if _, err := c.post("/linkedin/invitations/received/"+inv.S("invitationId")+"/accept", nil); err != nil {
			if len(pg.Results) > 0 && !platform.IsSessionExpired(err) {
				break // report what was accepted; the rest waits for the next call
			}
			return platform.Page{}, err
		}
		p := inv.O("profile")
		pg.Results = append(pg.Results, merge(person(p), map[string]any{"linkedin_invitation_id": inv.I("invitationId"),
			"linkedin_invitation_urn": inv.S("entityUrn"), "message": inv.S("message"), "sent_time": ms(inv.I("sentTime")),
			"invitation_secret": inv.S("sharedSecret"), "title": p.S("occupation")}))
	}
	pg.More = body.I("paging.total") > int64(len(pg.Results))
	return pg, nil
}

// withdrawInvitations withdraws one page of sent invitations, newest first
// (oldest first with last_page_start).
func withdrawInvitations(c *callCtx) (platform.Page, error) {
	body, err := c.get("/linkedin/invitations/sent", url.Values{"start": {"0"}, "count": {"100"}})
	if err != nil {
		return platform.Page{}, err
	}
	all := body.A("elements")
	total := int(body.I("paging.total"))
	if c.paramB("last_page_start") && total > len(all) {
		if body, err = c.get("/linkedin/invitations/sent", url.Values{"start": {strconv.Itoa(max(total-100, 0))}, "count": {"100"}}); err != nil {
			return platform.Page{}, err
		}
		all = body.A("elements")
	}
	if c.paramB("last_page_start") {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	if len(all) > c.size {
		all = all[:c.size]
	}
	var pg platform.Page
	for _, inv := range all {
		if _, err := c.do("DELETE", "/linkedin/invitations/sent/"+inv.S("invitationId"), nil, nil); err != nil {
			if len(pg.Results) > 0 && !platform.IsSessionExpired(err) {
				break
			}
			return platform.Page{}, err
		}
		pg.Results = append(pg.Results, map[string]any{"linkedin_profile_url": inv.S("profile.profileUrl")})
	}
	pg.More = total > len(pg.Results)
	if len(pg.Results) == 0 {
		pg.More = false
	}
	return pg, nil
}

var _ = apperr.Upstream
