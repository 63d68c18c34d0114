// Package platform is the seam between the engine and the upstream platforms.
// A Driver runs one action page, or validates a connection, with the
// decrypted credentials of one identity and the *http.Client that carries
// that identity's traffic (its own egress proxy). Drivers never build their
// own client: the engine owns egress.
//
// Every upstream failure comes back as an *apperr.Error carrying one of the
// contract's 424 labels; IsSessionExpired and Transient tell the engine what
// to do with it.
package platform

import (
	"context"
	"io"
	"maps"
	"net/http"

	"github.com/firstmate-oss/firstmate/internal/catalog"
)

// Auth types of an integration's credentials.
const (
	AuthCookies = "COOKIES"
	AuthBasic   = "BASIC"
	AuthAPIKey  = "APIKEY"
)

// Account levels, as the contract spells them.
const (
	LevelClassic   = "Classic"
	LevelPremium   = "Premium"
	LevelSalesNav  = "Sales Navigator"
	LevelRecruiter = "Recruiter Lite"
)

// Credentials are an integration's decrypted secrets. They never leave the
// worker that runs the call.
type Credentials struct {
	AuthType string // COOKIES | BASIC | APIKEY
	Cookies  map[string]string
	Username string
	Password string
	Token    string
	// UserAgent is the browser user agent the identity's traffic carries: the
	// user's own (auth_data.user_agent at connect), else one the engine chose
	// for the identity and keeps for good. A session used with another user
	// agent than the one it was created with dies sooner. "" lets the driver
	// pick one from the session itself.
	UserAgent string
}

// Account is what a platform says about the connected account.
type Account struct {
	Level      string // Classic | Premium | Sales Navigator | Recruiter Lite
	Name       string
	Permalink  string
	ExternalID string
}

// Call is one page of one action.
type Call struct {
	Action   *catalog.Action
	Input    map[string]any // normalized: aliases rewritten to primary names
	Params   map[string]any // defaults applied
	Page     int            // 1-based
	Token    string         // upstream page token of the previous page; "" for the first
	PageSize int            // 0: the action's page size
}

// Page is one upstream page, shaped to the action's output fields. Non-list
// actions return exactly one result.
type Page struct {
	Results   []map[string]any
	NextToken string // opaque upstream token for the next page ("" when none)
	More      bool   // another page may follow
}

// Driver runs actions against one upstream family.
type Driver interface {
	// Me validates a connection and describes the account behind it.
	Me(ctx context.Context, hc *http.Client, cred Credentials) (Account, error)
	// Run fetches one page of an action.
	Run(ctx context.Context, hc *http.Client, cred Credentials, call Call) (Page, error)
}

// File is a file a platform serves, to be streamed to the client. The
// caller closes Body.
type File struct {
	Body        io.ReadCloser
	ContentType string
	Name        string // "" when the platform gave none
	Size        int64  // -1 when unknown
}

// Downloader fetches a file the account may read: a LinkedIn message
// attachment (https://www.linkedin.com/dms/...). A URL of another shape is
// BAD_INPUT; a file the account cannot see is STATUS_404.
type Downloader interface {
	Download(ctx context.Context, hc *http.Client, cred Credentials, fileURL string) (File, error)
}

// Checkpoint is a challenge a username/password login must pass.
type Checkpoint struct {
	Type  string // 2FA | OTP | EMAIL | PHONE_REGISTER | IN_APP_VALIDATION | CAPTCHA
	State string // opaque, handed back to Checkpoint
}

// LoginResult is either a session (Cookies set) or a pending Checkpoint.
type LoginResult struct {
	Cookies    map[string]string
	Level      string
	Checkpoint *Checkpoint
}

// Authenticator logs in with a username and a password. A checkpoint is
// answered with its code; an IN_APP_VALIDATION is polled with an empty code
// until it resolves.
type Authenticator interface {
	Login(ctx context.Context, hc *http.Client, username, password string) (LoginResult, error)
	Checkpoint(ctx context.Context, hc *http.Client, state, code string) (LoginResult, error)
}

// SessionCredentials turns a login result into cookie credentials.
func SessionCredentials(r LoginResult) Credentials {
	return Credentials{AuthType: AuthCookies, Cookies: r.Cookies}
}

// SessionSink receives the session cookies a platform refreshed during a call
// (a Set-Cookie on JSESSIONID or li_at, for instance): the complete, current
// cookie set, to store in place of the integration's cookies (sealed, like
// any credential) so that the next call, and a restart, use the fresh
// session. It may be called several times in one call (the last set wins)
// and also when the call then fails. It must not block; it is called on the
// worker's goroutine.
type SessionSink func(cookies map[string]string)

type sessionSinkKey struct{}

// WithSessionSink returns a context whose driver calls report refreshed
// session cookies to sink. The engine sets it around Me and Run for drivers
// whose platform rotates cookies (the LinkedIn session driver).
func WithSessionSink(ctx context.Context, sink SessionSink) context.Context {
	return context.WithValue(ctx, sessionSinkKey{}, sink)
}

// ReportSession hands refreshed cookies to the context's sink, if any. The
// sink gets its own copy.
func ReportSession(ctx context.Context, cookies map[string]string) {
	if sink, ok := ctx.Value(sessionSinkKey{}).(SessionSink); ok && sink != nil {
		sink(maps.Clone(cookies))
	}
}

// Pacer is implemented by drivers of platforms that punish an account for
// retrying into a rate limit (LinkedIn, through the member's own session):
// when PausesOnRateLimit is true, a STATUS_429 (a rate limit, or bot
// detection) pauses the account's work for every worker at once, with a
// growing back-off, instead of letting each call retry soon.
type Pacer interface {
	PausesOnRateLimit() bool
}

// PausesOnRateLimit reports whether d asks for account pauses (see Pacer).
func PausesOnRateLimit(d Driver) bool {
	p, ok := d.(Pacer)
	return ok && p.PausesOnRateLimit()
}
