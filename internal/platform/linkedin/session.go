package linkedin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// Session cookies.
const (
	CookieLiAt       = "li_at"
	CookieJSESSIONID = "JSESSIONID"
	maxBody          = 16 << 20
	maxCookies       = 40
)

// session is one call's view of an identity's LinkedIn session: its cookie
// jar (fed by Set-Cookie, reported to the context's SessionSink), its user
// agent, and the identity's own *http.Client (its egress proxy), copied so
// that redirects are seen rather than followed: a redirect to the login or
// checkpoint pages is an answer, not a detour.
type session struct {
	d       *Driver
	ctx     context.Context
	hc      *http.Client
	cookies map[string]string // values as they travel (JSESSIONID quoted)
	ua      string
	calls   []string // recipes called, in order (the probe reports them)
}

func (d *Driver) newSession(ctx context.Context, hc *http.Client, cred platform.Credentials) (*session, error) {
	liAt := strings.Trim(strings.TrimSpace(cred.Cookies[CookieLiAt]), `"`)
	if liAt == "" {
		return nil, apperr.Upstream(platform.LabelNotConnected, "no li_at session cookie in the credentials")
	}
	if !validCookieValue(liAt) {
		return nil, apperr.Upstream(platform.LabelNotConnected, "the li_at cookie holds characters a cookie cannot carry; paste it again from the browser")
	}
	c := &http.Client{}
	if hc != nil {
		cp := *hc
		c = &cp
	}
	c.Jar = nil // the session's own jar, below, is the one LinkedIn's cookies go to
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s := &session{d: d, ctx: ctx, hc: c, cookies: map[string]string{}, ua: strings.TrimSpace(cred.UserAgent)}
	for k, v := range cred.Cookies {
		if k != "" && validCookieName(k) && validCookieValue(v) && len(s.cookies) < maxCookies {
			s.cookies[k] = v
		}
	}
	s.cookies[CookieLiAt] = liAt
	if s.ua == "" {
		s.ua = DefaultUserAgent(liAt)
	}
	if js := s.cookies[CookieJSESSIONID]; js != "" {
		s.cookies[CookieJSESSIONID] = quoteJSESSIONID(js)
		return s, nil
	}
	// Only li_at was given: ask for a JSESSIONID the way the web app gets
	// one, and keep it (reported to the sink like any refreshed cookie).
	if _, err := s.call("session", nil, nil); err != nil {
		return nil, err
	}
	if s.cookies[CookieJSESSIONID] == "" {
		return nil, platform.ActionBroken("session", "", "Set-Cookie JSESSIONID",
			"LinkedIn did not hand out a JSESSIONID cookie (recipe %q); give the JSESSIONID cookie with li_at, or fix the recipe", "session")
	}
	return s, nil
}

// LinkedIn sets JSESSIONID quoted ("ajax:123..."); users often paste it bare.
func quoteJSESSIONID(v string) string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) && len(v) >= 2 {
		return v
	}
	return `"` + strings.Trim(v, `"`) + `"`
}

// csrf is the csrf-token header: the JSESSIONID value without its quotes.
func (s *session) csrf() string { return strings.Trim(s.cookies[CookieJSESSIONID], `"`) }

func (s *session) cookieHeader() string {
	names := make([]string, 0, len(s.cookies))
	for k := range s.cookies {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, k+"="+s.cookies[k])
	}
	return strings.Join(parts, "; ")
}

// answer is a 2xx answer of one recipe.
type answer struct {
	status int
	body   J // nil when the answer had no JSON body
}

// call runs one recipe. body, when not nil, is sent as JSON.
func (s *session) call(name string, vars map[string]string, body any) (*answer, error) {
	rc, ok := s.d.recipes.Recipes[name]
	if !ok {
		return nil, apperr.Internal(errors.New("linkedin: no recipe " + name))
	}
	s.calls = append(s.calls, name)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, apperr.Internal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(s.ctx, rc.Method, s.d.recipes.url(s.d.base, name, vars), rd)
	if err != nil {
		return nil, platform.ActionBroken(name, "", "", "recipe %q does not make a valid request: %v", name, err)
	}
	for k, v := range s.d.recipes.headers(name) {
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", s.ua)
	if name != "session" {
		req.Header.Set("csrf-token", s.csrf())
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	}
	req.Header.Set("Cookie", s.cookieHeader())
	res, err := s.hc.Do(req)
	if err != nil {
		return nil, platform.FromTransport(platform.FamilyLinkedIn, err)
	}
	defer res.Body.Close()
	raw, rerr := io.ReadAll(io.LimitReader(res.Body, maxBody))
	// The jar first: LinkedIn refreshes cookies on failures too.
	s.absorb(res)
	if rerr != nil {
		return nil, platform.FromTransport(platform.FamilyLinkedIn, rerr)
	}
	return classify(name, rc, res, raw)
}

// absorb keeps what LinkedIn set or deleted and reports the new jar.
func (s *session) absorb(res *http.Response) {
	before := maps.Clone(s.cookies)
	now := time.Now()
	for _, c := range res.Cookies() {
		if c.Name == "" || !validCookieName(c.Name) {
			continue
		}
		if c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(now)) || c.Value == "delete me" {
			if c.Name != CookieLiAt { // a deleted li_at is an expired session: the next answer says so
				delete(s.cookies, c.Name)
			}
			continue
		}
		v := c.Value
		if c.Quoted {
			v = `"` + v + `"`
		}
		if c.Name == CookieJSESSIONID {
			v = quoteJSESSIONID(v)
		}
		if !validCookieValue(v) {
			continue
		}
		if _, known := s.cookies[c.Name]; !known && len(s.cookies) >= maxCookies {
			continue
		}
		s.cookies[c.Name] = v
	}
	if !maps.Equal(before, s.cookies) {
		platform.ReportSession(s.ctx, s.cookies)
	}
}

func validCookieName(s string) bool { return validHeaderName(s) }

func validCookieValue(s string) bool {
	if s == "" || len(s) > 8192 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ';' || c == ',' || c == '\\' {
			return false
		}
	}
	return true
}

func decodeJSON(raw []byte) (J, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	var out J
	if err := dec.Decode(&out); err != nil {
		return nil, false
	}
	return out, true
}
