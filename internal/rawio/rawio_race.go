//go:build unix && !wasip1 && race

package rawio

import "syscall"

// RaceBuild reports whether the race detector is on.
const RaceBuild = true

// Read is read(2) on fd into p. With the race detector it is
// syscall.Read, which tells the detector of the I/O (reads and writes of
// file descriptors order the goroutines that make them).
func Read(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	return n, errnoOf(err)
}

// Write is write(2), as Read is read(2).
func Write(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	return n, errnoOf(err)
}

// Writev is never called with the race detector (the caller uses net's
// writev there).
func Writev(uintptr, *syscall.Iovec, int) (int, syscall.Errno) {
	panic("rawio: Writev with the race detector")
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	return err.(syscall.Errno)
}
