package places

import (
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// How a Google Maps URL becomes a place (see Notes):
//
//  1. A place ID in the URL is used as is: ?q=place_id:{id},
//     ?query_place_id={id}, ?place_id={id}, or a ChIJ... ID in the data
//     blob (!19s{id} or !1s{id}).
//  2. Otherwise the name in /maps/place/{name}/ is searched for (Text
//     Search, IDs only), biased to the URL's coordinates: the pin of the
//     data blob (!3d{lat}!4d{lng}) when present, else the viewport centre
//     (@{lat},{lng},{zoom}z), with a radius that follows the zoom. Google's
//     top match is the place.
//  3. Short links (maps.app.goo.gl, goo.gl/maps, g.page) are followed, at
//     most maxHops redirects and only through Google hosts, to such a URL.
//
// Anything else is a BAD_INPUT that says what is missing.

const (
	maxURLLen  = 4096
	maxNameLen = 300
	maxHops    = 5
)

var (
	googleHostRe = regexp.MustCompile(`^(?:www\.|maps\.)?google\.[a-z]{2,3}(?:\.[a-z]{2})?$`)
	idRe         = regexp.MustCompile(`^[A-Za-z0-9_-]{1,512}$`)
	dataIDRe     = regexp.MustCompile(`!(?:19s|1s)(ChIJ[A-Za-z0-9_-]{10,500})`)
	pinRe        = regexp.MustCompile(`!3d(-?[0-9]{1,3}(?:\.[0-9]+)?)!4d(-?[0-9]{1,3}(?:\.[0-9]+)?)`)
	atRe         = regexp.MustCompile(`^@(-?[0-9]{1,3}(?:\.[0-9]+)?),(-?[0-9]{1,3}(?:\.[0-9]+)?)(?:,([0-9]+(?:\.[0-9]+)?)([zma]))?`)
)

// PlaceURL is the Google Maps URL of a place ID, in the form the driver's
// own actions accept back.
func PlaceURL(id string) string { return "https://www.google.com/maps/place/?q=place_id:" + id }

func validID(id string) bool { return idRe.MatchString(id) }

// placeRef is what a place URL says.
type placeRef struct {
	id, name         string
	query            string // search URLs
	lat, lng, radius float64
	hasPoint, short  bool
}

func badURL(format string, args ...any) error {
	return apperr.BadInput(format, args...).With("path", "body/input")
}

// parseGoogleURL checks that raw is an absolute http(s) URL on a Google
// Maps host (or a short link host) and returns it parsed.
func parseGoogleURL(raw, what string) (*url.URL, bool, error) {
	if len(raw) > maxURLLen {
		return nil, false, badURL("the %s is longer than %d characters", what, maxURLLen)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, false, badURL("the %s must be an absolute https://www.google.com/maps/... URL", what)
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "maps.app.goo.gl", host == "g.page", host == "goo.gl" && strings.HasPrefix(u.Path, "/maps"):
		return u, true, nil
	case googleHostRe.MatchString(host):
		return u, false, nil
	}
	return nil, false, badURL("the %s is not a Google Maps URL (host %q)", what, host)
}

// parsePlaceURL reads a place URL (see the rules above).
func parsePlaceURL(raw string) (placeRef, error) {
	u, short, err := parseGoogleURL(raw, "place URL")
	if err != nil {
		return placeRef{}, err
	}
	if short {
		return placeRef{short: true}, nil
	}
	var ref placeRef
	q := u.Query()
	for _, k := range []string{"query_place_id", "place_id"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			if !validID(v) {
				return placeRef{}, badURL("the place URL's %s is not a Google place ID", k)
			}
			ref.id = v
		}
	}
	for _, k := range []string{"q", "query"} {
		if v, ok := strings.CutPrefix(strings.TrimSpace(q.Get(k)), "place_id:"); ok && ref.id == "" {
			if !validID(v) {
				return placeRef{}, badURL("the place URL's place_id: is not a Google place ID")
			}
			ref.id = v
		}
	}
	if ref.id == "" {
		if m := dataIDRe.FindStringSubmatch(u.EscapedPath() + "?" + u.RawQuery); m != nil {
			ref.id = m[1]
		}
	}
	if ref.id != "" {
		return ref, nil
	}
	segs := segments(u)
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == "place" && !strings.HasPrefix(segs[i+1], "@") && !strings.HasPrefix(segs[i+1], "data=") {
			ref.name = strings.TrimSpace(strings.ReplaceAll(segs[i+1], "+", " "))
			break
		}
	}
	if ref.name == "" {
		return placeRef{}, badURL("the place URL has neither a place ID nor a place name (/maps/place/{name}/) to look up")
	}
	if len(ref.name) > maxNameLen {
		return placeRef{}, badURL("the place name in the URL is longer than %d characters", maxNameLen)
	}
	if err := ref.point(u, segs); err != nil {
		return placeRef{}, err
	}
	return ref, nil
}

