package tripadvisortest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// The fake's own contract, checked with raw HTTP as TripAdvisor documents it.

func get(t *testing.T, s *Server, path string, q url.Values) (int, map[string]any) {
	t.Helper()
	res, err := http.Get(s.BaseURL() + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func TestFakeContract(t *testing.T) {
	s := New()
	defer s.Close()
	if code, out := get(t, s, "/location/1234/details", url.Values{}); code != 401 || out["error"] == nil {
		t.Errorf("no key: %d %v", code, out)
	}
	if code, _ := get(t, s, "/location/abc/details", url.Values{"key": {Key}}); code != 400 {
		t.Errorf("non-numeric id: %d", code)
	}
	if code, _ := get(t, s, "/location/424242/details", url.Values{"key": {Key}}); code != 404 {
		t.Errorf("unknown id: %d", code)
	}
	if code, _ := get(t, s, "/location/search", url.Values{"key": {Key}}); code != 400 {
		t.Errorf("search without query: %d", code)
	}
	_, out := get(t, s, "/location/search", url.Values{"key": {Key}, "searchQuery": {"Paris"}, "category": {"restaurants"}})
	if data := out["data"].([]any); len(data) != MaxSearchResults {
		t.Errorf("search gave %d, want at most %d", len(data), MaxSearchResults)
	}
	_, out = get(t, s, "/location/1234/reviews", url.Values{"key": {Key}, "limit": {"50"}})
	if data := out["data"].([]any); len(data) != MaxReviews {
		t.Errorf("reviews gave %d, want %d", len(data), MaxReviews)
	}
	_, out = get(t, s, "/location/1234/reviews", url.Values{"key": {Key}, "language": {"fr"}})
	if data := out["data"].([]any); len(data) != 2 {
		t.Errorf("french reviews %d", len(data))
	}
	s.DenyKey("other")
	if code, out := get(t, s, "/location/1234/details", url.Values{"key": {"other"}}); code != 403 || out["message"] == nil {
		t.Errorf("denied: %d %v", code, out)
	}
	s.SetQuota(1)
	get(t, s, "/location/1234/details", url.Values{"key": {Key}})
	if code, _ := get(t, s, "/location/1234/details", url.Values{"key": {Key}}); code != 429 {
		t.Errorf("quota: %d", code)
	}
	for _, r := range s.Requests() {
		if _, ok := r.Query["key"]; ok {
			t.Fatal("the fake keeps keys")
		}
	}
}
