// Package tripadvisor is the platform driver for the TripAdvisor Content API
// (api.content.tripadvisor.com/api/v1). It serves the "tripadvisor" driver
// family: tripadvisor-extract-hotel, -extract-restaurant, -extract-reviews,
// -search-hotels and -search-restaurants, with one API key that belongs to
// the operator (TripAdvisor actions use no identity).
//
// Endpoints used, each with the key as the "key" query parameter:
//
//	GET /location/search?searchQuery=&category=&latLong=&language=
//	GET /location/{locationId}/details?language=&currency=
//	GET /location/{locationId}/reviews?language=&limit=&offset=
//
// What the API gives is bounded: a search returns at most 10 locations and
// has no further page, and a location's reviews are its 5 most recent ones
// (see Notes).
//
// Error mapping (TripAdvisor answers {"error":{message, type, code}}, its
// gateway {"message": ...}):
//
//	401, 403        the key is refused, or the server's egress IP or domain
//	                is not allowed for it: INTEGRATION_ERROR (424, scope
//	                config, permanent), naming the setting to fix
//	400             BAD_INPUT with TripAdvisor's message
//	404             STATUS_404
//	429             STATUS_429, transient, retry_after from Retry-After, else 60 s
//	504, timeout    LK_524
//	other 5xx       GENERIC_ERROR, transient
//
// The key travels in the query string, as the API requires: it never
// appears in an error, a log line or a result (transport errors, which quote
// the URL, are redacted).
package tripadvisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// DefaultURL is the Content API's base.
const DefaultURL = "https://api.content.tripadvisor.com/api/v1"

// Family is the engine's driver key.
const Family = "tripadvisor"

// KeySetting is the setting an operator changes when TripAdvisor refuses the
// key; errors name it.
const KeySetting = "FIRSTMATE_TRIPADVISOR_KEY"

// ParamSetting names, on a configuration error, the setting to change.
const ParamSetting = "setting"

// Slugs the driver runs.
const (
	SlugExtractHotel      = "tripadvisor-extract-hotel"
	SlugExtractRestaurant = "tripadvisor-extract-restaurant"
	SlugExtractReviews    = "tripadvisor-extract-reviews"
	SlugSearchHotels      = "tripadvisor-search-hotels"
	SlugSearchRestaurants = "tripadvisor-search-restaurants"
)

// Limits of the Content API.
const (
	MaxSearchResults = 10
	MaxReviews       = 5
)

// Config is what the driver needs from the operator.
type Config struct {
	Key     string // the Content API key; never logged
	BaseURL string // "" means DefaultURL
	// Language of names, descriptions and reviews ("" means TripAdvisor's
	// default, en). The reviews action's own language parameter wins.
	Language string
	// Currency of prices (ISO 4217; "" means TripAdvisor's default, USD).
	Currency string
	// Referer is sent when set, for keys restricted to a domain in
	// TripAdvisor's developer portal.
	Referer string
	// Now is the clock (nil: time.Now); it dates the UTC offset of opening
	// hours.
	Now func() time.Time
}

// Driver talks to one Content API with one key.
type Driver struct {
	key, base, language, currency, referer string
	now                                    func() time.Time
}

var _ platform.Driver = (*Driver)(nil)

// New returns a driver for cfg.
func New(cfg Config) *Driver {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		base = DefaultURL
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Driver{key: strings.TrimSpace(cfg.Key), base: base, language: cfg.Language, currency: cfg.Currency,
		referer: cfg.Referer, now: now}
}

// Notes says, per action, what the official API gives less of than the
// reference, so that GET /actions/{slug} and the README can say it. The map
// is a fresh copy.
func (d *Driver) Notes() map[string]string { return Notes() }

