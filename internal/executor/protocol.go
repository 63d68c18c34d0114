// Package executor is the remote executor protocol: a small, versioned
// HTTP+JSON protocol that mirrors the platform.Driver seam, so that an
// operator can serve a platform family with their own automation fleet,
// written in any language.
//
// Client is the Firstmate side: a platform.Driver and platform.Authenticator
// that signs each request, forwards the identity's credentials, egress proxy
// URL and deadline, and checks every answer (labels, shapes, sizes) before
// the engine sees it. Handler is the executor side over any platform.Driver
// (`firstmate sim --executor` serves the simulator with it). The protocol is
// published as an OpenAPI 3.1 document (OpenAPI) and checked end to end by
// the conformance kit (internal/executor/conformance).
package executor

import (
	"slices"

	"github.com/firstmate-oss/firstmate/internal/platform"
)

// Version is the protocol's major version: the /v1 of every path, and the
// "protocol" member of the capabilities. A change that an existing executor
// would misread gets a new major version.
const Version = 1

// Paths of the protocol, relative to the executor's base URL.
const (
	PathCapabilities = "/v1/capabilities"
	PathMe           = "/v1/me"
	PathRun          = "/v1/run"
	PathLogin        = "/v1/login"
	PathCheckpoint   = "/v1/checkpoint"
)

// Headers Firstmate sends besides the Standard Webhooks signature headers
// (webhook-id, webhook-timestamp, webhook-signature). They repeat what the
// signed body says, for logs and load balancers; the body is authoritative.
const (
	HeaderProtocol  = "Firstmate-Executor-Protocol"
	HeaderRequestID = "Firstmate-Request-Id"
	HeaderDeadline  = "Firstmate-Deadline"
)

// Labels an executor may answer besides the platform package's: the next
// LinkedIn issue adds them, and an executor may already use them.
const (
	LabelRestricted   = "RESTRICTED"    // the platform restricted the account
	LabelActionBroken = "ACTION_BROKEN" // the platform changed and the action no longer works
	LabelBadInput     = "BAD_INPUT"     // the platform refused the input itself (e.g. a wrong checkpoint code)
)

// Protocol-level refusals an executor answers; never passed on as upstream labels.
const (
	LabelUnauthorized = "UNAUTHORIZED" // 401: signature missing, wrong, stale or replayed
	LabelBadRequest   = "BAD_REQUEST"  // 400: the request does not follow the protocol
	LabelNotFound     = "NOT_FOUND"    // 404: no such path
	LabelInternal     = "EXECUTOR_ERROR"
)

// upstreamLabels are the labels an executor's error may carry: the
// contract's 424 upstream labels, RESTRICTED and ACTION_BROKEN.
var upstreamLabels = []string{
	platform.LabelNotConnected, platform.Label403, platform.Label404, platform.Label429,
	platform.LabelNoResult, platform.LabelLKError, platform.LabelLK524, platform.LabelProxy,
	platform.LabelIntegration, platform.LabelSNUpgrade, platform.LabelGeneric,
	LabelRestricted, LabelActionBroken,
}

// Labels returns every error label an executor may answer with: the
// upstream (424) labels and BAD_INPUT (400).
func Labels() []string { return append(slices.Clone(upstreamLabels), LabelBadInput) }

// UpstreamLabels returns the 424 labels alone.
func UpstreamLabels() []string { return slices.Clone(upstreamLabels) }

func knownLabel(l string) bool { return l == LabelBadInput || slices.Contains(upstreamLabels, l) }

// Account levels and checkpoint types the protocol accepts.
var (
	levels          = []string{platform.LevelClassic, platform.LevelPremium, platform.LevelSalesNav, platform.LevelRecruiter}
	checkpointTypes = []string{"2FA", "OTP", "EMAIL", "PHONE_REGISTER", "IN_APP_VALIDATION", "CAPTCHA"}
)

// Login statuses.
const (
	StatusAuthenticated = "AUTHENTICATED"
	StatusCheckpoint    = "CHECKPOINT"
)

