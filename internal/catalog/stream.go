package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/validate"
)

// MaxStreamedValue bounds each input of a streamed async body, and each of
// its other members: the decoder holds one of them in memory at a time, so
// this (not the 128 MiB body) bounds what a submission holds. A live body,
// whose input is one such value, is capped at the same 1 MiB.
const MaxStreamedValue = 1 << 20

// DecodeAsyncStream decodes an async body read from r without holding it:
// each input is validated and normalized as it arrives and handed to each,
// in order. It returns the rest of the request (Inputs left nil) and the
// number of inputs.
//
// The answer is the one DecodeAsync gives for the same body. Errors are
// reported in the same precedence: malformed JSON anywhere (duplicate keys,
// at any depth, included), then the envelope (unknown members, missing or
// mistyped ones, too few or too many inputs), then the first invalid input,
// then the parameters and the identity fields. So once an input is invalid
// each is not called again, but the rest of the body is still read. An
// error from each stops the decoding at once and is returned as it is.
//
// What r reports beyond its data (a body over its size limit, a broken
// connection) is returned as it is too: an *apperr.Error only for what the
// body says.
func (a *Action) DecodeAsyncStream(r io.Reader, each func(Input) error) (*AsyncRequest, int, error) {
	g := &guard{r: r, limit: MaxStreamedValue + 64<<10}
	st := &stream{a: a, g: g, dec: jsontext.NewDecoder(g), each: each, members: map[string]any{}}
	v, err := st.body()
	if err != nil {
		return nil, 0, st.fail(err)
	}
	obj, e := checkEnvelope(v, a.asyncEnvelope)
	if e != nil {
		return nil, 0, e
	}
	if st.badInput != nil {
		return nil, 0, st.badInput
	}
	req := &AsyncRequest{}
	if e := a.decodeBatchRest(obj, "async", req); e != nil {
		return nil, 0, e
	}
	return req, st.n, nil
}

// stream is the state of one DecodeAsyncStream.
type stream struct {
	a    *Action
	g    *guard
	dec  *jsontext.Decoder
	each func(Input) error
	// members holds the body's members but inputs, decoded.
	members  map[string]any
	n        int           // inputs seen
	badInput *apperr.Error // the first invalid input
	// what is being read, for an error about its size
	reading string
}

// body reads the whole body and returns the envelope to validate: the
// members but inputs, and a stand-in for inputs of the same JSON type and,
// for an array, a length on the same side of the schema's bounds.
func (st *stream) body() (any, error) {
	kind := st.dec.PeekKind()
	if kind == 0 {
		if _, err := st.dec.ReadToken(); errors.Is(err, io.EOF) {
			return nil, apperr.BadInput("body must be valid JSON (empty body)").With("reason", "empty")
		} else if err != nil {
			return nil, err
		}
	}
	if kind != '{' {
		// Not an object: the envelope schema refuses it by its type alone;
		// the value is still read, since malformed JSON comes first.
		st.reading = "body"
		if err := st.skip(); err != nil {
			return nil, err
		}
		return standIn(kind), st.end()
	}
	if _, err := st.dec.ReadToken(); err != nil {
		return nil, err
	}
	var inputs any
	hasInputs := false
	for st.dec.PeekKind() != '}' {
		st.reading = "body"
		st.g.mark(st.dec.InputOffset())
		name, err := st.dec.ReadToken()
		if err != nil {
			return nil, err
		}
		key := name.String()
		if key == "inputs" && st.dec.PeekKind() == '[' {
			if err := st.inputs(); err != nil {
				return nil, err
			}
			inputs, hasInputs = st.inputsStandIn(), true
			continue
		}
		st.reading = "body/" + key
		if !st.a.asyncMembers[key] {
			// Refused by its name alone: read past its value, keep none
			// of it (many large unknown members would add up).
			if err := st.skip(); err != nil {
				return nil, err
			}
			st.members[key] = nil
			continue
		}
		st.g.mark(st.dec.InputOffset())
		raw, err := st.dec.ReadValue()
		if err != nil {
			return nil, err
		}
		v, err := st.decodeValue(raw, st.dec.InputOffset()-int64(len(raw)))
		if err != nil {
			return nil, err
		}
		if key == "inputs" {
			inputs, hasInputs = v, true
		} else {
			st.members[key] = v
		}
	}
	if _, err := st.dec.ReadToken(); err != nil {
		return nil, err
	}
	if err := st.end(); err != nil {
		return nil, err
	}
	obj := make(map[string]any, len(st.members)+1)
	for k, v := range st.members {
		obj[k] = v
	}
	if hasInputs {
		obj["inputs"] = inputs
	}
	return obj, nil
}

// inputs reads the inputs array, handing each valid input to st.each.
func (st *stream) inputs() error {
	if _, err := st.dec.ReadToken(); err != nil { // [
		return err
	}
	max := st.a.AsyncMaxInputs
	for st.dec.PeekKind() != ']' {
		i := st.n
		st.n++
		st.reading = "body/inputs/" + strconv.Itoa(i)
		st.g.mark(st.dec.InputOffset())
		if i >= max || st.badInput != nil {
			// Refused whatever it holds: only read it.
			if err := st.skip(); err != nil {
				return err
			}
			continue
		}
		raw, err := st.dec.ReadValue()
		if err != nil {
			return err
		}
		v, err := st.decodeValue(raw, st.dec.InputOffset()-int64(len(raw)))
		if err != nil {
			return err
		}
		in, e := st.a.normalizeInput(st.reading, v)
		if e != nil {
			st.badInput = e
			continue
		}
		if err := st.each(in); err != nil {
			return &sinkError{err}
		}
	}
	_, err := st.dec.ReadToken() // ]
	return err
}

