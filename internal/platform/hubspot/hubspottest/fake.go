// Package hubspottest is a local stand-in for HubSpot's public CRM v3 API,
// for tests and offline demos (FIRSTMATE_HUBSPOT_URL=fake). It keeps contacts
// in memory and answers the documented shapes of the endpoints Firstmate
// uses:
//
//	GET   /account-info/v3/details
//	GET   /crm/v3/objects/contacts            (limit, after, properties)
//	POST  /crm/v3/objects/contacts            (create; 409 on a taken e-mail)
//	GET   /crm/v3/objects/contacts/{id}
//	PATCH /crm/v3/objects/contacts/{id}
//	POST  /crm/v3/objects/contacts/batch/upsert (idProperty "email")
//	POST  /crm/v3/objects/contacts/search     (query, filterGroups, sorts, properties, limit, after)
//
// Errors use HubSpot's body {status:"error", message, correlationId,
// category}: 401 for a missing or unknown bearer token, 400
// VALIDATION_ERROR for an invalid e-mail or an unknown property, 404, 409,
// and 429 (RATE_LIMITS) with Retry-After and X-HubSpot-RateLimit-* headers,
// either injected (FailNext) or from a real per-token window (SetRateLimit).
//
// Known simplifications: the free-text query matches substrings of the
// default searchable properties (HubSpot matches word prefixes), and
// property values are all strings.
package hubspottest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SandboxToken is the token the offline demo fake accepts.
const SandboxToken = "pat-sandbox-firstmate"

// PortalID is the fake account's id.
const PortalID = 4242424

// Limits of the search endpoint, as HubSpot documents them.
const (
	MaxSearchLimit   = 200
	MaxSearchResults = 10000
)

// Properties the fake knows; writing any other is a 400, as in a portal
// where the property does not exist. DefineProperty adds custom ones.
var defaultProperties = []string{"email", "firstname", "lastname", "company", "jobtitle", "phone", "mobilephone",
	"website", "hs_linkedin_url", "city", "state", "country", "zip", "address", "lifecyclestage", "hs_lead_status",
	"createdate", "lastmodifieddate", "hs_object_id"}

var readOnly = map[string]bool{"createdate": true, "lastmodifieddate": true, "hs_object_id": true}

// Properties returned when a request names none.
var returnedByDefault = []string{"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"}

// Searched by the free-text query.
var searchable = []string{"firstname", "lastname", "email", "phone", "mobilephone", "company"}

