package catalog

import "encoding/json"

// Firstmate extensions: actions the vendor reference does not have, written
// here by hand in the same fact form as actions_gen.go, so that they get the
// same decoders, validation, identity modes, paging and Describe output as
// the generated ones. The reference tests skip them by name (Extensions).
//
// HubSpot actions write to or read from the builder's own CRM with the
// builder's private-app token:
//
//   - Kind "crm": not extract/search (nothing is read from a platform
//     member), not outreach (nobody on a platform notices it). Managed
//     identities are refused, because the operator's pool can never hold a
//     customer's CRM token; the engagement discount (outreach only) does not
//     apply.
//   - Credit ratio 0: the data was paid for when it was extracted (an
//     extract-people result is 1 credit; pushing it into the builder's own
//     CRM again would charge the same person twice), and reading one's own
//     CRM back is not a Firstmate data product. HubSpot's own API limits, and
//     the workspace API rate limit and async concurrency cap, bound the
//     volume.
//   - No Smart Limit keys: those protect platform member accounts. HubSpot
//     enforces its own per-portal limits and answers 429, which the driver
//     maps to a transient STATUS_429.
//
// hubspot-upsert-contact accepts a LinkedIn person result as its input:
// every field of the contact has the LinkedIn name as an alias (first_name,
// last_name, company_name, job_title, linkedin_profile_url...), and any other
// field of the result is ignored (the input object is open). HubSpot
// deduplicates contacts on e-mail, so the e-mail is required: take it from
// linkedin-extract-contact or from the builder's own data.

// KindCRM is the kind of actions on the builder's own CRM.
const KindCRM = "crm"

// Extensions lists the Firstmate-only slugs, sorted.
func Extensions() []string {
	out := make([]string, len(extensions))
	for i, g := range extensions {
		out[i] = g.Slug
	}
	return out
}

var extensionHand = map[string]handSpec{
	"hubspot-search-contacts": {KindCRM, 0, nil},
	"hubspot-upsert-contact":  {KindCRM, 0, nil},
}

// HubSpot property internal names are lowercase words joined by underscores.
const hubspotPropertyPattern = `^[A-Za-z0-9_]{1,100}$`

// A deliberately loose shape check; HubSpot has the last word and answers
// 400 INVALID_EMAIL, mapped to BAD_INPUT.
const emailPattern = `^[^\s@]+@[^\s@]+\.[^\s@]+$`

func hsString(aliases ...string) *Node {
	return &Node{Type: []string{"string"}, Nullable: true, MaxLength: ip(65536), Aliases: aliases}
}

func hsOut(t string) *Node { return &Node{Type: []string{t}} }

var hsCustomData = &Node{Type: []string{"object"}, Nullable: true, AdditionalProperties: bp(true)}

// hsPropertyValues: raw HubSpot property values, by internal name (the
// driver checks the names; HubSpot rejects unknown ones with a 400).
var hsPropertyValues = &Node{Type: []string{"object"}, Nullable: true,
	AdditionalSchema: &Node{Type: []string{"string", "number", "boolean"}, Nullable: true}}

var hsLinkedInProperty = &Node{Type: []string{"string"}, Pattern: hubspotPropertyPattern, Default: "hs_linkedin_url", HasDefault: true}

var hsExtraProperties = &Node{Type: []string{"array"}, MaxItems: ip(100), Items: &Node{Type: []string{"string"}, Pattern: hubspotPropertyPattern}}

func hsUpsertParams() *Node {
	return &Node{Type: []string{"object"}, Default: map[string]any{}, HasDefault: true,
		Props: []Prop{{"linkedin_url_property", hsLinkedInProperty.clone()}}, AdditionalProperties: bp(false)}
}

func hsSearchParams(batch bool) *Node {
	n := &Node{Type: []string{"object"}, Default: map[string]any{}, HasDefault: true,
		Props: []Prop{
			{"linkedin_url_property", hsLinkedInProperty.clone()},
			{"properties", hsExtraProperties.clone()},
		}, AdditionalProperties: bp(false)}
	if batch {
		// HubSpot's search stops at 10,000 results.
		n.Props = append(n.Props, Prop{"max_results", &Node{Type: []string{"integer"}, Default: json.Number("1000"), HasDefault: true,
			Minimum: fp(1), Maximum: fp(10000), AutoPaginate: true}})
	}
	return n
}

