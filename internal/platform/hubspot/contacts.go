package hubspot

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/platform"
)

// Input fields (after alias rewriting: first_name -> firstname, ...) and the
// HubSpot contact property each one writes. linkedin_url goes to the
// linkedin_url_property parameter (hs_linkedin_url by default).
var contactFields = []struct{ field, property string }{
	{"firstname", "firstname"},
	{"lastname", "lastname"},
	{"company", "company"},
	{"jobtitle", "jobtitle"},
	{"phone", "phone"},
	{"website", "website"},
}

const defaultLinkedInProperty = "hs_linkedin_url"

// Properties every search asks for, besides the parameter's extras.
var searchProperties = []string{"email", "firstname", "lastname", "company", "jobtitle", "phone", "website",
	"createdate", "lastmodifieddate", "hs_object_id"}

var propertyName = regexp.MustCompile(`^[A-Za-z0-9_]{1,100}$`)

// MaxFilters is HubSpot's limit of filters in one filter group (ours are
// ANDed in one group).
const MaxFilters = 6

// MaxSearchResults is where HubSpot's search stops paging.
const MaxSearchResults = 10000

func str(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func linkedInProperty(params map[string]any) string {
	if p, ok := params["linkedin_url_property"].(string); ok && propertyName.MatchString(p) {
		return p
	}
	return defaultLinkedInProperty
}

// splitName splits a full name for firstname/lastname: the first word, then
// the rest.
func splitName(full string) (first, last string) {
	parts := strings.Fields(full)
	if len(parts) == 0 {
		return "", ""
	}
	return parts[0], strings.Join(parts[1:], " ")
}

// contactProperties builds the HubSpot properties of an upsert. Empty named
// fields are not sent (HubSpot would clear the property: a LinkedIn result
// without a job title must not erase the CRM's); raw "properties" are sent
// as given, "" and null included, and win over named fields.
func contactProperties(in, params map[string]any) (email string, props map[string]any, err error) {
	email = strings.ToLower(str(in["email"]))
	if email == "" {
		return "", nil, apperr.BadInput("body/input must have required property 'email'").With("path", "body/input")
	}
	props = map[string]any{"email": email}
	values := map[string]string{}
	for _, f := range contactFields {
		values[f.field] = str(in[f.field])
	}
	if values["firstname"] == "" && values["lastname"] == "" {
		values["firstname"], values["lastname"] = splitName(str(in["full_name"]))
	}
	for _, f := range contactFields {
		if v := values[f.field]; v != "" {
			props[f.property] = v
		}
	}
	if v := str(in["linkedin_url"]); v != "" {
		props[linkedInProperty(params)] = v
	}
	raw, _ := in["properties"].(map[string]any)
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !propertyName.MatchString(k) {
			return "", nil, apperr.BadInput("body/input/properties: %q is not a HubSpot property name (letters, digits and underscores)", k).
				With("path", "body/input/properties")
		}
		if k == "email" {
			return "", nil, apperr.BadInput("body/input/properties must not set email: use input.email").With("path", "body/input/properties")
		}
		switch v := raw[k].(type) {
		case nil:
			props[k] = ""
		case string:
			props[k] = v
		default:
			props[k] = str(v)
		}
	}
	return email, props, nil
}

// object is HubSpot's SimplePublicObject (plus "new" on upserts).
type object struct {
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties"`
	CreatedAt  string         `json:"createdAt"`
	UpdatedAt  string         `json:"updatedAt"`
	Archived   bool           `json:"archived"`
	New        *bool          `json:"new"`
}

func (d *Driver) upsertContact(c *call, cl platform.Call) (platform.Page, error) {
	email, props, err := contactProperties(cl.Input, cl.Params)
	if err != nil {
		return platform.Page{}, err
	}
	body := map[string]any{"inputs": []any{map[string]any{"idProperty": "email", "id": email, "properties": props}}}
	var out struct {
		Results []object `json:"results"`
		Errors  []struct {
			Message  string `json:"message"`
			Category string `json:"category"`
		} `json:"errors"`
	}
	if err := c.do(http.MethodPost, "/crm/v3/objects/contacts/batch/upsert", body, &out); err != nil {
		return platform.Page{}, err
	}
	if len(out.Results) == 0 {
		if len(out.Errors) > 0 {
			// A multi-status answer: the one input failed.
			return platform.Page{}, apperr.BadInput("HubSpot rejected the input: %s", clean(out.Errors[0].Message, c.token)).
				With(platform.ParamUpstreamCode, out.Errors[0].Category)
		}
		return platform.Page{}, platform.FromStatus(platform.FamilyOther, 502, "EMPTY_BATCH", "HubSpot's upsert answered no result", "")
	}
	o := out.Results[0]
	p := d.portal(c, false)
	res := map[string]any{
		"hubspot_contact_id": o.ID,
		"email":              email,
		"created":            o.New != nil && *o.New,
		"properties":         nonNil(o.Properties),
	}
	if s := str(o.Properties["email"]); s != "" {
		res["email"] = s
	}
	setTime(res, "created_at", o.CreatedAt)
	setTime(res, "updated_at", o.UpdatedAt)
	if u := p.contactURL(o.ID); u != "" {
		res["hubspot_url"] = u
	}
	return platform.Page{Results: []map[string]any{res}}, nil
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func setTime(res map[string]any, key, v string) {
	if v != "" {
		res[key] = v
	}
}

type searchFilter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        any    `json:"value,omitempty"`
	HighValue    any    `json:"highValue,omitempty"`
	Values       []any  `json:"values,omitempty"`
}

func filterValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case bool:
		return strconv.FormatBool(x)
	}
	return str(v)
}

