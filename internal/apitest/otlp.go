package apitest

import (
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// OTLPReceiver is an OpenTelemetry collector's OTLP/HTTP trace endpoint on
// a loopback port, for tests of tracing: it decodes every export (the
// protobuf a real collector decodes) and keeps the spans and the export
// requests' headers. Its URL is what OTEL_EXPORTER_OTLP_ENDPOINT takes.
type OTLPReceiver struct {
	URL string

	mu      sync.Mutex
	spans   []Span
	headers []http.Header
	errs    []error
}

// Span is one exported span, flattened: ids in hex, attribute values as
// text.
type Span struct {
	TraceID, SpanID, ParentID string
	Name                      string
	// Kind is the OTLP kind: 1 internal, 2 server, 3 client, 4 producer,
	// 5 consumer.
	Kind       int
	Attrs      map[string]string
	StatusCode int // 0 unset, 1 ok, 2 error
	StatusMsg  string
	Resource   map[string]string
	Scope      string
	// Events and links, as text, for tests that look for what must not
	// be there.
	Extra []string
}

// NewOTLPReceiver starts a receiver, closed when the test ends.
func NewOTLPReceiver(t testing.TB) *OTLPReceiver {
	r := &OTLPReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *OTLPReceiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
		http.Error(w, "not an OTLP traces endpoint", http.StatusNotFound)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			r.fail(w, err)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		r.fail(w, err)
		return
	}
	var msg coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &msg); err != nil {
		r.fail(w, fmt.Errorf("decoding an export (%s): %w", req.Header.Get("Content-Type"), err))
		return
	}
	var got []Span
	for _, rs := range msg.GetResourceSpans() {
		res := attrText(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				sp := Span{TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentID: hex.EncodeToString(s.GetParentSpanId()), Name: s.GetName(), Kind: int(s.GetKind()),
					Attrs: attrText(s.GetAttributes()), StatusCode: int(s.GetStatus().GetCode()),
					StatusMsg: s.GetStatus().GetMessage(), Resource: res, Scope: ss.GetScope().GetName()}
				for _, e := range s.GetEvents() {
					sp.Extra = append(sp.Extra, e.GetName(), fmt.Sprint(attrText(e.GetAttributes())))
				}
				for _, l := range s.GetLinks() {
					sp.Extra = append(sp.Extra, hex.EncodeToString(l.GetTraceId()), fmt.Sprint(attrText(l.GetAttributes())))
				}
				got = append(got, sp)
			}
		}
	}
	r.mu.Lock()
	r.spans = append(r.spans, got...)
	r.headers = append(r.headers, req.Header.Clone())
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (r *OTLPReceiver) fail(w http.ResponseWriter, err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// Spans returns the spans received so far.
func (r *OTLPReceiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Exports returns the headers of each export request received so far.
func (r *OTLPReceiver) Exports() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.headers...)
}

// Errors returns the exports the receiver could not decode.
func (r *OTLPReceiver) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func attrText(kvs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		out[kv.GetKey()] = valueText(kv.GetValue())
	}
	return out
}

func valueText(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	case *commonpb.AnyValue_BytesValue:
		return hex.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		var parts []string
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, valueText(e))
		}
		return fmt.Sprint(parts)
	case *commonpb.AnyValue_KvlistValue:
		return fmt.Sprint(attrText(x.KvlistValue.GetValues()))
	}
	return ""
}
