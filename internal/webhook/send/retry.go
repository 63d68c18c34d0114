package send

import (
	"fmt"
	"strings"
	"time"
)

// Schedule is a retry strategy: entry i is the wait before attempt i+1,
// counted from the end of attempt i (entry 0, normally 0, is the wait
// before the first attempt). len(Schedule) is the number of attempts.
type Schedule []time.Duration

// DefaultSchedule is contract §7: immediately, then 5 s, 5 min, 30 min, 2 h,
// 5 h, 10 h and 10 h; eight attempts over about 27.6 hours.
var DefaultSchedule = Schedule{
	0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// MaxRetryAfter caps how far a receiver's Retry-After can push an attempt.
const MaxRetryAfter = 24 * time.Hour

// ParseSchedule reads a comma-separated list of Go durations, as written
// in configuration: "0s,5s,5m,30m,2h,5h,10h,10h".
func ParseSchedule(s string) (Schedule, error) {
	var out Schedule
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		d, err := time.ParseDuration(part)
		if err != nil {
			return nil, fmt.Errorf("delivery: retry schedule %q: %w", s, err)
		}
		if d < 0 {
			return nil, fmt.Errorf("delivery: retry schedule %q: negative delay %s", s, part)
		}
		out = append(out, d)
	}
	return out, nil
}

// String writes the schedule as ParseSchedule reads it, tersely ("5m", not
// "5m0s").
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		v := d.String()
		if strings.HasSuffix(v, "m0s") {
			v = strings.TrimSuffix(v, "0s")
		}
		if strings.HasSuffix(v, "h0m") {
			v = strings.TrimSuffix(v, "0m")
		}
		parts[i] = v
	}
	return strings.Join(parts, ",")
}

// NextAttempt says when attempt+1 should run, given the result of attempt
// (1-based) that ended at now. There is none after a success, after a
// permanent failure (410 Gone, a forbidden destination, an invalid
// request), or once len(s) attempts were made. Otherwise the wait is the
// schedule's, or the receiver's Retry-After (capped at MaxRetryAfter) when
// that is longer. The time returned is never before now.
func (s Schedule) NextAttempt(attempt int, res Result, now time.Time) (time.Time, bool) {
	if res.Success() || res.Permanent() {
		return time.Time{}, false
	}
	attempt = max(attempt, 1)
	if attempt >= len(s) {
		return time.Time{}, false
	}
	delay := max(s[attempt], 0, min(res.RetryAfter, MaxRetryAfter))
	return now.Add(delay), true
}

// NextAttempt applies DefaultSchedule.
func NextAttempt(attempt int, res Result, now time.Time) (time.Time, bool) {
	return DefaultSchedule.NextAttempt(attempt, res, now)
}
