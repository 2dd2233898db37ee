//go:build unix && !linux

package sockio

import "syscall"

// supported: Conn's raw system calls are made on Linux only.
const supported = false

func rawWritev(uintptr, []byte, []byte) (int, syscall.Errno) { return 0, syscall.ENOSYS }
