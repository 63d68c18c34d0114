package engine

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// DefaultLiveTimeout bounds one live call end to end unless
// Engine.LiveTimeout says otherwise.
const DefaultLiveTimeout = 60 * time.Second

// Live is one live call.
type Live struct {
	Principal model.Principal
	Action    *catalog.Action
	Request   *catalog.LiveRequest
	// Page (from 1) or Cursor select the page; both empty means page 1.
	Page   int
	Cursor string
}

// LiveResult is what the HTTP layer sends back.
type LiveResult struct {
	// Body is the bare output object, or an array for list actions.
	Body   any
	RunUID string
	// Page is the page served; NextPage/PrevPage are 0 when there is none.
	Page, NextPage, PrevPage int
	// NextCursor is set for cursor-paged actions when there is a next page,
	// and for any list whose page the balance cut short (it goes on from
	// the first unpaid result).
	NextCursor string
	// CreditsExhausted: the balance paid for only part of the page.
	CreditsExhausted bool
}

// RunLive executes a live call and records it as a LIVE run.
func (e *Engine) RunLive(ctx context.Context, l Live) (LiveResult, error) {
	timeout := e.LiveTimeout
	if timeout <= 0 {
		timeout = DefaultLiveTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	a, req := l.Action, l.Request
	if err := e.Unavailable(a); err != nil {
		// Refused before anything starts, as a malformed request is: no
		// run is recorded for a call this server cannot make.
		return LiveResult{}, err
	}
	reqHash := requestHash(a.Slug, req.Input.Values, req.Parameters)
	page, token, skip := l.Page, "", 0
	if l.Cursor != "" {
		c, err := e.openCursor(l.Cursor, l.Principal.WorkspaceID, a.Slug, reqHash, e.now())
		if err != nil {
			return LiveResult{}, err
		}
		page, token, skip = c.Page, c.Token, c.Skip
	}
	if page < 1 {
		page = 1
	}
	started := e.now()
	// Time-ordered (UUIDv7): runs' uid index and the charge keys made from it
	// grow at one end instead of dirtying a random page per insert.
	run := model.Run{UID: uuid.Must(uuid.NewV7()).String(), WorkspaceID: l.Principal.WorkspaceID, MemberUID: l.Principal.MemberUID,
		ActionName: a.Slug, ExecutionMode: "LIVE", IdentityMode: req.IdentityMode, IdentityUIDs: req.IdentityIDs,
		Parameters: jsonString(req.Parameters), InputCount: 1, StartedAt: &started}

	res, err := e.live(ctx, l, &run, livePage{page: page, token: token, skip: skip}, reqHash)
	if err == nil {
		res.RunUID = run.UID
		return res, nil
	}
	// A failed call is recorded on its own (a successful one was recorded
	// with its charge).
	finished := e.now()
	run.FinishedAt = &finished
	run.Status, run.OutputCount, run.CreditsUsed, run.FailedCount = model.RunFailed, 0, 0, 1
	if ae, ok := apperr.As(err); ok {
		run.LastError = &model.RunError{Label: ae.Label, Message: ae.Message, Params: ae.Params}
	} else {
		run.LastError = &model.RunError{Label: "INTERNAL_ERROR", Message: "internal error"}
	}
	_, _ = e.recordRun(context.WithoutCancel(ctx), run)
	res.RunUID = run.UID
	return res, err
}

// livePage is where a live call starts: the page, the platform's token
// for it, and how many of its results were served already.
type livePage struct {
	page  int
	token string
	skip  int
}

// live is a live call's path, straight down: admit (the balance, the
// credit checks and the candidate accounts, from the store's read caches
// and the limiter's copies), Call (the account lock, then the admission
// step: the Smart Limit reservation, with an outreach call's fresh credits
// check in the same round; then the driver), then the recording step: the
// run, its charge and the settlement of a search page's Smart Limit
// estimate, in one commit (writeLive). The engine orchestrates; credits,
// identities and Smart Limits are consulted. Warm, a call enters the store
// exactly twice (TestLiveStoreEntries).
func (e *Engine) live(ctx context.Context, l Live, run *model.Run, at livePage, reqHash string) (LiveResult, error) {
	a, req := l.Action, l.Request
	page, token := at.page, at.token
	ad, done, err := e.admitAndCall(ctx, l, platform.Call{Action: a, Input: req.Input.Values, Params: req.Parameters, Page: page, Token: token})
	if done.Account != nil {
		run.IdentityUIDs = []string{done.Account.Identity.UID}
	}
	if err != nil {
		return LiveResult{}, err
	}
	ws := ad.bal.Workspace
	results := done.Page.Results
	if mr := MaxResults(a.LiveMaxResults.Present, req.Parameters); mr > 0 && len(results) > mr {
		results = results[:mr]
	}
	if a.ListOutput && at.skip > 0 {
		results = results[min(at.skip, len(results)):]
	}
	if !a.ListOutput && len(results) == 0 {
		return LiveResult{}, apperr.Upstream("NO_RESULT", "the platform returned no result for this input")
	}
	// The charge and the run record commit together, with other live
	// calls' (see writeLive): results are never paid for without their run,
	// nor returned unpaid.
	finished := e.now()
	run.FinishedAt = &finished
	run.Status, run.OutputCount = model.RunSucceeded, len(results)
	per := Price(a, req.IdentityMode, done.Account)
	run.CreditsUsed = int64(len(results)) * per
	w := &liveWrite{run: *run, charge: credits.Charge{WorkspaceID: l.Principal.WorkspaceID, Workspace: &ws,
		RunUID: run.UID, Action: a.Slug, Results: len(results), PerResult: per},
		// A search page's results, counted now that they are known.
		adjust: done.Reservation.Settlement(smartlimits.SearchResults, len(done.Page.Results))}
	if err := e.liveCommits().Do(ctx, w); err != nil {
		return LiveResult{}, err
	}
	charged := w.charged
	truncated := false
	if charged.Paid < len(results) {
		results, truncated = results[:charged.Paid], true
	}

	out := LiveResult{Page: page}
	if a.ListOutput {
		body := make([]any, len(results))
		for i, r := range results {
			body[i] = r
		}
		out.Body = body
		switch {
		case truncated:
			// A page cut short by the balance links to its first unpaid
			// result, for when credits return; page+1 would skip them.
			out.CreditsExhausted = true
			out.NextCursor = e.sealCursor(cursor{Slug: a.Slug, Workspace: l.Principal.WorkspaceID, Request: reqHash, Page: page,
				Token: token, Skip: at.skip + len(results), Expires: e.now().Add(CursorTTL).Unix()})
		case (len(results) > 0 || at.skip > 0) && done.Page.More:
			out.NextPage = page + 1
			if a.CursorPaging {
				out.NextCursor = e.sealCursor(cursor{Slug: a.Slug, Workspace: l.Principal.WorkspaceID, Request: reqHash, Page: page + 1,
					Token: done.Page.NextToken, Expires: e.now().Add(CursorTTL).Unix()})
			}
		}
		if page > 1 {
			out.PrevPage = page - 1
		}
		return out, nil
	}
	out.Body = results[0]
	return out, nil
}

// admission is what a live call may start with: its balance (with the
// workspace row it was read from) and the accounts that may run it, in
// order.
type admission struct {
	bal   credits.Balance
	cands []store.Account
}

// admitAndCall admits a live call and makes it: admit's checks, from the
// read caches, then Call, whose Smart Limit reservation is the call's one
// admission entry into the store; an outreach call's fresh credits check
// rides in that same round (store.CreditGuard). When the guard finds the
// workspace's plan or period changed since the cached row (within
// store.ReadCacheTTL), the call is admitted again from a fresh read.
func (e *Engine) admitAndCall(ctx context.Context, l Live, call platform.Call) (admission, Done, error) {
	a, req := l.Action, l.Request
	for fresh := false; ; fresh = true {
		ad, err := e.admit(ctx, l, fresh)
		if err != nil {
			return ad, Done{}, err
		}
		opt := CallOptions{Mode: req.IdentityMode, Wait: true, Workspace: &ad.bal.Workspace, Live: true, WorkspaceID: l.Principal.WorkspaceID,
			SettleLater: true}
		if a.Kind == catalog.KindOutreach {
			opt.Guard = func(acc store.Account) *store.CreditGuard { return ad.bal.Guard(Price(a, req.IdentityMode, &acc)) }
		}
		done, err := e.Call(ctx, ad.cands, call, opt)
		if errors.Is(err, store.ErrGuardStale) {
			if !fresh {
				continue
			}
			// Changed again since the fresh read: nothing was reserved or
			// charged, and the client may simply retry.
			err = apperr.Conflict("the workspace's plan changed while the call was being admitted; retry the call").
				With("reason", "plan_changed")
		}
		return ad, done, err
	}
}

// admit reads a live call's balance and candidates and refuses a call the
// balance cannot pay for. The balance is read once, through the read cache
// (fresh: from the database): the checks, the Smart Limit overrides, the
// ranking of candidates and the charge all use it. The checks only spare
// the platform a call that could not be paid for; the charge is exact. An
// outreach call's balance is checked again, fresh, when its account is
// reserved (admitAndCall): what it does on the platform cannot be taken
// back if it turns out unpaid.
func (e *Engine) admit(ctx context.Context, l Live, fresh bool) (admission, error) {
	a, req := l.Action, l.Request
	bal, err := e.Ledger.Balance(ctx, l.Principal.WorkspaceID, credits.Reading{Cached: !fresh})
	if err != nil {
		return admission{}, err
	}
	ad := admission{bal: bal}
	left := bal.Left()
	if per := PerResult(a, req.IdentityMode); per > 0 && a.Kind != catalog.KindOutreach {
		if err := needCredits(left, per); err != nil {
			return admission{}, err
		}
	}
	if a.NeedsIdentity {
		if ad.cands, err = e.candidates(ctx, l.Principal, a, req.IdentityMode, req.IdentityIDs, &ad.bal.Workspace, false); err != nil {
			return admission{}, err
		}
	}
	if a.Kind == catalog.KindOutreach {
		// Checked once the accounts are known: engagement identities run
		// outreach for free.
		if err := needCredits(left, maxPrice(a, req.IdentityMode, ad.cands)); err != nil {
			return admission{}, err
		}
	}
	return ad, nil
}

// MaxResults reads the max_results parameter when the mode has one (0: none).
func MaxResults(present bool, params map[string]any) int {
	if !present {
		return 0
	}
	switch v := params["max_results"].(type) {
	case float64:
		return int(v)
	case int:
		return v
	case int64:
		return int(v)
	case json.Number:
		n, _ := v.Int64()
		return int(n)
	}
	return 0
}

// liveWrite is a live call's run record and charge. The run is SUCCEEDED
// with every result paid for; writeLive records on it what was paid (the
// run row is the charge's record: see credits.Ledger.ChargeBatch).
type liveWrite struct {
	run    model.Run
	charge credits.Charge
	// adjust settles the call's Smart Limit estimate (nil: nothing to
	// settle); it is written whether or not the charge is paid: the call
	// happened.
	adjust  *store.LimitAdjust
	charged credits.Charged // set by writeLive
}

// writeLive records a batch of live calls: their runs, each with its
// charge, in one INSERT, and one balance update per workspace. When a
// balance cannot pay for all of its calls, each call is charged in turn for
// what is left instead; a call left with nothing is refused (NO_ACCESS) and
// recorded as failed by RunLive.
func (e *Engine) writeLive(ctx context.Context, tx *store.Tx, ws []*liveWrite) ([]error, error) {
	charged, err := e.Ledger.ChargeBatch(ctx, tx, liveCharges(ws))
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(ws))
	runs := make([]model.Run, 0, len(ws))
	for i, w := range ws {
		w.charged = charged[i]
		if w.charge.Results > 0 && charged[i].Paid == 0 {
			errs[i] = apperr.NoAccess("no credits left in this period")
			continue
		}
		runs = append(runs, w.paidRun())
	}
	if err := e.DB.InsertFinishedRuns(ctx, tx, runs); err != nil {
		return nil, err
	}
	return errs, store.AdjustLimitEvents(ctx, tx, liveAdjusts(ws))
}

