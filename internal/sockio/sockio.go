// Package sockio reads and writes TCP connections with non-blocking system
// calls made without the runtime's system-call bookkeeping.
//
// Go's net package already puts every socket in non-blocking mode and parks
// the goroutine in the network poller when a read or write would block.
// What it still does around each read and write is enter and leave the
// runtime's system-call state, and when the process was idle that entry
// wakes the runtime's monitor thread (sysmon), which then polls every 20 µs
// until the process is idle again. A gateway serving one client at a time
// goes idle between every request, so each request paid for waking that
// thread again, several context switches, which on a virtual machine cost
// tens of microseconds of CPU and of latency.
//
// A read or write of a non-blocking socket returns at once, so the
// bookkeeping buys nothing: the processor is never held across a wait. Conn
// makes the same read(2) and write(2) calls as the net package, inside the
// connection's syscall.RawConn, which keeps the poller's waiting, deadlines
// and close handling exactly as they are. Built with the race detector, it
// makes them through the syscall package instead, which tells the detector
// what the kernel read and wrote.
package sockio

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Conn is a TCP connection whose Read and Write use raw non-blocking system
// calls, and whose deadlines reach the socket only when an operation has to
// wait (see deadline). Every other method is the *net.TCPConn's. It is safe
// for one reader and one writer at a time, like any net.Conn; concurrent
// reads, or concurrent writes, are serialised.
type Conn struct {
	*net.TCPConn
	rc syscall.RawConn

	rd, wd deadline

	rmu     sync.Mutex
	rp      []byte
	rn      int
	rerr    syscall.Errno
	readFn  func(fd uintptr) bool
	rfn     func(fd uintptr) bool // the read that ReadRaw makes
	rwaitFn func(fd uintptr) bool // rfn, and beforeWait when it would block
	rwaited bool

	wmu     sync.Mutex
	wbufs   [2][]byte
	wn      int
	werr    syscall.Errno
	writeFn func(fd uintptr) bool
	wwaited bool
}

// Wrap returns c as a *Conn when raw system calls are available for it
// (a *net.TCPConn on Linux), else c itself.
func Wrap(c net.Conn) net.Conn {
	if !supported {
		return c
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	sc := &Conn{TCPConn: tc, rc: rc}
	sc.rd.set = tc.SetReadDeadline
	sc.wd.set = tc.SetWriteDeadline
	sc.readFn = sc.rawRead
	sc.rwaitFn = sc.rwait
	sc.writeFn = sc.rawWrite
	return sc
}

// SetReadDeadline sets the read deadline, as net.Conn's does.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.rd.Set(t) }

// SetWriteDeadline sets the write deadline, as net.Conn's does.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.wd.Set(t) }

// SetDeadline sets both deadlines, as net.Conn's does.
func (c *Conn) SetDeadline(t time.Time) error {
	return errors.Join(c.rd.Set(t), c.wd.Set(t))
}

// Read reads as net.Conn's Read does: it waits for data, honours the read
// deadline, and returns io.EOF once the peer has closed its side.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		c.rd.sync()
		return c.TCPConn.Read(p)
	}
	c.rmu.Lock()
	c.rp, c.rn, c.rerr = p, 0, 0
	err := c.readRaw(c.readFn)
	n, errno := c.rn, c.rerr
	c.rp = nil
	c.rmu.Unlock()
	switch {
	case err != nil: // a deadline, or the connection was closed
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// ReadRaw calls fn inside the connection's syscall.RawConn Read, as
// RawConn's Read does, with the connection's read deadline: fn makes one
// non-blocking read and returns false when the socket had nothing yet. A
// raw read of a Conn must go through here, since the socket itself may not
// hold the read deadline in force.
func (c *Conn) ReadRaw(fn func(fd uintptr) bool) error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.readRaw(fn)
}

