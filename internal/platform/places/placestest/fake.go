// Package placestest is a local stand-in for Google's Places API (New), for
// tests and offline demos. It is written from Google's public reference, not
// from the driver: it keeps a small world of places as Place resources (the
// documented JSON) and answers
//
//	POST /v1/places:searchText  (textQuery, pageSize, maxResultCount,
//	                             pageToken, locationBias, languageCode,
//	                             regionCode, includedType)
//	GET  /v1/places/{id}        (languageCode, regionCode)
//
// as Google documents them:
//   - the API key comes in X-Goog-Api-Key (or ?key=); none is 403
//     PERMISSION_DENIED, an unknown one is 400 INVALID_ARGUMENT with an
//     ErrorInfo reason API_KEY_INVALID, a key of a project without the API
//     is 403 with reason SERVICE_DISABLED (DisableKey);
//   - the field mask comes in X-Goog-FieldMask (or ?fields= / ?$fields=);
//     none is 400, an unknown field is 400, and only the fields it names
//     are returned ("*" for all). Each request is billed, in Requests, at
//     the SKU of the highest field of its mask;
//   - Text Search pages: pageSize 1..20 (0 means 20, larger is 20,
//     negative is 400), at most 60 results per query, a nextPageToken while
//     more remain (only when the mask names nextPageToken), and a page
//     token only works with the same parameters as the first request;
//   - reviews: at most 5 per place, by relevance;
//   - errors use google.rpc.Status: {"error":{code, message, status,
//     details}}: 404 NOT_FOUND for an unknown place, 400 for a malformed
//     place ID, 429 RESOURCE_EXHAUSTED once a key's quota is used
//     (SetQuota), and any status on demand (FailNext).
//
// Known simplifications: text matching is by words (every word of the query
// that is not a filler word must appear in the place's name, types or
// address), ranking is by distance to the bias circle's centre, else by
// rating; languageCode only selects a place's name among its translations.
package placestest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Key is the key the default fake accepts.
const Key = "AIzaSyFAKE-firstmate-places-test-key00"

// Limits Google documents.
const (
	MaxPageSize   = 20
	MaxResults    = 60
	MaxReviews    = 5
	MaxBiasRadius = 50000.0
)

// SKUs, from the cheapest.
const (
	SKUTextSearchIDsOnly    = "Text Search Essentials (IDs Only)"
	SKUTextSearchPro        = "Text Search Pro"
	SKUTextSearchEnterprise = "Text Search Enterprise"
	SKUTextSearchAtmosphere = "Text Search Enterprise + Atmosphere"
	SKUDetailsIDsOnly       = "Place Details Essentials (IDs Only)"
	SKUDetailsEssentials    = "Place Details Essentials"
	SKUDetailsPro           = "Place Details Pro"
	SKUDetailsEnterprise    = "Place Details Enterprise"
	SKUDetailsAtmosphere    = "Place Details Enterprise + Atmosphere"
)

// tiers of the Place fields (Google's "Place data fields" page): 0 IDs
// only, 1 Essentials, 2 Pro, 3 Enterprise, 4 Enterprise + Atmosphere.
var tiers = map[string]int{
	"id": 0, "name": 0, "attributions": 0, "photos": 0, "movedPlace": 0, "movedPlaceId": 0,
	"addressComponents": 1, "adrFormatAddress": 1, "formattedAddress": 1, "location": 1, "plusCode": 1,
	"postalAddress": 1, "shortFormattedAddress": 1, "types": 1, "viewport": 1, "addressDescriptor": 1,
	"accessibilityOptions": 2, "businessStatus": 2, "containingPlaces": 2, "displayName": 2, "googleMapsLinks": 2,
	"googleMapsUri": 2, "iconBackgroundColor": 2, "iconMaskBaseUri": 2, "openingDate": 2, "primaryType": 2,
	"primaryTypeDisplayName": 2, "pureServiceAreaBusiness": 2, "subDestinations": 2, "timeZone": 2, "utcOffsetMinutes": 2,
	"currentOpeningHours": 3, "currentSecondaryOpeningHours": 3, "internationalPhoneNumber": 3, "nationalPhoneNumber": 3,
	"priceLevel": 3, "priceRange": 3, "rating": 3, "regularOpeningHours": 3, "regularSecondaryOpeningHours": 3,
	"userRatingCount": 3, "websiteUri": 3,
	"allowsDogs": 4, "curbsidePickup": 4, "delivery": 4, "dineIn": 4, "editorialSummary": 4, "evChargeAmenitySummary": 4,
	"evChargeOptions": 4, "fuelOptions": 4, "generativeSummary": 4, "goodForChildren": 4, "goodForGroups": 4,
	"goodForWatchingSports": 4, "liveMusic": 4, "menuForChildren": 4, "neighborhoodSummary": 4, "parkingOptions": 4,
	"paymentOptions": 4, "outdoorSeating": 4, "reservable": 4, "restroom": 4, "reviews": 4, "reviewSummary": 4,
	"servesBeer": 4, "servesBreakfast": 4, "servesBrunch": 4, "servesCocktails": 4, "servesCoffee": 4,
	"servesDessert": 4, "servesDinner": 4, "servesLunch": 4, "servesVegetarianFood": 4, "servesWine": 4, "takeout": 4,
}

