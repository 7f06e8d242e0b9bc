package main

import (
	"syscall"
	"unsafe"
)

// ioUringWorks reports why io_uring cannot be used here (nil if it can):
// a kernel built without it, /proc/sys/kernel/io_uring_disabled, or a
// seccomp profile (Docker's default) refuse io_uring_setup(2).
func ioUringWorks() error {
	var params [120]byte // struct io_uring_params, zeroed
	fd, _, errno := syscall.Syscall(425, 4, uintptr(unsafe.Pointer(&params[0])), 0)
	if errno != 0 {
		return errno
	}
	syscall.Close(int(fd))
	return nil
}
