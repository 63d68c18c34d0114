package linkedin

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"slices"
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
	cu, hasToken := decodeCursor("cb:", c.call.Token)
	// Without a token, page N is reached by walking from the top. The unread
	// filter is applied here (the inbox recipe has no such query), so a page
	// of LinkedIn's may hold no match: the walk then goes on, a bounded
	// number of pages, and hands back a token if it has to stop early.
	walk := 0
	if !hasToken {
		walk = c.page - 1
	}
	for hop := 0; hop < 20; hop++ {
		a, err := c.s.call("conversations", map[string]string{"created_before": cu.param()}, nil)
		if err != nil {
			return platform.Page{}, err
		}
		if !a.body.Has("data.*elements") {
			return platform.Page{}, brokenShape("conversations", "data.*elements")
		}
		n := newNormalized(a.body)
		refs := a.body.O("data").Strs("*elements")
		results := []map[string]any{}
		var times []int64
		var ids []string
		for _, u := range refs {
			cv := n.byURN[u]
			if cv == nil {
				return platform.Page{}, brokenShape("conversations", "included["+u+"]")
			}
			la, ok := cv.I("lastActivityAt")
			if !ok {
				return platform.Page{}, brokenShape("conversations", "included[conversation].lastActivityAt")
			}
			if !cu.fresh(la, u) {
				continue
			}
			times, ids = append(times, la), append(ids, u)
			if read, _ := cv.B("read"); onlyUnread && read {
				continue
			}
			results = append(results, conversation(n, cv))
		}
		cu = cu.advance(times, ids)
		done := len(times) == 0 || len(refs) < c.size
		switch {
		case walk > 0 && done:
			return platform.Page{Results: []map[string]any{}}, nil
		case walk > 0:
			walk--
			continue
		case len(results) == 0 && !done:
			continue
		}
		pg := platform.Page{Results: results, More: !done}
		if pg.More {
			pg.NextToken = cu.encode("cb:")
		}
		return pg, nil
	}
	return platform.Page{Results: []map[string]any{}, More: true, NextToken: cu.encode("cb:")}, nil
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

// cursor pages a list LinkedIn pages by time (createdBefore). Several items
// can share a millisecond, so the cursor asks for one millisecond more and
// skips what it already handed out at that time.
type cursor struct {
	Before    int64    `json:"b,omitempty"` // the oldest time handed out so far
	Seen      []string `json:"s,omitempty"` // ids handed out at that time
	Remaining int64    `json:"r"`           // items older than the cursor, -1 when unknown
}

func (cu cursor) encode(prefix string) string {
	b, _ := json.Marshal(cu)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(prefix, token string) (cursor, bool) {
	raw, ok := strings.CutPrefix(token, prefix)
	if !ok {
		return cursor{Remaining: -1}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	var cu cursor
	if err != nil || json.Unmarshal(b, &cu) != nil {
		return cursor{Remaining: -1}, false
	}
	return cu, true
}

// param is the createdBefore to ask for ("" for the newest page).
func (cu cursor) param() string {
	if cu.Before <= 0 {
		return ""
	}
	return strconv.FormatInt(cu.Before+1, 10)
}

// fresh reports whether an item at time at with id was not handed out yet.
func (cu cursor) fresh(at int64, id string) bool {
	if cu.Before <= 0 {
		return true
	}
	return at < cu.Before || (at == cu.Before && !slices.Contains(cu.Seen, id))
}

// advance moves the cursor past items (their times and ids).
func (cu cursor) advance(times []int64, ids []string) cursor {
	next := cu
	for i, at := range times {
		switch {
		case next.Before <= 0 || at < next.Before:
			next.Before, next.Seen = at, []string{ids[i]}
		case at == next.Before:
			next.Seen = append(slices.Clone(next.Seen), ids[i])
		}
	}
	return next
}

func extractMessages(c *callCtx) (platform.Page, error) {
	tid, err := threadID("linkedin_thread_url", c.in("linkedin_thread_url"))
	if err != nil {
		return platform.Page{}, err
	}
	cu, ok := decodeCursor("m:", c.call.Token)
	if !ok {
		// the first page: the conversation tells how many events it holds,
		// which gives each message its position
		a, err := c.s.call("conversation", map[string]string{"thread_id": tid}, nil)
		if err != nil {
			return platform.Page{}, err
		}
		if !a.body.Has("data.entityUrn") {
			return platform.Page{}, brokenShape("conversation", "data.entityUrn")
		}
		if n, ok := a.body.I("data.totalEventCount"); ok {
			cu.Remaining = n
		}
	}
	walk := 0
	if !ok {
		walk = c.page - 1 // page N without a token: walk back from the newest page
	}
	for {
		a, err := c.s.call("conversation_events", map[string]string{"thread_id": tid, "created_before": cu.param()}, nil)
		if err != nil {
			return platform.Page{}, err
		}
		if !a.body.Has("data.*elements") {
			return platform.Page{}, brokenShape("conversation_events", "data.*elements")
		}
		n := newNormalized(a.body)
		refs := a.body.O("data").Strs("*elements")
		var evs []J
		for _, u := range refs {
			ev := n.byURN[u]
			if ev == nil {
				return platform.Page{}, brokenShape("conversation_events", "included["+u+"]")
			}
			at, ok := ev.I("createdAt")
			if !ok {
				return platform.Page{}, brokenShape("conversation_events", "included[event].createdAt")
			}
			if cu.fresh(at, ev.S("entityUrn")) {
				evs = append(evs, ev)
			}
		}
		slices.SortStableFunc(evs, func(x, y J) int {
			a, _ := x.I("createdAt")
			b, _ := y.I("createdAt")
			return cmp.Compare(a, b)
		})
		base := int64(-1)
		if cu.Remaining >= 0 {
			base = max(cu.Remaining-int64(len(evs)), 0)
		}
		results := []map[string]any{}
		times, ids := make([]int64, 0, len(evs)), make([]string, 0, len(evs))
		for i, ev := range evs {
			at, ok := ev.I("createdAt")
			times, ids = append(times, at), append(ids, ev.S("entityUrn"))
			if eventText(ev) == "" && len(ev.A("eventContent.attachments")) == 0 {
				continue // not a message (a participant change, a reaction)
			}
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
		cu = cu.advance(times, ids)
		if cu.Remaining >= 0 {
			cu.Remaining = base
		}
		done := len(evs) == 0 || cu.Remaining == 0 || len(refs) < c.size
		if walk > 0 {
			if done {
				return platform.Page{Results: []map[string]any{}}, nil
			}
			walk--
			continue
		}
		pg := platform.Page{Results: results, More: !done}
		if pg.More {
			pg.NextToken = cu.encode("m:")
		}
		return pg, nil
	}
}
