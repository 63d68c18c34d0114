// Package hubspot is the platform driver for HubSpot's public CRM v3 REST
// API, authenticated with a private-app access token (Authorization: Bearer).
// It serves the "hubspot" driver family: the connect check (Me) and the
// hubspot-* actions of the catalogue (actions_hubspot.go).
//
// Endpoints used:
//
//	GET  /crm/v3/objects/contacts?limit=1          token and contacts scope check
//	GET  /account-info/v3/details                  portal id and UI domain (best effort)
//	POST /crm/v3/objects/contacts/batch/upsert     upsert by e-mail (idProperty "email")
//	POST /crm/v3/objects/contacts/search           query, filters, paging by "after"
//
// Error mapping (HubSpot answers {status:"error", message, correlationId,
// category}):
//
//	401          NOT_CONNECTED: the token is revoked or wrong; the engine marks
//	             the integration INVALID
//	403          STATUS_403 (typically a missing scope)
//	404          STATUS_404
//	429          STATUS_429, transient, params.retry_after from Retry-After, else
//	             from X-HubSpot-RateLimit-Interval-Milliseconds, else 10 s
//	400, 409     BAD_INPUT (HTTP 400, permanent) with HubSpot's message: the
//	             fix is in the input (an invalid e-mail, an unknown property)
//	504, timeout LK_524: the contract's one "upstream timed out" label; it is
//	             transient, so async retries it, and a client can tell a slow
//	             HubSpot from a failing one
//	other 5xx    GENERIC_ERROR, transient
//
// The token never appears in an error, a log line or a result.
package hubspot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// DefaultURL is HubSpot's API host.
const DefaultURL = "https://api.hubapi.com"

// Family is the engine's driver key.
const Family = "hubspot"

// ParamCorrelationID carries HubSpot's correlationId on errors, for support.
const ParamCorrelationID = "hubspot_correlation_id"

// Driver talks to one HubSpot API host.
type Driver struct {
	base string
	// portals caches, per token hash, what account-info said, so that the
	// contact URLs need one account-info call per token and process.
	portals sync.Map // [32]byte -> portal
}

var _ platform.Driver = (*Driver)(nil)

// New returns a driver for baseURL ("" means DefaultURL).
func New(baseURL string) *Driver {
	if baseURL == "" {
		baseURL = DefaultURL
	}
	return &Driver{base: strings.TrimRight(baseURL, "/")}
}

type portal struct {
	ID       int64
	UIDomain string
}

func (p portal) contactURL(id string) string {
	if p.ID == 0 || id == "" {
		return ""
	}
	return fmt.Sprintf("https://%s/contacts/%d/record/0-1/%s", p.UIDomain, p.ID, id)
}

func tokenOf(cred platform.Credentials) (string, error) {
	t := strings.TrimSpace(cred.Token)
	if t == "" {
		return "", apperr.Upstream(platform.LabelNotConnected, "no HubSpot access token in the credentials")
	}
	return t, nil
}

// call is one request with one token.
type call struct {
	d     *Driver
	ctx   context.Context
	hc    *http.Client
	token string
}

func (c *call) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apperr.Internal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.ctx, method, c.d.base+path, rd)
	if err != nil {
		return apperr.Internal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.hc
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return platform.FromTransport(platform.FamilyOther, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return platform.FromTransport(platform.FamilyOther, err)
	}
	if res.StatusCode >= 300 {
		return mapError(res.StatusCode, res.Header, raw, c.token)
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return platform.FromStatus(platform.FamilyOther, 502, "BAD_BODY", "HubSpot answered something that is not the expected JSON", "")
	}
	return nil
}

