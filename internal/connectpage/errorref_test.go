package connectpage_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/firstmate-oss/firstmate/internal/apitest"
)

// get fetches a connect page with the given Accept header.
func get(t *testing.T, e *apitest.Env, link, accept string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", link, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// logLineOf returns the JSON log line that carries ref (nil when none).
func logLineOf(t *testing.T, logs, ref string) map[string]any {
	t.Helper()
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, ref) {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			return m
		}
	}
	return nil
}

var refRE = regexp.MustCompile(`ERR-[0-9A-Z]{10}`)

// TestConnectPageFailureIsLoggedWithItsRef: when the hosted page fails (its
// database table is gone), the 500 (JSON for an API client, HTML for a
// browser) carries an error_ref, and the log line with that ref gives the
// cause.
func TestConnectPageFailureIsLoggedWithItsRef(t *testing.T) {
	apitest.ForEachDialect(t, func(t *testing.T, dialect string) {
		e := apitest.Start(t, dialect)
		key := e.NewWorkspace("Broken page", "developer")
		uid := e.Must(200, "POST", "/v4/identities", key, map[string]any{"name": "Ada Lovelace"}).Obj()["uid"].(string)
		link := e.Must(200, "POST", "/v4/identities/"+uid+"/generate-login-links", key, nil).Obj()["linkedin"].(string) // {"linkedin": URL}, as the reference answers
		ctx := context.Background()
		if _, err := e.App.DB.Handles().Write.ExecContext(ctx, `ALTER TABLE login_links RENAME TO login_links_away`); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if _, err := e.App.DB.Handles().Write.ExecContext(ctx, `ALTER TABLE login_links_away RENAME TO login_links`); err != nil {
				t.Fatal(err)
			}
		}()
		for _, accept := range []string{"application/json", "text/html"} {
			status, body := get(t, e, link, accept)
			ref := refRE.FindString(body)
			if status != 500 || ref == "" {
				t.Errorf("Accept %s: %d %s, want a 500 with an error_ref", accept, status, body)
				continue
			}
			line := logLineOf(t, e.Logs.String(), ref)
			if line == nil {
				t.Errorf("Accept %s: %s is not in the log", accept, ref)
				continue
			}
			if cause, _ := line["cause"].(string); !strings.Contains(cause, "login_links") {
				t.Errorf("Accept %s: the log line of %s does not give the cause: %v", accept, ref, line)
			}
		}
	})
}
