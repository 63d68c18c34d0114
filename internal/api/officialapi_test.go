package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/platform/places/placestest"
	"github.com/firstmate-oss/firstmate/internal/platform/tripadvisor/tripadvisortest"
	"github.com/firstmate-oss/firstmate/internal/reftest"
	"github.com/firstmate-oss/firstmate/internal/validate"
)

// referenceOutputs compiles the reference's output schema of each action
// (e.g. GooglemapsExtractPlaceOutput), from the vendor file itself.
func referenceOutputs(t *testing.T) func(slug string) *validate.Schema {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(reftest.Read(t, reftest.ActionsOpenAPI), &doc); err != nil {
		t.Fatal(err)
	}
	compiled := map[string]*validate.Schema{}
	return func(slug string) *validate.Schema {
		if s, ok := compiled[slug]; ok {
			return s
		}
		name := ""
		for _, part := range strings.Split(slug, "-") {
			name += strings.ToUpper(part[:1]) + part[1:]
		}
		src, ok := doc.Components.Schemas[name+"Output"]
		if !ok {
			t.Fatalf("the reference has no %sOutput", name)
		}
		s, err := validate.Compile(name+"Output", src)
		if err != nil {
			t.Fatal(err)
		}
		compiled[slug] = s
		return s
	}
}

// checkAgainstReference validates results, as the client received them,
// against the reference output schema, and checks they hold only the
// action's output fields.
func checkAgainstReference(t *testing.T, schema func(string) *validate.Schema, slug string, results []any) {
	t.Helper()
	a, _ := catalog.Get(slug)
	known := map[string]bool{}
	for _, f := range a.Outputs {
		known[f.Name] = true
	}
	if len(results) == 0 {
		t.Errorf("%s: no result", slug)
	}
	for i, r := range results {
		m, ok := r.(map[string]any)
		if !ok {
			t.Errorf("%s result %d is not an object: %v", slug, i, r)
			continue
		}
		for k := range m {
			if !known[k] {
				t.Errorf("%s result %d: field %q is not an output of the action", slug, i, k)
			}
		}
		b, _ := json.Marshal(m)
		v, e := validate.DecodeJSON(b)
		if e != nil {
			t.Fatal(e)
		}
		if e := schema(slug).Validate("output", v); e != nil {
			t.Errorf("%s result %d does not match the reference: %s\n%s", slug, i, e.Message, b)
		}
	}
}

