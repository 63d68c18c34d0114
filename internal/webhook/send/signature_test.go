package send

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test vector published with the Standard Webhooks specification and
// used by its reference libraries.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorHeaders(sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderID, vectorID)
	h.Set(HeaderTimestamp, strconv.Itoa(vectorTimestamp))
	h.Set(HeaderSignature, sig)
	return h
}

var vectorNow = time.Unix(vectorTimestamp, 0)

func TestSignPublishedVector(t *testing.T) {
	got, err := Sign(vectorSecret, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != vectorSignature {
		t.Fatalf("Sign = %s, want %s", got, vectorSignature)
	}
	// The prefix is optional, as in the reference libraries.
	got, _ = Sign(strings.TrimPrefix(vectorSecret, SecretPrefix), vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if got != vectorSignature {
		t.Fatalf("Sign without prefix = %s", got)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(vectorBody)
	cases := []struct {
		name    string
		headers http.Header
		body    []byte
		now     time.Time
		want    error
	}{
		{"published vector", vectorHeaders(vectorSignature), body, vectorNow, nil},
		{"within tolerance", vectorHeaders(vectorSignature), body, vectorNow.Add(4 * time.Minute), nil},
		{"tampered body", vectorHeaders(vectorSignature), []byte(`{"test": 2432232315}`), vectorNow, ErrNoMatchingSignature},
		{"tampered id", func() http.Header {
			h := vectorHeaders(vectorSignature)
			h.Set(HeaderID, vectorID+"x")
			return h
		}(), body, vectorNow, ErrNoMatchingSignature},
		{"tampered timestamp", func() http.Header {
			h := vectorHeaders(vectorSignature)
			h.Set(HeaderTimestamp, strconv.Itoa(vectorTimestamp+1))
			return h
		}(), body, vectorNow, ErrNoMatchingSignature},
		{"old timestamp", vectorHeaders(vectorSignature), body, vectorNow.Add(6 * time.Minute), ErrTimestampTooOld},
		{"future timestamp", vectorHeaders(vectorSignature), body, vectorNow.Add(-6 * time.Minute), ErrTimestampTooNew},
		{"rotation: second signature matches", vectorHeaders("v1,Zm9v " + vectorSignature), body, vectorNow, nil},
		{"rotation: first signature matches", vectorHeaders(vectorSignature + " v1,Zm9v"), body, vectorNow, nil},
		{"other version ignored", vectorHeaders("v2," + strings.TrimPrefix(vectorSignature, "v1,")), body, vectorNow, ErrNoMatchingSignature},
		{"truncated signature", vectorHeaders(vectorSignature[:len(vectorSignature)-4]), body, vectorNow, ErrNoMatchingSignature},
		{"garbage signature", vectorHeaders("nonsense"), body, vectorNow, ErrNoMatchingSignature},
		{"missing signature", func() http.Header {
			h := vectorHeaders(vectorSignature)
			h.Del(HeaderSignature)
			return h
		}(), body, vectorNow, ErrMissingHeaders},
		{"bad timestamp", func() http.Header {
			h := vectorHeaders(vectorSignature)
			h.Set(HeaderTimestamp, "yesterday")
			return h
		}(), body, vectorNow, ErrInvalidTimestamp},
		{"absurd timestamp", func() http.Header {
			h := vectorHeaders(vectorSignature)
			h.Set(HeaderTimestamp, "-9223372036854775808")
			return h
		}(), body, vectorNow, ErrTimestampTooOld},
	}
	for _, c := range cases {
		err := VerifyAt(vectorSecret, c.headers, c.body, 5*time.Minute, c.now)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: VerifyAt = %v, want %v", c.name, err, c.want)
		}
	}
	if err := VerifyAt("whsec_"+base64.StdEncoding.EncodeToString([]byte("another key of 24 bytes!")),
		vectorHeaders(vectorSignature), body, 0, vectorNow); !errors.Is(err, ErrNoMatchingSignature) {
		t.Errorf("wrong secret: %v", err)
	}
	if err := VerifyAt("whsec_!!!", vectorHeaders(vectorSignature), body, 0, vectorNow); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("invalid secret: %v", err)
	}
}

func TestVerifyUsesTheClock(t *testing.T) {
	// Verify reads time.Now: a message signed now passes, one signed an hour
	// ago does not. The margins are minutes, so no timing flakiness.
	secret := NewSecret()
	for _, c := range []struct {
		age  time.Duration
		want error
	}{{0, nil}, {time.Hour, ErrTimestampTooOld}} {
		ts := time.Now().Add(-c.age)
		sig, err := Sign(secret, "msg_1", ts, []byte("{}"))
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set(HeaderID, "msg_1")
		h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(HeaderSignature, sig)
		if err := Verify(secret, h, []byte("{}"), 5*time.Minute); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("age %s: %v, want %v", c.age, err, c.want)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two equal secrets")
	}
	for _, s := range []string{a, b} {
		if !strings.HasPrefix(s, "whsec_") {
			t.Fatalf("%q lacks the whsec_ prefix", s)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(key) != 32 {
			t.Fatalf("%q: %d bytes, %v", s, len(key), err)
		}
	}
}

func TestSignRejectsBadSecrets(t *testing.T) {
	for _, s := range []string{"", "whsec_", "whsec_c2hvcnQ=", "whsec_not base64", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65))} {
		if _, err := Sign(s, "id", time.Unix(0, 0), nil); !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("Sign with %q: %v", s, err)
		}
	}
}
