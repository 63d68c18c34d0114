package tripadvisor

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
)

// TripAdvisor URLs carry their IDs:
//
//	/Hotel_Review-g187147-d1234-Reviews-Name-City.html      location 1234
//	/Restaurant_Review-g..-d..-..., /Attraction_Review-...,
//	/AttractionProductReview-..., /ShowUserReviews-g..-d..-r...
//	/Hotels-g187147-Paris_Ile_de_France-Hotels.html          geo 187147
//	/Restaurants-g187147-..., /Attractions-g187147-...
//	/FindRestaurants?geo=187147&...                          geo 187147
//
// on any TripAdvisor domain (tripadvisor.com, .fr, .co.uk, fr.tripadvisor.ch,
// ...). Anything else is a BAD_INPUT that says what is missing.

const maxURLLen = 4096

var (
	taHostRe   = regexp.MustCompile(`^(?:[a-z]{2,3}\.)?tripadvisor\.(?:[a-z]{2,3}|co\.[a-z]{2}|com\.[a-z]{2})$`)
	locationRe = regexp.MustCompile(`^[A-Za-z_]*Review[A-Za-z_]*-g([0-9]{1,12})-d([0-9]{1,12})(?:-|\.html$|$)`)
	geoPathRe  = regexp.MustCompile(`^(?:Hotels|Restaurants|Attractions|Tourism)-g([0-9]{1,12})(?:-|\.html$|$)`)
	numericRe  = regexp.MustCompile(`^[0-9]{1,12}$`)
)

func badURL(format string, args ...any) error {
	return apperr.BadInput(format, args...).With("path", "body/input")
}

func parseTA(raw, what string) (*url.URL, error) {
	if len(raw) > maxURLLen {
		return nil, badURL("the %s is longer than %d characters", what, maxURLLen)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, badURL("the %s must be an absolute https://www.tripadvisor.com/... URL", what)
	}
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	if !taHostRe.MatchString(host) {
		return nil, badURL("the %s is not a TripAdvisor URL (host %q)", what, u.Hostname())
	}
	return u, nil
}

// locationRef is what a location URL says.
type locationRef struct {
	geo, location string
}

func firstSegment(u *url.URL) string {
	p := strings.TrimPrefix(u.EscapedPath(), "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[:i]
	}
	return p
}

// parseLocationURL reads the location ID (the d number) of a review page.
func parseLocationURL(raw string) (locationRef, error) {
	u, err := parseTA(raw, "TripAdvisor URL")
	if err != nil {
		return locationRef{}, err
	}
	m := locationRe.FindStringSubmatch(firstSegment(u))
	if m == nil {
		return locationRef{}, badURL("the TripAdvisor URL has no location ID: it should look like " +
			"https://www.tripadvisor.com/Hotel_Review-g187147-d123456-Reviews-Name-City.html")
	}
	return locationRef{geo: m[1], location: m[2]}, nil
}

// parseSearchURL reads the geo ID (the g number) of a list page.
func parseSearchURL(raw string) (string, error) {
	u, err := parseTA(raw, "TripAdvisor search URL")
	if err != nil {
		return "", err
	}
	seg := firstSegment(u)
	if m := geoPathRe.FindStringSubmatch(seg); m != nil {
		return m[1], nil
	}
	if strings.HasPrefix(seg, "FindRestaurants") {
		if g := u.Query().Get("geo"); numericRe.MatchString(g) {
			return g, nil
		}
	}
	return "", badURL("the TripAdvisor search URL has no geo ID: it should look like " +
		"https://www.tripadvisor.com/Hotels-g187147-Paris_Ile_de_France-Hotels.html or .../FindRestaurants?geo=187147")
}

// cleanURL drops the query and fragment of a TripAdvisor page URL (the API
// appends a partner marker, ?m=...), and anything that is not http(s).
func cleanURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}
