package smartlimits

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// Working hours and the outreach gap are the Smart Limits about when an
// account acts rather than how much. Both are set like the counted keys, in
// the same overrides object per workspace and per identity (the identity's
// wins, field by field), under their own names:
//
//	"working_hours": {"enabled": true, "start": "08:00", "end": "20:00",
//	                  "days": ["mon", "tue", "wed", "thu", "fri"], "outreach_only": true}
//	"outreach_gap":  {"min_seconds": 30, "max_seconds": 120}
//
// A caller asks for them with the pseudo-keys WorkingHours and OutreachGap
// among its needs (Account.Needs says which a call has).
const (
	// WorkingHours holds a call back outside the identity's working hours.
	WorkingHours = "working_hours"
	// OutreachGap spaces two outreach actions of one account by a random
	// pause. Each outreach action records its pause as an event (n: the
	// pause in milliseconds), so the gap is decided and recorded in the same
	// exact reservation as the counted keys.
	OutreachGap = "outreach_gap"
)

// Hours are the hours an identity works, wall clock in its time zone.
type Hours struct {
	Enabled bool
	// Start and End are minutes after midnight, 0 <= Start < End <= 24*60.
	Start, End int
	Days       [7]bool // indexed by time.Weekday
	// OutreachOnly lets extraction and search run at any hour.
	OutreachOnly bool
}

// DefaultHours: 08:00 to 20:00 on weekdays, for outreach only.
var DefaultHours = Hours{Enabled: true, Start: 8 * 60, End: 20 * 60,
	Days:         [7]bool{time.Monday: true, time.Tuesday: true, time.Wednesday: true, time.Thursday: true, time.Friday: true},
	OutreachOnly: true}

// Gap is the range the pause between two outreach actions of one account is
// drawn from, uniformly, per action. Max 0 turns the gap off.
type Gap struct{ Min, Max time.Duration }

// DefaultGap: 30 to 120 seconds.
var DefaultGap = Gap{Min: 30 * time.Second, Max: 120 * time.Second}

// maxGap bounds a gap's setting: a copy of OutreachGap's events reaches back
// this far (span), which must cover every pause still running.
const maxGap = Day

// draw picks a pause, to the millisecond.
func (g Gap) draw() time.Duration {
	lo, hi := g.Min.Milliseconds(), g.Max.Milliseconds()
	return time.Duration(lo+rand.Int64N(hi-lo+1)) * time.Millisecond
}

func (g Gap) String() string {
	return fmt.Sprintf("%ds-%ds", int(g.Min/time.Second), int(g.Max/time.Second))
}

// hoursOverride is what one level of overrides says about working hours:
// nil fields inherit.
type hoursOverride struct {
	enabled, outreachOnly *bool
	span                  *[2]int // start, end: always set together
	days                  *[7]bool
}

func (o hoursOverride) apply(h *Hours) {
	if o.enabled != nil {
		h.Enabled = *o.enabled
	}
	if o.outreachOnly != nil {
		h.OutreachOnly = *o.outreachOnly
	}
	if o.span != nil {
		h.Start, h.End = o.span[0], o.span[1]
	}
	if o.days != nil {
		h.Days = *o.days
	}
}

// Hours are the identity's working hours: the defaults, then the
// workspace's overrides, then the identity's.
func (a Account) Hours() Hours {
	h := DefaultHours
	a.Workspace.hours.apply(&h)
	a.Identity.hours.apply(&h)
	return h
}

// Gap is the identity's outreach gap: the default, the workspace's, then
// the identity's.
func (a Account) Gap() Gap {
	g := DefaultGap
	for _, ov := range []Overrides{a.Workspace, a.Identity} {
		if ov.gap != nil {
			g = *ov.gap
		}
	}
	return g
}

func (a Account) location() *time.Location {
	if a.Location == nil {
		return time.UTC
	}
	return a.Location
}

// holdsBack says whether working hours apply to a call.
func (h Hours) holdsBack(outreach bool) bool {
	return h.Enabled && (outreach || !h.OutreachOnly)
}

// At reports whether the hours are open at now, and otherwise when they
// next open. Hours are wall clock in loc: an opening or closing time that a
// DST change skips is the first instant after the skipped hour, and one
// that a DST change repeats is its first occurrence.
func (h Hours) At(now time.Time, loc *time.Location) (open bool, next time.Time) {
	local := now.In(loc)
	y, m, d := local.Date()
	// A day's hours lie within that day, so only today's can be open now;
	// some day of the coming week opens next.
	for i := 0; i <= 7; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, loc)
		if !h.Days[day.Weekday()] {
			continue
		}
		start, end := wallTime(day, h.Start, loc), wallTime(day, h.End, loc)
		if now.Before(start) {
			return false, start.UTC()
		}
		if now.Before(end) {
			return true, time.Time{}
		}
	}
	return false, time.Time{} // no day: unreachable, the parser refuses it
}

