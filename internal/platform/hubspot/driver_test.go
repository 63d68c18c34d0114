package hubspot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/hubspot"
	"github.com/firstmate-oss/firstmate/internal/platform/hubspot/hubspottest"
)

const token = "pat-na1-11111111-2222-3333-4444-555555555555"

func cred(tok string) platform.Credentials {
	return platform.Credentials{AuthType: platform.AuthAPIKey, Token: tok}
}

func mustAction(t *testing.T, slug string) *catalog.Action {
	t.Helper()
	a, ok := catalog.Get(slug)
	if !ok {
		t.Fatalf("%s not in the catalogue", slug)
	}
	return a
}

// liveCall decodes a live body through the catalogue, as the API does, and
// returns the driver call of page 1.
func liveCall(t *testing.T, slug string, body any) platform.Call {
	t.Helper()
	a := mustAction(t, slug)
	b, _ := json.Marshal(body)
	req, err := a.DecodeLive(b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return platform.Call{Action: a, Input: req.Input.Values, Params: req.Parameters, Page: 1, PageSize: a.PageSize}
}

func run(t *testing.T, d *hubspot.Driver, tok string, c platform.Call) (platform.Page, error) {
	t.Helper()
	return d.Run(context.Background(), http.DefaultClient, cred(tok), c)
}

func label(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Label
	}
	return fmt.Sprintf("not an apperr: %v", err)
}

// noToken fails when the token shows anywhere in an error.
func noToken(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	e, _ := apperr.As(err)
	all := err.Error()
	if e != nil {
		all += e.Message
		for k, v := range e.Params {
			all += k + v
		}
	}
	if strings.Contains(all, token) || strings.Contains(all, "pat-na1") {
		t.Fatalf("the token leaked into an error: %s", all)
	}
}

func TestMe(t *testing.T) {
	f := hubspottest.New(token)
	defer f.Close()
	d := hubspot.New(f.URL)
	acc, err := d.Me(context.Background(), http.DefaultClient, cred(token))
	if err != nil {
		t.Fatal(err)
	}
	if acc.ExternalID != fmt.Sprint(hubspottest.PortalID) || !strings.Contains(acc.Permalink, "app.hubspot.com/contacts/") {
		t.Errorf("account %+v", acc)
	}
	for _, bad := range []string{"pat-na1-wrong", "", "   "} {
		_, err := d.Me(context.Background(), http.DefaultClient, cred(bad))
		if !platform.IsSessionExpired(err) {
			t.Errorf("token %q: %v, want NOT_CONNECTED", bad, err)
		}
		noToken(t, err)
	}
	// The bearer header is how the token travels.
	for _, r := range f.Requests() {
		if strings.Contains(r.Path, token) || strings.Contains(r.Body, token) {
			t.Fatalf("token in a URL or body: %+v", r)
		}
	}
}

func TestUpsertCreatesThenUpdates(t *testing.T) {
	f := hubspottest.New(token)
	defer f.Close()
	d := hubspot.New(f.URL)

	pg, err := run(t, d, token, liveCall(t, "hubspot-upsert-contact", map[string]any{"input": map[string]any{
		"email": "Ada@Example.com", "firstname": "Ada", "lastname": "Lovelace", "company": "Analytical Engines",
		"jobtitle": "Engineer", "phone": "+44 20 0000", "website": "https://example.com",
		"linkedin_url": "https://www.linkedin.com/in/ada"}}))
	if err != nil {
		t.Fatal(err)
	}
	r := pg.Results[0]
	if r["created"] != true || r["email"] != "ada@example.com" || r["hubspot_contact_id"] == "" {
		t.Fatalf("create: %v", r)
	}
	id := r["hubspot_contact_id"].(string)
	if u, _ := r["hubspot_url"].(string); u != fmt.Sprintf("https://app.hubspot.com/contacts/%d/record/0-1/%s", hubspottest.PortalID, id) {
		t.Errorf("hubspot_url %q", u)
	}
	_, props, _ := f.Contact("ada@example.com")
	if props["jobtitle"] != "Engineer" || props["hs_linkedin_url"] != "https://www.linkedin.com/in/ada" || props["company"] != "Analytical Engines" {
		t.Errorf("stored %v", props)
	}

	// Same person again: an update. An empty job title keeps the stored one;
	// raw properties are written as given.
	pg, err = run(t, d, token, liveCall(t, "hubspot-upsert-contact", map[string]any{"input": map[string]any{
		"email": "ada@example.com", "company": "Babbage & Co", "jobtitle": "", "properties": map[string]any{"city": "London", "lifecyclestage": "lead"}}}))
	if err != nil {
		t.Fatal(err)
	}
	r = pg.Results[0]
	if r["created"] != false || r["hubspot_contact_id"] != id {
		t.Fatalf("update: %v", r)
	}
	_, props, _ = f.Contact("ada@example.com")
	if props["company"] != "Babbage & Co" || props["jobtitle"] != "Engineer" || props["city"] != "London" || props["firstname"] != "Ada" {
		t.Errorf("after update %v", props)
	}
	if f.Count() != 1 {
		t.Errorf("%d contacts, want 1", f.Count())
	}
}

