package cron

import (
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, cronExpr, at, tz string) Spec {
	t.Helper()
	s, err := Parse(cronExpr, at, tz)
	if err != nil {
		t.Fatalf("Parse(%q, %q, %q): %v", cronExpr, at, tz, err)
	}
	return s
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// firings lists the next n firings after from, formatted in the schedule's
// zone with their offsets, so a DST mistake shows up as a wrong offset.
func firings(t *testing.T, s Spec, from time.Time, n int) []string {
	t.Helper()
	var out []string
	for range n {
		next, ok := s.Next(from)
		if !ok {
			break
		}
		out = append(out, next.Format(time.RFC3339))
		from = next
	}
	return out
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		cron, at, tz string
		msg          string
	}{
		{"", "", "UTC", "body must have required property 'cron' or 'schedule_at'"},
		{"0 9 * * * *", "", "UTC", "body/cron must be a valid 5-field cron expression: expected 5 fields"},
		{"9 * * *", "", "UTC", "body/cron must be a valid 5-field cron expression: expected 5 fields"},
		{"@daily", "", "UTC", "body/cron must be a valid 5-field cron expression: descriptors such as @daily"},
		{"@every 1h", "", "UTC", "body/cron must be a valid 5-field cron expression: descriptors such as @every"},
		{"TZ=Europe/Paris 0 9 * * *", "", "UTC", "body/cron must be a valid 5-field cron expression: a TZ= prefix"},
		{"CRON_TZ=UTC 0 9 * * *", "", "UTC", "body/cron must be a valid 5-field cron expression: a TZ= prefix"},
		{"60 * * * *", "", "UTC", "body/cron must be a valid 5-field cron expression: end of range (60) above maximum (59)"},
		{"0 24 * * *", "", "UTC", "body/cron must be a valid 5-field cron expression"},
		{"0 0 0 * *", "", "UTC", "body/cron must be a valid 5-field cron expression"},
		{"0 0 * 13 *", "", "UTC", "body/cron must be a valid 5-field cron expression"},
		{"0 0 * * 7", "", "UTC", "body/cron must be a valid 5-field cron expression"},
		{"*/0 * * * *", "", "UTC", "body/cron must be a valid 5-field cron expression"},
		{"a b c d e", "", "UTC", "body/cron must be a valid 5-field cron expression"},
		{"0 0 30 2 *", "", "UTC", "body/cron must be a valid 5-field cron expression: no date ever matches it"},
		{strings.Repeat("1,", 200) + "1 * * * *", "", "UTC", "body/cron must be a valid 5-field cron expression: longer than"},
		{"", "2026-05-01", "UTC", `body/schedule_at must match format "date-time"`},
		{"", "2026-05-01T09:00:00", "UTC", `body/schedule_at must match format "date-time"`},
		{"", "tomorrow", "UTC", `body/schedule_at must match format "date-time"`},
		{"0 9 * * *", "", "Europe/Kiev", "body/timezone must be a canonical IANA time zone name"},
		{"0 9 * * *", "", "US/Eastern", "body/timezone must be a canonical IANA time zone name"},
		{"0 9 * * *", "", "Local", "body/timezone must be a canonical IANA time zone name"},
	}
	for _, c := range cases {
		_, err := Parse(c.cron, c.at, c.tz)
		if err == nil {
			t.Errorf("Parse(%q, %q, %q) accepted", c.cron, c.at, c.tz)
			continue
		}
		if err.Label != "BAD_INPUT" || err.Status != 400 || err.Scope != "input" {
			t.Errorf("Parse(%q, %q, %q): %s %d %s", c.cron, c.at, c.tz, err.Label, err.Status, err.Scope)
		}
		if !strings.HasPrefix(err.Message, c.msg) {
			t.Errorf("Parse(%q, %q, %q) message %q, want prefix %q", c.cron, c.at, c.tz, err.Message, c.msg)
		}
	}
}

