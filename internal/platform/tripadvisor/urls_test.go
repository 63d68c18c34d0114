package tripadvisor

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

func TestParseLocationURL(t *testing.T) {
	for raw, want := range map[string]locationRef{
		"https://www.tripadvisor.com/Hotel_Review-g187147-d123456-Reviews-Name-City.html":               {"187147", "123456"},
		"https://www.tripadvisor.fr/Restaurant_Review-g187265-d700-Reviews-Bouchon-Lyon.html":           {"187265", "700"},
		"https://fr.tripadvisor.ch/Attraction_Review-g188045-d1-Reviews-X.html":                         {"188045", "1"},
		"https://www.tripadvisor.co.uk/AttractionProductReview-g187147-d11447424-Tour.html":             {"187147", "11447424"},
		"https://www.tripadvisor.com.au/ShowUserReviews-g187147-d1234-r900000-Reviews-Hotel.html?x=1#y": {"187147", "1234"},
		"http://tripadvisor.com/Hotel_Review-g1-d2.html":                                                {"1", "2"},
	} {
		got, err := parseLocationURL(raw)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v", raw, got, err)
		}
	}
}

func TestParseSearchURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://www.tripadvisor.com/Hotels-g187147-Paris_Ile_de_France-Hotels.html":      "187147",
		"https://www.tripadvisor.com/Hotels-g187147-oa30-Paris_Ile_de_France-Hotels.html": "187147",
		"https://www.tripadvisor.fr/Restaurants-g187265-c20-Lyon_Rhone.html":              "187265",
		"https://www.tripadvisor.com/Attractions-g187147-Activities-Paris.html":           "187147",
		"https://www.tripadvisor.com/FindRestaurants?geo=187147&establishmentTypes=10591": "187147",
		"https://www.tripadvisor.com/Restaurants-g187147":                                 "187147",
	} {
		got, err := parseSearchURL(raw)
		if err != nil || got != want {
			t.Errorf("%s: %q %v", raw, got, err)
		}
	}
}

// The documentation types IDs and ratings as numbers; the API sends strings.
// The driver reads both.
func TestDocumentedNumericTypes(t *testing.T) {
	var l location
	if err := json.Unmarshal([]byte(`{"location_id": 1234, "name": "X", "rating": 4.5, "num_reviews": "1,234",
		"ranking_data": {"geo_location_id": 187147, "ranking": 3}, "latitude": 48.8, "longitude": null,
		"ancestors": [{"location_id": 187147}], "subratings": {"0": {"name": "rate_food", "value": 4}},
		"awards": [{"award_type": "Travelers Choice", "year": 2023}]}`), &l); err != nil {
		t.Fatal(err)
	}
	h := hotelOutput(l)
	if h["grade"] != 4.5 || h["number_reviews"] != int64(1234) || h["ranking"] != float64(3) || !l.inGeo("187147") ||
		l.Latitude != "48.8" || l.Longitude != "" || l.ID != "1234" {
		t.Errorf("%v %+v", h, l)
	}
	if got := restaurantOutput(l, time.Now())["breakdown_grade"].(map[string]any)["food"]; got != float64(4) {
		t.Errorf("food %v", got)
	}
	if got := h["awards"].([]any); len(got) != 1 || got[0] != "Travelers Choice 2023" {
		t.Errorf("awards %v", got)
	}
	var r review
	if err := json.Unmarshal([]byte(`{"id": "900001", "rating": "4", "published_date": "2025-03-14T10:01:20-0400", "user": {"avatar": {"small": 3}}}`), &r); err != nil {
		t.Fatal(err)
	}
	m := reviewOutput(r, "", "")
	if m["tripadvisor_review_id"] != int64(900001) || m["review_rating"] != float64(4) || m["review_date"] != "2025-03-14" {
		t.Errorf("%v", m)
	}
	if _, ok := m["reviewer_picture"]; ok {
		t.Error("a non-URL avatar is no picture")
	}
}

func TestMapErrorBodies(t *testing.T) {
	d := New(Config{Key: "SECRETKEY123"})
	// The gateway's form, and a message that quotes the key.
	err := mapError(403, http.Header{}, []byte(`{"message":"User is not authorized (key=SECRETKEY123)"}`), d)
	if e, ok := apperr.As(err); !ok || e.Label != platform.LabelIntegration || strings.Contains(err.Error(), "SECRETKEY123") {
		t.Errorf("%v", err)
	}
	err = mapError(429, http.Header{"Retry-After": {"3"}}, []byte(`{"error":{"message":"Limit Exceeded","type":"Throttled","code":"429"}}`), d)
	if platform.RetryAfter(err) != 3 || !platform.Transient(err) {
		t.Errorf("%v", err)
	}
	err = mapError(400, http.Header{}, []byte(`not json`), d)
	if e, ok := apperr.As(err); !ok || e.Label != "BAD_INPUT" || e.Message == "" {
		t.Errorf("%v", err)
	}
}

func FuzzParseURLs(f *testing.F) {
	for _, s := range []string{
		"https://www.tripadvisor.com/Hotel_Review-g187147-d123456-Reviews-Name-City.html",
		"https://www.tripadvisor.com/Hotels-g187147-Paris-Hotels.html",
		"https://www.tripadvisor.com/FindRestaurants?geo=187147", "https://x/%", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ref, err := parseLocationURL(s); err != nil {
			if e, ok := apperr.As(err); !ok || e.Label != "BAD_INPUT" {
				t.Fatalf("%q: %v", s, err)
			}
		} else if !numericRe.MatchString(ref.location) {
			t.Fatalf("%q: location %q", s, ref.location)
		}
		if geo, err := parseSearchURL(s); err != nil {
			if e, ok := apperr.As(err); !ok || e.Label != "BAD_INPUT" {
				t.Fatalf("%q: %v", s, err)
			}
		} else if !numericRe.MatchString(geo) {
			t.Fatalf("%q: geo %q", s, geo)
		}
	})
}
