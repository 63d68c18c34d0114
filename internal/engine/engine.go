// Package engine runs actions: it picks the account that runs a call
// (identity modes), holds the per-account lock, applies Smart Limits, takes
// a slot of the node's in-flight budget and of the family's concurrency
// limit, and calls the platform driver (chosen by internal/dataplane)
// through the identity's HTTP client. Live calls (RunLive) are charged and
// recorded here, the charge and the LIVE run in one commit; async chunks
// call Engine.Call page by page and package runs charges and records them.
// It also runs dry runs, downloads and the connect-time verification of
// integrations. It knows nothing about HTTP requests.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/cron"
	"github.com/firstmate-oss/firstmate/internal/identity"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/secret"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// ManagedFactor is the credit multiplier of identity_mode "managed".
const ManagedFactor = 1.5

// Identity modes.
const (
	ModeDirect  = "direct"
	ModeAuto    = "auto"
	ModeManaged = "managed"
)

type Engine struct {
	// Connector holds the store, the data plane and the identities'
	// egress, and verifies and logs in accounts (connector.go); it is
	// built first, so that identity.Service is built with it and the
	// Engine with identity.Service.
	*Connector
	Keys       *secret.Keyring
	Identities *identity.Service
	Ledger     *credits.Ledger
	Limits     *smartlimits.Limiter
	// LockWait bounds how long a call waits for a busy account.
	LockWait time.Duration
	// Budget bounds the node's upstream calls in flight (nil: unbounded);
	// Families a platform family's (nil: none).
	Budget   *Budget
	Families *FamilyLimits
	// LiveTimeout bounds one live call end to end (0: DefaultLiveTimeout).
	LiveTimeout time.Duration
	Now         func() time.Time

	locks   accountLocks
	scores  scoreCache
	batches batchCache
	// sessions are the integration rows this process stored refreshed
	// sessions on (see current).
	sessions sync.Map // int64 -> model.Integration
	// pauses are the account pauses this process recorded (see pausedUntil).
	pauses sync.Map // int64 -> time.Time
	// liveRuns commits the charges and run records of concurrent live calls
	// together (see writeLive), made on first use; liveWrites the records
	// of failed ones.
	liveRunsOnce sync.Once
	liveRuns     *store.Lane[*liveWrite]
	liveWrites   store.Group
}

// liveCommits is the group commit of successful live calls.
func (e *Engine) liveCommits() *store.Lane[*liveWrite] {
	e.liveRunsOnce.Do(func() {
		e.liveRuns = store.NewLane(e.DB, e.writeLive, e.liveRecorded)
		e.liveRuns.SetDirect(e.writeLiveDirect)
	})
	return e.liveRuns
}

