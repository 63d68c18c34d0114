// Package secret encrypts stored credentials with AES-256-GCM.
//
// A Keyring holds one active key, used for every new ciphertext, plus any
// number of older keys that can still decrypt. Each ciphertext is stored with
// the id of the key that sealed it, so operators rotate by adding a new key in
// front and re-sealing at leisure.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrUnknownKey means a ciphertext names a key id the keyring does not hold.
var ErrUnknownKey = errors.New("secret: ciphertext sealed with an unknown key id")

type Keyring struct {
	active string
	aeads  map[string]cipher.AEAD
	checks map[string]string // kid -> Check
	kids   []string          // as given, the active one first
}

// checkConstant is what a key check authenticates (see Check).
const checkConstant = "firstmate/secret/key-check/v1"

// Parse reads a keyring spec: comma-separated "kid:base64key" entries, the
// first one active. Keys must be 32 bytes.
func Parse(spec string) (*Keyring, error) {
	kr := &Keyring{aeads: map[string]cipher.AEAD{}, checks: map[string]string{}}
	for _, part := range strings.Split(strings.TrimSpace(spec), ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kid, b64, ok := strings.Cut(part, ":")
		if !ok || kid == "" {
			return nil, errors.New("secret: key entries must look like kid:base64key")
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			raw, err = base64.RawURLEncoding.DecodeString(b64)
		}
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("secret: key %q must be 32 bytes of base64", kid)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		if _, dup := kr.aeads[kid]; dup {
			return nil, fmt.Errorf("secret: key id %q given twice", kid)
		}
		kr.aeads[kid] = aead
		m := hmac.New(sha256.New, raw)
		m.Write([]byte(checkConstant))
		kr.checks[kid] = base64.StdEncoding.EncodeToString(m.Sum(nil))
		kr.kids = append(kr.kids, kid)
		if kr.active == "" {
			kr.active = kid
		}
	}
	if kr.active == "" {
		return nil, errors.New("secret: no key given")
	}
	return kr, nil
}

// NewSpec returns a fresh single-key spec with the given id.
func NewSpec(kid string) string {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return kid + ":" + base64.StdEncoding.EncodeToString(k)
}

// LoadFile reads the keyring spec from path; an error matching
// os.ErrNotExist when there is no such file.
func LoadFile(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(string(data))
}

// LoadOrCreateFile reads the keyring spec from path, creating it with mode
// 0600 and one fresh key when it does not exist yet.
func LoadOrCreateFile(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		spec := NewSpec("k1")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreateFile(path) // another process won the race
		}
		if err != nil {
			return nil, err
		}
		if _, err := f.WriteString(spec + "\n"); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		return Parse(spec)
	}
	if err != nil {
		return nil, err
	}
	return Parse(string(data))
}

// ActiveKID is the id of the key that seals new ciphertexts.
func (k *Keyring) ActiveKID() string { return k.active }

// KIDs lists the key ids, the active one first.
func (k *Keyring) KIDs() []string { return append([]string(nil), k.kids...) }

// Check is the key check of kid: HMAC-SHA256 of a constant under the key,
// in base64. Stored next to the data, it tells whether a key given later
// under the same id is the same key, without storing the key. ok is false
// when the keyring has no such key.
func (k *Keyring) Check(kid string) (check string, ok bool) {
	check, ok = k.checks[kid]
	return check, ok
}

// Seal encrypts plaintext under the active key. additional binds the
// ciphertext to its row (e.g. the integration uid) so it cannot be moved.
func (k *Keyring) Seal(plaintext, additional []byte) (kid string, ciphertext []byte) {
	aead := k.aeads[k.active]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return k.active, aead.Seal(nonce, nonce, plaintext, additional)
}

// Open decrypts a ciphertext sealed under kid.
func (k *Keyring) Open(kid string, ciphertext, additional []byte) ([]byte, error) {
	aead, ok := k.aeads[kid]
	if !ok {
		return nil, ErrUnknownKey
	}
	if len(ciphertext) < aead.NonceSize() {
		return nil, errors.New("secret: ciphertext too short")
	}
	nonce, body := ciphertext[:aead.NonceSize()], ciphertext[aead.NonceSize():]
	pt, err := aead.Open(nil, nonce, body, additional)
	if err != nil {
		return nil, errors.New("secret: ciphertext does not authenticate")
	}
	return pt, nil
}
