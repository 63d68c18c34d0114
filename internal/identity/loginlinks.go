package identity

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Login links are revoked, so that a link handed out earlier (and perhaps
// forwarded, or left in an inbox) stops working:
//   - when a new link is generated (GenerateLoginLinks);
//   - when the identity's LinkedIn account gets connected, by the API, the
//     hosted page or a rental (the link the page was opened with is used
//     up instead, see Connect.ViaLink);
//   - on demand (RevokeLoginLinks, DELETE /identities/{uid}/login-links).
//
// A revoked link shows the hosted page's 410, as a used one does.

// RevokeLoginLinks revokes every link of the identity that could still be
// used, and returns how many there were.
func (s *Service) RevokeLoginLinks(ctx context.Context, workspaceID int64, uid string) (int64, error) {
	var n int64
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		id, err := s.lookup(ctx, tx, workspaceID, uid)
		if err != nil {
			return err
		}
		n, err = store.RevokeLoginLinks(ctx, tx, id.ID, "")
		return err
	})
	return n, err
}

// linksOnConnect runs in the transaction of an authentication transition:
// once a LinkedIn-family account is connected (VALID), the link it came
// through (viaLink, a token hash; "" when none) is used up and the
// identity's other links are revoked.
func (s *Service) linksOnConnect(ctx context.Context, tx *store.Tx, identityID int64, platform string, ch Change, viaLink string) error {
	if ch.After == nil || ch.After.Status != model.StatusValid || !linkedinFamily(platform) {
		return nil
	}
	if viaLink != "" {
		if _, err := store.UseLoginLink(ctx, tx, viaLink); err != nil {
			return err
		}
	}
	_, err := store.RevokeLoginLinks(ctx, tx, identityID, viaLink)
	return err
}
