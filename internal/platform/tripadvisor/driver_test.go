package tripadvisor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/platform/tripadvisor"
	"github.com/firstmate-oss/firstmate/internal/platform/tripadvisor/tripadvisortest"
	"github.com/firstmate-oss/firstmate/internal/validate"
)

const referencePath = "../../../../shared/reference/captaindata-v4-actions.openapi.json"

var outputSchemas = map[string]*validate.Schema{}

// referenceOutput compiles, from the vendor reference itself, the output
// component of an action (e.g. TripadvisorExtractHotelOutput).
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
	known := map[string]bool{}
	for _, f := range mustAction(t, slug).Outputs {
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

// reviewsBody is a tripadvisor-extract-reviews body; the reference requires
// its language parameter.
func reviewsBody(u, lang string) map[string]any {
	return map[string]any{"input": map[string]any{"tripadvisor_reviews_url": u}, "parameters": map[string]any{"language": lang}}
}

func in(field, value string) map[string]any {
	return map[string]any{"input": map[string]any{field: value}}
}

// A Monday in winter (Paris at UTC+1) and one in summer (UTC+2).
var (
	winter = time.Date(2026, 1, 14, 12, 0, 0, 0, time.UTC)
	summer = time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)
)

type env struct {
	t    *testing.T
	fake *tripadvisortest.Server
	d    *tripadvisor.Driver
}

func newEnv(t *testing.T) *env {
	t.Helper()
	f := tripadvisortest.New()
	t.Cleanup(f.Close)
	return &env{t: t, fake: f, d: tripadvisor.New(tripadvisor.Config{Key: tripadvisortest.Key, BaseURL: f.BaseURL(),
		Now: func() time.Time { return winter }})}
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

func details(t *testing.T, f *tripadvisortest.Server, id string) map[string]any {
	t.Helper()
	l, ok := f.Location(id)
	if !ok {
		t.Fatalf("no location %s in the fake's world", id)
	}
	return l.Details
}

func label(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Label
	}
	return fmt.Sprintf("not an apperr: %v", err)
}

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
		if e.Cause != nil {
			all += e.Cause.Error()
		}
	}
	if strings.Contains(all, key) {
		t.Fatalf("the key leaked into an error: %s", all)
	}
}

const lumiereURL = "https://www.tripadvisor.com/Hotel_Review-g187147-d1234-Reviews-Hotel_Lumiere-Paris_Ile_de_France.html"

func TestExtractHotel(t *testing.T) {
	e := newEnv(t)
	for _, u := range []string{lumiereURL, "https://www.tripadvisor.fr/Hotel_Review-g187147-d1234-Reviews-Hotel_Lumiere-Paris.html",
		"https://www.tripadvisor.co.uk/Hotel_Review-g187147-d1234-Reviews.html?foo=bar#x"} {
		e.fake.ResetRequests()
		r := e.must(liveCall(t, tripadvisor.SlugExtractHotel, in("tripadvisor_hotel_url", u))).Results[0]
		if r["name"] != "Hotel Lumiere" {
			t.Errorf("%s: %v", u, r)
		}
		reqs := e.fake.Requests()
		if len(reqs) != 1 || reqs[0].Path != "/location/1234/details" || !reqs[0].KeyOK {
			t.Errorf("%s: %+v", u, reqs)
		}
	}
	r := e.must(liveCall(t, tripadvisor.SlugExtractHotel, in("link_url", lumiereURL))).Results[0]
	src := details(t, e.fake, tripadvisortest.HotelLumiere)
	want := map[string]any{
		"name": "Hotel Lumiere", "grade": 4.5, "ranking": float64(84), "price_range": "$$$", "number_reviews": int64(1098),
		"email": src["email"], "website": src["website"], "phone": src["phone"], "description": src["description"],
		"address":      src["address_obj"].(map[string]any)["address_string"],
		"property_url": "https://www.tripadvisor.com/Hotel_Review-g187147-d1234-Reviews-Hotel_Lumiere-Paris.html",
		"amenities":    src["amenities"],
		// The first award has a display name; the second only a type and a year.
		"awards": []any{"Travelers Choice", "Certificate of Excellence 2019"},
		"breakdown_grade": map[string]any{"cleanliness": "4.5", "location": "5.0", "rooms": "4.5", "service": "4.0",
			"sleep_quality": "4.5", "value": "3.5"},
	}
	for k, v := range want {
		if fmt.Sprint(r[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, r[k], v)
		}
	}
	for _, k := range []string{"stars", "hidden_amenities"} {
		if _, ok := r[k]; ok {
			t.Errorf("%s is not in the API and must be left out", k)
		}
	}
	// A sparse hotel: only what TripAdvisor gives.
	r = e.must(liveCall(t, tripadvisor.SlugExtractHotel, in("tripadvisor_hotel_url",
		"https://www.tripadvisor.com/Hotel_Review-g187147-d1240-Reviews-Hotel_Discret-Paris.html"))).Results[0]
	for _, k := range []string{"email", "website", "phone", "description", "awards", "amenities", "breakdown_grade", "ranking", "price_range"} {
		if v, ok := r[k]; ok {
			t.Errorf("%s = %v: TripAdvisor gave nothing", k, v)
		}
	}
	if r["grade"] != 3.5 || r["number_reviews"] != int64(12) {
		t.Errorf("%v", r)
	}
}

