package sim

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// textRequest is a legacy completion or an embeddings request: prompt and
// input may each be a string or an array of strings.
type textRequest struct {
	Model         *string        `json:"model"`
	Prompt        jsontext.Value `json:"prompt"`
	Input         jsontext.Value `json:"input"`
	Stream        bool           `json:"stream"`
	StreamOptions *streamOptions `json:"stream_options"`
	MaxTokens     *int           `json:"max_tokens"`
	XSim          *knobs         `json:"x_sim"`
}

// strings decodes a string or an array of strings.
func stringsOf(v jsontext.Value) ([]string, bool) {
	switch v.Kind() {
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, false
		}
		return []string{s}, true
	case '[':
		var ss []string
		if json.Unmarshal(v, &ss) != nil || len(ss) == 0 {
			return nil, false
		}
		return ss, true
	}
	return nil, false
}

// decodeText parses a legacy request and checks its model and knobs.
func (s *Server) decodeText(w http.ResponseWriter, body []byte, k *knobs) (*textRequest, bool) {
	var req textRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error(), "invalid_request_error")
		return nil, false
	}
	if req.Model == nil || *req.Model == "" {
		s.writeError(w, http.StatusBadRequest, "model is required", "invalid_request_error")
		return nil, false
	}
	if req.XSim != nil {
		if err := req.XSim.validate(); err != nil {
			s.writeError(w, http.StatusBadRequest, err.Error(), "invalid_request_error")
			return nil, false
		}
	}
	k.merge(req.XSim)
	return &req, true
}

// completions serves POST /v1/completions, the legacy text completion API.
// It never reasons: the text is answer tokens only.
func (s *Server) completions(ctx context.Context, w *statusWriter, body []byte, k knobs) {
	req, ok := s.decodeText(w, body, &k)
	if !ok {
		return
	}
	prompts, ok := stringsOf(req.Prompt)
	if !ok {
		s.writeError(w, http.StatusBadRequest, "prompt must be a string or an array of strings", "invalid_request_error")
		return
	}
	if req.MaxTokens != nil && *req.MaxTokens < 1 {
		s.writeError(w, http.StatusBadRequest, "max_tokens must be at least 1", "invalid_request_error")
		return
	}
	if s.applyFaults(ctx, w, k) {
		return
	}
	if _, served := s.reasons[*req.Model]; !served {
		s.modelNotFound(w, *req.Model)
		return
	}
	c := &completion{
		id: s.nextID("cmpl-"), model: *req.Model, created: s.opts.Now().Unix(),
		promptTokens: max(1, len(req.Prompt)/4), includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
		ttft: s.opts.TTFT, tps: s.opts.TokensPerSecond,
	}
	c.plan.rng.state = seedFor(s.opts.Seed, c.model, req.Prompt)
	c.plan.answer = source{n: s.opts.AnswerTokens}
	if s.opts.Echo {
		c.plan.answer = source{literal: splitWords(prompts[0])}
	}
	if req.MaxTokens != nil {
		c.plan.limit = *req.MaxTokens
	}
	k.ReasoningTokens = nil
	s.applyLengthKnobs(&c.plan, k)
	c.plan.reasons = false
	if k.TTFT != nil {
		c.ttft = durationOf(k.TTFT)
	}
	if k.TPS != nil {
		c.tps = *k.TPS
	}
	s.serveText(ctx, w, c, req.Stream, k)
}

// serveText sends a text_completion, streamed or whole.
func (s *Server) serveText(ctx context.Context, w *statusWriter, c *completion, stream bool, k knobs) {
	if stream {
		h := w.Header()
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		w.Flush()
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	if !sleep(ctx, c.ttft) {
		return
	}
	if stream {
		s.streamText(ctx, w, c, k)
		return
	}
	var text []byte
	c.plan.walk(func(_ int, t string) bool { text = append(text, t...); return true })
	b := s.appendTextHead(nil, c)
	b = append(b, `"choices":[{"index":0,"text":`...)
	b = appendString(b, text)
	b = append(b, `,"logprobs":null,"finish_reason":"`...)
	b = append(b, c.plan.finishReason()...)
	b = append(b, `"}],"usage":`...)
	b = s.appendUsage(b, c)
	s.writeBody(w, append(b, '}'), k)
}

// appendTextHead renders the fields before "choices" of a text_completion.
func (s *Server) appendTextHead(b []byte, c *completion) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, c.id)
	b = append(b, `,"object":"text_completion","created":`...)
	b = strconv.AppendInt(b, c.created, 10)
	b = append(b, `,"model":`...)
	b = appendString(b, c.model)
	return append(b, ',')
}

