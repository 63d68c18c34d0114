// Package sim is the bundled platform simulator: a real HTTP upstream that
// stands in for LinkedIn, Sales Navigator, Recruiter Lite, Google Maps,
// TripAdvisor and TheFork. Its world is generated from a seed (the same URL
// always gives the same entity), writes are kept per sandbox account in an
// overlay that a data file makes durable, and it fails like a platform does:
// expired sessions, checkpoints, hidden restriction thresholds, 429s, 5xx and
// hangs. See ACCOUNTS.md for the sandbox accounts.
package sim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a simulator.
type Config struct {
	Seed     int64         // world seed; the same seed gives the same world
	DataFile string        // append-only log of writes; "" keeps them in memory only
	Latency  time.Duration // added to every request
	// SlowLatency is the extra delay of the slow sandbox account (default 1 s).
	SlowLatency time.Duration
	// HangFor bounds how long the hanging account holds a request (default 2 min).
	HangFor time.Duration
	// World overrides entity counts (zero values keep the defaults: 120,000 people).
	World WorldSize
	// Now is the clock for write timestamps and daily counters (default time.Now).
	Now func() time.Time
	// Wrap, for Run only, builds the handler served from the simulator's,
	// given the address it listens on (`firstmate sim --executor` serves
	// the executor protocol beside the platforms).
	Wrap func(baseURL string, sim http.Handler) (http.Handler, error)
}

// Server is one simulator instance.
type Server struct {
	cfg  Config
	w    *World
	ov   *overlay
	ix   *accountIndex
	mux  *http.ServeMux
	now  func() time.Time
	done chan struct{}
	once sync.Once

	mu    sync.Mutex
	rt    map[string]*runtimeState
	stats map[string]*AccountStats
	// open counts each account's requests being served.
	open   map[string]int64
	logins map[string]*loginState
	seq    int64

	scanCache map[string]int
	scanKeys  []string
}

type runtimeState struct {
	calls    int64
	day      string
	views    int
	invites  int
	messages int
	searches int
	restrict string // day the account got restricted
}

// AccountStats is what the simulator saw from one account (or "anonymous" for
// the public platforms).
type AccountStats struct {
	Calls        int64            `json:"calls"`
	LastSeen     time.Time        `json:"last_seen"`
	RemoteAddrs  map[string]int64 `json:"remote_addrs"`
	RemoteHosts  map[string]int64 `json:"remote_hosts"`
	ForwardedFor map[string]int64 `json:"forwarded_for"`
	Statuses     map[string]int64 `json:"statuses"`
	// MaxConcurrent is the most requests of this account the simulator
	// served at once (latency included): a person runs one call at a time,
	// so a client that respects that keeps it at 1.
	MaxConcurrent int64 `json:"max_concurrent"`
}

type loginState struct {
	acct   *Account
	polls  int
	burned bool
}

// New builds the world and opens the data file.
func New(cfg Config) (*Server, error) {
	if cfg.SlowLatency <= 0 {
		cfg.SlowLatency = defaultSlowLatency
	}
	if cfg.HangFor <= 0 {
		cfg.HangFor = defaultHangFor
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	w := newWorld(cfg.Seed, cfg.World)
	ov, err := openOverlay(cfg.DataFile)
	if err != nil {
		return nil, err
	}
	for p, h := range ov.guests { // guests written to before a restart keep their index
		w.guestPeople.force(p, h)
	}
	s := &Server{cfg: cfg, w: w, ov: ov, ix: newAccountIndex(cfg.Seed), now: cfg.Now,
		done: make(chan struct{}), rt: map[string]*runtimeState{}, stats: map[string]*AccountStats{}, logins: map[string]*loginState{}}
	s.routes()
	return s, nil
}

// commit records a write, with the handle of a guest target so that a
// restart finds the guest again.
func (s *Server) commit(ev event) error {
	ev.Handle = s.w.guestHandle(ev.P)
	return s.ov.commit(ev)
}

// Handler serves the simulated platforms.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// Close releases hanging requests and closes the data file.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.done) })
	return s.ov.close()
}