func TestExtractRestaurant(t *testing.T) {
	e := newEnv(t)
	c := liveCall(t, tripadvisor.SlugExtractRestaurant, in("tripadvisor_restaurant_url",
		"https://www.tripadvisor.com/Restaurant_Review-g187147-d555-Reviews-Chez_Marcel-Paris_Ile_de_France.html"))
	r := e.must(c).Results[0]
	want := map[string]any{
		"name": "Chez Marcel", "grade": 4.5, "number_reviews": int64(2310), "price_range": "$$ - $$$",
		"categories": []any{"French", "European"}, "details": []any{"Reservations", "Outdoor Seating", "Table Service"},
		// rate_noise has no place in the reference's breakdown.
		"breakdown_grade": map[string]any{"atmosphere": 5, "food": 4.5, "service": 4, "value": 4},
		"awards":          []any{}, "website": "http://chezmarcel.example.fr",
		// Paris in January is UTC+1.
		"open_hours": map[string]any{"mon": []any{
			map[string]any{"open_time": "11:30:00+01:00", "close_time": "14:30:00+01:00"},
			map[string]any{"open_time": "19:00:00+01:00", "close_time": "22:30:00+01:00"}}},
	}
	for k, v := range want {
		if fmt.Sprint(r[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, r[k], v)
		}
	}
	if v, ok := r["email"]; ok {
		t.Errorf("email %v is not a bare address and must be left out", v)
	}
	// In July, the same hours are at UTC+2.
	summerDriver := tripadvisor.New(tripadvisor.Config{Key: tripadvisortest.Key, BaseURL: e.fake.BaseURL(), Now: func() time.Time { return summer }})
	pg, err := summerDriver.Run(context.Background(), nil, platform.Credentials{}, c)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(pg.Results[0]["open_hours"]); !strings.Contains(got, "11:30:00+02:00") {
		t.Errorf("summer hours %s", got)
	}
	// A restaurant without hours or time zone: no open_hours.
	r = e.must(liveCall(t, tripadvisor.SlugExtractRestaurant, in("tripadvisor_restaurant_url",
		"https://www.tripadvisor.com/Restaurant_Review-g187265-d700-Reviews-Bouchon-Lyon.html"))).Results[0]
	if v, ok := r["open_hours"]; ok {
		t.Errorf("open_hours %v", v)
	}
}