var emailRE = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[A-Za-z]{2,}$`)

type contact struct {
	id         string
	props      map[string]string
	created    time.Time
	updated    time.Time
	archived   bool
	createdSeq int
}

type failure struct {
	status     int
	retryAfter string
	path       string // "" matches every path
}

// Request is one request the fake received (the token is never kept).
type Request struct {
	Method, Path string
	Body         string
}

// Server is a running fake. Close it when done.
type Server struct {
	*httptest.Server

	mu         sync.Mutex
	tokens     map[string]bool
	contacts   map[string]*contact
	byEmail    map[string]string
	seq        int
	props      map[string]bool
	fail       []failure
	latency    time.Duration
	rateMax    int
	rateWindow time.Duration
	rateHits   map[string][]time.Time
	requests   []Request
	now        func() time.Time
}

// New starts a fake accepting the given bearer tokens.
func New(tokens ...string) *Server {
	s := NewUnstarted(tokens...)
	s.Server = httptest.NewServer(s)
	return s
}

// NewUnstarted builds a fake without a listener; serve it with ServeHTTP.
func NewUnstarted(tokens ...string) *Server {
	s := &Server{tokens: map[string]bool{}, contacts: map[string]*contact{}, byEmail: map[string]string{},
		props: map[string]bool{}, rateHits: map[string][]time.Time{}, now: time.Now}
	for _, t := range tokens {
		s.tokens[t] = true
	}
	for _, p := range defaultProperties {
		s.props[p] = true
	}
	return s
}

// AddToken makes another token valid; RevokeToken invalidates one.
func (s *Server) AddToken(t string) { s.mu.Lock(); s.tokens[t] = true; s.mu.Unlock() }

func (s *Server) RevokeToken(t string) { s.mu.Lock(); delete(s.tokens, t); s.mu.Unlock() }

// DefineProperty adds a custom contact property.
func (s *Server) DefineProperty(name string) { s.mu.Lock(); s.props[name] = true; s.mu.Unlock() }

// FailNext makes the next n requests whose path starts with pathPrefix
// ("" for any) fail with status. For 429, retryAfter is the Retry-After
// header ("" sends none, as HubSpot often does).
func (s *Server) FailNext(n, status int, retryAfter, pathPrefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.fail = append(s.fail, failure{status: status, retryAfter: retryAfter, path: pathPrefix})
	}
}

// SetLatency delays every answer.
func (s *Server) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

// SetRateLimit enforces at most max requests per window and token (0: off),
// like HubSpot's rolling burst limit.
func (s *Server) SetRateLimit(max int, window time.Duration) {
	s.mu.Lock()
	s.rateMax, s.rateWindow = max, window
	s.mu.Unlock()
}

// Requests returns what the fake received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Contact returns a stored contact's properties by e-mail.
func (s *Server) Contact(email string) (id string, props map[string]string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok = s.byEmail[strings.ToLower(email)]
	if !ok {
		return "", nil, false
	}
	props = map[string]string{}
	for k, v := range s.contacts[id].props {
		props[k] = v
	}
	return id, props, true
}

// Count is the number of stored contacts.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.contacts)
}

// Seed stores contacts directly (no request), each a property map with an
// "email".
func (s *Server) Seed(contacts ...map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range contacts {
		c := s.newContact()
		for k, v := range p {
			c.props[k] = v
		}
		s.index(c)
	}
}

type apiError struct {
	status   int
	message  string
	category string
	extra    map[string]any
	header   map[string]string
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == nil {
			body = raw
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Body: string(body)})
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	status, out, aerr := s.serve(r, body)
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("X-HubSpot-RateLimit-Max", strconv.Itoa(max(s.rateMaxOr(), 1)))
	w.Header().Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
	if aerr != nil {
		for k, v := range aerr.header {
			w.Header().Set(k, v)
		}
		eb := map[string]any{"status": "error", "message": aerr.message, "correlationId": correlationID(),
			"category": aerr.category}
		for k, v := range aerr.extra {
			eb[k] = v
		}
		w.WriteHeader(aerr.status)
		_ = json.NewEncoder(w).Encode(eb)
		return
	}
	w.WriteHeader(status)
	if out != nil {
		_ = json.NewEncoder(w).Encode(out)
	}
}

func (s *Server) rateMaxOr() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rateMax > 0 {
		return s.rateMax
	}
	return 190
}

func correlationID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func rateLimited(retryAfter string) *apiError {
	e := &apiError{status: 429, category: "RATE_LIMITS", message: "You have reached your ten_secondly_rolling limit.",
		extra:  map[string]any{"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"},
		header: map[string]string{"X-HubSpot-RateLimit-Remaining": "0"}}
	if retryAfter != "" {
		e.header["Retry-After"] = retryAfter
	}
	return e
}

func (s *Server) serve(r *http.Request, body []byte) (int, any, *apiError) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok || tok == "" || !s.tokens[tok] {
		return 0, nil, &apiError{status: 401, category: "INVALID_AUTHENTICATION",
			message: "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"}
	}
	for i, f := range s.fail {
		if f.path == "" || strings.HasPrefix(r.URL.Path, f.path) {
			s.fail = append(s.fail[:i], s.fail[i+1:]...)
			if f.status == 429 {
				return 0, nil, rateLimited(f.retryAfter)
			}
			return 0, nil, injected(f.status)
		}
	}
	if s.rateMax > 0 {
		now := s.now()
		hits := s.rateHits[tok][:0]
		for _, h := range s.rateHits[tok] {
			if now.Sub(h) < s.rateWindow {
				hits = append(hits, h)
			}
		}
		if len(hits) >= s.rateMax {
			s.rateHits[tok] = hits
			wait := s.rateWindow - now.Sub(hits[0])
			return 0, nil, rateLimited(strconv.Itoa(int((wait + time.Second - 1) / time.Second)))
		}
		s.rateHits[tok] = append(hits, now)
	}

	const base = "/crm/v3/objects/contacts"
	p := r.URL.Path
	switch {
	case p == "/account-info/v3/details" && r.Method == http.MethodGet:
		return 200, map[string]any{"portalId": PortalID, "accountType": "STANDARD", "timeZone": "US/Eastern",
			"companyCurrency": "USD", "additionalCurrencies": []string{}, "utcOffset": "-05:00",
			"utcOffsetMilliseconds": -18000000, "uiDomain": "app.hubspot.com", "dataHostingLocation": "na1"}, nil
	case p == base && r.Method == http.MethodGet:
		return s.list(r)
	case p == base && r.Method == http.MethodPost:
		return s.create(body)
	case p == base+"/batch/upsert" && r.Method == http.MethodPost:
		return s.upsert(body)
	case p == base+"/search" && r.Method == http.MethodPost:
		return s.search(body)
	case strings.HasPrefix(p, base+"/") && !strings.Contains(p[len(base)+1:], "/"):
		id := p[len(base)+1:]
		c := s.contacts[id]
		if c == nil {
			return 0, nil, &apiError{status: 404, category: "OBJECT_NOT_FOUND", message: "resource not found"}
		}
		switch r.Method {
		case http.MethodGet:
			return 200, s.view(c, strings.Split(r.URL.Query().Get("properties"), ",")), nil
		case http.MethodPatch:
			var in struct {
				Properties map[string]any `json:"properties"`
			}
			if err := json.Unmarshal(body, &in); err != nil {
				return 0, nil, badJSON(err)
			}
			props, aerr := s.check(in.Properties)
			if aerr != nil {
				return 0, nil, aerr
			}
			if e, ok := props["email"]; ok && e != c.props["email"] {
				if other, taken := s.byEmail[e]; taken && other != c.id {
					return 0, nil, conflict(other)
				}
				delete(s.byEmail, c.props["email"])
			}
			s.apply(c, props)
			return 200, s.view(c, keys(props)), nil
		}
	}
	return 0, nil, &apiError{status: 404, category: "OBJECT_NOT_FOUND", message: "Unable to route " + r.Method + " " + p}
}

// injected is the body HubSpot sends with status.
func injected(status int) *apiError {
	switch status {
	case 400:
		return &apiError{status: status, category: "VALIDATION_ERROR", message: "Invalid input"}
	case 401:
		return &apiError{status: status, category: "INVALID_AUTHENTICATION", message: "Authentication credentials not found."}
	case 403:
		return &apiError{status: status, category: "MISSING_SCOPES",
			message: "This app hasn't been granted all required scopes to make this call."}
	case 404:
		return &apiError{status: status, category: "OBJECT_NOT_FOUND", message: "resource not found"}
	case 409:
		return conflict("0")
	}
	return &apiError{status: status, category: "INTERNAL_ERROR", message: "internal error"}
}

func badJSON(err error) *apiError {
	return &apiError{status: 400, category: "VALIDATION_ERROR", message: "Invalid input JSON on line 1: " + err.Error()}
}

func conflict(existing string) *apiError {
	return &apiError{status: 409, category: "CONFLICT", message: "Contact already exists. Existing ID: " + existing}
}

// check validates property names and values the way a portal does.
func (s *Server) check(in map[string]any) (map[string]string, *apiError) {
	out := map[string]string{}
	var invalid []map[string]any
	for k, v := range in {
		if !s.props[k] {
			return nil, &apiError{status: 400, category: "VALIDATION_ERROR",
				message: fmt.Sprintf("Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"%s\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"%s\"}]", k, k)}
		}
		if readOnly[k] {
			return nil, &apiError{status: 400, category: "VALIDATION_ERROR",
				message: fmt.Sprintf("Property values were not valid: [{\"isValid\":false,\"message\":\"%s is a read only property; its value cannot be set.\",\"error\":\"READ_ONLY_VALUE\",\"name\":\"%s\"}]", k, k)}
		}
		var str string
		switch x := v.(type) {
		case nil:
		case string:
			str = x
		default:
			b, _ := json.Marshal(x)
			str = string(b)
		}
		if k == "email" {
			str = strings.ToLower(strings.TrimSpace(str))
			if str != "" && !emailRE.MatchString(str) {
				invalid = append(invalid, map[string]any{"isValid": false, "message": "Email address " + str + " is invalid",
					"error": "INVALID_EMAIL", "name": "email"})
			}
		}
		out[k] = str
	}
	if len(invalid) > 0 {
		b, _ := json.Marshal(invalid)
		return nil, &apiError{status: 400, category: "VALIDATION_ERROR", message: "Property values were not valid: " + string(b)}
	}
	return out, nil
}

func (s *Server) newContact() *contact {
	s.seq++
	now := s.now().UTC()
	c := &contact{id: strconv.Itoa(100000 + s.seq), props: map[string]string{}, created: now, updated: now, createdSeq: s.seq}
	s.contacts[c.id] = c
	return c
}

func (s *Server) index(c *contact) {
	if e := c.props["email"]; e != "" {
		c.props["email"] = strings.ToLower(e)
		s.byEmail[c.props["email"]] = c.id
	}
	c.props["hs_object_id"] = c.id
	c.props["createdate"] = c.created.Format(time.RFC3339Nano)
	c.props["lastmodifieddate"] = c.updated.Format(time.RFC3339Nano)
}

func (s *Server) apply(c *contact, props map[string]string) {
	for k, v := range props {
		c.props[k] = v
	}
	c.updated = s.now().UTC()
	s.index(c)
}

func (s *Server) create(body []byte) (int, any, *apiError) {
	var in struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return 0, nil, badJSON(err)
	}
	props, aerr := s.check(in.Properties)
	if aerr != nil {
		return 0, nil, aerr
	}
	if e := props["email"]; e != "" {
		if id, taken := s.byEmail[e]; taken {
			return 0, nil, conflict(id)
		}
	}
	c := s.newContact()
	s.apply(c, props)
	return 201, s.view(c, keys(props)), nil
}

func (s *Server) upsert(body []byte) (int, any, *apiError) {
	var in struct {
		Inputs []struct {
			ID         string         `json:"id"`
			IDProperty string         `json:"idProperty"`
			Properties map[string]any `json:"properties"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return 0, nil, badJSON(err)
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > 100 {
		return 0, nil, &apiError{status: 400, category: "VALIDATION_ERROR", message: "inputs must hold 1 to 100 items"}
	}
	started := s.now().UTC()
	type staged struct {
		c     *contact
		isNew bool
		props map[string]string
	}
	var all []staged
	// Validate everything first: a batch is all or nothing.
	for _, item := range in.Inputs {
		if item.IDProperty != "email" {
			return 0, nil, &apiError{status: 400, category: "VALIDATION_ERROR",
				message: fmt.Sprintf("idProperty %q is not a unique property of contacts in this portal", item.IDProperty)}
		}
		props, aerr := s.check(item.Properties)
		if aerr != nil {
			return 0, nil, aerr
		}
		email := strings.ToLower(strings.TrimSpace(item.ID))
		if !emailRE.MatchString(email) {
			_, aerr := s.check(map[string]any{"email": email})
			return 0, nil, aerr
		}
		props["email"] = email
		all = append(all, staged{props: props})
	}
	results := make([]any, 0, len(all))
	for _, st := range all {
		email := st.props["email"]
		if id, ok := s.byEmail[email]; ok {
			st.c = s.contacts[id]
		} else {
			st.c, st.isNew = s.newContact(), true
		}
		s.apply(st.c, st.props)
		v := s.view(st.c, keys(st.props))
		v["new"] = st.isNew
		results = append(results, v)
	}
	return 200, map[string]any{"status": "COMPLETE", "results": results, "startedAt": started.Format(time.RFC3339Nano),
		"completedAt": s.now().UTC().Format(time.RFC3339Nano)}, nil
}

