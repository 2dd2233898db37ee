package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/reasoning"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/route"
	"github.com/rampart-gw/rampart/internal/sse"
	"github.com/rampart-gw/rampart/internal/tokenizer"
	"github.com/rampart-gw/rampart/internal/upstream"
)

var errBadUpstream = errors.New("upstream sent an invalid response")

func badUpstream(err error) *apierr.Error {
	return apierr.Wrap(err, http.StatusBadGateway, apierr.TypeServer, "upstream_bad_response",
		"The model's upstream sent an invalid response.")
}

// reasoningMode says how an upstream delivers reasoning.
func reasoningMode(c *upstream.Client) reasoning.Mode {
	switch c.ReasoningFormat {
	case "tags":
		return reasoning.ModeTags
	case "implicit":
		return reasoning.ModeImplicitOpen
	}
	return reasoning.ModeNone
}

// completionPool holds chunks for parsing non-streaming answers: a parse
// keeps its slices' memory, and a chunk is about a kilobyte. Recycle drops
// each answer's texts, and the chunks that grew large, before Put.
var completionPool = sync.Pool{New: func() any { return new(openai.Chunk) }}

// relayWhole relays a non-streaming answer.
func (ex *exchange) relayWhole(ctx context.Context, resp *http.Response, ep *endpoint, rt *route.Route, tgt route.Target) {
	rec := ex.rec
	data, err := readLimited(resp.Body, resp.ContentLength, ex.s.Limits.MaxResponseBytes)
	if err != nil {
		if errors.Is(err, errBadUpstream) {
			ex.fail(badUpstream(err))
			return
		}
		ex.fail(upstream.Classify(ctx, err).Error)
		return
	}
	out := data
	if ep.kind != openai.Embeddings {
		c := completionPool.Get().(*openai.Chunk)
		fc := ex.filterChain(ctx, rt, tgt)
		if fc == nil {
			// Response filters may keep what they were given; without
			// them nothing outlives this call, and the chunk is reused.
			defer func() {
				if c.Recycle() {
					completionPool.Put(c)
				}
			}()
		}
		if err := openai.ParseCompletion(data, c); err != nil {
			ex.fail(badUpstream(err))
			return
		}
		if c.Usage != nil {
			rec.Usage = *c.Usage
		}
		rec.ModelServed = c.Model
		if filtered(ep.kind, fc) {
			if out, err = renderWhole(data, c, ep.kind, rt, tgt, fc); err != nil {
				var ae *apierr.Error
				if errors.As(err, &ae) {
					ex.rec.Outcome = "blocked"
					ex.fail(ae)
					return
				}
				ex.fail(badUpstream(err))
				return
			}
		}
	}
	rec.TTFT = time.Since(rec.Start)
	h := ex.w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(out))}
	ex.wroteHeader = true
	rec.Status = http.StatusOK
	ex.setWriteDeadline()
	ex.w.WriteHeader(http.StatusOK)
	if _, err := ex.w.Write(out); err != nil {
		rec.Status = upstream.StatusClientClosed
	}
}

