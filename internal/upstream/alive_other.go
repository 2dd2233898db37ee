//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package upstream

import "net"

// alive cannot peek on this platform; a stale connection is found when
// the request on it fails, and the request is retried once.
func alive(net.Conn) bool { return true }
