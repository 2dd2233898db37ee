package sockio

import "syscall"

// supported: Conn's raw system calls are made on Linux only.
const supported = false

// CanRawRead reports whether RawRead works inside a syscall.RawConn's Read:
// not here, where a socket is not a file descriptor.
const CanRawRead = false

// RawRead is not available here; see CanRawRead.
func RawRead(uintptr, []byte) (int, syscall.Errno) { return 0, syscall.EWINDOWS }

func rawWritev(uintptr, []byte, []byte) (int, syscall.Errno) { return 0, syscall.EWINDOWS }
