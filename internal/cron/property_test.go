package cron

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Zones chosen for awkward transitions: 1 h at 02:00 (Paris, New York), 30
// minutes (Lord Howe), at midnight (Havana, Santiago), "negative" DST in the
// data (Dublin), Ramadan suspensions (Casablanca), a 45-minute offset
// (Chatham), a skipped calendar day (Apia, end of 2011), and no DST (Tokyo).
var propertyZones = []string{
	"Europe/Paris", "America/New_York", "Australia/Lord_Howe", "America/Havana",
	"America/Santiago", "Europe/Dublin", "Africa/Casablanca", "Pacific/Chatham",
	"Pacific/Apia", "Asia/Tokyo", "UTC",
}

// cronCase is a cron expression together with the sets it denotes, so the
// oracle below matches wall-clock times without going through robfig/cron.
type cronCase struct {
	minutes, hours, doms, dows []int // nil means "*"
	expr                       string
}

func genSet(t *rapid.T, label string, lo, hi, maxLen int) []int {
	if rapid.Bool().Draw(t, label+"Star") {
		return nil
	}
	set := rapid.SliceOfNDistinct(rapid.IntRange(lo, hi), 1, maxLen, rapid.ID[int]).Draw(t, label)
	slices.Sort(set)
	return set
}

func render(set []int) string {
	if set == nil {
		return "*"
	}
	parts := make([]string, len(set))
	for i, v := range set {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

func genCron(t *rapid.T) cronCase {
	c := cronCase{
		minutes: genSet(t, "minutes", 0, 59, 4),
		hours:   genSet(t, "hours", 0, 23, 6),
		doms:    genSet(t, "doms", 1, 31, 10),
		dows:    genSet(t, "dows", 0, 6, 4),
	}
	c.expr = fmt.Sprintf("%s %s %s * %s", render(c.minutes), render(c.hours), render(c.doms), render(c.dows))
	return c
}

func in(set []int, v int) bool { return set == nil || slices.Contains(set, v) }

func (c cronCase) matches(w time.Time) bool {
	if !in(c.minutes, w.Minute()) || !in(c.hours, w.Hour()) {
		return false
	}
	dom, dow := in(c.doms, w.Day()), in(c.dows, int(w.Weekday()))
	if c.doms != nil && c.dows != nil {
		return dom || dow // POSIX: both restricted, either may match
	}
	return dom && dow
}

// seenBefore reports whether the same wall-clock minute already occurred
// shortly before t (the clocks went back), without using ZoneBounds.
func seenBefore(t time.Time) bool {
	for _, back := range []time.Duration{20 * time.Minute, 30 * time.Minute, 40 * time.Minute, time.Hour, 90 * time.Minute, 2 * time.Hour} {
		e := t.Add(-back).In(t.Location())
		if e.Year() == t.Year() && e.YearDay() == t.YearDay() && e.Hour() == t.Hour() && e.Minute() == t.Minute() {
			return true
		}
	}
	return false
}

// oracleNext scans every real minute after after: the documented rule, stated
// as plainly as possible. Wall times inside a spring-forward gap are never
// reached; a repeated wall time counts at its first occurrence only.
func oracleNext(c cronCase, after time.Time, loc *time.Location, horizon time.Duration) (time.Time, bool) {
	t := after.Truncate(time.Minute)
	for !t.After(after) {
		t = t.Add(time.Minute)
	}
	for end := after.Add(horizon); !t.After(end); t = t.Add(time.Minute) {
		w := t.In(loc)
		if c.matches(w) && !seenBefore(w) {
			return w, true
		}
	}
	return time.Time{}, false
}

// nearTransition draws an instant within two days of a zone transition (or
// anywhere, for zones without one) between 2010 and 2030.
func nearTransition(t *rapid.T, loc *time.Location) time.Time {
	base := time.Unix(rapid.Int64Range(1262304000, 1893456000).Draw(t, "base"), 0).In(loc)
	if rapid.Bool().Draw(t, "nearTransition") {
		if _, end := base.ZoneBounds(); !end.IsZero() {
			base = end
		}
	}
	offset := time.Duration(rapid.Int64Range(-2*24*3600, 2*24*3600).Draw(t, "offsetSeconds")) * time.Second
	return base.Add(offset)
}

func TestPropertyNextMatchesOracle(t *testing.T) {
	const horizon = 9 * 24 * time.Hour
	rapid.Check(t, func(t *rapid.T) {
		zone := rapid.SampledFrom(propertyZones).Draw(t, "zone")
		c := genCron(t)
		spec, perr := Parse(c.expr, "", zone)
		if perr != nil {
			t.Fatalf("Parse(%q): %v", c.expr, perr)
		}
		after := nearTransition(t, spec.Location)
		want, wantOK := oracleNext(c, after, spec.Location, horizon)
		got, gotOK := spec.Next(after)
		if wantOK {
			if !gotOK || !got.Equal(want) {
				t.Fatalf("%q in %s after %s: Next = %s %v, oracle = %s",
					c.expr, zone, after.Format(time.RFC3339), got.Format(time.RFC3339), gotOK, want.Format(time.RFC3339))
			}
			return
		}
		if gotOK && !got.After(after.Add(horizon)) {
			t.Fatalf("%q in %s after %s: Next = %s, oracle found nothing within %s",
				c.expr, zone, after.Format(time.RFC3339), got.Format(time.RFC3339), horizon)
		}
	})
}

func TestPropertyNextStrictlyIncreasing(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		zone := rapid.SampledFrom(propertyZones).Draw(t, "zone")
		c := genCron(t)
		var at string
		if rapid.Bool().Draw(t, "withAt") {
			at = time.Unix(rapid.Int64Range(1262304000, 1893456000).Draw(t, "at"), 0).UTC().Format(time.RFC3339)
		}
		spec, perr := Parse(c.expr, at, zone)
		if perr != nil {
			t.Fatalf("Parse: %v", perr)
		}
		after := nearTransition(t, spec.Location)
		seen := map[string]bool{}
		for range 40 {
			next, ok := spec.Next(after)
			if !ok {
				t.Fatalf("%q in %s: no firing after %s", c.expr, zone, after)
			}
			if !next.After(after) {
				t.Fatalf("%q in %s: Next(%s) = %s, not after", c.expr, zone, after.Format(time.RFC3339), next.Format(time.RFC3339))
			}
			if spec.At != nil && next.Before(*spec.At) {
				t.Fatalf("%q: fired at %s, before At %s", c.expr, next, spec.At)
			}
			wall := next.Format("2006-01-02 15:04")
			if seen[wall] {
				t.Fatalf("%q in %s: wall time %s fired twice", c.expr, zone, wall)
			}
			seen[wall] = true
			after = next
		}
	})
}

