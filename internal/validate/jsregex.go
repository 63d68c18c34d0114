package validate

import (
	"fmt"
	"regexp"
	"strings"
)

// The action reference writes many patterns as JavaScript regex literals
// ("/^https:\/\/.../i") rather than bare ECMA-262 pattern strings. Go's RE2
// engine understands neither the delimiters, the flags, nor a few Perl-only
// constructs, so every pattern goes through JSPatternToRE2 once, when a schema
// is compiled. A pattern that cannot be translated is a compile-time error: a
// request must never be the first thing to discover a broken pattern.

// jsFlags are the flag letters ECMAScript allows after a regex literal.
const jsFlags = "dgimsuvy"

// IsJSLiteral reports whether p looks like a JavaScript regex literal:
// "/body/flags" with a non-empty body and only valid flag letters.
func IsJSLiteral(p string) bool {
	_, _, ok := splitJSLiteral(p)
	return ok
}

func splitJSLiteral(p string) (body, flags string, ok bool) {
	if len(p) < 3 || p[0] != '/' {
		return "", "", false
	}
	end := strings.LastIndexByte(p, '/')
	if end <= 1 {
		return "", "", false
	}
	flags = p[end+1:]
	for _, f := range flags {
		if !strings.ContainsRune(jsFlags, f) {
			return "", "", false
		}
	}
	// The closing slash must not itself be escaped.
	if escapedAt(p, end) {
		return "", "", false
	}
	return p[1:end], flags, true
}

// escapedAt reports whether the byte at i is preceded by an odd number of
// backslashes.
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// JSPatternToRE2 turns an ECMAScript pattern, bare or written as a regex
// literal, into an equivalent RE2 pattern for unanchored matching (the
// semantics of JSON Schema's "pattern"). It returns an error when the pattern
// uses something RE2 cannot express.
//
// Translations:
//   - "/body/flags" loses its delimiters; i, m and s become (?i), (?m), (?s);
//     g, y, d, u and v do not change what a single test matches and are dropped.
//   - "\/" becomes "/".
//   - A lookbehind that opens the pattern, "(?<=a|b|^)rest", becomes
//     "(?:a|b|^)rest". For a yes/no "is there a match somewhere" question the
//     two are equivalent: consuming the prefix instead of asserting it moves
//     where the match starts, not whether one exists.
func JSPatternToRE2(p string) (string, error) {
	body, flags := p, ""
	if b, f, ok := splitJSLiteral(p); ok {
		body, flags = b, f
	}
	body = unescapeSlashes(body)
	body, err := rewriteLeadingLookbehind(body)
	if err != nil {
		return "", fmt.Errorf("pattern %q: %w", p, err)
	}
	if i := unsupportedConstruct(body); i != "" {
		return "", fmt.Errorf("pattern %q: %s is not supported by RE2", p, i)
	}
	var goFlags strings.Builder
	for _, f := range flags {
		switch f {
		case 'i', 'm', 's':
			if !strings.ContainsRune(goFlags.String(), f) {
				goFlags.WriteRune(f)
			}
		}
	}
	if goFlags.Len() > 0 {
		body = "(?" + goFlags.String() + ")" + body
	}
	if _, err := regexp.Compile(body); err != nil {
		return "", fmt.Errorf("pattern %q: %w", p, err)
	}
	return body, nil
}

// unescapeSlashes replaces "\/" by "/" when the backslash is itself not
// escaped.
func unescapeSlashes(s string) string {
	if !strings.Contains(s, `\/`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			if s[i+1] == '/' {
				b.WriteByte('/')
			} else {
				b.WriteByte(s[i])
				b.WriteByte(s[i+1])
			}
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// rewriteLeadingLookbehind handles "(?<=...)" (and only a positive one, only
// at the very start of the pattern, only with no nested group inside it).
func rewriteLeadingLookbehind(s string) (string, error) {
	if !strings.HasPrefix(s, "(?<=") {
		return s, nil
	}
	depth := 0
	for i := 4; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return "(?:" + s[4:i] + ")" + s[i+1:], nil
			}
			depth--
		}
	}
	return "", fmt.Errorf("unterminated lookbehind")
}

// unsupportedConstruct names the first ECMAScript-only construct found
// outside character classes: lookarounds, backreferences, named groups in JS
// syntax are fine in Go ("(?<name>" is accepted since Go 1.22).
func unsupportedConstruct(s string) string {
	inClass := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			if i+1 < len(s) && !inClass && s[i+1] >= '1' && s[i+1] <= '9' {
				return "a backreference"
			}
			if i+1 < len(s) && s[i+1] == 'k' && strings.HasPrefix(s[i+2:], "<") {
				return "a named backreference"
			}
			i++
			continue
		}
		if inClass {
			if c == ']' {
				inClass = false
			}
			continue
		}
		switch {
		case c == '[':
			inClass = true
			// A leading ']' or '^]' is a literal inside the class.
			if strings.HasPrefix(s[i+1:], "]") {
				i++
			} else if strings.HasPrefix(s[i+1:], "^]") {
				i += 2
			}
		case strings.HasPrefix(s[i:], "(?="), strings.HasPrefix(s[i:], "(?!"):
			return "a lookahead"
		case strings.HasPrefix(s[i:], "(?<="), strings.HasPrefix(s[i:], "(?<!"):
			return "a lookbehind"
		}
	}
	return ""
}

// regexpEngine is plugged into the JSON Schema compiler so that every pattern
// it meets (pattern, patternProperties, format "regex") is translated first.
func compileJSRegexp(p string) (*regexp.Regexp, error) {
	re2, err := JSPatternToRE2(p)
	if err != nil {
		return nil, err
	}
	return regexp.Compile(re2)
}
