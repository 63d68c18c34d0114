package logthrottle

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// A failure repeated many times within the interval is written once;
// other failures, infos and records carrying an error_ref all pass.
func TestRepeatsWithinIntervalAreDropped(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(New(slog.NewJSONHandler(&buf, nil), time.Hour)).With("queue", "runs")
	full := errors.New("database or disk is full (13)")
	for range 100 {
		log.Error("producer: Error fetching jobs", "err", full)
	}
	log.Error("producer: Error fetching jobs", "err", errors.New("another cause"))
	log.Error("leadership: Error attempting reelection", "err", full)
	log.Warn("producer: Error fetching jobs", "err", full)
	for range 3 {
		log.Info("progress")
		log.Error("request failed", "error_ref", "ERR-1", "cause", full.Error())
	}
	got := lines(t, &buf)
	count := map[string]int{}
	for _, l := range got {
		count[l["msg"].(string)+"|"+l["level"].(string)]++
	}
	want := map[string]int{
		"producer: Error fetching jobs|ERROR":           2, // two causes
		"leadership: Error attempting reelection|ERROR": 1,
		"producer: Error fetching jobs|WARN":            1,
		"progress|INFO":                                 3,
		"request failed|ERROR":                          3,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d lines, want %d (all: %v)", k, count[k], n, count)
		}
	}
	if got[0]["queue"] != "runs" {
		t.Errorf("attributes lost: %v", got[0])
	}
}

// Once the interval has passed the failure is written again, with how many
// repeats were dropped since.
func TestRepeatedCountAfterInterval(t *testing.T) {
	var buf bytes.Buffer
	h := New(slog.NewJSONHandler(&buf, nil), time.Hour)
	log := slog.New(h)
	for range 5 {
		log.Error("fetch failed", "err", "disk full")
	}
	h.every = 0 // the interval is over
	log.Error("fetch failed", "err", "disk full")
	got := lines(t, &buf)
	if len(got) != 2 || got[1]["repeated"] != float64(4) || got[0]["repeated"] != nil {
		t.Fatalf("lines %v", got)
	}
}