var hsSearchOperators = []any{"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
	"NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}

var hsScalar = []string{"string", "number", "boolean"}

var extensions = []*genAction{
	{Slug: "hubspot-search-contacts",
		LiveHasInput: true,
		Input: &Node{Type: []string{"object"}, Props: []Prop{
			{"company", hsString("company_name")},
			{"custom_data", hsCustomData.clone()},
			{"email", hsString()},
			{"filters", &Node{Type: []string{"array"}, Nullable: true, MaxItems: ip(6), Items: &Node{Type: []string{"object"},
				Props: []Prop{
					{"high_value", &Node{Type: hsScalar}},
					{"operator", &Node{Type: []string{"string"}, Enum: hsSearchOperators}},
					{"property", &Node{Type: []string{"string"}, Pattern: hubspotPropertyPattern}},
					{"value", &Node{Type: hsScalar}},
					{"values", &Node{Type: []string{"array"}, MaxItems: ip(100), Items: &Node{Type: hsScalar}}},
				}, Required: []string{"property", "operator"}, AdditionalProperties: bp(false)}}},
			{"firstname", hsString("first_name")},
			{"jobtitle", hsString("job_title")},
			{"lastname", hsString("last_name")},
			{"linkedin_url", hsString("linkedin_profile_url")},
			{"query", &Node{Type: []string{"string"}, Nullable: true, MaxLength: ip(3000), Primary: true}},
		}, AdditionalProperties: bp(false)},
		LiveParams:     hsSearchParams(false),
		AsyncParams:    hsSearchParams(true),
		SchedParams:    hsSearchParams(true),
		LiveIdentity:   genIdentity{IDs: true, Mode: true},
		AsyncIdentity:  genIdentity{IDs: true, Mode: true},
		SchedIdentity:  genIdentity{IDs: true, Mode: true},
		AsyncMinInputs: 1, AsyncMaxInputs: 100000, SchedMinInputs: 1, SchedMaxInputs: 100,
		ListOutput: true, PageSize: 100, CursorPaging: true, PrevLink: false, NextLink: true,
		Output: &Node{Type: []string{"object"}, Props: []Prop{
			{"archived", hsOut("boolean")},
			{"company", hsOut("string")},
			{"created_at", &Node{Type: []string{"string"}, Format: "date-time"}},
			{"email", hsOut("string")},
			{"firstname", hsOut("string")},
			{"full_name", hsOut("string")},
			{"hubspot_contact_id", hsOut("string")},
			{"hubspot_url", &Node{Type: []string{"string"}, Format: "uri"}},
			{"jobtitle", hsOut("string")},
			{"lastname", hsOut("string")},
			{"linkedin_url", hsOut("string")},
			{"phone", hsOut("string")},
			{"properties", &Node{Type: []string{"object"}, AdditionalProperties: bp(true)}},
			{"updated_at", &Node{Type: []string{"string"}, Format: "date-time"}},
			{"website", hsOut("string")},
		}},
	},
	{Slug: "hubspot-upsert-contact",
		LiveHasInput: true,
		Input: &Node{Type: []string{"object"}, Props: []Prop{
			{"company", hsString("company_name")},
			{"custom_data", hsCustomData.clone()},
			{"email", &Node{Type: []string{"string"}, MaxLength: ip(254), Pattern: emailPattern,
				Aliases: []string{"email_address", "work_email"}, Primary: true}},
			{"firstname", hsString("first_name")},
			{"full_name", hsString("name")},
			{"jobtitle", hsString("job_title")},
			{"lastname", hsString("last_name")},
			{"linkedin_url", hsString("linkedin_profile_url", "profile_url")},
			{"phone", hsString("phone_number")},
			{"properties", hsPropertyValues.clone()},
			{"website", hsString("website_url")},
		}, Required: []string{"email"}, AdditionalProperties: bp(true)},
		LiveParams:     hsUpsertParams(),
		AsyncParams:    hsUpsertParams(),
		SchedParams:    hsUpsertParams(),
		LiveIdentity:   genIdentity{IDs: true, Mode: true},
		AsyncIdentity:  genIdentity{IDs: true, Mode: true},
		SchedIdentity:  genIdentity{IDs: true, Mode: true},
		AsyncMinInputs: 1, AsyncMaxInputs: 100000, SchedMinInputs: 1, SchedMaxInputs: 100,
		ListOutput: false, PageSize: 0, CursorPaging: false, PrevLink: false, NextLink: false,
		Output: &Node{Type: []string{"object"}, Props: []Prop{
			{"created", hsOut("boolean")},
			{"created_at", &Node{Type: []string{"string"}, Format: "date-time"}},
			{"email", hsOut("string")},
			{"hubspot_contact_id", hsOut("string")},
			{"hubspot_url", &Node{Type: []string{"string"}, Format: "uri"}},
			{"properties", &Node{Type: []string{"object"}, AdditionalProperties: bp(true)}},
			{"updated_at", &Node{Type: []string{"string"}, Format: "date-time"}},
		}},
	},
}
