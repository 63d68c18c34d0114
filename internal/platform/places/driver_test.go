package places_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/places"
	"github.com/firstmate-oss/firstmate/internal/platform/places/placestest"
	"github.com/firstmate-oss/firstmate/internal/validate"
)

const referencePath = "../../../../shared/reference/captaindata-v4-actions.openapi.json"

// outputSchemas compiles, from the vendor reference itself, the output
// component of each action (e.g. GooglemapsExtractPlaceOutput).
var outputSchemas = map[string]*validate.Schema{}

func referenceOutput(t *testing.T, slug string) *validate.Schema {
	t.Helper()
	if s, ok := outputSchemas[slug]; ok {
		return s
	}
	raw, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("the reference file is needed to check outputs: %v", err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	name := ""
	for _, part := range strings.Split(slug, "-") {
		name += strings.ToUpper(part[:1]) + part[1:]
	}
	name += "Output"
	src, ok := doc.Components.Schemas[name]
	if !ok {
		t.Fatalf("reference has no %s", name)
	}
	s, err := validate.Compile(name, src)
	if err != nil {
		t.Fatal(err)
	}
	outputSchemas[slug] = s
	return s
}

// checkOutputs validates each result, in its wire form, against the
// reference output schema, and checks it carries only catalogued fields.
func checkOutputs(t *testing.T, slug string, results []map[string]any) {
	t.Helper()
	s := referenceOutput(t, slug)
	a := mustAction(t, slug)
	known := map[string]bool{}
	for _, f := range a.Outputs {
		known[f.Name] = true
	}
	for i, r := range results {
		for k := range r {
			if !known[k] {
				t.Errorf("%s result %d: field %q is not an output of the action", slug, i, k)
			}
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("%s result %d does not marshal: %v", slug, i, err)
		}
		v, e := validate.DecodeJSON(b)
		if e != nil {
			t.Fatal(e)
		}
		if e := s.Validate("output", v); e != nil {
			t.Errorf("%s result %d does not match the reference: %s\n%s", slug, i, e.Message, b)
		}
	}
}

func mustAction(t *testing.T, slug string) *catalog.Action {
	t.Helper()
	a, ok := catalog.Get(slug)
	if !ok {
		t.Fatalf("%s not in the catalogue", slug)
	}
	return a
}

// liveCall decodes a live body through the catalogue, as the API does.
func liveCall(t *testing.T, slug string, body map[string]any) platform.Call {
	t.Helper()
	a := mustAction(t, slug)
	b, _ := json.Marshal(body)
	req, err := a.DecodeLive(b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return platform.Call{Action: a, Input: req.Input.Values, Params: req.Parameters, Page: 1, PageSize: a.PageSize}
}

func in(field, value string) map[string]any {
	return map[string]any{"input": map[string]any{field: value}}
}

type env struct {
	t    *testing.T
	fake *placestest.Server
	d    *places.Driver
}

func newEnv(t *testing.T) *env {
	t.Helper()
	f := placestest.New()
	t.Cleanup(f.Close)
	return &env{t: t, fake: f, d: places.New(places.Config{Key: placestest.Key, BaseURL: f.URL})}
}

func (e *env) run(c platform.Call) (platform.Page, error) {
	e.t.Helper()
	return e.d.Run(context.Background(), http.DefaultClient, platform.Credentials{}, c)
}

func (e *env) must(c platform.Call) platform.Page {
	e.t.Helper()
	pg, err := e.run(c)
	if err != nil {
		e.t.Fatalf("%s: %v", c.Action.Slug, err)
	}
	checkOutputs(e.t, c.Action.Slug, pg.Results)
	return pg
}

func label(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Label
	}
	return fmt.Sprintf("not an apperr: %v", err)
}

// noKey fails when the key shows anywhere in an error.
func noKey(t *testing.T, err error, key string) {
	t.Helper()
	if err == nil {
		return
	}
	all := err.Error()
	if e, ok := apperr.As(err); ok {
		all += e.Message
		for k, v := range e.Params {
			all += k + v
		}
	}
	if strings.Contains(all, key) {
		t.Fatalf("the key leaked into an error: %s", all)
	}
}

func resource(t *testing.T, f *placestest.Server, id string) map[string]any {
	t.Helper()
	p, ok := f.Place(id)
	if !ok {
		t.Fatalf("no place %s in the fake's world", id)
	}
	return p.Resource
}

func TestExtractPlaceByID(t *testing.T) {
	e := newEnv(t)
	for _, u := range []string{
		"https://www.google.com/maps/place/?q=place_id:" + placestest.IDCafeLumiere,
		"https://www.google.com/maps/place/Whatever/@1,2,3z/?query_place_id=" + placestest.IDCafeLumiere,
		"https://www.google.fr/maps/place/Caf%C3%A9+Lumi%C3%A8re/@48.86,2.33,17z/data=!4m6!3m5!1s0x47e66e2:0x1!8m2!3d48.86!4d2.33!19s" + placestest.IDCafeLumiere,
	} {
		e.fake.ResetRequests()
		pg := e.must(liveCall(t, places.SlugExtractPlace, in("google_maps_place_url", u)))
		if len(pg.Results) != 1 {
			t.Fatalf("%s: %d results", u, len(pg.Results))
		}
		reqs := e.fake.Requests()
		if len(reqs) != 1 || reqs[0].Path != "/v1/places/"+placestest.IDCafeLumiere {
			t.Fatalf("%s: a place ID in the URL is looked up directly, got %+v", u, reqs)
		}
	}
	r := e.must(liveCall(t, places.SlugExtractPlace, in("url", "https://www.google.com/maps/place/?q=place_id:"+placestest.IDCafeLumiere))).Results[0]
	src := resource(t, e.fake, placestest.IDCafeLumiere)
	// The call's default language is en: the fake names the place in English.
	want := map[string]any{
		"google_maps_place_id":  placestest.IDCafeLumiere,
		"google_maps_place_url": "https://www.google.com/maps/place/?q=place_id:" + placestest.IDCafeLumiere,
		"place_name":            "Cafe Lumiere",
		"address":               src["formattedAddress"],
		"website":               src["websiteUri"],
		"phone":                 src["internationalPhoneNumber"],
		"rating":                "4.6",
		"number_reviews":        int64(1287),
		"category":              "Café",
		"description":           src["editorialSummary"].(map[string]any)["text"],
		"coordinates_latitude":  "48.8606",
		"coordinates_longitude": "2.3376",
		"closed_temporarily":    false,
		"closed_permanently":    false,
	}
	for k, v := range want {
		if fmt.Sprint(r[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, r[k], v)
		}
	}
	if got := fmt.Sprint(r["opening_hours"]); got != fmt.Sprint(src["regularOpeningHours"].(map[string]any)["weekdayDescriptions"]) {
		t.Errorf("opening_hours %s", got)
	}
	// dineIn, takeout and reservable are true, delivery false.
	if got := fmt.Sprint(r["services_available"]); got != "[Dine-in Takeout Reservations]" {
		t.Errorf("services_available %s", got)
	}
	if _, ok := r["additional_info"]; ok {
		t.Error("additional_info is not in the API and must be left out")
	}
	// The result's URL is accepted back by the place actions.
	for _, slug := range []string{places.SlugExtractPlace, places.SlugExtractReviews} {
		liveCall(t, slug, in("google_maps_place_url", r["google_maps_place_url"].(string)))
	}
}

func TestExtractPlaceLeavesOutWhatGoogleDoesNotGive(t *testing.T) {
	e := newEnv(t)
	r := e.must(liveCall(t, places.SlugExtractPlace, in("google_maps_place_url",
		"https://www.google.com/maps/place/?q=place_id:"+placestest.IDPetitZinc))).Results[0]
	for _, k := range []string{"phone", "website", "description", "opening_hours", "services_available", "rating", "number_reviews", "additional_info"} {
		if v, ok := r[k]; ok {
			t.Errorf("%s = %v: Google gave nothing, the driver must not invent it", k, v)
		}
	}
	if r["closed_temporarily"] != true || r["closed_permanently"] != false || r["place_name"] != "Le Petit Zinc" {
		t.Errorf("%v", r)
	}
	r = e.must(liveCall(t, places.SlugExtractPlace, in("google_maps_place_url",
		"https://www.google.com/maps/place/?q=place_id:"+placestest.IDVieuxPort))).Results[0]
	if r["closed_permanently"] != true || r["closed_temporarily"] != false {
		t.Errorf("%v", r)
	}
}

func TestFieldMasksAndSKUs(t *testing.T) {
	e := newEnv(t)
	e.must(liveCall(t, places.SlugExtractPlace, in("google_maps_place_url", "https://www.google.com/maps/place/?q=place_id:"+placestest.IDCafeLumiere)))
	e.must(liveCall(t, places.SlugExtractReviews, in("google_maps_place_url", "https://www.google.com/maps/place/?q=place_id:"+placestest.IDCafeLumiere)))
	e.must(liveCall(t, places.SlugSearchPlaces, in("google_maps_search_url", "https://www.google.com/maps/search/bakery+in+lyon/")))
	e.must(liveCall(t, places.SlugExtractPlace, in("google_maps_place_url", "https://www.google.com/maps/place/Le+Petit+Zinc/@48.861,2.349,17z")))
	reqs := e.fake.Requests()
	if len(reqs) != 5 {
		t.Fatalf("%d requests: %+v", len(reqs), reqs)
	}
	masks := func(r placestest.Request) map[string]bool {
		m := map[string]bool{}
		for _, f := range strings.Split(r.FieldMask, ",") {
			m[f] = true
		}
		return m
	}
	for i, want := range []struct {
		sku           string
		must, mustNot []string
	}{
		{placestest.SKUDetailsAtmosphere, []string{"displayName", "formattedAddress", "rating", "userRatingCount", "regularOpeningHours", "editorialSummary"},
			[]string{"*", "reviews", "photos", "priceLevel", "googleMapsUri", "types", "plusCode"}},
		{placestest.SKUDetailsAtmosphere, []string{"reviews", "displayName"}, []string{"*", "regularOpeningHours", "rating", "photos", "websiteUri"}},
		{placestest.SKUTextSearchIDsOnly, []string{"places.id", "nextPageToken"}, []string{"*", "places.displayName"}},
		{placestest.SKUTextSearchIDsOnly, []string{"places.id"}, []string{"*", "nextPageToken"}},
		{placestest.SKUDetailsAtmosphere, nil, nil},
	} {
		r := reqs[i]
		if r.SKU != want.sku {
			t.Errorf("request %d %s (mask %s) billed as %q, want %q", i, r.Path, r.FieldMask, r.SKU, want.sku)
		}
		if r.KeyVia != "header" {
			t.Errorf("request %d: key sent via %q, want the X-Goog-Api-Key header", i, r.KeyVia)
		}
		m := masks(r)
		for _, f := range want.must {
			if !m[f] {
				t.Errorf("request %d: mask %s lacks %s", i, r.FieldMask, f)
			}
		}
		for _, f := range want.mustNot {
			if m[f] {
				t.Errorf("request %d: mask %s asks for %s, which the driver does not map", i, r.FieldMask, f)
			}
		}
	}
}

func TestResolveByNameNearCoordinates(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ url, want string }{
		{"https://www.google.com/maps/place/Caf%C3%A9+Lumi%C3%A8re/@45.764,4.8357,17z/data=!3m1!4b1", placestest.IDCafeLumiereLyon},
		{"https://www.google.com/maps/place/Caf%C3%A9+Lumi%C3%A8re/@48.8606,2.3376,17z", placestest.IDCafeLumiere},
		{"https://www.google.com/maps/place/Cafe+Lumiere/@48.8606,2.3376,15z", placestest.IDCafeLumiere},
		// The pin of the data blob wins over the viewport.
		{"https://www.google.com/maps/place/Cafe+Lumiere/@48.8606,2.3376,9z/data=!4m6!3m5!1s0x0:0x0!8m2!3d45.7641!4d4.8356!16s", placestest.IDCafeLumiereLyon},
	} {
		e.fake.ResetRequests()
		r := e.must(liveCall(t, places.SlugExtractPlace, in("google_maps_place_url", c.url))).Results[0]
		if r["google_maps_place_id"] != c.want {
			t.Errorf("%s resolved to %v, want %s", c.url, r["google_maps_place_id"], c.want)
		}
		reqs := e.fake.Requests()
		if len(reqs) != 2 || reqs[0].Path != "/v1/places:searchText" {
			t.Fatalf("%s: %+v", c.url, reqs)
		}
		bias, _ := reqs[0].Body["locationBias"].(map[string]any)
		circle, _ := bias["circle"].(map[string]any)
		if circle == nil || reqs[0].Body["textQuery"] == "" {
			t.Errorf("%s: resolution searched without a bias: %v", c.url, reqs[0].Body)
		}
	}
	_, err := e.run(liveCall(t, places.SlugExtractPlace, in("google_maps_place_url", "https://www.google.com/maps/place/No+Such+Place+Anywhere/@48.8,2.3,15z")))
	if label(err) != platform.LabelNoResult {
		t.Errorf("unknown name: %v", err)
	}
}