// Run serves the simulator on addr until ctx ends (the `firstmate sim` command).
func Run(ctx context.Context, addr string, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	h := s.Handler()
	if cfg.Wrap != nil {
		if h, err = cfg.Wrap("http://"+ln.Addr().String(), h); err != nil {
			ln.Close()
			return err
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		s.once.Do(func() { close(s.done) })
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// ---- plumbing -------------------------------------------------------------------

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (sw *statusWriter) WriteHeader(c int) {
	if sw.status == 0 {
		sw.status = c
	}
	sw.ResponseWriter.WriteHeader(c)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.status = 200
	}
	return sw.ResponseWriter.Write(b)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	who := "anonymous"
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		who = ""
	} else if c := sessionFromRequest(r); c != "" {
		if a := s.ix.cookie(c); a != nil {
			who = a.Name
		} else {
			who = "unknown-session"
		}
	}
	if who != "" {
		s.enter(who)
		defer s.leave(who)
	}
	if lat := s.latency(); lat > 0 && who != "" {
		if !s.sleep(r.Context(), lat) {
			return
		}
	}
	s.mux.ServeHTTP(sw, r)
	if who != "" {
		s.record(who, r, sw.status)
	}
}

// SetLatency changes the latency added to every request from now on
// (tests set up quickly, then measure at a platform's pace).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.cfg.Latency = d
	s.mu.Unlock()
}

func (s *Server) latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Latency
}

// Open is the number of requests of who being served now ("anonymous":
// the public platforms').
func (s *Server) Open(who string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open[who]
}

// enter counts a request of who being served, and the most at once.
func (s *Server) enter(who string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == nil {
		s.open = map[string]int64{}
	}
	s.open[who]++
	st := s.statsOf(who)
	st.MaxConcurrent = max(st.MaxConcurrent, s.open[who])
}

func (s *Server) leave(who string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[who]--; s.open[who] <= 0 {
		delete(s.open, who)
	}
}

// statsOf is who's stats, made on first use; the caller holds s.mu.
func (s *Server) statsOf(who string) *AccountStats {
	st := s.stats[who]
	if st == nil {
		st = &AccountStats{RemoteAddrs: map[string]int64{}, RemoteHosts: map[string]int64{}, ForwardedFor: map[string]int64{}, Statuses: map[string]int64{}}
		s.stats[who] = st
	}
	return st
}

func sessionFromRequest(r *http.Request) string {
	if c, err := r.Cookie("li_at"); err == nil {
		return strings.Trim(c.Value, `"`)
	}
	return ""
}

func (s *Server) record(who string, r *http.Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.statsOf(who)
	st.Calls++
	st.LastSeen = s.now().UTC()
	st.RemoteAddrs[r.RemoteAddr]++
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	st.RemoteHosts[host]++
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		st.ForwardedFor[xff]++
	}
	st.Statuses[strconv.Itoa(status)]++
}

// Stats returns a copy of what the simulator saw, per account.
func (s *Server) Stats() map[string]AccountStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]AccountStats, len(s.stats))
	for k, v := range s.stats {
		c := *v
		c.RemoteAddrs, c.RemoteHosts, c.ForwardedFor, c.Statuses = copyMap(v.RemoteAddrs), copyMap(v.RemoteHosts), copyMap(v.ForwardedFor), copyMap(v.Statuses)
		out[k] = c
	}
	return out
}

// Reset clears call counters, restrictions and stats (not the overlay).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rt = map[string]*runtimeState{}
	s.stats = map[string]*AccountStats{}
	s.logins = map[string]*loginState{}
}

func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// platform errors: {"status":..,"code":..,"message":..}
func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"status": status, "code": code, "message": msg})
}

