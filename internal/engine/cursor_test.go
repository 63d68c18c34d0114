package engine

import (
	"testing"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/secret"
)

func testKeys(t *testing.T) *secret.Keyring {
	t.Helper()
	k, err := secret.Parse(secret.NewSpec("k1"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A cursor opens only for the workspace, action and request it was made
// for, only before it expires, and only as sealed.
func TestCursorBinding(t *testing.T) {
	e := &Engine{Keys: testKeys(t)}
	now := time.Unix(1_800_000_000, 0)
	hash := requestHash("linkedin-extract-conversations", map[string]any{}, map[string]any{"read": true})
	raw := e.sealCursor(cursor{Slug: "linkedin-extract-conversations", Workspace: 7, Request: hash, Page: 3, Token: "p:abc",
		Expires: now.Add(CursorTTL).Unix()})
	c, err := e.openCursor(raw, 7, "linkedin-extract-conversations", hash, now)
	if err != nil || c.Page != 3 || c.Token != "p:abc" {
		t.Fatalf("open: %+v %v", c, err)
	}
	refused := func(what string, raw string, ws int64, slug, h string, at time.Time) {
		t.Helper()
		if _, err := e.openCursor(raw, ws, slug, h, at); !apperr.Is(err, "BAD_PARAMETERS") {
			t.Errorf("%s: %v, want BAD_PARAMETERS", what, err)
		}
	}
	refused("another workspace", raw, 8, "linkedin-extract-conversations", hash, now)
	refused("another action", raw, 7, "linkedin-extract-messages", hash, now)
	refused("another request", raw, 7, "linkedin-extract-conversations",
		requestHash("linkedin-extract-conversations", map[string]any{}, map[string]any{"read": false}), now)
	refused("expired", raw, 7, "linkedin-extract-conversations", hash, now.Add(CursorTTL+time.Second))
	for i := range raw {
		b := []byte(raw)
		b[i] ^= 1
		refused("tampered", string(b), 7, "linkedin-extract-conversations", hash, now)
	}
	other := &Engine{Keys: testKeys(t)}
	refused("another server's key", other.sealCursor(cursor{Slug: "linkedin-extract-conversations", Workspace: 7, Request: hash,
		Page: 2, Expires: now.Add(CursorTTL).Unix()}), 7, "linkedin-extract-conversations", hash, now)
}