func TestSearchPaginationToTheEnd(t *testing.T) {
	e := newEnv(t)
	c := liveCall(t, places.SlugSearchPlaces, in("google_maps_search_url", "https://www.google.com/maps/search/bakery+in+lyon/@45.764,4.8357,13z"))
	seen := map[string]bool{}
	var sizes []int
	for page := 1; ; page++ {
		if page > 10 {
			t.Fatal("pagination never ends")
		}
		c.Page = page
		pg := e.must(c)
		sizes = append(sizes, len(pg.Results))
		for _, r := range pg.Results {
			u := r["google_maps_place_url"].(string)
			if seen[u] {
				t.Fatalf("page %d repeats %s", page, u)
			}
			seen[u] = true
		}
		if !pg.More {
			if pg.NextToken != "" {
				t.Fatal("a last page with a token")
			}
			break
		}
		if pg.NextToken == "" {
			t.Fatal("More without a token")
		}
		c.Token = pg.NextToken
	}
	if fmt.Sprint(sizes) != "[20 20 5]" || len(seen) != placestest.LyonBakeries {
		t.Fatalf("pages %v, %d places; want [20 20 5] and %d", sizes, len(seen), placestest.LyonBakeries)
	}
	// Every page sent the same query and bias (Google refuses a token
	// otherwise), and the key in a header.
	var first string
	for _, r := range e.fake.Requests() {
		delete(r.Body, "pageToken")
		b, _ := json.Marshal(r.Body)
		if first == "" {
			first = string(b)
		} else if string(b) != first {
			t.Errorf("page parameters changed: %s vs %s", b, first)
		}
	}
	// A result feeds googlemaps-extract-place.
	for u := range seen {
		pg := e.must(liveCall(t, places.SlugExtractPlace, in("google_maps_place_url", u)))
		if !strings.HasPrefix(pg.Results[0]["place_name"].(string), "Boulangerie") {
			t.Errorf("%s: %v", u, pg.Results[0])
		}
		break
	}
}

