// Package cron decides when schedules fire. It is pure logic: it reads no
// clock and no database; callers pass the times in.
//
// # Cron semantics
//
// A cron expression has the 5 POSIX fields (minute hour day-of-month month
// day-of-week), parsed by github.com/robfig/cron/v3; the firing times are
// computed here (see nextWall for why not by robfig/cron). Day-of-week is 0-6
// (Sunday is 0) or sun-sat; when both day fields are restricted a day matches
// if either does, as in POSIX. Descriptors (@daily, @every 1h), a seconds
// field and TZ= prefixes are refused: the zone comes from the schedule's
// timezone field.
//
// The expression is matched against wall-clock time in the schedule's zone.
// Every matching wall-clock minute that exists fires exactly once:
//   - Spring forward: a wall time that does not exist that day (02:30 in
//     Europe/Paris on the last Sunday of March) is skipped, not shifted, as
//     robfig/cron does too. Other firings that day are unaffected, so
//     "*/15 1-3 * * *" fires at 01:45 and then at 03:00. A calendar day that
//     a zone skipped (Pacific/Apia, 30 December 2011) is skipped likewise.
//   - Fall back: a wall time that occurs twice (01:30 in America/New_York on
//     the first Sunday of November) fires at its first occurrence only, in
//     summer time, where robfig/cron would fire it twice. As a consequence
//     "0 * * * *" leaves a two-hour gap in real time across the repeated
//     hour: it fires once per wall-clock hour, not once per elapsed hour.
package cron

import (
	"fmt"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/robfig/cron/v3"
)

// Spec says when a schedule fires.
//   - Cron only: every matching wall-clock time in Location.
//   - At only: once, at At.
//   - At and Cron: the cron firings at or after At.
//
// Build it with Parse. A Spec built by hand works too; its Cron is then
// parsed on every call to Next.
type Spec struct {
	Cron     string
	At       *time.Time
	Location *time.Location

	sched *cron.SpecSchedule
}

// Earliest and Latest bound the instants a schedule may name or fire at:
// the years 1 to 9999 in UTC, what RFC 3339 dates (and so the API's JSON)
// can write. A firing that would fall after Latest is no firing at all.
var (
	Earliest = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	Latest   = time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
)

// Representable reports whether t lies within [Earliest, Latest].
func Representable(t time.Time) bool { return !t.Before(Earliest) && !t.After(Latest) }

// MaxCronLength bounds the accepted expression; real ones are a few dozen
// characters.
const MaxCronLength = 256

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Parse validates the schedule fields of a request: cron (5 fields, may be
// empty), scheduleAt (RFC 3339, may be empty) and tz (a canonical IANA zone,
// UTC when empty). At least one of cron and scheduleAt is required. Errors
// are BAD_INPUT with Ajv-style messages naming the body field.
//
// Parse does not refuse a scheduleAt in the past: it has no clock. A caller
// that wants to should compare Spec.At with its own now.
func Parse(cronExpr, scheduleAt, tz string) (Spec, *apperr.Error) {
	if tz == "" {
		tz = "UTC"
	}
	loc, ok := LoadZone(tz)
	if !ok {
		return Spec{}, apperr.BadInput("body/timezone must be a canonical IANA time zone name, such as Europe/Paris or UTC").
			With("timezone", tz)
	}
	spec := Spec{Location: loc}

	cronExpr = strings.Join(strings.Fields(cronExpr), " ")
	if cronExpr != "" {
		sched, err := parseCron(cronExpr, loc)
		if err != nil {
			return Spec{}, apperr.BadInput("body/cron must be a valid 5-field cron expression: %s", err.Error())
		}
		spec.Cron = cronExpr
		spec.sched = sched
	}

	if scheduleAt = strings.TrimSpace(scheduleAt); scheduleAt != "" {
		at, err := time.Parse(time.RFC3339Nano, scheduleAt)
		if err != nil {
			return Spec{}, apperr.BadInput(`body/schedule_at must match format "date-time"`)
		}
		if !Representable(at) {
			return Spec{}, apperr.BadInput("body/schedule_at must be between %s and %s (UTC)",
				Earliest.Format(time.RFC3339), Latest.Truncate(time.Second).Format(time.RFC3339))
		}
		at = at.In(loc)
		spec.At = &at
	}

	if spec.Cron == "" && spec.At == nil {
		return Spec{}, apperr.BadInput("body must have required property 'cron' or 'schedule_at'")
	}
	return spec, nil
}

// neverFiresProbe is where Parse looks for a first firing; any day would do,
// since nextWall searches nine years ahead, past the next leap day.
var neverFiresProbe = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)

