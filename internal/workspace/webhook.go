package workspace

import (
	"errors"
	"net/url"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/webhook/send"
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
		err = send.ValidateURL(raw)
	}
	if err == nil {
		return nil
	}
	msg := "body/webhook_url must be a public http(s) URL"
	if errors.Is(err, send.ErrInvalidURL) {
		msg = "body/webhook_url must be a valid http(s) URL"
	}
	return apperr.BadInput("%s: %v", msg, err)
}

// checkLogoURL accepts an absolute http(s) URL with a host, or "" (none).
// The hosted connect page shows the logo to the workspace's end users:
// javascript:, data: and other schemes are refused when the URL is set, not
// only filtered when the page is drawn.
func checkLogoURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return apperr.BadInput("body/logo_url must be a valid URL").With("path", "body/logo_url")
	case u.Scheme != "http" && u.Scheme != "https":
		return apperr.BadInput("body/logo_url must be an http or https URL").With("path", "body/logo_url")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return apperr.BadInput("body/logo_url must be an absolute URL with a host").With("path", "body/logo_url")
	case u.User != nil:
		return apperr.BadInput("body/logo_url must not contain user information").With("path", "body/logo_url")
	}
	return nil
}
