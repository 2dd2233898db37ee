package bench

import "syscall"

// childSysProcAttr makes the kernel kill a child when the benchmark dies,
// even by SIGKILL, so that no simulator or gateway outlives it.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
