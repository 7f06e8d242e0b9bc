package main

import (
	"encoding/binary"
	"syscall"
	"unsafe"
)

// ioUringWorks reports why servers/flooruring cannot run here (nil if it
// can): a kernel without io_uring or older than 6.1 (the ring's setup
// flags, SINGLE_ISSUER and DEFER_TASKRUN, came last of what it uses),
// /proc/sys/kernel/io_uring_disabled, or a seccomp profile (Docker's
// default) refusing io_uring_setup(2).
func ioUringWorks() error {
	var params [120]byte                                                            // struct io_uring_params
	binary.NativeEndian.PutUint32(params[4:], 8)                                    // cq_entries
	binary.NativeEndian.PutUint32(params[8:], 1<<3|1<<7|1<<12|1<<13)                // CQSIZE|SUBMIT_ALL|SINGLE_ISSUER|DEFER_TASKRUN, as flooruring
	fd, _, errno := syscall.Syscall(425, 4, uintptr(unsafe.Pointer(&params[0])), 0) // io_uring_setup
	if errno != 0 {
		return errno
	}
	syscall.Close(int(fd))
	return nil
}
