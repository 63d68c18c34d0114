package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apitest"
	"github.com/firstmate-oss/firstmate/internal/app"
)

// lvPage is one page fetched by following the pagination headers.
type lvPage struct {
	url        string
	keys       []string
	next, prev string
}

// lvFollow fetches firstURL, then follows X-Pagination-Next full URLs with the
// same body until an empty array or no next header. It fails on duplicates.
func lvFollow(t *testing.T, key, firstURL string, body map[string]any, idField string) []lvPage {
	t.Helper()
	var pages []lvPage
	seen := map[string]int{}
	u := firstURL
	for n := 1; u != ""; n++ {
		if n > 500 {
			t.Fatal("no end after 500 pages")
		}
		r := lvDo(t, "POST", u, key, body)
		if r.Status != 200 {
			t.Fatalf("page %d (%s): %d %s", n, u, r.Status, lvTrunc(r.Body))
		}
		var arr []map[string]any
		if err := json.Unmarshal(r.Body, &arr); err != nil {
			t.Fatalf("page %d: not an array: %v", n, err)
		}
		pg := lvPage{url: u, next: r.Header.Get("X-Pagination-Next"), prev: r.Header.Get("X-Pagination-Previous")}
		for _, x := range arr {
			k, _ := x[idField].(string)
			if k == "" {
				t.Fatalf("page %d: result without %s", n, idField)
			}
			if p, dup := seen[k]; dup {
				t.Fatalf("%s appears on page %d and again on page %d", k, p, n)
			}
			seen[k] = n
			pg.keys = append(pg.keys, k)
		}
		pages = append(pages, pg)
		if len(arr) == 0 {
			if pg.next != "" {
				t.Fatalf("empty page %d still links to a next page", n)
			}
			break
		}
		if pg.next != "" && !strings.HasPrefix(pg.next, "http://") {
			t.Fatalf("X-Pagination-Next %q is not a full URL", pg.next)
		}
		u = pg.next
	}
	return pages
}

func lvKeys(pages []lvPage) []string {
	var out []string
	for _, p := range pages {
		out = append(out, p.keys...)
	}
	return out
}

// lvSimTotal asks the simulator directly for a list's total.
func lvSimTotal(t *testing.T, env *apitest.Env, path, cookie string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", env.App.SimURL+path, nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "li_at", Value: cookie})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Paging struct{ Total *int } `json:"paging"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Paging.Total == nil {
		t.Fatalf("sim %s: %v, no total", path, err)
	}
	return *body.Paging.Total
}

