package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// A connect asks the platform whether the credentials work, through the
// identity's egress, before it answers. A platform that does not answer
// (an account that hangs, a proxy that black-holes) must not hold the
// client for the upstream client's 45 s: after ConnectTimeout the connect
// answers PENDING, with LabelVerifyTimeout as its error, and the
// credentials are verified again in the background (ReverifyQueue), with
// the upstream client's full timeout and retries, until the platform
// answers VALID or INVALID (an AUTH_SUCCESS or AUTH_FAILED webhook) or the
// retries run out (it stays PENDING; a reconnect starts over). Other
// transient failures (a 5xx, a 429) are verified again the same way.

// DefaultConnectTimeout is ConnectTimeout's default: with the database work
// around it, a connect answers within 15 s.
const DefaultConnectTimeout = 12 * time.Second

// LabelVerifyTimeout is the error of a connect the platform did not answer
// in time.
const LabelVerifyTimeout = "LK_524"

// ReverifyQueue enqueues, in the caller's transaction, the background
// verification of a PENDING integration. The River client implements it.
type ReverifyQueue interface {
	Reverify(ctx context.Context, tx *store.Tx, integrationID int64) error
}

func (s *Service) connectTimeout() time.Duration {
	if s.ConnectTimeout > 0 {
		return s.ConnectTimeout
	}
	return DefaultConnectTimeout
}

// verifyBounded is verify within ConnectTimeout.
func (s *Service) verifyBounded(ctx context.Context, id model.Identity, platform, accountName string, cred Credentials) verdict {
	vctx, cancel := context.WithTimeout(ctx, s.connectTimeout())
	defer cancel()
	return s.verify(vctx, id, platform, accountName, cred)
}

// enqueueReverify schedules the background verification of g when v says
// the platform could not be asked.
func (s *Service) enqueueReverify(ctx context.Context, tx *store.Tx, v verdict, g *model.Integration) error {
	if !v.Retry || g == nil || g.Status != model.StatusPending {
		return nil
	}
	q, ok := s.Queue.(ReverifyQueue)
	if !ok {
		return nil // no job runner (a one-shot operator command)
	}
	return q.Reverify(ctx, tx, g.ID)
}

// ErrStillPending is Reverify's answer when the platform could not be asked
// again: the job is retried later.
var ErrStillPending = errors.New("identity: the platform still cannot verify the credentials")

// Reverify verifies again the credentials of an integration left PENDING
// because the platform could not be asked. It stores the verdict (VALID or
// INVALID, with its webhook) unless the integration changed meanwhile (a
// reconnect, a delete), and answers ErrStillPending when the platform still
// cannot be asked.
func (s *Service) Reverify(ctx context.Context, integrationID int64) error {
	g, err := s.DB.GetIntegrationByID(ctx, integrationID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if g.Status != model.StatusPending || g.Checkpoint != "" {
		return nil // answered, reconnected or waiting on a checkpoint since
	}
	id, err := s.DB.GetIdentity(ctx, g.WorkspaceID, g.IdentityUID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cred, err := s.OpenCredentials(g)
	if err != nil {
		return fmt.Errorf("identity: unable to open the credentials to verify: %w", err)
	}
	v := s.verify(ctx, id, g.Platform, g.Name, cred)
	if v.Status == model.StatusPending {
		return ErrStillPending
	}
	var ch Change
	err = s.DB.Tx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		var err error
		ch, err = s.transition(ctx, tx, g.IdentityID, g.Platform, CauseAuth, func(cur *model.Integration) error {
			if cur == nil || cur.UID != g.UID || cur.Status != model.StatusPending || cur.Checkpoint != "" ||
				cur.SecretKID != g.SecretKID || !bytes.Equal(cur.Secret, g.Secret) {
				return errChanged
			}
			n := *cur
			n.Status, n.Error, n.Level, n.Name, n.Permalink, n.Meta = v.Status, v.Error, v.Level, v.Name, v.Permalink, v.Meta
			if len(v.Cookies) > 0 {
				// The session the platform refreshed while verifying it.
				fresh := cred
				fresh.Cookies = v.Cookies
				plain, err := json.Marshal(fresh)
				if err != nil {
					return err
				}
				n.SecretKID, n.Secret = s.Keys.Seal(plain, []byte(n.UID))
			}
			if v.Status == model.StatusValid {
				now := time.Now()
				n.FirstConnectedAt = &now
			}
			_, err := store.UpsertIntegration(ctx, tx, n)
			return err
		})
		if err != nil {
			return err
		}
		return s.linksOnConnect(ctx, tx, g.IdentityID, g.Platform, ch, "")
	})
	if errors.Is(err, errChanged) {
		return nil
	}
	if err != nil {
		return err
	}
	s.notify(ctx, ch)
	return nil
}

var errChanged = errors.New("identity: the integration changed since it was read")
