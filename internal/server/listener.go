// Package server runs the gateway's listeners: connection caps, timeouts,
// header limits and TLS, for the client API and the admin API.
package server

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/rampart-gw/rampart/internal/sockio"
)

// limitListener closes connections over a global cap or a per-IP cap at
// once, instead of queueing them.
type limitListener struct {
	net.Listener
	max      int64
	maxPerIP int64
	open     atomic.Int64
	rejected atomic.Int64

	mu    sync.Mutex
	perIP map[string]int64
}

// LimitListener wraps l with connection caps; zero disables a cap.
func LimitListener(l net.Listener, max, perIP int) net.Listener {
	return &limitListener{Listener: l, max: int64(max), maxPerIP: int64(perIP), perIP: map[string]int64{}}
}

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
