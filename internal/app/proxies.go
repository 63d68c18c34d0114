package app

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/proxy"
)

// openProxies loads the egress proxy pool and mirrors it into the database
// (assigning proxies to identities that have none). Without a pool,
// identities' traffic goes out directly, and the server says so.
func (a *App) openProxies(ctx context.Context) error {
	pool, err := proxy.Load(a.Cfg.ProxyPool, a.Cfg.ProxyPoolFile)
	if err != nil {
		return err
	}
	a.Proxies = &proxy.Service{DB: a.DB, Pool: pool, Log: a.Log, DirectIdle: a.Cfg.Jobs.Inflight}
	if !a.Proxies.Enabled() {
		if !a.Cfg.Operator {
			a.Log.Warn(proxy.DirectWarning)
		}
		return nil
	}
	return a.Proxies.Sync(ctx)
}
