package simdriver

import (
	"net/url"
	"regexp"
	"strings"
)

// Input URLs are public platform URLs; these helpers pull out the key the
// simulator's routes take. Anything that is not a recognized URL is passed on
// as the key itself (the simulator resolves any key).

func pathSegments(raw string) []string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return nil
	}
	var out []string
	for _, s := range strings.Split(u.EscapedPath(), "/") {
		if s != "" {
			if un, err := url.PathUnescape(s); err == nil {
				s = un
			}
			out = append(out, s)
		}
	}
	return out
}

// after returns the segment that follows one of the markers.
func after(raw string, markers ...string) string {
	segs := pathSegments(raw)
	for i := 0; i < len(segs)-1; i++ {
		for _, m := range markers {
			if segs[i] == m {
				return segs[i+1]
			}
		}
	}
	return ""
}

func keyOrSelf(k, raw string) string {
	if k != "" {
		return k
	}
	raw = strings.TrimSpace(raw)
	if segs := pathSegments(raw); len(segs) > 0 {
		return segs[len(segs)-1]
	}
	return raw
}

// profileKey: /in/{handle}, /pub/{handle}, /sales/lead/{id},..., /sales/people/{id},...
func profileKey(raw string) string {
	k := after(raw, "in", "pub", "lead", "people")
	if i := strings.IndexByte(k, ','); i > 0 {
		k = k[:i]
	}
	return url.PathEscape(keyOrSelf(k, raw))
}

// companyKey: /company/{x}, /school/{x}, /showcase/{x}, /sales/company/{id}.
func companyKey(raw string) string {
	return url.PathEscape(keyOrSelf(after(raw, "company", "school", "showcase"), raw))
}

func schoolKey(raw string) string { return url.PathEscape(keyOrSelf(after(raw, "school"), raw)) }

var (
	activityRe = regexp.MustCompile(`(?:activity|ugcPost|share)(?:[-:]|%3A)(\d{10,20})`)
	commentRe  = regexp.MustCompile(`comment(?::|%3A)\((?:activity|ugcPost)(?::|%3A)(\d+)(?:,|%2C)(\d+)\)`)
	longNumRe  = regexp.MustCompile(`\d{10,20}`)
	groupRe    = regexp.MustCompile(`/groups/(\d+)`)
	jobRe      = regexp.MustCompile(`/jobs/view/(?:[\w-]*-)?(\d+)`)
	threadRe   = regexp.MustCompile(`2-[A-Za-z0-9_-]+==`)
	listRe     = regexp.MustCompile(`/sales/lists/(?:people|company)/([\w-]+)`)
	orgRe      = regexp.MustCompile(`organization:(\d+)`)
	kwRe       = regexp.MustCompile(`keywords:([^,)&]+)`)
	placeIDRe  = regexp.MustCompile(`!1s(ChIJ[A-Za-z0-9_-]+)`)
	taIDRe     = regexp.MustCompile(`-d(\d+)`)
	taGeoRe    = regexp.MustCompile(`-g(\d+)`)
	forkRe     = regexp.MustCompile(`-r(\d+)`)
)

func decodeAll(s string) string {
	for i := 0; i < 3; i++ {
		u, err := url.QueryUnescape(s)
		if err != nil || u == s {
			break
		}
		s = u
	}
	return s
}

// postKey: the activity id of /posts/..._activity-ID-xxxx or /feed/update/urn:li:activity:ID.
func postKey(raw string) string {
	if m := activityRe.FindStringSubmatch(decodeAll(raw)); m != nil {
		return m[1]
	}
	return url.PathEscape(keyOrSelf("", raw))
}

// commentRef: the post and comment ids of a comment URL.
func commentRef(raw string) (post, comment string) {
	if m := commentRe.FindStringSubmatch(decodeAll(raw)); m != nil {
		return m[1], m[2]
	}
	return postKey(raw), ""
}

func eventKey(raw string) string {
	d := decodeAll(raw)
	if m := longNumRe.FindAllString(d, -1); len(m) > 0 {
		return m[len(m)-1]
	}
	return url.PathEscape(keyOrSelf(after(raw, "events"), raw))
}

func groupKey(raw string) string {
	if m := groupRe.FindStringSubmatch(raw); m != nil {
		return m[1]
	}
	return url.PathEscape(keyOrSelf("", raw))
}

func jobKey(raw string) string {
	if m := jobRe.FindStringSubmatch(raw); m != nil {
		return m[1]
	}
	if u, err := url.Parse(raw); err == nil && u.Query().Get("currentJobId") != "" {
		return u.Query().Get("currentJobId")
	}
	return url.PathEscape(keyOrSelf("", raw))
}

func threadKey(raw string) string {
	if m := threadRe.FindString(decodeAll(raw)); m != "" {
		return url.PathEscape(m)
	}
	return url.PathEscape(keyOrSelf(after(raw, "thread"), raw))
}

func listKey(raw string) string {
	if m := listRe.FindStringSubmatch(raw); m != nil {
		return m[1]
	}
	return url.PathEscape(keyOrSelf("", raw))
}

// searchQuery returns the query parameters of a search URL, minus paging.
func searchQuery(raw string) url.Values {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return url.Values{}
	}
	q := u.Query()
	for _, k := range []string{"page", "start", "count", "origin", "sid"} {
		q.Del(k)
	}
	return q
}

// salesQuery turns a Sales Navigator or Recruiter search URL (whose filters sit
// in a Rest.li-encoded "query" parameter) into simple filters.
func salesQuery(raw string) url.Values {
	q := url.Values{}
	src := searchQuery(raw)
	if k := src.Get("keywords"); k != "" {
		q.Set("keywords", k)
	}
	d := decodeAll(raw)
	if q.Get("keywords") == "" {
		if m := kwRe.FindStringSubmatch(d); m != nil {
			q.Set("keywords", strings.TrimSpace(m[1]))
		}
	}
	var ids []string
	for _, m := range orgRe.FindAllStringSubmatch(d, -1) {
		ids = append(ids, m[1])
	}
	if c := src.Get("companyIncluded"); c != "" {
		ids = append(ids, c)
	}
	if len(ids) > 0 {
		q.Set("company", strings.Join(ids, ","))
	}
	return q
}

func placeKey(raw string) string {
	if m := placeIDRe.FindStringSubmatch(raw); m != nil {
		return m[1]
	}
	return url.PathEscape(keyOrSelf(after(raw, "place"), raw))
}

func mapsQuery(raw string) string {
	q := after(raw, "search")
	if q == "" {
		if u, err := url.Parse(raw); err == nil {
			q = u.Query().Get("q")
		}
	}
	return strings.ReplaceAll(q, "+", " ")
}

func taID(raw string) string {
	if m := taIDRe.FindStringSubmatch(raw); m != nil {
		return m[1]
	}
	return url.PathEscape(keyOrSelf("", raw))
}

func taGeo(raw string) string {
	if m := taGeoRe.FindStringSubmatch(raw); m != nil {
		return m[1]
	}
	if u, err := url.Parse(raw); err == nil && u.Query().Get("geo") != "" {
		return u.Query().Get("geo")
	}
	return keyOrSelf("", raw)
}

// asked passes the page's URL along with its id, as a fetch of the page
// would: the simulator names a property it does not hold after it.
func asked(raw string) url.Values { return url.Values{"url": {strings.TrimSpace(raw)}} }

func forkKey(raw string) string {
	if m := forkRe.FindAllStringSubmatch(raw, -1); m != nil {
		return m[len(m)-1][1]
	}
	return url.PathEscape(keyOrSelf("", raw))
}
