package workspace

import (
	"errors"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/delivery"
)

// checkWebhookURL validates the integration webhook URL as callback URLs
// are: absolute http(s), and under the operator's SSRF policy no literal
// loopback, private, link-local or metadata address (names are checked
// again when the sender dials, so DNS rebinding does not get around it).
// The empty string clears the URL.
func (s *Service) checkWebhookURL(raw string) error {
	if raw == "" {
		return nil
	}
	var err error
	if s.WebhookPolicy != nil {
		err = s.WebhookPolicy.ValidateURL(raw)
	} else {
		err = delivery.ValidateURL(raw)
	}
	if err == nil {
		return nil
	}
	msg := "body/webhook_url must be a public http(s) URL"
	if errors.Is(err, delivery.ErrInvalidURL) {
		msg = "body/webhook_url must be a valid http(s) URL"
	}
	return apperr.BadInput("%s: %v", msg, err)
}
