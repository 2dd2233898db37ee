// Package record holds the one typed record that travels with a request
// through every stage of the pipeline. When the request ends it is the
// source of the access log line, the metrics and the audit record.
package record

import (
	"context"
	"sync"
	"time"
)

// Principal is the authenticated caller. It never holds a credential.
type Principal struct {
	// Kind is how the caller authenticated: api_key, jwt, oauth2, mtls or
	// anonymous.
	Kind string `json:"kind"`
	// ID is the stable identifier: the key's public id, the token's subject
	// or the certificate's identity.
	ID string `json:"id"`
	// Name is a human-readable label, such as the key's name.
	Name string `json:"name,omitempty"`
	// Team groups principals for policy, limits and usage.
	Team string `json:"team,omitempty"`
	// Models restricts the principal to these models (globs); empty means
	// any model a route serves.
	Models []string `json:"-"`
	// Scopes are granted scopes or groups, for policy.
	Scopes []string `json:"scopes,omitempty"`
}

// Verdict is one stage's decision about the request or response.
type Verdict struct {
	// Stage is the stage that decided: waf, guard, dlp, limit, authz, ...
	Stage string `json:"stage"`
	// Rule is the rule or guard ID.
	Rule string `json:"rule"`
	// Action is pass, flag, mask, block or shadow.
	Action string `json:"action"`
	// Score is the detector's confidence, when it has one.
	Score float64 `json:"score,omitempty"`
	// Detail is a short, non-sensitive explanation (never matched text).
	Detail string `json:"detail,omitempty"`
}

// Usage counts tokens as the upstream reported them.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	ReasoningTokens  int `json:"reasoning_tokens"`
	CachedTokens     int `json:"cached_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Content is what content capture keeps of a request: text that already
// went through DLP masking, never the raw prompt or answer.
type Content struct {
	Prompt   string
	Response string
}

// Record is the per-request state. Fields are written by the goroutine
// serving the request; Verdicts may be added concurrently through AddVerdict.
type Record struct {
	ID        string    `json:"request_id"`
	Start     time.Time `json:"time"`
	ClientIP  string    `json:"client_ip"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Endpoint  string    `json:"endpoint"`
	Principal Principal `json:"principal"`

	ModelRequested string `json:"model_requested,omitempty"`
	ModelServed    string `json:"model_served,omitempty"`
	Route          string `json:"route,omitempty"`
	Upstream       string `json:"upstream,omitempty"`
	Attempts       int    `json:"attempts,omitempty"`
	// Tried lists the upstream of each attempt, in order.
	Tried  []string `json:"tried,omitempty"`
	Stream bool     `json:"stream"`

	// Status is the HTTP status sent to the client; 499 when the client
	// went away first.
	Status int `json:"status"`
	// ErrorCode is the OpenAI-style error code of a failed request.
	ErrorCode string `json:"error_code,omitempty"`
	// Outcome is how the exchange ended: ok, error, client_closed,
	// upstream_error (stream ended by an error event) or blocked (refused
	// or stopped by a stage's block verdict: WAF, authorization, limits,
	// guards, DLP, the kill switch).
	Outcome string `json:"outcome"`
	// Events counts SSE events relayed to the client.
	Events int `json:"events,omitempty"`

	Usage Usage `json:"usage"`

	// TTFT is the time from the start to the first byte of the answer.
	TTFT time.Duration `json:"ttft_ns,omitempty"`
	// Duration is the whole time spent on the request.
	Duration time.Duration `json:"duration_ns"`
	// GatewayTime is the time from the start to the first upstream call:
	// authentication, reading the body and the stages. 0 when no upstream
	// was called.
	GatewayTime time.Duration `json:"gateway_ns,omitempty"`

	// TraceID is the request's OpenTelemetry trace, when it is traced.
	TraceID string `json:"trace_id,omitempty"`

	// Content is the prompt and the answer, already DLP-masked, kept for
	// the audit trail when content capture is on; nil otherwise. It is
	// never logged.
	Content *Content `json:"-"`

	mu       sync.Mutex
	verdicts []Verdict
}

// AddVerdict appends a stage's verdict. Safe for concurrent use.
func (r *Record) AddVerdict(v Verdict) {
	r.mu.Lock()
	r.verdicts = append(r.verdicts, v)
	r.mu.Unlock()
}

// Verdicts returns a copy of the verdicts so far.
func (r *Record) Verdicts() []Verdict {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Verdict(nil), r.verdicts...)
}

// Blocked reports whether a stage's verdict is a block.
func (r *Record) Blocked() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.verdicts {
		if r.verdicts[i].Action == "block" {
			return true
		}
	}
	return false
}

type ctxKey struct{}

// With returns a context that carries r.
func With(ctx context.Context, r *Record) context.Context {
	return context.WithValue(ctx, ctxKey{}, r)
}

// From returns the record carried by ctx, or nil.
func From(ctx context.Context) *Record {
	r, _ := ctx.Value(ctxKey{}).(*Record)
	return r
}
