// Package accesslog writes one structured line per request: the record's
// fields without content. Credentials never appear: the record holds none.
package accesslog

import (
	"context"
	"log/slog"

	"github.com/rampart-gw/rampart/internal/record"
)

// Logger is a proxy sink that logs each finished request.
type Logger struct{ log *slog.Logger }

// maxVerdicts bounds the verdicts of one line.
const maxVerdicts = 32

// New returns an access logger writing through log.
func New(log *slog.Logger) *Logger { return &Logger{log: log} }

// Record implements the proxy's sink.
func (l *Logger) Record(r *record.Record) {
	if !l.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 20)
	attrs = append(attrs,
		slog.String("request_id", r.ID),
		slog.String("client_ip", r.ClientIP),
		slog.String("method", r.Method),
		slog.String("path", r.Path),
		slog.Int("status", r.Status),
		slog.String("outcome", r.Outcome),
		slog.Duration("duration", r.Duration),
	)
	if r.Principal.ID != "" {
		attrs = append(attrs, slog.String("principal", r.Principal.ID))
		if r.Principal.Team != "" {
			attrs = append(attrs, slog.String("team", r.Principal.Team))
		}
	}
	if r.ModelRequested != "" {
		attrs = append(attrs, slog.String("model", r.ModelRequested), slog.Bool("stream", r.Stream))
	}
	if r.ModelServed != "" && r.ModelServed != r.ModelRequested {
		attrs = append(attrs, slog.String("model_served", r.ModelServed))
	}
	if r.Route != "" {
		attrs = append(attrs, slog.String("route", r.Route), slog.String("upstream", r.Upstream), slog.Int("attempts", r.Attempts))
	}
	if r.ErrorCode != "" {
		attrs = append(attrs, slog.String("error_code", r.ErrorCode))
	}
	if r.TTFT > 0 {
		attrs = append(attrs, slog.Duration("ttft", r.TTFT))
	}
	if r.GatewayTime > 0 {
		attrs = append(attrs, slog.Duration("gateway_time", r.GatewayTime))
	}
	if u := r.Usage; u.TotalTokens > 0 || u.PromptTokens > 0 {
		attrs = append(attrs, slog.Int("prompt_tokens", u.PromptTokens), slog.Int("completion_tokens", u.CompletionTokens),
			slog.Int("reasoning_tokens", u.ReasoningTokens), slog.Int("cached_tokens", u.CachedTokens))
	}
	if vs := r.Verdicts(); len(vs) > 0 {
		// stage:rule:action, bounded; never the matched text.
		out := make([]string, 0, min(len(vs), maxVerdicts))
		for _, v := range vs[:min(len(vs), maxVerdicts)] {
			out = append(out, v.Stage+":"+v.Rule+":"+v.Action)
		}
		attrs = append(attrs, slog.Any("verdicts", out))
	}
	if r.TraceID != "" {
		attrs = append(attrs, slog.String("trace_id", r.TraceID))
	}
	if r.Events > 0 {
		attrs = append(attrs, slog.Int("events", r.Events))
	}
	l.log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}