// WriteGroups names the group commits of the live path, for metrics.
func (e *Engine) WriteGroups() map[string]store.Batches {
	out := map[string]store.Batches{"live_runs": e.liveCommits(), "live_failures": &e.liveWrites}
	if e.Limits != nil {
		out["smart_limits"] = e.Limits.Batches()
	}
	return out
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// driver is the driver that runs a, or the refusal (424
// ACTION_UNAVAILABLE) that names the setting to change.
func (e *Engine) driver(a *catalog.Action) (platform.Driver, error) {
	if e.Plane == nil {
		return nil, apperr.Internal(errors.New("engine: no data plane"))
	}
	return e.Plane.Action(a)
}

// Unavailable is nil when a driver on this server runs the action, else the
// refusal (424 ACTION_UNAVAILABLE, scope config, params.setting) that says
// why: live calls, async submissions and schedules are refused with it at
// once.
func (e *Engine) Unavailable(a *catalog.Action) error {
	if e.Plane == nil {
		return apperr.Internal(errors.New("engine: no data plane"))
	}
	return e.Plane.Unavailable(a)
}

// integrationPlatforms are the integration names that can serve an action.
func integrationPlatforms(a *catalog.Action) []string {
	switch a.Integration {
	case "linkedin", "salesnavigator", "recruiterlite":
		return []string{"linkedin", "salesnavigator", "recruiterlite"}
	case "":
		return nil
	}
	return []string{a.Integration}
}

// levelFits says whether a LinkedIn account's level serves the action.
func levelFits(a *catalog.Action, g model.Integration) bool {
	switch a.Integration {
	case "salesnavigator":
		return g.Level == "Sales Navigator"
	case "recruiterlite":
		return g.Level == "Recruiter Lite"
	}
	return true
}

// Candidates resolves the identity mode to the ordered list of accounts that
// may run the action.
func (e *Engine) Candidates(ctx context.Context, p model.Principal, a *catalog.Action, mode string, uids []string) ([]store.Account, error) {
	return e.candidates(ctx, p, a, mode, uids, nil, false)
}

// CandidatesForBatch is Candidates for async chunks: the list, and its
// ranking by remaining Smart Limit capacity, may be up to batchTTL old, and
// is shared by the node's chunks (the caller must not modify it). It is
// only which accounts are tried, in which order: each call checks its
// account's pause and consumption exactly when it runs. Hundreds of chunks
// of a run over hundreds of identities would otherwise each read, rank and
// keep a copy of every account (see batchCache). The lock set goes with
// the list in CallOptions.Locks.
func (e *Engine) CandidatesForBatch(ctx context.Context, p model.Principal, a *catalog.Action, mode string, uids []string) ([]store.Account, *LockSet, error) {
	return e.batches.get(batchKey(p.WorkspaceID, a.Slug, mode, uids), func() ([]store.Account, error) {
		// Not the asking chunk's context: other chunks wait for this load.
		return e.candidates(context.WithoutCancel(ctx), p, a, mode, uids, nil, true)
	})
}

// candidates resolves the identity mode. ws is the principal's workspace
// row when the caller has read it (its Smart Limit overrides rank auto and
// managed candidates); nil reads it through the read cache.
func (e *Engine) candidates(ctx context.Context, p model.Principal, a *catalog.Action, mode string, uids []string,
	ws *model.Workspace, cached bool) ([]store.Account, error) {
	if mode == "" {
		mode = ModeDirect
	}
	q := store.AccountQuery{WorkspaceID: p.WorkspaceID, Platforms: integrationPlatforms(a)}
	switch mode {
	case ModeDirect:
		if len(uids) == 0 {
			return nil, apperr.BadInput("body/identity_ids must NOT have fewer than 1 items when identity_mode is direct")
		}
		q.IdentityUIDs = uids
	case ModeAuto:
		if len(uids) > 0 {
			q.IdentityUIDs = uids
		}
	case ModeManaged:
		if !a.ManagedAllowed() {
			return nil, apperr.BadInput("identity_mode managed is allowed for extraction and search of public data only; %s is not", a.Slug)
		}
		q.Pool = true
	default:
		return nil, apperr.BadInput("body/identity_mode must be equal to one of the allowed values: direct, auto, managed")
	}
	accounts, err := e.DB.CachedAccounts(ctx, q)
	if err != nil {
		return nil, err
	}
	// Unknown or foreign identities are a 404. Accounts only lists this
	// workspace's identities, so when it found every one asked for there is
	// nothing more to check (the common case: one query instead of two).
	if len(q.IdentityUIDs) > 0 && !allIdentities(accounts, q.IdentityUIDs) {
		if err := e.CheckIdentityUIDs(ctx, p.WorkspaceID, q.IdentityUIDs); err != nil {
			return nil, err
		}
	}
	fit := accounts[:0]
	for _, acc := range accounts {
		if levelFits(a, acc.Integration) {
			fit = append(fit, acc)
		}
	}
	if len(fit) == 0 {
		if a.Integration == "salesnavigator" || a.Integration == "recruiterlite" {
			if len(accounts) > 0 || e.hasAnyValid(ctx, q) {
				return nil, apperr.Upstream("SN_ACCOUNT_UPGRADE", "%s needs a %s account", a.Slug, levelName(a))
			}
		}
		return nil, apperr.NoValidAccount("no identity with a valid %s integration can run %s", a.Integration, a.Slug)
	}
	if mode == ModeDirect {
		// Keep the client's order.
		rank := map[string]int{}
		for i, u := range uids {
			if _, ok := rank[u]; !ok {
				rank[u] = i
			}
		}
		sort.SliceStable(fit, func(i, j int) bool { return rank[fit[i].Identity.UID] < rank[fit[j].Identity.UID] })
	} else {
		// Most remaining Smart Limit capacity first.
		score, err := e.rank(ctx, p, a, fit, ws, cached)
		if err != nil {
			return nil, err
		}
		sort.SliceStable(fit, func(i, j int) bool { return score[fit[i].Integration.ID] > score[fit[j].Integration.ID] })
	}
	return dedupeIdentities(fit), nil
}

// rank scores accounts by their remaining Smart Limit capacity for a
// (Limiter.RemainingOf: the limiter's copies, and one read for the
// accounts it holds none of); cached lets async work reuse scores up to
// batchTTL old.
func (e *Engine) rank(ctx context.Context, p model.Principal, a *catalog.Action, accs []store.Account, ws *model.Workspace,
	cached bool) (map[int64]float64, error) {
	if ws == nil {
		if w, err := e.DB.CachedWorkspace(ctx, p.WorkspaceID); err == nil {
			ws = &w
		}
	}
	score := make(map[int64]float64, len(accs))
	var todo []store.Account
	var las []smartlimits.Account
	for _, acc := range accs {
		if v, ok := e.scores.get(acc.Integration.ID, a.Slug, cached); ok {
			score[acc.Integration.ID] = v
			continue
		}
		todo = append(todo, acc)
		las = append(las, e.limitAccount(ctx, acc, ws))
	}
	if len(todo) == 0 {
		return score, nil
	}
	got, err := e.Limits.RemainingOf(ctx, las, a.LimitKeys, e.now())
	if err != nil {
		return nil, err
	}
	for i, acc := range todo {
		score[acc.Integration.ID] = got[i]
		e.scores.put(acc.Integration.ID, a.Slug, got[i])
	}
	return score, nil
}

func levelName(a *catalog.Action) string {
	if a.Integration == "recruiterlite" {
		return "Recruiter Lite"
	}
	return "Sales Navigator"
}

func (e *Engine) hasAnyValid(ctx context.Context, q store.AccountQuery) bool {
	q.Platforms = []string{"linkedin", "salesnavigator", "recruiterlite"}
	var acc []store.Account
	err := e.DB.View(ctx, func(r store.Querier) (err error) {
		acc, err = store.Accounts(ctx, r, q)
		return err
	})
	return err == nil && len(acc) > 0
}

// allIdentities says whether every uid has an account in accs.
func allIdentities(accs []store.Account, uids []string) bool {
	for _, u := range uids {
		found := false
		for i := range accs {
			if accs[i].Identity.UID == u {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// dedupeIdentities keeps one account per identity (its best-fitting one).
func dedupeIdentities(accs []store.Account) []store.Account {
	seen := map[int64]bool{}
	out := accs[:0]
	for _, a := range accs {
		if seen[a.Identity.ID] {
			continue
		}
		seen[a.Identity.ID] = true
		out = append(out, a)
	}
	return out
}

// CheckIdentityUIDs makes unknown or foreign identity uids a 404, never revealing
// whether they exist in another workspace.
func (e *Engine) CheckIdentityUIDs(ctx context.Context, workspaceID int64, uids []string) error {
	found, err := e.DB.IdentityUIDsIn(ctx, workspaceID, uids)
	if err != nil {
		return err
	}
	for _, u := range uids {
		if !found[u] {
			return apperr.NotFound("identity %s not found", u).With("identity_uid", u)
		}
	}
	return nil
}

// limitAccount builds the Smart Limit view of an account. ws is the account's
// workspace row when the caller has it; nil reads it.
func (e *Engine) limitAccount(ctx context.Context, acc store.Account, ws *model.Workspace) smartlimits.Account {
	la := smartlimits.Account{IdentityID: acc.Identity.ID, Level: acc.Integration.Level, FirstConnected: acc.Integration.FirstConnectedAt}
	if loc, ok := cron.LoadZone(acc.Identity.Timezone); ok {
		la.Location = loc // working hours; UTC for a zone this build cannot load
	}
	if acc.Identity.Managed || (acc.Integration.IsShared && acc.Integration.SetupSource == "SHARED") {
		la.FirstConnected = nil // pool accounts, owned or rented, are warmed up
	}
	la.Identity = smartlimits.ParseOverridesShared(acc.Overrides)
	if ws != nil && ws.ID == acc.Identity.WorkspaceID {
		la.Workspace = smartlimits.ParseOverridesShared(ws.LimitOverrides)
	} else if w, err := e.DB.CachedWorkspace(ctx, acc.Identity.WorkspaceID); err == nil {
		la.Workspace = smartlimits.ParseOverridesShared(w.LimitOverrides)
	}
	return la
}

// PerResult is the price of one result in millicredits. The managed factor
// pays for the pool's accounts: actions that run without an account ignore
// identities, mode included.
func PerResult(a *catalog.Action, mode string) int64 {
	ratio := a.CreditRatio
	if mode == ModeManaged && a.NeedsIdentity {
		ratio *= ManagedFactor
	}
	return credits.Milli(ratio)
}

// credentials opens an integration's sealed credentials for the driver,
// with the user agent of the identity's calls (see userAgent). kept is the
// identity's kept user agent as the caller read it ("" when not read).
func (e *Engine) credentials(ctx context.Context, g model.Integration, kept string) (platform.Credentials, error) {
	c, err := e.Identities.OpenCredentials(g)
	if err != nil {
		return platform.Credentials{}, err
	}
	return platform.Credentials{AuthType: c.AuthType, Cookies: c.Cookies, Username: c.Username, Password: c.Password,
		Token: c.Token, UserAgent: e.userAgent(ctx, g.IdentityID, c.AuthType, kept, c.UserAgent)}, nil
}

// markInvalid records an expired session on the integration: INVALID, once
// however many calls find it expired. The webhook and the blocking of runs
// follow from the transition (identity.Service's StatusListener).
func (e *Engine) markInvalid(ctx context.Context, g model.Integration, label string) {
	if changed, err := e.Identities.ExpireSession(ctx, g, label); err != nil || !changed {
		return
	}
	e.ForgetCandidates(g.WorkspaceID)
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var errNoCandidate = errors.New("engine: no candidate account")