func TestReviews(t *testing.T) {
	e := newEnv(t)
	c := liveCall(t, tripadvisor.SlugExtractReviews, map[string]any{"input": map[string]any{"tripadvisor_reviews_url": lumiereURL},
		"parameters": map[string]any{"language": "english"}})
	pg := e.must(c)
	if len(pg.Results) != tripadvisor.MaxReviews || pg.More || pg.NextToken != "" {
		t.Fatalf("%d reviews, more=%v: TripAdvisor gives five and no more", len(pg.Results), pg.More)
	}
	src, _ := e.fake.Location(tripadvisortest.HotelLumiere)
	for i, r := range pg.Results {
		s := src.Reviews[i]
		if r["tripadvisor_review_id"] != int64(s["id"].(int)) || r["tripadvisor_reviews_id"] != fmt.Sprint(s["id"]) ||
			r["review_comment"] != s["text"] || r["review_title"] != s["title"] || r["review_rating"] != float64(s["rating"].(int)) ||
			r["reviewer_name"] != s["user"].(map[string]any)["username"] || r["property"] != "Hotel Lumiere" ||
			r["tripadvisor_reviews_url"] != "https://www.tripadvisor.com/Hotel_Review-g187147-d1234-Reviews-Hotel_Lumiere-Paris.html" ||
			r["review_date"] != s["published_date"].(string)[:10] ||
			r["reviewer_picture"] != s["user"].(map[string]any)["avatar"].(map[string]any)["large"] {
			t.Errorf("review %d: %v\nfrom %v", i, r, s)
		}
		if !strings.HasPrefix(r["tripadvisor_review_url"].(string), "https://www.tripadvisor.com/ShowUserReviews-") ||
			strings.Contains(r["tripadvisor_review_url"].(string), "?") {
			t.Errorf("review %d url %v", i, r["tripadvisor_review_url"])
		}
		// travel_date is a month, except on review 1: only a full date fits
		// the reference's date format.
		if exp, ok := r["experience_date"]; ok != (i == 1) || (ok && exp != "2024-10-03") {
			t.Errorf("review %d experience_date %v", i, exp)
		}
		for _, k := range []string{"tripadvisor_reviewer_url", "review_image"} {
			if _, ok := r[k]; ok {
				t.Errorf("review %d: %s is not in the API", i, k)
			}
		}
	}
	if pg.Results[0]["review_response"] != "Thank you for staying with us!" {
		t.Errorf("owner response %v", pg.Results[0]["review_response"])
	}
	var reviewsQuery map[string][]string
	for _, r := range e.fake.Requests() {
		if strings.HasSuffix(r.Path, "/reviews") {
			reviewsQuery = r.Query
		}
	}
	if fmt.Sprint(reviewsQuery["language"], reviewsQuery["limit"], reviewsQuery["offset"]) != "[en] [5] [0]" {
		t.Errorf("reviews query %v", reviewsQuery)
	}
	// French reviews.
	c.Params = map[string]any{"language": "french"}
	if pg := e.must(c); len(pg.Results) != 2 || pg.Results[0]["review_comment"] != "Séjour parfait." {
		t.Fatalf("french: %v", pg.Results)
	}
	// Page 2: the end, at no cost.
	calls := len(e.fake.Requests())
	c.Page = 2
	if pg := e.must(c); len(pg.Results) != 0 || pg.More {
		t.Fatalf("page 2: %+v", pg)
	}
	if len(e.fake.Requests()) != calls {
		t.Error("page 2 cost a call")
	}
	// An attraction's reviews.
	pg = e.must(liveCall(t, tripadvisor.SlugExtractReviews, reviewsBody(
		"https://www.tripadvisor.com/Attraction_Review-g187147-d188757-Reviews-Louvre_Museum-Paris_Ile_de_France.html", "all")))
	if len(pg.Results) != 1 || pg.Results[0]["property"] != "Louvre Museum" {
		t.Fatalf("%v", pg.Results)
	}
}

