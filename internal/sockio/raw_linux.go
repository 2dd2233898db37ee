//go:build linux && !race

package sockio

import (
	"syscall"
	"unsafe"
)

const supported = true

// CanRawRead reports whether RawRead works inside a syscall.RawConn's Read.
const CanRawRead = true

// RawRead is read(2) of a non-blocking socket, which never blocks, for
// use inside a syscall.RawConn's Read; p must not be empty.
func RawRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), 0
}

// rawWritev is writev(2) of a and b on a non-blocking socket; an empty
// slice is left out.
func rawWritev(fd uintptr, a, b []byte) (int, syscall.Errno) {
	var iov [2]syscall.Iovec
	k := 0
	for _, p := range [2][]byte{a, b} {
		if len(p) > 0 {
			iov[k].Base = &p[0]
			iov[k].SetLen(len(p))
			k++
		}
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(k))
	if errno != 0 {
		return 0, errno
	}
	return int(n), 0
}
