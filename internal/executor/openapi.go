package executor

import (
	_ "embed"
	"net/http"
	"strconv"
)

//go:embed protocol.openapi.json
var openAPI []byte

// OpenAPI returns the protocol's OpenAPI 3.1 document (a copy).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// OpenAPIHandler serves the document. Mount it on a GET route (the API's
// GET /v4/executor-protocol.json); it needs no authentication.
func OpenAPIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(openAPI)))
		w.Header().Set("Cache-Control", "public, max-age=3600")
		if r.Method != http.MethodHead {
			_, _ = w.Write(openAPI)
		}
	})
}
