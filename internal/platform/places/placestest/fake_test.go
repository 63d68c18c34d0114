package placestest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// The fake's own contract, checked with raw HTTP as Google documents it.

func call(t *testing.T, s *Server, method, path, key, mask string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	if key != "" {
		req.Header.Set("X-Goog-Api-Key", key)
	}
	if mask != "" {
		req.Header.Set("X-Goog-FieldMask", mask)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func status(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	s, _ := e["status"].(string)
	return s
}

func TestFakeKeysAndMasks(t *testing.T) {
	s := New()
	defer s.Close()
	path := "/v1/places/" + IDCafeLumiere
	if code, out := call(t, s, "GET", path, "", "id", nil); code != 403 || status(out) != "PERMISSION_DENIED" {
		t.Errorf("no key: %d %v", code, out)
	}
	if code, out := call(t, s, "GET", path, "wrong", "id", nil); code != 400 || status(out) != "INVALID_ARGUMENT" {
		t.Errorf("bad key: %d %v", code, out)
	}
	if code, out := call(t, s, "GET", path, Key, "", nil); code != 400 || status(out) != "INVALID_ARGUMENT" {
		t.Errorf("no mask: %d %v", code, out)
	}
	if code, _ := call(t, s, "GET", path, Key, "id,notAField", nil); code != 400 {
		t.Errorf("unknown field: %d", code)
	}
	code, out := call(t, s, "GET", path, Key, "displayName,reviews.rating", nil)
	if code != 200 || len(out) != 2 || out["formattedAddress"] != nil {
		t.Fatalf("mask not applied: %v", out)
	}
	revs := out["reviews"].([]any)
	if len(revs) != MaxReviews || len(revs[0].(map[string]any)) != 1 {
		t.Errorf("reviews %v", revs)
	}
	if code, out := call(t, s, "GET", "/v1/places/ChIJnothere000000000000000", Key, "id", nil); code != 404 || status(out) != "NOT_FOUND" {
		t.Errorf("unknown place: %d %v", code, out)
	}
	if got := s.Requests()[4].SKU; got != SKUDetailsAtmosphere {
		t.Errorf("reviews billed as %q", got)
	}
}

func TestFakeTextSearchPages(t *testing.T) {
	s := New()
	defer s.Close()
	body := map[string]any{"textQuery": "bakery lyon", "pageSize": 20}
	if code, _ := call(t, s, "POST", "/v1/places:searchText", Key, "places.id", map[string]any{"textQuery": "x", "pageSize": -1}); code != 400 {
		t.Errorf("negative page size: %d", code)
	}
	_, out := call(t, s, "POST", "/v1/places:searchText", Key, "places.id", body)
	if _, ok := out["nextPageToken"]; ok {
		t.Error("nextPageToken returned without being in the mask")
	}
	total, tok := 0, ""
	for i := 0; i < 5; i++ {
		b := map[string]any{"textQuery": "bakery lyon", "pageSize": 20}
		if tok != "" {
			b["pageToken"] = tok
		}
		code, out := call(t, s, "POST", "/v1/places:searchText", Key, "places.id,nextPageToken", b)
		if code != 200 {
			t.Fatalf("%d %v", code, out)
		}
		ps, _ := out["places"].([]any)
		total += len(ps)
		tok, _ = out["nextPageToken"].(string)
		if tok == "" {
			break
		}
	}
	if total != LyonBakeries {
		t.Errorf("%d places over the pages", total)
	}
	_, out = call(t, s, "POST", "/v1/places:searchText", Key, "places.id,nextPageToken", body)
	changed := map[string]any{"textQuery": "bakery", "pageToken": out["nextPageToken"]}
	if code, _ := call(t, s, "POST", "/v1/places:searchText", Key, "places.id", changed); code != 400 {
		t.Errorf("a token with other parameters: %d", code)
	}
	s.SetQuota(1)
	call(t, s, "POST", "/v1/places:searchText", Key, "places.id", body)
	if code, out := call(t, s, "POST", "/v1/places:searchText", Key, "places.id", body); code != 429 || status(out) != "RESOURCE_EXHAUSTED" {
		t.Errorf("quota: %d %v", code, out)
	}
}
