package identity

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Renting managed pool accounts (issue 5 §6). A workspace rents a free VALID
// pool account for a number of days: it becomes the renter identity's
// integration (setup_source SHARED, is_shared true) and, while the rental is
// active, serves that identity only: managed mode and other rentals skip it
// (store.Accounts and the rentals_active_pool unique index). The renter's
// integration holds a copy of the pool account's sealed credentials,
// re-sealed with the renter's integration uid as additional data. When the
// period ends (ExpireRentals, run by a periodic job) the renter's shared
// integration is deleted, with its DELETED webhook, and the pool account goes
// back to the pool.

// MaxRentalDays bounds one rental.
const MaxRentalDays = 365

// rentable platforms: the pool holds LinkedIn accounts (at any level).
func rentable(platform string) bool {
	return platform == "linkedin" || platform == "salesnavigator" || platform == "recruiterlite"
}

// errRented: the candidate pool account was taken by a concurrent rental.
var errRented = errors.New("identity: pool account already rented")

// Rent rents a free pool account to the identity for days.
func (s *Service) Rent(ctx context.Context, workspaceID int64, identityUID, platform string, days int, now time.Time) (store.Rental, model.Integration, error) {
	if !rentable(platform) {
		return store.Rental{}, model.Integration{}, apperr.BadInput("body/platform must be equal to one of the allowed values (linkedin, salesnavigator, recruiterlite)")
	}
	if days < 1 || days > MaxRentalDays {
		return store.Rental{}, model.Integration{}, apperr.BadInput("body/days must be >= 1 and <= %d", MaxRentalDays)
	}
	id, err := s.get(ctx, workspaceID, identityUID)
	if err != nil {
		return store.Rental{}, model.Integration{}, err
	}
	if id.Managed {
		return store.Rental{}, model.Integration{}, apperr.NotFound("identity %s not found", identityUID)
	}
	if _, err := s.DB.IntegrationOf(ctx, id.ID, platform); err == nil {
		return store.Rental{}, model.Integration{}, apperr.Conflict("identity %s already has a %s integration; delete it before renting one", identityUID, platform)
	}
	cands, err := s.DB.Accounts(ctx, store.AccountQuery{Pool: true, Platforms: []string{platform}})
	if err != nil {
		return store.Rental{}, model.Integration{}, err
	}
	for _, c := range cands {
		r, g, err := s.rentOne(ctx, workspaceID, id, platform, c, days, now)
		if errors.Is(err, errRented) {
			continue
		}
		return r, g, err
	}
	return store.Rental{}, model.Integration{}, apperr.Conflict("no free managed pool account for %s is available to rent", platform).
		With("reason", "pool_exhausted")
}

func (s *Service) rentOne(ctx context.Context, workspaceID int64, id model.Identity, platform string, pool store.Account, days int, now time.Time) (store.Rental, model.Integration, error) {
	pg := pool.Integration
	plain, err := s.Keys.Open(pg.SecretKID, pg.Secret, []byte(pg.UID))
	if err != nil {
		return store.Rental{}, model.Integration{}, err
	}
	r := store.Rental{UID: uuid.NewString(), WorkspaceID: workspaceID, IdentityID: id.ID, IdentityUID: id.UID,
		PoolIdentityID: pool.Identity.ID, Platform: platform, StartsAt: store.Millis(now),
		EndsAt: store.Millis(now.Add(time.Duration(days) * 24 * time.Hour))}
	var ch Change
	err = s.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := s.DB.LockIdentity(ctx, tx, id.ID); err != nil {
			return err
		}
		var err error
		ch, err = s.transition(ctx, tx, id.ID, platform, CauseAuth, func(cur *model.Integration) error {
			if cur != nil {
				return apperr.Conflict("identity %s already has a %s integration; delete it before renting one", id.UID, platform)
			}
			uid := uuid.NewString()
			kid, sealed := s.Keys.Seal(plain, []byte(uid))
			first := now
			g := model.Integration{UID: uid, WorkspaceID: workspaceID, IdentityID: id.ID, Platform: platform,
				Name: pg.Name, Permalink: pg.Permalink, AuthType: pg.AuthType, SetupSource: "SHARED", IsShared: true,
				Level: pg.Level, Status: model.StatusValid, Meta: pg.Meta, SecretKID: kid, Secret: sealed, FirstConnectedAt: &first}
			if _, err := store.UpsertIntegration(ctx, tx, g); err != nil {
				return err
			}
			r.IntegrationUID = uid
			r.ID, err = store.InsertRental(ctx, tx, r)
			if store.IsUniqueViolation(err) {
				return errRented
			}
			return err
		})
		if err != nil {
			return err
		}
		return s.linksOnConnect(ctx, tx, id.ID, platform, ch, "")
	})
	if err != nil {
		return store.Rental{}, model.Integration{}, err
	}
	s.notify(ctx, ch)
	return r, *ch.After, nil
}

// EndRental ends a rental at now: the renter's shared integration is deleted
// (DELETED webhook) and the pool account is free again.
func (s *Service) EndRental(ctx context.Context, r store.Rental, now time.Time) error {
	var ch Change
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		ended, err := store.EndRental(ctx, tx, r.ID, store.Millis(now))
		if err != nil || !ended {
			return err
		}
		ch, err = s.transition(ctx, tx, r.IdentityID, r.Platform, CauseDelete, func(cur *model.Integration) error {
			if cur == nil || cur.UID != r.IntegrationUID {
				return nil // deleted (or replaced) by the renter already
			}
			return store.DeleteIntegration(ctx, tx, cur.ID)
		})
		return err
	})
	if err != nil {
		return err
	}
	if ch.Event != "" {
		s.notify(ctx, ch)
	}
	return nil
}

// EndRentalOf ends the identity's active rental on platform now.
func (s *Service) EndRentalOf(ctx context.Context, workspaceID int64, identityUID, platform string, now time.Time) (store.Rental, error) {
	id, err := s.get(ctx, workspaceID, identityUID)
	if err != nil {
		return store.Rental{}, err
	}
	r, err := s.DB.ActiveRental(ctx, id.ID, platform)
	if errors.Is(err, store.ErrNotFound) {
		return r, apperr.NotFound("identity %s has no active %s rental", identityUID, platform)
	}
	if err != nil {
		return r, err
	}
	if err := s.EndRental(ctx, r, now); err != nil {
		return r, err
	}
	ms := store.Millis(now)
	r.EndedAt = &ms
	return r, nil
}

// ExpireRentals ends every rental due at now (period over, or its shared
// integration deleted by the renter) and returns how many it ended. The
// periodic job calls it; tests call it with an injected time.
func (s *Service) ExpireRentals(ctx context.Context, now time.Time) (int, error) {
	n := 0
	for {
		due, err := s.DB.DueRentals(ctx, store.Millis(now), 100)
		if err != nil || len(due) == 0 {
			return n, err
		}
		for _, r := range due {
			if err := s.EndRental(ctx, r, now); err != nil {
				return n, err
			}
			n++
		}
		if len(due) < 100 {
			return n, nil
		}
	}
}