func notFound(w http.ResponseWriter, what string) {
	writeErr(w, http.StatusNotFound, "NOT_FOUND", what+" not found")
}

// ---- sessions, behaviours, thresholds ----------------------------------------------

type session struct {
	acct *Account
	me   int
}

type scope int

const (
	scopeLinkedIn scope = iota
	scopeSales
	scopeRecruiter
)

func (s *Server) runtime(name string) *runtimeState {
	rt := s.rt[name]
	if rt == nil {
		rt = &runtimeState{}
		s.rt[name] = rt
	}
	day := s.now().UTC().Format("2006-01-02")
	if rt.day != day {
		rt.day, rt.views, rt.invites, rt.messages, rt.searches = day, 0, 0, 0, 0
	}
	return rt
}

// authed wraps a handler that needs a logged-in account.
func (s *Server) authed(sc scope, h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := sessionFromRequest(r)
		a := s.ix.cookie(c)
		if a == nil {
			writeErr(w, http.StatusUnauthorized, "INVALID_SESSION", "no valid li_at session cookie")
			return
		}
		s.mu.Lock()
		rt := s.runtime(a.Name)
		rt.calls++
		n := rt.calls
		restricted := rt.restrict == rt.day
		s.mu.Unlock()

		switch a.Behaviour {
		case "expiring":
			if n > expiringAfterCalls {
				writeErr(w, http.StatusUnauthorized, "SESSION_EXPIRED", "the session has expired, log in again")
				return
			}
		case "hang":
			s.sleep(r.Context(), s.cfg.HangFor)
			writeErr(w, http.StatusGatewayTimeout, "TIMEOUT", "upstream timed out")
			return
		case "slow":
			if !s.sleep(r.Context(), s.cfg.SlowLatency) {
				return
			}
		case "flaky":
			switch n % flakyCycle {
			case flakyCycle - 1:
				w.Header().Set("Retry-After", "1")
				writeErr(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "slow down")
				return
			case 0:
				writeErr(w, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "temporary failure, try again")
				return
			}
		}
		if restricted {
			writeErr(w, http.StatusForbidden, "ACCOUNT_RESTRICTED", "this account is temporarily restricted")
			return
		}
		switch sc {
		case scopeSales:
			if a.Level != LevelSalesNav {
				writeErr(w, http.StatusForbidden, "SALES_NAVIGATOR_REQUIRED", "this feature needs a Sales Navigator seat")
				return
			}
		case scopeRecruiter:
			if a.Level != LevelRecruiter {
				writeErr(w, http.StatusForbidden, "RECRUITER_REQUIRED", "this feature needs a Recruiter Lite seat")
				return
			}
		}
		h(w, r, session{acct: a, me: s.w.accountPerson(a.Name)})
	}
}

// consume counts one use of a hidden daily threshold. Going past it restricts
// the account for the rest of the day.
func (s *Server) consume(w http.ResponseWriter, ss session, what string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.runtime(ss.acct.Name)
	var n *int
	var limit int
	switch what {
	case "view":
		n, limit = &rt.views, ss.acct.ViewLimit
	case "invite":
		n, limit = &rt.invites, ss.acct.InviteLimit
	case "message":
		n, limit = &rt.messages, ss.acct.MessageLimit
	default:
		n, limit = &rt.searches, ss.acct.SearchLimit
	}
	*n++
	if limit > 0 && *n > limit {
		rt.restrict = rt.day
		writeErr(w, http.StatusForbidden, "ACCOUNT_RESTRICTED", "unusual activity detected: this account is temporarily restricted")
		return false
	}
	return true
}

func (s *Server) nextSeq() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.seq
}

// ---- paging -------------------------------------------------------------------------

type paging struct {
	Start int  `json:"start"`
	Count int  `json:"count"`
	Total *int `json:"total,omitempty"`
}

