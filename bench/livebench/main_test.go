package main

import (
	"math"
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/bench/internal/benchkit"
)

// caseWith is a closed-loop case of n correct answers at p50 ms each over
// one second.
func caseWith(n int, p50ms float64) *caseResult {
	lat := make([]time.Duration, n)
	for i := range lat {
		lat[i] = time.Duration(p50ms * float64(time.Millisecond))
	}
	return &caseResult{load: benchkit.LoadResult{Dur: time.Second, OK: n, Lat: lat}}
}

// TestAddedP50IsTheMedianOfTheRounds: a slow first round does not decide the
// verdict; each round's API p50 is compared with the direct p50s around it.
func TestAddedP50IsTheMedianOfTheRounds(t *testing.T) {
	r := &dbReport{
		direct: caseWith(100, 1), api: caseWith(100, 30), directAgain: caseWith(100, 3), // round 1: 30 - 2 = 28
		more: []round{
			{api: caseWith(100, 4), direct: caseWith(100, 3)},   // round 2: 4 - (3+3)/2 = 1
			{api: caseWith(100, 4.5), direct: caseWith(100, 2)}, // round 3: 4.5 - (3+2)/2 = 2
		},
	}
	got := r.addedP50s()
	want := []float64{28, 1, 2}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Fatalf("added p50s %v, want %v", got, want)
		}
	}
	if m := r.medianAddedP50(); m != 2 {
		t.Errorf("median %v, want 2", m)
	}
}

// TestAddedP50WithoutCorrectAnswers: a round whose API answered nothing
// correctly has no latency to compare; it counts as the worst, not as 0.
func TestAddedP50WithoutCorrectAnswers(t *testing.T) {
	r := &dbReport{direct: caseWith(100, 1), api: caseWith(0, 0), directAgain: caseWith(100, 1)}
	if a := r.medianAddedP50(); !math.IsInf(a, 1) {
		t.Errorf("added p50 of a round with no correct answer = %v, want +Inf", a)
	}
	if m := median([]float64{math.Inf(1), 1, 2}); m != 2 {
		t.Errorf("median = %v, want 2", m)
	}
}

// TestRatiosCountCorrectAnswersOnly: the throughput ratio is of correct
// answers; errors and 429s are not throughput.
func TestRatiosCountCorrectAnswersOnly(t *testing.T) {
	api := caseWith(50, 1)
	api.load.Errors, api.load.Limited = 500, 500
	r := &dbReport{direct: caseWith(100, 1), api: api, directAgain: caseWith(100, 1)}
	if got := r.medianRatio(); got != 0.5 {
		t.Errorf("ratio %v, want 0.5 (50 correct answers against 100)", got)
	}
}