// flush sends what the answer has buffered, under the write deadline. A
// writer that cannot flush is not an error.
func (ex *exchange) flush() error {
	if err := http.NewResponseController(ex.w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// renderWhole applies the route's reasoning policy to a whole answer.
func renderWhole(data []byte, c *openai.Chunk, ep openai.Endpoint, rt *route.Route, tgt route.Target, fc *filterChain) ([]byte, error) {
	pol, mode := textPolicy(ep, rt, tgt)
	if pol == reasoning.Pass && fc == nil {
		return data, nil
	}
	var edits []openai.DeltaEdit
	for i := range c.Choices {
		ch := &c.Choices[i]
		r := reasoning.NewRenderer(pol, mode)
		in := reasoning.Delta{Content: ch.Content, Reasoning: ch.Reasoning, HasContent: ch.HasContent, HasReasoning: ch.HasReasoning}
		out, norm := r.Render(in)
		tail, ntail := r.Flush()
		out = joinDelta(out, tail)
		var tools map[int]string
		if fc != nil {
			var err error
			if out, err = fc.delta(ch.Index, in, joinDelta(norm, ntail), true); err != nil {
				return nil, err
			}
			if tools, err = fc.toolArgs(ch.Index, ch.ToolCallIndex, ch.ToolCallArgs, true); err != nil {
				return nil, err
			}
		}
		if e, ok := deltaEdit(ch.Index, in, out); ok || tools != nil {
			e.ToolCallArgs = tools
			edits = append(edits, e)
		}
	}
	if len(edits) == 0 {
		return data, nil
	}
	return openai.AppendCompletionWithMessages(nil, data, edits)
}

func joinDelta(a, b reasoning.Delta) reasoning.Delta {
	a.Content += b.Content
	a.Reasoning += b.Reasoning
	a.HasContent = a.HasContent || b.HasContent
	a.HasReasoning = a.HasReasoning || b.HasReasoning
	return a
}

// deltaEdit describes how out differs from in, if it does.
func deltaEdit(index int, in, out reasoning.Delta) (openai.DeltaEdit, bool) {
	e := openai.DeltaEdit{Index: index}
	changed := false
	if out.HasContent != in.HasContent || out.Content != in.Content {
		c := out.Content
		e.Content = &c
		changed = true
	}
	if !out.HasReasoning && in.HasReasoning {
		e.DropReasoning = true
		changed = true
	} else if out.HasReasoning && (!in.HasReasoning || out.Reasoning != in.Reasoning) {
		r := out.Reasoning
		e.Reasoning = &r
		changed = true
	}
	return e, changed
}

// readLimited reads a whole answer body of at most max bytes. size is the
// announced length (-1 when unknown): with it the body is read into one
// buffer of that size, and a body of another length is an error.
func readLimited(r io.Reader, size, max int64) ([]byte, error) {
	if max <= 0 {
		max = 64 << 20
	}
	if size > max {
		return nil, errBadUpstream
	}
	if size < 0 {
		b, err := io.ReadAll(io.LimitReader(r, max+1))
		if err != nil {
			return nil, err
		}
		if int64(len(b)) > max {
			return nil, errBadUpstream
		}
		return b, nil
	}
	// The length is announced: one allocation of exactly that size. A body
	// longer than announced is an upstream error.
	b := make([]byte, size+1)
	n, err := io.ReadFull(r, b)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		if int64(n) < size {
			return nil, io.ErrUnexpectedEOF
		}
	case err != nil:
		return nil, err
	default:
		return nil, errBadUpstream
	}
	return b[:n], nil
}

// setWriteDeadline bounds how long a client may leave a response unread.
func (ex *exchange) setWriteDeadline() {
	d := ex.s.Limits.WriteIdleTimeout
	if d <= 0 {
		return
	}
	if http.NewResponseController(ex.w).SetWriteDeadline(time.Now().Add(d)) == nil {
		ex.writeDL = true
	}
}

// streamer relays one SSE stream. The relay loop and the heartbeat timer
// both write, under mu.
type streamer struct {
	ex     *exchange
	rc     *http.ResponseController
	cancel context.CancelCauseFunc
	mode   reasoning.Mode
	policy reasoning.Policy
	// endpoint and usage are the request's endpoint and whether it asked
	// for usage; the request itself is let go once the stream starts.
	endpoint openai.Endpoint
	usage    bool

	mu        sync.Mutex
	closed    bool
	lastWrite time.Time
	dlSet     time.Time
	dirty     bool // written but not yet flushed
	werr      error

	lastEvent atomic.Int64 // unix nanos of the last upstream activity
	tick      time.Duration
	idle      time.Duration
	heartbeat time.Duration
	timer     *time.Timer

	// est counts the tokens relayed, produced and reasoning the part of
	// them that was reasoning: the record's usage when the stream ends
	// before the upstream reports its own. It is the heuristic estimator,
	// which costs nothing per event: an exact tokenizer cost about 200 ns
	// and three allocations per event, and a sum over deltas is not the
	// exact count of their concatenation anyway.
	est                 tokenizer.Estimator
	produced, reasoning int

	renderers []*reasoning.Renderer
	finished  []bool // a choice's finish_reason was seen
	filters   *filterChain
	edits     []openai.DeltaEdit
	buf       []byte
	chunk     openai.Chunk
}

// relayStream relays an SSE answer event by event, flushing each at once.
// It never sends a [DONE] that the upstream did not send: a stream that
// breaks ends with an error event.
func (ex *exchange) relayStream(ctx context.Context, cancel context.CancelCauseFunc, resp *http.Response, req *openai.Request, rt *route.Route, tgt route.Target) {
	rec := ex.rec
	if ct := resp.Header.Get("Content-Type"); !hasPrefixFold(ct, "text/event-stream") {
		ex.fail(badUpstream(errors.New("stream answered with content type " + ct)))
		return
	}
	// Nothing reads the upstream's header again; an open stream need not
	// keep it.
	resp.Header = nil
	st := &streamer{
		ex:        ex,
		rc:        http.NewResponseController(ex.w),
		cancel:    cancel,
		endpoint:  req.Endpoint,
		usage:     req.IncludeUsage,
		idle:      tgt.Client.Timeouts.Idle,
		heartbeat: rt.Heartbeat,
		filters:   ex.filterChain(ctx, rt, tgt),
		est:       tokenizer.Heuristic{},
	}
	defer st.countUsage()
	st.policy, st.mode = textPolicy(req.Endpoint, rt, tgt)
	h := ex.w.Header()
	h["Content-Type"] = sseContentType
	h["Cache-Control"] = sseCacheControl
	h["X-Accel-Buffering"] = sseNoBuffering
	ex.wroteHeader = true
	ex.streaming = true
	rec.Status = http.StatusOK
	st.mu.Lock()
	ex.w.WriteHeader(http.StatusOK)
	st.flushLocked()
	st.mu.Unlock()
	st.startTimer()
	defer st.close()
	// From here on no upstream body is built again (a stream that has
	// started is never retried), so the client's body, the upstream body
	// and the decoded request are let go instead of being held for the
	// life of the stream. Stages copied what their response filters need.
	req.Release()
	ex.releaseBody()
	if ex.call != nil {
		ex.call.Req = nil
	}

	// Events are written as they are handled and flushed just before the
	// relay would wait for the upstream: each event reaches the client
	// before any wait, and a burst already received costs one flush.
	var rd *sse.Reader
	if src, ok := resp.Body.(sse.Source); ok {
		// The plain-HTTP client's body: events are parsed where they lie
		// in the upstream connection's read buffer, and the client is
		// flushed only before a read that may wait.
		rd = sse.NewSourceReader(src, ex.s.Limits.MaxEventBytes, st.flush)
	} else {
		rd = sse.NewReader(flushBeforeRead{r: resp.Body, st: st}, ex.s.Limits.MaxEventBytes)
	}
	for {
		ev, err := rd.Next()
		if err != nil {
			st.upstreamEnded(ctx, err)
			return
		}
		st.lastEvent.Store(time.Now().UnixNano())
		if ev.Comment {
			continue // the gateway sends its own heartbeats
		}
		if string(ev.Data) == "[DONE]" {
			if !st.finishRenderers() {
				return
			}
			st.write(append(st.buf[:0], "data: [DONE]\n\n"...))
			rec.Outcome = "ok"
			return
		}
		if !st.event(ev.Data) {
			return
		}
	}
}

// event handles one data event; false ends the relay.
func (st *streamer) event(data []byte) bool {
	ex, rec := st.ex, st.ex.rec
	c := &st.chunk
	if err := openai.ParseChunk(data, c); err != nil {
		st.cancel(errBadUpstream)
		st.endWithError(badUpstream(err))
		return false
	}
	if c.Error != nil {
		st.cancel(errBadUpstream)
		st.endWithError(apierr.New(http.StatusBadGateway, apierr.TypeServer, "upstream_error",
			"The model's upstream reported an error in the middle of the stream."))
		return false
	}
	if c.Usage != nil {
		rec.Usage = *c.Usage
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		n := st.est.Count(ch.Reasoning)
		st.reasoning += n
		n += st.est.Count(ch.Content)
		for _, a := range ch.ToolCallArgs {
			n += st.est.Count(a)
		}
		st.produced += n
	}
	if c.Model != "" && rec.ModelServed == "" {
		rec.ModelServed = c.Model
	}
	if len(c.Choices) == 0 && c.Usage != nil && !st.usage {
		// The gateway asked for usage on the client's behalf; a client that
		// did not ask does not get the extra chunk.
		return true
	}
	out := data
	if filtered(st.endpoint, st.filters) {
		var err error
		if out, err = st.render(data, c); err != nil {
			st.cancel(errBadUpstream)
			var ae *apierr.Error
			if errors.As(err, &ae) {
				// A response filter stopped the answer.
				st.endWithError(ae)
				ex.rec.Outcome = "blocked"
				return false
			}
			st.endWithError(badUpstream(err))
			return false
		}
	}
	b := sse.AppendData(st.buf[:0], out)
	st.buf = b[:0]
	if rec.TTFT == 0 {
		rec.TTFT = time.Since(rec.Start)
	}
	rec.Events++
	if !st.write(b) {
		ex.fail(upstream.Classify(clientGone(st.cancel), context.Canceled).Error)
		return false
	}
	return true
}

// render applies the reasoning policy to each choice of a chunk.
func (st *streamer) render(data []byte, c *openai.Chunk) ([]byte, error) {
	edits := st.edits[:0]
	for i := range c.Choices {
		ch := &c.Choices[i]
		r := st.renderer(ch.Index)
		in := reasoning.Delta{Content: ch.Content, Reasoning: ch.Reasoning, HasContent: ch.HasContent, HasReasoning: ch.HasReasoning}
		out, norm := r.Render(in)
		final := ch.FinishReason != ""
		if final {
			tail, ntail := r.Flush()
			out, norm = joinDelta(out, tail), joinDelta(norm, ntail)
			st.markFinished(ch.Index)
		}
		var tools map[int]string
		if st.filters != nil {
			var err error
			if out, err = st.filters.delta(ch.Index, in, norm, final); err != nil {
				return nil, err
			}
			if tools, err = st.filters.toolArgs(ch.Index, ch.ToolCallIndex, ch.ToolCallArgs, final); err != nil {
				return nil, err
			}
		}
		if e, ok := deltaEdit(ch.Index, in, out); ok || tools != nil {
			e.ToolCallArgs = tools
			edits = append(edits, e)
		}
	}
	st.edits = edits
	if len(edits) == 0 {
		return data, nil
	}
	return openai.AppendChunkWithDeltas(nil, data, edits)
}

func (st *streamer) renderer(index int) *reasoning.Renderer {
	for index >= len(st.renderers) {
		st.renderers = append(st.renderers, nil)
	}
	r := st.renderers[index]
	if r == nil {
		r = reasoning.NewRenderer(st.policy, st.mode)
		st.renderers[index] = r
	}
	return r
}

func (st *streamer) markFinished(index int) {
	for index >= len(st.finished) {
		st.finished = append(st.finished, false)
	}
	st.finished[index] = true
}

// finishRenderers emits text a renderer or a filter still holds back (a
// possible tag prefix, a masked value's window) when the upstream ends a
// choice without a finish_reason. False when a filter stopped the answer.
func (st *streamer) finishRenderers() bool {
	for i, r := range st.renderers {
		if r == nil || (i < len(st.finished) && st.finished[i]) {
			continue
		}
		tail, ntail := r.Flush()
		var tools map[int]string
		if st.filters != nil {
			var err error
			if tail, err = st.filters.delta(i, reasoning.Delta{}, ntail, true); err == nil {
				tools, err = st.filters.toolArgs(i, nil, nil, true)
			}
			if err != nil {
				var ae *apierr.Error
				if !errors.As(err, &ae) {
					ae = badUpstream(err)
				}
				st.endWithError(ae)
				st.ex.rec.Outcome = "blocked"
				return false
			}
		}
		if tail.Content == "" && tail.Reasoning == "" && tools == nil {
			continue
		}
		b := tailChunk(st.endpoint, i)
		e, _ := deltaEdit(i, reasoning.Delta{}, tail)
		e.ToolCallArgs = tools
		if out, err := openai.AppendChunkWithDeltas(nil, b, []openai.DeltaEdit{e}); err == nil {
			st.write(sse.AppendData(nil, out))
		}
	}
	return true
}

// countUsage records the tokens relayed so far as the completion's usage
// when the upstream reported none (the stream broke, or the client left,
// before its usage chunk). The prompt's tokens stay unknown: 0.
func (st *streamer) countUsage() {
	rec := st.ex.rec
	if rec.Usage != (record.Usage{}) || st.produced == 0 {
		return
	}
	rec.Usage.CompletionTokens = st.produced
	rec.Usage.ReasoningTokens = st.reasoning
	rec.Usage.TotalTokens = st.produced
}

// upstreamEnded handles the end of the upstream body before [DONE].
func (st *streamer) upstreamEnded(ctx context.Context, err error) {
	ex := st.ex
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	f := upstream.Classify(ctx, err)
	if f.Status == upstream.StatusClientClosed {
		ex.fail(f.Error)
		return
	}
	if errors.Is(err, sse.ErrEventTooLarge) {
		f.Error = badUpstream(err)
	} else if f.Code == "upstream_error" {
		f.Error = apierr.Wrap(err, http.StatusBadGateway, apierr.TypeServer, "upstream_stream_broken",
			"The model's upstream ended the stream before it was complete.")
	}
	st.endWithError(f.Error)
}

// endWithError ends the client's stream with a terminal error event.
func (st *streamer) endWithError(e *apierr.Error) {
	ex := st.ex
	ex.rec.Outcome = "upstream_error"
	ex.rec.ErrorCode = e.Code
	ex.cause = e
	b := append(st.buf[:0], "data: "...)
	b = append(b, e.JSON()...)
	b = append(b, "\n\n"...)
	st.write(b)
}

// endStreamWithError is used by the panic handler while streaming.
func (ex *exchange) endStreamWithError(e *apierr.Error) {
	b := append([]byte("data: "), e.JSON()...)
	b = append(b, "\n\n"...)
	_, _ = ex.w.Write(b)
	_ = http.NewResponseController(ex.w).Flush()
}

// write sends b; it is flushed before the relay next waits for the
// upstream. False when the client is gone.
func (st *streamer) write(b []byte) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed || st.werr != nil {
		return false
	}
	st.refreshDeadlineLocked()
	if _, err := st.ex.w.Write(b); err != nil {
		st.werr = err
		st.cancel(upstream.ErrClientGone)
		return false
	}
	st.dirty = true
	return true
}

