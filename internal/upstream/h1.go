package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rampart-gw/rampart/internal/sockio"
)

// h1Client is the upstream client for plain-HTTP upstreams (a self-hosted
// model server on the local network, the simulator). It speaks HTTP/1.1
// on pooled keep-alive connections with no goroutine of its own: the
// caller's goroutine writes the request and reads the answer, and a
// context.AfterFunc turns cancellation into an expired deadline. That
// saves the hand-offs between http.Transport's per-connection read and
// write goroutines, and their stacks, on every request and every open
// stream. HTTPS upstreams keep http.Transport (TLS, HTTP/2).
type h1Client struct {
	addr      string // host:port to dial
	dialer    *net.Dialer
	firstByte time.Duration // bound on writing the request and reading the status and headers
	maxHeader int64         // bound on the response header bytes
	maxIdle   int
	idleFor   time.Duration // idle connections older than this are closed, not reused
	checkIdle time.Duration // idle connections older than this are checked before reuse
	head      []byte        // the fixed header lines: Host, credentials, configured headers

	mu     sync.Mutex
	idle   []*h1Conn // most recently used last
	closed bool
}

// h1Conn is one pooled connection.
type h1Conn struct {
	nc       net.Conn
	br       *connReader
	lastUsed time.Time
}

var h1ReqPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// checkAfter is how long a connection may sit idle before it is checked
// for a close by the server before reuse: servers' keep-alive timeouts are
// seconds (uvicorn's is 5 s), and a request that meets a close anyway is
// retried once.
const checkAfter = time.Second

// drainWait bounds the wait for the rest of an answer left unread.
const drainWait = 2 * time.Millisecond

// aLongTimeAgo is a deadline in the past: it makes blocked I/O return.
var aLongTimeAgo = time.Unix(1, 0)

func (c *h1Client) do(ctx context.Context, method, path string, body []byte, accept []string, requestID, traceparent string) (*http.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pc, reused, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.roundTrip(ctx, pc, method, path, body, accept, requestID, traceparent)
	if err != nil && reused && isStale(err) && ctx.Err() == nil {
		// The server closed the idle connection as the request went out;
		// it never saw the request. Try once on a fresh connection.
		if pc, err = c.dial(ctx); err != nil {
			return nil, err
		}
		resp, err = c.roundTrip(ctx, pc, method, path, body, accept, requestID, traceparent)
	}
	return resp, err
}

// isStale reports whether err is what a request on a connection that the
// server already closed gets before any byte of an answer.
func isStale(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (c *h1Client) roundTrip(ctx context.Context, pc *h1Conn, method, path string, body []byte, accept []string, requestID, traceparent string) (*http.Response, error) {
	// Cancellation sets a past deadline, which ends any read or write in
	// progress; stop reports whether that happened.
	stop := context.AfterFunc(ctx, func() { _ = pc.nc.SetDeadline(aLongTimeAgo) })
	if c.firstByte > 0 {
		_ = pc.nc.SetDeadline(time.Now().Add(c.firstByte))
	}
	bp := h1ReqPool.Get().(*[]byte)
	b := append((*bp)[:0], method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\n"...)
	b = append(b, c.head...)
	for _, a := range accept {
		b = append(b, "Accept: "...)
		b = append(b, a...)
		b = append(b, "\r\n"...)
	}
	if requestID != "" && validHeaderValue(requestID) {
		b = append(b, "X-Request-Id: "...)
		b = append(b, requestID...)
		b = append(b, "\r\n"...)
	}
	if traceparent != "" && validHeaderValue(traceparent) {
		b = append(b, "Traceparent: "...)
		b = append(b, traceparent...)
		b = append(b, "\r\n"...)
	}
	if body != nil {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	var err error
	if len(body) > 0 && len(b)+len(body) <= cap(b) {
		b = append(b, body...)
		_, err = pc.nc.Write(b)
	} else if len(body) > 0 {
		if sc, ok := pc.nc.(*sockio.Conn); ok {
			_, err = sc.Writev(b, body)
		} else {
			bufs := net.Buffers{b, body}
			_, err = bufs.WriteTo(pc.nc)
		}
	} else {
		_, err = pc.nc.Write(b)
	}
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		h1ReqPool.Put(bp)
	}
	if err != nil {
		stop()
		pc.nc.Close()
		return nil, ctxErr(ctx, err)
	}
	var a answer
	if a, err = readAnswer(pc.br, int(c.maxHeader)); err != nil {
		stop()
		pc.nc.Close()
		if errors.Is(err, errHeaderTooLarge) {
			return nil, err
		}
		return nil, ctxErr(ctx, err)
	}
	// The first-byte bound ends with the header; a cancellation that came
	// meanwhile must still end the body's reads.
	_ = pc.nc.SetDeadline(time.Time{})
	if ctx.Err() != nil {
		_ = pc.nc.SetDeadline(aLongTimeAgo)
	}
	resp := a.resp
	hb := &h1Body{ctx: ctx, c: c, pc: pc, rc: resp.Body, stop: stop, reuse: a.reuse}
	hb.src, _ = resp.Body.(bodySource) // every body but http.NoBody
	resp.Body = hb
	return resp, nil
}

// ctxErr reports a failed read or write as the cancellation that caused
// it, when there was one: the expired deadline is only its means.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("upstream call ended: %w (%w)", cerr, err)
	}
	return err
}

