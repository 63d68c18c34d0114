package runs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/catalog"
	"github.com/firstmate-oss/firstmate/internal/model"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// Fingerprint identifies what an async submission asks for: the action and
// the decoded request (inputs with their custom_data, parameters with
// defaults applied, identities, callback), so that the same request sent
// again with other whitespace, key order or field aliases is the same
// request. It is what SubmitStream computes one input at a time.
func Fingerprint(a *catalog.Action, req *catalog.AsyncRequest) (string, error) {
	f := newFingerprint(a)
	for i, in := range req.Inputs {
		ni, err := newInput(a, i, in)
		if err != nil {
			return "", err
		}
		f.add(ni)
	}
	return f.sum(req), nil
}

// fingerprint hashes a request while it streams in: the action first, then
// each input as rendered for storage (newInput, so no input is encoded
// twice), then the rest of the request once the body has been read. A
// 100,000-input submission is never held whole.
type fingerprint struct {
	h hash.Hash
	n int
}

func newFingerprint(a *catalog.Action) *fingerprint {
	f := &fingerprint{h: sha256.New()}
	f.write([]byte(a.Slug))
	return f
}

// add hashes the next input.
func (f *fingerprint) add(in store.NewInput) {
	f.n++
	f.write([]byte(in.Input))
	f.write([]byte(in.CustomData)) // "" when the input has none, never valid JSON
}

// sum hashes the input count and the rest of the request, and returns the
// fingerprint.
func (f *fingerprint) sum(req *catalog.AsyncRequest) string {
	for _, v := range []any{f.n, req.Parameters, req.IdentityIDs, req.IdentityMode, req.Callback} {
		b, _ := json.Marshal(v) // maps marshal with sorted keys
		f.write(b)
	}
	return hex.EncodeToString(f.h.Sum(nil))
}

// write frames each part with its length, so that two requests can never
// hash alike by moving bytes from one part to the next.
func (f *fingerprint) write(b []byte) {
	var n [8]byte
	for i := range n {
		n[i] = byte(len(b) >> (8 * i))
	}
	f.h.Write(n[:])
	f.h.Write(b)
}

// reused answers a submission whose Idempotency-Key an earlier submission
// of the workspace already used: the earlier run when the request is the
// same (or the earlier one's is unknown: runs stored before fingerprints),
// 422 IDEMPOTENCY_KEY_REUSED when it differs, as Stripe does.
func reused(first model.Run, firstHash, hash string) (model.Run, error) {
	if firstHash == "" || firstHash == hash {
		return first, nil
	}
	e := &apperr.Error{Status: 422, Label: "IDEMPOTENCY_KEY_REUSED", Scope: apperr.ScopeInput, Message: fmt.Sprintf(
		"this Idempotency-Key was already used by another request (run %s); use a new key for a different request", first.UID)}
	return model.Run{}, e.With("run_uid", first.UID)
}
