package sim

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// Recorded is one request as the simulator received it.
type Recorded struct {
	Method, Path string
	// Header is a clone of the request headers.
	Header http.Header
	// Body is the full request body.
	Body []byte
	// Received is when the handler started.
	Received time.Time
	// Done is closed when the handler returned. Status, Cancelled and
	// CancelledAt are valid only after Done is closed.
	Done chan struct{}
	// Status is the HTTP status sent, or 0 when none was sent (hang,
	// cancellation before headers).
	Status int
	// Cancelled reports whether the request context was cancelled (the
	// client went away) before the response finished, and CancelledAt when.
	Cancelled   bool
	CancelledAt time.Time
}

// Wait blocks until the handler returned or ctx ends.
func (r *Recorded) Wait(ctx context.Context) error {
	select {
	case <-r.Done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recorder keeps the last max requests in arrival order.
type recorder struct {
	mu    sync.Mutex
	max   int         // negative: recording disabled
	reqs  []*Recorded // a ring once full: reqs[start] is the oldest
	start int
	total int           // requests seen since the last Reset
	wake  chan struct{} // closed on the next request; nil when nobody waits
}

// add stores rec (unless recording is off) and wakes waiters.
func (rc *recorder) add(rec *Recorded) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.total++
	switch {
	case rec == nil:
	case len(rc.reqs) < rc.max:
		rc.reqs = append(rc.reqs, rec)
	default:
		// Overwriting the oldest keeps memory bounded in long benchmarks.
		rc.reqs[rc.start] = rec
		rc.start = (rc.start + 1) % len(rc.reqs)
	}
	if rc.wake != nil {
		close(rc.wake)
		rc.wake = nil
	}
}

// Requests returns a snapshot of the recorded requests, oldest first.
func (s *Server) Requests() []*Recorded {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	out := make([]*Recorded, 0, len(s.rec.reqs))
	out = append(out, s.rec.reqs[s.rec.start:]...)
	return append(out, s.rec.reqs[:s.rec.start]...)
}

// Reset forgets every recorded request and the request count.
func (s *Server) Reset() {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	clear(s.rec.reqs)
	s.rec.reqs = s.rec.reqs[:0]
	s.rec.start = 0
	s.rec.total = 0
}

// WaitRequests blocks until n requests arrived since the last Reset, or ctx
// ends. It counts requests even when recording is disabled.
func (s *Server) WaitRequests(ctx context.Context, n int) error {
	for {
		s.rec.mu.Lock()
		if s.rec.total >= n {
			s.rec.mu.Unlock()
			return nil
		}
		if s.rec.wake == nil {
			s.rec.wake = make(chan struct{})
		}
		wake := s.rec.wake
		s.rec.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// handlerState follows one request from begin to finish.
type handlerState struct {
	rec       *Recorded
	stop      func() bool
	cancelled chan struct{}
	at        time.Time
}

// begin reads the body, records the request before anything acts on it and
// starts watching for cancellation. ok is false when the body could not be
// read, in which case an error was already written.
func (s *Server) begin(w *statusWriter, r *http.Request, st *handlerState) (body []byte, ok bool) {
	received := time.Now()
	body, err := readBody(w, r)
	if s.rec.max >= 0 {
		st.rec = &Recorded{
			Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(),
			Body: body, Received: received, Done: make(chan struct{}),
		}
		st.cancelled = make(chan struct{})
		st.stop = context.AfterFunc(r.Context(), func() {
			st.at = time.Now()
			close(st.cancelled)
		})
	}
	s.rec.add(st.rec)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeError(w, http.StatusRequestEntityTooLarge, "request body too large", "body_too_large")
		} else {
			s.writeError(w, http.StatusBadRequest, "could not read request body", "invalid_request_error")
		}
		return body, false
	}
	return body, true
}

// finish completes the record once the handler returns, even on a panic.
func (s *Server) finish(r *http.Request, st *handlerState, w *statusWriter) {
	if st.rec == nil {
		return
	}
	var at time.Time
	switch {
	case !st.stop():
		// The context was cancelled while the handler ran.
		<-st.cancelled
		at = st.at
	case r.Context().Err() != nil:
		// Cancelled, but the handler saw it before the callback started.
		at = time.Now()
	}
	if !at.IsZero() && (w.finished.IsZero() || at.Before(w.finished)) {
		st.rec.Cancelled = true
		st.rec.CancelledAt = at
	}
	st.rec.Status = w.status
	close(st.rec.Done)
}

// readBody reads the whole body under maxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > 0 && r.ContentLength <= maxBodyBytes {
		// The server stops the body at Content-Length, so one exact read
		// suffices.
		buf := make([]byte, r.ContentLength)
		n, err := io.ReadFull(r.Body, buf)
		return buf[:n], err
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil && !errors.Is(err, io.EOF) {
		return buf.Bytes(), err
	}
	return buf.Bytes(), nil
}

// authorized checks the bearer token in constant time.
func (s *Server) authorized(r *http.Request) bool {
	got := r.Header.Get("Authorization")
	want := "Bearer " + s.opts.APIKey
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
