// Package places is the platform driver for Google's Places API (New)
// (places.googleapis.com/v1). It serves the "googlemaps" driver family:
// googlemaps-extract-place, googlemaps-search-places and
// googlemaps-extract-reviews, with one API key that belongs to the operator
// (Google Maps actions use no identity, so the key comes through the
// constructor, never through an identity's credentials).
//
// Endpoints used, each with an X-Goog-Api-Key and an X-Goog-FieldMask header
// that names only the fields the driver maps (the mask decides the billing
// SKU, see Masks):
//
//	POST /v1/places:searchText   textQuery, pageSize, pageToken, locationBias,
//	                             languageCode, regionCode
//	GET  /v1/places/{id}         languageCode, regionCode
//
// Error mapping (Google answers {"error":{code, message, status, details}}):
//
//	401, 403, and 400 with reason API_KEY_INVALID (Google's answer to an
//	unknown key): the operator's key was refused, or Places API (New) or
//	billing is not enabled for its project. INTEGRATION_ERROR (424, scope
//	config, permanent), naming the setting to fix.
//	400 INVALID_ARGUMENT  BAD_INPUT with Google's message
//	404 NOT_FOUND         STATUS_404
//	429                   STATUS_429, transient; retry_after from Retry-After,
//	                      else from a RetryInfo detail, else 60 s
//	504, timeout          LK_524
//	other 5xx             GENERIC_ERROR, transient
//
// The key never appears in an error, a log line or a result.
package places

import (
	"bytes"
	"context"
	"encoding/json"
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

// DefaultURL is the Places API (New) host.
const DefaultURL = "https://places.googleapis.com"

// Family is the engine's driver key.
const Family = "googlemaps"

// KeySetting is the setting an operator changes when Google refuses the key;
// errors name it so that the fix is obvious.
const KeySetting = "FIRSTMATE_GOOGLE_PLACES_KEY"

// ParamSetting names, on a configuration error, the setting to change.
const ParamSetting = "setting"

// Slugs the driver runs.
const (
	SlugExtractPlace   = "googlemaps-extract-place"
	SlugSearchPlaces   = "googlemaps-search-places"
	SlugExtractReviews = "googlemaps-extract-reviews"
)

// Field masks, one per request kind. Google bills a request at the highest
// SKU any field of its mask belongs to:
//
//	search   Text Search Essentials (IDs Only): places.id, nextPageToken
//	resolve  Text Search Essentials (IDs Only): places.id
//	place    Place Details Enterprise + Atmosphere (editorialSummary and the
//	         service options are Atmosphere fields; rating, phones, website
//	         and opening hours are Enterprise)
//	reviews  Place Details Enterprise + Atmosphere (reviews)
var Masks = struct{ Search, Resolve, Place, Reviews, Check string }{
	Search:  "places.id,nextPageToken",
	Resolve: "places.id",
	Place: "id,displayName,formattedAddress,location,websiteUri,rating,userRatingCount,primaryType," +
		"primaryTypeDisplayName,regularOpeningHours,internationalPhoneNumber,nationalPhoneNumber,businessStatus," +
		"editorialSummary,dineIn,takeout,delivery,curbsidePickup,reservable",
	Reviews: "id,displayName,addressComponents,reviews",
	Check:   "places.id",
}

// MaxPageSize is Text Search's largest page.
const MaxPageSize = 20

// MaxReviews is what Place Details returns at most per place.
const MaxReviews = 5

// Config is what the driver needs from the operator.
type Config struct {
	Key     string // the Places API key; never logged
	BaseURL string // "" means DefaultURL
	// Language and Region are the defaults for calls whose parameters name
	// none (the catalogue fills the action's own defaults, en and US, so in
	// practice they serve Me and direct uses of the driver).
	Language string
	Region   string
}

// Driver talks to one Places API host with one key.
type Driver struct {
	key, base        string
	language, region string
}

var _ platform.Driver = (*Driver)(nil)

// New returns a driver for cfg.
func New(cfg Config) *Driver {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		base = DefaultURL
	}
	return &Driver{key: strings.TrimSpace(cfg.Key), base: base, language: cfg.Language, region: cfg.Region}
}

