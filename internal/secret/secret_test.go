package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpenAndRotate(t *testing.T) {
	oldSpec := NewSpec("k1")
	old, err := Parse(oldSpec)
	if err != nil {
		t.Fatal(err)
	}
	kid, ct := old.Seal([]byte("li_at=AQEDAT"), []byte("row-1"))
	if kid != "k1" || bytes.Contains(ct, []byte("li_at")) {
		t.Fatalf("kid %q, ciphertext leaks plaintext", kid)
	}
	if _, err := old.Open(kid, ct, []byte("row-2")); err == nil {
		t.Fatal("ciphertext opened under the wrong additional data")
	}
	// Rotation: a new active key in front, the old one still decrypts.
	rotated, err := Parse(NewSpec("k2") + "," + oldSpec)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.ActiveKID() != "k2" {
		t.Fatalf("active %q", rotated.ActiveKID())
	}
	pt, err := rotated.Open(kid, ct, []byte("row-1"))
	if err != nil || string(pt) != "li_at=AQEDAT" {
		t.Fatalf("open after rotation: %q %v", pt, err)
	}
	if _, err := rotated.Open("k9", ct, nil); err != ErrUnknownKey {
		t.Fatalf("unknown kid: %v", err)
	}
}

func TestParseRejectsBadSpecs(t *testing.T) {
	dup := NewSpec("k1")
	for _, spec := range []string{"", "nokid", "k1:short", dup + "," + dup} {
		if _, err := Parse(spec); err == nil {
			t.Errorf("Parse(%q) accepted", spec)
		}
	}
}

func TestLoadOrCreateFileIsPrivateAndStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "secret.key")
	a, err := LoadOrCreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	kid, ct := a.Seal([]byte("x"), nil)
	b, err := LoadOrCreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := b.Open(kid, ct, nil); err != nil || string(pt) != "x" {
		t.Fatalf("reloaded keyring cannot open: %v", err)
	}
}

// TestKeyCheck: a key's check depends on the key only (not on its place in
// the keyring), differs between keys, is an HMAC-SHA256 (32 bytes), and
// does not contain the key.
func TestKeyCheck(t *testing.T) {
	a, b := NewSpec("k1"), NewSpec("k2")
	ka, _ := Parse(a)
	kab, _ := Parse(b + "," + a)
	other, _ := Parse(NewSpec("k1"))
	ca, ok := ka.Check("k1")
	if !ok || len(ca) != 44 { // base64 of 32 bytes
		t.Fatalf("check %q %v", ca, ok)
	}
	if c, _ := kab.Check("k1"); c != ca {
		t.Errorf("the check of k1 depends on the keyring around it")
	}
	if c, _ := other.Check("k1"); c == ca {
		t.Errorf("two keys named k1 have the same check")
	}
	if c2, _ := kab.Check("k2"); c2 == ca {
		t.Errorf("k1 and k2 have the same check")
	}
	if _, ok := ka.Check("k2"); ok {
		t.Errorf("a check for a key the keyring lacks")
	}
	if got := kab.KIDs(); len(got) != 2 || got[0] != "k2" || got[1] != "k1" {
		t.Errorf("KIDs %v, want [k2 k1]", got)
	}
	if bytes.Contains([]byte(ca), []byte(a[3:])) {
		t.Errorf("the check holds the key")
	}
}
