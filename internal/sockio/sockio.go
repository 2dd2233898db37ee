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
)

// Conn is a TCP connection whose Read and Write use raw non-blocking system
// calls. Every other method is the *net.TCPConn's. It is safe for one reader
// and one writer at a time, like any net.Conn; concurrent reads, or
// concurrent writes, are serialised.
type Conn struct {
	*net.TCPConn
	rc syscall.RawConn

	rmu    sync.Mutex
	rp     []byte
	rn     int
	rerr   syscall.Errno
	readFn func(fd uintptr) bool

	wmu     sync.Mutex
	wbufs   [2][]byte
	wn      int
	werr    syscall.Errno
	writeFn func(fd uintptr) bool
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
	sc.readFn = sc.rawRead
	sc.writeFn = sc.rawWrite
	return sc
}

// Read reads as net.Conn's Read does: it waits for data, honours the read
// deadline, and returns io.EOF once the peer has closed its side.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return c.TCPConn.Read(p)
	}
	c.rmu.Lock()
	c.rp, c.rn, c.rerr = p, 0, 0
	err := c.rc.Read(c.readFn)
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
		return c.TCPConn.Write(nil)
	}
	c.wmu.Lock()
	c.wbufs[0], c.wbufs[1], c.wn, c.werr = a, b, 0, 0
	err := c.rc.Write(c.writeFn)
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
			if n == 0 {
				return false // took nothing: wait until it can
			}
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
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
