package conformance

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/firstmate-oss/firstmate/internal/catalog"
)

// fieldSamples are made-up values for the catalogue's input fields, by
// name: URLs and ids of the shape each field's pattern asks for. The kit
// builds an action's input from the fields the catalogue requires, then
// validates it the way the API does; a test checks every sample against
// every action that has the field.
var fieldSamples = map[string]string{
	"google_maps_place_url":              "https://www.google.com/maps/place/Cafe+Lumiere/",
	"google_maps_search_url":             "https://www.google.com/maps/search/bakery+in+lyon/",
	"linkedin_comment_url":               "https://www.linkedin.com/feed/update/urn:li:activity:7100000000000000000",
	"linkedin_company_id":                "1035",
	"linkedin_company_url":               "https://www.linkedin.com/company/acme/",
	"linkedin_company_search_url":        "https://www.linkedin.com/search/results/companies/?keywords=labs",
	"linkedin_content_search_url":        "https://www.linkedin.com/search/results/content/?keywords=hiring",
	"linkedin_event_search_url":          "https://www.linkedin.com/search/results/events/?keywords=summit",
	"linkedin_event_url":                 "https://www.linkedin.com/events/7100000000000000000/",
	"linkedin_group_search_url":          "https://www.linkedin.com/search/results/groups/?keywords=network",
	"linkedin_group_url":                 "https://www.linkedin.com/groups/1234567/",
	"linkedin_job_search_url":            "https://www.linkedin.com/jobs/search/?keywords=engineer",
	"linkedin_job_url":                   "https://www.linkedin.com/jobs/view/3700000000/",
	"linkedin_people_search_url":         "https://www.linkedin.com/search/results/people/?keywords=product%20manager",
	"linkedin_post_url":                  "https://www.linkedin.com/posts/jane-doe_activity-7100000000000000000-abcd",
	"linkedin_profile_url":               "https://www.linkedin.com/in/jane-doe/",
	"linkedin_recruiter_search_url":      "https://www.linkedin.com/talent/search?keywords=designer",
	"linkedin_school_search_url":         "https://www.linkedin.com/search/results/schools/?keywords=university",
	"linkedin_school_url":                "https://www.linkedin.com/school/university-of-lyon/",
	"linkedin_thread_id":                 "2-MjAyNS1zYW1wbGU==",
	"linkedin_thread_url":                "https://www.linkedin.com/messaging/thread/2-MjAyNS1zYW1wbGU==/",
	"sales_navigator_company_id":         "12345",
	"sales_navigator_company_list_url":   "https://www.linkedin.com/sales/lists/company/7012345678901234568",
	"sales_navigator_company_search_url": "https://www.linkedin.com/sales/search/company?query=(keywords%3Alabs)",
	"sales_navigator_company_url":        "https://www.linkedin.com/sales/company/acme",
	"sales_navigator_profile_id":         "ACwAAA1234abcd",
	"sales_navigator_profile_list_url":   "https://www.linkedin.com/sales/lists/people/7012345678901234567",
	"sales_navigator_profile_search_url": "https://www.linkedin.com/sales/search/people?query=(keywords%3Asales)",
	"sales_navigator_profile_url":        "https://www.linkedin.com/sales/lead/ACwAAA1234abcd,NAME_SEARCH,abcd",
	"thefork_reviews_url":                "https://www.thefork.com/restaurant/le-petit-r12345",
	"tripadvisor_hotel_url":              "https://www.tripadvisor.com/Hotel_Review-g187147-d1234-Reviews-Hotel_X-Paris.html",
	"tripadvisor_restaurant_url":         "https://www.tripadvisor.com/Restaurant_Review-g187147-d555-Reviews-Chez_Y-Paris.html",
	"tripadvisor_reviews_url":            "https://www.tripadvisor.com/Hotel_Review-g187147-d1234-Reviews-Hotel_X-Paris.html",
	"tripadvisor_search_url":             "https://www.tripadvisor.com/Hotels-g187147-Paris_Ile_de_France-Hotels.html",
	"email":                              "jane.doe@example.com",
}

// paramSamples fill the texts that outreach actions need to say something.
var paramSamples = map[string]any{
	"message": "Hello from the Firstmate conformance kit",
	"subject": "Conformance check",
	"comment": "Nice post",
}

// NoSampleError: the kit cannot make up a value for a required field.
type NoSampleError struct{ Field string }

func (e *NoSampleError) Error() string {
	return fmt.Sprintf("no made-up value for the input field %s: declare a sample for this action in the conformance section", e.Field)
}

// Sample builds a valid live input and parameters for an action, as the
// engine would hand them to a driver (aliases rewritten, defaults applied).
// input and params, when not nil, are an executor's declared sample;
// otherwise the input is made up from the fields the catalogue requires.
func Sample(a *catalog.Action, input, params map[string]any) (map[string]any, map[string]any, error) {
	if input == nil {
		input = map[string]any{}
		for _, name := range required(a) {
			s, ok := fieldSamples[name]
			if !ok {
				return nil, nil, &NoSampleError{Field: name}
			}
			input[name] = typed(a, name, s)
		}
	}
	p := map[string]any{}
	for k, v := range params {
		p[k] = v
	}
	for _, f := range a.LiveParams {
		if _, ok := p[f.Name]; ok {
			continue
		}
		if v, ok := paramSamples[f.Name]; ok {
			p[f.Name] = v
		} else if f.Required && f.HasDefault {
			p[f.Name] = f.Default
		}
	}
	body := map[string]any{}
	if a.LiveParams != nil {
		body["parameters"] = p
	}
	if a.LiveInput {
		body["input"] = input
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, nil, err
	}
	lr, err := a.DecodeLive(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("not a valid input of %s: %w", a.Slug, err)
	}
	return lr.Input.Values, lr.Parameters, nil
}

// required lists the input fields to fill: the required ones, or the first
// alternative the kit has values for.
func required(a *catalog.Action) []string {
	var out []string
	for _, f := range a.Inputs {
		if f.Required {
			out = append(out, f.Name)
		}
	}
	if len(a.RequiredAlternatives) == 0 {
		return out
	}
	best := a.RequiredAlternatives[0]
	for _, alt := range a.RequiredAlternatives {
		all := true
		for _, n := range alt {
			if _, ok := fieldSamples[n]; !ok {
				all = false
			}
		}
		if all {
			best = alt
			break
		}
	}
	return append(out, best...)
}

func typed(a *catalog.Action, name, s string) any {
	for _, f := range a.Inputs {
		if f.Name == name && (f.Type == "integer" || f.Type == "number") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return json.Number(strconv.FormatInt(n, 10))
			}
		}
	}
	return s
}
