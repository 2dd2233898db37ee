// Package trace exports OpenTelemetry traces of the request path over
// OTLP/HTTP: one server span per request, a child span per stage and per
// upstream attempt, and the GenAI semantic-convention attributes (model
// asked and served, token usage). It is off by default; while off, the
// request path neither allocates nor records anything for it: every helper
// first finds no span state in the context and returns.
package trace

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/record"
)

// scope is the instrumentation scope of every span.
const scope = "github.com/rampart-gw/rampart"

// Tracer records and exports the spans. A nil *Tracer is valid and off.
type Tracer struct {
	tp   *sdktrace.TracerProvider
	tr   oteltrace.Tracer
	prop propagation.TraceContext
}

// New builds a tracer exporting to c.Endpoint. It returns nil, nil when
// tracing is off. Nothing is sent until the first span ends.
func New(ctx context.Context, c config.Traces, version string) (*Tracer, error) {
	if !c.Enabled {
		return nil, nil
	}
	endpoint, err := EndpointURL(c.Endpoint)
	if err != nil {
		return nil, err
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(endpoint)}
	if c.Timeout > 0 {
		opts = append(opts, otlptracehttp.WithTimeout(c.Timeout))
	}
	if len(c.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(c.Headers))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("telemetry.traces: %w", err)
	}
	queue := c.Queue
	if queue <= 0 {
		queue = 2048
	}
	name := c.ServiceName
	if name == "" {
		name = "rampart"
	}
	resAttrs := []attribute.KeyValue{attribute.String("service.name", name)}
	if version != "" {
		resAttrs = append(resAttrs, attribute.String("service.version", version))
	}
	res := resource.NewSchemaless(resAttrs...)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(queue), sdktrace.WithMaxExportBatchSize(min(queue, 512))),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.Ratio()))),
		sdktrace.WithResource(res),
	)
	return &Tracer{tp: tp, tr: tp.Tracer(scope, oteltrace.WithInstrumentationVersion(version))}, nil
}

// EndpointURL checks a collector URL and adds the OTLP traces path when it
// has none.
func EndpointURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("telemetry.traces.endpoint: must be an absolute http or https URL")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// Shutdown exports the spans still queued and stops the tracer.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// ForceFlush exports the spans queued so far.
func (t *Tracer) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.ForceFlush(ctx)
}

// state is what the request's spans share, carried in its context.
type state struct {
	t      *Tracer
	root   oteltrace.Span
	rec    *record.Record
	system string // gen_ai.system of the last upstream attempt
}

type stateKey struct{}

func stateFrom(ctx context.Context) *state {
	st, _ := ctx.Value(stateKey{}).(*state)
	return st
}