func TestSearchStaysInTheGeo(t *testing.T) {
	e := newEnv(t)
	c := liveCall(t, tripadvisor.SlugSearchHotels, in("tripadvisor_search_url", "https://www.tripadvisor.com/Hotels-g187147-Paris_Ile_de_France-Hotels.html"))
	pg := e.must(c)
	if len(pg.Results) != tripadvisortest.ParisHotels || pg.More {
		t.Fatalf("%d hotels, more=%v; want the %d of Paris", len(pg.Results), pg.More, tripadvisortest.ParisHotels)
	}
	for _, r := range pg.Results {
		if r["property_id"] == tripadvisortest.ParisLasVegas {
			t.Fatal("Paris Las Vegas is not in Paris")
		}
		d := details(t, e.fake, r["property_id"].(string))
		if r["name"] != d["name"] || !strings.HasPrefix(r["tripadvisor_hotel_url"].(string), "https://www.tripadvisor.com/Hotel_Review-g187147-d") {
			t.Errorf("%v", r)
		}
		if _, ok := r["photos"]; ok {
			t.Error("photos are not fetched")
		}
		// A result feeds tripadvisor-extract-hotel.
		liveCall(t, tripadvisor.SlugExtractHotel, in("tripadvisor_hotel_url", r["tripadvisor_hotel_url"].(string)))
	}
	reqs := e.fake.Requests()
	if reqs[0].Path != "/location/"+tripadvisortest.GeoParis+"/details" || reqs[1].Path != "/location/search" {
		t.Fatalf("%+v", reqs[:2])
	}
	q := reqs[1].Query
	if fmt.Sprint(q["searchQuery"], q["category"], q["latLong"]) != "[Paris] [hotels] [48.856613,2.352222]" {
		t.Errorf("search query %v", q)
	}
	if len(reqs) > 2+tripadvisor.MaxSearchResults {
		t.Errorf("%d calls for one search page", len(reqs))
	}
	// Restaurants: TripAdvisor returns ten at most, and there is no page 2.
	c = liveCall(t, tripadvisor.SlugSearchRestaurants, in("tripadvisor_search_url", "https://www.tripadvisor.com/FindRestaurants?geo=187147&establishmentTypes=10591"))
	pg = e.must(c)
	if len(pg.Results) != tripadvisor.MaxSearchResults || pg.More {
		t.Fatalf("%d restaurants", len(pg.Results))
	}
	c.Page = 2
	if pg := e.must(c); len(pg.Results) != 0 {
		t.Fatalf("page 2: %v", pg.Results)
	}
	// Lyon's restaurants through a Restaurants-g URL.
	pg = e.must(liveCall(t, tripadvisor.SlugSearchRestaurants, in("tripadvisor_search_url", "https://www.tripadvisor.com/Restaurants-g187265-Lyon_Rhone.html")))
	if len(pg.Results) != 1 || pg.Results[0]["name"] != "Bouchon des Filles" {
		t.Fatalf("%v", pg.Results)
	}
	// An unknown geo.
	_, err := e.run(liveCall(t, tripadvisor.SlugSearchHotels, in("tripadvisor_search_url", "https://www.tripadvisor.com/Hotels-g999999-Nowhere-Hotels.html")))
	if label(err) != "BAD_INPUT" {
		t.Errorf("unknown geo: %v", err)
	}
}

