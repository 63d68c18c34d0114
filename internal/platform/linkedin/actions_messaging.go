package linkedin

import (
	"strconv"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/platform"
)

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