func (c *Conn) readRaw(fn func(fd uintptr) bool) error {
	if c.rd.expired() {
		return c.timeout("raw-read")
	}
	c.rfn = fn
	var err error
	for {
		if err = c.rc.Read(c.rwaitFn); err == nil || !c.rd.retry(err) {
			break
		}
	}
	c.rfn = nil
	if c.rwaited {
		c.rwaited = false
		c.rd.done()
	}
	return err
}

// rwait makes the read; when it would block it gets the read deadline
// ready for the wait.
func (c *Conn) rwait(fd uintptr) bool {
	if c.rfn(fd) {
		return true
	}
	c.rwaited = true
	c.rd.beforeWait()
	return false
}

func (c *Conn) rawRead(fd uintptr) bool {
	for {
		n, errno := RawRead(fd, c.rp)
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // nothing yet: wait until the socket is readable
		}
		c.rn, c.rerr = n, errno
		return true
	}
}

// Write writes all of p, waiting while the socket buffer is full, as
// net.Conn's Write does; it returns fewer bytes only with an error.
func (c *Conn) Write(p []byte) (int, error) {
	return c.Writev(p, nil)
}

// Writev writes a and then b with one writev(2) where the socket takes
// them at once: a request head and its body leave in one segment without
// being copied together first.
func (c *Conn) Writev(a, b []byte) (int, error) {
	if len(a)+len(b) == 0 {
		c.wd.sync()
		return c.TCPConn.Write(nil)
	}
	c.wmu.Lock()
	if c.wd.expired() {
		c.wmu.Unlock()
		return 0, c.opError("write", c.timeout("raw-write"))
	}
	c.wbufs[0], c.wbufs[1], c.wn, c.werr = a, b, 0, 0
	var err error
	for {
		if err = c.rc.Write(c.writeFn); err == nil || !c.wd.retry(err) {
			break
		}
	}
	if c.wwaited {
		c.wwaited = false
		c.wd.done()
	}
	n, errno := c.wn, c.werr
	c.wbufs[0], c.wbufs[1] = nil, nil
	c.wmu.Unlock()
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case errno != 0:
		return n, c.opError("write", os.NewSyscallError("write", errno))
	}
	return n, nil
}

// rawWrite writes what is left of wbufs; it returns false to wait for the
// socket to take more.
func (c *Conn) rawWrite(fd uintptr) bool {
	for len(c.wbufs[0])+len(c.wbufs[1]) > 0 {
		n, errno := rawWritev(fd, c.wbufs[0], c.wbufs[1])
		switch errno {
		case 0:
			if n == 0 { // took nothing: wait until it can
				c.wwaited = true
				c.wd.beforeWait()
				return false
			}
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			c.wwaited = true
			c.wd.beforeWait()
			return false
		default:
			c.werr = errno
			return true
		}
		c.wn += n
		if n <= len(c.wbufs[0]) {
			c.wbufs[0] = c.wbufs[0][n:]
		} else {
			c.wbufs[1] = c.wbufs[1][n-len(c.wbufs[0]):]
			c.wbufs[0] = nil
		}
	}
	return true
}

// opError wraps err as the net package wraps its own read and write
// errors, so that callers that check Op or Timeout see the same thing.
func (c *Conn) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		// RawConn names its operations "raw-read" and "raw-write".
		oe.Op = op
		return oe
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// timeout is the error of an operation whose deadline has passed, as
// syscall.RawConn returns it.
func (c *Conn) timeout(op string) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.ErrDeadlineExceeded}
}

// ReadFrom copies r to the connection with Write, so that the write
// deadline applies; the *net.TCPConn's would wait with the socket's.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(writerOnly{c}, r)
}

// WriteTo copies the connection to w with Read, so that the read deadline
// applies; the *net.TCPConn's would wait with the socket's.
func (c *Conn) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, readerOnly{c})
}

// writerOnly and readerOnly hide Conn's ReadFrom and WriteTo from io.Copy.
type writerOnly struct{ io.Writer }

type readerOnly struct{ io.Reader }
