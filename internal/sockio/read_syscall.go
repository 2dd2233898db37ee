//go:build (unix && !linux) || (linux && race)

package sockio

import "syscall"

// CanRawRead reports whether RawRead works inside a syscall.RawConn's Read.
const CanRawRead = true

// RawRead is read(2) of a non-blocking socket, for use inside a
// syscall.RawConn's Read; p must not be empty. Here it goes through the
// syscall package: off Linux, where this package makes no raw calls, and
// under the race detector, which the syscall package tells what the kernel
// wrote.
func RawRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	if errno, ok := err.(syscall.Errno); ok {
		return 0, errno
	}
	return n, 0
}