// asList is a live body as a list of results (an object is one result).
func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// Google Maps routed to the Places API (against placestest, which speaks
// its documented format) and TripAdvisor to the Content API (against
// tripadvisortest), through the API: live and async, outputs valid against
// the reference, and a key the platform refuses answers a clear 424 naming
// the setting, live and async.
func TestOfficialAPIDriversThroughTheAPI(t *testing.T) {
	schema := referenceOutputs(t)
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		// The fakes sit behind a switch that, once thrown, swaps the key
		// each request carries for one the platform does not know (Google
		// answers 400 API_KEY_INVALID, TripAdvisor 401).
		var refuse atomic.Bool
		gm := placestest.NewUnstarted()
		gs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() {
				r.Header.Set("X-Goog-Api-Key", "AIzaSy-a-key-google-does-not-know")
			}
			gm.ServeHTTP(w, r)
		}))
		defer gs.Close()
		ta := tripadvisortest.NewUnstarted()
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() {
				q := r.URL.Query()
				q.Set("key", "NOT-A-TRIPADVISOR-KEY")
				r.URL.RawQuery = q.Encode()
			}
			ta.ServeHTTP(w, r)
		}))
		defer ts.Close()
		t.Setenv("FIRSTMATE_PLATFORM_GOOGLEMAPS", "places")
		t.Setenv("FIRSTMATE_GOOGLE_PLACES_KEY", placestest.Key)
		t.Setenv("FIRSTMATE_GOOGLE_PLACES_URL", gs.URL)
		t.Setenv("FIRSTMATE_PLATFORM_TRIPADVISOR", "contentapi")
		t.Setenv("FIRSTMATE_TRIPADVISOR_KEY", tripadvisortest.Key)
		t.Setenv("FIRSTMATE_TRIPADVISOR_URL", ts.URL+"/api/v1")
		env := apitest.StartWithLoopbackCallbacks(t, dialect)
		key := env.NewWorkspace("Official APIs", "unlimited")
		rcv := httptest.NewServer(&hookReceiver{})
		defer rcv.Close()

		d := env.Must(200, "GET", "/v4/actions/googlemaps-extract-reviews", key, nil).Obj()
		if drv, _ := d["driver"].(map[string]any); d["available"] != true || drv["kind"] != "builtin" || drv["name"] != "places" ||
			!strings.Contains(d["limitations"].(string), "5 reviews") {
			t.Errorf("GET /actions/googlemaps-extract-reviews: %v", d)
		}
		d = env.Must(200, "GET", "/v4/actions/tripadvisor-search-hotels", key, nil).Obj()
		if drv, _ := d["driver"].(map[string]any); drv["name"] != "contentapi" || !strings.Contains(d["limitations"].(string), "10") {
			t.Errorf("GET /actions/tripadvisor-search-hotels: %v", d)
		}

		place := "https://www.google.com/maps/place/?q=place_id:" + placestest.IDCafeLumiere
		hotel := "https://www.tripadvisor.com/Hotel_Review-g187147-d1234-Reviews-Hotel_Lumiere-Paris_Ile_de_France.html"
		lives := []struct {
			slug   string
			input  map[string]any
			params map[string]any
		}{
			{"googlemaps-extract-place", map[string]any{"google_maps_place_url": place}, nil},
			{"googlemaps-extract-reviews", map[string]any{"google_maps_place_url": place}, nil},
			{"googlemaps-search-places", map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/bakery+in+lyon/"}, nil},
			{"tripadvisor-extract-hotel", map[string]any{"tripadvisor_hotel_url": hotel}, nil},
			{"tripadvisor-extract-restaurant", map[string]any{"tripadvisor_restaurant_url": "https://www.tripadvisor.com/Restaurant_Review-g187147-d555-Reviews-Chez_Marcel-Paris_Ile_de_France.html"}, nil},
			{"tripadvisor-extract-reviews", map[string]any{"tripadvisor_reviews_url": hotel}, map[string]any{"language": "english"}},
			{"tripadvisor-search-hotels", map[string]any{"tripadvisor_search_url": "https://www.tripadvisor.com/Hotels-g187147-Paris_Ile_de_France-Hotels.html"}, nil},
			{"tripadvisor-search-restaurants", map[string]any{"tripadvisor_search_url": "https://www.tripadvisor.com/Restaurants-g187265-Lyon_Rhone.html"}, nil},
		}
		for _, l := range lives {
			body := map[string]any{"input": l.input}
			if l.params != nil {
				body["parameters"] = l.params
			}
			r := env.Must(200, "POST", "/v4/actions/"+l.slug+"/run/live", key, body)
			checkAgainstReference(t, schema, l.slug, asList(r.JSON()))
		}
		// The search pages on with Google's page token, behind the API's own
		// next link.
		r := env.Must(200, "POST", "/v4/actions/googlemaps-search-places/run/live", key, map[string]any{"input": lives[2].input})
		next := r.Header.Get("X-Pagination-Next")
		if next == "" {
			t.Fatal("no next page for 45 bakeries")
		}
		u, _ := url.Parse(next)
		page2 := env.Must(200, "POST", u.RequestURI(), key, map[string]any{"input": lives[2].input})
		checkAgainstReference(t, schema, "googlemaps-search-places", page2.Arr())
		if page2.Arr()[0].(map[string]any)["google_maps_place_url"] == r.Arr()[0].(map[string]any)["google_maps_place_url"] {
			t.Error("page 2 repeats page 1")
		}

		// Async: each input's results stored and valid.
		for _, c := range []struct {
			slug   string
			inputs []any
		}{
			{"googlemaps-extract-place", []any{map[string]any{"google_maps_place_url": place},
				map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/?q=place_id:" + placestest.IDPetitZinc}}},
			{"tripadvisor-extract-hotel", []any{map[string]any{"tripadvisor_hotel_url": hotel}}},
		} {
			run := env.Must(200, "POST", "/v4/actions/"+c.slug+"/run/async", key,
				map[string]any{"inputs": c.inputs, "callback": map[string]any{"url": rcv.URL, "on": "final"}}).Obj()
			uid := run["run_uid"].(string)
			done := waitRun(t, env, key, "/v4/runs/"+uid, "SUCCEEDED")
			outs := env.Must(200, "GET", "/v4/runs/"+uid+"/outputs?limit=100", key, nil).Arr()
			if len(outs) != len(c.inputs) || done["output_count"] != float64(len(c.inputs)) {
				t.Errorf("%s async: %d outputs, run %v", c.slug, len(outs), done)
			}
			checkAgainstReference(t, schema, c.slug, outs)
		}
		if len(gm.Requests()) == 0 || len(ta.Requests()) == 0 {
			t.Fatal("the official APIs' fakes were never called: the routes did not reach them")
		}

		// Keys the platforms refuse: a clear 424 that names the setting.
		refuse.Store(true)
		for _, c := range []struct{ slug, setting string }{{lives[0].slug, "FIRSTMATE_GOOGLE_PLACES_KEY"}, {lives[3].slug, "FIRSTMATE_TRIPADVISOR_KEY"}} {
			in := lives[0].input
			if c.slug == lives[3].slug {
				in = lives[3].input
			}
			body := checkError(t, env, c.slug+" refused key", env.Do("POST", "/v4/actions/"+c.slug+"/run/live", key,
				map[string]any{"input": in}), 424, "INTEGRATION_ERROR")
			if p, _ := body["params"].(map[string]any); body["error_scope"] != "config" || p["setting"] != c.setting ||
				!strings.Contains(body["message"].(string), c.setting) {
				t.Errorf("%s refused key: %v", c.slug, body)
			}
			cbs := &hookReceiver{}
			cs := httptest.NewServer(cbs)
			run := env.Must(200, "POST", "/v4/actions/"+c.slug+"/run/async", key,
				map[string]any{"inputs": []any{in}, "callback": map[string]any{"url": cs.URL, "on": "all"}}).Obj()
			failed := waitRun(t, env, key, "/v4/runs/"+run["run_uid"].(string), "FAILED")
			if failed["output_count"] != float64(0) {
				t.Errorf("%s async, refused key: %v", c.slug, failed)
			}
			// The input's callback carries the error (the final one comes
			// after it).
			deadline := time.Now().Add(20 * time.Second)
			for len(cbs.events()) < 2 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			cs.Close()
			var inputErr map[string]any
			for _, ev := range cbs.events() {
				if e, ok := ev["error"].(map[string]any); ok && ev["input"] != nil {
					inputErr = e
				}
			}
			if p, _ := inputErr["params"].(map[string]any); inputErr["error_label"] != "INTEGRATION_ERROR" || p["setting"] != c.setting {
				t.Errorf("%s async, refused key: the input's error is %v", c.slug, inputErr)
			}
		}
	})
}
