package config

import (
	"net"
	"net/netip"
	"strconv"
)

// checkAddr reports whether addr is a valid host:port, recording a problem
// at p when it is not. An empty host means every interface.
func checkAddr(errs *Errors, p, addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		errs.add(p, 0, "invalid address "+strconv.Quote(addr)+": want host:port, such as 127.0.0.1:8080")
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		errs.add(p, 0, "invalid port "+strconv.Quote(port)+" in "+strconv.Quote(addr))
		return false
	}
	if host != "" && !validHost(host) {
		errs.add(p, 0, "invalid host "+strconv.Quote(host)+" in "+strconv.Quote(addr))
		return false
	}
	return true
}

// validHost accepts an IP address or a DNS name.
func validHost(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if len(host) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case c == '-' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z'):
			label++
			if label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return label > 0
}

// isLoopback reports whether a host:port listens on loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// sameListener reports whether two host:port addresses would collide: the
// same port on the same host, or on a wildcard host that covers the other.
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	ha, hb = normalHost(ha), normalHost(hb)
	return ha == hb || ha == "" || hb == ""
}

// normalHost maps the wildcard spellings to "" and localhost to 127.0.0.1.
func normalHost(h string) string {
	switch h {
	case "localhost":
		return "127.0.0.1"
	case "0.0.0.0", "::":
		return ""
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.Unmap().String()
	}
	return h
}