// streamText streams a text_completion event per token.
func (s *Server) streamText(ctx context.Context, w *statusWriter, c *completion, k knobs) {
	ch := &chunker{s: s, c: c, w: w, head: s.appendTextHead(nil, c), dropAfter: -1}
	if k.DropAfter != nil {
		ch.dropAfter = *k.DropAfter
	}
	pace := newPacer(c.tps)
	first := true
	ok := c.plan.walk(func(_ int, t string) bool {
		if !first && !pace.wait(ctx) {
			return false
		}
		first = false
		b := append(append(ch.start(), ch.head...), `"choices":[{"index":0,"text":`...)
		b = appendString(b, t)
		return ch.send(append(b, `,"logprobs":null,"finish_reason":null}]}`+"\n\n"...))
	})
	if !ok {
		return
	}
	b := append(append(ch.start(), ch.head...), `"choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"`...)
	b = append(b, c.plan.finishReason()...)
	b = append(b, `"}]`...)
	if s.fl.usageInFinal && !c.includeUsage {
		b = append(b, `,"usage":`...)
		b = s.appendUsage(b, c)
	}
	if !ch.send(append(b, "}\n\n"...)) {
		return
	}
	if c.includeUsage {
		b = append(append(ch.start(), ch.head...), `"choices":[],"usage":`...)
		b = s.appendUsage(b, c)
		if !ch.send(append(b, "}\n\n"...)) {
			return
		}
	}
	if ch.send(append(ch.buf[:0], doneEvent...)) {
		w.markFinished()
	}
}

// durationOf converts a knob duration.
func durationOf(d *duration) time.Duration { return time.Duration(*d) }

// embeddingDim is the size of the simulated embedding vectors.
const embeddingDim = 16

// embeddings serves POST /v1/embeddings with deterministic unit vectors
// derived from a hash of each input.
func (s *Server) embeddings(ctx context.Context, w *statusWriter, body []byte, k knobs) {
	req, ok := s.decodeText(w, body, &k)
	if !ok {
		return
	}
	inputs, ok := stringsOf(req.Input)
	if !ok {
		s.writeError(w, http.StatusBadRequest, "input must be a string or a non-empty array of strings", "invalid_request_error")
		return
	}
	if s.applyFaults(ctx, w, k) {
		return
	}
	if _, served := s.reasons[*req.Model]; !served {
		s.modelNotFound(w, *req.Model)
		return
	}
	b := append([]byte(nil), `{"object":"list","data":[`...)
	tokens := 0
	for i, in := range inputs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		b = appendVector(b, embed(s.opts.Seed, in))
		b = append(b, '}')
		tokens += max(1, len(in)/4)
	}
	b = append(b, `],"model":`...)
	b = appendString(b, *req.Model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(tokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(tokens), 10)
	w.Header().Set("Content-Type", "application/json")
	s.writeBody(w, append(b, `}}`...), k)
}

// embed derives a unit vector from the seed and the text.
func embed(seed int64, text string) [embeddingDim]float32 {
	var v [embeddingDim]float32
	r := rng{state: uint64(seed) ^ fnvAdd(fnvOffset, text)}
	var norm float64
	for i := range v {
		f := float64(r.next()>>11)/float64(1<<53)*2 - 1
		v[i] = float32(f)
		norm += f * f
	}
	norm = math.Sqrt(norm)
	if norm > 0 {
		for i := range v {
			v[i] = float32(float64(v[i]) / norm)
		}
	}
	return v
}

// appendVector renders a vector as a JSON array.
func appendVector(b []byte, v [embeddingDim]float32) []byte {
	b = append(b, '[')
	for i, f := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(f), 'g', -1, 32)
	}
	return append(b, ']')
}

// listModels serves GET /v1/models in the OpenAI list format.
func (s *Server) listModels(ctx context.Context, w *statusWriter, body []byte, k knobs) {
	bk, err := bodyKnobs(body)
	if err == nil {
		k.merge(bk)
	}
	if s.applyFaults(ctx, w, k) {
		return
	}
	created := s.opts.Now().Unix()
	b := append([]byte(nil), `{"object":"list","data":[`...)
	for i, m := range s.models {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, m)
		b = append(b, `,"object":"model",`...)
		switch s.fl.name {
		case FlavorDeepSeek:
			b = append(b, `"owned_by":"deepseek"}`...)
		case FlavorOllama:
			b = append(b, `"created":`...)
			b = strconv.AppendInt(b, created, 10)
			b = append(b, `,"owned_by":"library"}`...)
		default:
			b = append(b, `"created":`...)
			b = strconv.AppendInt(b, created, 10)
			b = append(b, `,"owned_by":"`...)
			b = append(b, s.fl.name...)
			b = append(b, `","root":`...)
			b = appendString(b, m)
			b = append(b, `,"parent":null,"max_model_len":131072}`...)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	s.writeBody(w, append(b, "]}"...), k)
}
