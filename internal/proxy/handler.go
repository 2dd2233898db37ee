// Package proxy is the client-facing request path: it authenticates,
// decodes and checks a request, picks an upstream, forwards the request and
// relays the answer event by event, and it always closes the request's
// record, whatever happened.
package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/killswitch"
	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/route"
)

// Authenticator turns a request's credentials into a principal. An error is
// an *apierr.Error (401); it never says which check failed.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (*record.Principal, error)
}

// Sink receives every finished record: the access log, metrics and the
// audit trail implement it. Record must not block.
type Sink interface {
	Record(rec *record.Record)
}

// Limits are the client-side bounds of the request path.
type Limits struct {
	MaxBodyBytes     int64
	BodyIdleTimeout  time.Duration
	WriteIdleTimeout time.Duration
	MaxHeaderCount   int
	MaxInFlight      int64
	// MaxResponseBytes caps a non-streaming upstream answer. Default 64 MiB.
	MaxResponseBytes int64
	// MaxEventBytes caps one upstream SSE event. Default 4 MiB.
	MaxEventBytes int
}

// Snapshot is one immutable compiled configuration. A reload builds a new
// one and swaps it atomically; requests in flight finish on the old one.
type Snapshot struct {
	Routes   *route.Table
	Auth     Authenticator
	Limits   Limits
	ClientIP *ClientIPResolver
	Sinks    []Sink
	Log      *slog.Logger
	Decode   openai.Limits
	// PreStages run on the raw request, after its body was read and before
	// it is decoded (the WAF).
	PreStages []Stage
	// Stages run on the decoded and routed request, in order (limits,
	// guards, DLP).
	Stages []Stage
	// Kill is the kill switch; it outlives snapshots. Nil: none.
	Kill *killswitch.Switch
	// Models, when set, narrows what GET /v1/models lists beyond the
	// credential's own model list (the authorization rules). Nil: no
	// further filter.
	Models ModelFilter
}

// Handler serves the client API.
type Handler struct {
	cur      atomic.Pointer[Snapshot]
	inFlight atomic.Int64
	ids      idSource
}

// New returns a handler serving s.
func New(s *Snapshot) *Handler {
	h := &Handler{ids: newIDSource()}
	h.cur.Store(s)
	return h
}

// Swap installs a new snapshot for new requests.
func (h *Handler) Swap(s *Snapshot) { h.cur.Store(s) }

// Snapshot returns the snapshot serving new requests.
func (h *Handler) Snapshot() *Snapshot { return h.cur.Load() }

// InFlight returns the number of requests being served.
func (h *Handler) InFlight() int64 { return h.inFlight.Load() }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.cur.Load()
	rec := &record.Record{
		ID:     h.ids.next(),
		Start:  time.Now(),
		Method: r.Method,
		Path:   r.URL.Path,
	}
	rec.ClientIP = s.ClientIP.Resolve(r)
	w.Header()["X-Request-Id"] = []string{rec.ID}
	ex := &exchange{h: h, s: s, w: w, r: r, rec: rec}
	n := h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	defer ex.finish()
	if s.Limits.MaxInFlight > 0 && n > s.Limits.MaxInFlight {
		e := apierr.New(http.StatusServiceUnavailable, apierr.TypeServer, "overloaded",
			"The gateway is at capacity; retry after a short delay.")
		e.RetryAfter = time.Second
		ex.fail(e)
		return
	}
	ex.serve()
	if ex.pending != nil {
		ex.relayPending()
	}
}

// exchange is the state of one request while it is served.
type exchange struct {
	h   *Handler
	s   *Snapshot
	w   http.ResponseWriter
	r   *http.Request
	rec *record.Record

	wroteHeader bool
	streaming   bool
	privateOnly bool // private_when holds: only private upstreams may serve it
	writeDL     bool // a write deadline was set and must be cleared
	cause       error
	body        *[]byte // the client's body, pooled
	out         *[]byte // the upstream body, pooled
	call        *Call
	up          upstreamCall  // the current attempt's
	pending     *upstreamCall // a stream accepted, to relay from ServeHTTP
}

func (ex *exchange) serve() {
	r := ex.r
	ep, ok := endpointOf(r.URL.Path)
	if !ok {
		ex.fail(apierr.New(http.StatusNotFound, apierr.TypeNotFound, "not_found",
			fmt.Sprintf("Unknown path %q; see /v1/chat/completions, /v1/completions, /v1/embeddings and /v1/models.", clip(r.URL.Path, 64))))
		return
	}
	ex.rec.Endpoint = ep.name
	if r.Method != ep.method {
		ex.w.Header().Set("Allow", ep.method)
		ex.fail(apierr.New(http.StatusMethodNotAllowed, apierr.TypeInvalidRequest, "method_not_allowed",
			fmt.Sprintf("%s is not allowed here; use %s.", clip(r.Method, 16), ep.method)))
		return
	}
	if max := ex.s.Limits.MaxHeaderCount; max > 0 && headerFields(r.Header, max) > max {
		ex.fail(apierr.New(http.StatusRequestHeaderFieldsTooLarge, apierr.TypeInvalidRequest, "too_many_headers",
			fmt.Sprintf("The request has more than %d header fields.", ex.s.Limits.MaxHeaderCount)))
		return
	}
	p, err := ex.s.Auth.Authenticate(record.With(r.Context(), ex.rec), r)
	if err != nil {
		ex.w.Header().Set("WWW-Authenticate", `Bearer realm="rampart"`)
		ex.fail(err)
		return
	}
	ex.rec.Principal = *p
	if ep.models {
		ex.listModels(p)
		return
	}
	ex.forward(ep)
}