// inputsStandIn is an array that the envelope's minItems and maxItems judge
// as they would the real one.
func (st *stream) inputsStandIn() []any {
	min, max := st.a.gen.AsyncMinInputs, st.a.AsyncMaxInputs
	switch {
	case st.n > max:
		return make([]any, max+1)
	case st.n < min:
		return make([]any, st.n)
	}
	return make([]any, min)
}

// decodeValue decodes one value (already checked by jsontext, duplicate
// keys included) the way validate.DecodeJSON does, which also refuses
// absurd numbers; its error offsets are made relative to the body.
func (st *stream) decodeValue(raw []byte, at int64) (any, error) {
	v, e := validate.DecodeJSON(raw)
	if e == nil {
		return v, nil
	}
	off, err := strconv.ParseInt(e.Params["offset"], 10, 64)
	if err != nil {
		return nil, e
	}
	msg := strings.TrimPrefix(e.Message, "body must be valid JSON (")
	if i := strings.LastIndex(msg, " at offset "); i >= 0 {
		msg = msg[:i]
	}
	return nil, apperr.BadInput("body must be valid JSON (%s at offset %d)", msg, at+off).
		With("reason", e.Params["reason"]).With("offset", strconv.FormatInt(at+off, 10))
}

// skip reads past the next value token by token, so that no more than one
// token at a time is held. Numbers are still checked as decodeValue checks
// them: an absurd one is malformed JSON wherever it is.
func (st *stream) skip() error {
	depth := st.dec.StackDepth()
	for {
		st.g.mark(st.dec.InputOffset())
		if st.dec.PeekKind() == '0' {
			raw, err := st.dec.ReadValue()
			if err != nil {
				return err
			}
			if _, err := st.decodeValue(raw, st.dec.InputOffset()-int64(len(raw))); err != nil {
				return err
			}
		} else if _, err := st.dec.ReadToken(); err != nil {
			return err
		}
		if st.dec.StackDepth() <= depth {
			return nil
		}
	}
}

// end checks that nothing but white space follows the top-level value.
func (st *stream) end() error {
	st.g.mark(st.dec.InputOffset())
	if st.dec.PeekKind() == 0 {
		if _, err := st.dec.ReadToken(); errors.Is(err, io.EOF) {
			return nil
		} else if st.g.tooLarge || st.g.err != nil {
			return err
		}
	}
	unread := st.dec.UnreadBuffer()
	at := st.dec.InputOffset() + int64(len(unread)-len(bytes.TrimLeft(unread, " \t\r\n")))
	off := strconv.FormatInt(at, 10)
	return apperr.BadInput("body must be valid JSON (unexpected data after the top-level value at offset %s)", off).
		With("reason", "syntax").With("offset", off)
}

// fail turns what stopped the decoding into the error to return.
func (st *stream) fail(err error) error {
	if e, ok := apperr.As(err); ok {
		return e
	}
	var se *sinkError
	if errors.As(err, &se) {
		return se.err
	}
	switch {
	case st.g.tooLarge:
		return apperr.BadInput("%s must NOT be larger than %d bytes", st.reading, MaxStreamedValue).
			With("path", st.reading).With("reason", "too_large")
	case st.g.err != nil:
		return st.g.err // the reader's own failure, as it is
	}
	var syn *jsontext.SyntacticError
	if !errors.As(err, &syn) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return truncated(st.g.read)
		}
		return apperr.BadInput("body must be valid JSON").With("reason", "syntax")
	}
	switch {
	case errors.Is(syn.Err, io.ErrUnexpectedEOF):
		return truncated(syn.ByteOffset)
	case errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return validate.DuplicateKey(pointerPath(syn.JSONPointer.Parent()), syn.JSONPointer.LastToken(), syn.ByteOffset)
	case strings.Contains(syn.Err.Error(), "invalid UTF-8"):
		return apperr.BadInput("body must be valid UTF-8").With("reason", "encoding")
	}
	off := strconv.FormatInt(syn.ByteOffset, 10)
	return apperr.BadInput("body must be valid JSON (%s at offset %s)", syn.Err.Error(), off).
		With("reason", "syntax").With("offset", off)
}

func truncated(at int64) *apperr.Error {
	off := strconv.FormatInt(at, 10)
	return apperr.BadInput("body must be valid JSON (unexpected end of input at offset %s)", off).
		With("reason", "truncated").With("offset", off)
}

// pointerPath renders a JSON pointer as the Ajv-style path of messages.
func pointerPath(p jsontext.Pointer) string {
	path := "body"
	for tok := range p.Tokens() {
		path += "/" + tok
	}
	return path
}

// standIn is a value of the JSON kind k, for the envelope's type check.
func standIn(k jsontext.Kind) any {
	switch k {
	case '[':
		return []any{}
	case '"':
		return ""
	case '0':
		return json.Number("0")
	case 't', 'f':
		return true
	}
	return nil
}

// sinkError carries an error of each through the decoder, untouched.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// guard is the decoder's reader. It refuses to read on once the value being
// decoded (since mark) has grown past limit, so that a single huge value
// cannot make the decoder buffer the whole body, and it keeps what the
// underlying reader failed with.
type guard struct {
	r        io.Reader
	read     int64 // bytes read so far
	from     int64 // offset where the value being read starts
	limit    int64
	tooLarge bool
	err      error
}

// errTooLarge stops the decoder when guard refuses to read.
var errTooLarge = errors.New("catalog: value too large")

func (g *guard) mark(offset int64) { g.from = offset }

func (g *guard) Read(p []byte) (int, error) {
	if g.read-g.from > g.limit {
		g.tooLarge = true
		return 0, errTooLarge
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	if err != nil && err != io.EOF {
		g.err = err
	}
	return n, err
}
