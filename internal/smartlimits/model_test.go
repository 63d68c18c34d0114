package smartlimits_test

import (
	"encoding/json"
	"math"
	"sort"
	"time"
)

// An independent model of Smart Limits, written from contract §8 and the
// README, not from the package: what an identity may consume, per key and
// window, given its account level, the workspace's and the identity's
// overrides, and the ramp-up of a new identity. TestLimiterProperties holds
// the limiter to it.

const (
	mDay   = 24 * time.Hour
	mWeek  = 7 * mDay
	mMonth = 30 * mDay
)

// mWindow is at most max units in any period.
type mWindow struct {
	max    int
	period time.Duration
}

// mLevels are the levels of contract §8's table. Recruiter Lite has no column
// there, so the model does not claim anything about it.
var mLevels = []string{"Classic", "Premium", "Sales Navigator"}

// mKeys are the limit keys as the API names them (overrides, GET .../limits),
// one per row of the table, and search_results for the results beside
// search pages.
var mKeys = []string{"profile_visits", "connection_requests", "messages", "inmails", "profile_enrichments",
	"search_pages", "search_results", "company_enrichments", "contact_info"}

// mDefaults is contract §8's table of default limits. A row's first figure is
// its headline window (per day, or per 30 days for InMail); a second figure
// "(and 100 / 7 days)" is a second window. The "(and 1,000 results)" beside
// search pages is a daily cap of its own on the results searches return
// (issue 16: "a search results cap per day (1,000 results on Classic, 2,500
// on Sales Navigator) besides search pages"); the model calls it
// search_results.
func mDefaults(level string) map[string][]mWindow {
	if level == "Sales Navigator" {
		return map[string][]mWindow{
			"profile_visits":      {{500, mDay}},
			"connection_requests": {{30, mDay}, {150, mWeek}},
			"messages":            {{250, mDay}},
			"inmails":             {{50, mMonth}},
			"profile_enrichments": {{2100, mDay}},
			"search_pages":        {{950, mDay}},
			"search_results":      {{2500, mDay}},
			"company_enrichments": {{10000, mDay}},
			"contact_info":        {{250, mDay}},
		}
	}
	inmails := 5 // Classic
	if level == "Premium" {
		inmails = 15
	}
	return map[string][]mWindow{
		"profile_visits":      {{80, mDay}},
		"connection_requests": {{25, mDay}, {100, mWeek}},
		"messages":            {{150, mDay}},
		"inmails":             {{inmails, mMonth}},
		"profile_enrichments": {{1400, mDay}},
		"search_pages":        {{450, mDay}},
		"search_results":      {{1000, mDay}},
		"company_enrichments": {{10000, mDay}},
		"contact_info":        {{250, mDay}},
	}
}

// mWindowNames are the window names of the overrides' object form.
var mWindowNames = map[string]time.Duration{"24h": mDay, "7d": mWeek, "30d": mMonth}

// mOverrides are one level of overrides (the workspace's or the identity's):
// key -> window name -> maximum. The window name "" is the number form
// (`{"messages": 40}`), which sets the key's headline window.
type mOverrides map[string]map[string]int

// JSON is the form a user sends (PUT .../limits, smart_limit_overrides).
func (o mOverrides) JSON() string {
	out := map[string]any{}
	for key, ws := range o {
		if n, ok := ws[""]; ok {
			out[key] = n
			continue
		}
		out[key] = ws
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// mAccount is what the model knows of an identity.
type mAccount struct {
	level string
	// connected is its first connection, which starts the ramp-up; nil for
	// an account that does not ramp up (a warmed-up pool account).
	connected           *time.Time
	workspace, identity mOverrides
}

// windows are key's windows at now: the level's defaults, then the
// workspace's overrides, then the identity's (the more specific wins, window
// by window), then the ramp-up.
func (a mAccount) windows(key string, now time.Time) []mWindow {
	out := append([]mWindow(nil), mDefaults(a.level)[key]...)
	for _, ov := range []mOverrides{a.workspace, a.identity} {
		for name, n := range ov[key] {
			for i := range out {
				if (name == "" && i == 0) || (name != "" && mWindowNames[name] == out[i].period) {
					out[i].max = n
				}
			}
		}
	}
	if a.connected != nil {
		// "ramps up from 1/5 of capacity on day 1 to full capacity on day 5,
		// counted from its first connection": day d (d = 1 during the first
		// 24 hours) allows d/5 of the maximum, rounded up, so never less
		// than 1 (issue 16: "the ramp-up rounds up and never gives a limit
		// below 1"); a maximum of 0 is a key turned off, and d/5 of it is 0.
		d := 1
		if elapsed := now.Sub(*a.connected); elapsed > 0 {
			d = int(elapsed/mDay) + 1
		}
		if d < 5 {
			for i := range out {
				out[i].max = int(math.Ceil(float64(out[i].max) * float64(d) / 5))
			}
		}
	}
	return out
}

// mEvent is one recorded consumption.
type mEvent struct {
	key string
	at  time.Time
	n   int
}

// mUsed is what key's events count in the window of period ending at now:
// an event counts until exactly one period after it was made.
func mUsed(events []mEvent, key string, period time.Duration, now time.Time) int {
	used := 0
	for _, e := range events {
		if e.key == key && now.Sub(e.at) < period {
			used += e.n
		}
	}
	return used
}

// mDecision is the model's answer to a consumption of need (key -> units,
// the needs of one key added up).
type mDecision struct {
	fits bool
	// short lists the keys that lack room.
	short map[string]bool
	// availableAt is when the need fits at today's capacity as the events
	// age out (the latest over the full windows); zero when some window is
	// smaller than the need, so that no ageing out makes room.
	availableAt time.Time
}

func (a mAccount) decide(events []mEvent, need map[string]int, now time.Time) mDecision {
	d := mDecision{fits: true, short: map[string]bool{}}
	never := false
	for key, n := range need {
		for _, w := range a.windows(key, now) {
			used := mUsed(events, key, w.period, now)
			if used+n <= w.max {
				continue
			}
			d.fits = false
			d.short[key] = true
			if n > w.max {
				never = true
				continue
			}
			// Oldest first, the window's events leave it one period after they
			// were made, until used+n fits.
			var in []mEvent
			for _, e := range events {
				if e.key == key && now.Sub(e.at) < w.period {
					in = append(in, e)
				}
			}
			sort.SliceStable(in, func(i, j int) bool { return in[i].at.Before(in[j].at) })
			excess := used + n - w.max
			for _, e := range in {
				excess -= e.n
				if excess <= 0 {
					if at := e.at.Add(w.period); at.After(d.availableAt) {
						d.availableAt = at
					}
					break
				}
			}
		}
	}
	if never {
		d.availableAt = time.Time{}
	}
	return d
}
