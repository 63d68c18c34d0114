package catalog

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/validate"
	"pgregory.net/rapid"
)

// FuzzDecode throws arbitrary bodies at the three decoders of a few
// representative actions: never a panic, only 400 errors.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"input":{"url":"https://www.linkedin.com/in/x"}}`,
		`{"inputs":[{"url":"https://www.linkedin.com/in/x","custom_data":{"a":[1,{"b":null}]}}],"callback":{"url":"https://x.test","on":"final"}}`,
		`{"inputs":[{}],"callback":{"url":null},"cron":"0 9 * * *","timezone":"Europe/Paris","schedule_at":"2030-01-01T00:00:00Z"}`,
		`{"input":{"company_id":1e3,"linkedin_comment_url":"https://www.linkedin.com/feed/update/x"},"parameters":{"max_results":-0}}`,
		`{"input":{"url":"https://www.linkedin.com/events/1","profile_url":"x"},"identity_mode":"managed"}`,
	} {
		f.Add([]byte(s))
	}
	actions := []*Action{}
	for _, slug := range []string{"linkedin-extract-people", "linkedin-invite-event", "linkedin-comment-post",
		"linkedin-extract-company-employees-insights", "tripadvisor-extract-reviews", "linkedin-me", "salesnavigator-inmail-profile"} {
		actions = append(actions, mustGet(f, slug))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, a := range actions {
			for _, run := range []func([]byte) error{
				func(b []byte) error { _, err := a.DecodeLive(b); return err },
				func(b []byte) error { _, err := a.DecodeAsync(b); return err },
				func(b []byte) error { _, err := a.DecodeSchedule(b); return err },
			} {
				err := run(body)
				if err == nil {
					continue
				}
				e, ok := apperr.As(err)
				if !ok || e.Status != 400 || e.Message == "" {
					t.Fatalf("%s: bad error %v", a.Slug, err)
				}
				if e.Cause != nil {
					t.Fatalf("%s: error with an internal cause: %v", a.Slug, e.Cause)
				}
			}
		}
	})
}

// The input fast path (what makes 100,000-input batches cheap) must never
// accept an input the full validator would reject, for any action.
func TestInputFastPathAgreesForEveryAction(t *testing.T) {
	fragments := []string{"https://", "http://", "www.", "fr.", "linkedin.com/", "in/", "sales/lead/", "company/", "posts/",
		"feed/update/", "events/", "search/results/people/?", "google.com/maps/place/", "tripadvisor.com/", "Hotel_Review-g123",
		".thefork.", "2-", "==", "AC", "o", "x", "1", "%", " ", "/", "é", ":", "[::1]", "?q=1"}
	for _, a := range All() {
		a := a
		if !a.inputSchema.HasFastPath() {
			t.Errorf("%s: input schema has no fast path", a.Slug)
			continue
		}
		var names []string
		for _, f := range a.Inputs {
			names = append(names, f.Name)
			names = append(names, f.Aliases...)
		}
		names = append(names, "custom_data", "other")
		rapid.Check(t, func(rt *rapid.T) {
			m := map[string]any{}
			for _, k := range rapid.SliceOfNDistinct(rapid.SampledFrom(names), 0, 3, rapid.ID[string]).Draw(rt, "keys") {
				switch rapid.IntRange(0, 5).Draw(rt, "kind") {
				case 0:
					m[k] = rapid.IntRange(-5, 5).Draw(rt, "n")
				case 1:
					m[k] = nil
				case 2:
					m[k] = map[string]any{"a": "b"}
				default:
					parts := rapid.SliceOfN(rapid.SampledFrom(fragments), 1, 8).Draw(rt, "parts")
					m[k] = strings.Join(parts, "")
				}
			}
			v, err := validate.DecodeJSON(mustMarshal(m))
			if err != nil {
				rt.Fatal(err)
			}
			if !a.inputSchema.FastPathAgrees(v) {
				rt.Fatalf("%s: fast path accepts %v, validator rejects", a.Slug, m)
			}
		})
	}
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
