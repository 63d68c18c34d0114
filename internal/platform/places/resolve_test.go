package places

import (
	"net/http"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

func TestParsePlaceURL(t *testing.T) {
	const id = "ChIJN1t_tDeuEmsRUsoyG83frY4"
	for _, c := range []struct {
		raw      string
		id, name string
		lat, lng float64
		point    bool
	}{
		{raw: "https://www.google.com/maps/place/?q=place_id:" + id, id: id},
		{raw: "https://www.google.com/maps/search/?api=1&query=Google&query_place_id=" + id, id: id},
		{raw: "https://maps.google.com/?place_id=" + id, id: id},
		{raw: "https://www.google.com/maps/place/Sydney+Opera+House/@-33.8567844,151.213108,17z/data=!3m1!4b1!4m6!3m5!1s0x6b12ae665e892fdd:0x3133f8d75a1ac251!8m2!3d-33.8567844!4d151.2152967!16zL20vMDZfbm0", name: "Sydney Opera House", lat: -33.8567844, lng: 151.2152967, point: true},
		{raw: "https://www.google.fr/maps/place/Caf%C3%A9+de+Flore/@48.854,2.3326,17z", name: "Café de Flore", lat: 48.854, lng: 2.3326, point: true},
		{raw: "https://www.google.co.uk/maps/place/Big+Ben/", name: "Big Ben"},
		{raw: "https://www.google.com/maps/place/X/data=!4m2!3m1!19s" + id, id: id},
		{raw: "https://www.google.com/maps/place/Name/@10.5,-20.25,1500m/data=!3m1", name: "Name", lat: 10.5, lng: -20.25, point: true},
	} {
		ref, err := parsePlaceURL(c.raw)
		if err != nil {
			t.Errorf("%s: %v", c.raw, err)
			continue
		}
		if ref.id != c.id || ref.name != c.name || ref.hasPoint != c.point || ref.lat != c.lat || ref.lng != c.lng {
			t.Errorf("%s: %+v", c.raw, ref)
		}
		if ref.hasPoint && (ref.radius < 100 || ref.radius > 50000) {
			t.Errorf("%s: radius %v", c.raw, ref.radius)
		}
	}
	for _, raw := range []string{"https://maps.app.goo.gl/AbCdEf", "https://goo.gl/maps/xyz", "https://g.page/some-cafe"} {
		if ref, err := parsePlaceURL(raw); err != nil || !ref.short {
			t.Errorf("%s: %+v %v", raw, ref, err)
		}
	}
	// goo.gl outside /maps is not a maps link.
	if _, err := parsePlaceURL("https://goo.gl/other"); err == nil {
		t.Error("goo.gl/other accepted")
	}
}

func TestRadiusFollowsZoom(t *testing.T) {
	wide, _ := parsePlaceURL("https://www.google.com/maps/place/X/@48.85,2.35,10z")
	close, _ := parsePlaceURL("https://www.google.com/maps/place/X/@48.85,2.35,18z")
	if !(wide.radius > close.radius) || close.radius < 100 || close.radius > 500 || wide.radius > 50000 {
		t.Errorf("zoom 10: %v m, zoom 18: %v m", wide.radius, close.radius)
	}
}

func TestParseSearchURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://www.google.com/maps/search/bakery+in+lyon/":                        "bakery in lyon",
		"https://www.google.fr/maps/search/boulangerie+%C3%A0+Lyon/@45.76,4.83,13z": "boulangerie à Lyon",
		"https://www.google.com/maps/search/?api=1&query=pizza+seattle":             "pizza seattle",
		"https://www.google.com/maps?q=coffee+near+me":                              "coffee near me",
	} {
		ref, err := parseSearchURL(raw)
		if err != nil || ref.query != want {
			t.Errorf("%s: %q %v", raw, ref.query, err)
		}
	}
}

func TestMapErrorReadsGoogleBodies(t *testing.T) {
	const key = "AIzaSySECRET-key-for-test-000000000000"
	h := http.Header{}
	// RetryInfo gives the wait when no Retry-After header is sent.
	err := mapError(429, h, []byte(`{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED",
		"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"41.2s"}]}}`), key)
	if platform.RetryAfter(err) != 42 || !platform.Transient(err) {
		t.Errorf("RetryInfo: %v", err)
	}
	h.Set("Retry-After", "7")
	if err := mapError(429, h, nil, key); platform.RetryAfter(err) != 7 {
		t.Errorf("Retry-After: %v", err)
	}
	// An unknown key without details, and a message that echoes the key.
	err = mapError(400, http.Header{}, []byte(`{"error":{"code":400,"message":"API key not valid: `+key+`","status":"INVALID_ARGUMENT"}}`), key)
	e, _ := apperr.As(err)
	if e == nil || e.Label != platform.LabelIntegration || e.Scope != apperr.ScopeConfig || strings.Contains(err.Error(), key) {
		t.Errorf("%v", err)
	}
	// Other 400s are the input's fault.
	err = mapError(400, http.Header{}, []byte(`{"error":{"code":400,"message":"Invalid page_token.","status":"INVALID_ARGUMENT"}}`), key)
	if e, _ := apperr.As(err); e == nil || e.Label != "BAD_INPUT" || e.Params[platform.ParamUpstreamCode] != "INVALID_ARGUMENT" {
		t.Errorf("%v", err)
	}
	// Not JSON at all.
	if err := mapError(502, http.Header{}, []byte("<html>bad gateway</html>"), key); !platform.Transient(err) {
		t.Errorf("%v", err)
	}
}

// FuzzParseURL: any input gives a reference or a BAD_INPUT, never a panic.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"https://www.google.com/maps/place/?q=place_id:ChIJN1t_tDeuEmsRUsoyG83frY4",
		"https://www.google.com/maps/place/Name/@48.8,2.3,15z/data=!3d1!4d2",
		"https://www.google.com/maps/search/x+y/@1,2,3z",
		"https://maps.app.goo.gl/x", "https://www.google.com/maps/place/%", "http://[::1]:namedport", "",
		"https://www.google.com/maps/place/X/@-0,-0,99999999999999999999z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (placeRef, error){parsePlaceURL, parseSearchURL} {
			ref, err := parse(s)
			if err != nil {
				if e, ok := apperr.As(err); !ok || e.Label != "BAD_INPUT" {
					t.Fatalf("%q: %v", s, err)
				}
				continue
			}
			if ref.id != "" && !validID(ref.id) {
				t.Fatalf("%q: id %q", s, ref.id)
			}
			if ref.hasPoint && (ref.radius < 100 || ref.radius > 50000 || ref.lat != ref.lat) {
				t.Fatalf("%q: %+v", s, ref)
			}
		}
	})
}
