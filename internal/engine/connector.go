package engine

import (
	"context"
	"net/http"

	"github.com/firstmate-oss/firstmate/internal/dataplane"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Connector reaches an identity's platform outside an action call: it
// verifies new credentials (Verify, verify.go) and logs in with a password
// (Login and Checkpoint, login.go), through the identity's own egress. It
// needs the data plane, the egress and the store (for the identity's user
// agent) but not the identities, the ledger or Smart Limits: identity.Service
// is built with a Connector (its Verify and Login), and the Engine, which
// embeds the same Connector, with identity.Service, so that neither has a
// field set after construction.
type Connector struct {
	DB *store.Store
	// Plane routes each platform family to its driver (sandbox, built-in,
	// remote executor or none) and says why an action is unavailable; nil
	// in one-shot commands that reach no platform.
	Plane *dataplane.Plane
	// Egress returns the HTTP client an identity's upstream traffic goes
	// through (its dedicated proxy) and that proxy's URL ("" when direct),
	// which drivers that cannot take a client (remote executors) receive
	// through platform.WithProxyURL. The URL holds the proxy's credentials:
	// it is never logged or returned. Nil identity: actions that need none.
	Egress func(ctx context.Context, id *model.Identity) (*http.Client, string, error)
}

// egress is the identity's client, and ctx carrying its proxy URL for
// drivers that cannot take a client.
func (c *Connector) egress(ctx context.Context, id *model.Identity) (context.Context, *http.Client, error) {
	hc, proxyURL, err := c.Egress(ctx, id)
	if err != nil {
		return ctx, nil, err
	}
	if proxyURL != "" {
		ctx = platform.WithProxyURL(ctx, proxyURL)
	}
	return ctx, hc, nil
}
