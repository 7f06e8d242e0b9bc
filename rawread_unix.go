//go:build unix && !wasip1

package ws

import (
	"net"
	"syscall"
)

// rawConnOf returns the raw connection that lets reads wait for
// readability in the runtime's poller before taking a buffer, or nil when
// nc is not a socket this works on.
func rawConnOf(nc net.Conn) syscall.RawConn {
	var sc syscall.Conn
	switch t := nc.(type) {
	case *net.TCPConn:
		sc = t
	case *net.UnixConn:
		sc = t
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// rawRead is called by the poller with the socket: it takes a pooled read
// buffer and reads into it, or, when nothing is there yet (EAGAIN), gives
// the buffer back and asks the poller to wait. So a connection waiting
// for data holds no buffer, and the first read after the wait can take a
// whole message (RFC 6455 frames of a few KiB in one system call).
func (c *Conn) rawRead(fd uintptr) bool {
	if c.rpooled == nil {
		c.rpooled = readBufPool.Get().(*[]byte)
		c.rbuf = *c.rpooled
	}
	for {
		n, err := syscall.Read(int(fd), c.rbuf)
		switch err {
		case nil:
			c.rawN = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			readBufPool.Put(c.rpooled)
			c.rpooled = nil
			c.rbuf = nil
			return false
		}
		c.rawErrno = err.(syscall.Errno)
		return true
	}
}
