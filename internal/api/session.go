package api

import (
	"context"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// sessionKey carries a principal that the embedded console authenticated
// with a member's session cookie. Only code in this process can put it in
// a request's context (the key type is unexported and the console builds its
// requests itself), so no network client can forge it.
type sessionKey struct{}

// WithSession returns a context whose requests act as p: the console calls
// the API in process with it, so every page reads and writes through the
// same routes, permission table, validation, tenancy and audit log as an API
// client does.
func WithSession(ctx context.Context, p model.Principal) context.Context {
	return context.WithValue(ctx, sessionKey{}, p)
}

func sessionPrincipal(ctx context.Context) (model.Principal, bool) {
	p, ok := ctx.Value(sessionKey{}).(model.Principal)
	return p, ok
}
