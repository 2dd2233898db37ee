package proxy

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIPResolver finds the client's IP: the peer address, or, when the
// peer is a trusted proxy, the nearest untrusted address in
// X-Forwarded-For. Forwarded headers from untrusted peers are ignored.
type ClientIPResolver struct {
	trusted []netip.Prefix
}

// NewClientIPResolver parses CIDRs of trusted proxies.
func NewClientIPResolver(cidrs []string) (*ClientIPResolver, error) {
	c := &ClientIPResolver{}
	for _, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		c.trusted = append(c.trusted, p.Masked())
	}
	return c, nil
}

// Resolve returns the client IP of r.
func (c *ClientIPResolver) Resolve(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if c == nil || len(c.trusted) == 0 {
		return host
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !c.isTrusted(peer) {
		return host
	}
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return host
			}
			if !c.isTrusted(a) {
				return a.Unmap().String()
			}
		}
	}
	return host
}

func (c *ClientIPResolver) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