// validHeaderValue reports whether v may be sent as a header value as it is.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < ' ' || b == 0x7f {
			return false
		}
	}
	return true
}

// bodySource is a body that can also be read in place, out of the
// connection's read buffer. It has the method set of sse.Source, which
// h1Body passes on, so the SSE relay parses events where they were read.
type bodySource interface {
	// Peek returns the next buffered bytes of the body, reading once when
	// none are; at least one byte or an error, io.EOF at the end. The
	// bytes stay valid until the next Peek or Read.
	Peek() ([]byte, error)
	// Advance consumes n bytes of what Peek returned.
	Advance(n int)
	// Buffered reports how many bytes Peek returns without reading.
	Buffered() int
}

// h1Body is an answer's body; closing it returns the connection to the
// pool when the answer was read to its end.
type h1Body struct {
	ctx   context.Context
	c     *h1Client
	pc    *h1Conn
	rc    io.ReadCloser
	src   bodySource // rc read in place; nil for an empty body
	stop  func() bool
	eof   bool
	done  bool
	reuse bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, errors.New("read on closed upstream body")
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
	} else if err != nil {
		err = ctxErr(b.ctx, err)
	}
	return n, err
}

// Peek returns the next bytes of the body that the connection's read
// buffer holds, reading once when it holds none. They stay valid until
// the next Peek or Read.
func (b *h1Body) Peek() ([]byte, error) {
	if b.done {
		return nil, errors.New("read on closed upstream body")
	}
	if b.src == nil {
		b.eof = true
		return nil, io.EOF
	}
	p, err := b.src.Peek()
	if err == io.EOF {
		b.eof = true
	} else if err != nil {
		err = ctxErr(b.ctx, err)
	}
	return p, err
}

// Advance consumes n bytes of what Peek returned.
func (b *h1Body) Advance(n int) {
	if b.src != nil && !b.done {
		b.src.Advance(n)
	}
}

// Buffered reports how many bytes Peek returns without waiting for the
// upstream.
func (b *h1Body) Buffered() int {
	if b.src == nil || b.done {
		return 0
	}
	return b.src.Buffered()
}

// Close releases the connection. An answer not read to its end (a stream
// the client left, a [DONE] before the terminating chunk arrived) is
// drained for at most drainWait and 4 KiB; otherwise the connection is
// closed, never left half-read.
func (b *h1Body) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	stopped := b.stop()
	if !b.eof && stopped && b.reuse {
		// The end of a chunked answer usually follows its last event by
		// microseconds; wait for it briefly so the connection is reused.
		_ = b.pc.nc.SetReadDeadline(time.Now().Add(drainWait))
		for i := 0; i < 8 && !b.eof; i++ {
			if err := b.skip(); err == io.EOF {
				b.eof = true
			} else if err != nil {
				break
			}
		}
		_ = b.pc.nc.SetReadDeadline(time.Time{})
	}
	if b.eof && stopped && b.reuse {
		b.c.put(b.pc)
		return nil
	}
	return b.pc.nc.Close()
}

// skip consumes what the body has buffered, or reads once: in place when
// the body can be read in place, so that draining needs no buffer.
func (b *h1Body) skip() error {
	if b.src == nil {
		_, err := b.rc.Read(nil)
		return err
	}
	p, err := b.src.Peek()
	b.src.Advance(len(p))
	return err
}

// get takes an idle connection or dials a new one.
func (c *h1Client) get(ctx context.Context) (*h1Conn, bool, error) {
	now := time.Now()
	for {
		c.mu.Lock()
		n := len(c.idle)
		if n == 0 {
			c.mu.Unlock()
			break
		}
		pc := c.idle[n-1]
		c.idle[n-1] = nil
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		idle := now.Sub(pc.lastUsed)
		if idle > c.idleFor || (idle >= c.checkIdle && !alive(pc.nc)) {
			pc.nc.Close()
			continue
		}
		return pc, true, nil
	}
	pc, err := c.dial(ctx)
	return pc, false, err
}

func (c *h1Client) dial(ctx context.Context) (*h1Conn, error) {
	nc, err := dialAside(ctx, c.dialer, "tcp", c.addr)
	if err != nil {
		return nil, err
	}
	nc = sockio.Wrap(nc)
	pc := &h1Conn{nc: nc, br: newConnReader(nc)}
	return pc, nil
}

func (c *h1Client) put(pc *h1Conn) {
	if pc.br.Buffered() > 0 {
		// Bytes after the answer's end: the connection is out of step.
		pc.nc.Close()
		return
	}
	// An idle connection holds no read buffer.
	pc.br.release()
	pc.lastUsed = time.Now()
	c.mu.Lock()
	if c.closed || len(c.idle) >= c.maxIdle {
		c.mu.Unlock()
		pc.nc.Close()
		return
	}
	c.idle = append(c.idle, pc)
	c.mu.Unlock()
}

// closeIdle closes the idle connections and stops pooling: the client is
// being dropped.
func (c *h1Client) closeIdle() {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.closed = nil, true
	c.mu.Unlock()
	for _, pc := range idle {
		pc.nc.Close()
	}
}