func TestErrorsAreLabelled(t *testing.T) {
	hotelBody := in("tripadvisor_hotel_url", lumiereURL)
	for _, c := range []struct {
		name      string
		key       string
		setup     func(f *tripadvisortest.Server)
		slug      string
		body      map[string]any
		label     string
		transient bool
		check     func(t *testing.T, e *apperr.Error)
	}{
		{name: "unknown key", key: "WRONGKEY0000000000000000000000000", slug: tripadvisor.SlugExtractHotel, body: hotelBody,
			label: platform.LabelIntegration, check: func(t *testing.T, e *apperr.Error) {
				if e.Scope != apperr.ScopeConfig || e.Status != 424 || e.Params[tripadvisor.ParamSetting] != tripadvisor.KeySetting ||
					e.Params[platform.ParamUpstreamStatus] != "401" || !strings.Contains(e.Message, "refused") {
					t.Errorf("%+v", e)
				}
			}},
		{name: "address not allowed", key: "DENIEDKEY000000000000000000000000", setup: func(f *tripadvisortest.Server) { f.DenyKey("DENIEDKEY000000000000000000000000") },
			slug: tripadvisor.SlugSearchHotels, body: in("tripadvisor_search_url", "https://www.tripadvisor.com/Hotels-g187147-Paris-Hotels.html"),
			label: platform.LabelIntegration, check: func(t *testing.T, e *apperr.Error) {
				if e.Params[platform.ParamUpstreamStatus] != "403" || !strings.Contains(e.Message, "explicit deny") || !strings.Contains(e.Message, "IP") {
					t.Errorf("%+v", e)
				}
			}},
		{name: "quota mid-search", setup: func(f *tripadvisortest.Server) { f.SetQuota(3) }, slug: tripadvisor.SlugSearchHotels,
			body:  in("tripadvisor_search_url", "https://www.tripadvisor.com/Hotels-g187147-Paris-Hotels.html"),
			label: platform.Label429, transient: true, check: func(t *testing.T, e *apperr.Error) {
				if e.Params[platform.ParamRetryAfter] != "60" {
					t.Errorf("%+v", e)
				}
			}},
		{name: "unknown location", slug: tripadvisor.SlugExtractHotel,
			body: in("tripadvisor_hotel_url", "https://www.tripadvisor.com/Hotel_Review-g187147-d424242-Reviews-Gone.html"), label: platform.Label404},
		{name: "server error", setup: func(f *tripadvisortest.Server) { f.FailNext(1, 500, "/location/1234/reviews") }, slug: tripadvisor.SlugExtractReviews,
			body: reviewsBody(lumiereURL, "all"), label: platform.LabelGeneric, transient: true},
		{name: "bad gateway", setup: func(f *tripadvisortest.Server) { f.FailNext(1, 502, "") }, slug: tripadvisor.SlugExtractRestaurant,
			body:  in("tripadvisor_restaurant_url", "https://www.tripadvisor.com/Restaurant_Review-g187147-d555-Reviews-X.html"),
			label: platform.LabelGeneric, transient: true},
		{name: "gateway timeout", setup: func(f *tripadvisortest.Server) { f.FailNext(1, 504, "") }, slug: tripadvisor.SlugExtractHotel,
			body: hotelBody, label: platform.LabelLK524, transient: true},
		{name: "no key configured", key: "-", slug: tripadvisor.SlugExtractHotel, body: hotelBody, label: platform.LabelIntegration,
			check: func(t *testing.T, e *apperr.Error) {
				if e.Scope != apperr.ScopeConfig || !strings.Contains(e.Message, tripadvisor.KeySetting) {
					t.Errorf("%+v", e)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := tripadvisortest.New()
			defer f.Close()
			if c.setup != nil {
				c.setup(f)
			}
			key := tripadvisortest.Key
			switch c.key {
			case "":
			case "-":
				key = ""
			default:
				key = c.key
			}
			d := tripadvisor.New(tripadvisor.Config{Key: key, BaseURL: f.BaseURL()})
			_, err := d.Run(context.Background(), http.DefaultClient, platform.Credentials{}, liveCall(t, c.slug, c.body))
			e, ok := apperr.As(err)
			if !ok || e.Label != c.label || e.Status != 424 {
				t.Fatalf("got %v, want %s", err, c.label)
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
				t.Error("a call without a key reached TripAdvisor")
			}
		})
	}
}

func TestKeyNeverInTransportErrors(t *testing.T) {
	f := tripadvisortest.New()
	d := tripadvisor.New(tripadvisor.Config{Key: tripadvisortest.Key, BaseURL: f.BaseURL()})
	if _, err := d.Me(context.Background(), nil, platform.Credentials{}); err != nil {
		t.Fatalf("Me: %v", err)
	}
	f.Close()
	_, err := d.Run(context.Background(), http.DefaultClient, platform.Credentials{}, liveCall(t, tripadvisor.SlugExtractHotel, in("tripadvisor_hotel_url", lumiereURL)))
	if label(err) != platform.LabelGeneric || !platform.Transient(err) {
		t.Fatalf("closed server: %v", err)
	}
	noKey(t, err, tripadvisortest.Key)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = d.Run(ctx, http.DefaultClient, platform.Credentials{}, liveCall(t, tripadvisor.SlugExtractHotel, in("tripadvisor_hotel_url", lumiereURL)))
	if err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("canceled: %v", err)
	}
	noKey(t, err, tripadvisortest.Key)
	// Me with a refused key.
	g := tripadvisortest.New()
	defer g.Close()
	_, err = tripadvisor.New(tripadvisor.Config{Key: "NOPE", BaseURL: g.BaseURL()}).Me(context.Background(), nil, platform.Credentials{})
	if label(err) != platform.LabelIntegration {
		t.Errorf("Me with a bad key: %v", err)
	}
}

