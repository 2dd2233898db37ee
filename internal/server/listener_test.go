package server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// boundedPair returns a connection accepted by a LimitListener with the
// given write bound, and the client's end, which never reads unless the
// test does.
func boundedPair(t *testing.T, bound time.Duration) (net.Conn, net.Conn) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(raw, 0, 0, bound)
	t.Cleanup(func() { ln.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); client.Close() })
	return c, client
}

// fill writes more than the socket buffers hold and returns the error and
// how long the write took. A write still waiting after limit is ended by
// closing c, and reported as not bounded.
func fill(t *testing.T, c net.Conn, limit time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 64<<20))
		done <- err
	}()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(limit):
		c.Close()
		<-done
		t.Fatalf("the write was still waiting after %v: not bounded", limit)
		return 0, nil
	}
}

func TestWriteBound(t *testing.T) {
	const bound = 150 * time.Millisecond
	tests := []struct {
		name    string
		setup   func(c net.Conn)
		atLeast time.Duration // the write must not fail sooner
	}{
		{"no deadline: the bound applies", func(net.Conn) {}, bound},
		{"a deadline set by the user wins over the bound", func(c net.Conn) {
			c.SetWriteDeadline(time.Now().Add(3 * bound))
		}, 3 * bound},
		{"a cleared deadline hands writes back to the bound", func(c net.Conn) {
			c.SetWriteDeadline(time.Now().Add(time.Hour))
			c.SetWriteDeadline(time.Time{})
		}, bound},
		{"SetDeadline counts as a write deadline", func(c net.Conn) {
			c.SetDeadline(time.Now().Add(3 * bound))
		}, 3 * bound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := boundedPair(t, bound)
			tt.setup(c)
			took, err := fill(t, c, tt.atLeast+10*time.Second)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("write to a client that does not read: %v, want a deadline error", err)
			}
			// Timers fire late, never early.
			if took < tt.atLeast-10*time.Millisecond {
				t.Fatalf("the write failed after %v, want about %v", took, tt.atLeast)
			}
		})
	}
}

// An expired deadline of an earlier request does not cut a later write once
// it is cleared: the bound is set afresh.
func TestExpiredDeadlineDoesNotLinger(t *testing.T) {
	c, client := boundedPair(t, time.Minute)
	c.SetWriteDeadline(time.Unix(1, 0))
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write past the deadline: %v", err)
	}
	c.SetWriteDeadline(time.Time{})
	if _, err := c.Write([]byte("ok")); err != nil {
		t.Fatalf("write after the deadline was cleared: %v", err)
	}
	buf := make([]byte, 2)
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "ok" {
		t.Fatalf("client read %q, %v", buf, err)
	}
}

// TestWritesAfterTheHandlersDeadlineAreBounded: once a handler has cleared
// its write deadline, as the proxy does when it is done, what is written
// next (by net/http after the handler returns: the chunked terminator of a
// stream, the rest of a buffered answer) cannot wait forever on a client
// that stopped reading. Here the handler writes a large body after
// clearing its deadline, and the client never reads.
func TestWritesAfterTheHandlersDeadlineAreBounded(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(raw, 0, 0, 200*time.Millisecond)
	writeErr := make(chan error, 1)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			rc := http.NewResponseController(w)
			rc.SetWriteDeadline(time.Now().Add(time.Hour))
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "start")
			rc.Flush()
			rc.SetWriteDeadline(time.Time{})
			_, err := io.WriteString(w, strings.Repeat("x", 64<<20))
			if err == nil {
				err = rc.Flush()
			}
			writeErr <- err
		}),
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := io.WriteString(client, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-writeErr:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the write to a client that does not read ended with %v, want a deadline error", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the write to a client that does not read was not bounded")
	}
}

// TestWriteBoundFollowsChanges: a lowered bound (a reload) applies to a
// connection already open, whose writes had armed the old one.
func TestWriteBoundFollowsChanges(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newLimitListener(raw, 0, 0, time.Hour)
	t.Cleanup(func() { ln.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil { // arms the hour
		t.Fatal(err)
	}
	ln.SetWriteBound(150 * time.Millisecond)
	took, err := fill(t, c, 10*time.Second)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write after the bound was lowered: %v, want a deadline error", err)
	}
	if took < 140*time.Millisecond {
		t.Fatalf("the write failed after %v, before the bound", took)
	}
}

// TestGlobalConnectionCap: over the global cap a connection is closed at
// once, not queued, whatever its address; a connection that ends frees its
// place for the next.
func TestGlobalConnectionCap(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newLimitListener(raw, 3, 0, 0)
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closedAtOnce reports whether the gateway closed c within a second.
	closedAtOnce := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, err := c.Read(make([]byte, 1))
		return err == io.EOF || (err != nil && !errors.Is(err, os.ErrDeadlineExceeded))
	}
	var held []net.Conn
	for range 3 {
		dial()
		held = append(held, <-accepted)
	}
	over := dial()
	if !closedAtOnce(over) {
		t.Fatal("a connection over the global cap was not closed at once")
	}
	if n := ln.rejected.Load(); n != 1 {
		t.Errorf("rejected = %d, want 1", n)
	}
	held[0].Close()
	next := dial()
	select {
	case c := <-accepted:
		held = append(held, c)
	case <-time.After(5 * time.Second):
		t.Fatal("a place freed by a closed connection was not given to the next one")
	}
	if closedAtOnce(next) {
		t.Error("the connection in the freed place was closed")
	}
	for _, c := range held[1:] {
		c.Close()
	}
}