// TestLivePagination follows X-Pagination-Next to the end in page mode and
// in cursor mode, checks there are no duplicates or gaps against the
// simulator's own totals, that X-Pagination-Previous goes back, and that bad
// cursors (tampered, foreign, another request, expired) are refused.
func TestLivePagination(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		clk := &lvClock{}
		env := lvStart(t, dialect, func(a *app.App) { a.Engine.Now = clk.Now })
		key := env.NewWorkspace("Paging", "unlimited")
		env.Must(200, "PUT", "/v4/workspaces/settings", key, map[string]any{"smart_limit_overrides": apitest.WithoutProtections(map[string]any{"search_pages": 5000, "search_results": 100000})})
		uid := lvIdentity(t, env, key, "Paging classic", "sim_classic")
		base := env.URL + "/v4/actions/"

		// Page mode: connections, 40 a page.
		t.Run("page mode", func(t *testing.T) {
			body := map[string]any{"identity_ids": []string{uid}}
			pages := lvFollow(t, key, base+"linkedin-extract-connections/run/live", body, "linkedin_profile_url")
			total := lvSimTotal(t, env, "/linkedin/connections?count=1", "sim_classic")
			if got := len(lvKeys(pages)); got != total || total <= 40 {
				t.Fatalf("paged %d connections over %d pages; the platform holds %d (want more than one page)", got, len(pages), total)
			}
			for i, p := range pages {
				if i < len(pages)-1 && !strings.Contains(p.next, fmt.Sprintf("page=%d", i+2)) {
					t.Fatalf("page %d: next %q", i+1, p.next)
				}
				if i == 0 && p.prev != "" {
					t.Fatalf("first page has a previous link %q", p.prev)
				}
				if i > 0 && len(p.keys) > 0 {
					// Previous goes back to exactly the page before.
					if p.prev == "" {
						t.Fatalf("page %d has no previous link", i+1)
					}
					r := lvDo(t, "POST", p.prev, key, body)
					var arr []map[string]any
					_ = json.Unmarshal(r.Body, &arr)
					if r.Status != 200 || len(arr) != len(pages[i-1].keys) || arr[0]["linkedin_profile_url"] != pages[i-1].keys[0] {
						t.Fatalf("previous of page %d: %d, %d results, want page %d again", i+1, r.Status, len(arr), i)
					}
				}
			}
			// The page past the end is an empty array with no next link.
			r := lvLive(env, key, "linkedin-extract-connections", body, fmt.Sprintf("page=%d", len(pages)+3))
			if r.Status != 200 || strings.TrimSpace(string(r.Body)) != "[]" || r.Header.Get("X-Pagination-Next") != "" {
				t.Fatalf("past the end: %d %s next=%q", r.Status, lvTrunc(r.Body), r.Header.Get("X-Pagination-Next"))
			}
			// /v1 links stay under /v1.
			r = env.Do("POST", "/v1/actions/linkedin-extract-connections/run/live", key, body)
			if n := r.Header.Get("X-Pagination-Next"); r.Status != 200 || !strings.HasPrefix(n, env.URL+"/v1/actions/linkedin-extract-connections/run/live?") {
				t.Fatalf("/v1 next link %q", n)
			}
		})

		// Cursor mode: Google Maps places (no identity) and the account's
		// inbox, both token-paged upstream.
		for _, c := range []struct {
			slug, id, total, cookie string
			body                    map[string]any
		}{
			{"googlemaps-search-places", "google_maps_place_url", "/maps/search?count=1&query=" + url.QueryEscape("bakery in lyon"), "",
				map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/bakery+in+lyon/"}}},
			{"linkedin-extract-conversations", "linkedin_thread_id", "/linkedin/conversations?count=1", "sim_classic",
				map[string]any{"identity_ids": []string{uid}}},
		} {
			t.Run("cursor mode "+c.slug, func(t *testing.T) {
				a := lvAction(t, c.slug)
				if !a.CursorPaging {
					t.Fatalf("%s is not cursor-paged", c.slug)
				}
				pages := lvFollow(t, key, base+c.slug+"/run/live", c.body, c.id)
				keys := lvKeys(pages)
				if total := lvSimTotal(t, env, c.total, c.cookie); len(keys) != total || total <= a.PageSize {
					t.Fatalf("paged %d over %d pages; the platform holds %d (want more than one page of %d)", len(keys), len(pages), total, a.PageSize)
				}
				for i, p := range pages[:len(pages)-1] {
					if !strings.Contains(p.next, "cursor=") {
						t.Fatalf("page %d: next link %q carries no cursor", i+1, p.next)
					}
				}
				// Page mode over the same list gives the same sequence.
				var byPage []string
				for n := 1; n <= len(pages); n++ {
					r := lvLive(env, key, c.slug, c.body, fmt.Sprintf("page=%d", n))
					for _, x := range r.Arr() {
						byPage = append(byPage, x.(map[string]any)[c.id].(string))
					}
				}
				if strings.Join(byPage, ",") != strings.Join(keys, ",") {
					t.Fatalf("page mode gives another sequence than cursor mode:\n%v\n%v", byPage, keys)
				}
				// Previous from a cursor page.
				if len(pages) >= 3 {
					r := lvDo(t, "POST", pages[2].prev, key, c.body)
					if r.Status != 200 || len(r.Arr()) == 0 || r.Arr()[0].(map[string]any)[c.id] != pages[1].keys[0] {
						t.Fatalf("previous of page 3 (%q): %d %s", pages[2].prev, r.Status, lvTrunc(r.Body))
					}
				}
			})
		}

		t.Run("bad cursors", func(t *testing.T) {
			body := map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/bakery+in+lyon/"}}
			r := lvLive(env, key, "googlemaps-search-places", body, "")
			next := r.Header.Get("X-Pagination-Next")
			u, err := url.Parse(next)
			if err != nil || r.Status != 200 || u.Query().Get("cursor") == "" {
				t.Fatalf("no cursor: %d %q", r.Status, next)
			}
			cur := u.Query().Get("cursor")
			if r := lvDo(t, "POST", next, key, body); r.Status != 200 || len(r.Arr()) == 0 {
				t.Fatalf("the cursor itself: %d %s", r.Status, lvTrunc(r.Body))
			}
			q := func(c string) string { return "cursor=" + url.QueryEscape(c) }
			// tampered: each position flipped in turn
			for _, i := range []int{0, len(cur) / 2, len(cur) - 1} {
				b := []byte(cur)
				if b[i] == 'A' {
					b[i] = 'B'
				} else {
					b[i] = 'A'
				}
				lvErr(t, fmt.Sprintf("cursor tampered at %d", i), lvLive(env, key, "googlemaps-search-places", body, q(string(b))), 400, "BAD_PARAMETERS")
			}
			lvErr(t, "garbage cursor", lvLive(env, key, "googlemaps-search-places", body, q("not a cursor")), 400, "BAD_PARAMETERS")
			// the token alias works like cursor
			if r := lvLive(env, key, "googlemaps-search-places", body, "token="+url.QueryEscape(cur)); r.Status != 200 {
				t.Fatalf("token alias: %d %s", r.Status, lvTrunc(r.Body))
			}
			lvErr(t, "page and cursor", lvLive(env, key, "googlemaps-search-places", body, q(cur)+"&page=2"), 400, "BAD_PARAMETERS")
			// replayed with another body, or on another action
			other := map[string]any{"input": map[string]any{"google_maps_search_url": "https://www.google.com/maps/search/cafe+in+paris/"}}
			lvErr(t, "cursor with another body", lvLive(env, key, "googlemaps-search-places", other, q(cur)), 400, "BAD_PARAMETERS")
			lvErr(t, "cursor on another action", lvLive(env, key, "googlemaps-extract-reviews",
				map[string]any{"input": map[string]any{"google_maps_place_url": "https://www.google.com/maps/place/Cafe+Lumiere/"}}, q(cur)), 400, "BAD_PARAMETERS")
			// foreign: another workspace, same body
			otherKey := env.NewWorkspace("Paging other", "unlimited")
			lvErr(t, "another workspace's cursor", lvLive(env, otherKey, "googlemaps-search-places", body, q(cur)), 400, "BAD_PARAMETERS")
			// foreign: sealed by another installation's key
			env2 := lvStart(t, "sqlite", nil)
			key2 := env2.NewWorkspace("Paging elsewhere", "unlimited")
			r2 := lvLive(env2, key2, "googlemaps-search-places", body, "")
			u2, _ := url.Parse(r2.Header.Get("X-Pagination-Next"))
			if c2 := u2.Query().Get("cursor"); c2 == "" {
				t.Fatal("no cursor from the second installation")
			} else {
				lvErr(t, "another installation's cursor", lvLive(env, key, "googlemaps-search-places", body, q(c2)), 400, "BAD_PARAMETERS")
			}
			// expired after 24 hours
			clk.Advance(24*time.Hour + time.Minute)
			p := lvErr(t, "expired cursor", lvLive(env, key, "googlemaps-search-places", body, q(cur)), 400, "BAD_PARAMETERS")
			_ = p
			if msg, _ := lvLive(env, key, "googlemaps-search-places", body, q(cur)).Obj()["message"].(string); !strings.Contains(msg, "expired") {
				t.Fatalf("expired cursor message %q", msg)
			}
			// a fresh first page works again
			if r := lvLive(env, key, "googlemaps-search-places", body, ""); r.Status != 200 || r.Header.Get("X-Pagination-Next") == "" {
				t.Fatalf("fresh start after expiry: %d", r.Status)
			}
		})
	})
}
