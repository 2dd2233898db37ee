//go:build linux || darwin || freebsd || netbsd || openbsd

package upstream

import (
	"errors"
	"net"
	"syscall"
)

// alive reports whether an idle pooled connection is still open: a peek
// that does not block finds no data and no end of stream. A server that
// closed the connection while it sat in the pool is found here, before a
// request is written to it.
func alive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ok = false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// No data waiting is the healthy idle state; data or EOF is not.
		ok = n < 0 && (errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK))
		return true
	})
	return err == nil && ok
}
