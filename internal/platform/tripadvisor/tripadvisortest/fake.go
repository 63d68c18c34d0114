// Package tripadvisortest is a local stand-in for the TripAdvisor Content
// API, for tests and offline demos. It is written from TripAdvisor's public
// reference (tripadvisor-content-api.readme.io) and the answers it
// documents, not from the driver. It keeps a small world of geos, hotels,
// restaurants and attractions and answers, under /api/v1:
//
//	GET /location/search?searchQuery=&category=&latLong=&language=&key=
//	GET /location/{locationId}/details?language=&currency=&key=
//	GET /location/{locationId}/reviews?language=&limit=&offset=&key=
//	GET /location/{locationId}/photos?language=&limit=&offset=&key=
//
// as documented:
//   - the key is the "key" query parameter; none or an unknown one is 401
//     {"error":{message, type, code}}; a key used from an address it is not
//     allowed for is the gateway's 403 {"message": "... explicit deny"}
//     (DenyKey);
//   - a search returns at most 10 locations ({"data":[{location_id, name,
//     address_obj}]}), matched on every word of searchQuery against the
//     name, address and geo names, nearest to latLong first when given;
//   - details, reviews and photos of an unknown location are 404, of a
//     non-numeric one 400; a location gives at most its 5 most recent
//     reviews in the requested language (default en) and 5 photos;
//   - IDs, ratings and counts come as strings, as the API sends them;
//   - 429 once a key's quota is used (SetQuota), and any status on demand
//     (FailNext).
package tripadvisortest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Key is the key the default fake accepts.
const Key = "A1B2C3D4E5F60718293A4B5C6D7E8F90"

// Limits TripAdvisor documents.
const (
	MaxSearchResults = 10
	MaxReviews       = 5
	MaxPhotos        = 5
)

// Request is one request the fake received. The key is never kept.
type Request struct {
	Path   string
	Query  map[string][]string // without key
	KeyOK  bool
	Status int
}

// Location is one location of the world.
type Location struct {
	// Details is the Location Details answer.
	Details map[string]any
	// Category is hotels, restaurants, attractions or geos.
	Category string
	// Reviews, newest first, each with its "lang".
	Reviews []map[string]any
	Photos  []map[string]any
}

func (l *Location) id() string { s, _ := l.Details["location_id"].(string); return s }

type failure struct {
	status int
	path   string
}

// Server is a running fake. Close it when done.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	keys      map[string]bool
	denied    map[string]bool
	locations []*Location
	byID      map[string]*Location
	quota     int
	used      map[string]int
	fail      []failure
	requests  []Request
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
	s := &Server{keys: map[string]bool{}, denied: map[string]bool{}, byID: map[string]*Location{}, used: map[string]int{}}
	for _, k := range keys {
		s.keys[k] = true
	}
	for _, l := range World() {
		s.Add(l)
	}
	return s
}

// BaseURL is the API base, as the real one's https://api.content.tripadvisor.com/api/v1.
func (s *Server) BaseURL() string { return s.URL + "/api/v1" }

// Add puts a location in the world.
func (s *Server) Add(l *Location) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locations = append(s.locations, l)
	s.byID[l.id()] = l
}

// Location returns a location of the world.
func (s *Server) Location(id string) (*Location, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.byID[id]
	return l, ok
}

// DenyKey makes a valid key used from a non-allowed address.
func (s *Server) DenyKey(k string) { s.mu.Lock(); s.keys[k] = true; s.denied[k] = true; s.mu.Unlock() }

// SetQuota allows n calls per key; the next ones get 429 (0: no quota).
func (s *Server) SetQuota(n int) { s.mu.Lock(); s.quota = n; s.used = map[string]int{}; s.mu.Unlock() }

// FailNext makes the next n requests whose path (under /api/v1) starts with
// pathPrefix ("" for any) fail with status.
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, typ, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": message, "type": typ, "code": status}})
}

