package catalog

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestHubSpotExtensions(t *testing.T) {
	if got := Extensions(); strings.Join(got, ",") != "hubspot-search-contacts,hubspot-upsert-contact" {
		t.Fatalf("extensions %v", got)
	}
	for _, slug := range Extensions() {
		a := mustGet(t, slug)
		if !a.Extension || a.Platform != "hubspot" || a.Integration != "hubspot" || !a.NeedsIdentity || a.Kind != KindCRM ||
			a.CreditRatio != 0 || len(a.LimitKeys) != 0 || a.ManagedAllowed() {
			t.Errorf("%s: %+v", slug, a)
		}
		if a.AsyncMaxInputs != 100000 || a.ScheduleMaxInputs != 100 {
			t.Errorf("%s: input bounds %d/%d", slug, a.AsyncMaxInputs, a.ScheduleMaxInputs)
		}
		d := a.Describe()
		if d["extension"] != true || d["managed_identities"] != false {
			t.Errorf("%s describe: %v", slug, d)
		}
		// Managed identities are refused in every mode.
		if _, err := a.DecodeLive([]byte(`{"input":{"email":"a@b.co"},"identity_mode":"managed"}`)); err == nil {
			t.Errorf("%s: managed accepted", slug)
		}
	}
	for _, a := range All() {
		if a.Extension && !strings.HasPrefix(a.Slug, "hubspot-") {
			t.Errorf("unexpected extension %s", a.Slug)
		}
	}
}

