package sim

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// bufPool holds response buffers, so that a steady load allocates little.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// chat serves POST /v1/chat/completions.
func (s *Server) chat(ctx context.Context, w *statusWriter, body []byte, k knobs) {
	req, err := decodeChat(body)
	if err != nil {
		s.writeReqError(w, err)
		return
	}
	k.merge(req.XSim)
	if s.applyFaults(ctx, w, k) {
		return
	}
	model := *req.Model
	reasons, ok := s.reasons[model]
	if !ok {
		s.modelNotFound(w, model)
		return
	}
	if reasons && s.fl.name == FlavorDeepSeek && req.hasReasoning() {
		s.writeError(w, http.StatusBadRequest, "The reasoning_content is an intermediate result for display purposes only and will not be included in the context for inference. Please remove the reasoning_content from your message to reduce network traffic.", "invalid_request_error")
		return
	}
	c := s.newCompletion(req, model, reasons, k)
	if req.Stream {
		s.streamChat(ctx, w, c, k)
		return
	}
	s.answerChat(ctx, w, c, k)
}

// writeReqError sends a decoding or validation failure.
func (s *Server) writeReqError(w http.ResponseWriter, err error) {
	if re, ok := err.(*reqError); ok {
		s.writeError(w, re.status, re.msg, re.code)
		return
	}
	s.writeError(w, http.StatusBadRequest, err.Error(), "invalid_request_error")
}

// modelNotFound answers an unknown model as the flavour does.
func (s *Server) modelNotFound(w http.ResponseWriter, model string) {
	switch s.fl.errStyle {
	case errVLLM:
		s.writeError(w, http.StatusNotFound, "The model `"+model+"` does not exist.", "")
	case errOllama:
		s.writeError(w, http.StatusNotFound, `model "`+model+`" not found, try pulling it first`, "")
	default:
		s.writeError(w, http.StatusNotFound, "Model Not Exist", "model_not_found")
	}
}

// completion is one response being produced.
type completion struct {
	id, model    string
	created      int64
	reasons      bool
	promptTokens int
	includeUsage bool
	ttft         time.Duration
	tps          float64
	plan         plan
}

// newCompletion resolves options and knobs into a plan.
func (s *Server) newCompletion(req *chatRequest, model string, reasons bool, k knobs) *completion {
	c := &completion{
		id: s.nextID("chatcmpl-"), model: model, created: s.opts.Now().Unix(),
		reasons: reasons, promptTokens: req.promptTokens(), includeUsage: req.includeUsage(),
		ttft: s.opts.TTFT, tps: s.opts.TokensPerSecond,
	}
	if k.TTFT != nil {
		c.ttft = time.Duration(*k.TTFT)
	}
	if k.TPS != nil {
		c.tps = *k.TPS
	}
	p := &c.plan
	p.rng.state = seedFor(s.opts.Seed, model, req.Messages)
	p.reasons = reasons
	p.inline = s.fl.reasoning
	p.limit = req.maxTokens()
	p.answerLm = s.fl.answerOnlyLimit
	p.reasoning = source{n: s.opts.ReasoningTokens}
	p.answer = source{n: s.opts.AnswerTokens}
	if s.opts.Echo {
		p.answer = source{literal: splitWords(req.lastUserText())}
	}
	if k.EchoSystem != nil {
		src := source{literal: splitWords(req.systemText())}
		if *k.EchoSystem == "reasoning" {
			p.reasoning = src
		} else {
			p.answer = src
		}
	}
	s.applyLengthKnobs(p, k)
	return c
}

// applyLengthKnobs overrides what the plan says with the request's knobs.
func (s *Server) applyLengthKnobs(p *plan, k knobs) {
	if k.ReasoningTokens != nil {
		p.reasoning = source{n: *k.ReasoningTokens}
	}
	if k.AnswerTokens != nil {
		p.answer = source{n: *k.AnswerTokens}
	}
	if k.Reasoning != nil {
		p.reasoning = source{literal: splitWords(*k.Reasoning)}
	}
	if k.Answer != nil {
		p.answer = source{literal: splitWords(*k.Answer)}
	}
	if k.Events != nil {
		r := 0
		if p.reasons && k.ReasoningTokens != nil {
			r = min(*k.ReasoningTokens, *k.Events)
		}
		p.reasoning = source{n: r}
		p.answer = source{n: *k.Events - r}
	}
	if p.reasoning.count() == 0 {
		// A model that did not reason sends no think tags either.
		p.reasons = false
	}
}

// nextID returns a deterministic id from the seed and a request counter, in
// the flavour's format.
func (s *Server) nextID(prefix string) string {
	r := rng{state: uint64(s.opts.Seed) ^ s.counter.Add(1)*0x9e3779b97f4a7c15}
	a, b := r.next(), r.next()
	var buf [64]byte
	out := buf[:0]
	switch s.fl.idStyle {
	case "uuid":
		out = appendHex(out, a>>32, 8)
		out = append(out, '-')
		out = appendHex(out, a>>16, 4)
		out = append(out, '-')
		out = appendHex(out, a, 4)
		out = append(out, '-')
		out = appendHex(out, b>>48, 4)
		out = append(out, '-')
		out = appendHex(out, b, 12)
	case "short":
		out = append(out, prefix...)
		out = strconv.AppendUint(out, a%1000, 10)
	default:
		out = append(out, prefix...)
		out = appendHex(out, a, 16)
		out = appendHex(out, b, 16)
	}
	return string(out)
}

// appendHex appends the low n hex digits of v.
func appendHex(b []byte, v uint64, n int) []byte {
	const digits = "0123456789abcdef"
	for i := n - 1; i >= 0; i-- {
		b = append(b, digits[(v>>(4*uint(i)))&0xf])
	}
	return b
}

// waitFirstToken waits for the TTFT, sending keep-alives when configured.
// It reports whether the wait ended normally.
func (s *Server) waitFirstToken(ctx context.Context, w *statusWriter, ttft time.Duration, keepAlive []byte) bool {
	if ttft <= 0 {
		return ctx.Err() == nil
	}
	if s.opts.KeepAlive <= 0 || keepAlive == nil {
		return sleep(ctx, ttft)
	}
	deadline := time.NewTimer(ttft)
	defer deadline.Stop()
	tick := time.NewTicker(s.opts.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			return true
		case <-ctx.Done():
			return false
		case <-tick.C:
			_, _ = w.Write(keepAlive)
			w.Flush()
		}
	}
}

// pacer spaces tokens at a rate.
type pacer struct {
	gap   time.Duration
	timer *time.Timer
}

// newPacer returns a pacer for tps tokens per second; 0 means no pacing.
func newPacer(tps float64) *pacer {
	p := &pacer{}
	if tps > 0 {
		p.gap = time.Duration(float64(time.Second) / tps)
	}
	return p
}

// wait sleeps one gap; it reports false when ctx ended.
func (p *pacer) wait(ctx context.Context) bool {
	if p.gap <= 0 {
		return true
	}
	if p.timer == nil {
		p.timer = time.NewTimer(p.gap)
	} else {
		p.timer.Reset(p.gap)
	}
	select {
	case <-p.timer.C:
		return true
	case <-ctx.Done():
		p.timer.Stop()
		return false
	}
}
