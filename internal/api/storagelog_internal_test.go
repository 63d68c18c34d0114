package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer the storage log's timer may write to while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStorageLogKeepsEveryRef: a burst of refused requests far larger than
// one line holds still puts every error_ref on a line with the cause, and
// the burst takes a handful of lines, not one per request.
func TestStorageLogKeepsEveryRef(t *testing.T) {
	var buf syncBuffer
	l := &storageLog{log: slog.New(slog.NewJSONHandler(&buf, nil))}
	const n = 2500
	for i := range n {
		l.add(fmt.Sprintf("ERR-%06d", i), "disk full")
	}
	l.flush() // what the timer would write a second later
	seen := map[string]int{}
	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec struct {
			Refs  []string `json:"error_refs"`
			Cause string   `json:"cause"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Cause != "disk full" {
			t.Fatalf("a line without its cause: %s", line)
		}
		lines++
		for _, r := range rec.Refs {
			seen[r]++
		}
	}
	for i := range n {
		if ref := fmt.Sprintf("ERR-%06d", i); seen[ref] != 1 {
			t.Fatalf("%s logged %d times, want once", ref, seen[ref])
		}
	}
	if lines > 4 {
		t.Fatalf("%d lines for one burst of %d refusals, want a handful", lines, n)
	}
}