func parseCron(expr string, loc *time.Location) (*cron.SpecSchedule, error) {
	switch {
	case len(expr) > MaxCronLength:
		return nil, fmt.Errorf("longer than %d characters", MaxCronLength)
	case strings.HasPrefix(expr, "@"):
		return nil, fmt.Errorf("descriptors such as %s are not supported; write the 5 fields", strings.Fields(expr)[0])
	case strings.Contains(expr, "="):
		return nil, fmt.Errorf("a TZ= prefix is not supported; send the timezone field instead")
	}
	if n := len(strings.Fields(expr)); n != 5 {
		return nil, fmt.Errorf("expected 5 fields (minute hour day-of-month month day-of-week), found %d", n)
	}
	parsed, err := cronParser.Parse(expr)
	if err != nil {
		return nil, err
	}
	ss, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("unsupported expression")
	}
	c := *ss // never share robfig's value: the location is ours
	c.Location = loc
	if _, ok := nextWall(&c, neverFiresProbe, loc); !ok {
		return nil, fmt.Errorf("no date ever matches it")
	}
	return &c, nil
}

func (s Spec) location() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

func (s Spec) schedule() *cron.SpecSchedule {
	if s.sched != nil || s.Cron == "" {
		return s.sched
	}
	sched, err := parseCron(s.Cron, s.location())
	if err != nil {
		return nil
	}
	return sched
}

// OneShot reports whether the schedule fires once (At without Cron), so it
// completes after firing.
func (s Spec) OneShot() bool { return s.Cron == "" }

// Next returns the first firing strictly after after, in the schedule's
// zone, or false when there is none (a one-shot already past, an invalid
// hand-built Cron, or a firing that would fall after Latest).
func (s Spec) Next(after time.Time) (time.Time, bool) {
	t, ok := s.next(after)
	if !ok || !Representable(t) {
		return time.Time{}, false
	}
	return t, true
}

func (s Spec) next(after time.Time) (time.Time, bool) {
	loc := s.location()
	if s.Cron == "" {
		if s.At != nil && s.At.After(after) {
			return s.At.In(loc), true
		}
		return time.Time{}, false
	}
	sched := s.schedule()
	if sched == nil {
		return time.Time{}, false
	}
	if s.At != nil && s.At.After(after) {
		// Firings are whole minutes, so "after At-1ns" is "at or after At".
		after = s.At.Add(-time.Nanosecond)
	}
	return nextWall(sched, after, loc)
}

// maxSearchDays bounds the search for the next matching day. A leap day
// can be eight years away (2096-02-29, then 2104-02-29).
const maxSearchDays = 9*366 + 1

