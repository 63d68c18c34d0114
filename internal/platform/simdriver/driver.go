// Package simdriver is the platform driver that speaks to the bundled
// simulator (internal/sim) over HTTP. It maps each action's normalized input
// to simulator calls and shapes the answers to the action's output fields.
// It serves the four driver families (linkedin, googlemaps, tripadvisor,
// thefork): register the same Driver under each.
package simdriver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// Driver talks to one simulator.
type Driver struct {
	base string
}

var (
	_ platform.Driver        = (*Driver)(nil)
	_ platform.Authenticator = (*Driver)(nil)
	_ platform.Downloader    = (*Driver)(nil)
)

// New returns a driver for the simulator at baseURL (e.g. http://127.0.0.1:7801).
func New(baseURL string) *Driver { return &Driver{base: strings.TrimRight(baseURL, "/")} }

// Families are the engine's driver keys this driver serves.
func Families() []string { return []string{"linkedin", "googlemaps", "tripadvisor", "thefork"} }

// req is one upstream request of one call.
type req struct {
	d      *Driver
	ctx    context.Context
	hc     *http.Client
	cookie string
	family string
}

func (r *req) do(method, path string, query url.Values, body any) (J, error) {
	u := r.d.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, apperr.Internal(err)
		}
		rd = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(r.ctx, method, u, rd)
	if err != nil {
		return nil, apperr.Internal(err)
	}
	hr.Header.Set("Accept", "application/json")
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: "li_at", Value: r.cookie})
	}
	hc := r.hc
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(hr)
	if err != nil {
		return nil, platform.FromTransport(r.family, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return nil, platform.FromTransport(r.family, err)
	}
	var out J
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if derr := dec.Decode(&out); derr != nil && res.StatusCode < 300 {
			return nil, platform.FromStatus(r.family, 502, "BAD_BODY", "the platform answered something that is not JSON", "")
		}
	}
	if res.StatusCode >= 300 {
		return nil, platform.FromStatus(r.family, res.StatusCode, out.S("code"), out.S("message"), res.Header.Get("Retry-After"))
	}
	return out, nil
}

func (r *req) get(path string, q url.Values) (J, error) { return r.do(http.MethodGet, path, q, nil) }

func (r *req) post(path string, body any) (J, error) {
	if body == nil {
		body = map[string]any{}
	}
	return r.do(http.MethodPost, path, nil, body)
}

func cookieOf(cred platform.Credentials) string {
	if cred.Cookies == nil {
		return ""
	}
	return cred.Cookies["li_at"]
}

// Me validates a LinkedIn session.
func (d *Driver) Me(ctx context.Context, hc *http.Client, cred platform.Credentials) (platform.Account, error) {
	c := cookieOf(cred)
	if c == "" {
		return platform.Account{}, apperr.Upstream(platform.LabelNotConnected, "no li_at session cookie in the credentials")
	}
	r := &req{d: d, ctx: ctx, hc: hc, cookie: c, family: platform.FamilyLinkedIn}
	me, err := r.get("/linkedin/me", nil)
	if err != nil {
		return platform.Account{}, err
	}
	p := me.O("profile")
	return platform.Account{Level: me.S("plan"), Name: strings.TrimSpace(p.S("firstName") + " " + p.S("lastName")),
		Permalink: p.S("profileUrl"), ExternalID: p.S("memberId")}, nil
}

func loginResult(j J) (platform.LoginResult, error) {
	switch j.S("status") {
	case "AUTHENTICATED":
		ck := map[string]string{}
		for k, v := range j.O("cookies") {
			ck[k] = fmt.Sprint(v)
		}
		return platform.LoginResult{Cookies: ck, Level: j.S("level")}, nil
	case "CHALLENGE":
		cp := j.O("checkpoint")
		return platform.LoginResult{Checkpoint: &platform.Checkpoint{Type: cp.S("type"), State: cp.S("state")}}, nil
	}
	return platform.LoginResult{}, apperr.Upstream(platform.LabelIntegration, "unexpected login answer %q", j.S("status"))
}

// loginError refines the generic mapping of login failures: bad credentials or
// a failed challenge are integration errors, a wrong code is the user's input.
func loginError(err error) error {
	e, ok := apperr.As(err)
	if !ok {
		return err
	}
	switch e.Params[platform.ParamUpstreamCode] {
	case "INVALID_CREDENTIALS":
		return apperr.Upstream(platform.LabelIntegration, "wrong username or password").With("reason", "INVALID_CREDENTIALS")
	case "CHALLENGE_FAILED", "CHALLENGE_EXPIRED":
		return apperr.Upstream(platform.LabelIntegration, "the login challenge failed; log in again").With("reason", e.Params[platform.ParamUpstreamCode])
	case "WRONG_CODE":
		return apperr.BadInput("the verification code is not valid")
	}
	return err
}

// Login starts a username/password login.
func (d *Driver) Login(ctx context.Context, hc *http.Client, username, password string) (platform.LoginResult, error) {
	r := &req{d: d, ctx: ctx, hc: hc, family: platform.FamilyLinkedIn}
	j, err := r.post("/linkedin/login", map[string]string{"username": username, "password": password})
	if err != nil {
		return platform.LoginResult{}, loginError(err)
	}
	return loginResult(j)
}

// Checkpoint answers (or, with an empty code, polls) a login challenge.
func (d *Driver) Checkpoint(ctx context.Context, hc *http.Client, state, code string) (platform.LoginResult, error) {
	r := &req{d: d, ctx: ctx, hc: hc, family: platform.FamilyLinkedIn}
	j, err := r.post("/linkedin/checkpoint", map[string]string{"state": state, "code": code})
	if err != nil {
		return platform.LoginResult{}, loginError(err)
	}
	return loginResult(j)
}

