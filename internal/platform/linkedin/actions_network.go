package linkedin

import (
	"strconv"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/platform"
)

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
			"profile_image_url":          vectorImage(p.O("profilePicture.displayImageReference.vectorImage")),
			"sales_navigator_profile_id": urnID(p.S("entityUrn")), "connected_at": ms(at, ok)})
	}
	pg.More = more(a.body, start, len(refs), c.size)
	if pg.More {
		pg.NextToken = "o:" + strconv.Itoa(start+len(refs))
	}
	return pg, nil
}
