package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"
)

// pieceConn is a net.Conn whose reads return its data in pieces of the
// given sizes, in turn.
type pieceConn struct {
	net.Conn // nil: only Read is used
	data     []byte
	sizes    []byte
	i        int
}

func (c *pieceConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if len(c.sizes) > 0 {
		n = min(n, int(c.sizes[c.i%len(c.sizes)])+1)
		c.i++
	}
	n = copy(p, c.data[:min(n, len(c.data))])
	c.data = c.data[n:]
	return n, nil
}

// applyOps runs the operations ops describes on a reader with bufio's
// method set and returns a transcript of what each returned, up to the
// first error.
func applyOps(r interface {
	ReadSlice(byte) ([]byte, error)
	Peek(int) ([]byte, error)
	Read([]byte) (int, error)
	Discard(int) (int, error)
	Buffered() int
}, ops []byte) []string {
	var out []string
	for i := 0; i+1 < len(ops); i += 2 {
		k := int(ops[i+1]) * 20 // up to 5,100: past the buffer's size
		var got []byte
		var n int
		var err error
		switch ops[i] % 4 {
		case 0:
			got, err = r.ReadSlice('\n')
		case 1:
			got, err = r.Peek(k)
		case 2:
			p := make([]byte, k)
			n, err = r.Read(p)
			got = p[:n]
		case 3:
			n, err = r.Discard(k)
		}
		out = append(out, string(got), string(rune('0'+n%10)), string(rune('0'+r.Buffered()%10)))
		if err != nil {
			out = append(out, "error")
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
	}
	return out
}

func FuzzConnReaderMatchesBufio(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nA: b\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), []byte{0, 0, 0, 0, 1, 3, 2, 1, 3, 2}, []byte{3, 7})
	f.Add(bytes.Repeat([]byte("data: {\"x\":1}\n\n"), 400), []byte{1, 255, 0, 0, 2, 250, 3, 100, 0, 0}, []byte{200, 13})
	f.Add([]byte("no newline at all"), []byte{0, 0, 1, 1}, []byte(nil))
	f.Fuzz(func(t *testing.T, data, ops, sizes []byte) {
		if len(ops) > 200 {
			ops = ops[:200]
		}
		want := applyOps(bufio.NewReaderSize(&pieceConn{data: data, sizes: sizes}, connBufSize), ops)
		got := applyOps(newConnReader(&pieceConn{data: data, sizes: sizes}), ops)
		if len(got) != len(want) {
			t.Fatalf("%d results, bufio gives %d:\n%q\n%q", len(got), len(want), got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("result %d is %q, bufio gives %q", i, got[i], want[i])
			}
		}
	})
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
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
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestConnReaderHoldsNoBufferWhileWaiting(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	b := newConnReader(client)
	if b.rc == nil {
		t.Fatal("a TCP connection should be read through its raw conn")
	}
	if _, err := server.Write([]byte("hello\nworld\n")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hello\n", "world\n"} {
		line, err := b.ReadSlice('\n')
		if err != nil || string(line) != want {
			t.Fatalf("ReadSlice = %q, %v; want %q", line, err, want)
		}
	}
	if b.buf == nil {
		t.Fatal("the buffer was released while the last line was still valid")
	}
	// Nothing is buffered: the next read waits, and gives the buffer back
	// before it does. A past deadline ends the wait at once.
	if err := client.SetReadDeadline(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Peek(1); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Peek past the deadline: %v; want a deadline error", err)
	}
	if b.buf != nil {
		t.Fatal("the reader held its buffer while waiting for the socket")
	}
	// It reads again once bytes arrive.
	if err := client.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Write([]byte("again\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := b.ReadSlice('\n'); err != nil || string(line) != "again\n" {
		t.Fatalf("ReadSlice after the wait = %q, %v", line, err)
	}
	server.Close()
	if _, err := b.ReadSlice('\n'); err != io.EOF {
		t.Fatalf("ReadSlice after the peer closed: %v; want io.EOF", err)
	}
	if b.buf != nil {
		t.Fatal("the reader kept a buffer after the end of the stream")
	}
}

func TestConnReaderCarriesAStreamIntact(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	data := make([]byte, 300<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.IntN(64)) + ' '
		if rng.IntN(50) == 0 {
			data[i] = '\n'
		}
	}
	go func() {
		// Uneven writes, so that reads meet every boundary.
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(9000))
			if _, err := server.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
		server.Close()
	}()
	b := newConnReader(client)
	var got []byte
	for i := 0; ; i++ {
		var p []byte
		var err error
		switch i % 4 {
		case 0:
			p, err = b.ReadSlice('\n')
			got = append(got, p...)
		case 1:
			buf := make([]byte, 1+i%5000)
			var n int
			n, err = b.Read(buf)
			got = append(got, buf[:n]...)
		case 2:
			if p, err = b.Peek(1 + i%100); err == nil || errors.Is(err, io.EOF) {
				got = append(got, p...)
				_, _ = b.Discard(len(p))
			}
		case 3:
			p, err = b.Peek(b.Buffered())
			got = append(got, p...)
			_, _ = b.Discard(len(p))
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes that differ from the %d sent", len(got), len(data))
	}
}

func TestDialAside(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			_, _ = c.Write([]byte("x"))
			c.Close()
		}
	}()
	c, err := dialAside(context.Background(), &net.Dialer{}, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if b, err := io.ReadAll(c); err != nil || string(b) != "x" {
		t.Fatalf("read %q, %v from the dialled connection", b, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dialAside(ctx, &net.Dialer{}, "tcp", ln.Addr().String()); !errors.Is(err, context.Canceled) {
		t.Fatalf("dial with a cancelled context: %v; want context.Canceled", err)
	}
}

func TestConnReaderWaitAllocatesNothing(t *testing.T) {
	client, server := tcpPair(t)
	b := newConnReader(client)
	msg := []byte("data: {}\n\n")
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := server.Write(msg); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < len(msg); {
			p, err := b.Peek(1)
			if err != nil {
				t.Fatal(err)
			}
			n := b.Buffered()
			_, _ = b.Discard(n)
			got += n
			_ = p
		}
	})
	if allocs != 0 {
		t.Fatalf("a read that waits for the socket made %v allocations; want 0", allocs)
	}
}
