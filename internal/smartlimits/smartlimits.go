// Package smartlimits implements Smart Limits: per-identity counters over sliding
// windows that keep platform accounts below the thresholds at which a
// platform restricts them. Consumption is recorded as events and counted
// over 24-hour, 7-day and 30-day windows. Checks run against a copy of an
// identity's recent events held in memory, and a check and its record
// commit only if no other node changed the identity's events since the copy
// was made (reserve.go), so concurrent calls and several nodes never
// overshoot. Besides the counted keys, working hours and a random gap
// between outreach actions say when an account may act (protections.go);
// the gap is recorded and decided in the same reservation.
package smartlimits

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/store"
)

// Limit keys.
const (
	ProfileVisits      = "profile_visits"
	ConnectionRequests = "connection_requests"
	Messages           = "messages"
	InMails            = "inmails"
	ProfileEnrichments = "profile_enrichments"
	SearchPages        = "search_pages"
	// SearchResults counts the results search pages return (the count is
	// known after the call: see Need.Estimate and Limiter.Settle).
	SearchResults      = "search_results"
	CompanyEnrichments = "company_enrichments"
	ContactInfo        = "contact_info"
)

// Keys lists every counted limit key (WorkingHours and OutreachGap are not
// counted: protections.go).
var Keys = []string{ProfileVisits, ConnectionRequests, Messages, InMails, ProfileEnrichments, SearchPages,
	SearchResults, CompanyEnrichments, ContactInfo}

// Window is one bound: at most Max units per Period.
type Window struct {
	Max    int
	Period time.Duration
}

const (
	Day   = 24 * time.Hour
	Week  = 7 * Day
	Month = 30 * Day
)

// WindowName is how the API names a period.
func WindowName(d time.Duration) string {
	switch d {
	case Day:
		return "24h"
	case Week:
		return "7d"
	case Month:
		return "30d"
	}
	return d.String()
}

func windowByName(name string) (time.Duration, bool) {
	switch name {
	case "24h", "day":
		return Day, true
	case "7d", "week":
		return Week, true
	case "30d", "month":
		return Month, true
	}
	return 0, false
}

// Defaults returns the default windows per key for an account level
// (contract §8).
func Defaults(level string) map[string][]Window {
	sn := level == "Sales Navigator" || level == "Recruiter Lite"
	pick := func(classic, salesNav int) int {
		if sn {
			return salesNav
		}
		return classic
	}
	inmail := 5
	switch {
	case sn:
		inmail = 50
	case level == "Premium":
		inmail = 15
	}
	return map[string][]Window{
		ProfileVisits:      {{pick(80, 500), Day}},
		ConnectionRequests: {{pick(25, 30), Day}, {pick(100, 150), Week}},
		Messages:           {{pick(150, 250), Day}},
		InMails:            {{inmail, Month}},
		ProfileEnrichments: {{pick(1400, 2100), Day}},
		SearchPages:        {{pick(450, 950), Day}},
		SearchResults:      {{pick(1000, 2500), Day}},
		CompanyEnrichments: {{10000, Day}},
		ContactInfo:        {{250, Day}},
	}
}

// defaults caches Defaults per level for Effective, which only reads them.
var defaults sync.Map // level -> map[string][]Window

func defaultsFor(level string) map[string][]Window {
	if d, ok := defaults.Load(level); ok {
		return d.(map[string][]Window)
	}
	d := Defaults(level)
	defaults.Store(level, d)
	return d
}

// Overrides are one level (the workspace's or an identity's) of changes to
// the defaults. The JSON form maps a counted key to a number (its first
// window's maximum) or to an object of its window names ("24h", "7d",
// "30d") to numbers, and "working_hours" and "outreach_gap" to their
// settings (protections.go).
type Overrides struct {
	// Max maps a key to its overridden windows' maxima by period (0: the
	// key's first window).
	Max   map[string]map[time.Duration]int
	hours hoursOverride
	gap   *Gap
}