// A LinkedIn person result (linkedin-extract-people merged with
// linkedin-extract-contact) is an upsert input as it is.
func TestUpsertFromLinkedInPerson(t *testing.T) {
	f := hubspottest.New(token)
	defer f.Close()
	d := hubspot.New(f.URL)
	person := map[string]any{
		"full_name": "Grace Brewster Hopper", "first_name": "Grace", "last_name": "Hopper", "company_name": "US Navy",
		"job_title": "Rear Admiral", "headline": "Compilers", "linkedin_profile_url": "https://www.linkedin.com/in/grace",
		"linkedin_profile_id": 12345, "location": "Arlington, Virginia", "open_to_work": false,
		"experiences": []any{map[string]any{"company_name": "Harvard", "title": "Researcher"}},
		"skills":      []any{map[string]any{"name": "COBOL"}}, "email": "grace@navy.example", "phone": "+1 555 0100",
		"website": "https://navy.example", "sales_navigator_profile_id": nil, "birth_date": nil,
	}
	pg, err := run(t, d, token, liveCall(t, "hubspot-upsert-contact", map[string]any{"input": person}))
	if err != nil {
		t.Fatal(err)
	}
	if pg.Results[0]["created"] != true {
		t.Fatalf("%v", pg.Results[0])
	}
	_, props, _ := f.Contact("grace@navy.example")
	want := map[string]string{"firstname": "Grace", "lastname": "Hopper", "company": "US Navy", "jobtitle": "Rear Admiral",
		"hs_linkedin_url": "https://www.linkedin.com/in/grace", "phone": "+1 555 0100", "website": "https://navy.example"}
	for k, v := range want {
		if props[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, props[k], v, props)
		}
	}

	// Only a full name: split into first and last names. A custom LinkedIn
	// property name is honoured.
	f.DefineProperty("linkedin_profile")
	c := liveCall(t, "hubspot-upsert-contact", map[string]any{"input": map[string]any{"full_name": "Alan Mathison Turing",
		"email": "alan@example.org", "profile_url": "https://www.linkedin.com/in/alan"},
		"parameters": map[string]any{"linkedin_url_property": "linkedin_profile"}})
	if _, err := run(t, d, token, c); err != nil {
		t.Fatal(err)
	}
	_, props, _ = f.Contact("alan@example.org")
	if props["firstname"] != "Alan" || props["lastname"] != "Mathison Turing" || props["linkedin_profile"] != "https://www.linkedin.com/in/alan" {
		t.Errorf("%v", props)
	}

	// Without an e-mail, the input is refused before HubSpot is called.
	delete(person, "email")
	b, _ := json.Marshal(map[string]any{"input": person})
	if _, err := mustAction(t, "hubspot-upsert-contact").DecodeLive(b); label(err) != "BAD_INPUT" {
		t.Errorf("no e-mail: %v", err)
	}
}

