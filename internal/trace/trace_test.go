package trace

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	collpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/record"
)

// collector is a loopback OTLP/HTTP receiver.
type collector struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	hdr   http.Header
	srv   *httptest.Server
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("export to %s as %q, want /v1/traces as protobuf", r.URL.Path, r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		var req collpb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Errorf("export is not an ExportTraceServiceRequest: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.hdr = r.Header.Clone()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				c.spans = append(c.spans, ss.Spans...)
			}
		}
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collpb.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) byName() map[string]*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]*tracepb.Span{}
	for _, s := range c.spans {
		m[s.Name] = s
	}
	return m
}

func attrs(s *tracepb.Span) map[string]*commonpb.AnyValue {
	m := map[string]*commonpb.AnyValue{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestLoopbackCollectorGetsTheSpans(t *testing.T) {
	t.Parallel()
	col := newCollector(t)
	tr, err := New(context.Background(), config.Traces{
		Enabled: true, Endpoint: col.srv.URL, Headers: map[string]string{"X-Api-Key": "collector-key"},
		Timeout: 5 * time.Second,
	}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())

	var upstreamHdr http.Header
	var upstreamTP string
	var bound *record.Record
	h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &record.Record{ID: "req-1", Endpoint: "chat", Principal: record.Principal{ID: "key_abc", Team: "blue"},
			ModelRequested: "deepseek-chat", Route: "chat", ClientIP: "127.0.0.1", Stream: true}
		ctx := r.Context()
		Bind(ctx, rec)
		bound = rec
		_, auth := Start(ctx, "auth")
		auth.End(nil)
		_, waf := Start(ctx, "waf")
		waf.End(apierr.New(http.StatusForbidden, apierr.TypePermission, "request_blocked", "no"))
		actx, att := StartAttempt(ctx, Attempt{Upstream: "ds", System: "deepseek", Operation: "chat", Model: "deepseek-chat", N: 1})
		upstreamHdr = http.Header{}
		Inject(actx, upstreamHdr)
		upstreamTP = Traceparent(actx)
		att.Status(200)
		_, relay := Start(actx, "relay")
		relay.End(nil)
		att.End(nil)
		rec.Upstream, rec.Attempts, rec.ModelServed = "ds", 1, "deepseek-chat-v3"
		rec.Status, rec.Outcome = 200, "ok"
		rec.Usage = record.Usage{PromptTokens: 12, CompletionTokens: 34, TotalTokens: 46}
		rec.AddVerdict(record.Verdict{Stage: "dlp", Rule: "EMAIL", Action: "mask"})
		w.WriteHeader(http.StatusOK)
	}))
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader("{}"))
	// The client's own trace is continued.
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	req.Header.Set("Tracestate", "clientvendor=client-chosen-value")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if bound == nil || bound.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("the record does not carry its trace ID: %+v", bound)
	}
	spans := col.byName()
	root := spans["POST /v1/chat/completions"]
	if root == nil || len(spans) != 5 {
		t.Fatalf("spans = %v, want the request, auth, waf, the attempt and relay", keys(spans))
	}
	if got := string(root.TraceId); got != string(mustHex("4bf92f3577b34da6a3ce929d0e0e4736")) {
		t.Errorf("trace id %x does not continue the client's traceparent", root.TraceId)
	}
	if root.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("request span kind = %v", root.Kind)
	}
	ra := attrs(root)
	wantStr := map[string]string{
		"gen_ai.operation.name": "chat", "gen_ai.system": "deepseek", "gen_ai.request.model": "deepseek-chat",
		"gen_ai.response.model": "deepseek-chat-v3", "rampart.request_id": "req-1", "rampart.principal.id": "key_abc",
		"rampart.route": "chat", "rampart.upstream": "ds", "rampart.outcome": "ok",
	}
	for k, v := range wantStr {
		if got := ra[k].GetStringValue(); got != v {
			t.Errorf("request span %s = %q, want %q", k, got, v)
		}
	}
	wantInt := map[string]int64{"gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 34, "http.response.status_code": 200}
	for k, v := range wantInt {
		if got := ra[k].GetIntValue(); got != v {
			t.Errorf("request span %s = %d, want %d", k, got, v)
		}
	}
	if vs := ra["rampart.verdicts"].GetArrayValue().GetValues(); len(vs) != 1 || vs[0].GetStringValue() != "dlp:EMAIL:mask" {
		t.Errorf("verdicts = %v", vs)
	}
	att := spans["chat deepseek-chat"]
	if att == nil || att.Kind != tracepb.Span_SPAN_KIND_CLIENT || string(att.ParentSpanId) != string(root.SpanId) {
		t.Fatalf("attempt span %v must be a client child of the request", att)
	}
	if a := attrs(att); a["gen_ai.request.model"].GetStringValue() != "deepseek-chat" || a["rampart.upstream"].GetStringValue() != "ds" {
		t.Errorf("attempt attributes = %v", a)
	}
	if string(spans["relay"].ParentSpanId) != string(att.SpanId) {
		t.Error("relay must be a child of its attempt")
	}
	for _, n := range []string{"auth", "waf"} {
		if string(spans[n].ParentSpanId) != string(root.SpanId) {
			t.Errorf("%s must be a child of the request", n)
		}
	}
	if a := attrs(spans["waf"]); a["error.type"].GetStringValue() != "request_blocked" || !a["rampart.refused"].GetBoolValue() {
		t.Errorf("a refusing stage must say so: %v", a)
	}
	// W3C propagation: the upstream gets the attempt's span as parent.
	tp := upstreamHdr.Get("Traceparent")
	if want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + hexOf(att.SpanId) + "-01"; tp != want || upstreamTP != want {
		t.Errorf("traceparent to the upstream = %q (Inject), %q (Traceparent), want %q", tp, upstreamTP, want)
	}
	// The client's tracestate is its own text: it does not reach the
	// upstream.
	if len(upstreamHdr) != 1 {
		t.Errorf("headers for the upstream %v, want the traceparent only", upstreamHdr)
	}
	col.mu.Lock()
	if col.hdr.Get("X-Api-Key") != "collector-key" {
		t.Error("configured headers were not sent to the collector")
	}
	col.mu.Unlock()
}

