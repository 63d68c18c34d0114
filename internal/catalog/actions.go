package catalog

// The hand-written half of the catalogue: what the reference does not say
// about an action and Firstmate must decide for itself.
//
// Platform and integration come from the slug's prefix (linkedin-,
// salesnavigator-, recruiterlite-, googlemaps-, tripadvisor-, thefork-).
// Sales Navigator and Recruiter Lite actions need a LinkedIn account at that
// level, so their integration is "salesnavigator" / "recruiterlite".
//
// Kind:
//   - extract: reads one object or a list attached to one object;
//   - search:  runs a search URL or query and pages through its results;
//   - outreach: anything the other side can notice (connect, message, InMail,
//     follow, like, comment, visit, invite, accept/withdraw invitations) and
//     inbox housekeeping (archive, mark as read). Managed identities are
//     refused for these (contract §5).
//
// Credit ratio (credits per result; a call with no results is free):
//   - 1 for everything by default: one result, one credit.
//   - 2 for linkedin-extract-contact: contact details (e-mail, phone) are the
//     scarcest data, guarded by their own tight Smart Limit (250/day).
//   - 0 for linkedin-me: it reads the caller's own account, it is what a
//     client calls to check a connection works, and it must stay free.
//
// Smart Limit keys (the fixed set of contract §8), by what the action makes
// the account do on the platform:
//   - opening a member's profile page: profile_visits (+ profile_enrichments
//     when profile data is returned);
//   - resolving a member, post, event or job to structured data:
//     profile_enrichments;
//   - reading a company: company_enrichments;
//   - contact details: contact_info (+ profile_visits: the page is opened);
//   - one page of any paged listing, search or not: search_pages;
//   - sending: connection_requests, messages or inmails, each plus
//     profile_enrichments because the recipient is resolved first;
//   - event invitations count as messages (they notify a connection);
//   - reactions and comments on posts, and inbox housekeeping (archive, mark
//     as read), map to no key of the fixed set and consume none; they are
//     still spaced by the outreach gap (internal/smartlimits);
//   - Google Maps, TripAdvisor and TheFork actions use no account: none.

const (
	KindExtract  = "extract"
	KindSearch   = "search"
	KindOutreach = "outreach"
)

// Smart Limit keys.
const (
	LimitProfileVisits      = "profile_visits"
	LimitConnectionRequests = "connection_requests"
	LimitMessages           = "messages"
	LimitInmails            = "inmails"
	LimitProfileEnrichments = "profile_enrichments"
	LimitSearchPages        = "search_pages"
	LimitCompanyEnrichments = "company_enrichments"
	LimitContactInfo        = "contact_info"
)

// LimitKeys is the fixed key set, in the contract's order.
var LimitKeys = []string{LimitProfileVisits, LimitConnectionRequests, LimitMessages, LimitInmails,
	LimitProfileEnrichments, LimitSearchPages, LimitCompanyEnrichments, LimitContactInfo}

type handSpec struct {
	kind   string
	ratio  float64
	limits []string
}

var (
	visitKeys   = []string{LimitProfileVisits, LimitProfileEnrichments}
	enrichKeys  = []string{LimitProfileEnrichments}
	companyKeys = []string{LimitCompanyEnrichments}
	pageKeys    = []string{LimitSearchPages}
)

