package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// LabelPoolExhausted is the error label of an identity that cannot get a
// proxy because every configured one is taken (or unhealthy).
const LabelPoolExhausted = "PROXY_POOL_EXHAUSTED"

// Identity proxy statuses, as shown in the identity object.
const (
	StatusAssigned   = "ASSIGNED"
	StatusUnassigned = "UNASSIGNED"
)

// DefaultUnhealthyCooldown is how long a proxy marked unhealthy stays out of
// rotation. After it, the proxy is offered again, but only when no healthy
// proxy is free: an operator may have fixed it, and a proxy that is still
// dead is refreshed away again.
const DefaultUnhealthyCooldown = time.Hour

// DirectWarning is logged at start-up when no pool is configured.
const DirectWarning = "no proxy pool configured: identities' traffic goes out directly"

// Service assigns proxies to identities and hands out their HTTP clients.
// A Service with an empty pool is "direct mode": no assignments, one shared
// client without a proxy, and identities show "proxy": null.
type Service struct {
	DB   *store.Store
	Pool *Pool
	Log  *slog.Logger
	// Timeout bounds one upstream exchange (default 45 s).
	Timeout time.Duration
	// UnhealthyCooldown overrides DefaultUnhealthyCooldown.
	UnhealthyCooldown time.Duration
	// DirectIdle is how many idle connections the direct client keeps per
	// upstream host (<= 0: DefaultDirectIdle). Set it to the node's
	// in-flight budget: a slow platform's calls are many at once, and a
	// connection that cannot be kept idle when its call ends is closed and
	// redialled for the next one. At 1,000 calls a second that is 1,000
	// TIME_WAIT sockets a second, which run a host out of ephemeral ports
	// (28,000 on Linux) within half a minute and slow every dial.
	DirectIdle int
	Now        func() time.Time

	mu      sync.Mutex
	clients map[string]*http.Client // by fingerprint: one transport, one connection pool per proxy
	direct  *http.Client
}

// Enabled reports whether a pool is configured.
func (s *Service) Enabled() bool { return s != nil && s.Pool.Len() > 0 }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 45 * time.Second
}

func (s *Service) cooldown() time.Duration {
	if s.UnhealthyCooldown > 0 {
		return s.UnhealthyCooldown
	}
	return DefaultUnhealthyCooldown
}

// Sync mirrors the configured pool into the database: configured proxies
// become active (new ones are added), the others inactive, and identities
// holding an inactive proxy lose it. Then every identity without a proxy
// gets one while free proxies last (an install that had no pool, or whose
// pool grew). Without a pool it changes nothing: assignments stay dormant
// and come back if the same pool is configured again.
//
// Every node must be given the same pool: the last node to start wins.
func (s *Service) Sync(ctx context.Context) error {
	if !s.Enabled() {
		return nil
	}
	var released int64
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := store.DeactivateProxies(ctx, tx); err != nil {
			return err
		}
		for _, e := range s.Pool.entries {
			if _, err := store.UpsertProxy(ctx, tx, e.Fingerprint, e.Country, e.endpoint()); err != nil {
				return err
			}
		}
		var err error
		released, err = store.ReleaseInactiveProxies(ctx, tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("proxy pool: sync: %w", err)
	}
	if released > 0 {
		s.log().Warn("proxies removed from the pool: their identities move to other proxies", "identities", released)
	}
	ids, err := s.DB.IdentitiesWithoutProxy(ctx)
	if err != nil {
		return fmt.Errorf("proxy pool: %w", err)
	}
	unassigned := 0
	for i, id := range ids {
		err := s.DB.Tx(ctx, func(tx *store.Tx) error {
			_, err := s.assign(ctx, tx, id.ID, id.Timezone, 0, 0)
			return err
		})
		if apperr.Is(err, LabelPoolExhausted) {
			// No proxy is free for anyone: the rest stay without.
			unassigned = len(ids) - i
			break
		}
		if err != nil {
			return fmt.Errorf("proxy pool: assign: %w", err)
		}
	}
	countries := s.Pool.Countries()
	attrs := []any{"proxies", s.Pool.Len()}
	for _, c := range sortedCountries(countries) {
		attrs = append(attrs, "country_"+c, countries[c])
	}
	s.log().Info("proxy pool configured: each identity's traffic goes out through its own proxy", attrs...)
	if unassigned > 0 {
		s.log().Warn("proxy pool exhausted: some identities have no proxy and cannot reach the platforms until proxies are added",
			"identities_without_proxy", unassigned, "proxies", s.Pool.Len())
	}
	return nil
}

// candidate is a free proxy with its rank for one identity.
type candidate struct {
	p         store.Proxy
	unhealthy bool
	match     Match
	dist      int
}