// Handler wraps the client API: it continues a trace from the client's
// traceparent or starts one, and ends the request's span with the
// record's attributes when the request is done. A nil tracer returns next.
func (t *Tracer) Handler(next http.Handler) http.Handler {
	if t == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.tr.Start(ctx, r.Method, oteltrace.WithSpanKind(oteltrace.SpanKindServer))
		if !span.IsRecording() {
			// Sampled out: the context still carries the trace ID, so the
			// upstream sees the same (unsampled) trace.
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		st := &state{t: t, root: span}
		ctx = context.WithValue(ctx, stateKey{}, st)
		defer st.end(r)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Bind attaches the request's record to its trace, so that the request's
// span carries the record's attributes when it ends. The authenticator
// calls it: it is the first to see the record.
func Bind(ctx context.Context, rec *record.Record) {
	if st := stateFrom(ctx); st != nil && rec != nil {
		st.rec = rec
		rec.TraceID = st.root.SpanContext().TraceID().String()
	}
}

// operation maps the record's endpoint to gen_ai.operation.name.
func operation(endpoint string) string {
	switch endpoint {
	case "chat":
		return "chat"
	case "completions":
		return "text_completion"
	case "embeddings":
		return "embeddings"
	}
	return endpoint
}

// spanPaths names the request's span after its endpoint: a bounded set,
// whatever path the client sent.
var spanPaths = map[string]string{
	"chat":        "/v1/chat/completions",
	"completions": "/v1/completions",
	"embeddings":  "/v1/embeddings",
	"models":      "/v1/models",
}

// Bounds of what a span carries.
const (
	maxVerdicts = 32
	maxModel    = 128
)

// end closes the request's span with what the record knows.
func (st *state) end(r *http.Request) {
	span := st.root
	rec := st.rec
	attrs := make([]attribute.KeyValue, 0, 24)
	attrs = append(attrs, attribute.String("http.request.method", r.Method), attribute.String("url.path", clip(r.URL.Path, 256)))
	if rec == nil {
		span.SetAttributes(attrs...)
		span.End()
		return
	}
	name := r.Method
	if p, ok := spanPaths[rec.Endpoint]; ok {
		name += " " + p
	}
	span.SetName(name)
	attrs = append(attrs,
		attribute.String("rampart.request_id", rec.ID),
		attribute.Int("http.response.status_code", rec.Status),
		attribute.String("client.address", rec.ClientIP),
		attribute.String("rampart.outcome", rec.Outcome),
		attribute.String("rampart.principal.id", rec.Principal.ID),
		attribute.Bool("rampart.stream", rec.Stream),
	)
	if rec.Principal.Team != "" {
		attrs = append(attrs, attribute.String("rampart.principal.team", rec.Principal.Team))
	}
	if rec.Route != "" {
		attrs = append(attrs, attribute.String("rampart.route", rec.Route))
	}
	if rec.Upstream != "" {
		attrs = append(attrs, attribute.String("rampart.upstream", rec.Upstream), attribute.Int("rampart.attempts", rec.Attempts))
	}
	if rec.Endpoint != "" && rec.Endpoint != "models" {
		attrs = append(attrs, attribute.String("gen_ai.operation.name", operation(rec.Endpoint)))
	}
	if st.system != "" {
		attrs = append(attrs, attribute.String("gen_ai.system", st.system), attribute.String("gen_ai.provider.name", st.system))
	}
	// Models are client or upstream input: bounded.
	if rec.ModelRequested != "" {
		attrs = append(attrs, attribute.String("gen_ai.request.model", clip(rec.ModelRequested, maxModel)))
	}
	if rec.ModelServed != "" {
		attrs = append(attrs, attribute.String("gen_ai.response.model", clip(rec.ModelServed, maxModel)))
	}
	if u := rec.Usage; u.TotalTokens > 0 || u.PromptTokens > 0 || u.CompletionTokens > 0 {
		attrs = append(attrs,
			attribute.Int("gen_ai.usage.input_tokens", u.PromptTokens),
			attribute.Int("gen_ai.usage.output_tokens", u.CompletionTokens),
			attribute.Int("rampart.usage.reasoning_tokens", u.ReasoningTokens),
			attribute.Int("rampart.usage.cached_tokens", u.CachedTokens),
		)
	}
	if rec.TTFT > 0 {
		attrs = append(attrs, attribute.Float64("rampart.ttft_ms", float64(rec.TTFT.Microseconds())/1000))
	}
	if rec.GatewayTime > 0 {
		attrs = append(attrs, attribute.Float64("rampart.gateway_ms", float64(rec.GatewayTime.Microseconds())/1000))
	}
	if vs := rec.Verdicts(); len(vs) > 0 {
		out := make([]string, 0, min(len(vs), maxVerdicts))
		for _, v := range vs[:min(len(vs), maxVerdicts)] {
			out = append(out, v.Stage+":"+v.Rule+":"+v.Action)
		}
		attrs = append(attrs, attribute.StringSlice("rampart.verdicts", out))
	}
	if rec.ErrorCode != "" {
		attrs = append(attrs, attribute.String("error.type", rec.ErrorCode))
	}
	span.SetAttributes(attrs...)
	// A server span is an error only when the gateway failed (5xx); a
	// refusal of the client's request is the gateway working.
	if rec.Status >= 500 {
		span.SetStatus(codes.Error, rec.ErrorCode)
	}
	span.End()
}

// Span is a child span of a request, or nothing when the request is not
// traced. Its zero value is valid and does nothing.
type Span struct{ s oteltrace.Span }

// Start opens a child span named name (a stage: auth, waf, guard, dlp,
// limits, relay) when the request is traced.
func Start(ctx context.Context, name string) (context.Context, Span) {
	st := stateFrom(ctx)
	if st == nil {
		return ctx, Span{}
	}
	ctx, s := st.t.tr.Start(ctx, name, oteltrace.WithSpanKind(oteltrace.SpanKindInternal))
	return ctx, Span{s}
}

// Attempt describes one upstream call.
type Attempt struct {
	Upstream  string // the upstream's name
	System    string // its flavour: deepseek, openai, vllm, sglang, ollama
	Operation string // the record's endpoint: chat, completions, embeddings
	Model     string // the model as asked
	N         int    // 1 for the first attempt
}

// StartAttempt opens a client span for one upstream call when the request
// is traced. The returned context carries it, for Inject.
func StartAttempt(ctx context.Context, a Attempt) (context.Context, Span) {
	st := stateFrom(ctx)
	if st == nil {
		return ctx, Span{}
	}
	st.system = a.System
	op := operation(a.Operation)
	model := clip(a.Model, maxModel)
	ctx, s := st.t.tr.Start(ctx, op+" "+model, oteltrace.WithSpanKind(oteltrace.SpanKindClient),
		oteltrace.WithAttributes(
			attribute.String("gen_ai.operation.name", op),
			attribute.String("gen_ai.system", a.System),
			attribute.String("gen_ai.provider.name", a.System),
			attribute.String("gen_ai.request.model", model),
			attribute.String("rampart.upstream", a.Upstream),
			attribute.Int("rampart.attempt", a.N),
		))
	return ctx, Span{s}
}

// Status records the HTTP status the upstream answered.
func (s Span) Status(code int) {
	if s.s == nil {
		return
	}
	s.s.SetAttributes(attribute.Int("http.response.status_code", code))
	if code >= 500 || code == http.StatusTooManyRequests {
		s.s.SetStatus(codes.Error, http.StatusText(code))
	}
}

// End closes the span. A non-nil err is recorded by its OpenAI-style code
// and status (never its message, which may quote the request); a refusal
// (4xx) marks the span refused, a failure (5xx) marks it an error.
func (s Span) End(err error) {
	if s.s == nil {
		return
	}
	if err != nil {
		e := apierr.From(err)
		s.s.SetAttributes(attribute.String("error.type", e.Code), attribute.Int("rampart.status", e.Status))
		if e.Status >= 500 {
			s.s.SetStatus(codes.Error, e.Code)
		} else {
			s.s.SetAttributes(attribute.Bool("rampart.refused", true))
		}
	}
	s.s.End()
}

// Inject writes the W3C traceparent of ctx's span into h, for the
// upstream. Without a span it does nothing. The client's tracestate is not
// passed on: it is the client's free text, and no client header reaches an
// upstream; the traceparent carries only the trace ID, the gateway's own
// span ID and the sampled flag.
func Inject(ctx context.Context, h http.Header) {
	if tp := Traceparent(ctx); tp != "" {
		h["Traceparent"] = []string{tp}
	}
}

// Traceparent returns the W3C traceparent value of ctx's span, for a
// client that writes its header lines itself, or "" when ctx carries no
// span (tracing off: no allocation).
func Traceparent(ctx context.Context) string {
	sc := oteltrace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	flags := "-00"
	if sc.IsSampled() {
		flags = "-01"
	}
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + flags
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
