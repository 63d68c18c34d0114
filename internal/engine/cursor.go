package engine

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
)

// CursorTTL is how long a pagination cursor works.
const CursorTTL = 24 * time.Hour

// cursor is the state behind an opaque pagination cursor. It is sealed with
// the server keyring (AES-GCM): clients can neither read nor forge it.
type cursor struct {
	Slug      string `json:"s"`
	Workspace int64  `json:"w"` // a cursor only works in the workspace that got it
	Request   string `json:"h"` // hash of the request it continues
	Page      int    `json:"p"`
	Token     string `json:"t,omitempty"` // the platform's own page token
	// Skip is how many results of the page were served already: a page cut
	// short by the credit balance goes on from its first unpaid result.
	Skip    int   `json:"k,omitempty"`
	Expires int64 `json:"x"`
}

var cursorAD = []byte("firstmate-cursor-v1")

func requestHash(slug string, input, params map[string]any) string {
	b, _ := json.Marshal([]any{slug, input, params})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

func (e *Engine) sealCursor(c cursor) string {
	b, _ := json.Marshal(c)
	kid, ct := e.Keys.Seal(b, cursorAD)
	return base64.RawURLEncoding.EncodeToString(append([]byte(kid+"."), ct...))
}

func (e *Engine) openCursor(raw string, workspaceID int64, slug, reqHash string, now time.Time) (cursor, error) {
	bad := apperr.BadParameters("querystring/cursor is not a valid cursor for this request")
	data, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil || len(raw) > 4096 {
		return cursor{}, bad
	}
	kid, ct, ok := cut(data, '.')
	if !ok {
		return cursor{}, bad
	}
	pt, err := e.Keys.Open(string(kid), ct, cursorAD)
	if err != nil {
		return cursor{}, bad
	}
	var c cursor
	if json.Unmarshal(pt, &c) != nil || c.Slug != slug || c.Workspace != workspaceID || c.Request != reqHash {
		return cursor{}, bad
	}
	if now.Unix() > c.Expires {
		return cursor{}, apperr.BadParameters("querystring/cursor has expired (cursors last 24 hours); start again from the first page")
	}
	return c, nil
}

func cut(b []byte, sep byte) (before, after []byte, ok bool) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:], true
		}
	}
	return nil, nil, false
}
