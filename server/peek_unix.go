//go:build unix && !wasip1

package server

import (
	"github.com/rfc6455/ws/internal/rawio"
	"io"
	"net"
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
	hb.rc = rc
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
	return 0, rawio.ErrnoError("read", hb.errno, nc.LocalAddr(), nc.RemoteAddr())
}

// peekFD is called by the poller with the socket: one read that does not
// wait (the poller is told not to).
func (hb *headBuf) peekFD(fd uintptr) bool {
	for {
		n, errno := rawio.Read(fd, hb.b)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			hb.errno = errno
			return true
		}
		hb.n = n
		return true
	}
}

// rawWrite writes b whole through hb.rc: write(2) from the poller's
// callback (writeFD), which waits for writability when the socket takes
// no more for now, under the connection's write deadline. Errors look
// like nc.Write's.
func (hb *headBuf) rawWrite(nc net.Conn, b []byte) error {
	hb.out, hb.errno = b, 0
	err := hb.rc.Write(hb.put)
	hb.out = nil
	if err != nil {
		return rawio.OpError(err, "write")
	}
	if hb.errno != 0 {
		return rawio.ErrnoError("write", hb.errno, nc.LocalAddr(), nc.RemoteAddr())
	}
	return nil
}

// writeFD is called by the poller with the socket: it writes what is left
// of hb.out, and asks the poller to wait (false) when the socket takes no
// more for now.
func (hb *headBuf) writeFD(fd uintptr) bool {
	return rawio.WriteAll(fd, &hb.out, &hb.errno)
}