// wallTime is the instant of minute min (0..1440) of day's date in loc.
func wallTime(day time.Time, min int, loc *time.Location) time.Time {
	y, m, d := day.Date()
	t := time.Date(y, m, d, min/60, min%60, 0, 0, loc)
	want := time.Date(y, m, d, min/60, min%60, 0, 0, time.UTC) // the wall clock asked for
	got := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
	switch {
	case got.After(want):
		// The wall time was skipped and Go moved past the change: the change
		// itself is the first valid instant.
		start, _ := t.ZoneBounds()
		return start
	case got.Before(want):
		// Skipped, and Go stayed before the change.
		_, end := t.ZoneBounds()
		return end
	}
	// A wall time that a change back repeats: the first occurrence, in the
	// zone before the change, when Go chose the second.
	if start, _ := t.ZoneBounds(); !start.IsZero() {
		_, before := start.Add(-time.Nanosecond).Zone()
		if _, after := t.Zone(); before > after {
			first := t.Add(time.Duration(after-before) * time.Second)
			if first.Before(start) && first.In(loc).Hour() == t.Hour() && first.In(loc).Minute() == t.Minute() {
				return first
			}
		}
	}
	return t
}

// String describes the hours as GET .../limits shows them.
func (h Hours) String(loc *time.Location) string {
	var days []string
	for i := 1; i <= 7; i++ { // Monday first
		if h.Days[i%7] {
			days = append(days, dayNames[i%7])
		}
	}
	return fmt.Sprintf("%s %s-%s %s", strings.Join(days, ","), clock(h.Start), clock(h.End), loc)
}

func clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// parseHours reads the working_hours object.
func parseHours(raw json.RawMessage) (hoursOverride, error) {
	var o hoursOverride
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return o, fmt.Errorf("working_hours must be an object with enabled, start, end, days and outreach_only")
	}
	boolean := func(name string) (*bool, error) {
		v, ok := m[name]
		if !ok {
			return nil, nil
		}
		var b *bool
		if err := json.Unmarshal(v, &b); err != nil || b == nil {
			return nil, fmt.Errorf("working_hours.%s must be true or false", name)
		}
		return b, nil
	}
	var err error
	if o.enabled, err = boolean("enabled"); err != nil {
		return o, err
	}
	if o.outreachOnly, err = boolean("outreach_only"); err != nil {
		return o, err
	}
	_, hasStart := m["start"]
	_, hasEnd := m["end"]
	if hasStart != hasEnd {
		return o, fmt.Errorf("working_hours: give start and end together")
	}
	if hasStart {
		start, err := parseClock("start", m["start"], false)
		if err != nil {
			return o, err
		}
		end, err := parseClock("end", m["end"], true)
		if err != nil {
			return o, err
		}
		if start >= end {
			return o, fmt.Errorf("working_hours: start %s must be before end %s (hours cannot span midnight)", clock(start), clock(end))
		}
		o.span = &[2]int{start, end}
	}
	if v, ok := m["days"]; ok {
		var names []string
		if err := json.Unmarshal(v, &names); err != nil || len(names) == 0 {
			return o, fmt.Errorf("working_hours.days must be a non-empty array of days (mon, tue, wed, thu, fri, sat, sun)")
		}
		var days [7]bool
		for _, n := range names {
			wd, ok := dayByName(n)
			if !ok {
				return o, fmt.Errorf("working_hours.days: unknown day %q (use mon, tue, wed, thu, fri, sat, sun)", n)
			}
			days[wd] = true
		}
		o.days = &days
	}
	for name := range m {
		switch name {
		case "enabled", "outreach_only", "start", "end", "days":
		default:
			return o, fmt.Errorf("working_hours: unknown field %q (use enabled, start, end, days, outreach_only)", name)
		}
	}
	return o, nil
}

// parseClock reads "HH:MM"; "24:00" only as an end.
func parseClock(name string, raw json.RawMessage, end bool) (int, error) {
	var s string
	bad := fmt.Errorf("working_hours.%s must be a time of day as \"HH:MM\" (24-hour clock)", name)
	if err := json.Unmarshal(raw, &s); err != nil || len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	for i, c := range []byte(s) {
		if i != 2 && (c < '0' || c > '9') {
			return 0, bad
		}
	}
	h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && (m != 0 || !end)) {
		return 0, bad
	}
	return h*60 + m, nil
}

func dayByName(n string) (time.Weekday, bool) {
	n = strings.ToLower(n)
	for i, d := range dayNames {
		if n == d || n == strings.ToLower(time.Weekday(i).String()) {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

// parseGap reads the outreach_gap object.
func parseGap(raw json.RawMessage) (*Gap, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("outreach_gap must be an object with min_seconds and max_seconds")
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != "min_seconds" && name != "max_seconds" {
			return nil, fmt.Errorf("outreach_gap: unknown field %q (use min_seconds and max_seconds)", name)
		}
	}
	var secs [2]int
	for i, name := range []string{"min_seconds", "max_seconds"} {
		v, ok := m[name]
		if !ok {
			return nil, fmt.Errorf("outreach_gap: give min_seconds and max_seconds together")
		}
		var f *float64
		if err := json.Unmarshal(v, &f); err != nil || f == nil || *f < 0 || *f != math.Trunc(*f) || *f > maxGap.Seconds() {
			return nil, fmt.Errorf("outreach_gap.%s must be a whole number of seconds from 0 to %d", name, int(maxGap.Seconds()))
		}
		secs[i] = int(*f)
	}
	if secs[0] > secs[1] {
		return nil, fmt.Errorf("outreach_gap: min_seconds %d is more than max_seconds %d", secs[0], secs[1])
	}
	return &Gap{Min: time.Duration(secs[0]) * time.Second, Max: time.Duration(secs[1]) * time.Second}, nil
}