// Notes says, per action, what the official API gives less of than the
// reference, so that GET /actions/{slug} and the README can say it. The map
// is a fresh copy.
func (d *Driver) Notes() map[string]string { return Notes() }

// Notes is the driver's per-action limitations.
func Notes() map[string]string {
	return map[string]string{
		SlugExtractPlace: "Served by Google's Places API (New), Place Details (billed as Enterprise + Atmosphere). " +
			"additional_info is not in the API and is left out, as is any field Google has no data for. " +
			"A URL carrying a place ID (place_id:, query_place_id=, !19s/!1sChIJ...) is looked up directly; " +
			"otherwise the place name in /maps/place/{name}/ is searched for near the URL's coordinates " +
			"(!3d/!4d pin, else @lat,lng) and Google's top match is used.",
		SlugSearchPlaces: "Served by Google's Places API (New), Text Search (billed as Essentials IDs Only). " +
			"The query comes from /maps/search/{query}/ (or ?query=/?q=), biased to @lat,lng when the URL has it. " +
			"Google returns at most 60 places per query (3 pages of 20). Each result is a " +
			"https://www.google.com/maps/place/?q=place_id:... URL that googlemaps-extract-place and " +
			"googlemaps-extract-reviews accept.",
		SlugExtractReviews: "Served by Google's Places API (New), Place Details (billed as Enterprise + Atmosphere). " +
			"Google returns at most 5 reviews per place, chosen by relevance, and no further page: the " +
			"reference's full review history is not available. Owner answers (answer, answer_date, " +
			"translated_answer, standard_answer_date) and author_reviews_count are not in the API and are " +
			"left out. Short links (maps.app.goo.gl, goo.gl/maps, g.page) are followed to the place URL first.",
	}
}

// call is the work of one Run or Me.
type call struct {
	d   *Driver
	ctx context.Context
	hc  *http.Client
}

func (d *Driver) begin(ctx context.Context, hc *http.Client) (*call, error) {
	if d.key == "" {
		return nil, apperr.Config(424, platform.LabelIntegration,
			"no Google Places API key is configured on this server; the operator sets %s", KeySetting).
			With(ParamSetting, KeySetting)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &call{d: d, ctx: ctx, hc: hc}, nil
}

// do sends one request and decodes a 2xx JSON answer into out.
func (c *call) do(method, path string, query url.Values, mask string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apperr.Internal(err)
		}
		rd = bytes.NewReader(b)
	}
	u := c.d.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(c.ctx, method, u, rd)
	if err != nil {
		return apperr.Internal(fmt.Errorf("places: unable to build the request: %w", err))
	}
	req.Header.Set("X-Goog-Api-Key", c.d.key)
	req.Header.Set("X-Goog-FieldMask", mask)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return platform.FromTransport(platform.FamilyOther, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return platform.FromTransport(platform.FamilyOther, err)
	}
	if res.StatusCode >= 300 {
		return mapError(res.StatusCode, res.Header, raw, c.d.key)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return platform.FromStatus(platform.FamilyOther, 502, "BAD_BODY", "Google answered something that is not the expected JSON", "")
	}
	return nil
}

// errorBody is Google's error shape (google.rpc.Status); every field is
// optional.
type errorBody struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type       string `json:"@type"`
			Reason     string `json:"reason"`
			RetryDelay string `json:"retryDelay"`
		} `json:"details"`
	} `json:"error"`
}

// keyReasons are the ErrorInfo reasons that mean "the key, its project or
// its billing is the problem", which the operator fixes, not the caller.
var keyReasons = map[string]bool{
	"API_KEY_INVALID": true, "API_KEY_EXPIRED": true, "API_KEY_SERVICE_BLOCKED": true,
	"API_KEY_HTTP_REFERRER_BLOCKED": true, "API_KEY_IP_ADDRESS_BLOCKED": true,
	"API_KEY_ANDROID_APP_BLOCKED": true, "API_KEY_IOS_APP_BLOCKED": true,
	"SERVICE_DISABLED": true, "BILLING_DISABLED": true, "CONSUMER_INVALID": true,
}