func (s *Server) list(r *http.Request) (int, any, *apiError) {
	q := r.URL.Query()
	limit := 10
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return 0, nil, &apiError{status: 400, category: "VALIDATION_ERROR", message: "limit must be between 1 and 100"}
		}
		limit = n
	}
	all := s.sorted(nil, "hs_object_id", true)
	from := 0
	if a := q.Get("after"); a != "" {
		n, err := strconv.Atoi(a)
		if err != nil {
			return 0, nil, &apiError{status: 400, category: "VALIDATION_ERROR", message: "after is not a valid paging token"}
		}
		from = len(all)
		for i, c := range all {
			if id, _ := strconv.Atoi(c.id); id > n {
				from = i
				break
			}
		}
	}
	var props []string
	if p := q.Get("properties"); p != "" {
		props = strings.Split(p, ",")
	}
	page := all[from:min(from+limit, len(all))]
	out := map[string]any{"results": s.views(page, props)}
	if from+limit < len(all) {
		out["paging"] = map[string]any{"next": map[string]any{"after": page[len(page)-1].id}}
	}
	return 200, out, nil
}

type filter struct {
	PropertyName string   `json:"propertyName"`
	Operator     string   `json:"operator"`
	Value        any      `json:"value"`
	HighValue    any      `json:"highValue"`
	Values       []any    `json:"values"`
	valueStrs    []string // normalized
}

