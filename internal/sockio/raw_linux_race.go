//go:build linux && race

package sockio

import "syscall"

// Under the race detector the system calls go through the syscall package,
// which tells the detector what the kernel read and wrote and orders a
// write before the read that receives it; raw calls would hide both. The
// logic around them is the same.

const supported = true

// CanRawRead reports whether RawRead works inside a syscall.RawConn's Read.
const CanRawRead = true

// RawRead is read(2) of a non-blocking socket; p must not be empty.
func RawRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	if errno, ok := err.(syscall.Errno); ok {
		return 0, errno
	}
	return n, 0
}

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