func TestSearchPageWithoutTokenOrWithAStaleOne(t *testing.T) {
	e := newEnv(t)
	c := liveCall(t, places.SlugSearchPlaces, in("google_maps_search_url", "https://www.google.com/maps/search/boulangerie/"))
	p1 := e.must(c)
	c.Token = p1.NextToken
	c.Page = 2
	p2 := e.must(c)
	// Page 2 by number only: the driver walks from page 1.
	c.Token = ""
	byNumber := e.must(c)
	// A token Google no longer takes: the driver walks again.
	c.Token = "not-a-google-token"
	stale := e.must(c)
	if fmt.Sprint(p2.Results) != fmt.Sprint(byNumber.Results) || fmt.Sprint(p2.Results) != fmt.Sprint(stale.Results) {
		t.Fatalf("page 2 differs:\n%v\n%v\n%v", p2.Results, byNumber.Results, stale.Results)
	}
	// Past the end: an empty page, not an error.
	c.Token, c.Page = "", 7
	if pg := e.must(c); len(pg.Results) != 0 || pg.More {
		t.Fatalf("page 7: %+v", pg)
	}
	// A smaller page size is honoured.
	c.Page, c.PageSize = 1, 7
	if pg := e.must(c); len(pg.Results) != 7 || !pg.More {
		t.Fatalf("page size 7: %d results", len(pg.Results))
	}
}

