package engine

import (
	"context"
	"errors"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Done is a page fetched by one account.
type Done struct {
	Page    platform.Page
	Account *store.Account // nil for actions that need no identity
	// Reservation is the Smart Limits the call reserved, still at its
	// estimate when opt.SettleLater (see CallOptions).
	Reservation smartlimits.Reservation
}

// CallOptions tune how a page call picks its account.
type CallOptions struct {
	Mode string
	// Wait lets the call wait (bounded by Engine.LockWait) for a busy
	// account when every candidate is busy.
	Wait bool
	// Workspace is the caller's workspace row, when it has read it already
	// (Smart Limit overrides); nil reads it per account.
	Workspace *model.Workspace
	// Live: the call is a live one, which working hours do not hold back
	// (smartlimits.Call), and which may use the in-flight budget's reserve.
	Live bool
	// WorkspaceID and RunID say whose call it is, for the in-flight
	// budget's fairness (RunID 0: live).
	WorkspaceID, RunID int64
	// Resumed: the call works a chunk taken over from a dead node, which
	// goes before other async work in the in-flight budget (Class.Resumed).
	Resumed bool
	// LockWait, when set, replaces Engine.LockWait: async work waits for a
	// busy account as long as its pass may last.
	LockWait time.Duration
	// StartBy, when set, ends the waits for an account or a slot: a call
	// not started by then fails (NotStarted or busy), while a call that
	// started runs on until ctx ends.
	StartBy time.Time
	// Locks is the candidates' lock set when the caller made it once for
	// many calls (CandidatesForBatch); nil: made per call.
	Locks *LockSet
	// SlotHeld: the caller took the call's in-flight slot already
	// (Engine.Slot) and holds it across the call. Only for actions that
	// need no identity: an account's calls take their slot once they hold
	// the account.
	SlotHeld bool
	// Halt, when set, ends when the caller's work must start no more
	// calls (its run left RUNNING): the waits for an account or a slot end
	// with it, and a call not started yet fails NotStarted; a call that
	// started runs on (what it did upstream is the caller's to record).
	Halt context.Context
	// Guard, when set, gives the credits check that must hold, read fresh,
	// for an account's Smart Limit reservation to be recorded
	// (smartlimits.Limiter.ConsumeGuarded; nil: none for that account).
	Guard func(store.Account) *store.CreditGuard
	// SettleLater: the caller records a search page's results count with
	// its own write (Reservation.Settlement in the live recording step)
	// instead of Call settling it in a round of its own.
	SettleLater bool
}

// Halted says whether opt.Halt has ended.
func Halted(opt CallOptions) bool { return opt.Halt != nil && opt.Halt.Err() != nil }

// errHalted: the caller's work stopped (opt.Halt) before the call started.
var errHalted = errors.New("engine: the work stopped before the call started")

// Slot takes an in-flight slot (the action's family limit, then the node's
// budget) for calls of an action that needs no identity, to be passed to
// Call with opt.SlotHeld. A batch takes its inputs' slots one after another
// before it starts each input's goroutine, so that the inputs waiting for
// the budget are a queue, not thousands of parked goroutines (each with its
// stack and decoded input) that only add to the node's memory.
func (e *Engine) Slot(ctx context.Context, a *catalog.Action, opt CallOptions) (release func(), err error) {
	wctx, cancel := waitCtx(ctx, opt)
	defer cancel()
	return e.inflight(wctx, a, opt)
}

// waitCtx is ctx ending at opt.StartBy and with opt.Halt, for the waits
// before a call.
func waitCtx(ctx context.Context, opt CallOptions) (context.Context, context.CancelFunc) {
	if opt.StartBy.IsZero() && opt.Halt == nil {
		return ctx, func() {}
	}
	var cancel context.CancelFunc
	if opt.StartBy.IsZero() {
		ctx, cancel = context.WithCancel(ctx)
	} else {
		ctx, cancel = context.WithDeadline(ctx, opt.StartBy)
	}
	if opt.Halt == nil {
		return ctx, cancel
	}
	// AfterFunc starts no goroutine until Halt ends: thousands of waits
	// cost no goroutine each.
	stop := context.AfterFunc(opt.Halt, cancel)
	return ctx, func() { stop(); cancel() }
}

// inflight takes a slot of the action's family limit, then of the node's
// in-flight budget, for one upstream call: the family first, so that calls
// waiting for a saturated family hold none of the budget other families
// could use.
func (e *Engine) inflight(ctx context.Context, a *catalog.Action, opt CallOptions) (func(), error) {
	relFam, err := e.Families.Acquire(ctx, a.Platform)
	if err != nil {
		return nil, slotRefusal(err, opt.Live)
	}
	relBudget, err := e.Budget.Acquire(ctx, Class{Live: opt.Live, Workspace: opt.WorkspaceID, Run: opt.RunID, Resumed: opt.Resumed})
	if err != nil {
		relFam()
		return nil, slotRefusal(err, opt.Live)
	}
	return func() { relBudget(); relFam() }, nil
}

// slotRefusal is the error of a call whose context ended while it waited
// for a slot. Async work retries it (NotStarted); a live call answers the
// contract's 429 STATUS_429 with a Retry-After, as for a busy account: the
// call never reached the platform, nothing was consumed or charged, and a
// retry is the right move (the server, not the request, was short).
func slotRefusal(err error, live bool) error {
	if !live {
		return notStarted{err}
	}
	msg := "every upstream call slot of this server stayed busy until the live call's time limit; retry shortly"
	if errors.Is(err, context.Canceled) {
		msg = "the request ended while it waited for an upstream call slot of this server"
	}
	ae := apperr.RateLimited("%s", msg).With("reason", "inflight_full").With("retry_after", "1")
	ae.Cause = err
	return notStarted{ae}
}

// Call fetches one page with the first candidate that is free, within its
// Smart Limits and still connected. An expired session marks the
// integration INVALID and moves on to the next candidate. st is the page
// asked for, as the driver receives it (page 1 when 0, the action's page
// size when 0).
func (e *Engine) Call(ctx context.Context, cands []store.Account, st platform.Call, opt CallOptions) (Done, error) {
	if Halted(opt) {
		return Done{}, notStarted{errHalted}
	}
	drv, err := e.driver(st.Action)
	if err != nil {
		return Done{}, err
	}
	call := st
	call.Page = max(st.Page, 1)
	if call.PageSize == 0 {
		call.PageSize = st.Action.PageSize
	}
	if !st.Action.NeedsIdentity {
		ctx, hc, err := e.egress(ctx, nil)
		if err != nil {
			return Done{}, err
		}
		if !opt.SlotHeld {
			release, err := e.Slot(ctx, st.Action, opt)
			if err != nil {
				return Done{}, err
			}
			defer release()
		}
		if Halted(opt) {
			return Done{}, notStarted{errHalted}
		}
		pg, err := drv.Run(ctx, hc, platform.Credentials{}, call)
		return Done{Page: pg}, err
	}
	if len(cands) == 0 {
		return Done{}, apperr.NoValidAccount("no identity with a valid integration can run %s", st.Action.Slug)
	}
	var refused *smartlimits.Refused
	var lastErr error
	// Accounts are tried in the candidates' order; each at most once.
	set := opt.Locks
	if set == nil || len(set.ids) != len(cands) {
		set = NewLockSet(cands)
	}
	ids := set.ids
	tried := make([]bool, len(cands))
	for left := len(cands); left > 0; left-- {
		// Take the first free account; when all are busy, wait for whichever
		// frees up first.
		idx, release, ok := e.locks.tryAny(ids, tried)
		if !ok {
			if !opt.Wait {
				return Done{}, errBusy
			}
			wait := e.LockWait
			if opt.LockWait > 0 {
				wait = opt.LockWait
			}
			if wait == 0 {
				wait = 10 * time.Second
			}
			wctx, cancel := waitCtx(ctx, opt)
			idx, release, ok = e.locks.acquire(wctx, set, tried, wait)
			cancel()
			if !ok {
				return Done{}, errBusy
			}
		}
		tried[idx] = true
		acc := cands[idx]
		pg, res, err := e.callAccount(ctx, drv, acc, call, opt)
		release()
		var r *smartlimits.Refused
		switch {
		case err == nil:
			return Done{Page: pg, Account: &acc, Reservation: res}, nil
		case errors.As(err, &r):
			if refused == nil || r.AvailableAt.Before(refused.AvailableAt) {
				refused = r
			}
			continue
		case platform.IsSessionExpired(err), IsPausedAccount(err), apperr.Is(err, platform.LabelRestricted):
			// This account cannot serve now; another candidate may.
			lastErr = err
			continue
		default:
			return Done{Account: &acc}, err
		}
	}
	if refused != nil {
		// Whole seconds, rounded up: a client that waits until the date it
		// is given is not refused again.
		at := refused.AvailableAt.UTC().Add(time.Second - time.Nanosecond).Truncate(time.Second).Format(time.RFC3339)
		msg := "smart limit %s reached for every usable identity; capacity frees up at %s"
		switch refused.Key {
		case smartlimits.WorkingHours:
			msg = "%s: outside the working hours of every usable identity; the next opening is at %s"
		case smartlimits.OutreachGap:
			msg = "%s: every usable identity is pausing between two outreach actions until %s"
		case AccountPaused:
			msg = "%s: the platform rate limited every usable identity's account, whose work is paused until %s"
		}
		return Done{}, apperr.LimitReached(at, msg, refused.Key, at).With("limit_key", refused.Key)
	}
	if lastErr != nil {
		return Done{}, lastErr
	}
	return Done{}, apperr.NoValidAccount("no identity could run %s", call.Action.Slug)
}

// notStarted: the call ended (its context did) while it waited for a slot
// of the in-flight budget or of its family's limit: it never reached the
// platform.
type notStarted struct{ err error }

func (n notStarted) Error() string { return "waiting for an upstream call slot: " + n.err.Error() }
func (n notStarted) Unwrap() error { return n.err }

// NotStarted reports a call that ended before it reached the platform,
// while it waited for a slot.
func NotStarted(err error) bool {
	var n notStarted
	return errors.As(err, &n)
}

// ErrBusy: every candidate account is running another call.
var errBusy = apperr.RateLimited("the identity's account is busy with another call; retry shortly").With("reason", "account_busy")

// IsBusy reports the account-busy refusal.
func IsBusy(err error) bool { return errors.Is(err, errBusy) }

// callAccount runs the page on one locked account: limits, credentials,
// driver. Limit consumption is released when the call did not reach the
// platform or failed there without effect. It returns what the call
// reserved, settled unless opt.SettleLater.
func (e *Engine) callAccount(ctx context.Context, drv platform.Driver, acc store.Account, call platform.Call,
	opt CallOptions) (platform.Page, smartlimits.Reservation, error) {
	var none smartlimits.Reservation
	g := e.current(acc.Integration)
	if until, err := e.pausedUntil(ctx, acc, opt.Live); err != nil {
		return platform.Page{}, none, err
	} else if !until.IsZero() {
		return platform.Page{}, none, &smartlimits.Refused{Key: AccountPaused, AvailableAt: until}
	}
	la := e.limitAccount(ctx, acc, opt.Workspace)
	// A later page that async work fetches for the same input continues an
	// action that went (a live page is a request of its own, and its 429
	// loses nothing).
	lc := limitCall(call.Action, opt.Live, !opt.Live && call.Action.PageSize > 0 && (call.Page > 1 || call.Token != ""))
	var guard *store.CreditGuard
	if opt.Guard != nil {
		guard = opt.Guard(acc)
	}
	res, err := e.Limits.ConsumeGuarded(ctx, la, la.Needs(lc), e.now(), guard)
	if errors.Is(err, store.ErrGuardShort) {
		return platform.Page{}, none, apperr.NoAccess("no credits left in this period")
	}
	if err != nil {
		return platform.Page{}, none, err
	}
	cred, err := e.credentials(ctx, g, acc.UserAgent)
	if err != nil {
		_ = e.Limits.Release(context.WithoutCancel(ctx), res)
		return platform.Page{}, none, err
	}
	dctx, hc, err := e.egress(ctx, &acc.Identity)
	if err != nil {
		_ = e.Limits.Release(context.WithoutCancel(ctx), res)
		return platform.Page{}, none, err
	}
	wctx, cancel := waitCtx(ctx, opt)
	release, err := e.inflight(wctx, call.Action, opt)
	cancel()
	if err != nil {
		_ = e.Limits.Release(context.WithoutCancel(ctx), res)
		return platform.Page{}, none, err
	}
	if Halted(opt) {
		release()
		_ = e.Limits.Release(context.WithoutCancel(ctx), res)
		return platform.Page{}, none, notStarted{errHalted}
	}
	dctx, session := withSession(dctx)
	pg, err := drv.Run(dctx, hc, cred, call)
	release()
	// Kept whatever the outcome: platforms refresh cookies on failures too.
	g = e.keepSession(ctx, g, cred.Cookies, session)
	if err != nil {
		_ = e.Limits.Release(context.WithoutCancel(ctx), res)
		switch {
		case platform.IsSessionExpired(err):
			e.markInvalid(context.WithoutCancel(ctx), g, "NOT_CONNECTED")
		case apperr.Is(err, platform.Label429) && platform.PausesOnRateLimit(drv):
			err = e.pause(ctx, g, err)
		}
		return pg, none, err
	}
	if lc.SearchPage > 0 && !opt.SettleLater {
		// The results are counted now that they are known. Should this fail,
		// the page's full estimate stays counted: never less than was used.
		res, _ = e.Limits.Settle(context.WithoutCancel(ctx), res, smartlimits.SearchResults, len(pg.Results))
	}
	return pg, res, nil
}
