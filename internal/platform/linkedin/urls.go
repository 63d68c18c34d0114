package linkedin

import (
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
)

// Input URLs are public LinkedIn URLs; these helpers pull out what the
// recipes take.

func segments(raw string) ([]string, *url.URL) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return nil, nil
	}
	var out []string
	for _, s := range strings.Split(u.EscapedPath(), "/") {
		if s == "" {
			continue
		}
		if un, err := url.PathUnescape(s); err == nil {
			s = un
		}
		out = append(out, s)
	}
	return out, u
}

func after(segs []string, markers ...string) string {
	for i := 0; i+1 < len(segs); i++ {
		for _, m := range markers {
			if segs[i] == m {
				return segs[i+1]
			}
		}
	}
	return ""
}

// profileHandle: https://www.linkedin.com/in/{handle}/ -> handle.
func profileHandle(field, raw string) (string, error) {
	segs, _ := segments(raw)
	if h := after(segs, "in", "pub"); h != "" {
		return h, nil
	}
	return "", apperr.BadInput("%s: %q is not a LinkedIn profile URL (https://www.linkedin.com/in/{handle}/)", field, raw)
}

// companyName: /company/{x}/, /school/{x}/, /showcase/{x}/ -> x.
func companyName(field, raw string) (string, error) {
	segs, _ := segments(raw)
	if h := after(segs, "company", "school", "showcase"); h != "" {
		return h, nil
	}
	return "", apperr.BadInput("%s: %q is not a LinkedIn company URL (https://www.linkedin.com/company/{name}/)", field, raw)
}

var threadRe = regexp.MustCompile(`2-[A-Za-z0-9_=-]+`)

// threadID: https://www.linkedin.com/messaging/thread/{id}/ -> id.
func threadID(field, raw string) (string, error) {
	segs, _ := segments(raw)
	if t := after(segs, "thread"); t != "" {
		return t, nil
	}
	if t := threadRe.FindString(raw); t != "" {
		return t, nil
	}
	return "", apperr.BadInput("%s: %q is not a LinkedIn conversation URL (https://www.linkedin.com/messaging/thread/{id}/)", field, raw)
}

// Search URL parameters the web app passes through as GraphQL query
// parameters of the same name (tomquirk/linkedin-api search_people filter
// keys).
var searchFilterKeys = map[string]bool{
	"currentCompany": true, "pastCompany": true, "geoUrn": true, "network": true, "industry": true,
	"profileLanguage": true, "nonprofitInterest": true, "schoolFilter": true, "serviceCategory": true,
	"connectionOf": true, "firstName": true, "lastName": true, "title": true, "company": true, "school": true,
	"companyHqGeo": true, "companySize": true,
}

// searchQuery turns a LinkedIn search results URL into the recipe's
// keywords clause and queryParameters (Rest.li), the result type first.
func searchQuery(field, raw, resultType, vertical string) (keywordsClause, params string, err error) {
	segs, u := segments(raw)
	if u == nil || after(segs, "results") != vertical {
		return "", "", apperr.BadInput("%s: %q is not a LinkedIn %s search URL (https://www.linkedin.com/search/results/%s/?keywords=...)", field, raw, vertical, vertical)
	}
	q := u.Query()
	if k := strings.TrimSpace(q.Get("keywords")); k != "" {
		keywordsClause = "keywords:" + escapeValue(k) + ","
	}
	parts := []string{"(key:resultType,value:List(" + resultType + "))"}
	keys := make([]string, 0, len(q))
	for k := range q {
		if searchFilterKeys[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		var vals []string
		for _, v := range q[k] {
			vals = append(vals, listValues(v)...)
		}
		if len(vals) == 0 {
			continue
		}
		for i, v := range vals {
			vals[i] = escapeValue(v)
		}
		parts = append(parts, "(key:"+k+",value:List("+strings.Join(vals, ",")+"))")
	}
	return keywordsClause, "List(" + strings.Join(parts, ",") + ")", nil
}

// listValues reads ["a","b"] (the web app's URL form) or a plain value.
func listValues(v string) []string {
	v = strings.TrimSpace(v)
	var arr []string
	if strings.HasPrefix(v, "[") && json.Unmarshal([]byte(v), &arr) == nil {
		var out []string
		for _, x := range arr {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
		return out
	}
	if v == "" {
		return nil
	}
	return []string{v}
}

func profileURL(handle string) string {
	if handle == "" {
		return ""
	}
	return "https://www.linkedin.com/in/" + url.PathEscape(handle) + "/"
}

func companyURL(handle string) string {
	if handle == "" {
		return ""
	}
	return "https://www.linkedin.com/company/" + url.PathEscape(handle) + "/"
}

func schoolURL(id string) string {
	if id == "" {
		return ""
	}
	return "https://www.linkedin.com/school/" + url.PathEscape(id) + "/"
}

func threadURL(id string) string {
	if id == "" {
		return ""
	}
	return "https://www.linkedin.com/messaging/thread/" + id + "/"
}

// postSearchURL is the web app's search of a member's posts (by profile id).
func postSearchURL(profileID string) string {
	if profileID == "" {
		return ""
	}
	return "https://www.linkedin.com/search/results/content/?fromMember=" + url.QueryEscape(`["`+profileID+`"]`) + "&sortBy=%22date_posted%22"
}

// sharedSearchURL is the web app's search of the connections shared with a
// member.
func sharedSearchURL(profileID string) string {
	if profileID == "" {
		return ""
	}
	return "https://www.linkedin.com/search/results/people/?facetConnectionOf=" + url.QueryEscape(`["`+profileID+`"]`) + "&network=%5B%22F%22%5D"
}

// stripQuery removes the query of a LinkedIn URL (navigation URLs carry
// tracking parameters).
func stripQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	u.RawQuery, u.Fragment = "", ""
	s := u.String()
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s
}
