package validate

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// parseJSON is a single-pass JSON parser producing exactly what
// encoding/json's Decoder with UseNumber produces for an `any` target
// (map[string]any, []any, string, json.Number, bool, nil), including its
// treatment of invalid UTF-8 and lone surrogates (both become U+FFFD), but
// about twice as fast on large batches, mostly by sharing repeated object
// keys. FuzzParseJSON holds it to encoding/json's answers, with one
// deliberate difference: an object that names a key twice is refused
// (encoding/json keeps the last value), because two parsers that each keep
// a different one disagree on what the request was (RFC 8259 §4 leaves it
// to the implementation; RFC 7493 forbids it).
type parser struct {
	data  []byte
	pos   int
	depth int
	keys  map[string]string // interned object keys
	err   *syntaxErr
	buf   []byte
}

type syntaxErr struct {
	msg    string
	offset int
	// reason, when set, replaces "syntax" as the error's params.reason.
	reason string
	// key and within describe a duplicate key: the key, and the members
	// and indexes that lead to its object, innermost first (filled in as
	// the parser unwinds, so that the happy path pays nothing for them).
	key    string
	within []string
}

// enclosing records, as a duplicate key's error unwinds, the member or
// index it was found in.
func (e *syntaxErr) enclosing(tok string) {
	if e.reason == "duplicate_key" {
		e.within = append(e.within, tok)
	}
}

// path is the Ajv-style path of a duplicate key's object ("body/inputs/3").
func (e *syntaxErr) path() string {
	path := "body"
	for i := len(e.within) - 1; i >= 0; i-- {
		path += "/" + e.within[i]
	}
	return path
}

func parseJSON(data []byte) (any, *syntaxErr) {
	p := &parser{data: data}
	p.ws()
	v := p.value()
	if p.err != nil {
		return nil, p.err
	}
	p.ws()
	if p.pos != len(p.data) {
		return nil, &syntaxErr{msg: "unexpected data after the top-level value", offset: p.pos}
	}
	return v, nil
}

func (p *parser) fail(msg string) {
	if p.err == nil {
		p.err = &syntaxErr{msg: msg, offset: p.pos}
	}
}

func (p *parser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() any {
	if p.pos >= len(p.data) {
		p.fail("unexpected end of input")
		return nil
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, _ := p.str(false)
		return s
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.lit("true", true)
	case c == 'f':
		return p.lit("false", false)
	case c == 'n':
		return p.lit("null", nil)
	}
	p.fail("invalid character " + strconv.QuoteRune(rune(p.data[p.pos])) + " looking for beginning of value")
	return nil
}

func (p *parser) lit(word string, v any) any {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		if len(p.data)-p.pos < len(word) && string(p.data[p.pos:]) == word[:len(p.data)-p.pos] {
			p.pos = len(p.data)
			p.fail("unexpected end of input")
			return nil
		}
		p.fail("invalid literal")
		return nil
	}
	p.pos += len(word)
	return v
}

func (p *parser) enter() bool {
	p.depth++
	if p.depth > maxDepth {
		p.fail("exceeded max depth")
		return false
	}
	return true
}

func (p *parser) object() any {
	if !p.enter() {
		return nil
	}
	p.pos++ // {
	m := map[string]any{}
	p.ws()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return m
	}
	for {
		p.ws()
		if p.pos >= len(p.data) {
			p.fail("unexpected end of input")
			return nil
		}
		if p.data[p.pos] != '"' {
			p.fail("invalid character looking for beginning of object key string")
			return nil
		}
		keyAt := p.pos
		k, _ := p.str(true)
		if p.err != nil {
			return nil
		}
		if _, dup := m[k]; dup {
			p.err = &syntaxErr{msg: "duplicate key " + strconv.Quote(k), offset: keyAt, reason: "duplicate_key", key: k}
			return nil
		}
		p.ws()
		if p.pos >= len(p.data) {
			p.fail("unexpected end of input")
			return nil
		}
		if p.data[p.pos] != ':' {
			p.fail("invalid character after object key")
			return nil
		}
		p.pos++
		p.ws()
		v := p.value()
		if p.err != nil {
			p.err.enclosing(k)
			return nil
		}
		m[k] = v
		p.ws()
		if p.pos >= len(p.data) {
			p.fail("unexpected end of input")
			return nil
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			p.depth--
			return m
		default:
			p.fail("invalid character after object key:value pair")
			return nil
		}
	}
}

