package identity

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
)

// Verified is what the platform says about a connected account.
type Verified struct {
	Level      string
	Name       string
	Permalink  string
	ExternalID string
	// Cookies is the session as the platform left it when it refreshed it
	// during the check (nil when it did not): stored in place of the
	// cookies given.
	Cookies map[string]string
}

// ErrUnverifiable means nothing can check this platform in this process (a
// one-shot command without platform drivers): the integration stays
// PENDING. A server whose routing serves no driver for the platform refuses
// instead (the integration becomes INVALID).
var ErrUnverifiable = errors.New("identity: no platform driver to verify this integration")

// Verifier asks the platform whether credentials work (a "me" call through
// the identity's own egress). The engine provides it.
type Verifier func(ctx context.Context, id model.Identity, platform string, cred Credentials) (Verified, error)

// verdict is what the platform said of new credentials, as stored.
type verdict struct {
	Status, Error, Level, Name, Permalink, Meta string
	// Cookies: the session the platform refreshed while verifying (nil: keep
	// the cookies given).
	Cookies map[string]string
	// Retry: the platform could not be asked (a timeout, a 5xx, a 429):
	// PENDING, to be verified again in the background.
	Retry bool
}

// verify asks the platform about new credentials: VALID with the detected
// level and account, or INVALID with the platform's error label. Errors
// that say nothing about the credentials (the platform or the proxy being
// down), and platforms no driver can check, leave them PENDING. It stores
// nothing: ConnectIntegration records the verdict with its webhook event.
func (s *Service) verify(ctx context.Context, id model.Identity, platform, accountName string, cred Credentials) verdict {
	out := verdict{Status: model.StatusPending, Level: integrationLevels[platform], Name: accountName, Meta: "{}"}
	if s.Verify == nil {
		return out
	}
	v, verr := s.Verify(ctx, id, platform, cred)
	if errors.Is(verr, ErrUnverifiable) {
		return out
	}
	out.Cookies = v.Cookies
	if verr == nil {
		if v.Level != "" {
			out.Level = v.Level
		}
		meta, _ := json.Marshal(map[string]string{"account_name": v.Name, "external_id": v.ExternalID})
		out.Status, out.Permalink, out.Meta = model.StatusValid, v.Permalink, string(meta)
		if accountName == "" {
			// The name given on connect wins; the platform's is the fallback.
			out.Name = v.Name
		}
		return out
	}
	ae, ok := apperr.As(verr)
	if !ok || ae.Status >= 500 || transientLabel(ae.Label) {
		out.Error, out.Retry = labelOf(verr), true
		if errors.Is(verr, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			out.Error = LabelVerifyTimeout
		}
		return out
	}
	out.Status, out.Error = model.StatusInvalid, ae.Label
	if ae.Scope == apperr.ScopeConfig {
		// The operator's to fix (no driver serves the platform here, the
		// server's key was refused): the label alone would not say what to
		// change, so meta carries the message and the setting.
		meta, _ := json.Marshal(map[string]string{"error_message": ae.Message, "setting": ae.Params["setting"]})
		out.Meta = string(meta)
	}
	return out
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