var (
	locPath = regexp.MustCompile(`^/location/([^/]+)/(details|reviews|photos)$`)
	numRe   = regexp.MustCompile(`^[0-9]+$`)
)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Path: strings.TrimPrefix(r.URL.Path, "/api/v1"), Query: map[string][]string{}}
	q := r.URL.Query()
	for k, v := range q {
		if k != "key" {
			rec.Query[k] = v
		}
	}
	key := q.Get("key")
	s.mu.Lock()
	rec.KeyOK = s.keys[key]
	s.mu.Unlock()
	rw := &recorder{ResponseWriter: w}
	s.serve(rw, r, key, rec.Path)
	rec.Status = rw.status
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request, key, path string) {
	if !strings.HasPrefix(r.URL.Path, "/api/v1/") {
		apiError(w, 404, "NotFound", "Not Found")
		return
	}
	if r.Method != http.MethodGet {
		writeJSON(w, 405, map[string]any{"message": "Method Not Allowed"})
		return
	}
	s.mu.Lock()
	for i, f := range s.fail {
		if f.path == "" || strings.HasPrefix(path, f.path) {
			s.fail = append(s.fail[:i], s.fail[i+1:]...)
			s.mu.Unlock()
			apiError(w, f.status, http.StatusText(f.status), http.StatusText(f.status))
			return
		}
	}
	known, denied := s.keys[key], s.denied[key]
	s.mu.Unlock()
	switch {
	case key == "" || !known:
		apiError(w, 401, "UnauthorizedException", "Invalid or missing API key")
		return
	case denied:
		writeJSON(w, 403, map[string]any{"message": "User is not authorized to access this resource with an explicit deny"})
		return
	}
	s.mu.Lock()
	over := s.quota > 0 && s.used[key] >= s.quota
	if !over {
		s.used[key]++
	}
	s.mu.Unlock()
	if over {
		apiError(w, 429, "TooManyRequestsException", "Limit Exceeded")
		return
	}
	if path == "/location/search" {
		s.search(w, r)
		return
	}
	m := locPath.FindStringSubmatch(path)
	if m == nil {
		apiError(w, 404, "NotFound", "Not Found")
		return
	}
	if !numRe.MatchString(m[1]) {
		apiError(w, 400, "InvalidParameterException", "Invalid locationId: "+m[1])
		return
	}
	s.mu.Lock()
	l, ok := s.byID[m[1]]
	s.mu.Unlock()
	if !ok {
		apiError(w, 404, "NotFoundException", "Location not found: "+m[1])
		return
	}
	q := r.URL.Query()
	switch m[2] {
	case "details":
		writeJSON(w, 200, l.Details)
	case "reviews":
		lang := q.Get("language")
		if lang == "" {
			lang = "en"
		}
		var revs []any
		for _, rv := range l.Reviews {
			if rv["lang"] == lang && len(revs) < MaxReviews {
				revs = append(revs, rv)
			}
		}
		writeJSON(w, 200, map[string]any{"data": window(revs, q)})
	case "photos":
		var ps []any
		for _, p := range l.Photos {
			if len(ps) < MaxPhotos {
				ps = append(ps, p)
			}
		}
		writeJSON(w, 200, map[string]any{"data": window(ps, q)})
	}
}

// window applies offset and limit within what the API exposes.
func window(items []any, q map[string][]string) []any {
	get := func(k string, def int) int {
		if v, ok := q[k]; ok && len(v) > 0 {
			if n, err := strconv.Atoi(v[0]); err == nil && n >= 0 {
				return n
			}
		}
		return def
	}
	off, lim := get("offset", 0), get("limit", len(items))
	if off >= len(items) {
		return []any{}
	}
	return items[off:min(len(items), off+lim)]
}

var categories = map[string]bool{"hotels": true, "restaurants": true, "attractions": true, "geos": true}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := strings.TrimSpace(q.Get("searchQuery"))
	if query == "" {
		apiError(w, 400, "InvalidParameterException", "searchQuery is required")
		return
	}
	cat := q.Get("category")
	if cat != "" && !categories[cat] {
		apiError(w, 400, "InvalidParameterException", "Invalid category: "+cat)
		return
	}
	var center *[2]float64
	if ll := q.Get("latLong"); ll != "" {
		parts := strings.Split(ll, ",")
		lat, err1 := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
		var lng float64
		var err2 error = fmt.Errorf("missing")
		if len(parts) == 2 {
			lng, err2 = strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
		}
		if err1 != nil || err2 != nil || math.Abs(lat) > 90 || math.Abs(lng) > 180 {
			apiError(w, 400, "InvalidParameterException", "Invalid latLong: "+ll)
			return
		}
		center = &[2]float64{lat, lng}
	}
	words := strings.Fields(strings.ToLower(query))
	s.mu.Lock()
	var found []*Location
	for _, l := range s.locations {
		if cat != "" && l.Category != cat {
			continue
		}
		hay := strings.ToLower(s.searchable(l))
		ok := true
		for _, w := range words {
			if !strings.Contains(hay, w) {
				ok = false
				break
			}
		}
		if ok {
			found = append(found, l)
		}
	}
	s.mu.Unlock()
	if center != nil {
		sort.SliceStable(found, func(i, j int) bool { return dist(found[i], *center) < dist(found[j], *center) })
	}
	data := []any{}
	for _, l := range found {
		if len(data) == MaxSearchResults {
			break
		}
		data = append(data, map[string]any{"location_id": l.id(), "name": l.Details["name"], "address_obj": l.Details["address_obj"]})
	}
	writeJSON(w, 200, map[string]any{"data": data})
}

// searchable is a location's name, address and geo names; s.mu is held.
func (s *Server) searchable(l *Location) string {
	var b strings.Builder
	fmt.Fprint(&b, l.Details["name"], " ")
	if a, ok := l.Details["address_obj"].(map[string]any); ok {
		fmt.Fprint(&b, a["address_string"], " ")
	}
	if anc, ok := l.Details["ancestors"].([]any); ok {
		for _, x := range anc {
			if m, ok := x.(map[string]any); ok {
				fmt.Fprint(&b, m["name"], " ")
			}
		}
	}
	return b.String()
}

func dist(l *Location, c [2]float64) float64 {
	lat, _ := strconv.ParseFloat(fmt.Sprint(l.Details["latitude"]), 64)
	lng, _ := strconv.ParseFloat(fmt.Sprint(l.Details["longitude"]), 64)
	return math.Hypot(lat-c[0], (lng-c[1])*math.Cos(c[0]*math.Pi/180))
}