func TestParseAccepts(t *testing.T) {
	s := mustParse(t, "  0  9 * *   mon-fri ", "", "")
	if s.Cron != "0 9 * * mon-fri" || s.Location.String() != "UTC" || s.At != nil || s.OneShot() {
		t.Fatalf("got %+v", s)
	}
	s = mustParse(t, "0 0 29 2 *", "", "Europe/Kyiv")
	if next, ok := s.Next(mustTime(t, "2026-01-01T00:00:00Z")); !ok || next.Format(time.RFC3339) != "2028-02-29T00:00:00+02:00" {
		t.Fatalf("leap day: %v %v", next, ok)
	}
	s = mustParse(t, "", "2026-05-01T09:00:00.5+02:00", "Asia/Tokyo")
	if !s.OneShot() || s.At.Location().String() != "Asia/Tokyo" || !s.At.Equal(mustTime(t, "2026-05-01T07:00:00.5Z")) {
		t.Fatalf("got %+v", s)
	}
	// Both day fields restricted: POSIX ORs them.
	s = mustParse(t, "0 12 13 * 5", "", "UTC")
	got := firings(t, s, mustTime(t, "2026-02-01T00:00:00Z"), 4)
	want := []string{"2026-02-06T12:00:00Z", "2026-02-13T12:00:00Z", "2026-02-20T12:00:00Z", "2026-02-27T12:00:00Z"}
	assertTimes(t, "dom|dow", got, want)
}

func assertTimes(t *testing.T, name string, got, want []string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s:\n got  %v\n want %v", name, got, want)
	}
}

