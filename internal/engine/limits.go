package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/smartlimits"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// LimitStatus reports, for every key the action consumes, the identity's
// Smart Limit windows. An identity with no connected account reports the
// Classic defaults.
func (e *Engine) LimitStatus(ctx context.Context, p model.Principal, identityUID string, a *catalog.Action) ([]smartlimits.Status, error) {
	var id model.Identity
	err := e.DB.View(ctx, func(q store.Querier) (err error) {
		id, err = store.GetIdentity(ctx, q, p.WorkspaceID, identityUID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.NotFound("identity %s not found", identityUID)
	}
	if err != nil {
		return nil, err
	}
	acc := store.Account{Identity: id}
	var accs []store.Account
	err = e.DB.View(ctx, func(q store.Querier) (err error) {
		accs, err = store.Accounts(ctx, q, store.AccountQuery{WorkspaceID: p.WorkspaceID, IdentityUIDs: []string{id.UID},
			Platforms: integrationPlatforms(a), Statuses: []string{model.StatusValid, model.StatusInvalid, model.StatusPending,
				model.StatusLimitReached}})
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, x := range accs {
		if levelFits(a, x.Integration) {
			acc = x
			break
		}
	}
	if acc.Overrides == "" {
		acc.Overrides, _ = e.DB.IdentityLimitOverrides(ctx, id.ID)
	}
	la := e.limitAccount(ctx, acc, nil)
	return e.Limits.Report(ctx, la, la.ReportKeys(limitCall(a, false, false)), e.now())
}

// limitCall describes one upstream call of a to the limiter: its keys; the
// outreach gap and working hours for outreach; the search results cap for
// a page of search results. continued: a later page of the same call.
func limitCall(a *catalog.Action, live, continued bool) smartlimits.Call {
	c := smartlimits.Call{Keys: a.LimitKeys, Outreach: a.Kind == catalog.KindOutreach, Live: live, Continued: continued}
	if a.Kind == catalog.KindSearch && slices.Contains(a.LimitKeys, catalog.LimitSearchPages) {
		c.SearchPage = max(a.PageSize, 1)
	}
	return c
}

// SetIdentityOverrides stores an identity's Smart Limit overrides, which
// replace the ones it had.
func (e *Engine) SetIdentityOverrides(ctx context.Context, p model.Principal, identityUID, overrides string) error {
	if _, err := smartlimits.ParseOverrides(overrides); err != nil {
		return apperr.BadInput("body %s", err.Error())
	}
	return e.DB.Tx(ctx, func(tx *store.Tx) error {
		id, err := store.GetIdentity(ctx, tx, p.WorkspaceID, identityUID)
		if errors.Is(err, store.ErrNotFound) {
			return apperr.NotFound("identity %s not found", identityUID)
		}
		if err != nil {
			return err
		}
		return store.SetIdentityLimitOverrides(ctx, tx, id.ID, overrides)
	})
}

// IdentityOverrides reads an identity's Smart Limit overrides as stored
// ("" when none were set).
func (e *Engine) IdentityOverrides(ctx context.Context, p model.Principal, identityUID string) (string, error) {
	var id model.Identity
	err := e.DB.View(ctx, func(q store.Querier) (err error) {
		id, err = store.GetIdentity(ctx, q, p.WorkspaceID, identityUID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", apperr.NotFound("identity %s not found", identityUID)
	}
	if err != nil {
		return "", err
	}
	raw, err := e.DB.IdentityLimitOverrides(ctx, id.ID)
	if err != nil {
		return "", fmt.Errorf("engine: read identity %s's Smart Limit overrides: %w", identityUID, err)
	}
	return raw, nil
}