// Notes is the driver's per-action limitations.
func Notes() map[string]string {
	const extract = "Served by TripAdvisor's Content API, Location Details (1 call). "
	const search = "Served by TripAdvisor's Content API: the geo of the URL (g{id}) is read with Location Details, " +
		"then Location Search returns at most 10 %s for its name, with no further page; each is read with " +
		"Location Details (up to 12 calls in all) and kept only when it lies in that geo. photos is left out " +
		"(it would cost one more call per result). Filters in the URL (price, class, cuisine...) are not applied."
	return map[string]string{
		SlugExtractHotel: extract + "stars (hotel class) and hidden_amenities are not in the API and are left out, " +
			"as is any field TripAdvisor has no data for.",
		SlugExtractRestaurant: extract + "open_hours holds Monday only, as the reference's output schema allows, with " +
			"times at the restaurant's UTC offset; it is left out when TripAdvisor gives no hours or no time zone.",
		SlugExtractReviews: "Served by TripAdvisor's Content API, Location Reviews (plus Location Details for the " +
			"property's name): at most the 5 most recent reviews per location and language, with no further page; " +
			"the reference's full review history is not available. language \"all\" gets the server's default " +
			"language (TripAdvisor's own default is English). experience_date is left out unless TripAdvisor gives a full date (it usually gives a " +
			"month); tripadvisor_reviewer_url and review_image are not in the API.",
		SlugSearchHotels:      fmt.Sprintf(search, "hotels"),
		SlugSearchRestaurants: fmt.Sprintf(search, "restaurants"),
	}
}

type call struct {
	d   *Driver
	ctx context.Context
	hc  *http.Client
}

func (d *Driver) begin(ctx context.Context, hc *http.Client) (*call, error) {
	if d.key == "" {
		return nil, apperr.Config(424, platform.LabelIntegration,
			"no TripAdvisor Content API key is configured on this server; the operator sets %s", KeySetting).
			With(ParamSetting, KeySetting)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &call{d: d, ctx: ctx, hc: hc}, nil
}

// redact removes the key from a string (a URL in a transport error).
func (d *Driver) redact(s string) string {
	if d.key == "" {
		return s
	}
	s = strings.ReplaceAll(s, url.QueryEscape(d.key), "[redacted]")
	return strings.ReplaceAll(s, d.key, "[redacted]")
}

// get sends one GET and decodes a 2xx JSON answer into out.
func (c *call) get(path string, q url.Values, out any) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("key", c.d.key)
	if q.Get("language") == "" && c.d.language != "" {
		q.Set("language", c.d.language)
	}
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, c.d.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return apperr.Internal(errors.New(c.d.redact(fmt.Sprintf("tripadvisor: unable to build the request: %v", err))))
	}
	req.Header.Set("Accept", "application/json")
	if c.d.referer != "" {
		req.Header.Set("Referer", c.d.referer)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return c.transport(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return c.transport(err)
	}
	if res.StatusCode >= 300 {
		return mapError(res.StatusCode, res.Header, raw, c.d)
	}
	// A 2xx answer may still carry an error object.
	var probe struct {
		Error *errorObject `json:"error"`
	}
	if json.Unmarshal(raw, &probe) == nil && probe.Error != nil && (probe.Error.Message != "" || probe.Error.Type != "") {
		status := probe.Error.code()
		if status < 400 || status > 599 {
			status = 502
		}
		return mapError(status, res.Header, raw, c.d)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return platform.FromStatus(platform.FamilyOther, 502, "BAD_BODY", "TripAdvisor answered something that is not the expected JSON", "")
	}
	return nil
}

// transport maps a failed round trip and redacts the URL it quotes.
func (c *call) transport(err error) error {
	out := platform.FromTransport(platform.FamilyOther, err)
	if ae, ok := apperr.As(out); ok {
		cp := *ae
		if cp.Cause != nil {
			cp.Cause = errors.New(c.d.redact(cp.Cause.Error()))
		}
		return &cp
	}
	// A caller's cancellation: keep what it is, not the URL.
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("tripadvisor: request canceled: %w", context.Canceled)
	}
	return errors.New(c.d.redact(out.Error()))
}

// errorObject is TripAdvisor's error; code may be a number or a string.
type errorObject struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

func (e *errorObject) code() int {
	s := strings.Trim(string(e.Code), `"`)
	n, _ := strconv.Atoi(s)
	return n
}

