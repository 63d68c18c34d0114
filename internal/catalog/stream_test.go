package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
)

// streamed runs DecodeAsyncStream over body and returns what DecodeAsync
// returns: the request with its inputs collected.
func streamed(a *Action, body []byte) (*AsyncRequest, error) {
	var got []Input
	r, n, err := a.DecodeAsyncStream(bytes.NewReader(body), func(in Input) error {
		got = append(got, in)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n != len(got) {
		return nil, fmt.Errorf("DecodeAsyncStream counted %d inputs and handed over %d", n, len(got))
	}
	r.Inputs = got
	return r, nil
}

// sameOutcome compares the streaming decoder with the whole-body one, which
// serves as the model: the same request, or the same 400. Messages about
// malformed JSON come from different parsers and only their label and
// reason must agree.
func sameOutcome(t *testing.T, a *Action, body []byte) {
	t.Helper()
	want, wantErr := a.DecodeAsync(body)
	got, gotErr := streamed(a, body)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("body %.300q:\nwhole body: %v\nstreamed:   %v", body, wantErr, gotErr)
	}
	if wantErr != nil {
		we, _ := apperr.As(wantErr)
		ge, ok := apperr.As(gotErr)
		if !ok {
			t.Fatalf("body %.300q: streamed error %T is not an *apperr.Error: %v", body, gotErr, gotErr)
		}
		// Syntax errors may be worded differently; a duplicate key is
		// reported alike.
		syntax := we.Params["reason"] != "" && we.Params["reason"] != "encoding" && we.Params["reason"] != "duplicate_key"
		if ge.Status != we.Status || ge.Label != we.Label || ge.Params["reason"] != we.Params["reason"] ||
			!syntax && (ge.Message != we.Message || !reflect.DeepEqual(ge.Params, we.Params)) {
			t.Fatalf("body %.300q:\nwhole body: %d %s %q %v\nstreamed:   %d %s %q %v", body,
				we.Status, we.Label, we.Message, we.Params, ge.Status, ge.Label, ge.Message, ge.Params)
		}
		return
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("body %.300q:\nwhole body: %+v\nstreamed:   %+v", body, want, got)
	}
}

func TestStreamAgreesWithWholeBody(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	in := `{"url":"` + profile + `","custom_data":{"crm":{"id":42,"tags":["a",null,1.5e3]}}}`
	cb := `"callback":{"url":"https://x.test","headers":{"A":"b"},"on":"final"}`
	bodies := []string{
		string(asyncBody(3, -1, "")),
		string(asyncBody(30, 17, "")),
		string(asyncBody(30, 0, "")),
		string(asyncBody(30, 29, "")),
		`{"inputs":[` + in + `],` + cb + `}`,
		`{` + cb + `,"inputs":[` + in + `,` + in + `]}`,
		`{"identity_ids":["a","b"],"inputs":[` + in + `],"identity_mode":"auto",` + cb + `}`,
		`{"inputs":[` + in + `],` + cb + `,"parameters":{}}`,
		`{"inputs":[` + in + `],` + cb + `,"parameters":{"nope":1}}`,
		`{"inputs":[` + in + `],` + cb + `,"identity_mode":"sideways"}`,
		` {"inputs":[],` + cb + `} `,
		`{"inputs":"x",` + cb + `}`,
		`{"inputs":{"0":` + in + `},` + cb + `}`,
		`{"inputs":null,` + cb + `}`,
		`{"inputs":[` + in + `]}`,
		`{` + cb + `}`,
		`{}`,
		`{"inputs":[` + in + `],` + cb + `,"input":{}}`,
		`{"inputs":[` + in + `, 5, "x", null, []],` + cb + `}`,
		`{"inputs":[{"url":"not a url"}],` + cb + `,"x":1}`,
		`{"inputs":[{"url":"not a url"}],"callback":{"url":"ftp://x"}}`,
		`{"inputs":[{"url":"not a url"}],` + cb + `,"parameters":{"nope":1}}`,
		`{"inputs":[{"url":"` + profile + `","custom_data":5}],` + cb + `}`,
		`{"inputs":[{"url":"` + profile + `","custom_data":{"n":1e999999}}],` + cb + `}`,
		`{"inputs":[{"url":"not a url"}],` + cb + `,"parameters":{"n":1e999999}}`,
		`{"inputs":[` + in + `],` + cb + `,"x":{"y":[1,1e999999]}}`,
		`{"inputs":[{"url":"not a url"},{"custom_data":{"n":[1e999999]}}],` + cb + `}`,
		`[` + in + `]`, `"body"`, `42`, `null`, `true`, ``, "  \n\t", `{`, `{"inputs":[` + in, `{"inputs":[` + in + `,`,
		`{"inputs":[` + in + `],` + cb + `}x`, `{"inputs":[` + in + `],` + cb + `}{}`, `{'inputs': []}`, `hello`,
		`{"inputs":[` + in + `,]}`, `{"inputs":[` + in + `] ` + cb + `}`, `{"inputs" [` + in + `]}`,
		`{"inputs":[{"url":"not a url"}],` + cb + `,}`, `{"inputs":[{"url":"not a url"}], "a":tru}`,
		strings.Repeat("[", 30000) + strings.Repeat("]", 30000),
		`{"inputs":[` + in + `],` + cb + `,"x":` + strings.Repeat(`{"a":`, 9000) + "1" + strings.Repeat("}", 9000) + `}`,
	}
	for _, b := range bodies {
		sameOutcome(t, a, []byte(b))
	}
	// Another action: parameters with defaults, and no identity.
	places := mustGet(t, "googlemaps-search-places")
	for _, b := range []string{
		`{"inputs":[{"google_maps_search_url":"https://www.google.com/maps/search/pizza"}],` + cb + `}`,
		`{"parameters":{"max_results":3},"inputs":[{"google_maps_search_url":"https://www.google.com/maps/search/pizza"}],` + cb + `}`,
		`{"inputs":[{"google_maps_search_url":"https://www.google.com/maps/search/pizza"}],` + cb + `,"identity_ids":[]}`,
	} {
		sameOutcome(t, places, []byte(b))
	}
}

// Arbitrary edits of valid bodies: the two decoders still agree.
func TestStreamAgreesOnMutatedBodies(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	seed := []byte(`{"identity_ids":["i"],"inputs":[{"url":"` + profile + `","custom_data":{"k":[1,{"b":null}]}},` +
		`{"linkedin_profile_url":"` + profile + `x"}],"callback":{"url":"https://x.test","on":"all"},"parameters":{}}`)
	const alphabet = `{}[],:"\ 0123456789.eE+-truefalsnlxyz/`
	rapid.Check(t, func(rt *rapid.T) {
		b := append([]byte(nil), seed...)
		for range rapid.IntRange(1, 4).Draw(rt, "edits") {
			i := rapid.IntRange(0, len(b)-1).Draw(rt, "at")
			c := alphabet[rapid.IntRange(0, len(alphabet)-1).Draw(rt, "char")]
			switch rapid.IntRange(0, 2).Draw(rt, "op") {
			case 0:
				b[i] = c
			case 1:
				b = append(b[:i], b[i+1:]...)
			default:
				b = append(b[:i], append([]byte{c}, b[i:]...)...)
			}
		}
		sameOutcome(t, a, b)
	})
}

// Duplicate keys are refused wherever they are: the body, an input, its
// custom data, the callback, the parameters. Which value a duplicate means
// is ambiguous, so nothing is stored. The streaming decoder and the
// whole-body parser every other route uses (validate.DecodeJSON) give the
// same answer: the object's path, the key, and the offset of its second
// mention, with params.reason "duplicate_key".
func TestStreamRefusesDuplicateKeys(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	in := `{"url":"` + profile + `"}`
	cb := `"callback":{"url":"https://x.test"}`
	for _, c := range []struct {
		body, path, key string
		before          string // the text just before the second mention of the key (its first occurrence)
	}{
		{`{"inputs":[` + in + `],"inputs":[` + in + `],` + cb + `}`, "body", "inputs", `"}],`},
		{`{"inputs":[` + in + `,{"url":"` + profile + `","url":"` + profile + `"}],` + cb + `}`, "body/inputs/1", "url", `"` + profile + `",`},
		{`{"inputs":[{"url":"` + profile + `","custom_data":{"a":{"b":1,"b":2}}}],` + cb + `}`, "body/inputs/0/custom_data/a", "b", `{"b":1,`},
		{`{"inputs":[` + in + `],"callback":{"url":"https://x.test","url":"https://y.test"}}`, "body/callback", "url", `"https://x.test",`},
		{`{"inputs":[` + in + `],` + cb + `,"parameters":{"\u0061":1,"a":2}}`, "body/parameters", "a", `"\u0061":1,`},
		{`{"inputs":[{"url":"not a url"},{"url":"` + profile + `","url":"` + profile + `"}],` + cb + `}`, "body/inputs/1", "url", `"` + profile + `",`},
	} {
		offset := strings.Index(c.body, c.before) + len(c.before)
		want := fmt.Sprintf("%s must NOT have duplicate key %q (at offset %d)", c.path, c.key, offset)
		calls := 0
		_, _, err := a.DecodeAsyncStream(strings.NewReader(c.body), func(Input) error { calls++; return nil })
		e := wantErr(t, err, "BAD_INPUT", want)
		if e.Params["reason"] != "duplicate_key" || e.Params["path"] != c.path || e.Params["offset"] != fmt.Sprint(offset) {
			t.Errorf("%s: params %v", c.body, e.Params)
		}
		_, whole := a.DecodeAsync([]byte(c.body))
		we, _ := apperr.As(whole)
		if we == nil || we.Message != e.Message || !reflect.DeepEqual(we.Params, e.Params) {
			t.Errorf("%s:\nstreamed:   %q %v\nwhole body: %v", c.body, e.Message, e.Params, whole)
		}
	}
}

// endless is an endless run of one byte.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

// counting counts what is read through it.
type counting struct {
	r io.Reader
	n int64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// One huge value is refused once it passes MaxStreamedValue, without
// reading (or holding) the rest of it: what a submission holds is bounded
// by one value, not by the body.
func TestStreamBoundsOneValue(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	in := `{"url":"` + profile + `"}`
	for prefix, path := range map[string]string{
		`{"inputs":[` + in + `,{"url":"`:                     "body/inputs/1",
		`{"inputs":[` + in + `],"callback":{"url":"https://`: "body/callback",
		`{"inputs":[{"url":"x"},` + in + `,{"url":"`:         "body/inputs/2", // after a bad input: only read
		`["`: "body",
	} {
		c := &counting{r: io.MultiReader(strings.NewReader(prefix), endless('a'))}
		calls := 0
		_, _, err := a.DecodeAsyncStream(c, func(Input) error { calls++; return nil })
		e := wantErr(t, err, "BAD_INPUT", fmt.Sprintf("%s must NOT be larger than %d bytes", path, MaxStreamedValue))
		if e.Params["reason"] != "too_large" || e.Params["path"] != path {
			t.Errorf("%s: params %v", prefix, e.Params)
		}
		if c.n > 4*MaxStreamedValue {
			t.Errorf("%s: read %d bytes of one endless value, want at most %d", prefix, c.n, 4*MaxStreamedValue)
		}
	}
	// Just under the bound is fine.
	big := `{"inputs":[{"url":"` + profile + `","custom_data":{"pad":"` + strings.Repeat("p", MaxStreamedValue-200) + `"}}],` +
		`"callback":{"url":"https://x.test"}}`
	if _, n, err := a.DecodeAsyncStream(strings.NewReader(big), func(Input) error { return nil }); err != nil || n != 1 {
		t.Fatalf("an input of just under %d bytes: %d, %v", MaxStreamedValue, n, err)
	}
}

// each sees the valid inputs in order, normalized; once one is invalid it
// is not called again; its own error stops the decoding and comes back as
// it is; the reader's errors come back as they are.
func TestStreamHandsInputsInOrder(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	var seen []string
	_, n, err := a.DecodeAsyncStream(bytes.NewReader(asyncBody(100, -1, "")), func(in Input) error {
		seen = append(seen, in.Values["linkedin_profile_url"].(string)+"#"+fmt.Sprint(in.CustomData["row"]))
		return nil
	})
	if err != nil || n != 100 || len(seen) != 100 {
		t.Fatalf("%d inputs, %d handed over: %v", n, len(seen), err)
	}
	for i, s := range seen {
		if want := fmt.Sprintf("https://www.linkedin.com/in/person-%d#%d", i, i); s != want {
			t.Fatalf("input %d: %s, want %s", i, s, want)
		}
	}

	calls := 0
	_, _, err = a.DecodeAsyncStream(bytes.NewReader(asyncBody(100, 40, "")), func(Input) error { calls++; return nil })
	wantErr(t, err, "BAD_INPUT", "body/inputs/40 must have required property 'linkedin_profile_url'")
	if calls != 40 {
		t.Errorf("each called %d times before the bad input 40", calls)
	}

	stop := errors.New("disk full")
	calls = 0
	_, _, err = a.DecodeAsyncStream(bytes.NewReader(asyncBody(100, -1, "")), func(Input) error {
		if calls++; calls == 7 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 7 {
		t.Errorf("each failing at the 7th input: %d calls, %v", calls, err)
	}

	broken := errors.New("connection reset")
	_, _, err = a.DecodeAsyncStream(io.MultiReader(bytes.NewReader(asyncBody(100, -1, "")[:500]), iotestErr{broken}),
		func(Input) error { return nil })
	if !errors.Is(err, broken) {
		t.Errorf("a reader failing: %v", err)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

// A bad input at the very end of a maximal batch: every input before it
// was handed over, and the error names it.
func TestStreamBadLastInput(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	calls := 0
	_, _, err := a.DecodeAsyncStream(bytes.NewReader(asyncBody(100_000, 99_999, "")), func(Input) error { calls++; return nil })
	wantErr(t, err, "BAD_INPUT", "body/inputs/99999 must have required property 'linkedin_profile_url'")
	if calls != 99_999 {
		t.Errorf("each called %d times", calls)
	}
	_, n, err := a.DecodeAsyncStream(bytes.NewReader(asyncBody(100_001, -1, "")), func(Input) error { return nil })
	wantErr(t, err, "BAD_INPUT", "body/inputs must NOT have more than 100000 items")
	_ = n
}

// Members the envelope refuses by name are read past, not kept: many large
// ones cost no more memory than one.
func TestStreamKeepsNoUnknownMember(t *testing.T) {
	a := mustGet(t, "linkedin-extract-people")
	var b strings.Builder
	b.WriteString(`{"inputs":[{"url":"` + profile + `"}],"callback":{"url":"https://x.test"}`)
	big := strings.Repeat("u", MaxStreamedValue-100)
	for i := range 40 {
		fmt.Fprintf(&b, `,"unknown%d":{"v":"%s"}`, i, big)
	}
	b.WriteString(`}`)
	body := b.String()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := a.DecodeAsyncStream(strings.NewReader(body), func(Input) error { return nil })
	runtime.ReadMemStats(&after)
	wantErr(t, err, "BAD_INPUT", "body must NOT have additional properties (unknown0)")
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(body))/4 {
		t.Errorf("decoding %d bytes of unknown members allocated %d bytes", len(body), alloc)
	}
}
