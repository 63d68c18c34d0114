package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestUnencodableAnswerIsLoggedWithItsRef: a handler answer that JSON
// cannot encode (a bug) is a 500 whose error_ref is in the server's log, on
// the line that gives the cause.
func TestUnencodableAnswerIsLoggedWithItsRef(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&logs, nil))}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &rctx{s: s, w: w, r: r, route: &Route{}}
		if err := c.ok(map[string]any{"value": math.Inf(1)}); err != nil {
			s.writeError(w, r, err)
		}
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v4/things", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 500 {
		t.Fatalf("answer %d %s", rec.Code, rec.Body)
	}
	ref, _ := body["error_ref"].(string)
	if ref == "" || body["error_label"] != "INTERNAL_ERROR" {
		t.Fatalf("error body %v", body)
	}
	found := false
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if !strings.Contains(line, ref) {
			continue
		}
		found = true
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if cause, _ := rec["cause"].(string); !strings.Contains(cause, "+Inf") {
			t.Errorf("the log line of %s does not give the cause: %s", ref, line)
		}
	}
	if !found {
		t.Errorf("error_ref %s is not in the server log:\n%s", ref, logs.String())
	}
}