// flush sends what was written; the relay calls it before it waits.
func (st *streamer) flush() {
	st.mu.Lock()
	if st.dirty && !st.closed && st.werr == nil {
		st.flushLocked()
	}
	st.mu.Unlock()
}

func (st *streamer) flushLocked() {
	st.dirty = false
	if err := st.rc.Flush(); err != nil {
		st.werr = err
		st.cancel(upstream.ErrClientGone)
	}
	st.lastWrite = time.Now()
}

// flushBeforeRead flushes the client's stream before each read of the
// upstream body, that is, before the relay can block.
type flushBeforeRead struct {
	r  io.Reader
	st *streamer
}

func (f flushBeforeRead) Read(p []byte) (int, error) {
	f.st.flush()
	return f.r.Read(p)
}

// refreshDeadlineLocked moves the write deadline forward at most once a
// second: a client that stops reading is cut off after WriteIdleTimeout.
func (st *streamer) refreshDeadlineLocked() {
	d := st.ex.s.Limits.WriteIdleTimeout
	if d <= 0 {
		return
	}
	now := time.Now()
	if now.Sub(st.dlSet) < time.Second {
		return
	}
	if st.rc.SetWriteDeadline(now.Add(d)) == nil {
		st.ex.writeDL = true
		st.dlSet = now
	}
}