// assign gives an identity a proxy inside tx, unless it has one. The best
// free proxy wins: healthy before cooled-down unhealthy, then same country,
// same region, any (see Match), then the nearest UTC offset, then prefer
// (the identity's previous proxy, so a tie keeps its IP), then the oldest.
// exclude is never picked. Concurrent assignments are decided by the UNIQUE
// constraints of proxy_assignments: a loser tries the next candidate.
func (s *Service) assign(ctx context.Context, tx *store.Tx, identityID int64, zone string, exclude, prefer int64) (store.Proxy, error) {
	if p, err := store.ProxyOf(ctx, tx, identityID); err == nil {
		return p, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Proxy{}, err
	}
	free, err := store.FreeProxies(ctx, tx)
	if err != nil {
		return store.Proxy{}, err
	}
	now := s.now()
	cutoff := store.Millis(now.Add(-s.cooldown()))
	var cands []candidate
	for _, p := range free {
		if p.ID == exclude {
			continue
		}
		if _, ok := s.Pool.lookup(p.Fingerprint); !ok {
			continue // another node's configuration: this node could not use it
		}
		c := candidate{p: p, unhealthy: !p.Healthy}
		if c.unhealthy && p.UnhealthyAt.Valid && p.UnhealthyAt.Int64 > cutoff {
			continue
		}
		c.match, c.dist = fit(zone, p.Country, now)
		cands = append(cands, c)
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		switch {
		case a.unhealthy != b.unhealthy:
			return !a.unhealthy
		case a.match != b.match:
			return a.match < b.match
		case a.dist != b.dist:
			return a.dist < b.dist
		case (a.p.ID == prefer) != (b.p.ID == prefer):
			return a.p.ID == prefer
		}
		return a.p.ID < b.p.ID
	})
	for _, c := range cands {
		ok, err := store.ClaimProxy(ctx, tx, c.p.ID, identityID)
		if err != nil {
			return store.Proxy{}, err
		}
		if !ok {
			// Taken meanwhile, or this identity got one from a concurrent call.
			if p, err := store.ProxyOf(ctx, tx, identityID); err == nil {
				return p, nil
			}
			continue
		}
		if c.unhealthy {
			// Back in service after its cooldown.
			if err := store.SetProxyHealth(ctx, tx, c.p.ID, true, ""); err != nil {
				return store.Proxy{}, err
			}
		}
		return store.ProxyOf(ctx, tx, identityID)
	}
	country := CountryOf(zone)
	e := apperr.Config(503, LabelPoolExhausted,
		"the proxy pool has no free proxy for this identity: all %d configured proxies are assigned to other identities or unhealthy; the operator must add proxies (FIRSTMATE_PROXY_POOL or FIRSTMATE_PROXY_POOL_FILE) or delete identities",
		s.Pool.Len()).With("pool_size", strconv.Itoa(s.Pool.Len()))
	if country != "" {
		e = e.With("country", country)
	}
	return store.Proxy{}, e
}

// Assign gives a new identity its proxy, in the transaction that creates
// it. An exhausted pool fails the creation (503 PROXY_POOL_EXHAUSTED, scope
// config). No-op in direct mode.
func (s *Service) Assign(ctx context.Context, tx *store.Tx, identityID int64, zone string) error {
	if !s.Enabled() {
		return nil
	}
	_, err := s.assign(ctx, tx, identityID, zone, 0, 0)
	return err
}