var detailsSKU = []string{SKUDetailsIDsOnly, SKUDetailsEssentials, SKUDetailsPro, SKUDetailsEnterprise, SKUDetailsAtmosphere}
var searchSKU = []string{SKUTextSearchIDsOnly, SKUTextSearchPro, SKUTextSearchPro, SKUTextSearchEnterprise, SKUTextSearchAtmosphere}

// Request is one request the fake received. The key is never kept.
type Request struct {
	Method, Path string
	FieldMask    string
	Query        map[string][]string // without key
	Body         map[string]any      // searchText's JSON body
	KeyVia       string              // "header", "query" or ""
	SKU          string              // what Google would bill ("" when refused)
	Status       int
}

// Place is one place of the world: its Place resource, as Google returns it
// with a "*" mask, plus what the fake needs to search it.
type Place struct {
	Resource map[string]any
	// Names per language code, for languageCode.
	Names map[string]string
	// Words a query may also match (e.g. "bakery" for a boulangerie).
	Keywords []string
}

func (p *Place) id() string { s, _ := p.Resource["id"].(string); return s }

type failure struct {
	status int
	path   string
}

// Server is a running fake. Close it when done.
type Server struct {
	*httptest.Server

	mu       sync.Mutex
	keys     map[string]bool
	disabled map[string]bool
	places   []*Place
	byID     map[string]*Place
	quota    int // requests per key before 429; 0: none
	used     map[string]int
	fail     []failure
	requests []Request
}

// New starts a fake with the default world, accepting the given keys (Key
// when none).
func New(keys ...string) *Server {
	s := NewUnstarted(keys...)
	s.Server = httptest.NewServer(s)
	return s
}

// NewUnstarted builds a fake without a listener; serve it with ServeHTTP.
func NewUnstarted(keys ...string) *Server {
	if len(keys) == 0 {
		keys = []string{Key}
	}
	s := &Server{keys: map[string]bool{}, disabled: map[string]bool{}, byID: map[string]*Place{}, used: map[string]int{}}
	for _, k := range keys {
		s.keys[k] = true
	}
	for _, p := range World() {
		s.Add(p)
	}
	return s
}

// Add puts a place in the world.
func (s *Server) Add(p *Place) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.places = append(s.places, p)
	s.byID[p.id()] = p
}

// DisableKey makes a key belong to a project without Places API (New).
func (s *Server) DisableKey(k string) {
	s.mu.Lock()
	s.keys[k] = true
	s.disabled[k] = true
	s.mu.Unlock()
}

// SetQuota allows n requests per key; the next ones get 429 (0: no quota).
func (s *Server) SetQuota(n int) { s.mu.Lock(); s.quota = n; s.used = map[string]int{}; s.mu.Unlock() }

// FailNext makes the next n requests whose path starts with pathPrefix (""
// for any) fail with status and Google's body for it.
func (s *Server) FailNext(n, status int, pathPrefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.fail = append(s.fail, failure{status: status, path: pathPrefix})
	}
}

// Requests returns what the fake received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() { s.mu.Lock(); s.requests = nil; s.mu.Unlock() }

// Place returns a place of the world by ID.
func (s *Server) Place(id string) (*Place, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.byID[id]
	return p, ok
}

var statusNames = map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
	404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
	501: "NOT_IMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}