func TestReviews(t *testing.T) {
	e := newEnv(t)
	c := liveCall(t, places.SlugExtractReviews, in("google_reviews_url", "https://www.google.com/maps/place/?q=place_id:"+placestest.IDCafeLumiere))
	pg := e.must(c)
	if len(pg.Results) != places.MaxReviews || pg.More || pg.NextToken != "" {
		t.Fatalf("%d reviews, more=%v: Google serves five and no more", len(pg.Results), pg.More)
	}
	src := resource(t, e.fake, placestest.IDCafeLumiere)["reviews"].([]any)
	for i, r := range pg.Results {
		s := src[i].(map[string]any)
		orig := s["originalText"].(map[string]any)
		if r["content"] != orig["text"] || r["review_language"] != orig["languageCode"] {
			t.Errorf("review %d content %v/%v, want %v", i, r["content"], r["review_language"], orig)
		}
		if tr := s["text"].(map[string]any); tr["languageCode"] != orig["languageCode"] {
			if r["translated_content"] != tr["text"] {
				t.Errorf("review %d translated_content %v", i, r["translated_content"])
			}
		} else if _, ok := r["translated_content"]; ok {
			t.Errorf("review %d: not translated, yet translated_content=%v", i, r["translated_content"])
		}
		if r["author_name"] != s["authorAttribution"].(map[string]any)["displayName"] || r["grade"] != s["rating"] ||
			r["google_maps_review_url"] != s["googleMapsUri"] || r["place_name"] != "Cafe Lumiere" || r["city"] != "Paris" ||
			r["source"] != "google_maps" {
			t.Errorf("review %d: %v", i, r)
		}
		if !strings.HasSuffix(s["name"].(string), "/reviews/"+r["google_maps_review_id"].(string)) {
			t.Errorf("review %d id %v", i, r["google_maps_review_id"])
		}
		if _, ok := s["visitDate"]; ok != (r["experience_date"] != nil) {
			t.Errorf("review %d experience_date %v", i, r["experience_date"])
		}
		for _, k := range []string{"answer", "answer_date", "translated_answer", "standard_answer_date", "author_reviews_count"} {
			if _, ok := r[k]; ok {
				t.Errorf("review %d: %s is not in the API", i, k)
			}
		}
	}
	if pg.Results[0]["review_date"] != "2025-01-01T09:00:17Z" || pg.Results[0]["experience_date"] != "2024-01" {
		t.Errorf("dates: %v %v", pg.Results[0]["review_date"], pg.Results[0]["experience_date"])
	}
	calls := len(e.fake.Requests())
	c.Page = 2
	if pg := e.must(c); len(pg.Results) != 0 || pg.More {
		t.Fatalf("page 2: %+v", pg)
	}
	if len(e.fake.Requests()) != calls {
		t.Error("page 2 of reviews cost a request")
	}
	// A place without reviews: an empty list.
	pg = e.must(liveCall(t, places.SlugExtractReviews, in("google_maps_place_url", "https://www.google.com/maps/place/?q=place_id:"+placestest.IDPetitZinc)))
	if len(pg.Results) != 0 {
		t.Fatalf("%v", pg.Results)
	}
}

