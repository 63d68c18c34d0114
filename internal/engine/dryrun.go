package engine

import (
	"context"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/credits"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// DryRun is what a live call would do, found without doing it.
type DryRun struct {
	// WouldRun: the call would reach the platform now.
	WouldRun bool `json:"would_run"`
	// IdentityUID is the identity whose account would run it ("" for
	// actions that need none, or when none can).
	IdentityUID string `json:"identity_uid"`
	// CreditsLeft and CreditsNeeded are in credits: what the workspace has,
	// and what the call would cost at most (a full page for lists).
	CreditsLeft   float64 `json:"credits_left"`
	CreditsNeeded float64 `json:"credits_needed"`
	// SmartLimits are the windows of the picked identity (or, when every
	// candidate is held back, of the first one) for the keys the call uses.
	SmartLimits []smartlimits.Status `json:"smart_limits"`
	// Blocked is the refusal the live call would meet (LIMIT_REACHED,
	// NO_ACCESS, ...); nil when it would run.
	Blocked *apperr.Error `json:"-"`
}

// DryRunLive validates what RunLive would check before calling the
// platform: the action is served, the identity mode resolves to accounts
// of the caller's workspace, the credits cover the call and a candidate's
// Smart Limits let it through. It records nothing, takes no account lock
// and never calls a driver: Smart Limits are read, not consumed.
// Malformed requests and unknown identities are errors, as on RunLive;
// a call that would be held back is a DryRun with Blocked set.
func (e *Engine) DryRunLive(ctx context.Context, l Live) (DryRun, error) {
	a, req := l.Action, l.Request
	if err := e.Unavailable(a); err != nil {
		return DryRun{}, err
	}
	out := DryRun{SmartLimits: []smartlimits.Status{}}
	bal, err := e.Ledger.Balance(ctx, l.Principal.WorkspaceID, credits.Reading{})
	ws, max, used := bal.Workspace, bal.Max, bal.Used
	if err != nil {
		return DryRun{}, err
	}
	left := max - used
	out.CreditsLeft = credits.Credits(left)
	var cands []store.Account
	if a.NeedsIdentity {
		cands, err = e.Candidates(ctx, l.Principal, a, req.IdentityMode, req.IdentityIDs)
		if err != nil {
			if ae, ok := apperr.As(err); ok && ae.Status != 400 && ae.Status != 404 && ae.Status < 500 {
				// No usable account: the call would be refused with this.
				out.Blocked = ae
				return out, nil
			}
			return DryRun{}, err
		}
	}
	results := int64(1)
	if a.ListOutput && a.PageSize > 0 {
		results = int64(a.PageSize)
		if mr := MaxResults(a.LiveMaxResults.Present, req.Parameters); mr > 0 && int64(mr) < results {
			results = int64(mr)
		}
	}
	per := PerResult(a, req.IdentityMode)
	if a.Kind == catalog.KindOutreach {
		per = maxPrice(a, req.IdentityMode, cands)
	}
	out.CreditsNeeded = credits.Credits(per * results)
	if per > 0 {
		if err := needCredits(left, per); err != nil {
			ae, _ := apperr.As(err)
			out.Blocked = ae
			return out, nil
		}
	}
	if !a.NeedsIdentity {
		out.WouldRun = true
		return out, nil
	}
	now := e.now()
	var earliest *smartlimits.Refused
	for i, acc := range cands {
		la := e.limitAccount(ctx, acc, &ws)
		lc := limitCall(a, true, false)
		needs := la.Needs(lc)
		keys := make([]string, 0, len(needs))
		for _, n := range needs {
			keys = append(keys, n.Key)
		}
		st, err := e.Limits.Report(ctx, la, keys, now)
		if err != nil {
			return DryRun{}, err
		}
		if st == nil {
			st = []smartlimits.Status{}
		}
		if i == 0 {
			out.SmartLimits, out.IdentityUID = st, acc.Identity.UID
		}
		r := wouldRefuse(needs, st, now)
		if r == nil {
			out.WouldRun, out.IdentityUID, out.SmartLimits = true, acc.Identity.UID, st
			return out, nil
		}
		if earliest == nil || r.AvailableAt.Before(earliest.AvailableAt) {
			earliest = r
		}
	}
	if earliest != nil {
		at := earliest.AvailableAt.UTC().Add(time.Second - time.Nanosecond).Truncate(time.Second).Format(time.RFC3339)
		msg := "smart limit %s reached for every usable identity; capacity frees up at %s"
		if earliest.Key == smartlimits.OutreachGap {
			msg = "%s: every usable identity is pausing between two outreach actions until %s"
		}
		out.Blocked = apperr.LimitReached(at, msg, earliest.Key, at).With("limit_key", earliest.Key)
	}
	return out, nil
}

// wouldRefuse says which need a window has no room for (nil when every
// need fits), as Consume would decide with the same counts.
func wouldRefuse(needs []smartlimits.Need, st []smartlimits.Status, now time.Time) *smartlimits.Refused {
	var worst *smartlimits.Refused
	for _, n := range needs {
		for _, s := range st {
			if s.Key != n.Key {
				continue
			}
			room := s.Remaining >= min(n.N, max(s.MaxLimit, 1))
			if n.Key == smartlimits.OutreachGap || n.Key == smartlimits.WorkingHours {
				room = s.Remaining > 0
			}
			if room {
				continue
			}
			at := now
			if s.AvailableAt != nil {
				at = *s.AvailableAt
			}
			if worst == nil || at.After(worst.AvailableAt) {
				worst = &smartlimits.Refused{Key: n.Key, AvailableAt: at}
			}
		}
	}
	return worst
}