func TestSearchPagesToTheEnd(t *testing.T) {
	f := hubspottest.New(token)
	defer f.Close()
	d := hubspot.New(f.URL)
	for i := 0; i < 250; i++ {
		company := "Acme"
		if i%5 == 0 {
			company = "Globex"
		}
		f.Seed(map[string]string{"email": fmt.Sprintf("p%03d@example.com", i), "firstname": fmt.Sprintf("P%03d", i),
			"lastname": "Person", "company": company})
	}
	c := liveCall(t, "hubspot-search-contacts", map[string]any{"input": map[string]any{}})
	if c.PageSize != 100 {
		t.Fatalf("page size %d", c.PageSize)
	}
	var seen []string
	for page := 1; ; page++ {
		c.Page = page
		pg, err := run(t, d, token, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range pg.Results {
			seen = append(seen, r["email"].(string))
		}
		if !pg.More {
			if page != 3 || len(pg.Results) != 50 {
				t.Errorf("ended on page %d with %d results", page, len(pg.Results))
			}
			break
		}
		c.Token = pg.NextToken
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 250 || seen[0] != "p000@example.com" || seen[249] != "p249@example.com" {
		t.Fatalf("%d results, first %v", len(seen), seen[:1])
	}

	// Page 2 without a cursor starts at offset 100.
	c.Page, c.Token = 2, ""
	pg, err := run(t, d, token, c)
	if err != nil || pg.Results[0]["email"] != "p100@example.com" {
		t.Fatalf("page 2: %v %v", err, pg.Results[:1])
	}

	// Named filters (exact) and raw filters are ANDed.
	c = liveCall(t, "hubspot-search-contacts", map[string]any{"input": map[string]any{"company_name": "globex",
		"filters": []any{map[string]any{"property": "firstname", "operator": "IN", "values": []any{"P000", "P005", "P007"}}}}})
	pg, err = run(t, d, token, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Results) != 2 || pg.More || pg.Results[1]["full_name"] != "P005 Person" || pg.Results[0]["company"] != "Globex" {
		t.Fatalf("filtered: %v", pg.Results)
	}
	// Free-text query, e-mail filter.
	c = liveCall(t, "hubspot-search-contacts", map[string]any{"input": map[string]any{"query": "p24"}})
	if pg, err = run(t, d, token, c); err != nil || len(pg.Results) != 10 {
		t.Fatalf("query: %v %d", err, len(pg.Results))
	}
	c = liveCall(t, "hubspot-search-contacts", map[string]any{"input": map[string]any{"email": "P042@EXAMPLE.com"}})
	if pg, err = run(t, d, token, c); err != nil || len(pg.Results) != 1 || pg.Results[0]["hubspot_url"] == nil {
		t.Fatalf("email: %v %v", err, pg.Results)
	}
	// Too many filters: refused before HubSpot.
	var many []any
	for i := 0; i < 6; i++ {
		many = append(many, map[string]any{"property": "firstname", "operator": "HAS_PROPERTY"})
	}
	c = liveCall(t, "hubspot-search-contacts", map[string]any{"input": map[string]any{"email": "a@b.co", "filters": many}})
	if _, err := run(t, d, token, c); label(err) != "BAD_INPUT" {
		t.Errorf("7 filters: %v", err)
	}
}

// HubSpot's search stops at 10,000 results: the driver never asks beyond.
func TestSearchStopsAtTheSearchCap(t *testing.T) {
	f := hubspottest.New(token)
	defer f.Close()
	d := hubspot.New(f.URL)
	c := liveCall(t, "hubspot-search-contacts", map[string]any{"input": map[string]any{}})
	c.Token = "10000"
	pg, err := run(t, d, token, c)
	if err != nil || len(pg.Results) != 0 || pg.More {
		t.Fatalf("%v %+v", err, pg)
	}
	c.Token = "9950"
	if _, err := run(t, d, token, c); err != nil {
		t.Fatalf("last partial page: %v", err) // the fake answers 400 past 10,000
	}
	var body map[string]any
	for _, r := range f.Requests() {
		if strings.HasSuffix(r.Path, "/search") {
			body = nil
			_ = json.Unmarshal([]byte(r.Body), &body)
		}
	}
	if body["limit"] != float64(50) {
		t.Errorf("limit %v", body["limit"])
	}
}

func TestErrorMapping(t *testing.T) {
	f := hubspottest.New(token)
	defer f.Close()
	d := hubspot.New(f.URL)
	upsert := liveCall(t, "hubspot-upsert-contact", map[string]any{"input": map[string]any{"email": "x@example.com"}})
	const path = "/crm/v3/objects/contacts/batch/upsert"
	for _, tc := range []struct {
		name       string
		setup      func()
		tok        string
		label      string
		status     int
		transient  bool
		retryAfter string
	}{
		{"401 bad token", nil, "pat-na1-revoked", "NOT_CONNECTED", 424, false, ""},
		{"403 scopes", func() { f.FailNext(1, 403, "", path) }, token, "STATUS_403", 424, false, ""},
		{"404", func() { f.FailNext(1, 404, "", path) }, token, "STATUS_404", 424, false, ""},
		{"429 retry-after", func() { f.FailNext(1, 429, "3", path) }, token, "STATUS_429", 424, true, "3"},
		{"429 window", func() { f.FailNext(1, 429, "", path) }, token, "STATUS_429", 424, true, "10"},
		{"500", func() { f.FailNext(1, 500, "", path) }, token, "GENERIC_ERROR", 424, true, ""},
		{"502", func() { f.FailNext(1, 502, "", path) }, token, "GENERIC_ERROR", 424, true, ""},
		{"504", func() { f.FailNext(1, 504, "", path) }, token, "LK_524", 424, true, ""},
		{"409", func() { f.FailNext(1, 409, "", path) }, token, "BAD_INPUT", 400, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			_, err := run(t, d, tc.tok, upsert)
			noToken(t, err)
			e, ok := apperr.As(err)
			if !ok || e.Label != tc.label || e.Status != tc.status {
				t.Fatalf("got %v, want %s/%d", err, tc.label, tc.status)
			}
			if platform.Transient(err) != tc.transient {
				t.Errorf("transient = %v", !tc.transient)
			}
			if tc.retryAfter != "" && e.Params[platform.ParamRetryAfter] != tc.retryAfter {
				t.Errorf("retry_after %q", e.Params[platform.ParamRetryAfter])
			}
			if tc.tok == token && e.Params[hubspot.ParamCorrelationID] == "" {
				t.Errorf("no correlation id: %v", e.Params)
			}
		})
	}

	// Validation errors carry HubSpot's message, as BAD_INPUT.
	for name, in := range map[string]map[string]any{
		"invalid email":    {"email": "ada@example.c"},
		"unknown property": {"email": "ada@example.com", "properties": map[string]any{"no_such_property": "x"}},
	} {
		_, err := run(t, d, token, liveCall(t, "hubspot-upsert-contact", map[string]any{"input": in}))
		e, ok := apperr.As(err)
		if !ok || e.Label != "BAD_INPUT" || e.Status != 400 || !strings.Contains(e.Message, "HubSpot rejected the input") ||
			e.Params[platform.ParamUpstreamCode] != "VALIDATION_ERROR" || platform.Transient(err) {
			t.Errorf("%s: %v %+v", name, err, e)
		}
		noToken(t, err)
	}
	if f.Count() != 0 {
		t.Errorf("a failed upsert stored a contact")
	}
}

func TestTimeoutIsLK524(t *testing.T) {
	f := hubspottest.New(token)
	defer f.Close()
	f.SetLatency(2 * time.Second)
	d := hubspot.New(f.URL)
	hc := &http.Client{Timeout: 100 * time.Millisecond}
	_, err := d.Run(context.Background(), hc, cred(token),
		liveCall(t, "hubspot-search-contacts", map[string]any{"input": map[string]any{"query": "x"}}))
	if label(err) != "LK_524" || !platform.Transient(err) {
		t.Fatalf("%v", err)
	}
	noToken(t, err)
	// Unreachable host: GENERIC_ERROR, transient.
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err = hubspot.New(srv.URL).Me(context.Background(), http.DefaultClient, cred(token))
	if label(err) != "GENERIC_ERROR" || !platform.Transient(err) {
		t.Fatalf("unreachable: %v", err)
	}
	noToken(t, err)
}

// Even an upstream that echoes the Authorization header in its message
// never gets the token into an error.
func TestTokenNeverEchoed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "category": "VALIDATION_ERROR",
			"message": "bad header " + r.Header.Get("Authorization"), "correlationId": "c-1"})
	}))
	defer srv.Close()
	_, err := run(t, hubspot.New(srv.URL), token,
		liveCall(t, "hubspot-upsert-contact", map[string]any{"input": map[string]any{"email": "x@example.com"}}))
	if label(err) != "BAD_INPUT" || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("%v", err)
	}
	noToken(t, err)
}

// The fake's own rate window answers 429 with HubSpot's headers.
func TestFakeRateWindow(t *testing.T) {
	f := hubspottest.New(token)
	defer f.Close()
	f.SetRateLimit(3, time.Minute) // search + account-info, then search
	d := hubspot.New(f.URL)
	c := liveCall(t, "hubspot-search-contacts", map[string]any{"input": map[string]any{}})
	for i := 0; i < 2; i++ {
		if _, err := run(t, d, token, c); err != nil {
			t.Fatal(err)
		}
	}
	_, err := run(t, d, token, c)
	if label(err) != "STATUS_429" || platform.RetryAfter(err) < 1 || platform.RetryAfter(err) > 60 {
		t.Fatalf("%v (retry after %d)", err, platform.RetryAfter(err))
	}
}
