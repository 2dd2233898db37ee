// Package sim is Rampart's stand-in for the upstreams it protects: a
// simulator of the DeepSeek API and of vLLM, SGLang and Ollama
// OpenAI-compatible servers serving DeepSeek-R1. Tests, `rampart demo` and the
// load benchmark use it as upstream, so it reproduces the wire formats of the
// real servers (reasoning_content, inline <think> tags split across chunks,
// usage placement, error bodies) and offers per-request fault knobs.
//
// Fault knobs are read from an "x_sim" object in the JSON request body and
// from X-Sim-* request headers (body wins): status, retry_after, drop_after,
// hang, slow_headers, ttft, tps, reasoning_tokens, answer_tokens, answer,
// reasoning, events and echo_system. See knobs.go for their meaning.
//
// Choices where the real servers differ between versions:
//   - vLLM and SGLang with a reasoning parser send "reasoning_content" only
//     (as vLLM up to 0.9 does), not the newer duplicate "reasoning" field.
//   - DeepSeek applies max_tokens to the answer alone; the other flavours
//     count reasoning and answer together. Think tags count as no tokens.
//   - DeepSeek rejects any message carrying a reasoning_content key, even
//     null, for deepseek-reasoner, so a gateway must remove the key.
//   - Usage goes in the chunk with finish_reason on DeepSeek streams; with
//     stream_options.include_usage every flavour sends it instead in a final
//     chunk with "choices":[], as OpenAI does.
//   - Ids derive from the seed and a request counter and "created" from
//     Options.Now, so a fixed clock makes responses reproducible byte for
//     byte; generated text derives from the seed, the model and the
//     messages, so the streaming and non-streaming forms of a prompt agree.
package sim

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Flavours of upstream server the simulator can imitate.
const (
	FlavorDeepSeek     = "deepseek"
	FlavorVLLM         = "vllm"
	FlavorVLLMNoParser = "vllm-noparser"
	FlavorSGLang       = "sglang"
	FlavorOllama       = "ollama"
)

// Defaults applied by New when an Options field is zero.
const (
	DefaultReasoningTokens = 32
	DefaultAnswerTokens    = 32
	DefaultMaxRecorded     = 10000
	// maxBodyBytes caps a request body; real servers refuse far less.
	maxBodyBytes = 32 << 20
)

// Options configure a simulator. The zero value is a DeepSeek API simulator
// serving deepseek-reasoner and deepseek-chat.
type Options struct {
	// Flavor selects the imitated server: "deepseek" (default), "vllm"
	// (reasoning parser on: reasoning_content), "vllm-noparser" (reasoning
	// inline in content, without the opening <think> tag, as R1 distills
	// emit it), "sglang" (like vllm) or "ollama" (inline "<think>...</think>"
	// in content, opening tag present). An unknown name falls back to
	// deepseek with a warning.
	Flavor string
	// Echo answers with the text of the last user message. Reasoning is still
	// generated unless ReasoningTokens is negative.
	Echo bool
	// Seed makes output deterministic: the same seed and the same request
	// sequence give the same bytes (ids come from the seed and a counter;
	// created comes from Now).
	Seed int64
	// TTFT is the delay before the first token; zero means none.
	TTFT time.Duration
	// TokensPerSecond paces streamed tokens; zero means as fast as possible.
	TokensPerSecond float64
	// ReasoningTokens is the reasoning length of reasoning models, in tokens.
	// Zero means DefaultReasoningTokens; negative means no reasoning.
	ReasoningTokens int
	// AnswerTokens is the answer length when not echoing, in tokens. Zero
	// means DefaultAnswerTokens; negative means an empty answer.
	AnswerTokens int
	// Models are the served models; the default is deepseek-reasoner and
	// deepseek-chat, plus deepseek-ai/DeepSeek-R1 for vllm and sglang and
	// deepseek-r1:7b for ollama. A model reasons when its name contains
	// "reasoner" or "r1" (case-insensitive).
	Models []string
	// KeepAlive, when positive, makes the simulator send a keep-alive every
	// KeepAlive while it waits for the first token, as the DeepSeek API does:
	// an SSE comment line ": keep-alive" on streams, an empty line otherwise.
	KeepAlive time.Duration
	// APIKey, when set, is required as "Authorization: Bearer <APIKey>";
	// anything else gets a 401 in the flavour's error format.
	APIKey string
	// MaxRecorded bounds the recorded requests (the oldest are dropped).
	// Zero means DefaultMaxRecorded; negative disables recording.
	MaxRecorded int
	// Now is the clock used for "created" fields; the default is time.Now.
	// Tests set a fixed clock to compare responses byte for byte.
	Now func() time.Time
	// Logger receives one debug line per request; the default discards.
	Logger *slog.Logger
}