// startTimer arms the one timer that sends heartbeats during silences and
// cancels the upstream when it stays idle too long.
func (st *streamer) startTimer() {
	st.lastEvent.Store(time.Now().UnixNano())
	st.tick = st.idle
	if st.heartbeat > 0 && (st.tick <= 0 || st.heartbeat < st.tick) {
		st.tick = st.heartbeat
	}
	if st.tick <= 0 {
		return
	}
	st.tick /= 2
	st.timer = time.AfterFunc(st.tick, st.onTick)
}

func (st *streamer) onTick() {
	now := time.Now()
	if st.idle > 0 && now.Sub(time.Unix(0, st.lastEvent.Load())) >= st.idle {
		st.cancel(upstream.ErrIdleTimeout)
		return
	}
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	if st.heartbeat > 0 && now.Sub(st.lastWrite) >= st.heartbeat && st.werr == nil {
		st.refreshDeadlineLocked()
		if _, err := st.ex.w.Write(heartbeatLine); err != nil {
			st.werr = err
			st.cancel(upstream.ErrClientGone)
		} else {
			st.flushLocked()
		}
	}
	st.mu.Unlock()
	st.timer.Reset(st.tick)
}

var heartbeatLine = []byte(": keep-alive\n\n")

// The header values of every stream's answer, shared: net/http copies a
// handler's header when it writes it, and nothing appends to these.
var (
	sseContentType  = []string{"text/event-stream"}
	sseCacheControl = []string{"no-cache"}
	sseNoBuffering  = []string{"no"}
)