func TestLanguageAndRegion(t *testing.T) {
	e := newEnv(t)
	c := liveCall(t, places.SlugExtractPlace, map[string]any{
		"input":      map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/?q=place_id:" + placestest.IDCafeLumiere},
		"parameters": map[string]any{"language": "fr", "country": "UK"},
	})
	r := e.must(c).Results[0]
	if r["place_name"] != "Café Lumière" {
		t.Errorf("place_name %v in French", r["place_name"])
	}
	q := e.fake.Requests()[0].Query
	if fmt.Sprint(q["languageCode"], q["regionCode"]) != "[fr] [GB]" {
		t.Errorf("query %v: language fr, region GB (CLDR for UK)", q)
	}
	c = liveCall(t, places.SlugSearchPlaces, map[string]any{
		"input":      map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/boulangerie/"},
		"parameters": map[string]any{"language": "de", "country": "DE"},
	})
	e.fake.ResetRequests()
	e.must(c)
	b := e.fake.Requests()[0].Body
	if b["languageCode"] != "de" || b["regionCode"] != "DE" || b["textQuery"] != "boulangerie" {
		t.Errorf("body %v", b)
	}
}

func TestErrorsAreLabelled(t *testing.T) {
	place := in("google_maps_place_url", "https://www.google.com/maps/place/?q=place_id:"+placestest.IDCafeLumiere)
	search := in("google_maps_search_url", "https://www.google.com/maps/search/boulangerie/")
	for _, c := range []struct {
		name      string
		key       string
		setup     func(f *placestest.Server)
		slug      string
		body      map[string]any
		label     string
		status    int
		transient bool
		check     func(t *testing.T, e *apperr.Error)
	}{
		{name: "unknown key", key: "AIzaSyWRONG-key-000000000000000000000", slug: places.SlugExtractPlace, body: place,
			label: platform.LabelIntegration, status: 424, check: func(t *testing.T, e *apperr.Error) {
				if e.Scope != apperr.ScopeConfig || e.Params[places.ParamSetting] != places.KeySetting ||
					e.Params[platform.ParamUpstreamCode] != "API_KEY_INVALID" || !strings.Contains(e.Message, "refused") {
					t.Errorf("%+v", e)
				}
			}},
		{name: "API not enabled", key: "AIzaSyDISABLED-00000000000000000000", setup: func(f *placestest.Server) { f.DisableKey("AIzaSyDISABLED-00000000000000000000") },
			slug: places.SlugSearchPlaces, body: search, label: platform.LabelIntegration, status: 424, check: func(t *testing.T, e *apperr.Error) {
				if e.Params[platform.ParamUpstreamCode] != "SERVICE_DISABLED" || e.Params[platform.ParamUpstreamStatus] != "403" {
					t.Errorf("%+v", e)
				}
			}},
		{name: "quota", setup: func(f *placestest.Server) { f.SetQuota(1) }, slug: places.SlugExtractPlace,
			body:  in("google_maps_place_url", "https://www.google.com/maps/place/Le+Petit+Zinc/@48.861,2.349,17z"),
			label: platform.Label429, status: 424, transient: true, check: func(t *testing.T, e *apperr.Error) {
				if e.Params[platform.ParamRetryAfter] != "60" || e.Params[platform.ParamUpstreamCode] != "RATE_LIMIT_EXCEEDED" {
					t.Errorf("%+v", e)
				}
			}},
		{name: "unknown place", slug: places.SlugExtractPlace, body: in("google_maps_place_url", "https://www.google.com/maps/place/?q=place_id:ChIJ00000000000000000000000"),
			label: platform.Label404, status: 424},
		{name: "server error", setup: func(f *placestest.Server) { f.FailNext(1, 500, "") }, slug: places.SlugSearchPlaces, body: search,
			label: platform.LabelGeneric, status: 424, transient: true},
		{name: "unavailable", setup: func(f *placestest.Server) { f.FailNext(1, 503, "") }, slug: places.SlugExtractReviews, body: place,
			label: platform.LabelGeneric, status: 424, transient: true},
		{name: "gateway timeout", setup: func(f *placestest.Server) { f.FailNext(1, 504, "") }, slug: places.SlugExtractPlace, body: place,
			label: platform.LabelLK524, status: 424, transient: true},
		{name: "no key configured", key: "-", slug: places.SlugExtractPlace, body: place, label: platform.LabelIntegration, status: 424,
			check: func(t *testing.T, e *apperr.Error) {
				if e.Scope != apperr.ScopeConfig || !strings.Contains(e.Message, places.KeySetting) {
					t.Errorf("%+v", e)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := placestest.New()
			defer f.Close()
			if c.setup != nil {
				c.setup(f)
			}
			key := placestest.Key
			switch c.key {
			case "":
			case "-":
				key = ""
			default:
				key = c.key
			}
			d := places.New(places.Config{Key: key, BaseURL: f.URL})
			_, err := d.Run(context.Background(), http.DefaultClient, platform.Credentials{}, liveCall(t, c.slug, c.body))
			e, ok := apperr.As(err)
			if !ok || e.Label != c.label || e.Status != c.status {
				t.Fatalf("got %v, want %s (%d)", err, c.label, c.status)
			}
			if platform.Transient(err) != c.transient {
				t.Errorf("transient = %v", !c.transient)
			}
			if c.check != nil {
				c.check(t, e)
			}
			if key != "" {
				noKey(t, err, key)
			}
			if c.key == "-" && len(f.Requests()) != 0 {
				t.Error("a call without a key reached Google")
			}
		})
	}
}

func TestTransportFailureAndMe(t *testing.T) {
	f := placestest.New()
	d := places.New(places.Config{Key: placestest.Key, BaseURL: f.URL})
	acc, err := d.Me(context.Background(), http.DefaultClient, platform.Credentials{})
	if err != nil || acc.Name == "" {
		t.Fatalf("Me: %+v %v", acc, err)
	}
	if r := f.Requests()[0]; r.SKU != placestest.SKUTextSearchIDsOnly {
		t.Errorf("Me billed as %q: it should be free (IDs only)", r.SKU)
	}
	_, err = places.New(places.Config{Key: "AIzaSyWRONG-key-000000000000000000000", BaseURL: f.URL}).Me(context.Background(), nil, platform.Credentials{})
	if label(err) != platform.LabelIntegration {
		t.Errorf("Me with a bad key: %v", err)
	}
	f.Close()
	_, err = d.Run(context.Background(), http.DefaultClient, platform.Credentials{},
		liveCall(t, places.SlugExtractPlace, in("google_maps_place_url", "https://www.google.com/maps/place/?q=place_id:"+placestest.IDCafeLumiere)))
	if label(err) != platform.LabelGeneric || !platform.Transient(err) {
		t.Fatalf("closed server: %v", err)
	}
	noKey(t, err, placestest.Key)
}

func TestUnknownSlug(t *testing.T) {
	e := newEnv(t)
	a := mustAction(t, "tripadvisor-extract-hotel")
	_, err := e.run(platform.Call{Action: a, Input: map[string]any{}, Page: 1})
	if label(err) != platform.LabelIntegration {
		t.Fatalf("%v", err)
	}
}

func TestHostileURLs(t *testing.T) {
	e := newEnv(t)
	for _, raw := range []string{
		"javascript:alert(1)",
		"https://evil.example/maps/place/?q=place_id:" + placestest.IDCafeLumiere,
		"https://www.google.com.evil.example/maps/place/X",
		"https://www.google.com/maps/place/",
		"https://www.google.com/maps/place/@48.8,2.3,15z",
		"https://www.google.com/maps/place/?q=place_id:../../etc/passwd",
		"https://www.google.com/maps/place/?query_place_id=%00%01",
		"https://www.google.com/maps/place/X/@91.5,2.3,15z",
		"https://www.google.com/maps/place/X/@48.8,181,15z",
		"https://www.google.com/maps/place/" + strings.Repeat("A", 400),
		"https://www.google.com/maps/place/" + strings.Repeat("%", 5000),
		"https://www.google.com/maps/place/%zz",
		"https://@/maps/place/x",
		"//www.google.com/maps/place/X",
		"",
		"   ",
	} {
		for _, slug := range []string{places.SlugExtractPlace, places.SlugExtractReviews} {
			c := platform.Call{Action: mustAction(t, slug), Input: map[string]any{"google_maps_place_url": raw}, Page: 1}
			_, err := e.run(c)
			ae, ok := apperr.As(err)
			if !ok || ae.Status != 400 || ae.Label != "BAD_INPUT" || ae.Message == "" {
				t.Errorf("%s %q: %v, want a clear BAD_INPUT", slug, raw, err)
			}
		}
	}
	for _, raw := range []string{"https://www.google.com/maps/search/", "https://www.google.com/maps/search/@48.8,2.3,12z",
		"https://maps.app.goo.gl/abc", "ftp://www.google.com/maps/search/x", "https://www.google.com/maps/search/%20+%20/"} {
		c := platform.Call{Action: mustAction(t, places.SlugSearchPlaces), Input: map[string]any{"google_maps_search_url": raw}, Page: 1}
		if _, err := e.run(c); label(err) != "BAD_INPUT" {
			t.Errorf("search %q: %v", raw, err)
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("hostile URLs cost %d requests", n)
	}
}

// A transport that serves some hosts from handlers, as a proxy would.
type hostRouter map[string]http.Handler

func (h hostRouter) RoundTrip(r *http.Request) (*http.Response, error) {
	hd, ok := h[r.URL.Hostname()]
	if !ok {
		return nil, fmt.Errorf("no route to %s", r.URL.Host)
	}
	rec := httptest.NewRecorder()
	hd.ServeHTTP(rec, r)
	res := rec.Result()
	res.Request = r
	return res, nil
}

func TestShortLinks(t *testing.T) {
	e := newEnv(t)
	api, _ := url.Parse(e.fake.URL)
	dest := "https://www.google.com/maps/place/?q=place_id:" + placestest.IDCafeLumiere
	var hits []string
	hc := &http.Client{Transport: hostRouter{
		"maps.app.goo.gl": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits = append(hits, r.URL.String())
			if r.Header.Get("X-Goog-Api-Key") != "" {
				t.Error("the key was sent to the short link host")
			}
			switch r.URL.Path {
			case "/ok":
				http.Redirect(w, r, "https://consent.google.com/ml?continue="+url.QueryEscape(dest), http.StatusFound)
			case "/loop":
				http.Redirect(w, r, "/loop", http.StatusFound)
			case "/evil":
				http.Redirect(w, r, "https://evil.example/maps/place/x", http.StatusFound)
			default:
				w.WriteHeader(404)
			}
		}),
		api.Hostname(): http.HandlerFunc(e.fake.ServeHTTP),
	}}
	run := func(u string) (platform.Page, error) {
		return e.d.Run(context.Background(), hc, platform.Credentials{}, liveCall(t, places.SlugExtractReviews, in("google_maps_place_url", u)))
	}
	pg, err := run("https://maps.app.goo.gl/ok")
	if err != nil || len(pg.Results) != places.MaxReviews {
		t.Fatalf("short link: %v %d", err, len(pg.Results))
	}
	for _, u := range []string{"https://maps.app.goo.gl/loop", "https://maps.app.goo.gl/evil", "https://maps.app.goo.gl/missing"} {
		if _, err := run(u); label(err) != "BAD_INPUT" {
			t.Errorf("%s: %v", u, err)
		}
	}
	sort.Strings(hits)
	if len(hits) < 4 {
		t.Errorf("hits %v", hits)
	}
}

func TestNotes(t *testing.T) {
	n := places.New(places.Config{}).Notes()
	if len(n) != 3 {
		t.Fatalf("%v", n)
	}
	for _, slug := range []string{places.SlugExtractPlace, places.SlugSearchPlaces, places.SlugExtractReviews} {
		mustAction(t, slug)
		if n[slug] == "" {
			t.Errorf("no note for %s", slug)
		}
	}
	if !strings.Contains(n[places.SlugExtractReviews], "at most 5 reviews") {
		t.Errorf("the review note must say Google gives at most 5: %s", n[places.SlugExtractReviews])
	}
	n[places.SlugExtractPlace] = "changed"
	if places.Notes()[places.SlugExtractPlace] == "changed" {
		t.Error("Notes shares its map")
	}
}