func liveCharges(ws []*liveWrite) []credits.Charge {
	charges := make([]credits.Charge, len(ws))
	for i, w := range ws {
		charges[i] = w.charge
	}
	return charges
}

func liveAdjusts(ws []*liveWrite) []*store.LimitAdjust {
	var out []*store.LimitAdjust
	for _, w := range ws {
		if w.adjust != nil {
			out = append(out, w.adjust)
		}
	}
	return out
}

// liveRecorded runs once a batch of live calls is recorded: the limiter's
// copies take the Smart Limit settlements written with them.
func (e *Engine) liveRecorded(ws []*liveWrite) {
	if adjusts := liveAdjusts(ws); len(adjusts) > 0 {
		e.Limits.Adjusted(adjusts)
	}
}

// paidRun is the run record of a charged call: what was paid, and from
// which period.
func (w *liveWrite) paidRun() model.Run {
	r := w.run
	r.OutputCount, r.CreditsUsed, r.ChargePeriod = w.charged.Paid, w.charged.Amount, w.charged.Period
	return r
}

// writeLiveDirect is writeLive on PostgreSQL: a batch that its balances can
// pay for in full commits in one round trip (credits.ChargeBatchDirect);
// otherwise writeLive charges what is left, in a transaction.
func (e *Engine) writeLiveDirect(ctx context.Context, _ *store.Store, ws []*liveWrite) ([]error, error) {
	_, err := e.Ledger.ChargeBatchDirect(ctx, liveCharges(ws), func(charged []credits.Charged) []model.Run {
		runs := make([]model.Run, len(ws))
		for i, w := range ws {
			w.charged = charged[i]
			runs[i] = w.paidRun()
		}
		return runs
	}, liveAdjusts(ws)...)
	if errors.Is(err, store.ErrShort) {
		return e.liveCommits().WriteTx(ctx, ws)
	}
	if err != nil {
		return nil, err
	}
	return make([]error, len(ws)), nil
}

// recordRun stores a finished run.
func (e *Engine) recordRun(ctx context.Context, r model.Run) (model.Run, error) {
	var out model.Run
	err := e.liveWrites.Tx(ctx, e.DB, func(tx *store.Tx) error {
		var err error
		out, err = store.InsertRun(ctx, tx, store.NewRun{Run: r})
		return err
	})
	return out, err
}