var hand = map[string]handSpec{
	"googlemaps-extract-place":   {KindExtract, 1, nil},
	"googlemaps-extract-reviews": {KindExtract, 1, nil},
	"googlemaps-search-places":   {KindSearch, 1, nil},

	"linkedin-accept-invitations":                 {KindOutreach, 1, pageKeys},
	"linkedin-archive-message":                    {KindOutreach, 1, nil},
	"linkedin-comment-post":                       {KindOutreach, 1, nil},
	"linkedin-connect-profile":                    {KindOutreach, 1, []string{LimitConnectionRequests, LimitProfileEnrichments}},
	"linkedin-extract-company":                    {KindExtract, 1, companyKeys},
	"linkedin-extract-company-affiliates":         {KindExtract, 1, companyKeys},
	"linkedin-extract-company-employees-insights": {KindExtract, 1, companyKeys},
	"linkedin-extract-connections":                {KindExtract, 1, pageKeys},
	"linkedin-extract-contact":                    {KindExtract, 2, []string{LimitProfileVisits, LimitContactInfo}},
	"linkedin-extract-conversations":              {KindExtract, 1, pageKeys},
	"linkedin-extract-event":                      {KindExtract, 1, enrichKeys},
	"linkedin-extract-event-attendees":            {KindExtract, 1, pageKeys},
	"linkedin-extract-followers":                  {KindExtract, 1, pageKeys},
	"linkedin-extract-group-members":              {KindExtract, 1, pageKeys},
	"linkedin-extract-job":                        {KindExtract, 1, enrichKeys},
	"linkedin-extract-licenses-certifications":    {KindExtract, 1, visitKeys},
	"linkedin-extract-messages":                   {KindExtract, 1, pageKeys},
	"linkedin-extract-messages-legacy":            {KindExtract, 1, pageKeys},
	"linkedin-extract-page-followers":             {KindExtract, 1, pageKeys},
	"linkedin-extract-people":                     {KindExtract, 1, visitKeys},
	"linkedin-extract-people-comment-activity":    {KindExtract, 1, pageKeys},
	"linkedin-extract-people-post-activity":       {KindExtract, 1, pageKeys},
	"linkedin-extract-people-reaction-activity":   {KindExtract, 1, pageKeys},
	"linkedin-extract-post":                       {KindExtract, 1, enrichKeys},
	"linkedin-extract-post-commenters":            {KindExtract, 1, pageKeys},
	"linkedin-extract-post-likers":                {KindExtract, 1, pageKeys},
	"linkedin-extract-profile-viewers":            {KindExtract, 1, pageKeys},
	"linkedin-extract-school-alumnis":             {KindExtract, 1, pageKeys},
	"linkedin-extract-sent-invitations":           {KindExtract, 1, pageKeys},
	"linkedin-extract-similar-companies":          {KindExtract, 1, companyKeys},
	"linkedin-follow-profile":                     {KindOutreach, 1, enrichKeys},
	"linkedin-inmail-profile":                     {KindOutreach, 1, []string{LimitInmails, LimitProfileEnrichments}},
	"linkedin-invite-event":                       {KindOutreach, 1, []string{LimitMessages, LimitProfileEnrichments}},
	"linkedin-like-post":                          {KindOutreach, 1, nil},
	"linkedin-mark-message-as-read":               {KindOutreach, 1, nil},
	"linkedin-me":                                 {KindExtract, 0, nil},
	"linkedin-message-profile":                    {KindOutreach, 1, []string{LimitMessages, LimitProfileEnrichments}},
	"linkedin-peopleid-from-salesnavigatorid":     {KindExtract, 1, enrichKeys},
	"linkedin-search-companies":                   {KindSearch, 1, pageKeys},
	"linkedin-search-company-employees":           {KindSearch, 1, pageKeys},
	"linkedin-search-content":                     {KindSearch, 1, pageKeys},
	"linkedin-search-events":                      {KindSearch, 1, pageKeys},
	"linkedin-search-groups":                      {KindSearch, 1, pageKeys},
	"linkedin-search-jobs":                        {KindSearch, 1, pageKeys},
	"linkedin-search-people":                      {KindSearch, 1, pageKeys},
	"linkedin-search-schools":                     {KindSearch, 1, pageKeys},
	"linkedin-visit-company":                      {KindOutreach, 1, companyKeys},
	"linkedin-visit-profile":                      {KindOutreach, 1, visitKeys},
	"linkedin-withdraw-invitations":               {KindOutreach, 1, pageKeys},

	"recruiterlite-search-people": {KindSearch, 1, pageKeys},

	"salesnavigator-connect-profile":                {KindOutreach, 1, []string{LimitConnectionRequests, LimitProfileEnrichments}},
	"salesnavigator-extract-accounts-list":          {KindExtract, 1, pageKeys},
	"salesnavigator-extract-employees-count":        {KindExtract, 1, companyKeys},
	"salesnavigator-extract-employees-distribution": {KindExtract, 1, companyKeys},
	"salesnavigator-extract-leads-list":             {KindExtract, 1, pageKeys},
	"salesnavigator-inmail-profile":                 {KindOutreach, 1, []string{LimitInmails, LimitProfileEnrichments}},
	"salesnavigator-search-companies":               {KindSearch, 1, pageKeys},
	"salesnavigator-search-company-employees":       {KindSearch, 1, pageKeys},
	"salesnavigator-search-metrics":                 {KindSearch, 1, pageKeys},
	"salesnavigator-search-people":                  {KindSearch, 1, pageKeys},
	"salesnavigator-visit-company":                  {KindOutreach, 1, companyKeys},
	"salesnavigator-visit-profile":                  {KindOutreach, 1, visitKeys},

	"thefork-extract-reviews": {KindExtract, 1, nil},

	"tripadvisor-extract-hotel":      {KindExtract, 1, nil},
	"tripadvisor-extract-restaurant": {KindExtract, 1, nil},
	"tripadvisor-extract-reviews":    {KindExtract, 1, nil},
	"tripadvisor-search-hotels":      {KindSearch, 1, nil},
	"tripadvisor-search-restaurants": {KindSearch, 1, nil},
}

