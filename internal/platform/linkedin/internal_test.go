package linkedin

import (
	"slices"
	"testing"
)

// Items sharing a millisecond across a page boundary are handed out once
// each: the cursor asks for one millisecond more and skips the ones it gave.
func TestCursorHandlesTies(t *testing.T) {
	type item struct {
		at int64
		id string
	}
	// newest first, as a time-paged list answers; three items share t=100
	all := []item{{300, "a"}, {200, "b"}, {100, "c"}, {100, "d"}, {100, "e"}, {50, "f"}}
	page := func(before string, size int) []item {
		var out []item
		for _, it := range all {
			if before == "" || it.at < atoi(before) {
				out = append(out, it)
			}
		}
		return out[:min(size, len(out))]
	}
	cu := cursor{Remaining: -1}
	var got []string
	for range 10 {
		raw := page(cu.param(), 4)
		var times []int64
		var ids []string
		for _, it := range raw {
			if cu.fresh(it.at, it.id) {
				times, ids = append(times, it.at), append(ids, it.id)
			}
		}
		got = append(got, ids...)
		if len(ids) == 0 {
			break
		}
		cu = cu.advance(times, ids)
		back, ok := decodeCursor("x:", cu.encode("x:"))
		if !ok || back.Before != cu.Before || !slices.Equal(back.Seen, cu.Seen) {
			t.Fatalf("the cursor does not survive its token: %+v -> %+v", cu, back)
		}
	}
	if want := []string{"a", "b", "c", "d", "e", "f"}; !slices.Equal(got, want) {
		t.Fatalf("handed out %v, want %v", got, want)
	}
	if _, ok := decodeCursor("x:", "x:!!not-base64"); ok {
		t.Error("a garbled token was accepted")
	}
}

func atoi(s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}

// User data never reads as Rest.li structure; the recipe's own structure
// stays as written.
func TestTemplatesEscapeData(t *testing.T) {
	r := DefaultRecipes()
	kw, qp, err := searchQuery("f", `https://www.linkedin.com/search/results/people/?keywords=a,b:(c) d&currentCompany=["1","2"]&title=CEO`, "PEOPLE", "people")
	if err != nil {
		t.Fatal(err)
	}
	u := r.url("https://x.test", "search", map[string]string{"start": "20", "keywords_clause": kw, "query_parameters": qp})
	want := "https://x.test/voyager/api/graphql?includeWebMetadata=true&queryId=voyagerSearchDashClusters.b0928897b71bd00a5a7291755dcd64f0" +
		"&variables=(start:20,origin:FACETED_SEARCH,query:(keywords:a%2Cb%3A%28c%29%20d,flagshipSearchIntent:SEARCH_SRP," +
		"queryParameters:List((key:resultType,value:List(PEOPLE)),(key:currentCompany,value:List(1,2)),(key:title,value:List(CEO)))," +
		"includeFiltersInResponse:false))"
	if u != want {
		t.Fatalf("url\n%s\nwant\n%s", u, want)
	}
	if got := r.url("https://x.test", "profile", map[string]string{"public_id": "jean/../é?x"}); got != "https://x.test/voyager/api/identity/profiles/jean%2F..%2F%C3%A9%3Fx/profileView" {
		t.Errorf("path value: %s", got)
	}
	// an optional parameter without a value is left out
	if got := r.url("https://x.test", "conversations", map[string]string{}); got != "https://x.test/voyager/api/messaging/conversations?keyVersion=LEGACY_INBOX" {
		t.Errorf("optional parameter: %s", got)
	}
	if got := r.url("https://x.test", "session", nil); got != "https://x.test/uas/authenticate" {
		t.Errorf("a site recipe: %s", got)
	}
}

func TestURNs(t *testing.T) {
	for in, want := range map[string]string{
		"urn:li:fs_miniProfile:ACoAAB": "ACoAAB", "urn:li:fs_event:(2-abc==,2-def)": "2-def", "urn:li:member:123": "123", "plain": "plain",
	} {
		if got := urnID(in); got != want {
			t.Errorf("urnID(%q) = %q, want %q", in, got, want)
		}
	}
	if got := profileIDIn("urn:li:fsd_entityResultViewModel:(urn:li:fsd_profile:ACoAA1,SEARCH_SRP,DEFAULT)"); got != "ACoAA1" {
		t.Errorf("profileIDIn: %q", got)
	}
	if n, ok := mutualCount("Ada and 11 other mutual connections"); !ok || n != 11 {
		t.Errorf("mutualCount: %d %v", n, ok)
	}
	if _, ok := mutualCount("Followed by 3 people"); ok {
		t.Error("not a mutual connections insight")
	}
}