// Run fetches one page of an action.
func (d *Driver) Run(ctx context.Context, hc *http.Client, cred platform.Credentials, call platform.Call) (platform.Page, error) {
	if call.Action == nil {
		return platform.Page{}, apperr.Internal(fmt.Errorf("simdriver: call without an action"))
	}
	h, ok := handlers[call.Action.Slug]
	if !ok {
		return platform.Page{}, apperr.Upstream(platform.LabelIntegration, "the simulator driver does not know %s", call.Action.Slug)
	}
	fam := platform.Family(call.Action.Platform)
	c := &callCtx{req: req{d: d, ctx: ctx, hc: hc, cookie: cookieOf(cred), family: fam}, call: call}
	if call.Action.NeedsIdentity && c.cookie == "" {
		return platform.Page{}, apperr.Upstream(platform.LabelNotConnected, "no li_at session cookie in the credentials")
	}
	c.size = call.PageSize
	if c.size <= 0 {
		c.size = call.Action.PageSize
	}
	if c.size <= 0 {
		c.size = 100
	}
	c.page = max(call.Page, 1)
	pg, err := h(c)
	if err != nil {
		return platform.Page{}, err
	}
	for i, m := range pg.Results {
		out, missing := shape(call.Action, m)
		if strict && len(missing) > 0 {
			return platform.Page{}, apperr.Internal(fmt.Errorf("simdriver: %s: no value for %v", call.Action.Slug, missing))
		}
		pg.Results[i] = out
	}
	if pg.Results == nil {
		pg.Results = []map[string]any{}
	}
	return pg, nil
}

// strict makes Run fail when a mapper leaves an output field unset (tests).
var strict = false

// callCtx carries one call through its handler.
type callCtx struct {
	req
	call       platform.Call
	size, page int
}

func (c *callCtx) in(name string) string {
	v, ok := c.call.Input[name]
	if !ok || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func (c *callCtx) param(name string) any {
	if c.call.Params == nil {
		return nil
	}
	return c.call.Params[name]
}

func (c *callCtx) paramS(name string) string {
	v := c.param(name)
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func (c *callCtx) paramB(name string) bool {
	switch v := c.param(name).(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// window is the start/count query of the call's page. A token from the
// previous page wins over the page number.
func (c *callCtx) window(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	q.Set("count", strconv.Itoa(c.size))
	q.Set("start", strconv.Itoa((c.page-1)*c.size))
	if t := c.call.Token; t != "" {
		kind, v, _ := strings.Cut(t, ":")
		switch kind {
		case "p":
			q.Set("paginationToken", v)
		case "s":
			q.Set("scanToken", v)
		}
	}
	return q
}

// list fetches one page of a simulator list and maps its elements.
func (c *callCtx) list(path string, q url.Values, mapper func(J) map[string]any) (platform.Page, error) {
	body, err := c.get(path, c.window(q))
	if err != nil {
		return platform.Page{}, err
	}
	return pageOf(body, mapper), nil
}

func pageOf(body J, mapper func(J) map[string]any) platform.Page {
	var pg platform.Page
	for _, e := range body.A("elements") {
		pg.Results = append(pg.Results, mapper(e))
	}
	md := body.O("metadata")
	switch {
	case md.S("paginationToken") != "":
		pg.NextToken, pg.More = "p:"+md.S("paginationToken"), true
	case md.S("scanToken") != "":
		pg.NextToken, pg.More = "s:"+md.S("scanToken"), true
	}
	return pg
}

func one(m map[string]any) platform.Page {
	return platform.Page{Results: []map[string]any{m}}
}

// dmsPrefix is where LinkedIn serves message attachments.
const dmsPrefix = "https://www.linkedin.com/dms/"

// Download streams a message attachment from the simulator, which serves
// https://www.linkedin.com/dms/{path} at /linkedin/dms/{path}.
func (d *Driver) Download(ctx context.Context, hc *http.Client, cred platform.Credentials, fileURL string) (platform.File, error) {
	c := cookieOf(cred)
	if c == "" {
		return platform.File{}, apperr.Upstream(platform.LabelNotConnected, "no li_at session cookie in the credentials")
	}
	u, err := url.Parse(fileURL)
	if err != nil || !strings.HasPrefix(fileURL, dmsPrefix) || u.Host != "www.linkedin.com" || u.User != nil ||
		strings.Contains(u.Path, "..") || len(strings.TrimPrefix(u.Path, "/dms/")) == 0 {
		return platform.File{}, apperr.BadParameters("querystring/url must be a LinkedIn message attachment URL (%s...)", dmsPrefix).
			With("path", "querystring/url")
	}
	target := d.base + "/linkedin" + u.EscapedPath()
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return platform.File{}, apperr.Internal(err)
	}
	hr.AddCookie(&http.Cookie{Name: "li_at", Value: c})
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(hr)
	if err != nil {
		return platform.File{}, platform.FromTransport(platform.FamilyLinkedIn, err)
	}
	if res.StatusCode >= 300 {
		defer res.Body.Close()
		var body J
		raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		_ = json.Unmarshal(raw, &body)
		return platform.File{}, platform.FromStatus(platform.FamilyLinkedIn, res.StatusCode, body.S("code"), body.S("message"),
			res.Header.Get("Retry-After"))
	}
	f := platform.File{Body: res.Body, ContentType: res.Header.Get("Content-Type"), Size: res.ContentLength}
	if _, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition")); err == nil {
		f.Name = params["filename"]
	}
	return f, nil
}
