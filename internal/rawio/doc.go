// Package rawio holds the system calls the WebSocket drivers make from the
// runtime poller's callbacks (syscall.RawConn): read(2), write(2) and
// writev(2) on a socket that does not block, called straight through
// syscall.Syscall, without the frames of syscall.Read and syscall.Write.
// They run at the bottom of a connection goroutine's read and write paths,
// which must fit in the 2 KiB stack a goroutine starts with. With the race
// detector they are syscall.Read and syscall.Write, which tell the detector
// of the I/O.
package rawio