// mapError turns a failed answer into the contract's labels.
func mapError(status int, h http.Header, raw []byte, d *Driver) error {
	var body struct {
		Error   *errorObject `json:"error"`
		Message string       `json:"message"`
	}
	_ = json.Unmarshal(raw, &body)
	msg, typ := body.Message, ""
	if body.Error != nil {
		msg = firstNonEmpty(body.Error.Message, msg)
		typ = body.Error.Type
	}
	msg = clean(msg, d)
	st := strconv.Itoa(status)
	switch status {
	case 401, 403:
		e := apperr.Config(424, platform.LabelIntegration,
			"TripAdvisor refused this server's Content API key (%s): %s. The operator checks %s, and that the "+
				"server's egress IP address (or its domain, sent as Referer) is allowed for the key in TripAdvisor's developer portal",
			firstNonEmpty(typ, st), firstNonEmpty(msg, "no message"), KeySetting)
		e = e.With(platform.ParamUpstreamStatus, st).With(ParamSetting, KeySetting)
		if typ != "" {
			e = e.With(platform.ParamUpstreamCode, typ)
		}
		return e
	case 400:
		e := apperr.BadInput("TripAdvisor rejected the request: %s", firstNonEmpty(msg, "400 Bad Request")).
			With(platform.ParamUpstreamStatus, st)
		if typ != "" {
			e = e.With(platform.ParamUpstreamCode, typ)
		}
		return e
	}
	return platform.FromStatus(platform.FamilyOther, status, typ, msg, retryAfter(h))
}

func retryAfter(h http.Header) string {
	ra := strings.TrimSpace(h.Get("Retry-After"))
	if t, err := http.ParseTime(ra); err == nil {
		return strconv.Itoa(max(0, int(math.Ceil(time.Until(t).Seconds()))))
	}
	return ra
}

