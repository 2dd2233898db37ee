//go:build !linux

package sockio

import "syscall"

const supported = false

// RawRead is read(2) where this package has raw system calls.
func RawRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	if errno, ok := err.(syscall.Errno); ok {
		return n, errno
	}
	return n, 0
}

func rawWritev(uintptr, []byte, []byte) (int, syscall.Errno) { return 0, syscall.ENOSYS }
