package sim

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// answerChat sends a non-streaming chat completion.
func (s *Server) answerChat(ctx context.Context, w *statusWriter, c *completion, k knobs) {
	w.Header().Set("Content-Type", "application/json")
	var keepAlive []byte
	if s.fl.name == FlavorDeepSeek {
		// The DeepSeek API keeps idle non-streaming requests alive with
		// empty lines before the JSON body.
		keepAlive = []byte("\n")
	}
	if !s.waitFirstToken(ctx, w, c.ttft, keepAlive) {
		return
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	scratch := bufPool.Get().(*[]byte)
	defer bufPool.Put(scratch)
	reasoning, content := (*scratch)[:0], (*bp)[:0]
	c.plan.walk(func(ch int, text string) bool {
		if ch == chanReasoning {
			reasoning = append(reasoning, text...)
		} else {
			content = append(content, text...)
		}
		return true
	})
	if c.tps > 0 && !sleep(ctx, time.Duration(float64(c.plan.completionTokens())/c.tps*float64(time.Second))) {
		return
	}
	op := bufPool.Get().(*[]byte)
	defer bufPool.Put(op)
	*bp, *scratch = content, reasoning
	*op = s.appendChatBody((*op)[:0], c, reasoning, content)
	s.writeBody(w, *op, k)
}

// writeBody sends a complete JSON body, or half of it and an abort when the
// drop_after knob is set.
func (s *Server) writeBody(w *statusWriter, out []byte, k knobs) {
	if w.status == 0 {
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	}
	if k.DropAfter != nil {
		_, _ = w.Write(out[:len(out)/2])
		w.Flush()
		panic(http.ErrAbortHandler)
	}
	if _, err := w.Write(out); err == nil {
		w.markFinished()
	}
}

// appendChatBody renders a chat.completion object.
func (s *Server) appendChatBody(b []byte, c *completion, reasoning, content []byte) []byte {
	fl := s.fl
	b = append(b, `{"id":`...)
	b = appendString(b, c.id)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, c.created, 10)
	b = append(b, `,"model":`...)
	b = appendString(b, c.model)
	if fl.roleEveryDelta {
		b = append(b, `,"system_fingerprint":"`...)
		b = append(b, fl.fingerprint...)
		b = append(b, '"')
	}
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant",`...)
	b = s.appendMessage(b, c, reasoning, content)
	b = append(b, '}')
	if fl.logprobs {
		b = append(b, `,"logprobs":null`...)
	}
	b = append(b, `,"finish_reason":"`...)
	b = append(b, c.plan.finishReason()...)
	b = append(b, '"')
	if fl.vllmExtras {
		b = append(b, `,"stop_reason":null`...)
	}
	b = append(b, `}],"usage":`...)
	b = s.appendUsage(b, c)
	switch {
	case fl.vllmExtras:
		b = append(b, `,"prompt_logprobs":null`...)
	case !fl.roleEveryDelta && fl.fingerprint != "":
		b = append(b, `,"system_fingerprint":"`...)
		b = append(b, fl.fingerprint...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendMessage renders the message fields after the role.
func (s *Server) appendMessage(b []byte, c *completion, reasoning, content []byte) []byte {
	fl := s.fl
	switch {
	case fl.vllmExtras:
		b = append(b, `"reasoning_content":`...)
		if c.reasons && fl.reasoning == reasonField {
			b = appendString(b, reasoning)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"content":`...)
		b = appendString(b, content)
		return append(b, `,"tool_calls":[]`...)
	case fl.reasoning == reasonField && c.reasons:
		b = append(b, `"content":`...)
		b = appendString(b, content)
		b = append(b, `,"reasoning_content":`...)
		return appendString(b, reasoning)
	}
	b = append(b, `"content":`...)
	return appendString(b, content)
}

// appendUsage renders the usage object in the flavour's shape.
func (s *Server) appendUsage(b []byte, c *completion) []byte {
	p, done := int64(c.promptTokens), int64(c.plan.completionTokens())
	switch {
	case s.fl.vllmExtras:
		b = append(b, `{"prompt_tokens":`...)
		b = strconv.AppendInt(b, p, 10)
		b = append(b, `,"total_tokens":`...)
		b = strconv.AppendInt(b, p+done, 10)
		b = append(b, `,"completion_tokens":`...)
		b = strconv.AppendInt(b, done, 10)
		return append(b, `,"prompt_tokens_details":null}`...)
	case s.fl.name == FlavorDeepSeek:
		b = append(b, `{"prompt_tokens":`...)
		b = strconv.AppendInt(b, p, 10)
		b = append(b, `,"completion_tokens":`...)
		b = strconv.AppendInt(b, done, 10)
		b = append(b, `,"total_tokens":`...)
		b = strconv.AppendInt(b, p+done, 10)
		b = append(b, `,"prompt_tokens_details":{"cached_tokens":0}`...)
		if c.reasons {
			b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
			b = strconv.AppendInt(b, int64(c.plan.reasoningN), 10)
			b = append(b, '}')
		}
		b = append(b, `,"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":`...)
		b = strconv.AppendInt(b, p, 10)
		return append(b, '}')
	}
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, p, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, done, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, p+done, 10)
	return append(b, '}')
}
