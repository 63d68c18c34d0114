package main

import (
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/bench/internal/benchkit"
)

// TestReadRatioCountsCorrectAnswersOnly: errors and wrong bodies answered
// fast are not throughput.
func TestReadRatioCountsCorrectAnswersOnly(t *testing.T) {
	get := benchkit.LoadResult{Dur: time.Second, OK: 300, Errors: 700}
	bare := benchkit.LoadResult{Dur: time.Second, OK: 1000}
	if got := readRatio(get, bare); got != 0.3 {
		t.Errorf("ratio %v, want 0.3", got)
	}
	if got := readRatio(get, benchkit.LoadResult{Dur: time.Second, Errors: 5}); got != 0 {
		t.Errorf("ratio against a baseline with no correct answer = %v, want 0", got)
	}
}