func googleError(w http.ResponseWriter, status int, message string, details ...map[string]any) {
	st := statusNames[status]
	if st == "" {
		st = "UNKNOWN"
	}
	e := map[string]any{"code": status, "message": message, "status": st}
	if len(details) > 0 {
		e["details"] = details
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func errorInfo(reason string, metadata map[string]any) map[string]any {
	return map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
		"domain": "googleapis.com", "metadata": metadata}
}

var defaultMessages = map[int]string{500: "Internal error encountered.", 503: "The service is currently unavailable.",
	504: "The request timed out.", 403: "The caller does not have permission", 404: "Requested entity was not found.",
	429: "Resource has been exhausted (e.g. check quota).", 400: "Request contains an invalid argument."}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: map[string][]string{}}
	q := r.URL.Query()
	for k, v := range q {
		if k != "key" {
			rec.Query[k] = v
		}
	}
	rec.FieldMask = firstNonEmpty(r.Header.Get("X-Goog-FieldMask"), q.Get("fields"), q.Get("$fields"))
	key := r.Header.Get("X-Goog-Api-Key")
	rec.KeyVia = "header"
	if key == "" {
		key, rec.KeyVia = q.Get("key"), "query"
	}
	if key == "" {
		rec.KeyVia = ""
	}
	if r.Method == http.MethodPost {
		raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		_ = json.Unmarshal(raw, &rec.Body)
	}
	rw := &recorder{ResponseWriter: w}
	s.serve(rw, r, key, &rec)
	rec.Status = rw.status
	if rec.Status >= 300 {
		rec.SKU = ""
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.ResponseWriter.Write(b)
}

var detailsPath = regexp.MustCompile(`^/v1/places/([^/]+)$`)
var placeIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request, key string, rec *Request) {
	s.mu.Lock()
	for i, f := range s.fail {
		if f.path == "" || strings.HasPrefix(r.URL.Path, f.path) {
			s.fail = append(s.fail[:i], s.fail[i+1:]...)
			s.mu.Unlock()
			googleError(w, f.status, defaultMessages[f.status])
			return
		}
	}
	known, disabled := s.keys[key], s.disabled[key]
	s.mu.Unlock()

	isSearch := r.URL.Path == "/v1/places:searchText"
	m := detailsPath.FindStringSubmatch(r.URL.Path)
	switch {
	case isSearch && r.Method != http.MethodPost, m != nil && r.Method != http.MethodGet:
		googleError(w, 405, "Method not allowed.")
		return
	case !isSearch && m == nil:
		googleError(w, 404, "Method not found.")
		return
	}
	switch {
	case key == "":
		googleError(w, 403, "The request is missing a valid API key.")
		return
	case !known:
		googleError(w, 400, "API key not valid. Please pass a valid API key.",
			errorInfo("API_KEY_INVALID", map[string]any{"service": "places.googleapis.com"}),
			map[string]any{"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
				"message": "API key not valid. Please pass a valid API key."})
		return
	case disabled:
		googleError(w, 403, "Places API (New) has not been used in project 000000000000 before or it is disabled. "+
			"Enable it by visiting https://console.developers.google.com/apis/api/places.googleapis.com/overview?project=000000000000 then retry.",
			errorInfo("SERVICE_DISABLED", map[string]any{"service": "places.googleapis.com", "consumer": "projects/000000000000"}))
		return
	}
	s.mu.Lock()
	over := s.quota > 0 && s.used[key] >= s.quota
	if !over {
		s.used[key]++
	}
	s.mu.Unlock()
	if over {
		metric := "places.googleapis.com/place_details_requests"
		if isSearch {
			metric = "places.googleapis.com/search_text_requests"
		}
		googleError(w, 429, fmt.Sprintf("Quota exceeded for quota metric '%s' and limit 'requests per minute' "+
			"of service 'places.googleapis.com' for consumer 'project_number:000000000000'.", metric),
			errorInfo("RATE_LIMIT_EXCEEDED", map[string]any{"service": "places.googleapis.com", "quota_metric": metric}))
		return
	}
	if rec.FieldMask == "" {
		googleError(w, 400, "FieldMask is a required parameter. See https://cloud.google.com/apis/docs/system-parameters "+
			"on how to provide it. As an example, you can set the header 'X-Goog-FieldMask' to value 'places.displayName', "+
			"'places.id' to ask for the display name and the place id of a place. You can also set the value to '*' in "+
			"manual testing to get all the available response fields.")
		return
	}
	if isSearch {
		s.searchText(w, rec)
		return
	}
	s.details(w, r, m[1], rec)
}

// mask is a parsed field mask.
type mask struct {
	all   bool
	paths [][]string
}