// parseSearchURL reads a search URL: the query of /maps/search/{query}/ or
// of ?query= / ?q=, and the viewport as a bias.
func parseSearchURL(raw string) (placeRef, error) {
	u, short, err := parseGoogleURL(raw, "search URL")
	if err != nil {
		return placeRef{}, err
	}
	if short {
		return placeRef{}, badURL("short links are not search URLs; pass https://www.google.com/maps/search/{query}/")
	}
	var ref placeRef
	segs := segments(u)
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == "search" && !strings.HasPrefix(segs[i+1], "@") && !strings.HasPrefix(segs[i+1], "data=") {
			ref.query = segs[i+1]
			break
		}
	}
	if ref.query == "" {
		q := u.Query()
		ref.query = firstNonEmpty(q.Get("query"), q.Get("q"))
	}
	ref.query = strings.Join(strings.Fields(strings.ReplaceAll(ref.query, "+", " ")), " ")
	if ref.query == "" {
		return placeRef{}, badURL("the search URL has no query (/maps/search/{query}/ or ?query=)")
	}
	if len(ref.query) > maxNameLen {
		return placeRef{}, badURL("the search query is longer than %d characters", maxNameLen)
	}
	if err := ref.point(u, segs); err != nil {
		return placeRef{}, err
	}
	return ref, nil
}

// segments are the unescaped, non-empty path segments.
func segments(u *url.URL) []string {
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
	return out
}

// point reads the pin (!3d!4d) or the viewport (@lat,lng,zoom) of a URL.
func (r *placeRef) point(u *url.URL, segs []string) error {
	if m := pinRe.FindStringSubmatch(u.EscapedPath()); m != nil {
		lat, lng, err := coords(m[1], m[2])
		if err != nil {
			return err
		}
		r.lat, r.lng, r.radius, r.hasPoint = lat, lng, 500, true
		return nil
	}
	for _, s := range segs {
		m := atRe.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		lat, lng, err := coords(m[1], m[2])
		if err != nil {
			return err
		}
		r.lat, r.lng, r.hasPoint = lat, lng, true
		r.radius = radiusOf(lat, m[3], m[4])
		return nil
	}
	return nil
}

func coords(a, b string) (float64, float64, error) {
	lat, err1 := strconv.ParseFloat(a, 64)
	lng, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil || math.Abs(lat) > 90 || math.Abs(lng) > 180 {
		return 0, 0, badURL("the URL's coordinates %s,%s are not a latitude and a longitude", a, b)
	}
	return lat, lng, nil
}

// radiusOf turns the URL's zoom ("15z") or altitude ("1500m") into a bias
// radius: about half the width of a 1000-pixel map at that zoom, between
// 100 m and Google's 50 km maximum.
func radiusOf(lat float64, n, unit string) float64 {
	v, err := strconv.ParseFloat(n, 64)
	r := 2000.0
	switch {
	case err != nil:
	case unit == "z" && v >= 0 && v <= 30:
		r = 156543.03 * math.Cos(lat*math.Pi/180) / math.Pow(2, v) * 500
	case unit == "m":
		r = v / 2
	}
	return math.Min(math.Max(r, 100), 50000)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// followShortLink follows a short link's redirects, through Google hosts
// only, to the URL it stands for. The request carries no key.
func (c *call) followShortLink(raw string) (string, error) {
	hc := *c.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	next := raw
	for hop := 0; hop < maxHops; hop++ {
		req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, next, nil)
		if err != nil {
			return "", badURL("the short link cannot be requested")
		}
		res, err := hc.Do(req)
		if err != nil {
			return "", platform.FromTransport(platform.FamilyOther, err)
		}
		res.Body.Close()
		loc := res.Header.Get("Location")
		if res.StatusCode < 300 || res.StatusCode >= 400 || loc == "" {
			return "", badURL("the short link did not lead anywhere (Google answered %d)", res.StatusCode)
		}
		base, _ := url.Parse(next)
		to, err := base.Parse(loc)
		if err != nil {
			return "", badURL("the short link redirects to an invalid URL")
		}
		// Google's cookie consent page carries the destination.
		if h := strings.ToLower(to.Hostname()); strings.HasPrefix(h, "consent.google.") {
			if cont := to.Query().Get("continue"); cont != "" {
				if t, err := url.Parse(cont); err == nil {
					to = t
				}
			}
		}
		_, short, err := parseGoogleURL(to.String(), "short link's destination")
		if err != nil {
			return "", err
		}
		if !short {
			return to.String(), nil
		}
		next = to.String()
	}
	return "", badURL("the short link redirects more than %d times", maxHops)
}
