package sim

import "testing"

func TestParseRestli(t *testing.T) {
	v, err := parseRestli("(start:20,origin:FACETED_SEARCH,query:(keywords:a%2Cb%3A%28c%29%20d,flagshipSearchIntent:SEARCH_SRP," +
		"queryParameters:List((key:resultType,value:List(PEOPLE)),(key:currentCompany,value:List(1,2))),includeFiltersInResponse:false))")
	if err != nil {
		t.Fatal(err)
	}
	q := v.obj("query")
	if v.str("start") != "20" || q.str("keywords") != "a,b:(c) d" || q.str("includeFiltersInResponse") != "false" {
		t.Fatalf("parsed %+v", v)
	}
	ps := q.items("queryParameters")
	if len(ps) != 2 || ps[0].str("key") != "resultType" || ps[0].list("value")[0] != "PEOPLE" || len(ps[1].list("value")) != 2 || ps[1].list("value")[1] != "2" {
		t.Fatalf("query parameters %+v", ps)
	}
	for _, bad := range []string{"(start:1", "List(a,b", "(start)", "(a:b))", "(a:%zz)"} {
		if _, err := parseRestli(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestVectorImageSplitsWorldURLs(t *testing.T) {
	u := "https://media.licdn.com/dms/image/v2/AbC/profile-displayphoto-shrink_400_400/0/123?e=1&v=beta&t=x"
	v := vVector(u)
	arts := v["artifacts"].([]any)
	last := arts[len(arts)-1].(map[string]any)
	if v["rootUrl"].(string)+last["fileIdentifyingUrlPathSegment"].(string) != u {
		t.Fatalf("root %v + segment %v != %s", v["rootUrl"], last["fileIdentifyingUrlPathSegment"], u)
	}
	if vVector("") != nil {
		t.Error("no image is no vector image")
	}
}
