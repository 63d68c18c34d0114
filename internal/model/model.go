// Package model holds the plain data types shared by the store, the domain
// packages and the API. No behaviour lives here.
package model

import "time"

// Roles of workspace members.
const (
	RoleOwner = "owner"
	RoleOps   = "ops"
	RoleUser  = "user"
)

type Workspace struct {
	ID                int64
	UID               string
	Name              string
	Plan              string
	WebhookURL        string
	LogoURL           string
	SigningSecret     string // decrypted whsec_ secret; only filled when asked for
	EngagementEnabled bool
	AutoResume        bool
	LimitOverrides    string // JSON object of Smart Limit overrides
	PeriodStart       time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

type Member struct {
	ID          int64
	UID         string
	WorkspaceID int64
	Email       string
	Name        string
	Role        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

type Invitation struct {
	ID          int64
	UID         string
	WorkspaceID int64
	Email       string
	Role        string
	ExpiresAt   time.Time
	AcceptedAt  *time.Time
	CreatedAt   time.Time
}

type APIKey struct {
	ID          int64
	UID         string
	WorkspaceID int64
	MemberID    int64
	Name        string
	Prefix      string
	CreatedAt   time.Time
	RevokedAt   *time.Time
}

// Principal is who a request acts as: the member behind an API key.
type Principal struct {
	KeyID         int64
	KeyUID        string
	MemberID      int64
	MemberUID     string
	Role          string
	WorkspaceID   int64
	WorkspaceUID  string
	WorkspaceName string
	Plan          string
}

// Identity types.
const (
	IdentityStandard   = "standard"
	IdentityEngagement = "engagement"
)

type Identity struct {
	ID           int64
	UID          string
	WorkspaceID  int64
	WorkspaceUID string
	Name         string
	Timezone     string
	Type         string
	Managed      bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Integrations []Integration
	// Proxy is the identity's egress proxy as clients see it; nil when no
	// proxy pool is configured (traffic goes out directly).
	Proxy *IdentityProxy
}

// IdentityProxy is what an identity shows of its dedicated proxy: the
// country, never the address or the credentials.
type IdentityProxy struct {
	Country    string     // ISO 3166-1 alpha-2; empty when unassigned
	Status     string     // ASSIGNED or UNASSIGNED (pool exhausted)
	AssignedAt *time.Time // nil when unassigned
}

// Integration statuses.
const (
	StatusValid        = "VALID"
	StatusInvalid      = "INVALID"
	StatusPending      = "PENDING"
	StatusLimitReached = "LIMIT_REACHED"
)

type Integration struct {
	ID               int64
	UID              string
	WorkspaceID      int64
	IdentityID       int64
	IdentityUID      string
	Platform         string
	Name             string
	Permalink        string
	AuthType         string
	SetupSource      string
	IsShared         bool
	Level            string
	Status           string
	Checkpoint       string // checkpoint type, "" when none
	Error            string
	Meta             string // JSON object
	SecretKID        string
	Secret           []byte // ciphertext; never leaves the store layer in clear
	FirstConnectedAt *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Run statuses.
const (
	RunCreated          = "CREATED"
	RunInvalid          = "INVALID"
	RunQueued           = "QUEUED"
	RunScheduled        = "SCHEDULED"
	RunBlocked          = "BLOCKED"
	RunStopped          = "STOPPED"
	RunRunning          = "RUNNING"
	RunFailed           = "FAILED"
	RunPartialSucceeded = "PARTIAL_SUCCEEDED"
	RunSucceeded        = "SUCCEEDED"
)

// RunTerminal reports whether a run status is final.
func RunTerminal(status string) bool {
	switch status {
	case RunSucceeded, RunPartialSucceeded, RunFailed, RunStopped, RunInvalid:
		return true
	}
	return false
}

// RunError is a run's last_error.
type RunError struct {
	Label   string            `json:"label"`
	Message string            `json:"message"`
	Params  map[string]string `json:"params,omitempty"`
	// Scope and Status are the API error's, when known (a failed input's):
	// callbacks show them in the APIError object; last_error does not.
	Scope  string `json:"scope,omitempty"`
	Status int    `json:"status,omitempty"`
}

type Run struct {
	ID              int64
	UID             string
	WorkspaceID     int64
	WorkspaceUID    string
	MemberUID       string
	ActionName      string
	ExecutionMode   string // LIVE or ASYNC
	Status          string
	IdentityMode    string
	IdentityUIDs    []string
	Parameters      string // JSON object
	CallbackURL     string
	CallbackOn      string
	InputCount      int
	OutputCount     int
	FailedCount     int
	RetryCount      int
	CreditsUsed     int64 // millicredits
	ChargePeriod    int64 // a live run's charge: start of the period that paid (0: none, or credit_charges rows)
	LastError       *RunError
	PostponedUntil  *time.Time
	ScheduledRunUID string
	StartedAt       *time.Time
	FinishedAt      *time.Time
	SyncedAt        *time.Time // when the run last brought results back from the platform
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Delivery kinds and statuses.
const (
	DeliveryCallback = "callback"
	DeliveryWebhook  = "webhook"

	DeliveryPending = "PENDING"
	DeliveryRunning = "RUNNING"
	DeliveryFailed  = "FAILED"
	DeliverySuccess = "SUCCESS"
)

// Delivery is one outbound POST (a run callback or an integration webhook)
// with its retry state.
type Delivery struct {
	ID            int64
	UID           string
	ParentUID     string
	Kind          string
	WorkspaceID   int64
	WorkspaceUID  string
	RunID         int64 // 0 for webhooks
	RunUID        string
	BatchUID      string
	RefUID        string // callback_ref_uid / webhook-id, stable across retries and replays
	Event         string
	URL           string
	Payload       string
	Status        string
	HTTPStatus    *int
	RetryCount    int
	NextAttemptAt *time.Time
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}