func (p *parser) array() any {
	if !p.enter() {
		return nil
	}
	p.pos++ // [
	a := []any{}
	p.ws()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return a
	}
	for {
		p.ws()
		v := p.value()
		if p.err != nil {
			p.err.enclosing(strconv.Itoa(len(a)))
			return nil
		}
		a = append(a, v)
		p.ws()
		if p.pos >= len(p.data) {
			p.fail("unexpected end of input")
			return nil
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			p.depth--
			return a
		default:
			p.fail("invalid character after array element")
			return nil
		}
	}
}

func (p *parser) number() any {
	start := p.pos
	d := p.data
	i := p.pos
	if d[i] == '-' {
		i++
	}
	if i >= len(d) {
		p.pos = i
		p.fail("unexpected end of input")
		return nil
	}
	switch {
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		p.pos = i
		p.fail("invalid character in numeric literal")
		return nil
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) {
			p.pos = i
			p.fail("unexpected end of input")
			return nil
		}
		if d[i] < '0' || d[i] > '9' {
			p.pos = i
			p.fail("invalid character after decimal point in numeric literal")
			return nil
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) {
			p.pos = i
			p.fail("unexpected end of input")
			return nil
		}
		if d[i] < '0' || d[i] > '9' {
			p.pos = i
			p.fail("invalid character in exponent of numeric literal")
			return nil
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	p.pos = i
	if i-start > maxNumberLen || !numberOK(string(d[start:i])) {
		p.pos = start
		p.fail("number out of the accepted range")
		return nil
	}
	return json.Number(d[start:i])
}

// str reads a string starting at the opening quote.
func (p *parser) str(isKey bool) (string, bool) {
	d := p.data
	i := p.pos + 1
	// Fast scan: no escapes, ASCII or valid UTF-8, no control characters.
	start := i
	for i < len(d) {
		c := d[i]
		if c == '"' {
			raw := d[start:i]
			p.pos = i + 1
			if isKey {
				if k, ok := p.keys[string(raw)]; ok {
					return k, true
				}
				k := string(raw)
				if p.keys == nil {
					// Made on first use: most bodies are small, and a map
					// sized for large ones cost more than the parse.
					p.keys = make(map[string]string, 8)
				}
				if len(p.keys) < 4096 {
					p.keys[k] = k
				}
				return k, true
			}
			return string(raw), true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	// Slow path.
	b := append(p.buf[:0], d[start:i]...)
	for {
		if i >= len(d) {
			p.pos = i
			p.fail("unexpected end of input")
			return "", false
		}
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			p.buf = b
			return string(b), true
		case c < 0x20:
			p.pos = i
			p.fail("invalid character in string literal")
			return "", false
		case c == '\\':
			i++
			if i >= len(d) {
				p.pos = i
				p.fail("unexpected end of input")
				return "", false
			}
			switch d[i] {
			case '"', '\\', '/':
				b = append(b, d[i])
				i++
			case 'b':
				b = append(b, '\b')
				i++
			case 'f':
				b = append(b, '\f')
				i++
			case 'n':
				b = append(b, '\n')
				i++
			case 'r':
				b = append(b, '\r')
				i++
			case 't':
				b = append(b, '\t')
				i++
			case 'u':
				r, ok := hex4(d, i+1)
				if !ok {
					p.pos = i
					p.fail("invalid character in \\u hexadecimal character escape")
					return "", false
				}
				i += 5
				if utf16.IsSurrogate(r) {
					// A valid pair makes one rune; anything else is U+FFFD,
					// as encoding/json does.
					if i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
						if r2, ok := hex4(d, i+2); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								b = utf8.AppendRune(b, dec)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				p.pos = i
				p.fail("invalid character in string escape code")
				return "", false
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, d[i:i+size]...)
			}
			i += size
		}
	}
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}