// parseMask reads a mask; prefix ("places" for searchText) is the top-level
// response field the place paths hang from.
func parseMask(raw, prefix string) (mask, []string, error) {
	var m mask
	var extra []string
	for _, p := range strings.Split(raw, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if p == "*" {
			m.all = true
			continue
		}
		parts := strings.Split(p, ".")
		if prefix != "" {
			if parts[0] != prefix {
				if parts[0] == "nextPageToken" && len(parts) == 1 {
					extra = append(extra, p)
					continue
				}
				return m, nil, fmt.Errorf("%s", p)
			}
			parts = parts[1:]
			if len(parts) == 0 {
				m.all = true
				continue
			}
		}
		if _, ok := tiers[parts[0]]; !ok {
			return m, nil, fmt.Errorf("%s", p)
		}
		m.paths = append(m.paths, parts)
	}
	return m, extra, nil
}

func (m mask) tier() int {
	if m.all {
		return 4
	}
	t := 0
	for _, p := range m.paths {
		t = max(t, tiers[p[0]])
	}
	return t
}

// apply keeps only the masked fields of a resource.
func (m mask) apply(res map[string]any) map[string]any {
	if m.all {
		return res
	}
	out := map[string]any{}
	for _, p := range m.paths {
		pick(res, out, p)
	}
	return out
}

func pick(src, dst map[string]any, path []string) {
	v, ok := src[path[0]]
	if !ok {
		return
	}
	if len(path) == 1 {
		dst[path[0]] = v
		return
	}
	switch x := v.(type) {
	case map[string]any:
		sub, _ := dst[path[0]].(map[string]any)
		if sub == nil {
			sub = map[string]any{}
		}
		pick(x, sub, path[1:])
		if len(sub) > 0 {
			dst[path[0]] = sub
		}
	case []any:
		prev, _ := dst[path[0]].([]any)
		arr := make([]any, len(x))
		for i, e := range x {
			em, ok := e.(map[string]any)
			if !ok {
				continue
			}
			sub := map[string]any{}
			if i < len(prev) {
				sub, _ = prev[i].(map[string]any)
			}
			pick(em, sub, path[1:])
			arr[i] = sub
		}
		dst[path[0]] = arr
	}
}

// view is a place as a request in a language sees it.
func (p *Place) view(lang string) map[string]any {
	res := make(map[string]any, len(p.Resource))
	for k, v := range p.Resource {
		res[k] = v
	}
	if n, ok := p.Names[strings.ToLower(lang)]; ok {
		res["displayName"] = map[string]any{"text": n, "languageCode": lang}
	}
	if revs, ok := res["reviews"].([]any); ok && len(revs) > MaxReviews {
		res["reviews"] = revs[:MaxReviews]
	}
	return res
}

func (s *Server) details(w http.ResponseWriter, r *http.Request, id string, rec *Request) {
	m, _, err := parseMask(rec.FieldMask, "")
	if err != nil {
		googleError(w, 400, fmt.Sprintf("Error expanding 'fields' parameter. Cannot find matching fields for path '%s'.", err))
		return
	}
	if !placeIDRe.MatchString(id) {
		googleError(w, 400, fmt.Sprintf("Not a valid Place ID: %s", id))
		return
	}
	s.mu.Lock()
	p, ok := s.byID[id]
	s.mu.Unlock()
	if !ok {
		googleError(w, 404, "Requested entity was not found.")
		return
	}
	rec.SKU = detailsSKU[m.tier()]
	writeJSON(w, m.apply(p.view(r.URL.Query().Get("languageCode"))))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(200)
	_ = json.NewEncoder(w).Encode(v)
}

// token is what a page token stands for.
type token struct {
	Offset int    `json:"o"`
	Params string `json:"p"`
}

var fillers = map[string]bool{"in": true, "near": true, "at": true, "the": true, "a": true, "of": true, "à": true,
	"de": true, "en": true, "le": true, "la": true, "les": true}

