package rawio

import (
	"net"
	"os"
	"syscall"
)

// OpError gives err, from a syscall.RawConn's Read or Write, the operation
// op ("read" or "write") of the net.Conn's Read or Write, so that a raw
// connection's errors look like the net.Conn's.
//
//go:noinline
func OpError(err error, op string) error {
	if oe, ok := err.(*net.OpError); ok {
		oe.Op = op
	}
	return err
}

// ErrnoError is the error of the system call op ("read" or "write") that
// failed with errno on the connection from local to remote, as the
// net.Conn reports it.
//
//go:noinline
func ErrnoError(op string, errno syscall.Errno, local, remote net.Addr) error {
	oe, se := new(net.OpError), new(os.SyscallError)
	FillErrnoError(oe, se, op, errno, local, remote)
	return oe
}

// FillErrnoError fills oe and se, which the caller may have allocated
// together with something else, with ErrnoError's error: oe wraps se.
func FillErrnoError(oe *net.OpError, se *os.SyscallError, op string, errno syscall.Errno, local, remote net.Addr) {
	*se = os.SyscallError{Syscall: op, Err: errno}
	*oe = net.OpError{Op: op, Net: local.Network(), Source: local, Addr: remote, Err: se}
}