// searchFilters ANDs the named filters (exact matches, as HubSpot's EQ:
// case-insensitive) and the raw ones in one filter group.
func searchFilters(in, params map[string]any) ([]searchFilter, error) {
	var out []searchFilter
	for _, f := range []struct{ field, property string }{
		{"email", "email"}, {"firstname", "firstname"}, {"lastname", "lastname"}, {"company", "company"},
		{"jobtitle", "jobtitle"}, {"linkedin_url", linkedInProperty(params)},
	} {
		if v := str(in[f.field]); v != "" {
			if f.field == "email" {
				v = strings.ToLower(v)
			}
			out = append(out, searchFilter{PropertyName: f.property, Operator: "EQ", Value: v})
		}
	}
	raw, _ := in["filters"].([]any)
	for i, r := range raw {
		m, _ := r.(map[string]any)
		f := searchFilter{PropertyName: str(m["property"]), Operator: str(m["operator"])}
		f.Value, f.HighValue = filterValue(m["value"]), filterValue(m["high_value"])
		if vals, ok := m["values"].([]any); ok {
			for _, v := range vals {
				f.Values = append(f.Values, filterValue(v))
			}
		}
		path := "body/input/filters/" + strconv.Itoa(i)
		switch f.Operator {
		case "HAS_PROPERTY", "NOT_HAS_PROPERTY":
		case "IN", "NOT_IN":
			if len(f.Values) == 0 {
				return nil, apperr.BadInput("%s must have required property 'values' for operator %s", path, f.Operator).With("path", path)
			}
		case "BETWEEN":
			if f.Value == nil || f.HighValue == nil {
				return nil, apperr.BadInput("%s must have required properties 'value' and 'high_value' for operator BETWEEN", path).With("path", path)
			}
		default:
			if f.Value == nil {
				return nil, apperr.BadInput("%s must have required property 'value' for operator %s", path, f.Operator).With("path", path)
			}
		}
		out = append(out, f)
	}
	if len(out) > MaxFilters {
		return nil, apperr.BadInput("body/input must NOT have more than %d filters in all (named fields and filters): HubSpot ANDs at most %d",
			MaxFilters, MaxFilters).With("path", "body/input")
	}
	return out, nil
}

func (d *Driver) searchContacts(c *call, cl platform.Call) (platform.Page, error) {
	limit := cl.PageSize
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	after := cl.Token
	if after == "" && cl.Page > 1 {
		// HubSpot's search token is an offset: page N without a cursor
		// starts where page N-1 of the same size ended.
		after = strconv.Itoa((cl.Page - 1) * limit)
	}
	if n, err := strconv.Atoi(after); err == nil && n >= MaxSearchResults {
		return platform.Page{}, nil
	}
	if n, err := strconv.Atoi(after); err == nil && n+limit > MaxSearchResults {
		limit = MaxSearchResults - n
	}
	filters, err := searchFilters(cl.Input, cl.Params)
	if err != nil {
		return platform.Page{}, err
	}
	liProp := linkedInProperty(cl.Params)
	props := append(append([]string(nil), searchProperties...), liProp)
	if extra, ok := cl.Params["properties"].([]any); ok {
		for _, e := range extra {
			if s, ok := e.(string); ok && propertyName.MatchString(s) {
				props = append(props, s)
			}
		}
	}
	body := map[string]any{
		"limit":      limit,
		"properties": dedupe(props),
		// A total order keeps offset paging stable while contacts change.
		"sorts": []any{map[string]any{"propertyName": "hs_object_id", "direction": "ASCENDING"}},
	}
	if q := str(cl.Input["query"]); q != "" {
		body["query"] = q
	}
	if len(filters) > 0 {
		body["filterGroups"] = []any{map[string]any{"filters": filters}}
	}
	if after != "" {
		body["after"] = after
	}
	var out struct {
		Total   json.Number `json:"total"`
		Results []object    `json:"results"`
		Paging  *struct {
			Next *struct {
				After string `json:"after"`
			} `json:"next"`
		} `json:"paging"`
	}
	if err := c.do(http.MethodPost, "/crm/v3/objects/contacts/search", body, &out); err != nil {
		return platform.Page{}, err
	}
	p := d.portal(c, false)
	pg := platform.Page{Results: make([]map[string]any, 0, len(out.Results))}
	for _, o := range out.Results {
		pg.Results = append(pg.Results, contactResult(o, liProp, p))
	}
	if out.Paging != nil && out.Paging.Next != nil && out.Paging.Next.After != "" {
		next := out.Paging.Next.After
		if n, err := strconv.Atoi(next); err != nil || n < MaxSearchResults {
			pg.NextToken, pg.More = next, len(out.Results) > 0
		}
	}
	return pg, nil
}

func contactResult(o object, liProp string, p portal) map[string]any {
	props := nonNil(o.Properties)
	res := map[string]any{"hubspot_contact_id": o.ID, "archived": o.Archived, "properties": props}
	for _, k := range []string{"email", "firstname", "lastname", "company", "jobtitle", "phone", "website"} {
		if v := str(props[k]); v != "" {
			res[k] = v
		}
	}
	if v := str(props[liProp]); v != "" {
		res["linkedin_url"] = v
	}
	if full := strings.TrimSpace(str(props["firstname"]) + " " + str(props["lastname"])); full != "" {
		res["full_name"] = full
	}
	setTime(res, "created_at", o.CreatedAt)
	setTime(res, "updated_at", o.UpdatedAt)
	if u := p.contactURL(o.ID); u != "" {
		res["hubspot_url"] = u
	}
	return res
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	out := list[:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