func TestNextDST(t *testing.T) {
	cases := []struct {
		name, cron, tz, from string
		want                 []string
	}{
		// Europe/Paris, spring forward on Sunday 29 March 2026 (02:00 CET -> 03:00 CEST).
		{"paris daily 02:30 spring", "30 2 * * *", "Europe/Paris", "2026-03-27T12:00:00+01:00", []string{
			"2026-03-28T02:30:00+01:00",
			// 29 March 02:30 does not exist: skipped.
			"2026-03-30T02:30:00+02:00",
		}},
		{"paris hourly spring", "0 * * * *", "Europe/Paris", "2026-03-29T00:30:00+01:00", []string{
			"2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00",
		}},
		{"paris quarter 1-3 spring", "*/15 1-3 * * *", "Europe/Paris", "2026-03-29T00:00:00+01:00", []string{
			"2026-03-29T01:00:00+01:00", "2026-03-29T01:15:00+01:00", "2026-03-29T01:30:00+01:00", "2026-03-29T01:45:00+01:00",
			"2026-03-29T03:00:00+02:00", "2026-03-29T03:15:00+02:00", "2026-03-29T03:30:00+02:00", "2026-03-29T03:45:00+02:00",
			"2026-03-30T01:00:00+02:00",
		}},
		// Europe/Paris, fall back on Sunday 25 October 2026 (03:00 CEST -> 02:00 CET).
		{"paris daily 02:30 fall", "30 2 * * *", "Europe/Paris", "2026-10-23T12:00:00+02:00", []string{
			"2026-10-24T02:30:00+02:00",
			"2026-10-25T02:30:00+02:00", // first pass only
			"2026-10-26T02:30:00+01:00",
		}},
		{"paris hourly fall", "0 * * * *", "Europe/Paris", "2026-10-25T00:30:00+02:00", []string{
			"2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00",
			// 02:00+01:00 is the same wall-clock hour again: not fired.
			"2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00",
		}},
		{"paris quarter 1-3 fall", "*/15 1-3 * * *", "Europe/Paris", "2026-10-25T00:00:00+02:00", []string{
			"2026-10-25T01:00:00+02:00", "2026-10-25T01:15:00+02:00", "2026-10-25T01:30:00+02:00", "2026-10-25T01:45:00+02:00",
			"2026-10-25T02:00:00+02:00", "2026-10-25T02:15:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T02:45:00+02:00",
			"2026-10-25T03:00:00+01:00", "2026-10-25T03:15:00+01:00", "2026-10-25T03:30:00+01:00", "2026-10-25T03:45:00+01:00",
			"2026-10-26T01:00:00+01:00",
		}},
		// America/New_York, spring forward on 8 March 2026 (02:00 EST -> 03:00 EDT).
		{"ny daily 02:30 spring", "30 2 * * *", "America/New_York", "2026-03-06T12:00:00-05:00", []string{
			"2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00",
		}},
		{"ny hourly spring", "0 * * * *", "America/New_York", "2026-03-08T00:30:00-05:00", []string{
			"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00",
		}},
		{"ny quarter 1-3 spring", "*/15 1-3 * * *", "America/New_York", "2026-03-08T00:00:00-05:00", []string{
			"2026-03-08T01:00:00-05:00", "2026-03-08T01:15:00-05:00", "2026-03-08T01:30:00-05:00", "2026-03-08T01:45:00-05:00",
			"2026-03-08T03:00:00-04:00", "2026-03-08T03:15:00-04:00", "2026-03-08T03:30:00-04:00", "2026-03-08T03:45:00-04:00",
			"2026-03-09T01:00:00-04:00",
		}},
		// America/New_York, fall back on 1 November 2026 (02:00 EDT -> 01:00 EST).
		{"ny daily 02:30 fall", "30 2 * * *", "America/New_York", "2026-10-30T12:00:00-04:00", []string{
			"2026-10-31T02:30:00-04:00", "2026-11-01T02:30:00-05:00", "2026-11-02T02:30:00-05:00",
		}},
		{"ny daily 01:30 fall", "30 1 * * *", "America/New_York", "2026-10-30T12:00:00-04:00", []string{
			"2026-10-31T01:30:00-04:00",
			"2026-11-01T01:30:00-04:00", // not again at 01:30-05:00
			"2026-11-02T01:30:00-05:00",
		}},
		{"ny hourly fall", "0 * * * *", "America/New_York", "2026-11-01T00:30:00-04:00", []string{
			"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00",
		}},
		{"ny quarter 1-3 fall", "*/15 1-3 * * *", "America/New_York", "2026-11-01T00:00:00-04:00", []string{
			"2026-11-01T01:00:00-04:00", "2026-11-01T01:15:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:45:00-04:00",
			"2026-11-01T02:00:00-05:00", "2026-11-01T02:15:00-05:00", "2026-11-01T02:30:00-05:00", "2026-11-01T02:45:00-05:00",
			"2026-11-01T03:00:00-05:00", "2026-11-01T03:15:00-05:00", "2026-11-01T03:30:00-05:00", "2026-11-01T03:45:00-05:00",
			"2026-11-02T01:00:00-05:00",
		}},
		// Starting inside the repeated hour, on its second pass.
		{"ny quarter from second pass", "*/15 1-3 * * *", "America/New_York", "2026-11-01T01:20:00-05:00", []string{
			"2026-11-01T02:00:00-05:00",
		}},
		// America/Havana springs forward at midnight (00:00 -> 01:00 on Sunday
		// 14 March 2010). robfig/cron's Next returned Sunday 01:00 for a
		// Saturday cron here, and loops forever for some crons in such zones.
		{"havana saturday 01:00", "0 1 * * 6", "America/Havana", "2010-03-13T23:59:58-05:00", []string{
			"2010-03-20T01:00:00-04:00",
		}},
		// Havana in 2026: midnight is skipped on Sunday 8 March and repeated on
		// Sunday 1 November.
		{"havana midnight", "0 0 * * *", "America/Havana", "2026-03-07T12:00:00-05:00", []string{
			"2026-03-09T00:00:00-04:00",
		}},
		{"havana midnight fall", "0 0 * * *", "America/Havana", "2026-10-31T12:00:00-04:00", []string{
			"2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00",
		}},
		// Pacific/Apia skipped 30 December 2011 entirely.
		{"apia skipped day", "0 12 * * *", "Pacific/Apia", "2011-12-29T00:00:00-10:00", []string{
			"2011-12-29T12:00:00-10:00", "2011-12-31T12:00:00+14:00",
		}},
		// Asia/Tokyo has no DST; "after" is exactly a firing, which is excluded.
		{"tokyo weekdays", "0 9 * * 1-5", "Asia/Tokyo", "2026-01-01T00:00:00Z", []string{
			"2026-01-02T09:00:00+09:00", "2026-01-05T09:00:00+09:00", "2026-01-06T09:00:00+09:00",
		}},
		{"tokyo month end", "30 23 28-31 * *", "Asia/Tokyo", "2026-02-27T00:00:00+09:00", []string{
			"2026-02-28T23:30:00+09:00", "2026-03-28T23:30:00+09:00", "2026-03-29T23:30:00+09:00",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustParse(t, c.cron, "", c.tz)
			assertTimes(t, c.name, firings(t, s, mustTime(t, c.from), len(c.want)), c.want)
		})
	}
}

