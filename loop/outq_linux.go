//go:build linux

package loop

import (
	"syscall"
	"unsafe"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/frame"
)

const (
	maxHeaderSize   = frame.MaxHeaderSize
	maxControlFrame = 2 + frame.MaxControlPayload // a server's control frames are not masked
)

func opcode(t ws.MessageType) frame.Opcode { return frame.Opcode(t) }

func appendHeader(b []byte, h frame.Header) []byte { return frame.AppendHeader(b, h) }

// outq is a connection's send queue: the bytes the socket has not taken
// yet, in chunks held in pooled buffers. Small frames queued behind others
// are copied into the last chunk, so that a burst of them costs one
// buffer and one write.
type outq struct {
	q     []chunk
	bytes int64 // bytes queued
	msgs  int   // data messages queued, whole or in part
	began bool  // the first chunk was partly written
}

// chunk is bytes of one or more frames waiting to be written.
type chunk struct {
	b    []byte  // the bytes not yet written
	buf  *[]byte // the pooled buffer b lies in
	pay  int64   // the payload bytes it counts for in BufferedAmount
	msgs int     // the data messages it ends
}

func (q *outq) empty() bool { return len(q.q) == 0 }

// push queues a frame's bytes, hdr then payload.
func (q *outq) push(hdr, payload []byte, pay int64, msgs int) {
	n := len(hdr) + len(payload)
	if n == 0 {
		return
	}
	var last *chunk
	if k := len(q.q); k > 0 && (k > 1 || !q.began) {
		last = &q.q[k-1]
		if cap(last.b)-len(last.b) < n {
			last = nil
		}
	}
	if last == nil {
		q.q = append(q.q, chunk{buf: getBuf(n)})
		last = &q.q[len(q.q)-1]
		last.b = *last.buf
	}
	last.b = append(append(last.b, hdr...), payload...)
	last.pay += pay
	last.msgs += msgs
	q.bytes += int64(n)
	q.msgs += msgs
}

// iovecs fills iov with the queue's first chunks and returns how many and
// their length.
func (q *outq) iovecs(iov []syscall.Iovec) (int, int) {
	k, total := 0, 0
	for i := range q.q {
		if k == len(iov) {
			break
		}
		b := q.q[i].b
		iov[k].Base = &b[0]
		iov[k].SetLen(len(b))
		k++
		total += len(b)
	}
	return k, total
}

// advance drops the first n bytes, written, and returns the payload bytes
// of the chunks finished.
func (q *outq) advance(n int) int64 {
	var pay int64
	q.bytes -= int64(n)
	for n > 0 {
		c := &q.q[0]
		if n < len(c.b) {
			c.b = c.b[n:]
			q.began = true
			break
		}
		n -= len(c.b)
		pay += c.pay
		q.msgs -= c.msgs
		putBuf(c.buf)
		q.q[0] = chunk{}
		q.q = q.q[1:]
		q.began = false
	}
	if len(q.q) == 0 {
		q.q = nil
	}
	return pay
}

// dropUnstarted drops the chunks not begun and returns their payload
// bytes.
func (q *outq) dropUnstarted() int64 {
	keep := 0
	if q.began {
		keep = 1
	}
	var pay int64
	for i := keep; i < len(q.q); i++ {
		c := &q.q[i]
		pay += c.pay
		q.msgs -= c.msgs
		q.bytes -= int64(len(c.b))
		putBuf(c.buf)
		q.q[i] = chunk{}
	}
	q.q = q.q[:keep]
	if keep == 0 {
		q.q = nil
	}
	return pay
}

// drop empties the queue of a connection that writes no more.
func (q *outq) drop(c *Conn) {
	for i := range q.q {
		c.buffered.Add(-q.q[i].pay)
		putBuf(q.q[i].buf)
	}
	*q = outq{}
}

// writev2 writes a and b with one writev(2).
func writev2(fd int, a, b []byte) (int, error) {
	var iov [2]syscall.Iovec
	k := 0
	if len(a) > 0 {
		iov[k].Base = &a[0]
		iov[k].SetLen(len(a))
		k++
	}
	if len(b) > 0 {
		iov[k].Base = &b[0]
		iov[k].SetLen(len(b))
		k++
	}
	for {
		n, err := writev(fd, iov[:k])
		if err == syscall.EINTR {
			continue
		}
		return n, err
	}
}

// writev writes iov with writev(2) on a non-blocking socket.
func writev(fd int, iov []syscall.Iovec) (int, error) {
	if len(iov) == 0 {
		return 0, nil
	}
	n, _, e := syscall.Syscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
