package jobs

import (
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// A chunk or delivery job that failed (its node stopped or lost its lease
// mid-pass, PostgreSQL restarted) is retried within seconds for its first
// twenty failures, not after River's errors^4 seconds (256 s at the
// fourth), which in the chaos suite left runs RUNNING minutes after the
// faults; from the 21st on, River's default applies (the zero time), so a
// job failing for good still backs off.
func TestQuickRetry(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	// errors already recorded -> the wait before the next try
	want := []time.Duration{1 * time.Second, 4 * time.Second}
	for len(want) < 20 {
		want = append(want, 5*time.Second)
	}
	for prior := 0; prior < 25; prior++ {
		row := &rivertype.JobRow{Errors: make([]rivertype.AttemptError, prior)}
		got := quickRetry(row, now)
		if prior < len(want) {
			if !got.Equal(now.Add(want[prior])) {
				t.Errorf("after %d earlier errors: next try at %v, want %v", prior, got.Sub(now), want[prior])
			}
		} else if !got.IsZero() {
			t.Errorf("after %d earlier errors: next try at %v, want River's default (zero time)", prior, got.Sub(now))
		}
	}
	// Both workers use it (River takes a worker's non-zero NextRetry over
	// its client's policy).
	before := time.Now()
	row := &rivertype.JobRow{Errors: make([]rivertype.AttemptError, 3)}
	for name, got := range map[string]time.Time{
		"chunk":    (&chunkWorker{}).NextRetry(&river.Job[ChunkArgs]{JobRow: row}),
		"delivery": (&deliverWorker{}).NextRetry(&river.Job[DeliverArgs]{JobRow: row}),
	} {
		if got.Before(before.Add(5*time.Second)) || got.After(time.Now().Add(5*time.Second)) {
			t.Errorf("%s worker: fourth failure retried at now%+v, want now+5s", name, got.Sub(before))
		}
	}
}