func TestOneShot(t *testing.T) {
	s := mustParse(t, "", "2026-05-01T09:00:00+02:00", "Europe/Paris")
	at := mustTime(t, "2026-05-01T09:00:00+02:00")
	if next, ok := s.Next(at.Add(-time.Hour)); !ok || !next.Equal(at) || next.Location().String() != "Europe/Paris" {
		t.Fatalf("before: %v %v", next, ok)
	}
	if _, ok := s.Next(at); ok {
		t.Fatal("a one-shot fired again at its own time")
	}
	if _, ok := s.Next(at.Add(time.Hour)); ok {
		t.Fatal("a past one-shot fired")
	}
}

func TestAtPlusCron(t *testing.T) {
	s := mustParse(t, "0 9 * * *", "2026-05-01T10:00:00+02:00", "Europe/Paris")
	assertTimes(t, "start after 09:00", firings(t, s, mustTime(t, "2026-04-01T00:00:00Z"), 2),
		[]string{"2026-05-02T09:00:00+02:00", "2026-05-03T09:00:00+02:00"})

	s = mustParse(t, "0 9 * * *", "2026-05-01T09:00:00+02:00", "Europe/Paris")
	assertTimes(t, "start exactly on a firing", firings(t, s, mustTime(t, "2026-04-01T00:00:00Z"), 2),
		[]string{"2026-05-01T09:00:00+02:00", "2026-05-02T09:00:00+02:00"})

	// Once past At, the cron alone decides.
	assertTimes(t, "past At", firings(t, s, mustTime(t, "2026-06-10T12:00:00+02:00"), 1),
		[]string{"2026-06-11T09:00:00+02:00"})
	if s.OneShot() {
		t.Fatal("At+cron is not a one-shot")
	}
}

func TestHandBuiltSpec(t *testing.T) {
	paris, _ := LoadZone("Europe/Paris")
	s := Spec{Cron: "0 9 * * *", Location: paris}
	assertTimes(t, "hand-built", firings(t, s, mustTime(t, "2026-05-01T12:00:00+02:00"), 1),
		[]string{"2026-05-02T09:00:00+02:00"})
	if _, ok := (Spec{Cron: "nonsense"}).Next(time.Now()); ok {
		t.Fatal("invalid hand-built cron fired")
	}
	if _, ok := (Spec{}).Next(time.Now()); ok {
		t.Fatal("empty spec fired")
	}
}

