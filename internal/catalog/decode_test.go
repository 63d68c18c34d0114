package catalog

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apperr"
)

func mustGet(t testing.TB, slug string) *Action {
	t.Helper()
	a, ok := Get(slug)
	if !ok {
		t.Fatalf("no action %s", slug)
	}
	return a
}

func wantErr(t *testing.T, err error, label, msg string) *apperr.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %q", label, msg)
	}
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("error %T is not *apperr.Error: %v", err, err)
	}
	if e.Label != label || e.Message != msg || e.Status != 400 {
		t.Fatalf("got %s %d %q\nwant %s 400 %q", e.Label, e.Status, e.Message, label, msg)
	}
	for k, v := range e.Params {
		_ = k + v
	}
	return e
}

const profile = "https://www.linkedin.com/in/jane-doe"

func TestLiveMessages(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	cases := []struct{ body, label, msg string }{
		{`{"input":{}}`, "BAD_INPUT", "body/input must have required property 'linkedin_profile_url'"},
		{`{"input":{"linkedin_profile_url":"` + profile + `"},"inputs":[]}`, "BAD_INPUT", "body must NOT have additional properties (inputs)"},
		{`{"inputs":[]}`, "BAD_INPUT", "body must have required property 'input'"},
		{`{"input":"x"}`, "BAD_INPUT", "body/input must be object"},
		{`{"input":{"linkedin_profile_url":5}}`, "BAD_INPUT", "body/input/linkedin_profile_url must be string"},
		{`{"input":{"linkedin_profile_url":"https://example.com/in/x"}}`, "BAD_INPUT",
			`body/input/linkedin_profile_url must match pattern "^https://(?:(www|[a-z]{2})\.)?linkedin\.com/(?:in|pub|sales/people|sales/lead)/[^\s/]+"`},
		{`{"input":{"linkedin_profile_url":"` + profile + `","extra":1}}`, "BAD_INPUT", "body/input must NOT have additional properties (extra)"},
		{`{"input":{"linkedin_profile_url":"` + profile + `"},"identity_mode":"robot"}`, "BAD_INPUT",
			"body/identity_mode must be equal to one of the allowed values: direct, auto, managed"},
		{`{"input":{"linkedin_profile_url":"` + profile + `"},"identity_ids":"abc"}`, "BAD_INPUT", "body/identity_ids must be array"},
		{`{"input":{"linkedin_profile_url":"` + profile + `"},"parameters":{"skills":"yes"}}`, "BAD_PARAMETERS", "body/parameters/skills must be boolean"},
		{`{"input":{"linkedin_profile_url":"` + profile + `"},"parameters":{"nope":true}}`, "BAD_PARAMETERS", "body/parameters must NOT have additional properties (nope)"},
		{`{"input":{"linkedin_profile_url":"` + profile + `"},"parameters":[]}`, "BAD_PARAMETERS", "body/parameters must be object"},
		{`{"input":{}} trailing`, "BAD_INPUT", "body must be valid JSON (unexpected data after the top-level value at offset 13)"},
		{`[]`, "BAD_INPUT", "body must be object"},
	}
	for _, c := range cases {
		_, err := a.DecodeLive([]byte(c.body))
		t.Run(c.body, func(t *testing.T) { wantErr(t, err, c.label, c.msg) })
	}
	e := wantErr(t, func() error {
		_, err := a.DecodeLive([]byte(`{"input":{"linkedin_profile_url":"` + profile + `"},"parameters":{"skills":1}}`))
		return err
	}(),
		"BAD_PARAMETERS", "body/parameters/skills must be boolean")
	if e.Scope != apperr.ScopeParam {
		t.Errorf("parameters error scope %q", e.Scope)
	}
}

