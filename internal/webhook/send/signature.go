package send

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (https://www.standardwebhooks.com) header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every signing secret; base64 of the key follows.
const SecretPrefix = "whsec_"

// The specification asks for keys of 24 to 64 bytes; NewSecret makes 32.
const (
	secretBytes    = 32
	minSecretBytes = 24
	maxSecretBytes = 64
)

// DefaultTolerance is how far a webhook-timestamp may be from the verifier's
// clock, either way, when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

var (
	ErrInvalidSecret       = errors.New("delivery: invalid signing secret")
	ErrMissingHeaders      = errors.New("delivery: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrInvalidTimestamp    = errors.New("delivery: invalid webhook-timestamp header")
	ErrTimestampTooOld     = errors.New("delivery: webhook-timestamp too old")
	ErrTimestampTooNew     = errors.New("delivery: webhook-timestamp too far in the future")
	ErrNoMatchingSignature = errors.New("delivery: no matching signature")
)

// NewSecret returns a fresh signing secret: "whsec_" and the standard base64
// of 32 random bytes.
func NewSecret() string {
	key := make([]byte, secretBytes)
	_, _ = rand.Read(key) // never fails (crypto/rand, Go 1.24+)
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// decodeSecret returns the HMAC key of a secret. The "whsec_" prefix is
// optional, as in the reference libraries.
func decodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", ErrInvalidSecret)
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d to %d", ErrInvalidSecret, len(key), minSecretBytes, maxSecretBytes)
	}
	return key, nil
}

func mac(key []byte, id string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Sign returns the webhook-signature value for one secret:
// "v1," + base64(HMAC-SHA256(key, id + "." + unix seconds + "." + body)).
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, ts.Unix(), body)), nil
}

// signatureHeader signs with every secret, space-separated, so receivers
// holding either the old or the new secret accept a message sent during a
// rotation.
func signatureHeader(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, id, ts, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// Verify checks a received webhook as a receiver should: the three headers
// are present, the timestamp is within tolerance of now (DefaultTolerance
// when tolerance <= 0), and one of the space-separated v1 signatures matches
// in constant time. Signatures of other versions are ignored. It is used in
// tests and shown in the users' documentation.
func Verify(secret string, headers http.Header, body []byte, tolerance time.Duration) error {
	return VerifyAt(secret, headers, body, tolerance, time.Now())
}

// VerifyAt is Verify with the verifier's clock passed in.
func VerifyAt(secret string, headers http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	id, tsHeader, sigHeader := headers.Get(HeaderID), headers.Get(HeaderTimestamp), headers.Get(HeaderSignature)
	if id == "" || tsHeader == "" || sigHeader == "" {
		return ErrMissingHeaders
	}
	unix, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Compare in seconds so absurd timestamps cannot overflow a Duration.
	tol := int64(tolerance / time.Second)
	switch nowUnix := now.Unix(); {
	case unix < nowUnix-tol:
		return ErrTimestampTooOld
	case unix > nowUnix+tol:
		return ErrTimestampTooNew
	}
	want := mac(key, id, unix, body)
	for _, versioned := range strings.Fields(sigHeader) {
		version, sig, ok := strings.Cut(versioned, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatchingSignature
}