// mapError turns a non-2xx answer into the contract's labels.
func mapError(status int, h http.Header, raw []byte, key string) error {
	var eb errorBody
	_ = json.Unmarshal(raw, &eb)
	msg := clean(eb.Error.Message, key)
	code := eb.Error.Status
	reason, retryDelay := "", ""
	for _, d := range eb.Error.Details {
		if d.Reason != "" && reason == "" {
			reason = d.Reason
		}
		if d.RetryDelay != "" {
			retryDelay = d.RetryDelay
		}
	}
	upstreamCode := code
	if reason != "" {
		upstreamCode = reason
	}
	st := strconv.Itoa(status)
	switch {
	case status == 401 || status == 403 || keyReasons[reason] ||
		(status == 400 && strings.Contains(strings.ToLower(msg), "api key")):
		if msg == "" {
			msg = fmt.Sprintf("Google answered %d", status)
		}
		e := apperr.Config(424, platform.LabelIntegration,
			"Google refused this server's Places API key (%s): %s. The operator checks %s: the key must be valid "+
				"and allowed to call Places API (New), and the project must have the API and billing enabled",
			firstNonEmpty(reason, code, st), msg, KeySetting)
		return e.With(platform.ParamUpstreamStatus, st).With(platform.ParamUpstreamCode, upstreamCode).With(ParamSetting, KeySetting)
	case status == 400:
		if msg == "" {
			msg = "Google answered 400"
		}
		e := apperr.BadInput("Google Places rejected the request: %s", msg).With(platform.ParamUpstreamStatus, st)
		if upstreamCode != "" {
			e = e.With(platform.ParamUpstreamCode, upstreamCode)
		}
		return e
	case status == 429:
		return platform.FromStatus(platform.FamilyOther, status, upstreamCode,
			"Google Places quota exhausted: "+firstNonEmpty(msg, "RESOURCE_EXHAUSTED"), retryAfter(h, retryDelay))
	}
	return platform.FromStatus(platform.FamilyOther, status, upstreamCode, msg, h.Get("Retry-After"))
}

// retryAfter reads the wait of a 429: Retry-After when sent, else Google's
// RetryInfo ("41s"), else "" (FromStatus then uses its default).
func retryAfter(h http.Header, retryDelay string) string {
	if ra := strings.TrimSpace(h.Get("Retry-After")); ra != "" {
		if n, err := strconv.Atoi(ra); err == nil && n >= 0 {
			return strconv.Itoa(n)
		}
		if t, err := http.ParseTime(ra); err == nil {
			return strconv.Itoa(max(0, int(math.Ceil(time.Until(t).Seconds()))))
		}
	}
	if d, err := time.ParseDuration(strings.TrimSpace(retryDelay)); err == nil && d >= 0 {
		return strconv.Itoa(int(math.Ceil(d.Seconds())))
	}
	return ""
}

