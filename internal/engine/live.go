package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/model"
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
	// NextCursor is set for cursor-paged actions when there is a next page.
	NextCursor string
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
	reqHash := requestHash(a.Slug, req.Input.Values, req.Parameters)
	page, token := l.Page, ""
	if l.Cursor != "" {
		c, err := e.openCursor(l.Cursor, l.Principal.WorkspaceID, a.Slug, reqHash, e.now())
		if err != nil {
			return LiveResult{}, err
		}
		page, token = c.Page, c.Token
	}
	if page < 1 {
		page = 1
	}
	started := e.now()
	run := model.Run{UID: uuid.NewString(), WorkspaceID: l.Principal.WorkspaceID, MemberUID: l.Principal.MemberUID,
		ActionName: a.Slug, ExecutionMode: "LIVE", IdentityMode: req.IdentityMode, IdentityUIDs: req.IdentityIDs,
		Parameters: jsonString(req.Parameters), InputCount: 1, StartedAt: &started}

	res, err := e.live(ctx, l, &run, page, token, reqHash)
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

func (e *Engine) live(ctx context.Context, l Live, run *model.Run, page int, token, reqHash string) (LiveResult, error) {
	a, req := l.Action, l.Request
	// Read once, with the balance: the balance checks, the Smart Limit
	// overrides and the charge all need it. The checks only spare the
	// platform a call that could not be paid for; the charge is exact.
	ws, max, used, err := e.Ledger.WorkspaceBalance(ctx, l.Principal.WorkspaceID)
	if err != nil {
		return LiveResult{}, err
	}
	left := max - used
	per := PerResult(a, req.IdentityMode)
	if per > 0 && a.Kind != catalog.KindOutreach {
		if err := needCredits(left, per); err != nil {
			return LiveResult{}, err
		}
	}
	var cands []store.Account
	if a.NeedsIdentity {
		if cands, err = e.Candidates(ctx, l.Principal, a, req.IdentityMode, req.IdentityIDs); err != nil {
			return LiveResult{}, err
		}
	}
	if a.Kind == catalog.KindOutreach {
		// Checked once the accounts are known: engagement identities run
		// outreach for free.
		if err := needCredits(left, maxPrice(a, req.IdentityMode, cands)); err != nil {
			return LiveResult{}, err
		}
	}
	done, err := e.Call(ctx, cands, Step{Action: a, Input: req.Input.Values, Params: req.Parameters, Page: page, Token: token},
		CallOptions{Mode: req.IdentityMode, Wait: true, Workspace: &ws})
	if done.Account != nil {
		run.IdentityUIDs = []string{done.Account.Identity.UID}
	}
	if err != nil {
		return LiveResult{}, err
	}
	results := done.Page.Results
	if mr := MaxResults(a.LiveMaxResults.Present, req.Parameters); mr > 0 && len(results) > mr {
		results = results[:mr]
	}
	if !a.ListOutput && len(results) == 0 {
		return LiveResult{}, apperr.Upstream("NO_RESULT", "the platform returned no result for this input")
	}
	// The charge and the run record commit together: results are never paid
	// for without their run, nor returned unpaid. The run is recorded first,
	// as if every result were paid, and corrected in the rare case the
	// balance pays for fewer: the charge ends with the balance UPDATE, which
	// on PostgreSQL locks the workspace's balance row until commit, so
	// nothing else should come after it.
	per = Price(a, req.IdentityMode, done.Account)
	var charged credits.Charged
	err = e.liveWrites.Tx(ctx, e.DB, func(tx *sql.Tx) error {
		finished := e.now()
		run.FinishedAt = &finished
		run.Status, run.OutputCount, run.CreditsUsed = model.RunSucceeded, len(results), int64(len(results))*per
		rec, err := store.InsertRun(ctx, tx, store.NewRun{Run: *run})
		if err != nil {
			return err
		}
		charged, err = e.Ledger.ChargeTx(ctx, tx, credits.Charge{WorkspaceID: l.Principal.WorkspaceID, Workspace: &ws,
			Key: "live:" + run.UID, RunUID: run.UID, Action: a.Slug, Results: len(results), PerResult: per})
		if err != nil {
			return err
		}
		if charged.Paid == 0 && len(results) > 0 {
			return apperr.NoAccess("no credits left in this period") // rolls back the run: recorded as failed
		}
		if charged.Paid < len(results) {
			run.OutputCount, run.CreditsUsed = charged.Paid, charged.Amount
			return store.SetRunCharged(ctx, tx, rec.ID, charged.Paid, charged.Amount)
		}
		return nil
	})
	if err != nil {
		return LiveResult{}, err
	}
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
		// A page cut short by the balance gets no next link: following it
		// would skip the unpaid results. The same page can be asked again
		// once credits return.
		if len(results) > 0 && done.Page.More && !truncated {
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

// recordRun stores a finished run.
func (e *Engine) recordRun(ctx context.Context, r model.Run) (model.Run, error) {
	var out model.Run
	err := e.liveWrites.Tx(ctx, e.DB, func(tx *sql.Tx) error {
		var err error
		out, err = store.InsertRun(ctx, tx, store.NewRun{Run: r})
		return err
	})
	return out, err
}