func (s *Server) searchText(w http.ResponseWriter, rec *Request) {
	m, extra, err := parseMask(rec.FieldMask, "places")
	if err != nil {
		googleError(w, 400, fmt.Sprintf("Error expanding 'fields' parameter. Cannot find matching fields for path '%s'.", err))
		return
	}
	body := rec.Body
	if body == nil {
		googleError(w, 400, "Invalid JSON payload received.")
		return
	}
	query, _ := body["textQuery"].(string)
	if strings.TrimSpace(query) == "" {
		googleError(w, 400, "Empty text_query.")
		return
	}
	size := MaxPageSize
	for _, k := range []string{"maxResultCount", "pageSize"} { // pageSize wins
		if v, ok := body[k]; ok {
			n, isNum := v.(float64)
			if !isNum || n != math.Trunc(n) || n < 0 {
				googleError(w, 400, fmt.Sprintf("Invalid %s: must be a non-negative integer.", k))
				return
			}
			if n > 0 {
				size = min(int(n), MaxPageSize)
			}
		}
	}
	var center *[2]float64
	if lb, ok := body["locationBias"].(map[string]any); ok {
		c, _ := lb["circle"].(map[string]any)
		ctr, _ := c["center"].(map[string]any)
		lat, ok1 := ctr["latitude"].(float64)
		lng, ok2 := ctr["longitude"].(float64)
		rad, ok3 := c["radius"].(float64)
		if c == nil || !ok1 || !ok2 || math.Abs(lat) > 90 || math.Abs(lng) > 180 || (ok3 && (rad < 0 || rad > MaxBiasRadius)) {
			googleError(w, 400, "Invalid location_bias: the circle needs a valid center and a radius between 0 and 50000 meters.")
			return
		}
		center = &[2]float64{lat, lng}
	}
	params := paramsOf(body)
	offset := 0
	if raw, _ := body["pageToken"].(string); raw != "" {
		var t token
		b, err := base64.RawURLEncoding.DecodeString(raw)
		if err != nil || json.Unmarshal(b, &t) != nil {
			googleError(w, 400, "Invalid page_token.")
			return
		}
		if t.Params != params {
			googleError(w, 400, "Parameters other than page_token and page_size must match the request that returned the page token.")
			return
		}
		offset = t.Offset
	}
	lang, _ := body["languageCode"].(string)
	typ, _ := body["includedType"].(string)
	all := s.match(query, typ, center, lang)
	if len(all) > MaxResults {
		all = all[:MaxResults]
	}
	end := min(offset+size, len(all))
	out := map[string]any{}
	if offset < end {
		places := make([]any, 0, end-offset)
		for _, p := range all[offset:end] {
			places = append(places, m.apply(p.view(lang)))
		}
		out["places"] = places
	}
	if end < len(all) && len(extra) > 0 {
		b, _ := json.Marshal(token{Offset: end, Params: params})
		out["nextPageToken"] = base64.RawURLEncoding.EncodeToString(b)
	}
	rec.SKU = searchSKU[m.tier()]
	writeJSON(w, out)
}

// paramsOf is the part of a searchText body a page token is bound to.
func paramsOf(body map[string]any) string {
	keep := map[string]any{}
	for k, v := range body {
		switch k {
		case "pageToken", "pageSize", "maxResultCount":
		default:
			keep[k] = v
		}
	}
	b, _ := json.Marshal(keep) // maps marshal with sorted keys
	return string(b)
}

func (s *Server) match(query, typ string, center *[2]float64, lang string) []*Place {
	var words []string
	for _, w := range strings.Fields(strings.ToLower(query)) {
		if !fillers[w] {
			words = append(words, w)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Place
	for _, p := range s.places {
		hay := strings.ToLower(searchable(p, lang))
		ok := true
		for _, w := range words {
			if !strings.Contains(hay, w) {
				ok = false
				break
			}
		}
		if ok && typ != "" && !hasType(p, typ) {
			ok = false
		}
		if ok {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if center != nil {
			return dist(out[i], *center) < dist(out[j], *center)
		}
		return rating(out[i]) > rating(out[j])
	})
	return out
}

func searchable(p *Place, lang string) string {
	var b strings.Builder
	if dn, ok := p.Resource["displayName"].(map[string]any); ok {
		fmt.Fprint(&b, dn["text"], " ")
	}
	for _, n := range p.Names {
		b.WriteString(n + " ")
	}
	fmt.Fprint(&b, p.Resource["formattedAddress"], " ", p.Resource["primaryType"], " ")
	if ts, ok := p.Resource["types"].([]any); ok {
		for _, t := range ts {
			fmt.Fprint(&b, t, " ")
		}
	}
	b.WriteString(strings.Join(p.Keywords, " "))
	return b.String()
}

func hasType(p *Place, typ string) bool {
	ts, _ := p.Resource["types"].([]any)
	for _, t := range ts {
		if t == typ {
			return true
		}
	}
	return false
}

func dist(p *Place, c [2]float64) float64 {
	loc, _ := p.Resource["location"].(map[string]any)
	lat, _ := loc["latitude"].(float64)
	lng, _ := loc["longitude"].(float64)
	return math.Hypot(lat-c[0], (lng-c[1])*math.Cos(c[0]*math.Pi/180))
}

func rating(p *Place) float64 { f, _ := p.Resource["rating"].(float64); return f }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