func (s *Server) search(body []byte) (int, any, *apiError) {
	var in struct {
		Query        string                       `json:"query"`
		FilterGroups []struct{ Filters []filter } `json:"filterGroups"`
		Sorts        []json.RawMessage            `json:"sorts"`
		Properties   []string                     `json:"properties"`
		Limit        *int                         `json:"limit"`
		After        string                       `json:"after"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return 0, nil, badJSON(err)
		}
	}
	limit := 10
	if in.Limit != nil {
		limit = *in.Limit
	}
	if limit < 1 || limit > MaxSearchLimit {
		return 0, nil, &apiError{status: 400, category: "VALIDATION_ERROR",
			message: fmt.Sprintf("limit must be between 1 and %d", MaxSearchLimit)}
	}
	if len(in.FilterGroups) > 5 {
		return 0, nil, &apiError{status: 400, category: "VALIDATION_ERROR", message: "Too many filter groups (maximum 5)"}
	}
	total := 0
	for _, g := range in.FilterGroups {
		if len(g.Filters) > 6 {
			return 0, nil, &apiError{status: 400, category: "VALIDATION_ERROR", message: "Too many filters in a group (maximum 6)"}
		}
		total += len(g.Filters)
		for _, f := range g.Filters {
			if !s.props[f.PropertyName] {
				return 0, nil, &apiError{status: 400, category: "VALIDATION_ERROR",
					message: fmt.Sprintf("There was a problem with the request: property %q does not exist", f.PropertyName)}
			}
			if _, ok := operators[f.Operator]; !ok {
				return 0, nil, &apiError{status: 400, category: "VALIDATION_ERROR",
					message: fmt.Sprintf("Unknown filter operator %q", f.Operator)}
			}
		}
	}
	if total > 18 {
		return 0, nil, &apiError{status: 400, category: "VALIDATION_ERROR", message: "Too many filters (maximum 18)"}
	}
	offset := 0
	if in.After != "" {
		n, err := strconv.Atoi(in.After)
		if err != nil || n < 0 {
			return 0, nil, &apiError{status: 400, category: "VALIDATION_ERROR", message: "after must be a number"}
		}
		offset = n
	}
	if offset+limit > MaxSearchResults {
		return 0, nil, &apiError{status: 400, category: "VALIDATION_ERROR",
			message: fmt.Sprintf("There was a problem with the request: search results are limited to %d", MaxSearchResults)}
	}
	sortBy, asc := "hs_object_id", true
	if len(in.Sorts) > 0 {
		var obj struct{ PropertyName, Direction string }
		var str string
		if json.Unmarshal(in.Sorts[0], &obj) == nil && obj.PropertyName != "" {
			sortBy, asc = obj.PropertyName, obj.Direction != "DESCENDING"
		} else if json.Unmarshal(in.Sorts[0], &str) == nil && str != "" {
			sortBy, asc = strings.TrimPrefix(str, "-"), !strings.HasPrefix(str, "-")
		}
	}
	match := func(c *contact) bool {
		if q := strings.ToLower(strings.TrimSpace(in.Query)); q != "" {
			hit := false
			for _, p := range searchable {
				if strings.Contains(strings.ToLower(c.props[p]), q) {
					hit = true
					break
				}
			}
			if !hit {
				return false
			}
		}
		if len(in.FilterGroups) == 0 {
			return true
		}
		for _, g := range in.FilterGroups { // OR of ANDs
			all := true
			for _, f := range g.Filters {
				if !f.matches(c.props[f.PropertyName]) {
					all = false
					break
				}
			}
			if all {
				return true
			}
		}
		return false
	}
	hits := s.sorted(match, sortBy, asc)
	page := hits[min(offset, len(hits)):min(offset+limit, len(hits))]
	out := map[string]any{"total": len(hits), "results": s.views(page, in.Properties)}
	if offset+limit < len(hits) && offset+limit < MaxSearchResults {
		out["paging"] = map[string]any{"next": map[string]any{"after": strconv.Itoa(offset + limit)}}
	}
	return 200, out, nil
}

var operators = map[string]bool{"EQ": true, "NEQ": true, "LT": true, "LTE": true, "GT": true, "GTE": true,
	"BETWEEN": true, "IN": true, "NOT_IN": true, "HAS_PROPERTY": true, "NOT_HAS_PROPERTY": true,
	"CONTAINS_TOKEN": true, "NOT_CONTAINS_TOKEN": true}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// compare orders numbers numerically and everything else as text.
func compare(a, b string) int {
	fa, ea := strconv.ParseFloat(a, 64)
	fb, eb := strconv.ParseFloat(b, 64)
	if ea == nil && eb == nil {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

func (f filter) matches(v string) bool {
	val := scalar(f.Value)
	switch f.Operator {
	case "EQ":
		return strings.EqualFold(v, val)
	case "NEQ":
		return !strings.EqualFold(v, val)
	case "LT":
		return v != "" && compare(v, val) < 0
	case "LTE":
		return v != "" && compare(v, val) <= 0
	case "GT":
		return v != "" && compare(v, val) > 0
	case "GTE":
		return v != "" && compare(v, val) >= 0
	case "BETWEEN":
		return v != "" && compare(v, val) >= 0 && compare(v, scalar(f.HighValue)) <= 0
	case "IN", "NOT_IN":
		in := false
		for _, x := range f.Values {
			if strings.EqualFold(v, scalar(x)) {
				in = true
			}
		}
		return in == (f.Operator == "IN")
	case "HAS_PROPERTY":
		return v != ""
	case "NOT_HAS_PROPERTY":
		return v == ""
	case "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN":
		tok := strings.ToLower(strings.Trim(val, "*"))
		has := false
		for _, w := range strings.FieldsFunc(strings.ToLower(v), func(r rune) bool {
			return r == ' ' || r == ',' || r == '.' || r == '@' || r == '-' || r == '/'
		}) {
			if w == tok || (strings.HasSuffix(val, "*") && strings.HasPrefix(w, tok)) || (strings.HasPrefix(val, "*") && strings.HasSuffix(w, tok)) {
				has = true
			}
		}
		return has == (f.Operator == "CONTAINS_TOKEN")
	}
	return false
}

func (s *Server) sorted(match func(*contact) bool, by string, asc bool) []*contact {
	var out []*contact
	for _, c := range s.contacts {
		if !c.archived && (match == nil || match(c)) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		var cmp int
		if by == "hs_object_id" {
			cmp = a.createdSeq - b.createdSeq
		} else {
			cmp = compare(a.props[by], b.props[by])
		}
		if cmp == 0 {
			cmp = a.createdSeq - b.createdSeq
		}
		if asc {
			return cmp < 0
		}
		return cmp > 0
	})
	return out
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// view renders a contact as HubSpot's SimplePublicObject: the requested
// properties (the defaults when none), null for those without a value.
func (s *Server) view(c *contact, props []string) map[string]any {
	want := map[string]bool{}
	for _, p := range returnedByDefault {
		want[p] = true
	}
	for _, p := range props {
		if p = strings.TrimSpace(p); p != "" {
			want[p] = true
		}
	}
	pm := map[string]any{}
	for p := range want {
		if v, ok := c.props[p]; ok && v != "" {
			pm[p] = v
		} else {
			pm[p] = nil
		}
	}
	return map[string]any{"id": c.id, "properties": pm, "createdAt": c.created.Format(time.RFC3339Nano),
		"updatedAt": c.updated.Format(time.RFC3339Nano), "archived": c.archived}
}

func (s *Server) views(cs []*contact, props []string) []any {
	out := make([]any, len(cs))
	for i, c := range cs {
		out[i] = s.view(c, props)
	}
	return out
}
