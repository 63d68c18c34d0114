package runs

import (
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/catalog"
)

// streamFingerprint is what SubmitStream computes for body: the fingerprint
// of each input as it is decoded, then of the rest of the request.
func streamFingerprint(t *testing.T, a *catalog.Action, body string) string {
	t.Helper()
	f, idx := newFingerprint(a), 0
	req, _, err := a.DecodeAsyncStream(strings.NewReader(body), func(in catalog.Input) error {
		ni, err := newInput(a, idx, in)
		idx++
		f.add(ni)
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return f.sum(req)
}

// The fingerprint computed while the body streams in is the one of the
// whole request (Fingerprint), so that keyed submissions compare alike
// however they were read; the same request spelled differently (member
// order, white space, the integration_users alias, explicit defaults) has
// one fingerprint, and any change of what is asked another.
func TestFingerprintStreamedAndWhole(t *testing.T) {
	a, ok := catalog.Get("linkedin-extract-people")
	if !ok {
		t.Fatal("no linkedin-extract-people")
	}
	const base = `{"identity_ids":["id-1"],"inputs":[{"linkedin_profile_url":"https://www.linkedin.com/in/ada","custom_data":{"a":1,"b":[2,3]}},` +
		`{"linkedin_profile_url":"https://www.linkedin.com/in/alan"}],"callback":{"url":"https://example.com/cb","headers":{"X-T":"1"}}}`
	whole := func(body string) string {
		req, err := a.DecodeAsync([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		fp, err := Fingerprint(a, req)
		if err != nil {
			t.Fatal(err)
		}
		return fp
	}
	want := whole(base)
	for _, same := range []string{
		base,
		`{ "callback" : {"headers":{"X-T":"1"},"url":"https://example.com/cb","on":"all"}, "integration_users":["id-1"],` +
			`"inputs":[{"custom_data":{"b":[2,3],"a":1},"linkedin_profile_url":"https://www.linkedin.com/in/ada"},` +
			`{"linkedin_profile_url":"https://www.linkedin.com/in/alan"}], "parameters": null }`,
	} {
		if got := streamFingerprint(t, a, same); got != want {
			t.Errorf("streamed %s: %s, want %s", same, got, want)
		}
		if got := whole(same); got != want {
			t.Errorf("whole %s: %s, want %s", same, got, want)
		}
	}
	for _, other := range []string{
		strings.Replace(base, "in/alan", "in/alan2", 1),                                              // an input
		strings.Replace(base, `"a":1`, `"a":2`, 1),                                                   // custom data
		strings.Replace(base, `,{"linkedin_profile_url":"https://www.linkedin.com/in/alan"}`, "", 1), // one input fewer
		strings.Replace(base, `"id-1"`, `"id-2"`, 1),                                                 // the identities
		strings.Replace(base, `"X-T":"1"`, `"X-T":"2"`, 1),                                           // a callback header
		strings.Replace(base, `}}`, `,"on":"final"}}`, 1),                                            // the callback's on
		strings.Replace(base, `"identity_ids"`, `"identity_mode":"auto","identity_ids"`, 1),
	} {
		if got := streamFingerprint(t, a, other); got == want {
			t.Errorf("%s has the fingerprint of another request", other)
		}
	}
	// The same body for another action.
	b, ok := catalog.Get("linkedin-extract-people-comment-activity")
	if !ok {
		t.Fatal("no linkedin-extract-people-comment-activity")
	}
	if got := streamFingerprint(t, b, base); got == want {
		t.Errorf("another action has the same fingerprint")
	}
}
