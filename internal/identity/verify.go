package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Verified is what the platform says about a connected account.
type Verified struct {
	Level      string
	Name       string
	Permalink  string
	ExternalID string
}

// ErrUnverifiable means no driver can check this platform: the integration
// stays PENDING.
var ErrUnverifiable = errors.New("identity: no platform driver to verify this integration")

// Verifier asks the platform whether credentials work (a "me" call through
// the identity's own egress). The engine provides it.
type Verifier func(ctx context.Context, id model.Identity, platform string, cred Credentials) (Verified, error)

// verify validates a freshly stored integration and records the outcome:
// VALID with the detected level, or INVALID with the platform's error label.
// Errors that say nothing about the credentials (the platform or the proxy
// being down) leave it PENDING.
func (s *Service) verify(ctx context.Context, id model.Identity, g model.Integration, cred Credentials) (model.Integration, error) {
	if s.Verify == nil {
		return g, nil
	}
	v, verr := s.Verify(ctx, id, g.Platform, cred)
	if errors.Is(verr, ErrUnverifiable) {
		return g, nil
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if verr == nil {
			level := v.Level
			if level == "" {
				level = g.Level
			}
			meta, _ := json.Marshal(map[string]string{"account_name": v.Name, "external_id": v.ExternalID})
			return store.MarkIntegrationConnected(ctx, tx, g.ID, level, v.Name, v.Permalink, string(meta))
		}
		ae, ok := apperr.As(verr)
		if !ok || ae.Status >= 500 || transientLabel(ae.Label) {
			return store.SetIntegrationStatus(ctx, tx, g.ID, model.StatusPending, "", labelOf(verr))
		}
		return store.SetIntegrationStatus(ctx, tx, g.ID, model.StatusInvalid, "", ae.Label)
	})
	if err != nil {
		return g, err
	}
	out, err := store.GetIntegration(ctx, s.DB.Read, g.WorkspaceID, g.IdentityID, g.Platform)
	if err == nil && s.OnStatus != nil && out.Status != g.Status {
		s.OnStatus(ctx, out, g.Status)
	}
	return out, err
}

func transientLabel(label string) bool {
	switch label {
	case "STATUS_429", "LK_524", "LK_ERROR", "GENERIC_ERROR", "PROXY_ERROR":
		return true
	}
	return false
}

func labelOf(err error) string {
	if ae, ok := apperr.As(err); ok {
		return ae.Label
	}
	return "INTEGRATION_ERROR"
}
