package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/firstmate-oss/firstmate/internal/apperr"
	"github.com/firstmate-oss/firstmate/internal/store"
)

// errorBody is the contract's standard error body (§2).
type errorBody struct {
	ErrorLabel string            `json:"error_label"`
	ErrorScope string            `json:"error_scope"`
	ErrorRef   string            `json:"error_ref"`
	Message    string            `json:"message"`
	StatusCode int               `json:"status_code"`
	Params     map[string]string `json:"params"`
}

const refAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newErrorRef returns ERR- and ten Crockford base32 characters (50 random
// bits): unique enough that a user quoting it finds exactly one log line.
func newErrorRef() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 0, 14)
	out = append(out, "ERR-"...)
	for _, c := range b {
		out = append(out, refAlphabet[c&31])
	}
	return string(out)
}

// toAppErr maps any error to the client-visible error. Unknown errors are
// bugs: INTERNAL_ERROR, cause logged, never shown.
func toAppErr(err error) *apperr.Error {
	if e, ok := apperr.As(err); ok {
		if e.Status == 500 && store.IsUnavailable(e.Cause) {
			return storageUnavailable(e.Cause)
		}
		return e
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apperr.TooLarge("body must NOT be larger than %d bytes", mbe.Limit)
	}
	if errors.Is(err, store.ErrNotFound) {
		return apperr.NotFound("not found")
	}
	if store.IsUnavailable(err) {
		return storageUnavailable(err)
	}
	return apperr.Internal(err)
}

// storageUnavailable is a storage failure the request did not cause and
// that may pass (a full disk, a database that cannot be reached): 503 with
// Retry-After, not a 500.
func storageUnavailable(cause error) *apperr.Error {
	e := apperr.Config(503, labelStorageUnavailable, "the database cannot store or read data right now; retry later").
		With("retry_after", "5")
	e.Scope, e.Cause = apperr.ScopeServer, cause
	return e
}

const labelStorageUnavailable = "STORAGE_UNAVAILABLE"

// appErr is toAppErr, and also 503 STORAGE_UNAVAILABLE for a network
// failure (a bare unexpected EOF, a reset connection) when the database
// does not answer now: its connection was what failed.
func (s *Server) appErr(err error) *apperr.Error {
	e := toAppErr(err)
	if e.Status != http.StatusInternalServerError || !store.MaybeUnavailable(e.Cause) || s.DB == nil {
		return e
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if s.DB.Ping(ctx) != nil {
		return storageUnavailable(e.Cause)
	}
	return e
}

// writeError renders err in the standard body and logs it with its error_ref.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ref, e := s.logError(r, err)
	params := e.Params
	if params == nil {
		params = map[string]string{}
	}
	if e.Status == http.StatusTooManyRequests {
		if ra := w.Header().Get("Retry-After"); ra == "" {
			w.Header().Set("Retry-After", "1")
		}
	}
	if ra := params["retry_after"]; ra != "" && e.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", ra)
	}
	if e.Status == http.StatusMethodNotAllowed && params["allow"] != "" {
		w.Header().Set("Allow", params["allow"])
	}
	body := errorBody{ErrorLabel: e.Label, ErrorScope: e.Scope, ErrorRef: ref, Message: e.Message, StatusCode: e.Status, Params: params}
	buf, encErr := encodeJSON(body)
	if encErr != nil { // not expected of this struct; answer with the ref already logged
		s.log.Error("encode an error body", "error_ref", ref, "cause", encErr.Error())
		buf = internalErrorBody(ref)
	}
	sendJSON(w, e.Status, buf)
}

// logError logs err under a fresh error_ref and returns the ref with the
// client-visible error. A 5xx is logged at error level with its cause on
// the same line, so the ref a client quotes finds what went wrong.
func (s *Server) logError(r *http.Request, err error) (string, *apperr.Error) {
	e := s.appErr(err)
	ref := newErrorRef()
	msg := e.Message
	if logRoute(r) == "unmatched" {
		msg = "no route matched" // the client's message quotes the raw path
	}
	attrs := []any{"error_ref", ref, "status", e.Status, "label", e.Label, "method", r.Method, "route", logRoute(r),
		"message", msg}
	if rc := reqCtxFrom(r); rc != nil && rc.principal != nil {
		attrs = append(attrs, "workspace_uid", rc.principal.WorkspaceUID)
	}
	if e.Status >= 500 && (e.Label == labelStorageUnavailable || e.Label == "NOT_READY") {
		// Once a second at most, each line listing the error_refs it
		// stands for.
		s.storageLog.add(ref, errString(e.Cause))
	} else if e.Status >= 500 {
		attrs = append(attrs, "cause", errString(e.Cause))
		s.log.Error("request failed", attrs...)
	} else {
		s.log.Info("request rejected", attrs...)
	}
	return ref, e
}

// logRoute names the request's route for the log: its pattern, never the
// raw path, because paths carry secrets (login-link, connect and invitation
// tokens). A request no route matched is logged as "unmatched".
func logRoute(r *http.Request) string {
	if r.Pattern == "" || r.Pattern == "/" {
		return "unmatched"
	}
	return r.Pattern
}

// ReportError logs a failure that is shown on a page rather than in the
// standard body (the hosted connect page) and returns its error_ref.
func (s *Server) ReportError(r *http.Request, err error) string {
	ref, _ := s.logError(r, err)
	return ref
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// writeJSON writes v with status. A value that cannot be encoded is a bug:
// the client gets a 500 with an error_ref, logged with the cause (handlers
// answer through rctx.json, which logs it with the request's details).
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf, err := encodeJSON(v)
	if err != nil {
		ref := newErrorRef()
		slog.Error("request failed", "error_ref", ref, "status", http.StatusInternalServerError,
			"cause", "encode the response: "+err.Error())
		status, buf = http.StatusInternalServerError, internalErrorBody(ref)
	}
	sendJSON(w, status, buf)
}

// encodeJSON encodes v into a pooled buffer; sendJSON writes and returns it.
func encodeJSON(v any) (*bytes.Buffer, error) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	if err := encode(buf, v); err != nil {
		putBuffer(buf)
		return nil, err
	}
	return buf, nil
}

func sendJSON(w http.ResponseWriter, status int, buf *bytes.Buffer) {
	defer putBuffer(buf)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 1<<20 { // keep the pool's buffers small
		buf.Reset()
		jsonBuffers.Put(buf)
	}
}

// internalErrorBody is the standard body of a 500 whose own encoding failed.
func internalErrorBody(ref string) *bytes.Buffer {
	b := new(bytes.Buffer)
	b.WriteString(`{"error_label":"INTERNAL_ERROR","error_scope":"server","error_ref":"` + ref +
		`","message":"internal error; quote error_ref when reporting it","status_code":500,"params":{}}` + "\n")
	return b
}

// jsonBuffers reuses response buffers across requests.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
