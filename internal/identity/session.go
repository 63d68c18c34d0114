package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"

	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// RefreshSession stores the session cookies a platform refreshed during a
// call on g (LinkedIn rotates JSESSIONID after some writes), sealed like any
// credentials, so that the next call, on any worker, and a restart use the
// fresh session. started are the cookies the call was made with: when the
// stored ones are no longer those (the account was reconnected, or another
// call refreshed them first), nothing is written, since the cookies given
// belong to a session that is no longer the integration's. It returns the
// integration as stored, and whether it wrote.
func (s *Service) RefreshSession(ctx context.Context, g model.Integration, started, cookies map[string]string) (model.Integration, bool, error) {
	if len(cookies) == 0 || maps.Equal(started, cookies) {
		return g, false, nil
	}
	var out model.Integration
	wrote := false
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		cur, err := store.LockIntegration(ctx, tx, g.IdentityID, g.Platform)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out = cur
		if cur.UID != g.UID {
			return nil
		}
		cred, err := s.OpenCredentials(cur)
		if err != nil {
			return err
		}
		if cred.AuthType != "COOKIES" || !maps.Equal(cred.Cookies, started) {
			return nil
		}
		cred.Cookies = maps.Clone(cookies)
		plain, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		kid, sealed := s.Keys.Seal(plain, []byte(cur.UID))
		if err := store.SetIntegrationSecret(ctx, tx, cur.ID, kid, sealed, store.Now()); err != nil {
			return err
		}
		out, err = store.IntegrationOf(ctx, tx, g.IdentityID, g.Platform)
		wrote = err == nil
		return err
	})
	if err != nil {
		return g, false, err
	}
	if !wrote && bytes.Equal(out.Secret, g.Secret) {
		out = g
	}
	return out, wrote, nil
}