// errorBody is HubSpot's error shape; every field is optional.
type errorBody struct {
	Message       string `json:"message"`
	CorrelationID string `json:"correlationId"`
	Category      string `json:"category"`
	Errors        []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

// mapError turns a non-2xx answer into the contract's labels.
func mapError(status int, h http.Header, raw []byte, token string) error {
	var eb errorBody
	_ = json.Unmarshal(raw, &eb)
	msg := eb.Message
	if msg == "" && len(eb.Errors) > 0 {
		msg = eb.Errors[0].Message
	}
	msg = clean(msg, token)
	var e *apperr.Error
	switch status {
	case 400, 409, 422:
		if msg == "" {
			msg = fmt.Sprintf("HubSpot answered %d", status)
		}
		e = apperr.BadInput("HubSpot rejected the input: %s", msg).
			With(platform.ParamUpstreamStatus, strconv.Itoa(status))
		if eb.Category != "" {
			e = e.With(platform.ParamUpstreamCode, eb.Category)
		}
	case 429:
		e = platform.FromStatus(platform.FamilyOther, status, eb.Category, msg, retryAfter(h))
	default:
		e = platform.FromStatus(platform.FamilyOther, status, eb.Category, msg, h.Get("Retry-After"))
	}
	if eb.CorrelationID != "" {
		e = e.With(ParamCorrelationID, clean(eb.CorrelationID, token))
	}
	return e
}

// retryAfter reads the wait of a 429: Retry-After when HubSpot sends it,
// else the rolling window's length, else HubSpot's usual 10-second window.
func retryAfter(h http.Header) string {
	if ra := strings.TrimSpace(h.Get("Retry-After")); ra != "" {
		if n, err := strconv.Atoi(ra); err == nil && n >= 0 {
			return strconv.Itoa(n)
		}
		if t, err := http.ParseTime(ra); err == nil {
			return strconv.Itoa(max(0, int(math.Ceil(time.Until(t).Seconds()))))
		}
	}
	if ms, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil && ms > 0 {
		return strconv.Itoa((ms + 999) / 1000)
	}
	return "10"
}

// clean bounds a HubSpot message and makes sure it cannot carry the token.
func clean(s, token string) string {
	if token != "" {
		s = strings.ReplaceAll(s, token, "[redacted]")
	}
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

// Me checks that the token works and reaches contacts, then reads the
// portal id (best effort: account-info may be out of the token's scopes).
func (d *Driver) Me(ctx context.Context, hc *http.Client, cred platform.Credentials) (platform.Account, error) {
	tok, err := tokenOf(cred)
	if err != nil {
		return platform.Account{}, err
	}
	c := &call{d: d, ctx: ctx, hc: hc, token: tok}
	if err := c.do(http.MethodGet, "/crm/v3/objects/contacts?limit=1", nil, &json.RawMessage{}); err != nil {
		return platform.Account{}, err
	}
	p := d.portal(c, true)
	acc := platform.Account{Name: "HubSpot"}
	if p.ID != 0 {
		acc.Name = fmt.Sprintf("HubSpot portal %d", p.ID)
		acc.ExternalID = strconv.FormatInt(p.ID, 10)
		acc.Permalink = fmt.Sprintf("https://%s/contacts/%d", p.UIDomain, p.ID)
	}
	return acc, nil
}

// portal returns the token's portal, asking account-info once per token
// (again when refresh is set). Failures leave the id 0.
func (d *Driver) portal(c *call, refresh bool) portal {
	key := sha256.Sum256([]byte(c.token))
	if v, ok := d.portals.Load(key); ok && !refresh {
		return v.(portal)
	}
	var info struct {
		PortalID json.Number `json:"portalId"`
		UIDomain string      `json:"uiDomain"`
	}
	var p portal
	if err := c.do(http.MethodGet, "/account-info/v3/details", nil, &info); err == nil {
		p.ID, _ = info.PortalID.Int64()
		p.UIDomain = info.UIDomain
		if p.UIDomain == "" || strings.ContainsAny(p.UIDomain, "/?#@ ") {
			p.UIDomain = "app.hubspot.com"
		}
	} else if ae, ok := apperr.As(err); !ok || platform.Transient(ae) || ae.Label == platform.LabelNotConnected {
		return p // try again next time
	}
	d.portals.Store(key, p)
	return p
}

// Run runs one page of a hubspot-* action.
func (d *Driver) Run(ctx context.Context, hc *http.Client, cred platform.Credentials, cl platform.Call) (platform.Page, error) {
	tok, err := tokenOf(cred)
	if err != nil {
		return platform.Page{}, err
	}
	c := &call{d: d, ctx: ctx, hc: hc, token: tok}
	switch cl.Action.Slug {
	case "hubspot-upsert-contact":
		return d.upsertContact(c, cl)
	case "hubspot-search-contacts":
		return d.searchContacts(c, cl)
	}
	return platform.Page{}, apperr.Upstream(platform.LabelIntegration, "the HubSpot driver does not run %s", cl.Action.Slug)
}