func TestOffCostsNothing(t *testing.T) {
	var tr *Tracer
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	if h := tr.Handler(next); h == nil {
		t.Fatal("nil handler")
	}
	ctx := context.Background()
	rec := &record.Record{}
	hdr := http.Header{}
	err := errors.New("x")
	allocs := testing.AllocsPerRun(1000, func() {
		Bind(ctx, rec)
		c, s := Start(ctx, "guard")
		s.End(err)
		c, a := StartAttempt(c, Attempt{Upstream: "u", Model: "m"})
		Inject(c, hdr)
		if Traceparent(c) != "" {
			t.Error("a traceparent while tracing is off")
		}
		a.Status(200)
		a.End(nil)
	})
	if allocs != 0 {
		t.Errorf("tracing off allocates %v per request, want 0", allocs)
	}
	if len(hdr) != 0 {
		t.Error("no traceparent may be sent when tracing is off")
	}
	if tr.Shutdown(ctx) != nil || tr.ForceFlush(ctx) != nil {
		t.Error("a nil tracer must shut down cleanly")
	}
}

func TestSampledOutRequestRecordsNothing(t *testing.T) {
	t.Parallel()
	col := newCollector(t)
	zero := 0.0
	tr, err := New(context.Background(), config.Traces{Enabled: true, Endpoint: col.srv.URL, SampleRatio: &zero}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, s := Start(r.Context(), "auth"); s.s != nil {
			t.Error("a sampled-out request got a stage span")
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/embeddings", nil))
	_ = tr.ForceFlush(context.Background())
	if n := len(col.byName()); n != 0 {
		t.Errorf("%d spans exported at sample ratio 0", n)
	}
}

func TestEndpointURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"},
		{"https://otel.example.com/", "https://otel.example.com/v1/traces"},
		{"https://otel.example.com/custom/path", "https://otel.example.com/custom/path"},
		{"ftp://x", ""},
		{"not a url", ""},
	}
	for _, tc := range tests {
		got, err := EndpointURL(tc.in)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("EndpointURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func BenchmarkOff(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, s := Start(ctx, "guard")
		s.End(nil)
		_, a := StartAttempt(c, Attempt{Upstream: "u", Model: "m"})
		a.End(nil)
	}
}

func keys(m map[string]*tracepb.Span) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

// BenchmarkOn is one traced request: the request span, three stage spans,
// an attempt and a relay, exported to a loopback collector that discards.
func BenchmarkOn(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer srv.Close()
	tr, err := New(context.Background(), config.Traces{Enabled: true, Endpoint: srv.URL}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	rec := &record.Record{ID: "r", Endpoint: "chat", ModelRequested: "m", Status: 200, Outcome: "ok"}
	h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		Bind(ctx, rec)
		for _, n := range []string{"auth", "guard", "dlp"} {
			_, s := Start(ctx, n)
			s.End(nil)
		}
		actx, a := StartAttempt(ctx, Attempt{Upstream: "u", System: "deepseek", Operation: "chat", Model: "m", N: 1})
		_, rl := Start(actx, "relay")
		rl.End(nil)
		a.Status(200)
		a.End(nil)
	}))
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