// nextWall is the first instant strictly after after whose wall-clock
// reading in loc matches sched, by the rule in the package doc.
//
// robfig/cron's own Next is not used: it loops forever in zones whose
// clocks skip midnight (America/Havana, America/Santiago, ...), returns times
// of the wrong weekday there, and fires repeated wall times twice. This walks
// civil days instead, and within a matching day the matching hours and
// minutes in wall-clock order, resolving each wall time to its first
// occurrence. It relies on first occurrences growing with wall time within a
// day, true of every zone in tzdata where transitions are hours apart.
func nextWall(sched *cron.SpecSchedule, after time.Time, loc *time.Location) (time.Time, bool) {
	start := after.In(loc)
	y, m, d := start.Date()
	// Civil-date arithmetic in UTC, where every day has 24 hours.
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	for i := 0; i < maxSearchDays; i, day = i+1, day.AddDate(0, 0, 1) {
		if sched.Month&(1<<uint(day.Month())) == 0 {
			// Jump to the last day of this month; the loop steps to the 1st.
			day = time.Date(day.Year(), day.Month()+1, 0, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !dayMatches(sched, day) {
			continue
		}
		for h := 0; h < 24; h++ {
			if sched.Hour&(1<<uint(h)) == 0 {
				continue
			}
			if i == 0 && hourAllPast(sched, day, h, after, loc) {
				continue
			}
			for mi := 0; mi < 60; mi++ {
				if sched.Minute&(1<<uint(mi)) == 0 {
					continue
				}
				if t, ok := firstOccurrence(day, h, mi, loc); ok && t.After(after) {
					return t, true
				}
			}
		}
	}
	return time.Time{}, false
}

// dayMatches applies POSIX cron's day rule: when both day-of-month and
// day-of-week are restricted, either may match; otherwise both must. A field
// written with "*" or "?" (robfig's star bit) counts as unrestricted.
func dayMatches(s *cron.SpecSchedule, day time.Time) bool {
	const starBit = 1 << 63
	dom := s.Dom&(1<<uint(day.Day())) != 0
	dow := s.Dow&(1<<uint(day.Weekday())) != 0
	if s.Dom&starBit != 0 || s.Dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}

// hourAllPast reports whether every matching minute of hour h on day already
// fired by after, judged by the hour's last matching minute. It only saves
// work on the first day; when in doubt it answers false.
func hourAllPast(s *cron.SpecSchedule, day time.Time, h int, after time.Time, loc *time.Location) bool {
	for mi := 59; mi >= 0; mi-- {
		if s.Minute&(1<<uint(mi)) != 0 {
			t, ok := firstOccurrence(day, h, mi, loc)
			return ok && !t.After(after)
		}
	}
	return false
}

// firstOccurrence resolves the wall-clock time day h:mi in loc to the first
// instant that reads it, or false when the clocks skipped it.
func firstOccurrence(day time.Time, h, mi int, loc *time.Location) (time.Time, bool) {
	y, m, d := day.Date()
	naive := time.Date(y, m, d, h, mi, 0, 0, time.UTC).Unix()
	var best time.Time
	found := false
	// An instant reading this wall time is naive minus the offset in force
	// at that instant. Try every offset in force within a day either side.
	p := time.Unix(naive-26*3600, 0).In(loc)
	limit := time.Unix(naive+26*3600, 0)
	for {
		_, off := p.Zone()
		t := time.Unix(naive-int64(off), 0).In(loc)
		if _, o := t.Zone(); o == off && (!found || t.Before(best)) {
			best, found = t, true
		}
		_, end := p.ZoneBounds()
		if end.IsZero() || !end.Before(limit) {
			return best, found
		}
		p = end
	}
}

// CatchUpResult is what a scheduler runs after downtime.
type CatchUpResult struct {
	// Due is the most recent firing in (lastFired, now]; HasDue is false when
	// no firing was missed. Earlier missed firings are dropped on purpose.
	Due    time.Time
	HasDue bool
	// Next is the first firing strictly after now; HasNext is false when the
	// schedule has no more firings (a one-shot).
	Next    time.Time
	HasNext bool
}

// maxWindow keeps the doubling search clear of time.Duration overflow.
const maxWindow = 100 * 365 * 24 * time.Hour

// CatchUp applies the contract's rule "after downtime, one missed firing is
// run, not all of them". lastFired is the last firing that ran, or the
// schedule's creation time when none has. The cost does not grow with the
// length of the downtime: the search walks back from now in doubling windows.
func CatchUp(s Spec, lastFired, now time.Time) CatchUpResult {
	var r CatchUpResult
	r.Next, r.HasNext = s.Next(now)
	first, ok := s.Next(lastFired)
	if !ok || first.After(now) {
		return r
	}
	for window := time.Minute; ; window *= 2 {
		from := now.Add(-window)
		if window > maxWindow || !from.After(lastFired) {
			from = lastFired
		}
		for t, ok := s.Next(from); ok && !t.After(now); t, ok = s.Next(t) {
			r.Due, r.HasDue = t, true
		}
		if r.HasDue || !from.After(lastFired) {
			return r
		}
	}
}