// clean bounds a message from Google and makes sure it cannot carry the key.
func clean(s, key string) string {
	if key != "" {
		s = strings.ReplaceAll(s, key, "[redacted]")
	}
	s = strings.TrimSpace(s)
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

// Me checks that the key works with a free request (Text Search, IDs only).
func (d *Driver) Me(ctx context.Context, hc *http.Client, _ platform.Credentials) (platform.Account, error) {
	c, err := d.begin(ctx, hc)
	if err != nil {
		return platform.Account{}, err
	}
	var out searchResponse
	body := map[string]any{"textQuery": "Eiffel Tower", "pageSize": 1}
	if err := c.do(http.MethodPost, "/v1/places:searchText", nil, Masks.Check, body, &out); err != nil {
		return platform.Account{}, err
	}
	return platform.Account{Name: "Google Places API (New)"}, nil
}

// Run runs one page of a googlemaps-* action. Credentials are ignored: the
// key is the operator's.
func (d *Driver) Run(ctx context.Context, hc *http.Client, _ platform.Credentials, cl platform.Call) (platform.Page, error) {
	if cl.Action == nil {
		return platform.Page{}, apperr.Internal(fmt.Errorf("places: call without an action"))
	}
	switch cl.Action.Slug {
	case SlugExtractPlace, SlugSearchPlaces, SlugExtractReviews:
	default:
		return platform.Page{}, apperr.Upstream(platform.LabelIntegration, "the Google Places driver does not run %s", cl.Action.Slug)
	}
	c, err := d.begin(ctx, hc)
	if err != nil {
		return platform.Page{}, err
	}
	loc := d.locale(cl.Params)
	switch cl.Action.Slug {
	case SlugExtractPlace:
		return c.extractPlace(cl, loc)
	case SlugSearchPlaces:
		return c.searchPlaces(cl, loc)
	}
	return c.extractReviews(cl, loc)
}

// locale is the languageCode and regionCode of a call.
type locale struct{ language, region string }

func (d *Driver) locale(params map[string]any) locale {
	l := locale{language: d.language, region: d.region}
	if s, _ := params["language"].(string); s != "" {
		l.language = s
	}
	if s, _ := params["country"].(string); s != "" {
		l.region = s
	}
	// The reference says UK; CLDR (which Google takes) says GB.
	if strings.EqualFold(l.region, "UK") {
		l.region = "GB"
	}
	return l
}

func (l locale) query() url.Values {
	q := url.Values{}
	if l.language != "" {
		q.Set("languageCode", l.language)
	}
	if l.region != "" {
		q.Set("regionCode", l.region)
	}
	return q
}

func (l locale) into(body map[string]any) {
	if l.language != "" {
		body["languageCode"] = l.language
	}
	if l.region != "" {
		body["regionCode"] = l.region
	}
}

func inputURL(cl platform.Call, field string) (string, error) {
	s, _ := cl.Input[field].(string)
	if strings.TrimSpace(s) == "" {
		return "", apperr.BadInput("body/input must have required property '%s'", field).With("path", "body/input/"+field)
	}
	return strings.TrimSpace(s), nil
}

// placeID turns a place URL into a place ID: directly when the URL carries
// one, else by a text search for the URL's name near its coordinates.
func (c *call) placeID(raw string, loc locale) (string, error) {
	ref, err := parsePlaceURL(raw)
	if err != nil {
		return "", err
	}
	if ref.short {
		final, err := c.followShortLink(raw)
		if err != nil {
			return "", err
		}
		if ref, err = parsePlaceURL(final); err != nil {
			return "", err
		}
		if ref.short {
			return "", apperr.BadInput("the short link does not lead to a Google Maps place URL").With("path", "body/input")
		}
	}
	if ref.id != "" {
		return ref.id, nil
	}
	body := map[string]any{"textQuery": ref.name, "pageSize": 1}
	if ref.hasPoint {
		body["locationBias"] = circle(ref.lat, ref.lng, ref.radius)
	}
	loc.into(body)
	var out searchResponse
	if err := c.do(http.MethodPost, "/v1/places:searchText", nil, Masks.Resolve, body, &out); err != nil {
		return "", err
	}
	for _, p := range out.Places {
		if validID(p.ID) {
			return p.ID, nil
		}
	}
	if ref.hasPoint {
		return "", platform.NoResult("Google Maps has no place matching %q near %s,%s", ref.name, fmtFloat(ref.lat), fmtFloat(ref.lng))
	}
	return "", platform.NoResult("Google Maps has no place matching %q", ref.name)
}

func circle(lat, lng, radius float64) map[string]any {
	return map[string]any{"circle": map[string]any{
		"center": map[string]any{"latitude": lat, "longitude": lng},
		"radius": radius,
	}}
}

func (c *call) details(id, mask string, loc locale) (gPlace, error) {
	var p gPlace
	err := c.do(http.MethodGet, "/v1/places/"+url.PathEscape(id), loc.query(), mask, nil, &p)
	return p, err
}

func (c *call) extractPlace(cl platform.Call, loc locale) (platform.Page, error) {
	raw, err := inputURL(cl, "google_maps_place_url")
	if err != nil {
		return platform.Page{}, err
	}
	id, err := c.placeID(raw, loc)
	if err != nil {
		return platform.Page{}, err
	}
	p, err := c.details(id, Masks.Place, loc)
	if err != nil {
		return platform.Page{}, err
	}
	if p.ID == "" {
		p.ID = id
	}
	return platform.Page{Results: []map[string]any{placeOutput(p)}}, nil
}

func (c *call) extractReviews(cl platform.Call, loc locale) (platform.Page, error) {
	raw, err := inputURL(cl, "google_maps_place_url")
	if err != nil {
		return platform.Page{}, err
	}
	// Google gives one page of at most five reviews: any later page is the
	// end. The input is still checked, so a bad URL fails on every page.
	if _, err := parsePlaceURL(raw); err != nil {
		return platform.Page{}, err
	}
	if cl.Page > 1 || cl.Token != "" {
		return platform.Page{Results: []map[string]any{}}, nil
	}
	id, err := c.placeID(raw, loc)
	if err != nil {
		return platform.Page{}, err
	}
	p, err := c.details(id, Masks.Reviews, loc)
	if err != nil {
		return platform.Page{}, err
	}
	if p.ID == "" {
		p.ID = id
	}
	return platform.Page{Results: reviewOutputs(p)}, nil
}

type searchResponse struct {
	Places []struct {
		ID string `json:"id"`
	} `json:"places"`
	NextPageToken string `json:"nextPageToken"`
}

func (c *call) searchPlaces(cl platform.Call, loc locale) (platform.Page, error) {
	raw, err := inputURL(cl, "google_maps_search_url")
	if err != nil {
		return platform.Page{}, err
	}
	q, err := parseSearchURL(raw)
	if err != nil {
		return platform.Page{}, err
	}
	size := cl.PageSize
	if size <= 0 {
		size = cl.Action.PageSize
	}
	size = min(max(size, 1), MaxPageSize)
	page := max(cl.Page, 1)
	search := func(token string) (searchResponse, error) {
		// Every request of one query sends the same parameters: Google
		// refuses a page token with parameters that differ from the first
		// request's.
		body := map[string]any{"textQuery": q.query, "pageSize": size}
		if q.hasPoint {
			body["locationBias"] = circle(q.lat, q.lng, q.radius)
		}
		loc.into(body)
		if token != "" {
			body["pageToken"] = token
		}
		var out searchResponse
		err := c.do(http.MethodPost, "/v1/places:searchText", nil, Masks.Search, body, &out)
		return out, err
	}
	// walk reaches page n from the first page: a page asked by number, or a
	// token Google no longer accepts. Text Search IDs-only requests are not
	// billed, and a query has at most three pages.
	walk := func(n int) (searchResponse, error) {
		out, err := search("")
		for i := 1; err == nil && i < n; i++ {
			if out.NextPageToken == "" {
				return searchResponse{}, nil
			}
			out, err = search(out.NextPageToken)
		}
		return out, err
	}
	var out searchResponse
	switch {
	case cl.Token != "":
		out, err = search(cl.Token)
		if ae, ok := apperr.As(err); ok && ae.Label == "BAD_INPUT" && page > 1 {
			out, err = walk(page)
		}
	default:
		out, err = walk(page)
	}
	if err != nil {
		return platform.Page{}, err
	}
	results := make([]map[string]any, 0, len(out.Places))
	for _, p := range out.Places {
		if validID(p.ID) {
			results = append(results, map[string]any{"google_maps_place_url": PlaceURL(p.ID)})
		}
	}
	return platform.Page{Results: results, NextToken: out.NextPageToken, More: out.NextPageToken != ""}, nil
}