// Credentials are an identity's decrypted secrets, as sent to the executor.
type Credentials struct {
	AuthType string            `json:"auth_type,omitempty"` // COOKIES | BASIC | APIKEY
	Cookies  map[string]string `json:"cookies,omitempty"`
	Username string            `json:"username,omitempty"`
	Password string            `json:"password,omitempty"`
	Token    string            `json:"token,omitempty"`
}

// Envelope is what every POST request carries.
type Envelope struct {
	RequestID string `json:"request_id"`
	// Deadline is when Firstmate stops waiting (RFC 3339, UTC, milliseconds).
	Deadline string `json:"deadline"`
	// TimeoutMS is the same deadline as a budget from the moment the request
	// was sent. Executors should prefer it: clocks differ between hosts.
	TimeoutMS int64 `json:"timeout_ms"`
	// Family is the platform family the request is for (linkedin,
	// salesnavigator, recruiterlite, googlemaps, tripadvisor, thefork, ...).
	Family      string      `json:"family"`
	Credentials Credentials `json:"credentials"`
	// ProxyURL is the identity's egress proxy (http, https, socks5 or
	// socks5h, with its credentials): the executor's platform traffic for
	// this request must leave through it. "" means direct egress.
	ProxyURL string `json:"proxy_url"`
}

// MeRequest validates a connection: POST /v1/me.
type MeRequest struct {
	Envelope
}

// MeResponse describes the account behind the credentials.
type MeResponse struct {
	Account Account `json:"account"`
}

// Account is what the platform says about the connected account.
type Account struct {
	Level      string `json:"level"` // Classic | Premium | Sales Navigator | Recruiter Lite ("" outside LinkedIn)
	Name       string `json:"name"`
	Permalink  string `json:"permalink"`
	ExternalID string `json:"external_id"`
}

// RunRequest runs one page of one action: POST /v1/run.
type RunRequest struct {
	Envelope
	Action     string         `json:"action"`     // catalogue slug
	Input      map[string]any `json:"input"`      // normalized: aliases rewritten, custom_data removed
	Parameters map[string]any `json:"parameters"` // defaults applied
	Page       int            `json:"page"`       // 1-based
	PageToken  string         `json:"page_token"` // next_page_token of the previous page; "" for the first
	PageSize   int            `json:"page_size"`  // results wanted on this page; 0 for actions that do not page
}

// RunResponse is one page, shaped to the action's output fields.
type RunResponse struct {
	Results       []map[string]any `json:"results"`
	NextPageToken string           `json:"next_page_token"`
	HasMore       bool             `json:"has_more"`
}

// LoginRequest logs in with the username and password of its credentials:
// POST /v1/login.
type LoginRequest struct {
	Envelope
}

// CheckpointRequest answers (or, with an empty code, polls) a checkpoint:
// POST /v1/checkpoint.
type CheckpointRequest struct {
	Envelope
	State string `json:"state"`
	Code  string `json:"code"`
}

// LoginResponse is a session or a pending checkpoint.
type LoginResponse struct {
	Status     string            `json:"status"` // AUTHENTICATED | CHECKPOINT
	Cookies    map[string]string `json:"cookies,omitempty"`
	Level      string            `json:"level,omitempty"`
	Checkpoint *Checkpoint       `json:"checkpoint,omitempty"`
}

// Checkpoint is a challenge the login must pass.
type Checkpoint struct {
	Type  string `json:"type"`  // 2FA | OTP | EMAIL | PHONE_REGISTER | IN_APP_VALIDATION | CAPTCHA
	State string `json:"state"` // opaque, sent back with the code
}

// ErrorResponse is every non-2xx answer.
type ErrorResponse struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is a labelled failure. Params values are strings; STATUS_429
// carries retry_after (seconds).
type ErrorDetail struct {
	Label   string         `json:"label"`
	Message string         `json:"message"`
	Params  map[string]any `json:"params,omitempty"`
}
