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

// OpenAPIHandler serves the document (GET /v4/executor-protocol.json).
func OpenAPIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, `{"error_label":"METHOD_NOT_ALLOWED"}`, http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(openAPI)))
		w.Header().Set("Cache-Control", "public, max-age=3600")
		if r.Method == http.MethodGet {
			_, _ = w.Write(openAPI)
		}
	})
}