func TestLiveNormalizesAndDefaults(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	r, err := a.DecodeLive([]byte(`{"input":{"profile_url":"` + profile + `","custom_data":{"crm_id":42}},"parameters":{"skills":true},"identity_ids":["id-1"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Input.Values["linkedin_profile_url"] != profile || len(r.Input.Values) != 1 {
		t.Errorf("alias not rewritten: %v", r.Input.Values)
	}
	if fmt.Sprint(r.Input.CustomData["crm_id"]) != "42" {
		t.Errorf("custom_data lost: %v", r.Input.CustomData)
	}
	want := map[string]any{"skills": true, "sections": false, "experiences": false, "highlights": false}
	if fmt.Sprint(r.Parameters) != fmt.Sprint(want) {
		t.Errorf("parameters %v", r.Parameters)
	}
	if r.IdentityMode != IdentityDirect || len(r.IdentityIDs) != 1 || r.IdentityIDs[0] != "id-1" {
		t.Errorf("identity %v %q", r.IdentityIDs, r.IdentityMode)
	}
	// null identity fields mean the defaults.
	r, err = a.DecodeLive([]byte(`{"input":{"linkedin_url":"` + profile + `"},"identity_ids":null,"identity_mode":null}`))
	if err != nil || r.IdentityMode != IdentityDirect || r.IdentityIDs != nil {
		t.Fatalf("%v %+v", err, r)
	}
	// The primary name wins over an alias given alongside it.
	r, err = a.DecodeLive([]byte(`{"input":{"linkedin_profile_url":"` + profile + `","url":"https://www.linkedin.com/in/other"}}`))
	if err != nil || r.Input.Values["linkedin_profile_url"] != profile || len(r.Input.Values) != 1 {
		t.Fatalf("%v %+v", err, r)
	}
	// Aliases in x-variations order: "url" comes before "linkedin_url".
	r, err = a.DecodeLive([]byte(`{"input":{"linkedin_url":"https://www.linkedin.com/in/second","url":"` + profile + `"}}`))
	if err != nil || r.Input.Values["linkedin_profile_url"] != profile || len(r.Input.Values) != 1 {
		t.Fatalf("%v %+v", err, r)
	}
}

func TestSharedAliasGoesToTheMatchingField(t *testing.T) {
	a := mustGet(t, "linkedin-invite-event")
	event := "https://www.linkedin.com/events/7100000000000000000"
	r, err := a.DecodeLive([]byte(`{"input":{"profile_url":"` + profile + `","url":"` + event + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Input.Values["linkedin_event_url"] != event || r.Input.Values["linkedin_profile_url"] != profile {
		t.Errorf("got %v", r.Input.Values)
	}
	r, err = a.DecodeLive([]byte(`{"input":{"url":"` + profile + `","event_url":"` + event + `"}}`))
	if err != nil || r.Input.Values["linkedin_profile_url"] != profile {
		t.Fatalf("%v %v", err, r)
	}
}

func TestRequiredAlternatives(t *testing.T) {
	a := mustGet(t, "linkedin-comment-post")
	if _, err := a.DecodeLive([]byte(`{"input":{"linkedin_comment_url":"https://www.linkedin.com/feed/update/urn:li:activity:1"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DecodeLive([]byte(`{"input":{"linkedin_post_url":"https://www.linkedin.com/posts/abc"}}`)); err != nil {
		t.Fatal(err)
	}
	_, err := a.DecodeLive([]byte(`{"input":{}}`))
	wantErr(t, err, "BAD_INPUT", "body/input must have required property 'linkedin_post_url'")

	// An alias of a non-primary alternative.
	b := mustGet(t, "linkedin-extract-company-employees-insights")
	r, err := b.DecodeLive([]byte(`{"input":{"company_id":1337}}`))
	if err != nil || fmt.Sprint(r.Input.Values["linkedin_company_id"]) != "1337" {
		t.Fatalf("%v %+v", err, r)
	}
	_, err = b.DecodeLive([]byte(`{"input":{"company_id":"x"}}`))
	wantErr(t, err, "BAD_INPUT", "body/input/linkedin_company_id must be number")
}

func TestIdentityFieldsPerAction(t *testing.T) {
	g := mustGet(t, "googlemaps-extract-place")
	place := `{"input":{"url":"https://www.google.com/maps/place/x"}`
	if _, err := g.DecodeLive([]byte(place + `}`)); err != nil {
		t.Fatal(err)
	}
	_, err := g.DecodeLive([]byte(place + `,"identity_ids":[]}`))
	wantErr(t, err, "BAD_INPUT", "body must NOT have additional properties (identity_ids)")
	if g.NeedsIdentity || g.Integration != "" || g.AcceptsIdentity {
		t.Errorf("googlemaps identity facts: %+v", g)
	}
	// linkedin-me accepts identity_mode in async but not in live.
	me := mustGet(t, "linkedin-me")
	_, err = me.DecodeLive([]byte(`{"identity_mode":"auto"}`))
	wantErr(t, err, "BAD_INPUT", "body must NOT have additional properties (identity_mode)")
	if r, err := me.DecodeLive([]byte(`{"identity_ids":["a"]}`)); err != nil || len(r.Input.Values) != 0 {
		t.Fatalf("%v %+v", err, r)
	}
	if _, err := me.DecodeAsync([]byte(`{"inputs":[{}],"identity_mode":"auto","callback":{"url":"https://x.test/cb"}}`)); err != nil {
		t.Fatal(err)
	}
	// Managed identities: extraction and search only.
	msg := mustGet(t, "linkedin-message-profile")
	_, err = msg.DecodeLive([]byte(`{"input":{"url":"` + profile + `"},"identity_mode":"managed","identity_ids":[]}`))
	wantErr(t, err, "BAD_INPUT", "body/identity_mode must be equal to one of the allowed values: direct, auto (managed identities run extraction and search of public data only)")
	ext := mustGet(t, "linkedin-extract-people")
	if r, err := ext.DecodeLive([]byte(`{"input":{"url":"` + profile + `"},"identity_mode":"managed","identity_ids":[]}`)); err != nil || r.IdentityMode != IdentityManaged {
		t.Fatalf("%v %+v", err, r)
	}
}

func asyncBody(n int, bad int, extra string) []byte {
	var b strings.Builder
	b.WriteString(`{"callback":{"url":"https://hooks.example.com/cb","headers":{"X-Token":"t"}}` + extra + `,"inputs":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		if i == bad {
			b.WriteString(`{"custom_data":{"row":` + fmt.Sprint(i) + `}}`)
			continue
		}
		fmt.Fprintf(&b, `{"url":"https://www.linkedin.com/in/person-%d","custom_data":{"row":%d}}`, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func TestAsync(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	r, err := a.DecodeAsync(asyncBody(3, -1, ""))
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range r.Inputs {
		if in.Values["linkedin_profile_url"] != fmt.Sprintf("https://www.linkedin.com/in/person-%d", i) || len(in.Values) != 1 {
			t.Errorf("input %d: %v", i, in.Values)
		}
		if fmt.Sprint(in.CustomData["row"]) != fmt.Sprint(i) {
			t.Errorf("input %d custom_data: %v", i, in.CustomData)
		}
	}
	if r.Callback.URL != "https://hooks.example.com/cb" || r.Callback.On != CallbackOnAll || r.Callback.Headers["X-Token"] != "t" {
		t.Errorf("callback %+v", r.Callback)
	}
	_, err = a.DecodeAsync(asyncBody(30, 17, ""))
	wantErr(t, err, "BAD_INPUT", "body/inputs/17 must have required property 'linkedin_profile_url'")
	_, err = a.DecodeAsync(asyncBody(20000, 17, ""))
	wantErr(t, err, "BAD_INPUT", "body/inputs/17 must have required property 'linkedin_profile_url'")
	_, err = a.DecodeAsync(asyncBody(20000, 19999, ""))
	wantErr(t, err, "BAD_INPUT", "body/inputs/19999 must have required property 'linkedin_profile_url'")
	_, err = a.DecodeAsync([]byte(`{"inputs":[],"callback":{"url":"https://x.test"}}`))
	wantErr(t, err, "BAD_INPUT", "body/inputs must NOT have fewer than 1 items")
	_, err = a.DecodeAsync([]byte(`{"inputs":[{"url":"` + profile + `"}]}`))
	wantErr(t, err, "BAD_INPUT", "body must have required property 'callback'")
	_, err = a.DecodeAsync([]byte(`{"inputs":[{"url":"` + profile + `"}],"callback":{"url":"ftp://x"}}`))
	wantErr(t, err, "BAD_INPUT", `body/callback/url must match pattern "^(https?://[^\s]+)$"`)
	_, err = a.DecodeAsync([]byte(`{"inputs":[{"url":"` + profile + `"}],"callback":{"url":"https://x.test","on":"some"}}`))
	wantErr(t, err, "BAD_INPUT", "body/callback/on must be equal to one of the allowed values: all, final")
	r, err = a.DecodeAsync([]byte(`{"inputs":[{"url":"` + profile + `"}],"callback":{"url":"https://x.test","on":"final"}}`))
	if err != nil || r.Callback.On != CallbackOnFinal {
		t.Fatalf("%v %+v", err, r)
	}
	_, err = a.DecodeAsync([]byte(`{"inputs":[{"url":"` + profile + `"}],"input":{},"callback":{"url":"https://x.test"}}`))
	wantErr(t, err, "BAD_INPUT", "body must NOT have additional properties (input)")
	_, err = a.DecodeAsync([]byte(`{"inputs":[{"url":"` + profile + `"}, 5],"callback":{"url":"https://x.test"}}`))
	wantErr(t, err, "BAD_INPUT", "body/inputs/1 must be object")
}

func TestAsyncMaxResults(t *testing.T) {
	a := mustGet(t, "linkedin-search-people")
	in := `"inputs":[{"linkedin_people_search_url":"https://www.linkedin.com/search/results/people/?keywords=x"}],"callback":{"url":"https://x.test"}`
	r, err := a.DecodeAsync([]byte(`{` + in + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.Parameters["max_results"]) != "100" {
		t.Errorf("max_results default not applied: %v", r.Parameters)
	}
	_, err = a.DecodeAsync([]byte(`{` + in + `,"parameters":{"max_results":1001}}`))
	wantErr(t, err, "BAD_PARAMETERS", "body/parameters/max_results must be <= 1000")
	_, err = a.DecodeAsync([]byte(`{` + in + `,"parameters":{"max_results":-1}}`))
	wantErr(t, err, "BAD_PARAMETERS", "body/parameters/max_results must be >= 0")
	_, err = a.DecodeAsync([]byte(`{` + in + `,"parameters":{"max_results":2.5}}`))
	wantErr(t, err, "BAD_PARAMETERS", "body/parameters/max_results must be integer")
	// Live mode has no max_results.
	_, err = a.DecodeLive([]byte(`{"input":{"linkedin_people_search_url":"https://www.linkedin.com/search/results/people/?k=1"},"parameters":{"max_results":5}}`))
	wantErr(t, err, "BAD_PARAMETERS", "body/parameters must NOT have additional properties (max_results)")
	if a.LiveMaxResults.Present || !a.AsyncMaxResults.Present || a.AsyncMaxResults.Default != 100 || a.AsyncMaxResults.Max != 1000 {
		t.Errorf("bounds %+v %+v", a.LiveMaxResults, a.AsyncMaxResults)
	}
}

func TestRequiredParameters(t *testing.T) {
	a := mustGet(t, "tripadvisor-extract-reviews")
	in := `"input":{"tripadvisor_reviews_url":"https://www.tripadvisor.com/Hotel_Review-g187147-d1-Reviews-X.html"}`
	_, err := a.DecodeLive([]byte(`{` + in + `}`))
	wantErr(t, err, "BAD_PARAMETERS", "body must have required property 'parameters'")
	_, err = a.DecodeLive([]byte(`{` + in + `,"parameters":{}}`))
	wantErr(t, err, "BAD_PARAMETERS", "body/parameters must have required property 'language'")
	_, err = a.DecodeLive([]byte(`{` + in + `,"parameters":{"language":"klingon"}}`))
	wantErr(t, err, "BAD_PARAMETERS", "body/parameters/language must be equal to one of the allowed values: french, english, italian, russian, german, all")
	if r, err := a.DecodeLive([]byte(`{` + in + `,"parameters":{"language":"all"}}`)); err != nil || r.Parameters["language"] != "all" {
		t.Fatalf("%v %+v", err, r)
	}
}

func TestHundredThousandInputs(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	r, err := a.DecodeAsync(asyncBody(100000, -1, ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Inputs) != 100000 || r.Inputs[99999].Values["linkedin_profile_url"] != "https://www.linkedin.com/in/person-99999" {
		t.Fatalf("inputs not normalized: %d", len(r.Inputs))
	}
	_, err = a.DecodeAsync(asyncBody(100001, -1, ""))
	wantErr(t, err, "BAD_INPUT", "body/inputs must NOT have more than 100000 items")
}

func TestSchedule(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	in := `"inputs":[{"url":"` + profile + `"}],"callback":{"url":"https://x.test"}`
	r, err := a.DecodeSchedule([]byte(`{` + in + `,"cron":"0 9 * * 1-5","name":"weekday mornings"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Cron != "0 9 * * 1-5" || r.Timezone != "UTC" || r.ScheduleAt != nil || r.Name != "weekday mornings" || len(r.Inputs) != 1 {
		t.Errorf("%+v", r)
	}
	r, err = a.DecodeSchedule([]byte(`{` + in + `,"schedule_at":"2030-01-02T03:04:05+01:00","timezone":"Europe/Paris"}`))
	if err != nil || r.ScheduleAt == nil || r.ScheduleAt.UTC().Hour() != 2 || r.Timezone != "Europe/Paris" {
		t.Fatalf("%v %+v", err, r)
	}
	cases := []struct{ body, msg string }{
		{`{` + in + `}`, "body must have required property 'cron'"},
		{`{` + in + `,"cron":"* * *"}`, "body/cron must have 5 fields (minute hour day-of-month month day-of-week)"},
		{`{` + in + `,"cron":""}`, "body/cron must NOT have fewer than 1 characters"},
		{`{` + in + `,"schedule_at":"tomorrow"}`, `body/schedule_at must match format "date-time"`},
		{`{` + in + `,"cron":"0 9 * * *","timezone":"Mars/Olympus"}`, "body/timezone must be an IANA time zone name"},
		{`{` + in + `,"cron":"0 9 * * *","timezone":"Local"}`, "body/timezone must be an IANA time zone name"},
	}
	for _, c := range cases {
		_, err := a.DecodeSchedule([]byte(c.body))
		wantErr(t, err, "BAD_INPUT", c.msg)
	}
	var b strings.Builder
	b.WriteString(`{"cron":"0 9 * * *","callback":{"url":"https://x.test"},"inputs":[`)
	for i := 0; i <= 100; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"url":"` + profile + `"}`)
	}
	b.WriteString(`]}`)
	_, err = a.DecodeSchedule([]byte(b.String()))
	wantErr(t, err, "BAD_INPUT", "body/inputs must NOT have more than 100 items")
}

func TestNoInputActions(t *testing.T) {
	a := mustGet(t, "linkedin-extract-connections")
	if a.LiveInput {
		t.Fatal("extract-connections has no live input in the reference")
	}
	r, err := a.DecodeLive([]byte(`{}`))
	if err != nil || r.Input.Values == nil {
		t.Fatalf("%v %+v", err, r)
	}
	_, err = a.DecodeLive([]byte(`{"input":{}}`))
	wantErr(t, err, "BAD_INPUT", "body must NOT have additional properties (input)")
	ar, err := a.DecodeAsync([]byte(`{"inputs":[{"custom_data":{"k":"v"}}],"callback":{"url":"https://x.test"}}`))
	if err != nil || ar.Inputs[0].CustomData["k"] != "v" {
		t.Fatalf("%v %+v", err, ar)
	}
	_, err = a.DecodeAsync([]byte(`{"inputs":[{},{}],"callback":{"url":"https://x.test"}}`))
	wantErr(t, err, "BAD_INPUT", "body/inputs must NOT have more than 1 items")
}

func TestOverriddenParameters(t *testing.T) {
	a := mustGet(t, "linkedin-connect-profile")
	r, err := a.DecodeLive([]byte(`{"input":{"url":"` + profile + `"},"parameters":{"message":"Hello"}}`))
	if err != nil || r.Parameters["message"] != "Hello" {
		t.Fatalf("%v %+v", err, r)
	}
	c := mustGet(t, "linkedin-comment-post")
	r, err = c.DecodeLive([]byte(`{"input":{"linkedin_post_url":"https://www.linkedin.com/posts/x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Parameters["comment"]; ok {
		t.Errorf("numeric default applied to a string: %v", r.Parameters)
	}
	_, err = c.DecodeLive([]byte(`{"input":{"linkedin_post_url":"https://www.linkedin.com/posts/x"},"parameters":{"comment":"` + strings.Repeat("a", 5001) + `"}}`))
	wantErr(t, err, "BAD_PARAMETERS", "body/parameters/comment must NOT have more than 5000 characters")
	s := mustGet(t, "salesnavigator-connect-profile")
	r, err = s.DecodeLive([]byte(`{"input":{"profile_url":"https://www.linkedin.com/sales/lead/ACwAAA,NAME_SEARCH,abc"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Parameters["message"]; ok {
		t.Errorf("sample message applied as a default: %v", r.Parameters)
	}
}

func TestClassification(t *testing.T) {
	keys := map[string]bool{}
	for _, k := range LimitKeys {
		keys[k] = true
	}
	for _, a := range All() {
		switch a.Platform {
		case "googlemaps", "tripadvisor", "thefork":
			if a.NeedsIdentity || a.Integration != "" || len(a.LimitKeys) != 0 {
				t.Errorf("%s: no-account platform with identity/limits", a.Slug)
			}
		case "salesnavigator", "recruiterlite":
			if a.Integration != a.Platform || !a.NeedsIdentity {
				t.Errorf("%s: integration %q", a.Slug, a.Integration)
			}
		case "linkedin":
			if a.Slug != "linkedin-peopleid-from-salesnavigatorid" && (a.Integration != "linkedin" || !a.NeedsIdentity) {
				t.Errorf("%s: integration %q", a.Slug, a.Integration)
			}
		case "hubspot":
			if a.Integration != "hubspot" || !a.NeedsIdentity || a.Kind != KindCRM || len(a.LimitKeys) != 0 || a.ManagedAllowed() {
				t.Errorf("%s: hubspot action %+v", a.Slug, a)
			}
		default:
			t.Errorf("%s: platform %q", a.Slug, a.Platform)
		}
		if a.Kind != KindExtract && a.Kind != KindSearch && a.Kind != KindOutreach && a.Kind != KindCRM {
			t.Errorf("%s: kind %q", a.Slug, a.Kind)
		}
		if strings.Contains(a.Slug, "-search-") && a.Kind != KindSearch && a.Kind != KindCRM {
			t.Errorf("%s: a search that is not one", a.Slug)
		}
		for _, k := range a.LimitKeys {
			if !keys[k] {
				t.Errorf("%s: unknown limit key %q", a.Slug, k)
			}
		}
		if a.CreditRatio < 0 {
			t.Errorf("%s: negative credit ratio", a.Slug)
		}
	}
	for slug, keys := range map[string][]string{
		"linkedin-message-profile": {LimitMessages, LimitProfileEnrichments},
		"linkedin-extract-people":  {LimitProfileVisits, LimitProfileEnrichments},
		"linkedin-search-people":   {LimitSearchPages},
		"linkedin-connect-profile": {LimitConnectionRequests, LimitProfileEnrichments},
	} {
		if got := mustGet(t, slug).LimitKeys; fmt.Sprint(got) != fmt.Sprint(keys) {
			t.Errorf("%s limit keys %v", slug, got)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, a := range All() {
		d := a.Describe()
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("%s: %v", a.Slug, err)
		}
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"slug", "platform", "kind", "needs_identity", "integration", "input_schema", "parameters_schema",
			"output_schema", "page_size", "cursor", "max_results", "credit_ratio", "limit_keys", "async_max_inputs", "schedule_max_inputs"} {
			if _, ok := back[k]; !ok {
				t.Errorf("%s: Describe lacks %s", a.Slug, k)
			}
		}
		// Callers may modify what they get.
		d["input_schema"].(map[string]any)["type"] = "mutated"
		if a.Describe()["input_schema"].(map[string]any)["type"] != "object" {
			t.Fatalf("%s: Describe shares state", a.Slug)
		}
	}
	d := mustGet(t, "linkedin-search-people").Describe()
	if d["page_size"] != 10 || d["max_results"].(map[string]any)["async"].(map[string]any)["maximum"] != 1000 {
		t.Errorf("search-people describe: %v %v", d["page_size"], d["max_results"])
	}
	out := mustGet(t, "linkedin-search-people").Describe()["output_schema"].(map[string]any)
	if out["type"] != "array" {
		t.Errorf("list output schema %v", out["type"])
	}
}

func TestConcurrentDecode(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if _, err := a.DecodeAsync(asyncBody(20, -1, "")); err != nil {
					t.Error(err)
					return
				}
				if _, err := a.DecodeLive([]byte(`{"input":{}}`)); err == nil {
					t.Error("accepted an empty input")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkDecodeAsync100k(b *testing.B) {
	a := mustGet(b, "linkedin-extract-people")
	body := asyncBody(100000, -1, "")
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := a.DecodeAsync(body); err != nil {
			b.Fatal(err)
		}
	}
}
