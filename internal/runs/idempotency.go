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
)

// Fingerprint identifies what an async submission asks for: the action and
// the decoded request (inputs with their custom_data, parameters with
// defaults applied, identities, callback), so that the same request sent
// again with other whitespace or key order is the same request. Inputs are
// hashed one at a time: a 100,000-input submission is never rendered whole.
func Fingerprint(a *catalog.Action, req *catalog.AsyncRequest) string {
	h := sha256.New()
	write := func(v any) {
		b, _ := json.Marshal(v) // maps marshal with sorted keys
		writeLen(h, len(b))
		h.Write(b)
	}
	write(a.Slug)
	write(len(req.Inputs))
	for _, in := range req.Inputs {
		write(in.Values)
		write(in.CustomData)
	}
	write(req.Parameters)
	write(req.IdentityIDs)
	write(req.IdentityMode)
	write(req.Callback)
	return hex.EncodeToString(h.Sum(nil))
}

// writeLen frames each part, so that two requests can never hash alike by
// moving bytes from one part to the next.
func writeLen(h hash.Hash, n int) {
	var b [8]byte
	for i := range b {
		b[i] = byte(n >> (8 * i))
	}
	h.Write(b[:])
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