// ParseOverrides reads the JSON form; it rejects unknown keys, windows a
// key does not have, and malformed settings, naming what is wrong.
func ParseOverrides(raw string) (Overrides, error) {
	out := Overrides{Max: map[string]map[time.Duration]int{}}
	if raw == "" || raw == "{}" {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil || m == nil {
		return Overrides{}, fmt.Errorf("smart limit overrides must be an object")
	}
	names := make([]string, 0, len(m))
	for key := range m {
		names = append(names, key)
	}
	sort.Strings(names) // the same input always names the same fault
	windows := Defaults("")
	for _, key := range names {
		v := m[key]
		switch key {
		case WorkingHours:
			h, err := parseHours(v)
			if err != nil {
				return Overrides{}, err
			}
			out.hours = h
			continue
		case OutreachGap:
			g, err := parseGap(v)
			if err != nil {
				return Overrides{}, err
			}
			out.gap = g
			continue
		}
		ws, known := windows[key]
		if !known {
			return Overrides{}, fmt.Errorf("unknown smart limit key %q (use %s, %s or %s)", key, strings.Join(Keys, ", "),
				WorkingHours, OutreachGap)
		}
		var n *float64
		if err := json.Unmarshal(v, &n); err == nil && n != nil {
			if *n < 0 || *n != math.Trunc(*n) || *n > 1e9 {
				return Overrides{}, fmt.Errorf("smart limit %s must be a non-negative integer", key)
			}
			out.Max[key] = map[time.Duration]int{0: int(*n)} // 0: the key's first window
			continue
		}
		var w map[string]*float64
		if err := json.Unmarshal(v, &w); err != nil || w == nil {
			return Overrides{}, fmt.Errorf("smart limit %s must be a number or an object of windows", key)
		}
		has := make([]string, len(ws))
		for i, x := range ws {
			has[i] = WindowName(x.Period)
		}
		wnames := make([]string, 0, len(w))
		for name := range w {
			wnames = append(wnames, name)
		}
		sort.Strings(wnames)
		out.Max[key] = map[time.Duration]int{}
		for _, name := range wnames {
			n := w[name]
			d, ok := windowByName(name)
			if !ok {
				return Overrides{}, fmt.Errorf("smart limit %s: unknown window %q (use 24h, 7d or 30d)", key, name)
			}
			if !slices.ContainsFunc(ws, func(x Window) bool { return x.Period == d }) {
				return Overrides{}, fmt.Errorf("smart limit %s has no %s window (its windows: %s)", key, name, strings.Join(has, ", "))
			}
			if n == nil || *n < 0 || *n != math.Trunc(*n) || *n > 1e9 {
				return Overrides{}, fmt.Errorf("smart limit %s must be a non-negative integer", key)
			}
			out.Max[key][d] = int(*n)
		}
	}
	return out, nil
}

// parsed caches ParseOverrides by raw JSON: every call that consumes limits
// needs its workspace's and identity's overrides, and they rarely change.
var parsed struct {
	sync.Mutex
	m map[string]Overrides
}

// ParseOverridesShared is ParseOverrides for callers that only read the
// result: the same raw JSON gives the same shared Overrides. Invalid JSON
// gives no overrides, as stored overrides were validated when set.
func ParseOverridesShared(raw string) Overrides {
	parsed.Lock()
	o, ok := parsed.m[raw]
	parsed.Unlock()
	if ok {
		return o
	}
	o, err := ParseOverrides(raw)
	if err != nil {
		o = Overrides{}
	}
	if o.Max == nil {
		o.Max = map[string]map[time.Duration]int{}
	}
	parsed.Lock()
	if parsed.m == nil || len(parsed.m) >= 1000 {
		parsed.m = map[string]Overrides{}
	}
	parsed.m[raw] = o
	parsed.Unlock()
	return o
}

// Account is what limits depend on for one identity.
type Account struct {
	IdentityID int64
	Level      string
	// FirstConnected starts the 5-day ramp-up; nil means no ramp (e.g. a
	// managed pool account already warmed up).
	FirstConnected *time.Time
	// Location is the identity's time zone, which its working hours follow
	// (nil: UTC).
	Location  *time.Location
	Workspace Overrides
	Identity  Overrides
}

// Effective returns the windows for key after overrides and ramp-up.
func (a Account) Effective(key string, now time.Time) []Window {
	base := defaultsFor(a.Level)[key]
	out := make([]Window, len(base))
	copy(out, base)
	for _, ov := range []Overrides{a.Workspace, a.Identity} {
		for d, n := range ov.Max[key] {
			for i := range out {
				if (d == 0 && i == 0) || out[i].Period == d {
					out[i].Max = n
				}
			}
		}
	}
	if a.FirstConnected != nil {
		// Day 1 runs at 1/5 of capacity, day 5 at full capacity, rounded up:
		// a small maximum still allows one a day from day 1 (only a maximum
		// of 0, a key turned off, stays 0).
		day := int(now.Sub(*a.FirstConnected)/Day) + 1
		if day < 5 {
			for i := range out {
				out[i].Max = (out[i].Max*max(day, 1) + 4) / 5
			}
		}
	}
	return out
}

// Need is a consumption: N units of Key.
type Need struct {
	Key string
	N   int
	// Estimate: N is the most the call can use (a page of search results),
	// and Settle records what it used once it is known. Consume reserves N,
	// or the key's smallest maximum when that is less, so that a maximum
	// below one page still lets a page through.
	Estimate bool
}

// Call is one upstream call as Smart Limits see it.
type Call struct {
	// Keys are the action's counted keys, one unit each per call.
	Keys []string
	// Outreach: the other side notices the call. It is spaced from the
	// account's other outreach by the outreach gap, and held to working
	// hours.
	Outreach bool
	// Live: an explicit, immediate call (live mode). Working hours hold back
	// async and scheduled work only; the outreach gap applies to both.
	Live bool
	// SearchPage is, for a page of search results, the most results one page
	// returns (counted against SearchResults); 0 for other calls.
	SearchPage int
	// Continued: a later page, fetched by async work, of an action whose
	// first page went. Neither working hours nor the outreach gap hold it
	// back: the pages of one action (accepting a list of invitations) are
	// one action, and stopping it half-way would lose what its first pages
	// did.
	Continued bool
}

// Needs is what the call asks of the limiter.
func (a Account) Needs(c Call) []Need {
	out := make([]Need, 0, len(c.Keys)+3)
	for _, k := range c.Keys {
		out = append(out, Need{Key: k, N: 1})
	}
	if c.SearchPage > 0 {
		out = append(out, Need{Key: SearchResults, N: c.SearchPage, Estimate: true})
	}
	if c.Continued {
		return out
	}
	if c.Outreach && a.Gap().Max > 0 {
		out = append(out, Need{Key: OutreachGap, N: 1})
	}
	if !c.Live && a.Hours().holdsBack(c.Outreach) {
		out = append(out, Need{Key: WorkingHours, N: 1})
	}
	return out
}

// ReportKeys are the keys GET .../limits reports for the call's action:
// every key and protection that can hold back its async runs.
func (a Account) ReportKeys(c Call) []string {
	c.Live, c.Continued = false, false
	var out []string
	for _, n := range a.Needs(c) {
		out = append(out, n.Key)
	}
	return out
}

// Refused explains a refusal: capacity frees up at AvailableAt.
type Refused struct {
	Key         string
	AvailableAt time.Time
}

func (r *Refused) Error() string {
	return fmt.Sprintf("smart limit %s reached until %s", r.Key, r.AvailableAt.Format(time.RFC3339))
}

// Status is one window's state, as GET .../limits reports it. The
// protections report in the same shape: max_limit 1, and remaining 0 while
// they hold calls back, until available_at; their window describes their
// setting ("mon,tue,wed,thu,fri 08:00-20:00 Europe/Paris", "30s-120s").
type Status struct {
	Key         string     `json:"key"`
	MaxLimit    int        `json:"max_limit"`
	Consumed    int        `json:"consumed"`
	Remaining   int        `json:"remaining"`
	AvailableAt *time.Time `json:"available_at"`
	Window      string     `json:"window"`
}

// Report returns the state of every window of the given keys.
func (l *Limiter) Report(ctx context.Context, a Account, keys []string, now time.Time) ([]Status, error) {
	var out []Status
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	for _, key := range sorted {
		switch key {
		case WorkingHours:
			h := a.Hours()
			st := Status{Key: key, MaxLimit: 1, Remaining: 1, Window: h.String(a.location())}
			if open, next := h.At(now, a.location()); h.Enabled && !open {
				st.Consumed, st.Remaining, st.AvailableAt = 1, 0, &next
			}
			out = append(out, st)
			continue
		case OutreachGap:
			end, err := l.DB.LatestPauseEnd(ctx, a.IdentityID, key, store.Millis(now.Add(-maxGap)))
			if err != nil {
				return nil, err
			}
			st := Status{Key: key, MaxLimit: 1, Remaining: 1, Window: a.Gap().String()}
			if end > store.Millis(now) {
				t := store.Time(end)
				st.Consumed, st.Remaining, st.AvailableAt = 1, 0, &t
			}
			out = append(out, st)
			continue
		}
		for _, w := range a.Effective(key, now) {
			used, oldest, err := l.DB.LimitUsage(ctx, a.IdentityID, key, store.Millis(now.Add(-w.Period)))
			if err != nil {
				return nil, err
			}
			st := Status{Key: key, MaxLimit: w.Max, Consumed: used, Remaining: max(0, w.Max-used), Window: WindowName(w.Period)}
			if st.Remaining == 0 {
				t := now
				if oldest > 0 {
					t = store.Time(oldest).Add(w.Period)
				}
				st.AvailableAt = &t
			}
			out = append(out, st)
		}
	}
	return out, nil
}

// Remaining is the smallest remaining share across the given keys' windows,
// as a fraction of capacity, for ranking identities in auto mode.
func (l *Limiter) Remaining(ctx context.Context, a Account, keys []string, now time.Time) (float64, error) {
	best := 1.0
	st, err := l.Report(ctx, a, keys, now)
	if err != nil {
		return 0, err
	}
	for _, s := range st {
		if s.MaxLimit == 0 {
			return 0, nil
		}
		best = math.Min(best, float64(s.Remaining)/float64(s.MaxLimit))
	}
	return best, nil
}

// RemainingOf is Remaining for several accounts at once, for ranking the
// candidates of an auto or managed call: an identity whose in-memory copy
// (reserve.go) covers every key is read from it, and the others from the
// database in one statement (store.Store.LimitUsages), however many they are.
func (l *Limiter) RemainingOf(ctx context.Context, accs []Account, keys []string, now time.Time) ([]float64, error) {
	out := make([]float64, len(accs))
	for _, k := range keys {
		if k == WorkingHours || k == OutreachGap {
			// Protections are not counted: Report decides them.
			for i, a := range accs {
				s, err := l.Remaining(ctx, a, keys, now)
				if err != nil {
					return nil, err
				}
				out[i] = s
			}
			return out, nil
		}
	}
	var missing []int
	l.mu.Lock()
	for i, a := range accs {
		st := l.cache[a.IdentityID]
		covered := st != nil
		for _, k := range keys {
			covered = covered && st.covers(k, now)
		}
		if !covered {
			missing = append(missing, i)
			continue
		}
		out[i] = remainingShare(a, keys, now, func(key string, since int64) int { return st.keys[key].used(since) })
	}
	l.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	var ids, sinces []int64
	seenID, seenSince := map[int64]bool{}, map[int64]bool{}
	for _, i := range missing {
		if id := accs[i].IdentityID; !seenID[id] {
			seenID[id] = true
			ids = append(ids, id)
		}
		for _, k := range keys {
			for _, w := range accs[i].Effective(k, now) {
				if s := store.Millis(now.Add(-w.Period)); !seenSince[s] {
					seenSince[s] = true
					sinces = append(sinces, s)
				}
			}
		}
	}
	usage, err := l.DB.LimitUsages(ctx, ids, keys, sinces)
	if err != nil {
		return nil, err
	}
	for _, i := range missing {
		u := usage[accs[i].IdentityID]
		out[i] = remainingShare(accs[i], keys, now, func(key string, since int64) int {
			if v := u[key]; v != nil {
				if j := slices.Index(sinces, since); j >= 0 {
					return v[j]
				}
			}
			return 0
		})
	}
	return out, nil
}

// remainingShare is Remaining's figure for a, with used(key, since) the
// units of key consumed after since.
func remainingShare(a Account, keys []string, now time.Time, used func(key string, since int64) int) float64 {
	best := 1.0
	for _, key := range keys {
		for _, w := range a.Effective(key, now) {
			if w.Max == 0 {
				return 0
			}
			left := max(0, w.Max-used(key, store.Millis(now.Add(-w.Period))))
			best = math.Min(best, float64(left)/float64(w.Max))
		}
	}
	return best
}
