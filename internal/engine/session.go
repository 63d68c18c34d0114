package engine

import (
	"context"
	"maps"
	"sync"

	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/platform"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Sessions that platforms refresh. Every driver call gets a SessionSink
// (platform.WithSessionSink); cookies a platform refreshed during the call
// (LinkedIn rotates JSESSIONID after some writes) are stored back on the
// integration, sealed, once the driver returns, so that the next call, on
// any worker, and a restart use the fresh session.

// sessionCapture keeps the last cookie set a driver reported.
type sessionCapture struct {
	mu      sync.Mutex
	cookies map[string]string
}

func (c *sessionCapture) sink(cookies map[string]string) {
	c.mu.Lock()
	c.cookies = cookies
	c.mu.Unlock()
}

func (c *sessionCapture) get() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cookies
}

// withSession returns ctx with a sink that captures refreshed cookies.
func withSession(ctx context.Context) (context.Context, *sessionCapture) {
	c := &sessionCapture{}
	return platform.WithSessionSink(ctx, c.sink), c
}

// keepSession stores the cookies a call on g refreshed, if any, and returns
// the integration as it now is. started are the cookies the call was made
// with. A failure to store them does not fail the call, whose effect on the
// platform is done: the session stored stays the one it started with.
func (e *Engine) keepSession(ctx context.Context, g model.Integration, started map[string]string, c *sessionCapture) model.Integration {
	fresh := c.get()
	if fresh == nil || maps.Equal(fresh, started) {
		return g
	}
	n, wrote, err := e.Identities.RefreshSession(context.WithoutCancel(ctx), g, started, fresh)
	if err != nil || !wrote {
		return g
	}
	e.sessions.Store(n.ID, n)
	return n
}

// current is g, or the row this process stored since g was read when it
// refreshed g's session: work that holds account rows for a while (an
// async chunk reads its candidates once) then goes on with the fresh
// session. A row updated later (a reconnect) wins over the refreshed one.
func (e *Engine) current(g model.Integration) model.Integration {
	if v, ok := e.sessions.Load(g.ID); ok {
		if n := v.(model.Integration); n.UpdatedAt.After(g.UpdatedAt) {
			return n
		}
	}
	return g
}

// userAgent is the browser user agent of an identity's calls: the user's
// own (auth_data.user_agent, in the credentials), else the one the identity
// keeps, chosen on first need (kept is what the caller read of it).
func (c *Connector) userAgent(ctx context.Context, identityID int64, authType, kept, own string) string {
	if own != "" {
		return own
	}
	if authType != platform.AuthCookies && authType != platform.AuthBasic {
		return "" // an API token: no browser session to pass for
	}
	if kept != "" {
		return kept
	}
	if ua, err := c.DB.IdentityUserAgent(ctx, identityID); err == nil && ua != "" {
		return ua
	}
	var ua string
	err := c.DB.Tx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		var err error
		ua, err = store.KeepIdentityUserAgent(ctx, tx, identityID, platform.PickUserAgent())
		return err
	})
	if err != nil {
		return "" // the driver picks one from the session; the next call keeps one
	}
	return ua
}