type listBody struct {
	Elements any            `json:"elements"`
	Paging   paging         `json:"paging"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

func intParam(r *http.Request, name string, def int) int {
	v, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil {
		return def
	}
	return v
}

// window reads start/count (or an opaque paginationToken) from the query.
func (s *Server) window(r *http.Request, def int) (start, count int) {
	count = intParam(r, "count", def)
	if count <= 0 || count > 100 {
		count = def
	}
	start = intParam(r, "start", 0)
	if t := r.URL.Query().Get("paginationToken"); t != "" {
		if v, ok := s.decodeToken(t); ok {
			start = v
		}
	}
	if start < 0 {
		start = 0
	}
	return start, count
}

// Tokens are opaque to clients: a base64 of the offset and a check value.
func (s *Server) encodeToken(start int) string {
	raw := fmt.Sprintf("%d.%s", start, base62(hashOf(s.cfg.Seed, uint64(start), 0x70c)%1e10, 6))
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func (s *Server) decodeToken(t string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return 0, false
	}
	parts := strings.SplitN(string(b), ".", 2)
	if len(parts) != 2 {
		return 0, false
	}
	v, err := strconv.Atoi(parts[0])
	if err != nil || v < 0 || s.encodeToken(v) != t {
		return 0, false
	}
	return v, true
}

// page writes one window of a list of known length.
func (s *Server) page(w http.ResponseWriter, r *http.Request, def, total int, at func(i int) any) {
	start, count := s.window(r, def)
	els := make([]any, 0, count)
	for i := start; i < total && i < start+count; i++ {
		els = append(els, at(i))
	}
	body := listBody{Elements: els, Paging: paging{Start: start, Count: len(els), Total: &total}}
	if start+len(els) < total {
		body.Metadata = map[string]any{"paginationToken": s.encodeToken(start + len(els))}
	}
	writeJSON(w, http.StatusOK, body)
}

// scan pages through a candidate sequence filtered by a predicate, for lists
// whose length is unknown without a full scan (searches). The token carries the
// scan position so that following pages do not rescan from the start.
func (s *Server) scan(w http.ResponseWriter, r *http.Request, def, candidates, maxResults int, cand func(k int) int, match func(v int) bool, render func(v int) any) {
	start, count := s.window(r, def)
	pos, skipped := 0, 0
	if t := r.URL.Query().Get("scanToken"); t != "" {
		if v, ok := s.decodeToken(t); ok {
			pos, skipped = v>>20, v&(1<<20-1)
		}
	} else if v, ok := s.scanCacheGet(r.URL.Path + "?" + canonicalQuery(r.URL.Query()) + "#" + strconv.Itoa(start)); ok {
		pos, skipped = v>>20, v&(1<<20-1)
	}
	els := make([]any, 0, count)
	for ; pos < candidates && len(els) < count && skipped+len(els) < maxResults; pos++ {
		v := cand(pos)
		if !match(v) {
			continue
		}
		if skipped < start {
			skipped++
			continue
		}
		els = append(els, render(v))
	}
	body := listBody{Elements: els, Paging: paging{Start: start, Count: len(els)}}
	s.scanCachePut(r.URL.Path+"?"+canonicalQuery(r.URL.Query())+"#"+strconv.Itoa(start+len(els)), pos<<20|(skipped+len(els)))
	if len(els) == count && pos < candidates && skipped+len(els) < maxResults {
		body.Metadata = map[string]any{"scanToken": s.encodeToken(pos<<20 | (skipped + len(els))), "nextStart": start + len(els)}
	}
	writeJSON(w, http.StatusOK, body)
}

// The scan cache remembers where the next page of a recent search starts, so a
// client paging by number (not by token) does not rescan from the beginning.
// It is bounded and only ever a shortcut: a miss rescans.
const scanCacheSize = 4096

func (s *Server) scanCacheGet(key string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.scanCache[key]
	return v, ok
}

func (s *Server) scanCachePut(key string, v int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scanCache == nil {
		s.scanCache = map[string]int{}
	}
	if _, ok := s.scanCache[key]; !ok {
		if len(s.scanKeys) >= scanCacheSize {
			delete(s.scanCache, s.scanKeys[0])
			s.scanKeys = s.scanKeys[1:]
		}
		s.scanKeys = append(s.scanKeys, key)
	}
	s.scanCache[key] = v
}

// ---- login and checkpoints ------------------------------------------------------------

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var body struct{ Username, Password string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErr(w, http.StatusBadRequest, "BAD_REQUEST", "expected {username, password}")
		return
	}
	a := s.ix.byUser[strings.ToLower(strings.TrimSpace(body.Username))]
	if a == nil || a.Behaviour == "wrong-password" || body.Password != a.Password {
		writeErr(w, http.StatusUnauthorized, "INVALID_CREDENTIALS", "wrong email or password")
		return
	}
	if a.Checkpoint == "" {
		writeJSON(w, http.StatusOK, map[string]any{"status": "AUTHENTICATED", "cookies": map[string]string{"li_at": sessionCookie(s.cfg.Seed, a.Name)}, "level": a.Level})
		return
	}
	state := fmt.Sprintf("cp_%s_%d", a.Name, s.nextSeq())
	s.mu.Lock()
	s.logins[state] = &loginState{acct: a}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"status": "CHALLENGE", "checkpoint": map[string]any{"type": a.Checkpoint, "state": state}})
}

func (s *Server) handleCheckpoint(w http.ResponseWriter, r *http.Request) {
	var body struct{ State, Code string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErr(w, http.StatusBadRequest, "BAD_REQUEST", "expected {state, code}")
		return
	}
	s.mu.Lock()
	ls := s.logins[body.State]
	var polls int
	if ls != nil && !ls.burned {
		ls.polls++
		polls = ls.polls
	}
	s.mu.Unlock()
	if ls == nil || ls.burned {
		writeErr(w, http.StatusUnauthorized, "CHALLENGE_EXPIRED", "this login attempt is no longer valid, log in again")
		return
	}
	a := ls.acct
	ok := false
	switch {
	case a.Behaviour == "captcha-fail":
	case a.Checkpoint == CheckpointInApp:
		if polls < inAppPollsNeeded {
			writeJSON(w, http.StatusOK, map[string]any{"status": "CHALLENGE", "checkpoint": map[string]any{"type": a.Checkpoint, "state": body.State, "polls": polls}})
			return
		}
		ok = true
	default:
		ok = strings.TrimSpace(body.Code) == a.Code
	}
	if !ok {
		if a.Checkpoint == CheckpointCaptcha {
			s.mu.Lock()
			ls.burned = true
			s.mu.Unlock()
			writeErr(w, http.StatusUnauthorized, "CHALLENGE_FAILED", "captcha verification failed, log in again")
			return
		}
		writeErr(w, http.StatusBadRequest, "WRONG_CODE", "the verification code is not valid")
		return
	}
	s.mu.Lock()
	delete(s.logins, body.State)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"status": "AUTHENTICATED", "cookies": map[string]string{"li_at": sessionCookie(s.cfg.Seed, a.Name)}, "level": a.Level})
}

// ---- introspection ----------------------------------------------------------------------

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	st := s.Stats()
	names := make([]string, 0, len(st))
	for k := range st {
		names = append(names, k)
	}
	sort.Strings(names)
	s.mu.Lock()
	rts := map[string]any{}
	for k, v := range s.rt {
		rts[k] = map[string]any{"calls": v.calls, "profile_visits_today": v.views, "invitations_today": v.invites, "messages_today": v.messages, "search_pages_today": v.searches, "restricted": v.restrict == v.day}
	}
	// open: requests being served now, every account's (benchmarks sample
	// it for the calls in flight over time).
	var open int64
	for _, n := range s.open {
		open += n
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"accounts": st, "order": names, "runtime": rts, "open": open})
}
