package send

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var (
	failed    = Result{HTTPStatus: 500}
	succeeded = Result{HTTPStatus: 200}
	t0        = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
)

func TestDefaultScheduleIsTheContracts(t *testing.T) {
	if got := DefaultSchedule.String(); got != "0s,5s,5m,30m,2h,5h,10h,10h" {
		t.Fatalf("DefaultSchedule = %s", got)
	}
	parsed, err := ParseSchedule("0s,5s,5m,30m,2h,5h,10h,10h")
	if err != nil || parsed.String() != DefaultSchedule.String() {
		t.Fatalf("ParseSchedule: %v %v", parsed, err)
	}
}

func TestNextAttemptTable(t *testing.T) {
	cases := []struct {
		name    string
		attempt int
		res     Result
		wantIn  time.Duration
		retry   bool
	}{
		{"after attempt 1", 1, failed, 5 * time.Second, true},
		{"after attempt 2", 2, failed, 5 * time.Minute, true},
		{"after attempt 3", 3, failed, 30 * time.Minute, true},
		{"after attempt 4", 4, failed, 2 * time.Hour, true},
		{"after attempt 5", 5, failed, 5 * time.Hour, true},
		{"after attempt 6", 6, failed, 10 * time.Hour, true},
		{"after attempt 7", 7, failed, 10 * time.Hour, true},
		{"after attempt 8: exhausted", 8, failed, 0, false},
		{"attempt 0 counts as 1", 0, failed, 5 * time.Second, true},
		{"success", 1, succeeded, 0, false},
		{"201", 3, Result{HTTPStatus: 201}, 0, false},
		{"410 gone", 1, Result{HTTPStatus: 410, Gone: true}, 0, false},
		{"404 is retried", 1, Result{HTTPStatus: 404}, 5 * time.Second, true},
		{"3xx is retried", 1, Result{HTTPStatus: 302, Err: ErrRedirect}, 5 * time.Second, true},
		{"timeout", 2, Result{Err: ErrTimeout}, 5 * time.Minute, true},
		{"connection", 2, Result{Err: ErrConnection}, 5 * time.Minute, true},
		{"forbidden address", 1, Result{Err: &AddressError{Reason: "private"}}, 0, false},
		{"invalid request", 1, Result{Err: fmt.Errorf("%w: x", ErrInvalidRequest)}, 0, false},
		{"retry-after longer than schedule", 1, Result{HTTPStatus: 429, RetryAfter: time.Minute}, time.Minute, true},
		{"retry-after shorter than schedule", 3, Result{HTTPStatus: 503, RetryAfter: time.Minute}, 30 * time.Minute, true},
		{"retry-after capped", 1, Result{HTTPStatus: 503, RetryAfter: 72 * time.Hour}, MaxRetryAfter, true},
		{"retry-after does not extend the schedule", 8, Result{HTTPStatus: 503, RetryAfter: time.Minute}, 0, false},
	}
	for _, c := range cases {
		at, retry := NextAttempt(c.attempt, c.res, t0)
		if retry != c.retry {
			t.Errorf("%s: retry = %v", c.name, retry)
			continue
		}
		if retry && at.Sub(t0) != c.wantIn {
			t.Errorf("%s: in %s, want %s", c.name, at.Sub(t0), c.wantIn)
		}
		if !retry && !at.IsZero() {
			t.Errorf("%s: time %s with no retry", c.name, at)
		}
	}
}

func TestFullDefaultScheduleRun(t *testing.T) {
	// A receiver that always fails gets exactly 8 attempts, ending about
	// 27 h 35 min after the first.
	now, attempts := t0, 1
	for {
		at, retry := NextAttempt(attempts, failed, now)
		if !retry {
			break
		}
		now, attempts = at, attempts+1
	}
	if attempts != 8 || now.Sub(t0) != 5*time.Second+5*time.Minute+30*time.Minute+2*time.Hour+5*time.Hour+20*time.Hour {
		t.Fatalf("%d attempts, last after %s", attempts, now.Sub(t0))
	}
}