// Server is a simulated upstream. It implements http.Handler.
type Server struct {
	opts    Options
	fl      *flavor
	models  []string
	reasons map[string]bool // model name -> is a reasoning model
	log     *slog.Logger
	counter atomic.Uint64 // request counter, for deterministic ids
	rec     recorder
}

// New returns a simulator configured by opts.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	fl, ok := lookupFlavor(opts.Flavor)
	if !ok {
		opts.Logger.Warn("sim: unknown flavor, using deepseek", "flavor", opts.Flavor)
	}
	opts.Flavor = fl.name
	opts.ReasoningTokens = defaultCount(opts.ReasoningTokens, DefaultReasoningTokens)
	opts.AnswerTokens = defaultCount(opts.AnswerTokens, DefaultAnswerTokens)
	if opts.MaxRecorded == 0 {
		opts.MaxRecorded = DefaultMaxRecorded
	}
	s := &Server{opts: opts, fl: fl, log: opts.Logger, reasons: map[string]bool{}}
	s.models = opts.Models
	if len(s.models) == 0 {
		s.models = fl.defaultModels
	}
	for _, m := range s.models {
		lm := strings.ToLower(m)
		s.reasons[m] = strings.Contains(lm, "reasoner") || strings.Contains(lm, "r1")
	}
	s.rec.max = opts.MaxRecorded
	return s
}

// defaultCount maps zero to def and negative values to zero.
func defaultCount(n, def int) int {
	switch {
	case n == 0:
		return def
	case n < 0:
		return 0
	}
	return n
}

// Flavor reports the flavour in use after defaults.
func (s *Server) Flavor() string { return s.fl.name }

// Models reports the served models.
func (s *Server) Models() []string { return append([]string(nil), s.models...) }

// ServeHTTP records the request, then routes it. Paths are accepted with and
// without the /v1 prefix, as the DeepSeek API accepts them.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &statusWriter{ResponseWriter: w}
	var st handlerState
	body, ok := s.begin(rw, r, &st)
	defer s.finish(r, &st, rw)
	if !ok {
		return
	}
	s.log.Debug("sim: request", "method", r.Method, "path", r.URL.Path, "bytes", len(body))
	if s.opts.APIKey != "" && !s.authorized(r) {
		s.writeError(rw, http.StatusUnauthorized, "Authentication Fails, your api key is invalid", "invalid_api_key")
		return
	}
	k, err := headerKnobs(r.Header)
	if err != nil {
		s.writeError(rw, http.StatusBadRequest, err.Error(), "invalid_request_error")
		return
	}
	s.route(r.Context(), rw, r, body, k)
}

// route dispatches on the path with the /v1 prefix removed.
func (s *Server) route(ctx context.Context, w *statusWriter, r *http.Request, body []byte, k knobs) {
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	want := http.MethodPost
	var h func(context.Context, *statusWriter, []byte, knobs)
	switch path {
	case "/chat/completions":
		h = s.chat
	case "/completions":
		h = s.completions
	case "/embeddings":
		h = s.embeddings
	case "/models":
		want, h = http.MethodGet, s.listModels
	case "/health":
		want, h = http.MethodGet, s.health
	default:
		s.writeError(w, http.StatusNotFound, "Not Found", "not_found")
		return
	}
	if r.Method != want {
		w.Header().Set("Allow", want)
		s.writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "method_not_allowed")
		return
	}
	h(ctx, w, body, k)
}

// health answers 200 with an empty body, as vLLM's /health does.
func (s *Server) health(ctx context.Context, w *statusWriter, _ []byte, k knobs) {
	if s.applyFaults(ctx, w, k) {
		return
	}
	w.WriteHeader(http.StatusOK)
	w.markFinished()
}

// statusWriter remembers the status sent, for the request record, and keeps
// http.Flusher reachable.
type statusWriter struct {
	http.ResponseWriter
	status int
	// finished is when the last byte of a complete response was written.
	finished time.Time
}

// markFinished notes that the response is complete, so that a client that
// leaves afterwards does not count as a cancellation.
func (w *statusWriter) markFinished() { w.finished = time.Now() }

// WriteHeader records the status before sending it.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write sends a 200 first when no status was set.
func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush flushes the underlying writer when it can.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var _ http.Handler = (*Server)(nil)