// fail sends err to the client if nothing was sent yet, and records it.
func (ex *exchange) fail(err error) {
	e := apierr.From(err)
	ex.cause = err
	ex.rec.ErrorCode = e.Code
	if e.Status == 499 {
		ex.rec.Status = 499
		return
	}
	ex.rec.Status = e.Status
	if ex.wroteHeader {
		return
	}
	ex.wroteHeader = true
	ex.closeIfBodyUnread()
	ex.setWriteDeadline()
	apierr.Write(ex.w, e)
}

// headerFields counts the header fields of h, a name repeated counting
// once per field, up to just over max.
func headerFields(h http.Header, max int) int {
	if len(h) > max {
		return len(h)
	}
	n := 0
	for _, v := range h {
		if n += len(v); n > max {
			break
		}
	}
	return n
}

// closeIfBodyUnread has an HTTP/1 connection closed after the answer when
// the request's body was never read (a refusal before the body: 401, 404,
// 405, 431, 503 at capacity, a declared length over the cap; or a GET of
// the models with a body). net/http would otherwise read up to 256 KiB of
// the unread body before writing the answer, with no deadline, so a client
// that declares a body and stalls would hold the connection and never get
// its refusal. The connection could not be reused without that read anyway.
func (ex *exchange) closeIfBodyUnread() {
	r := ex.r
	if ex.body == nil && r.ProtoMajor == 1 && r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		ex.w.Header()["Connection"] = []string{"close"}
	}
}

// finish is the logging phase. It runs from a defer, so a panic or a
// client that went away still leaves exactly one record.
func (ex *exchange) finish() {
	rec := ex.rec
	cut := false // the answer is cut (http.ErrAbortHandler): send nothing more
	if p := recover(); p != nil {
		abort := p == http.ErrAbortHandler
		if !abort {
			ex.s.Log.Error("panic while serving a request",
				"request_id", rec.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
		started := ex.wroteHeader
		if ex.streaming {
			ex.endStreamWithError(apierr.New(http.StatusInternalServerError, apierr.TypeServer,
				"internal_error", "The gateway failed while relaying the stream."))
		} else {
			ex.fail(fmt.Errorf("panic: %v", p))
		}
		rec.Outcome = "error"
		// A 500 written here reaches the client only if the handler returns
		// normally: an abort drops the unflushed answer. An answer that had
		// already started is cut instead, so it cannot pass for complete.
		if abort || started {
			cut = true
			defer panic(http.ErrAbortHandler)
		}
	}
	if rec.Status == 0 {
		rec.Status = http.StatusOK
	}
	if rec.Outcome == "" {
		switch {
		case rec.Status == 499:
			rec.Outcome = "client_closed"
		case rec.Status >= 400 && rec.Blocked():
			rec.Outcome = "blocked"
		case rec.Status >= 400:
			rec.Outcome = "error"
		default:
			rec.Outcome = "ok"
		}
	}
	rec.Duration = time.Since(rec.Start)
	if ex.call != nil {
		for _, fn := range ex.call.finish {
			fn(rec)
		}
	}
	ex.releaseBody()
	if ex.cause != nil && rec.Status >= 500 {
		ex.s.Log.Warn("request failed", "request_id", rec.ID, "status", rec.Status, "error", ex.cause.Error())
	}
	for _, s := range ex.s.Sinks {
		s.Record(rec)
	}
	// A whole answer goes out now, still under the write deadline, which
	// is cleared after: the record is complete before the client has its
	// answer, and a client that stops reading cannot hold this last write
	// past the deadline (net/http would otherwise write it after the
	// handler returned, with no deadline). A stream has flushed its last
	// event already; an aborted answer is never sent.
	if ex.wroteHeader && !ex.streaming && !cut {
		_ = ex.flush()
	}
	// Cleared, not left to expire: it would cut the connection's next
	// request. What net/http writes after this (a stream's chunked
	// terminator) is bounded by the listener (server.LimitListener).
	if ex.writeDL {
		_ = http.NewResponseController(ex.w).SetWriteDeadline(time.Time{})
	}
}

type endpoint struct {
	name   string
	method string
	path   string // upstream path
	kind   openai.Endpoint
	models bool
}

var (
	epChat        = &endpoint{name: "chat", method: http.MethodPost, path: "/chat/completions", kind: openai.Chat}
	epCompletions = &endpoint{name: "completions", method: http.MethodPost, path: "/completions", kind: openai.Completions}
	epEmbeddings  = &endpoint{name: "embeddings", method: http.MethodPost, path: "/embeddings", kind: openai.Embeddings}
	epModels      = &endpoint{name: "models", method: http.MethodGet, models: true}
)

// endpointOf maps a client path, with or without the /v1 prefix as
// DeepSeek's API accepts both, to an endpoint.
func endpointOf(p string) (*endpoint, bool) {
	if len(p) > 3 && p[:4] == "/v1/" {
		p = p[3:]
	}
	switch p {
	case "/chat/completions":
		return epChat, true
	case "/completions":
		return epCompletions, true
	case "/embeddings":
		return epEmbeddings, true
	case "/models":
		return epModels, true
	}
	return nil, false
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
