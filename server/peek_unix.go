//go:build unix && !wasip1

package server

import (
	"io"
	"net"
	"os"
	"syscall"
)

// peekSocket reads what a socket holds into hb.b without waiting for more:
// 0 bytes when nothing has come yet, or when nc is not a socket this works
// on. An error is the connection's end (io.EOF) or failure.
func (hb *headBuf) peekSocket(nc net.Conn) (int, error) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return 0, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, nil
	}
	hb.n, hb.errno = 0, 0
	if err := rc.Read(hb.peek); err != nil {
		return 0, err
	}
	switch hb.errno {
	case 0:
		if hb.n == 0 {
			return 0, io.EOF
		}
		return hb.n, nil
	case syscall.EAGAIN:
		return 0, nil
	}
	return 0, &net.OpError{Op: "read", Net: "tcp", Source: nc.LocalAddr(), Addr: nc.RemoteAddr(),
		Err: os.NewSyscallError("read", hb.errno)}
}

// peekFD is called by the poller with the socket: one read that does not
// wait (the poller is told not to).
func (hb *headBuf) peekFD(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), hb.b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			hb.errno = err.(syscall.Errno)
			return true
		}
		hb.n = n
		return true
	}
}
