//go:build linux && race

package sockio

import "syscall"

// Under the race detector the system calls go through the syscall package,
// which tells the detector what the kernel read and wrote and orders a
// write before the read that receives it; raw calls would hide both. The
// logic around them is the same. RawRead is in read_syscall.go.

// supported: Conn is used, with these calls.
const supported = true

// rawWritev writes a, or b when a is empty, with syscall.Write; the caller
// loops until both are written, so the bytes are the same as one writev's.
func rawWritev(fd uintptr, a, b []byte) (int, syscall.Errno) {
	p := a
	if len(p) == 0 {
		p = b
	}
	n, err := syscall.Write(int(fd), p)
	if errno, ok := err.(syscall.Errno); ok {
		return 0, errno
	}
	return n, 0
}