func TestCatchUp(t *testing.T) {
	hourly := mustParse(t, "0 * * * *", "", "Europe/Paris")
	r := CatchUp(hourly, mustTime(t, "2026-06-01T10:00:00+02:00"), mustTime(t, "2026-06-01T15:20:00+02:00"))
	if !r.HasDue || r.Due.Format(time.RFC3339) != "2026-06-01T15:00:00+02:00" ||
		!r.HasNext || r.Next.Format(time.RFC3339) != "2026-06-01T16:00:00+02:00" {
		t.Fatalf("five missed hours: %+v", r)
	}

	r = CatchUp(hourly, mustTime(t, "2026-06-01T15:00:00+02:00"), mustTime(t, "2026-06-01T15:20:00+02:00"))
	if r.HasDue || !r.HasNext || r.Next.Format(time.RFC3339) != "2026-06-01T16:00:00+02:00" {
		t.Fatalf("nothing missed: %+v", r)
	}

	// A firing exactly at now is due, and the next one is after it.
	r = CatchUp(hourly, mustTime(t, "2026-06-01T14:00:00+02:00"), mustTime(t, "2026-06-01T15:00:00+02:00"))
	if !r.HasDue || r.Due.Format(time.RFC3339) != "2026-06-01T15:00:00+02:00" || r.Next.Format(time.RFC3339) != "2026-06-01T16:00:00+02:00" {
		t.Fatalf("due at now: %+v", r)
	}

	// A year down with an every-minute cron: still one firing.
	every := mustParse(t, "* * * * *", "", "UTC")
	r = CatchUp(every, mustTime(t, "2025-06-01T00:00:00Z"), mustTime(t, "2026-06-01T12:34:56Z"))
	if !r.HasDue || r.Due.Format(time.RFC3339) != "2026-06-01T12:34:00Z" || r.Next.Format(time.RFC3339) != "2026-06-01T12:35:00Z" {
		t.Fatalf("long downtime: %+v", r)
	}

	// A monthly cron missed twice.
	monthly := mustParse(t, "0 8 1 * *", "", "America/New_York")
	r = CatchUp(monthly, mustTime(t, "2026-01-01T08:00:00-05:00"), mustTime(t, "2026-03-15T00:00:00-04:00"))
	if !r.HasDue || r.Due.Format(time.RFC3339) != "2026-03-01T08:00:00-05:00" || r.Next.Format(time.RFC3339) != "2026-04-01T08:00:00-04:00" {
		t.Fatalf("monthly: %+v", r)
	}

	// A one-shot missed while down runs once and has no next.
	once := mustParse(t, "", "2026-06-01T12:00:00Z", "UTC")
	r = CatchUp(once, mustTime(t, "2026-06-01T11:00:00Z"), mustTime(t, "2026-06-01T13:00:00Z"))
	if !r.HasDue || !r.Due.Equal(mustTime(t, "2026-06-01T12:00:00Z")) || r.HasNext {
		t.Fatalf("one-shot: %+v", r)
	}
	r = CatchUp(once, mustTime(t, "2026-06-01T12:00:00Z"), mustTime(t, "2026-06-01T13:00:00Z"))
	if r.HasDue || r.HasNext {
		t.Fatalf("one-shot already run: %+v", r)
	}

	// At+cron: firings before At were never due.
	startLater := mustParse(t, "0 * * * *", "2026-06-01T12:30:00Z", "UTC")
	r = CatchUp(startLater, mustTime(t, "2026-06-01T00:00:00Z"), mustTime(t, "2026-06-01T12:45:00Z"))
	if r.HasDue || r.Next.Format(time.RFC3339) != "2026-06-01T13:00:00Z" {
		t.Fatalf("at+cron before start: %+v", r)
	}
}

// TestNoFiringAfterYear9999: RFC 3339 writes years up to 9999, so a start
// time after 9999-12-31T23:59:59.999Z (UTC) is refused and a firing that
// would fall after it is no firing: the schedule ends there.
func TestNoFiringAfterYear9999(t *testing.T) {
	if _, err := Parse("", "9999-12-31T23:59:00-01:00", "UTC"); err == nil {
		t.Errorf("a start time in year 10000 (UTC) was accepted")
	}
	s := mustParse(t, "0 * * * *", "", "UTC")
	got := firings(t, s, mustTime(t, "9999-12-31T21:30:00Z"), 5)
	if want := []string{"9999-12-31T22:00:00Z", "9999-12-31T23:00:00Z"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("last firings = %v, want %v", got, want)
	}
	ny := mustParse(t, "0 23 31 12 *", "", "America/New_York")
	if next, ok := ny.Next(mustTime(t, "9999-12-31T00:00:00Z")); ok {
		t.Errorf("a firing at %s (UTC %s) was computed", next, next.UTC())
	}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC), true},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC), false},
	} {
		if got := Representable(tc.at); got != tc.want {
			t.Errorf("Representable(%s) = %v", tc.at, got)
		}
	}
}