func TestParseSchedule(t *testing.T) {
	s, err := ParseSchedule(" 0s, 100ms ,1s,1h30m ")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Schedule{0, 100 * time.Millisecond, time.Second, 90 * time.Minute}); fmt.Sprint(s) != fmt.Sprint(want) {
		t.Fatalf("got %v", s)
	}
	if s.String() != "0s,100ms,1s,1h30m" {
		t.Fatalf("String = %s", s.String())
	}
	for _, bad := range []string{"", "5s,", "5", "5s,-1s", "5 s", "soon"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
	// A shortened schedule, as tests and operators use it.
	short, _ := ParseSchedule("0s,10ms,20ms")
	if at, ok := short.NextAttempt(2, failed, t0); !ok || at.Sub(t0) != 20*time.Millisecond {
		t.Fatalf("short schedule: %s %v", at, ok)
	}
	if _, ok := short.NextAttempt(3, failed, t0); ok {
		t.Fatal("short schedule not exhausted after 3 attempts")
	}
}

func genResult(t *rapid.T) Result {
	r := Result{HTTPStatus: rapid.SampledFrom([]int{0, 200, 204, 301, 400, 404, 410, 429, 500, 503}).Draw(t, "status")}
	r.Gone = r.HTTPStatus == 410
	if r.HTTPStatus == 0 {
		r.Err = rapid.SampledFrom([]error{ErrTimeout, ErrConnection, ErrCanceled, &AddressError{Reason: "x"}}).Draw(t, "err")
	}
	if r.HTTPStatus >= 300 && r.HTTPStatus < 400 {
		r.Err = ErrRedirect
	}
	r.RetryAfter = time.Duration(rapid.Int64Range(-int64(time.Hour), int64(100*time.Hour)).Draw(t, "retryAfter"))
	return r
}

// Whatever the results, NextAttempt never schedules before now, never
// sooner than the schedule says, never more than MaxRetryAfter past the
// schedule, and a delivery gets at most len(schedule) attempts.
func TestPropertyNextAttempt(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s Schedule
		if rapid.Bool().Draw(t, "default") {
			s = DefaultSchedule
		} else {
			for _, d := range rapid.SliceOfN(rapid.Int64Range(-int64(time.Hour), int64(48*time.Hour)), 1, 12).Draw(t, "delays") {
				s = append(s, time.Duration(d)) // negative delays too: never before now
			}
		}
		now := time.Unix(rapid.Int64Range(0, 4e9).Draw(t, "start"), 0)
		attempts := 1
		for {
			res := genResult(t)
			at, retry := s.NextAttempt(attempts, res, now)
			if !retry {
				if !at.IsZero() {
					t.Fatalf("no retry but a time: %s", at)
				}
				if !res.Success() && !res.Permanent() && attempts < len(s) {
					t.Fatalf("stopped after %d of %d attempts on %+v", attempts, len(s), res)
				}
				break
			}
			if res.Success() || res.Permanent() {
				t.Fatalf("retry after %+v", res)
			}
			if at.Before(now) {
				t.Fatalf("attempt %d scheduled in the past: %s < %s", attempts+1, at, now)
			}
			delay := at.Sub(now)
			if delay < s[attempts] || delay > max(s[attempts], MaxRetryAfter) {
				t.Fatalf("delay %s, schedule %s, retry-after %s", delay, s[attempts], res.RetryAfter)
			}
			attempts++
			if attempts > len(s) {
				t.Fatalf("%d attempts for a schedule of %d", attempts, len(s))
			}
			now = at
		}
	})
}

func TestResultKinds(t *testing.T) {
	if (Result{HTTPStatus: 200, Err: ErrRedirect}).Success() {
		t.Fatal("an error is not a success")
	}
	wrapped := fmt.Errorf("outer: %w", &AddressError{Reason: "private"})
	if !(Result{Err: wrapped}).Permanent() || !errors.Is(wrapped, ErrForbiddenAddress) {
		t.Fatal("wrapped AddressError not recognised")
	}
}
