// Package accesslog writes one structured line per request: the record's
// fields without content. Credentials never appear: the record holds none.
package accesslog

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/rampart-gw/rampart/internal/record"
)

// Logger is a proxy sink that logs each finished request, through a
// slog.Logger (New) or straight to a writer as JSON (NewJSON).
type Logger struct {
	log *slog.Logger
	w   io.Writer // NewJSON's
	on  bool      // NewJSON: whether lines are written at all
}

// maxVerdicts bounds the verdicts of one line.
const maxVerdicts = 32

// New returns an access logger writing through log.
func New(log *slog.Logger) *Logger { return &Logger{log: log} }

// NewJSON returns an access logger that writes each line to w as one JSON
// object, with the fields and values slog's JSON handler would write (time,
// level, msg, then the record's fields), at a fraction of its cost: no
// attribute slices, one Write per line. Lines are written only when level
// lets INFO through, as with New. Requests end on many goroutines at once:
// w must take concurrent Writes (a BufferedWriter or an *os.File does).
func NewJSON(w io.Writer, level slog.Leveler) *Logger {
	return &Logger{w: w, on: level.Level() <= slog.LevelInfo}
}

// Record implements the proxy's sink.
func (l *Logger) Record(r *record.Record) {
	if l.log == nil {
		if l.on {
			l.writeJSON(r)
		}
		return
	}
	if !l.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	e := attrEncoder{attrs: make([]slog.Attr, 0, 20)}
	fields(r, &e)
	l.log.LogAttrs(context.Background(), slog.LevelInfo, "request", e.attrs...)
}

// encoder receives the fields of a line in order.
type encoder interface {
	str(k, v string)
	num(k string, v int64)
	dur(k string, v time.Duration)
	boolean(k string, v bool)
	strs(k string, vs []string)
}

// fields walks the fields of r's line. The verdicts are stage:rule:action,
// bounded, never the matched text.
func fields(r *record.Record, e encoder) {
	e.str("request_id", r.ID)
	e.str("client_ip", r.ClientIP)
	e.str("method", r.Method)
	e.str("path", r.Path)
	e.num("status", int64(r.Status))
	e.str("outcome", r.Outcome)
	e.dur("duration", r.Duration)
	if r.Principal.ID != "" {
		e.str("principal", r.Principal.ID)
		if r.Principal.Team != "" {
			e.str("team", r.Principal.Team)
		}
	}
	if r.ModelRequested != "" {
		e.str("model", r.ModelRequested)
		e.boolean("stream", r.Stream)
	}
	if r.ModelServed != "" && r.ModelServed != r.ModelRequested {
		e.str("model_served", r.ModelServed)
	}
	if r.Route != "" {
		e.str("route", r.Route)
		e.str("upstream", r.Upstream)
		e.num("attempts", int64(r.Attempts))
	}
	if r.ErrorCode != "" {
		e.str("error_code", r.ErrorCode)
	}
	if r.TTFT > 0 {
		e.dur("ttft", r.TTFT)
	}
	if r.GatewayTime > 0 {
		e.dur("gateway_time", r.GatewayTime)
	}
	if u := r.Usage; u.TotalTokens > 0 || u.PromptTokens > 0 {
		e.num("prompt_tokens", int64(u.PromptTokens))
		e.num("completion_tokens", int64(u.CompletionTokens))
		e.num("reasoning_tokens", int64(u.ReasoningTokens))
		e.num("cached_tokens", int64(u.CachedTokens))
	}
	if vs := r.Verdicts(); len(vs) > 0 {
		out := make([]string, 0, min(len(vs), maxVerdicts))
		for _, v := range vs[:min(len(vs), maxVerdicts)] {
			out = append(out, v.Stage+":"+v.Rule+":"+v.Action)
		}
		e.strs("verdicts", out)
	}
	if r.TraceID != "" {
		e.str("trace_id", r.TraceID)
	}
	if r.Events > 0 {
		e.num("events", int64(r.Events))
	}
}

// attrEncoder collects the fields as slog attributes. Durations are
// slog.Duration values, which slog's JSON handler writes as nanoseconds
// and its text handler as "3ms".
type attrEncoder struct{ attrs []slog.Attr }

func (e *attrEncoder) str(k, v string)               { e.attrs = append(e.attrs, slog.String(k, v)) }
func (e *attrEncoder) num(k string, v int64)         { e.attrs = append(e.attrs, slog.Int64(k, v)) }
func (e *attrEncoder) dur(k string, v time.Duration) { e.attrs = append(e.attrs, slog.Duration(k, v)) }
func (e *attrEncoder) boolean(k string, v bool)      { e.attrs = append(e.attrs, slog.Bool(k, v)) }
func (e *attrEncoder) strs(k string, vs []string)    { e.attrs = append(e.attrs, slog.Any(k, vs)) }

// jsonEncoder appends the fields to a JSON object being written.
type jsonEncoder struct{ b []byte }

func (e *jsonEncoder) key(k string) {
	e.b = append(e.b, ',', '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
}
func (e *jsonEncoder) str(k, v string) { e.key(k); e.b = appendJSONString(e.b, v) }
func (e *jsonEncoder) num(k string, v int64) {
	e.key(k)
	e.b = strconv.AppendInt(e.b, v, 10)
}
func (e *jsonEncoder) dur(k string, v time.Duration) { e.num(k, int64(v)) }
func (e *jsonEncoder) boolean(k string, v bool)      { e.key(k); e.b = strconv.AppendBool(e.b, v) }
func (e *jsonEncoder) strs(k string, vs []string) {
	e.key(k)
	e.b = append(e.b, '[')
	for i, v := range vs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.b = appendJSONString(e.b, v)
	}
	e.b = append(e.b, ']')
}

var linePool = sync.Pool{New: func() any { return &jsonEncoder{b: make([]byte, 0, 1024)} }}

func (l *Logger) writeJSON(r *record.Record) {
	e := linePool.Get().(*jsonEncoder)
	e.b = append(e.b[:0], `{"time":"`...)
	e.b = time.Now().AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, `","level":"INFO","msg":"request"`...)
	fields(r, e)
	e.b = append(e.b, '}', '\n')
	_, _ = l.w.Write(e.b) // as slog does, a failed write of a log line is dropped
	if cap(e.b) <= 64<<10 {
		linePool.Put(e)
	}
}
