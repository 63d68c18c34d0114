package linkedin

import (
	"strconv"

	"github.com/firstmate-oss/firstmate/internal/platform"
)

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