func TestHubSpotUpsertDecode(t *testing.T) {
	a := mustGet(t, "hubspot-upsert-contact")
	// A LinkedIn person result: aliases rewritten, other fields kept (and
	// ignored by the driver), nulls accepted.
	r, err := a.DecodeLive([]byte(`{"input":{"email":"g@navy.example","first_name":"Grace","last_name":"Hopper",
		"company_name":"US Navy","job_title":null,"linkedin_profile_url":"https://www.linkedin.com/in/grace",
		"experiences":[{"title":"x"}],"linkedin_profile_id":1,"custom_data":{"row":7}},"identity_ids":["x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	v := r.Input.Values
	if v["firstname"] != "Grace" || v["lastname"] != "Hopper" || v["company"] != "US Navy" ||
		v["linkedin_url"] != "https://www.linkedin.com/in/grace" || v["jobtitle"] != nil || v["experiences"] == nil {
		t.Errorf("values %v", v)
	}
	if r.Input.CustomData["row"] == nil || r.Parameters["linkedin_url_property"] != "hs_linkedin_url" {
		t.Errorf("custom data %v params %v", r.Input.CustomData, r.Parameters)
	}
	for body, msg := range map[string]string{
		`{"input":{"first_name":"Grace"}}`:                                            "must have required property 'email'",
		`{"input":{"email":"not an email"}}`:                                          "email must match pattern",
		`{"input":{"email":"a@b.co","properties":{"city":["x"]}}}`:                    "properties/city must be",
		`{"input":{"email":"a@b.co"},"parameters":{"linkedin_url_property":"a b"}}`:   "linkedin_url_property must match pattern",
		`{"input":{"email":"a@b.co"},"parameters":{"max_results":5}}`:                 "must NOT have additional properties",
		`{"input":{"email":"a@b.co"},"identity_mode":"managed","identity_ids":["x"]}`: "identity_mode",
	} {
		_, err := a.DecodeLive([]byte(body))
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", body, err, msg)
		}
	}
	// Async and schedule bodies decode through the same catalogue entry.
	inputs := make([]any, 250)
	for i := range inputs {
		inputs[i] = map[string]any{"email": "p" + strings.Repeat("x", i%5) + "@example.com", "full_name": "P Q"}
	}
	b, _ := json.Marshal(map[string]any{"inputs": inputs, "identity_mode": "auto", "callback": map[string]any{"url": "https://example.com/cb"}})
	ar, err := a.DecodeAsync(b)
	if err != nil || len(ar.Inputs) != 250 || ar.IdentityMode != "auto" {
		t.Fatalf("async: %v", err)
	}
	b, _ = json.Marshal(map[string]any{"inputs": inputs[:100], "identity_ids": []string{"x"}, "cron": "0 9 * * 1",
		"timezone": "Europe/Paris", "callback": map[string]any{"url": "https://example.com/cb"}})
	sr, err := a.DecodeSchedule(b)
	if err != nil || sr.Cron != "0 9 * * 1" || len(sr.Inputs) != 100 {
		t.Fatalf("schedule: %v", err)
	}
	b, _ = json.Marshal(map[string]any{"inputs": inputs[:101], "identity_ids": []string{"x"}, "cron": "0 9 * * 1",
		"callback": map[string]any{"url": "https://example.com/cb"}})
	if _, err := a.DecodeSchedule(b); err == nil {
		t.Error("schedule accepted 101 inputs")
	}
}

func TestHubSpotSearchDecode(t *testing.T) {
	a := mustGet(t, "hubspot-search-contacts")
	if !a.ListOutput || a.PageSize != 100 || !a.CursorPaging || a.LiveMaxResults.Present ||
		a.AsyncMaxResults.Max != 10000 || a.AsyncMaxResults.Default != 1000 {
		t.Fatalf("%+v", a)
	}
	r, err := a.DecodeLive([]byte(`{"input":{"query":"ada","company_name":"Acme",
		"filters":[{"property":"lifecyclestage","operator":"EQ","value":"lead"}]},"parameters":{"properties":["city"]},"identity_ids":["x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Input.Values["company"] != "Acme" || r.Parameters["properties"] == nil {
		t.Errorf("%v %v", r.Input.Values, r.Parameters)
	}
	for body, msg := range map[string]string{
		`{"input":{"nope":1}}`: "must NOT have additional properties",
		`{"input":{"filters":[{"property":"x","operator":"LIKE","value":"a"}]}}`:         "must be equal to one of the allowed values",
		`{"input":{"filters":[{"operator":"EQ","value":"a"}]}}`:                          "must have required property 'property'",
		`{"input":{"query":"x"},"parameters":{"max_results":10}}`:                        "must NOT have additional properties",
		`{"input":{"filters":[{},{},{},{},{},{},{}]}}`:                                   "must NOT have more than 6 items",
		`{"input":{"filters":[{"property":"a-b","operator":"EQ","value":"x"}]}}`:         "must match pattern",
		`{"input":{},"parameters":{"properties":["` + strings.Repeat("a", 101) + `"]}}`:  "must match pattern",
		`{"input":{"query":"` + strings.Repeat("q", 3001) + `"}}`:                        "must NOT have more than 3000 characters",
		`{"input":{"filters":[{"property":"x","operator":"IN","values":[["nested"]]}]}}`: "must be",
		`{"input":{"email":"x@y.z"},"identity_mode":"managed"}`:                          "identity_mode",
		`{"inputs":[{}]}`: "must have required property 'input'",
	} {
		_, err := a.DecodeLive([]byte(body))
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", body, err, msg)
		}
	}
	b, _ := json.Marshal(map[string]any{"inputs": []any{map[string]any{}}, "parameters": map[string]any{"max_results": 250},
		"identity_ids": []string{"x"}, "callback": map[string]any{"url": "https://example.com/cb"}})
	ar, err := a.DecodeAsync(b)
	if err != nil || ar.Parameters["max_results"] == nil {
		t.Fatalf("async: %v %v", err, ar)
	}
	b, _ = json.Marshal(map[string]any{"inputs": []any{map[string]any{}}, "parameters": map[string]any{"max_results": 10001},
		"identity_ids": []string{"x"}, "callback": map[string]any{"url": "https://example.com/cb"}})
	if _, err := a.DecodeAsync(b); err == nil {
		t.Error("max_results 10001 accepted")
	}
}