func clean(s string, d *Driver) string {
	s = strings.TrimSpace(d.redact(s))
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Me checks that the key works (one Location Search call).
func (d *Driver) Me(ctx context.Context, hc *http.Client, _ platform.Credentials) (platform.Account, error) {
	c, err := d.begin(ctx, hc)
	if err != nil {
		return platform.Account{}, err
	}
	var out searchResponse
	if err := c.get("/location/search", url.Values{"searchQuery": {"Eiffel Tower"}, "category": {"attractions"}}, &out); err != nil {
		return platform.Account{}, err
	}
	return platform.Account{Name: "TripAdvisor Content API"}, nil
}

// Run runs one page of a tripadvisor-* action. Credentials are ignored: the
// key is the operator's.
func (d *Driver) Run(ctx context.Context, hc *http.Client, _ platform.Credentials, cl platform.Call) (platform.Page, error) {
	if cl.Action == nil {
		return platform.Page{}, apperr.Internal(fmt.Errorf("tripadvisor: call without an action"))
	}
	switch cl.Action.Slug {
	case SlugExtractHotel, SlugExtractRestaurant, SlugExtractReviews, SlugSearchHotels, SlugSearchRestaurants:
	default:
		return platform.Page{}, apperr.Upstream(platform.LabelIntegration, "the TripAdvisor driver does not run %s", cl.Action.Slug)
	}
	c, err := d.begin(ctx, hc)
	if err != nil {
		return platform.Page{}, err
	}
	switch cl.Action.Slug {
	case SlugExtractHotel:
		return c.extract(cl, "tripadvisor_hotel_url", hotelOutput)
	case SlugExtractRestaurant:
		return c.extract(cl, "tripadvisor_restaurant_url", func(l location) map[string]any { return restaurantOutput(l, d.now()) })
	case SlugExtractReviews:
		return c.reviews(cl)
	case SlugSearchHotels:
		return c.search(cl, "hotels", "tripadvisor_hotel_url")
	}
	return c.search(cl, "restaurants", "tripadvisor_restaurant_url")
}

func inputURL(cl platform.Call, field string) (string, error) {
	s, _ := cl.Input[field].(string)
	if strings.TrimSpace(s) == "" {
		return "", apperr.BadInput("body/input must have required property '%s'", field).With("path", "body/input/"+field)
	}
	return strings.TrimSpace(s), nil
}

func (c *call) details(id string) (location, error) {
	q := url.Values{}
	if c.d.currency != "" {
		q.Set("currency", c.d.currency)
	}
	var l location
	err := c.get("/location/"+id+"/details", q, &l)
	return l, err
}

func (c *call) extract(cl platform.Call, field string, mapper func(location) map[string]any) (platform.Page, error) {
	raw, err := inputURL(cl, field)
	if err != nil {
		return platform.Page{}, err
	}
	ref, err := parseLocationURL(raw)
	if err != nil {
		return platform.Page{}, err
	}
	l, err := c.details(ref.location)
	if err != nil {
		return platform.Page{}, err
	}
	if l.ID.String() == "" {
		l.ID = flexString(ref.location)
	}
	return platform.Page{Results: []map[string]any{mapper(l)}}, nil
}

// reviewLanguages maps the action's language parameter to TripAdvisor's
// codes; "all" has no equivalent and gets the API's default.
var reviewLanguages = map[string]string{"french": "fr", "english": "en", "italian": "it", "russian": "ru", "german": "de", "all": ""}

func (c *call) reviews(cl platform.Call) (platform.Page, error) {
	raw, err := inputURL(cl, "tripadvisor_reviews_url")
	if err != nil {
		return platform.Page{}, err
	}
	ref, err := parseLocationURL(raw)
	if err != nil {
		return platform.Page{}, err
	}
	// TripAdvisor gives one page of at most five reviews.
	if cl.Page > 1 || cl.Token != "" {
		return platform.Page{Results: []map[string]any{}}, nil
	}
	l, err := c.details(ref.location)
	if err != nil {
		return platform.Page{}, err
	}
	q := url.Values{"limit": {strconv.Itoa(MaxReviews)}, "offset": {"0"}}
	lang, _ := cl.Params["language"].(string)
	if code, ok := reviewLanguages[strings.ToLower(lang)]; ok && code != "" {
		q.Set("language", code)
	} else if lang != "" && !ok {
		return platform.Page{}, apperr.BadParameters("body/parameters/language must be one of french, english, italian, russian, german, all").
			With("path", "body/parameters/language")
	}
	var out struct {
		Data []review `json:"data"`
	}
	if err := c.get("/location/"+ref.location+"/reviews", q, &out); err != nil {
		return platform.Page{}, err
	}
	propertyURL := firstNonEmpty(cleanURL(l.WebURL), raw)
	results := make([]map[string]any, 0, len(out.Data))
	for i, r := range out.Data {
		if i == MaxReviews {
			break
		}
		results = append(results, reviewOutput(r, l.Name, propertyURL))
	}
	return platform.Page{Results: results}, nil
}

type searchResponse struct {
	Data []struct {
		ID   flexString `json:"location_id"`
		Name string     `json:"name"`
	} `json:"data"`
}

func (c *call) search(cl platform.Call, category, urlField string) (platform.Page, error) {
	raw, err := inputURL(cl, "tripadvisor_search_url")
	if err != nil {
		return platform.Page{}, err
	}
	geo, err := parseSearchURL(raw)
	if err != nil {
		return platform.Page{}, err
	}
	// One page of at most ten: any later page is the end.
	if cl.Page > 1 || cl.Token != "" {
		return platform.Page{Results: []map[string]any{}}, nil
	}
	g, err := c.details(geo)
	if err != nil {
		if ae, ok := apperr.As(err); ok && ae.Label == platform.Label404 {
			return platform.Page{}, apperr.BadInput("TripAdvisor knows no geo g%s (the g number of the search URL)", geo).
				With("path", "body/input/tripadvisor_search_url")
		}
		return platform.Page{}, err
	}
	if strings.TrimSpace(g.Name) == "" {
		return platform.Page{}, platform.NoResult("TripAdvisor gives no name for geo g%s", geo)
	}
	q := url.Values{"searchQuery": {g.Name}, "category": {category}}
	if g.Latitude.String() != "" && g.Longitude.String() != "" {
		q.Set("latLong", g.Latitude.String()+","+g.Longitude.String())
	}
	var found searchResponse
	if err := c.get("/location/search", q, &found); err != nil {
		return platform.Page{}, err
	}
	results := make([]map[string]any, 0, len(found.Data))
	seen := map[string]bool{}
	for i, f := range found.Data {
		id := f.ID.String()
		if i == MaxSearchResults || id == "" || seen[id] || !numericRe.MatchString(id) {
			continue
		}
		seen[id] = true
		l, err := c.details(id)
		if err != nil {
			return platform.Page{}, err
		}
		if !l.inGeo(geo) {
			continue
		}
		if l.ID.String() == "" {
			l.ID = flexString(id)
		}
		results = append(results, searchOutput(l, urlField))
	}
	return platform.Page{Results: results}, nil
}
