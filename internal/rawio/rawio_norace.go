//go:build unix && !wasip1 && !race

package rawio

import (
	"syscall"
	"unsafe"
)

// RaceBuild reports whether the race detector is on.
const RaceBuild = false

// Read is read(2) on fd into p, called by the poller with a socket
// that does not block: syscall.Syscall itself, without syscall.Read's two
// frames (and its race detector annotations, which this build does not
// need), so that a goroutine's read path stays within the 2 KiB stack it
// starts with.
func Read(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.Syscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), errno
}

// Write is write(2), as Read is read(2).
func Write(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.Syscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), errno
}

// Writev is writev(2) of the n buffers at iov.
func Writev(fd uintptr, iov *syscall.Iovec, n int) (int, syscall.Errno) {
	r, _, errno := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(iov)), uintptr(n))
	return int(r), errno
}
