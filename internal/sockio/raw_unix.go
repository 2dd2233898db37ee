//go:build unix && !linux

package sockio

import "syscall"

// supported: Conn's raw system calls are made on Linux only.
const supported = false

// CanRawRead reports whether RawRead works inside a syscall.RawConn's Read.
const CanRawRead = true

// RawRead is read(2) of a non-blocking socket, for use inside a
// syscall.RawConn's Read; p must not be empty.
func RawRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	if errno, ok := err.(syscall.Errno); ok {
		return 0, errno
	}
	return n, 0
}

func rawWritev(uintptr, []byte, []byte) (int, syscall.Errno) { return 0, syscall.ENOSYS }
