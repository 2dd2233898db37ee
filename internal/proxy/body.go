package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/openai"
)

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// readBody reads the whole request body under the size cap, with an idle
// deadline between reads. The cap is enforced while reading, so a chunked
// body or a lying Content-Length cannot make the gateway buffer more.
//
// After a failure the read deadline stays in place: net/http drains an
// unread body after the handler returns, to reuse the connection, and
// without a deadline a client that declared a body it never sends would
// hold the connection, and never get its answer.
func (ex *exchange) readBody() (_ []byte, err error) {
	lim := ex.s.Limits
	r := ex.r
	rc := http.NewResponseController(ex.w)
	deadline := lim.BodyIdleTimeout > 0
	if r.ContentLength > lim.MaxBodyBytes {
		if deadline {
			_ = rc.SetReadDeadline(time.Now().Add(lim.BodyIdleTimeout))
		}
		return nil, tooLarge(lim.MaxBodyBytes)
	}
	bp := bodyPool.Get().(*[]byte)
	ex.body = bp
	buf := (*bp)[:0]
	if r.ContentLength > 0 && int64(cap(buf)) < r.ContentLength+1 {
		buf = make([]byte, 0, r.ContentLength+1)
	}
	defer func() {
		if deadline && err == nil {
			// The server's background read that detects a closed client
			// must not inherit the body deadline.
			_ = rc.SetReadDeadline(time.Time{})
		}
	}()
	for {
		if deadline {
			if err := rc.SetReadDeadline(time.Now().Add(lim.BodyIdleTimeout)); err != nil {
				deadline = false
			}
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > lim.MaxBodyBytes {
			return nil, tooLarge(lim.MaxBodyBytes)
		}
		if err == io.EOF {
			*bp = buf
			return buf, nil
		}
		if err != nil {
			return nil, bodyError(err)
		}
	}
}

// releaseBody returns the client's body and the upstream body built from
// it to the pool.
func (ex *exchange) releaseBody() {
	putBody(ex.body)
	ex.body = nil
	putBody(ex.out)
	ex.out = nil
	if ex.call != nil {
		ex.call.Body = nil
	}
}

func putBody(b *[]byte) {
	if b != nil && cap(*b) <= 1<<20 {
		*b = (*b)[:0]
		bodyPool.Put(b)
	}
}

// upstreamBody builds the body sent to an upstream into the exchange's
// pooled buffer, which the next attempt reuses.
func (ex *exchange) upstreamBody(req *openai.Request, e openai.Edits) ([]byte, error) {
	if ex.out == nil {
		ex.out = bodyPool.Get().(*[]byte)
	}
	b, err := req.AppendUpstreamBody((*ex.out)[:0], e)
	*ex.out = b[:0]
	return b, err
}

func tooLarge(max int64) error {
	return apierr.New(http.StatusRequestEntityTooLarge, apierr.TypeInvalidRequest, "body_too_large",
		fmt.Sprintf("The request body exceeds the limit of %d bytes.", max))
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return apierr.Wrap(err, http.StatusRequestTimeout, apierr.TypeInvalidRequest, "body_timeout",
			"The request body was not received in time.")
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	}
	return apierr.Wrap(err, http.StatusBadRequest, apierr.TypeInvalidRequest, "bad_body",
		"The request body could not be read.")
}
