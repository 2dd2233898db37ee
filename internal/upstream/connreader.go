package upstream

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"github.com/rampart-gw/rampart/internal/sockio"
)

// connBufSize is the read buffer of an upstream connection while it holds
// unread bytes.
const connBufSize = 4 << 10

var connBufPool = sync.Pool{New: func() any { b := make([]byte, connBufSize); return &b }}

// connReader is the buffered reader of one plain-HTTP upstream connection,
// with the part of bufio.Reader's methods the client uses and the same
// rules: a returned slice is valid until the next read. Unlike a
// bufio.Reader it holds a buffer only while it has unread bytes. When a
// read finds nothing buffered, the buffer goes back to a pool before the
// reader waits, and one is taken again only once the socket is readable:
// a stream waiting minutes for a reasoning model's next event, and an idle
// pooled connection, hold no read buffer at all.
type connReader struct {
	nc   net.Conn
	rc   syscall.RawConn // nil: the conn cannot wait for readability without a buffer
	buf  *[]byte         // nil while nothing is buffered
	r, w int             // unread bytes are (*buf)[r:w]
	err  error           // the last read's error, returned once the buffer is drained

	// readRaw is b.rawRead, bound once so that a read allocates nothing;
	// rawN, rawErr and rawBuf are what its last call read.
	readRaw func(fd uintptr) bool
	rawN    int
	rawErr  error
	rawBuf  *[]byte
}

func newConnReader(nc net.Conn) *connReader {
	b := &connReader{nc: nc}
	if sc, ok := nc.(syscall.Conn); ok && sockio.CanRawRead {
		if rc, err := sc.SyscallConn(); err == nil {
			b.rc = rc
			b.readRaw = b.rawRead
		}
	}
	return b
}

// Buffered returns the number of bytes that can be read without waiting.
func (b *connReader) Buffered() int { return b.w - b.r }

// release gives the buffer back to the pool; only while nothing unread is
// in it.
func (b *connReader) release() {
	if b.buf != nil && b.r == b.w {
		connBufPool.Put(b.buf)
		b.buf = nil
		b.r, b.w = 0, 0
	}
}

func (b *connReader) readErr() error {
	err := b.err
	b.err = nil
	return err
}

// fill reads once, after moving the unread bytes to the front. With
// nothing unread it waits for the socket without holding a buffer.
func (b *connReader) fill() {
	if b.r == b.w {
		b.release()
	}
	if b.buf == nil {
		b.fillEmpty()
		return
	}
	if b.r > 0 {
		copy(*b.buf, (*b.buf)[b.r:b.w])
		b.w -= b.r
		b.r = 0
	}
	b.readMore()
}

// readMore reads once into the free end of the buffer.
func (b *connReader) readMore() {
	for range 100 {
		n, err := b.nc.Read((*b.buf)[b.w:])
		b.w += n
		if err != nil {
			b.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	b.err = io.ErrNoProgress
}

// fillEmpty reads into a pooled buffer taken only when bytes have arrived.
func (b *connReader) fillEmpty() {
	if b.rc == nil {
		b.buf = connBufPool.Get().(*[]byte)
		b.readMore()
		return
	}
	b.rawN, b.rawErr, b.rawBuf = 0, nil, nil
	err := b.rc.Read(b.readRaw)
	n, rerr, got := b.rawN, b.rawErr, b.rawBuf
	b.rawBuf = nil
	switch {
	case err != nil: // a deadline, or the connection was closed
		b.err = err
	case rerr != nil:
		b.err = &net.OpError{Op: "read", Net: "tcp", Source: b.nc.LocalAddr(), Addr: b.nc.RemoteAddr(), Err: os.NewSyscallError("read", rerr)}
	case n == 0:
		b.err = io.EOF
	}
	if n > 0 {
		b.buf, b.r, b.w = got, 0, n
	} else if got != nil {
		connBufPool.Put(got)
	}
}

// rawRead reads the socket into a pooled buffer taken for the read; it
// returns false, and gives the buffer back, when nothing has arrived yet.
func (b *connReader) rawRead(fd uintptr) bool {
	buf := connBufPool.Get().(*[]byte)
	var n int
	var errno syscall.Errno
	for {
		n, errno = sockio.RawRead(fd, *buf)
		if errno != syscall.EINTR {
			break
		}
	}
	if errno == syscall.EAGAIN {
		connBufPool.Put(buf)
		return false // wait until the socket is readable
	}
	b.rawN, b.rawBuf = n, buf
	if errno != 0 {
		b.rawErr = errno
	}
	return true
}

// Read reads into p, from the buffer when it holds bytes, else straight
// from the connection when p is at least as large as a buffer.
func (b *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		if b.Buffered() > 0 {
			return 0, nil
		}
		return 0, b.readErr()
	}
	if b.r == b.w {
		if b.err != nil {
			return 0, b.readErr()
		}
		if len(p) >= connBufSize {
			b.release()
			return b.nc.Read(p)
		}
		b.fill()
		if b.r == b.w {
			return 0, b.readErr()
		}
	}
	n := copy(p, (*b.buf)[b.r:b.w])
	b.r += n
	return n, nil
}

// Peek returns the next n bytes without consuming them, as bufio.Reader's
// Peek does.
func (b *connReader) Peek(n int) ([]byte, error) {
	if n < 0 {
		return nil, bufio.ErrNegativeCount
	}
	for b.w-b.r < n && b.w-b.r < connBufSize && b.err == nil {
		b.fill()
	}
	if n > connBufSize {
		return b.unread(), bufio.ErrBufferFull
	}
	var err error
	if avail := b.w - b.r; avail < n {
		n = avail
		if err = b.readErr(); err == nil {
			err = bufio.ErrBufferFull
		}
	}
	if b.buf == nil {
		return nil, err
	}
	return (*b.buf)[b.r : b.r+n], err
}

func (b *connReader) unread() []byte {
	if b.buf == nil {
		return nil
	}
	return (*b.buf)[b.r:b.w]
}

// ReadSlice reads until the first delim, as bufio.Reader's ReadSlice does.
func (b *connReader) ReadSlice(delim byte) ([]byte, error) {
	s := 0 // bytes already searched
	for {
		if b.buf != nil {
			if i := bytes.IndexByte((*b.buf)[b.r+s:b.w], delim); i >= 0 {
				line := (*b.buf)[b.r : b.r+s+i+1]
				b.r += s + i + 1
				return line, nil
			}
		}
		if b.err != nil {
			line := b.unread()
			b.r = b.w
			return line, b.readErr()
		}
		if b.Buffered() >= connBufSize {
			line := b.unread()
			b.r = b.w
			return line, bufio.ErrBufferFull
		}
		s = b.w - b.r
		b.fill()
	}
}

// Discard skips the next n bytes, as bufio.Reader's Discard does.
func (b *connReader) Discard(n int) (int, error) {
	if n < 0 {
		return 0, bufio.ErrNegativeCount
	}
	remain := n
	for {
		skip := min(b.Buffered(), remain)
		b.r += skip
		remain -= skip
		if remain == 0 {
			return n, nil
		}
		if b.err != nil {
			return n - remain, b.readErr()
		}
		b.fill()
	}
}