// close flushes what is pending and stops the timer; no write happens
// after close returns.
func (st *streamer) close() {
	st.mu.Lock()
	if st.dirty && st.werr == nil {
		st.flushLocked()
	}
	st.closed = true
	st.mu.Unlock()
	if st.timer != nil {
		st.timer.Stop()
	}
}

// clientGone cancels with the client-gone cause and returns a context that
// carries it, for Classify.
func clientGone(cancel context.CancelCauseFunc) context.Context {
	cancel(upstream.ErrClientGone)
	ctx, c := context.WithCancelCause(context.Background())
	c(upstream.ErrClientGone)
	return ctx
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		a, b := s[i], prefix[i]
		if a >= 'A' && a <= 'Z' {
			a += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// filterChain returns the call's response filters for this route, or nil.
func (ex *exchange) filterChain(ctx context.Context, rt *route.Route, tgt route.Target) *filterChain {
	if ex.call == nil || len(ex.call.filters) == 0 {
		return nil
	}
	pol, mode := rt.Policy, reasoningMode(tgt.Client)
	if ex.call.Req != nil {
		pol, mode = textPolicy(ex.call.Req.Endpoint, rt, tgt)
	}
	return &filterChain{
		ctx:     ctx,
		filters: ex.call.filters,
		policy:  pol,
		inline:  pol == reasoning.Pass && mode != reasoning.ModeNone,
	}
}
