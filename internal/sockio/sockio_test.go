package sockio

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection, the first one
// wrapped.
func pair(t *testing.T) (*Conn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); peer.Close() })
	w, ok := Wrap(c).(*Conn)
	if !ok {
		t.Skip("raw system calls are not used on this platform")
	}
	return w, peer.(*net.TCPConn)
}

func TestWrapLeavesOtherConnsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := Wrap(a); got != a {
		t.Fatalf("Wrap(pipe) = %T, want the pipe itself", got)
	}
}

// TestRoundTrip sends more than the socket buffers hold both ways at once,
// so that writes stop part-way for lack of room and reads find nothing
// several times, and checks every byte arrives in order.
func TestRoundTrip(t *testing.T) {
	c, peer := pair(t)
	const size = 8 << 20
	out := make([]byte, size)
	_, _ = rand.Read(out)
	back := make([]byte, size)
	_, _ = rand.Read(back)

	var wg sync.WaitGroup
	var peerGot []byte
	var peerErr error
	wg.Add(2)
	go func() { // the peer sends its own data while it reads ours
		defer wg.Done()
		_, peerErr = peer.Write(back)
	}()
	go func() {
		defer wg.Done()
		peerGot, _ = io.ReadAll(io.LimitReader(peer, size))
	}()

	var got []byte
	var readErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		got, readErr = io.ReadAll(io.LimitReader(c, size))
	}()
	// Two halves through Writev, the second empty-headed.
	if n, err := c.Writev(out[:size/3], out[size/3:size/2]); err != nil || n != size/2 {
		t.Fatalf("Writev = %d, %v; want %d", n, err, size/2)
	}
	if n, err := c.Write(out[size/2:]); err != nil || n != size-size/2 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	<-done
	wg.Wait()
	if readErr != nil || peerErr != nil {
		t.Fatalf("read: %v, peer write: %v", readErr, peerErr)
	}
	if !bytes.Equal(got, back) {
		t.Fatalf("read %d bytes, not what the peer sent", len(got))
	}
	if !bytes.Equal(peerGot, out) {
		t.Fatalf("peer read %d bytes, not what was written", len(peerGot))
	}
}

func TestWritevSkipsEmptyParts(t *testing.T) {
	tests := []struct{ a, b, want string }{
		{"head", "body", "headbody"},
		{"", "body", "body"},
		{"head", "", "head"},
	}
	for _, tt := range tests {
		c, peer := pair(t)
		n, err := c.Writev([]byte(tt.a), []byte(tt.b))
		if err != nil || n != len(tt.want) {
			t.Fatalf("Writev(%q, %q) = %d, %v", tt.a, tt.b, n, err)
		}
		c.CloseWrite()
		got, err := io.ReadAll(peer)
		if err != nil || string(got) != tt.want {
			t.Fatalf("peer read %q, %v; want %q", got, err, tt.want)
		}
	}
}

func TestReadEnds(t *testing.T) {
	tests := []struct {
		name  string
		setup func(c *Conn, peer *net.TCPConn)
		check func(t *testing.T, err error)
	}{
		{
			name:  "peer closes: EOF",
			setup: func(_ *Conn, peer *net.TCPConn) { peer.Close() },
			check: func(t *testing.T, err error) {
				if err != io.EOF {
					t.Fatalf("err = %v, want io.EOF", err)
				}
			},
		},
		{
			name: "peer resets: an error, not EOF",
			setup: func(_ *Conn, peer *net.TCPConn) {
				peer.SetLinger(0)
				peer.Close()
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("err = %v, want ECONNRESET", err)
				}
				checkOp(t, err, "read")
			},
		},
		{
			name:  "deadline passes",
			setup: func(c *Conn, _ *net.TCPConn) { c.SetReadDeadline(time.Now().Add(20 * time.Millisecond)) },
			check: func(t *testing.T, err error) {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("err = %v, want os.ErrDeadlineExceeded", err)
				}
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Fatalf("err = %v is not a timeout net.Error", err)
				}
				checkOp(t, err, "read")
			},
		},
		{
			name: "closed while waiting",
			setup: func(c *Conn, _ *net.TCPConn) {
				time.AfterFunc(20*time.Millisecond, func() { c.Close() })
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, net.ErrClosed) {
					t.Fatalf("err = %v, want net.ErrClosed", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, peer := pair(t)
			tt.setup(c, peer)
			n, err := c.Read(make([]byte, 64))
			if n != 0 {
				t.Fatalf("read %d bytes, want 0", n)
			}
			tt.check(t, err)
		})
	}
}

// TestWriteDeadline fills a peer that never reads: Write waits for room,
// then fails at the deadline, reporting the bytes that did go.
func TestWriteDeadline(t *testing.T) {
	c, _ := pair(t)
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := c.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want os.ErrDeadlineExceeded", err)
	}
	checkOp(t, err, "write")
	if n <= 0 || n >= 64<<20 {
		t.Fatalf("wrote %d bytes, want some but not all", n)
	}
}

func TestWriteAfterPeerResetFails(t *testing.T) {
	c, peer := pair(t)
	peer.SetLinger(0)
	peer.Close()
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		_, err = c.Write([]byte("x"))
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("err = %v, want ECONNRESET or EPIPE", err)
	}
	checkOp(t, err, "write")
}

func TestZeroLengthIO(t *testing.T) {
	c, _ := pair(t)
	if n, err := c.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v", n, err)
	}
	if n, err := c.Write(nil); n != 0 || err != nil {
		t.Fatalf("Write(nil) = %d, %v", n, err)
	}
}

func checkOp(t *testing.T, err error, op string) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op {
		t.Fatalf("err = %#v, want a *net.OpError with Op %q", err, op)
	}
}

// BenchmarkPingPong measures one small write and one small read of a
// loopback connection, raw and through the net package.
func BenchmarkPingPong(b *testing.B) {
	for _, raw := range []bool{false, true} {
		name := "net"
		if raw {
			name = "raw"
		}
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 64)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if raw {
				c = Wrap(c)
			}
			msg := []byte("ping")
			buf := make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