func TestHostileURLs(t *testing.T) {
	e := newEnv(t)
	common := []string{
		"", "  ", "javascript:alert(1)", "https://evil.example/Hotel_Review-g1-d2-Reviews.html",
		"https://www.tripadvisor.com.evil.example/Hotels-g187147-Paris-Hotels.html",
		"https://www.tripadvisor.com/" + strings.Repeat("%", 5000), "https://www.tripadvisor.com/%zz",
		"//www.tripadvisor.com/Hotels-g187147-x.html", "ftp://www.tripadvisor.com/Hotels-g187147-x.html",
	}
	locations := append([]string{
		"https://www.tripadvisor.com/Hotel_Review-g187147-Reviews.html", "https://www.tripadvisor.com/Hotel_Review-g1-d../../x",
		"https://www.tripadvisor.com/Hotel_Review-g1-d99999999999999999999-x.html",
		"https://www.tripadvisor.com/Hotels-g187147-Paris-Hotels.html",
	}, common...)
	searches := append([]string{
		"https://www.tripadvisor.com/Hotels-gabc-Paris-Hotels.html", "https://www.tripadvisor.com/FindRestaurants?geo=../1",
		"https://www.tripadvisor.com/FindRestaurants", lumiereURL,
	}, common...)
	for _, c := range []struct {
		slug, field string
		urls        []string
	}{
		{tripadvisor.SlugExtractHotel, "tripadvisor_hotel_url", locations},
		{tripadvisor.SlugExtractRestaurant, "tripadvisor_restaurant_url", locations},
		{tripadvisor.SlugExtractReviews, "tripadvisor_reviews_url", locations},
		{tripadvisor.SlugSearchHotels, "tripadvisor_search_url", searches},
		{tripadvisor.SlugSearchRestaurants, "tripadvisor_search_url", searches},
	} {
		for _, raw := range c.urls {
			_, err := e.run(platform.Call{Action: mustAction(t, c.slug), Input: map[string]any{c.field: raw}, Page: 1})
			ae, ok := apperr.As(err)
			if !ok || ae.Status != 400 || ae.Label != "BAD_INPUT" || ae.Message == "" {
				t.Errorf("%s %q: %v, want a clear BAD_INPUT", c.slug, raw, err)
			}
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("hostile URLs cost %d calls", n)
	}
}

func TestUnknownSlugAndNotes(t *testing.T) {
	e := newEnv(t)
	_, err := e.run(platform.Call{Action: mustAction(t, "googlemaps-extract-place"), Input: map[string]any{}, Page: 1})
	if label(err) != platform.LabelIntegration {
		t.Fatalf("%v", err)
	}
	n := e.d.Notes()
	slugs := []string{tripadvisor.SlugExtractHotel, tripadvisor.SlugExtractRestaurant, tripadvisor.SlugExtractReviews,
		tripadvisor.SlugSearchHotels, tripadvisor.SlugSearchRestaurants}
	if len(n) != len(slugs) {
		t.Fatalf("%v", n)
	}
	for _, s := range slugs {
		mustAction(t, s)
		if n[s] == "" {
			t.Errorf("no note for %s", s)
		}
	}
	if !strings.Contains(n[tripadvisor.SlugExtractReviews], "5 most recent") || !strings.Contains(n[tripadvisor.SlugSearchHotels], "at most 10") {
		t.Errorf("the notes must state the API's limits: %v", n)
	}
}

func TestRefererAndCurrency(t *testing.T) {
	var got http.Header
	var query string
	f := tripadvisortest.New()
	defer f.Close()
	srv := http.NewServeMux()
	srv.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		got, query = r.Header.Clone(), r.URL.RawQuery
		f.ServeHTTP(w, r)
	})
	hc := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		res := rec.Result()
		res.Request = r
		return res, nil
	})}
	d := tripadvisor.New(tripadvisor.Config{Key: tripadvisortest.Key, BaseURL: "https://api.example/api/v1", Referer: "https://firstmate.example",
		Currency: "EUR", Language: "fr"})
	if _, err := d.Run(context.Background(), hc, platform.Credentials{}, liveCall(t, tripadvisor.SlugExtractHotel, in("tripadvisor_hotel_url", lumiereURL))); err != nil {
		t.Fatal(err)
	}
	if got.Get("Referer") != "https://firstmate.example" || !strings.Contains(query, "currency=EUR") || !strings.Contains(query, "language=fr") {
		t.Errorf("headers %v query %s", got, query)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