// Reassign follows a time zone change. An identity whose zone moves to
// another country gets the best proxy for the new zone (it keeps its
// current one when nothing fits better). A move within one country keeps
// the proxy, and so the account's IP. An identity without a proxy tries to
// get one; an exhausted pool leaves it without (the update itself stands).
func (s *Service) Reassign(ctx context.Context, tx *store.Tx, identityID int64, oldZone, newZone string) error {
	if !s.Enabled() || oldZone == newZone {
		return nil
	}
	var prefer int64
	cur, err := store.ProxyOf(ctx, tx, identityID)
	switch {
	case err == nil:
		newCountry := CountryOf(newZone)
		if cur.Country == newCountry || CountryOf(oldZone) == newCountry {
			return nil
		}
		if err := store.ReleaseProxy(ctx, tx, identityID); err != nil {
			return err
		}
		prefer = cur.ID
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	_, err = s.assign(ctx, tx, identityID, newZone, 0, prefer)
	if apperr.Is(err, LabelPoolExhausted) {
		return nil
	}
	return err
}

// Refresh moves an identity off its proxy: the old one is marked unhealthy
// (out of rotation for the cooldown) and the best other free proxy is
// assigned. When no other proxy is free it fails with PROXY_POOL_EXHAUSTED
// and, the transaction being rolled back, changes nothing.
func (s *Service) Refresh(ctx context.Context, tx *store.Tx, identityID int64, zone string) error {
	if !s.Enabled() {
		return apperr.Config(409, "CONFLICT", "no proxy pool is configured: this identity's traffic goes out directly, there is no proxy to refresh")
	}
	var exclude int64
	cur, err := store.ProxyOf(ctx, tx, identityID)
	switch {
	case err == nil:
		exclude = cur.ID
		if err := store.SetProxyHealth(ctx, tx, cur.ID, false, "refreshed away from by an identity"); err != nil {
			return err
		}
		if err := store.ReleaseProxy(ctx, tx, identityID); err != nil {
			return err
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	_, err = s.assign(ctx, tx, identityID, zone, exclude, 0)
	return err
}

// Describe returns what clients see of identities' proxies: nil for all in
// direct mode (the identity object shows "proxy": null).
func (s *Service) Describe(ctx context.Context, q store.Querier, identityIDs []int64) (map[int64]*model.IdentityProxy, error) {
	if !s.Enabled() {
		return nil, nil
	}
	ps, err := store.ProxiesOf(ctx, q, identityIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*model.IdentityProxy, len(identityIDs))
	for _, id := range identityIDs {
		p, ok := ps[id]
		if !ok {
			out[id] = &model.IdentityProxy{Status: StatusUnassigned}
			continue
		}
		out[id] = &model.IdentityProxy{Country: p.Country, Status: StatusAssigned, AssignedAt: store.NullTime(p.AssignedAt)}
	}
	return out, nil
}

// Client returns the HTTP client an identity's upstream traffic goes
// through: its proxy's. An identity without one (created before the pool was
// configured, or whose proxy left the pool) gets one now. Calls without an
// identity (public platforms: Google Maps, TripAdvisor, TheFork) and direct
// mode use the direct client.
func (s *Service) Client(ctx context.Context, id *model.Identity) (*http.Client, error) {
	hc, _, err := s.Egress(ctx, id)
	return hc, err
}

// Egress is Client with the proxy's URL, credentials included ("" for
// direct egress), for drivers that cannot be handed a client: a remote
// executor receives the URL and sends the identity's traffic through it.
// The URL is a secret: never log it, store it or return it to a client.
func (s *Service) Egress(ctx context.Context, id *model.Identity) (*http.Client, string, error) {
	if id == nil || !s.Enabled() {
		return s.directClient(), "", nil
	}
	p, err := s.DB.ProxyOf(ctx, id.ID)
	if errors.Is(err, store.ErrNotFound) {
		err = s.DB.Tx(ctx, func(tx *store.Tx) error {
			var err error
			p, err = s.assign(ctx, tx, id.ID, id.Timezone, 0, 0)
			return err
		})
	}
	if err != nil {
		return nil, "", err
	}
	e, ok := s.Pool.lookup(p.Fingerprint)
	if !ok {
		return nil, "", apperr.Config(424, "PROXY_ERROR",
			"the identity's proxy %s is not in this node's proxy pool configuration; every node must be given the same pool", p.Endpoint)
	}
	return s.clientFor(e), e.URL.String(), nil
}

// clientFor returns the proxy's client, created once: its transport keeps
// the connections to the proxy alive across calls.
func (s *Service) clientFor(e *Entry) *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clients[e.Fingerprint]; c != nil {
		return c
	}
	if s.clients == nil {
		s.clients = map[string]*http.Client{}
	}
	c := &http.Client{Timeout: s.timeout(), Transport: newTransport(http.ProxyURL(e.URL), 16)}
	s.clients[e.Fingerprint] = c
	return c
}

func (s *Service) directClient() *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.direct == nil {
		idle := s.DirectIdle
		if idle <= 0 {
			idle = DefaultDirectIdle
		}
		s.direct = &http.Client{Timeout: s.timeout(), Transport: newTransport(nil, idle)}
	}
	return s.direct
}

// DefaultDirectIdle is the direct client's idle connections per host when
// Service.DirectIdle is not set.
const DefaultDirectIdle = 64

func newTransport(proxy func(*http.Request) (*url.URL, error), perHost int) *http.Transport {
	return &http.Transport{
		Proxy:                 proxy,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * perHost,
		MaxIdleConnsPerHost:   perHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Listed is one proxy as operators see it: never its credentials.
type Listed struct {
	ID           int64      `json:"id"`
	Country      string     `json:"country"`
	Proxy        string     `json:"proxy"` // scheme://***@host:port
	Configured   bool       `json:"configured"`
	Healthy      bool       `json:"healthy"`
	UnhealthyAt  *time.Time `json:"unhealthy_at"`
	LastError    string     `json:"last_error"`
	IdentityUID  string     `json:"identity_uid"`
	WorkspaceUID string     `json:"workspace_uid"`
	Managed      bool       `json:"managed"`
	AssignedAt   *time.Time `json:"assigned_at"`
}

// List returns every proxy the database knows, configured ones first.
func (s *Service) List(ctx context.Context) ([]Listed, error) {
	ps, err := s.DB.ListProxies(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Listed, 0, len(ps))
	for _, p := range ps {
		// Configured: in this process's pool (the database may remember
		// proxies of an earlier configuration).
		l := Listed{ID: p.ID, Country: p.Country, Proxy: p.Endpoint, Healthy: p.Healthy,
			UnhealthyAt: store.NullTime(p.UnhealthyAt), LastError: p.LastError, IdentityUID: p.IdentityUID,
			WorkspaceUID: p.WorkspaceUID, Managed: p.Managed, AssignedAt: store.NullTime(p.AssignedAt)}
		if e, ok := s.Pool.lookup(p.Fingerprint); ok {
			l.Proxy, l.Configured = e.Redacted(), true
		}
		out = append(out, l)
	}
	return out, nil
}
