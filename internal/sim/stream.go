package sim

import (
	"context"
	"net/http"
	"strconv"
)

// Fixed pieces of SSE output.
var (
	keepAliveComment = []byte(": keep-alive\n\n")
	doneEvent        = []byte("data: [DONE]\n\n")
)

// chunker renders chat.completion.chunk events for one stream. The parts
// that never change within a stream are rendered once, so each event is a
// few appends into a reused buffer, one Write and one Flush.
type chunker struct {
	s         *Server
	c         *completion
	w         *statusWriter
	head      []byte // `{"id":..,"object":..,"created":..,"model":..,[fingerprint,]`
	buf       []byte
	sent      int // data events written
	dropAfter int // -1: never
}

// streamChat sends a streaming chat completion.
func (s *Server) streamChat(ctx context.Context, w *statusWriter, c *completion, k knobs) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Flush()
	if !s.waitFirstToken(ctx, w, c.ttft, keepAliveComment) {
		return
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	ch := &chunker{s: s, c: c, w: w, buf: (*bp)[:0], dropAfter: -1}
	if k.DropAfter != nil {
		ch.dropAfter = *k.DropAfter
	}
	ch.renderHead()
	ok := ch.run(ctx)
	*bp = ch.buf
	if ok {
		ch.finish()
	}
}

// renderHead renders the part of every chunk before "choices".
func (ch *chunker) renderHead() {
	fl, c := ch.s.fl, ch.c
	b := make([]byte, 0, 160)
	b = append(b, `{"id":`...)
	b = appendString(b, c.id)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, c.created, 10)
	b = append(b, `,"model":`...)
	b = appendString(b, c.model)
	b = append(b, ',')
	if fl.fingerprint != "" {
		b = append(b, `"system_fingerprint":"`...)
		b = append(b, fl.fingerprint...)
		b = append(b, `",`...)
	}
	ch.head = b
}

// run sends the role chunk and every token; it reports false when the
// client went away.
func (ch *chunker) run(ctx context.Context) bool {
	fl, c := ch.s.fl, ch.c
	if !fl.roleEveryDelta {
		delta := `"role":"assistant","content":""`
		if fl.name == FlavorDeepSeek && c.reasons {
			delta = `"role":"assistant","content":null,"reasoning_content":""`
		}
		if !ch.event(delta, "", false) {
			return false
		}
	}
	pace := newPacer(c.tps)
	first := true
	return c.plan.walk(func(channel int, text string) bool {
		if !first && !pace.wait(ctx) {
			return false
		}
		first = false
		return ch.token(channel, text)
	})
}

// token sends one reasoning or content piece.
func (ch *chunker) token(channel int, text string) bool {
	fl := ch.s.fl
	switch {
	case channel == chanReasoning && fl.name == FlavorDeepSeek:
		return ch.event(`"content":null,"reasoning_content":`, text, false)
	case channel == chanReasoning:
		return ch.event(`"reasoning_content":`, text, false)
	case fl.roleEveryDelta:
		return ch.event(`"role":"assistant","content":`, text, false)
	case fl.name == FlavorDeepSeek && ch.c.reasons:
		return ch.event(`"content":`, text, false, `,"reasoning_content":null`)
	}
	return ch.event(`"content":`, text, false)
}

// finish sends the finishing chunk, the usage chunk when asked for, and
// [DONE].
func (ch *chunker) finish() {
	fl, c := ch.s.fl, ch.c
	var ok bool
	switch {
	case fl.roleEveryDelta:
		ok = ch.event(`"role":"assistant","content":""`, "", true)
	case fl.name == FlavorDeepSeek && c.reasons:
		ok = ch.event(`"content":"","reasoning_content":null`, "", true)
	default:
		ok = ch.event(`"content":""`, "", true)
	}
	if !ok {
		return
	}
	if c.includeUsage {
		b := ch.start()
		b = append(b, ch.head...)
		b = append(b, `"choices":[],"usage":`...)
		b = ch.s.appendUsage(b, c)
		if !ch.send(append(b, "}\n\n"...)) {
			return
		}
	}
	ch.buf = ch.buf[:0]
	if ch.send(append(ch.buf, doneEvent...)) {
		ch.w.markFinished()
	}
}

// start begins an event in the reused buffer.
func (ch *chunker) start() []byte { return append(ch.buf[:0], "data: "...) }

// event renders and sends one chunk. The delta is prefix, then text as a
// JSON string when prefix ends with ':', then the extra suffixes.
func (ch *chunker) event(prefix, text string, final bool, extra ...string) bool {
	fl, c := ch.s.fl, ch.c
	b := ch.start()
	b = append(b, ch.head...)
	b = append(b, `"choices":[{"index":0,"delta":{`...)
	b = append(b, prefix...)
	if prefix[len(prefix)-1] == ':' {
		b = appendString(b, text)
	}
	for _, e := range extra {
		b = append(b, e...)
	}
	b = append(b, '}')
	if fl.logprobs {
		b = append(b, `,"logprobs":null`...)
	}
	if !final {
		b = append(b, `,"finish_reason":null}]}`...)
		return ch.send(append(b, "\n\n"...))
	}
	b = append(b, `,"finish_reason":"`...)
	b = append(b, c.plan.finishReason()...)
	b = append(b, '"')
	if fl.vllmExtras {
		b = append(b, `,"stop_reason":null`...)
	}
	b = append(b, `}]`...)
	if fl.usageInFinal && !c.includeUsage {
		b = append(b, `,"usage":`...)
		b = ch.s.appendUsage(b, c)
	}
	return ch.send(append(b, "}\n\n"...))
}

// send writes one event and flushes it, or aborts the connection when the
// drop_after knob says this event must not arrive.
func (ch *chunker) send(b []byte) bool {
	ch.buf = b
	if ch.sent == ch.dropAfter {
		ch.w.Flush()
		panic(http.ErrAbortHandler)
	}
	ch.sent++
	if _, err := ch.w.Write(b); err != nil {
		return false
	}
	ch.w.Flush()
	return true
}