// ownData lists the extraction actions that read the running account's own
// data rather than public data: its conversations and messages, its
// connections and followers, who viewed its profile, the invitations it
// sent, and its Sales Navigator saved lists. Managed identities are refused
// for them as for outreach: a pool account's private data is nobody's to
// read (Action.ManagedAllowed).
var ownData = map[string]bool{
	"linkedin-extract-conversations":       true,
	"linkedin-extract-messages":            true,
	"linkedin-extract-messages-legacy":     true,
	"linkedin-extract-connections":         true,
	"linkedin-extract-followers":           true,
	"linkedin-extract-profile-viewers":     true,
	"linkedin-extract-sent-invitations":    true,
	"linkedin-me":                          true,
	"salesnavigator-extract-leads-list":    true,
	"salesnavigator-extract-accounts-list": true,
}

// platformOf maps a slug prefix to its platform, integration and whether an
// identity is needed at all.
func platformOf(slug string) (platform, integration string, needsIdentity bool) {
	for _, p := range []string{"salesnavigator", "recruiterlite", "linkedin", "googlemaps", "tripadvisor", "thefork", "hubspot"} {
		if len(slug) > len(p) && slug[:len(p)+1] == p+"-" {
			switch p {
			case "googlemaps", "tripadvisor", "thefork":
				return p, "", false
			}
			return p, p, true
		}
	}
	return "", "", true
}

// noAccount lists LinkedIn-family actions whose request bodies cannot carry
// identity fields at all in the reference: they are run without a
// workspace account.
var noAccount = map[string]bool{
	"linkedin-peopleid-from-salesnavigatorid": true,
}

// Corrections of evident defects in the reference, applied on top of the
// generated facts. Each is checked by the fact test, so a corrected
// reference makes the test point at the override to delete.
var overrides = []override{
	{
		// The field carries the invitation note; the reference types it as
		// an integer while giving it a string default.
		slug: "linkedin-connect-profile", field: "message",
		fix: func(n *Node) { n.Type = []string{"string"} },
	},
	{
		// A string with a numeric default and a numeric "maximum": the
		// intended bound is on length; the default cannot be applied.
		slug: "linkedin-comment-post", field: "comment",
		fix: func(n *Node) {
			if n.Maximum != nil {
				m := int(*n.Maximum)
				n.MaxLength, n.Maximum = &m, nil
			}
			n.Default, n.HasDefault = nil, false
		},
	},
	{
		// "relationship" lists null among its values and defaults to null
		// but is typed string only.
		slug: "salesnavigator-search-company-employees", field: "relationship",
		fix: func(n *Node) { n.Nullable = true },
	},
}

type override struct {
	slug, field string
	fix         func(*Node)
}