// CatchUp returns the last of the firings a plain walk finds in
// (lastFired, now], and the first one after now.
func TestPropertyCatchUp(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		zone := rapid.SampledFrom(propertyZones).Draw(t, "zone")
		c := genCron(t)
		spec, perr := Parse(c.expr, "", zone)
		if perr != nil {
			t.Fatalf("Parse: %v", perr)
		}
		lastFired := nearTransition(t, spec.Location)
		now := lastFired.Add(time.Duration(rapid.Int64Range(0, 20*24*3600).Draw(t, "downSeconds")) * time.Second)

		var want time.Time
		var wantOK bool
		for f, ok := spec.Next(lastFired); ok && !f.After(now); f, ok = spec.Next(f) {
			want, wantOK = f, true
		}
		r := CatchUp(spec, lastFired, now)
		if r.HasDue != wantOK || !r.Due.Equal(want) {
			t.Fatalf("%q in %s, (%s, %s]: Due %s %v, want %s %v", c.expr, zone,
				lastFired.Format(time.RFC3339), now.Format(time.RFC3339), r.Due, r.HasDue, want, wantOK)
		}
		next, ok := spec.Next(now)
		if r.HasNext != ok || !r.Next.Equal(next) {
			t.Fatalf("Next %s %v, want %s %v", r.Next, r.HasNext, next, ok)
		}
	})
}
