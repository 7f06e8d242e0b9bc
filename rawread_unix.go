//go:build unix && !wasip1

package ws

import (
	"github.com/rfc6455/ws/internal/rawio"
	"github.com/rfc6455/ws/internal/wsconn"
	"net"
	"syscall"
	"unsafe"
)

func init() { wsconn.NewConn = newConn }

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

// rawRead is called by the poller with the socket (fill): it takes a
// read buffer and reads into it, or, when nothing is there yet (EAGAIN),
// gives the buffer back and asks the poller to wait. So a connection
// waiting for data holds no buffer, and the first read after the wait
// can take a whole message (RFC 6455 frames of a few KiB in one system
// call). The buffers come from and go to readBufSlots, which cannot
// allocate; when there is none to take (rawNeed) or no room to give one
// back (rawAgain), it returns and fill uses the pool. With rawDirect
// it reads into c.rbuf, a message's own buffer (readDirect).
func (c *Conn) rawRead(fd uintptr) bool {
	if c.rpooled == nil && !c.rawDirect {
		if c.rpooled = readBufSlots.get(fd); c.rpooled == nil {
			c.rawNeed = true
			return true
		}
		c.rbuf = *c.rpooled
	}
	for {
		n, errno := rawio.Read(fd, c.rbuf)
		switch errno {
		case 0:
			c.rawN = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if c.rawDirect {
				return false
			}
			if !readBufSlots.put(fd, c.rpooled) {
				c.rawAgain = true
				return true
			}
			c.rpooled, c.rbuf = nil, nil
			return false
		}
		c.rawErrno = uint32(errno)
		return true
	}
}

// rawWrite is called by the poller with the socket: it writes what is left
// of c.wraw, and asks the poller to wait (false) when the socket takes no
// more for now.
func (c *Conn) rawWrite(fd uintptr) bool {
	if c.wvec != nil {
		return c.rawWritevFD(fd)
	}
	return rawio.WriteAll(fd, &c.wraw, &c.wErrno)
}

// rawIovecs is a vectored write's buffers in the system call's form.
type rawIovecs struct {
	iov [2]syscall.Iovec
	n   int // the last n of iov are left to write
}

// rawWritev writes v.iov[0] and v.iov[1] whole with writev(2) through the
// raw connection, as netWrite does with write(2). frameSem must be
// held.
func (c *Conn) rawWritev(v *vecWrite) error {
	if rawio.RaceBuild {
		// The race detector knows of the I/O of net's writev.
		v.bufs = v.iov[:]
		_, err := v.bufs.WriteTo(c.nc)
		v.bufs = nil
		return err
	}
	for i, b := range v.iov {
		v.sys.iov[i].Base = unsafe.SliceData(b)
		v.sys.iov[i].SetLen(len(b))
	}
	v.sys.n = 2
	c.wvec, c.wErrno = &v.sys, 0
	err := c.raw.Write(c.rawWFn)
	c.wvec = nil
	v.sys.iov = [2]syscall.Iovec{}
	if err != nil {
		return rawio.OpError(err, "write")
	}
	if c.wErrno != 0 {
		return c.errnoError("write", c.wErrno)
	}
	return nil
}

// rawWritevFD is rawWrite for a vectored write, c.wvec.
func (c *Conn) rawWritevFD(fd uintptr) bool {
	v := c.wvec
	for v.n > 0 {
		iov := v.iov[2-v.n:]
		n, errno := rawio.Writev(fd, &iov[0], len(iov))
		switch errno {
		case 0:
			for n > 0 && v.n > 0 {
				iv := &v.iov[2-v.n]
				if uint64(n) < uint64(iv.Len) {
					iv.Base = (*byte)(unsafe.Add(unsafe.Pointer(iv.Base), n))
					iv.SetLen(int(iv.Len) - n)
					n = 0
					break
				}
				n -= int(iv.Len)
				v.n--
			}
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.wErrno = errno
			return true
		}
	}
	return true
}
