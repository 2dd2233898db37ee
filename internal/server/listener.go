// Package server runs the gateway's listeners: connection caps, timeouts,
// header limits and TLS, for the client API and the admin API.
package server

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-gw/rampart/internal/sockio"
)

// limitListener closes connections over a global cap or a per-IP cap at
// once, instead of queueing them, and bounds the writes made with no
// deadline set (see limitConn.Write).
type limitListener struct {
	net.Listener
	max        int64
	maxPerIP   int64
	writeBound atomic.Int64 // a time.Duration; see SetWriteBound
	open       atomic.Int64
	rejected   atomic.Int64

	mu    sync.Mutex
	perIP map[string]int64
}

// LimitListener wraps l with connection caps; zero disables a cap. A write
// made while no write deadline is set may wait for the client at most
// writeBound (zero: without bound).
func LimitListener(l net.Listener, max, perIP int, writeBound time.Duration) net.Listener {
	return newLimitListener(l, max, perIP, writeBound)
}

func newLimitListener(l net.Listener, max, perIP int, writeBound time.Duration) *limitListener {
	ll := &limitListener{Listener: l, max: int64(max), maxPerIP: int64(perIP), perIP: map[string]int64{}}
	ll.SetWriteBound(writeBound)
	return ll
}

// SetWriteBound changes the bound of the writes made with no deadline set,
// for the connections open and to come (a configuration reload).
func (l *limitListener) SetWriteBound(d time.Duration) { l.writeBound.Store(int64(d)) }

// Accept returns the next connection within the caps; connections over a
// cap are closed and not returned.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := hostOf(c.RemoteAddr())
		if !l.acquire(ip) {
			l.rejected.Add(1)
			_ = c.Close()
			continue
		}
		return &limitConn{Conn: sockio.Wrap(c), l: l, ip: ip}, nil
	}
}

func (l *limitListener) acquire(ip string) bool {
	if n := l.open.Add(1); l.max > 0 && n > l.max {
		l.open.Add(-1)
		return false
	}
	if l.maxPerIP <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP[ip] >= l.maxPerIP {
		l.open.Add(-1)
		return false
	}
	l.perIP[ip]++
	return true
}

func (l *limitListener) release(ip string) {
	l.open.Add(-1)
	if l.maxPerIP <= 0 {
		return
	}
	l.mu.Lock()
	if n := l.perIP[ip] - 1; n > 0 {
		l.perIP[ip] = n
	} else {
		delete(l.perIP, ip)
	}
	l.mu.Unlock()
}

type limitConn struct {
	net.Conn
	l    *limitListener
	ip   string
	once sync.Once

	// writeBound bounds a write made while no write deadline is set: the
	// writes the HTTP server makes on its own after a handler returned
	// (the end of a chunked stream, the rest of a buffered answer) or
	// before one runs (an error answer to a malformed request, a TLS
	// handshake). The handlers set their own deadlines before they write
	// and clear them when they are done, since a deadline left in place
	// would cut the connection's next request. The bound is the
	// listener's (limitListener.SetWriteBound).
	dlMu   sync.Mutex
	userDL bool      // a write deadline set by the connection's user is in force
	armed  time.Time // the bound last set while userDL is false
}

// Write writes p. While no write deadline is set, it sets one the bound
// ahead first (at most every half-bound, so that a busy connection does not
// reset its timer on every write, and at once when the bound was lowered):
// no write waits on a client that has stopped reading for longer than that.
func (c *limitConn) Write(p []byte) (int, error) {
	if bound := time.Duration(c.l.writeBound.Load()); bound > 0 {
		c.dlMu.Lock()
		if !c.userDL {
			now := time.Now()
			if c.armed.Sub(now) < bound/2 || c.armed.Sub(now) > bound {
				c.armed = now.Add(bound)
				_ = c.Conn.SetWriteDeadline(c.armed)
			}
		}
		c.dlMu.Unlock()
	}
	return c.Conn.Write(p)
}

// SetWriteDeadline sets the write deadline; the zero time hands writes back
// to the bound.
func (c *limitConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(t, c.Conn.SetWriteDeadline)
}

// SetDeadline sets the read and write deadlines, as SetWriteDeadline does
// for writes.
func (c *limitConn) SetDeadline(t time.Time) error {
	return c.setDeadline(t, c.Conn.SetDeadline)
}

// setDeadline records whether the user has a write deadline in force and
// sets t with set.
func (c *limitConn) setDeadline(t time.Time, set func(time.Time) error) error {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	c.userDL, c.armed = !t.IsZero(), time.Time{}
	return set(t)
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}

// CloseWrite half-closes the connection. net/http answers 413 and 431 and
// then closes its side for writing and lingers, so that the client reads
// the answer before the reset that unread request bytes cause; without this
// method the wrapper hid that ability and the answer was lost.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func hostOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return string(t.IP.To16())
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}
