//go:build !js

package ws

import (
	"context"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/internal/rawio"
	"github.com/rfc6455/ws/mask"
	"github.com/rfc6455/ws/wsproto"
)

// WriteMessage sends p as one message of type typ (Text or Binary), in a
// single frame. It is safe to call from any number of goroutines: each
// message goes out whole, never interleaved with another. The caller may
// reuse p when WriteMessage returns; p is never modified.
//
// ctx bounds the wait for other writers and the write itself. A write that
// fails or is interrupted part way leaves a partial frame on the wire, so the
// connection is closed and every later write returns the same error.
func (c *Conn) WriteMessage(ctx context.Context, typ MessageType, p []byte) error {
	if typ != Text && typ != Binary {
		return ErrInvalidMessageType
	}
	if err := c.acquire(ctx, &c.msgSem); err != nil {
		return err
	}
	var err error
	if c.tx.Compresses(len(p)) {
		err = c.writeCompressed(ctx, typ, p)
	} else if err = ctx.Err(); err == nil {
		// The buffer the frame is assembled in is taken here, near the
		// top, not at the bottom of the write path: a pool that has to
		// allocate (and the allocation's GC assist) would take the
		// goroutine past its 2 KiB stack for good.
		// Not when writeData hands the frame to writeDataWatched,
		// which takes its own.
		var bp *[]byte
		if c.role == RoleServer && len(p) < directThreshold && ctx.Done() == nil && c.opts.WriteTimeout <= 0 {
			bp = writeBufPool.Get().(*[]byte)
		}
		err = c.writeData(ctx, frame.Opcode(typ), p, bp)
		if bp != nil {
			writeBufPool.Put(bp)
		}
	}
	c.msgSem.unlock()
	return err
}

// writeCompressed is WriteMessage for a message that permessage-deflate
// compresses; msgSem is held.
//
//go:noinline
func (c *Conn) writeCompressed(ctx context.Context, typ MessageType, p []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	payload, compressed, bp := c.compressMessage(p)
	var rsv uint8
	if compressed {
		// RFC 7692 §6: RSV1 marks a compressed message, on its first
		// frame only.
		rsv = frame.RSV1
	}
	err := c.writeFrameRSV(ctx, true, rsv, frame.Opcode(typ), payload)
	if compressed {
		c.unsentCompressed(ctx, err)
	}
	releaseCompressed(bp)
	return err
}

// writeData writes a whole message in one uncompressed frame under
// frameSem: WriteMessage's path. It is writeUnder's for the common case
// (no context to watch, no WriteTimeout), with small frames: the write
// path of a goroutine per connection should fit in the 2 KiB stack a
// goroutine starts with (see readMessage).
//
// bp, if not nil, is a pooled buffer to assemble the frame in.
func (c *Conn) writeData(ctx context.Context, op frame.Opcode, payload []byte, bp *[]byte) error {
	if ctx.Done() != nil || c.opts.WriteTimeout > 0 {
		return c.writeDataWatched(ctx, op, payload)
	}
	err := c.acquire(ctx, &c.frameSem)
	if err == nil {
		// No defer (its result slots would deepen this frame): no code
		// but this package's runs until frameSem is let go.
		err = c.writeError()
		if err == nil && c.tx.CloseSent() {
			// RFC 6455 §5.5.1: after sending a close frame, no more
			// data frames.
			err = ErrClosed
		}
		if err == nil {
			if err = c.writeFrameLocked(true, 0, op, payload, bp); err != nil {
				c.writeFailed(err)
			}
		}
		c.frameSem.unlock()
	}
	return err
}

// writeDataWatched is writeData with a context to watch or a
// WriteTimeout.
//
//go:noinline
func (c *Conn) writeDataWatched(ctx context.Context, op frame.Opcode, payload []byte) error {
	return c.writeUnder(ctx, true, 0, op, payload, nil, nil, nil)
}

// writeFailed makes a failed write fail every later one: part of a frame
// may be out. frameSem must be held.
//
//go:noinline
func (c *Conn) writeFailed(err error) {
	c.extra().writeErr = err
	c.closeTransport()
}

// unsentCompressed handles the failure of a compressed message's write
// because its context ended before the frame went out: with context
// takeover the compressor's history now holds a message the peer never got,
// so later messages could not be inflated (RFC 7692 §7.2.3); the
// connection is closed. msgSem must be held.
func (c *Conn) unsentCompressed(ctx context.Context, err error) {
	if err != nil && err == ctx.Err() && c.tx.CompressionTakeover() {
		c.closeTransport()
	}
}

// writeFrame writes one frame under frameSem.
func (c *Conn) writeFrame(ctx context.Context, fin bool, op frame.Opcode, payload []byte) error {
	return c.writeFrameRSV(ctx, fin, 0, op, payload)
}

// writeFrameRSV writes one frame with reserved bits rsv under frameSem.
func (c *Conn) writeFrameRSV(ctx context.Context, fin bool, rsv uint8, op frame.Opcode, payload []byte) error {
	return c.writeUnder(ctx, fin, rsv, op, payload, nil, nil, nil)
}

// writePong answers a ping whose payload is ping with the core's pong
// (RFC 6455 §5.5.3) under frameSem. It is on the read path (a ping is
// answered as it is read), so it is kept small as writeData is.
func (c *Conn) writePong(ctx context.Context, ping []byte) error {
	if ctx.Done() != nil || c.opts.WriteTimeout > 0 {
		return c.writePongWatched(ctx, ping)
	}
	if err := c.acquire(ctx, &c.frameSem); err != nil {
		return err
	}
	// No defer, as in writeData.
	err := c.writeError()
	if err == nil && c.tx.CloseSent() {
		// RFC 6455 §5.5.1: nothing after the close frame.
		err = ErrClosed
	}
	if err == nil {
		// The core's pong (RFC 6455 §5.5.3: the ping's payload, at most
		// 125 bytes, which the core checked).
		if at := c.pongInPlace(ping); at >= 0 {
			err = c.netWrite(c.rbuf[at : at+2+len(ping)])
		} else {
			err = c.writePongPooled(ping)
		}
		if err != nil {
			c.writeFailed(err)
		}
	}
	c.frameSem.unlock()
	return err
}

// pongInPlace writes the header of the pong that answers ping in front of
// it in the read buffer, over the bytes of the ping's own header, and
// returns where the pong starts in c.rbuf; or -1 when it cannot: ping is
// not in the read buffer (a payload that came in pieces is collected
// elsewhere), or the ping's header is not in front of it (it came with the
// read before), or the pong is masked (the client), which would change
// the payload the callbacks are given. So a server answers a ping without
// a buffer of its own, whose taking could allocate at the bottom of the
// read path. The bytes in front of ping were consumed: a masked frame's
// header, 6 bytes. readSem and frameSem are held.
func (c *Conn) pongInPlace(ping []byte) int {
	if c.role != RoleServer {
		return -1
	}
	at := c.rpos - len(ping) - 2
	if at < 0 || cap(c.rbuf[at+2:]) != cap(ping) || len(ping) > 0 && &c.rbuf[at+2] != &ping[0] {
		return -1
	}
	h, err := c.tx.Header(frame.OpPong, true, false, len(ping))
	if err != nil || h.Size() != 2 {
		return -1
	}
	frame.PutHeader(c.rbuf[at:at+2], h)
	return at
}

// writePongPooled writes the pong that answers ping from a pooled buffer.
//
//go:noinline
func (c *Conn) writePongPooled(ping []byte) error {
	bp := writeBufPool.Get().(*[]byte)
	b, err := c.tx.AppendPong((*bp)[:0], ping)
	if err == nil {
		err = c.netWrite(b)
	}
	writeBufPool.Put(bp)
	return err
}

// writePongWatched is writePong with a context to watch or a
// WriteTimeout.
//
//go:noinline
func (c *Conn) writePongWatched(ctx context.Context, ping []byte) error {
	ev := wsproto.Event{Kind: wsproto.Ping, Payload: ping}
	return c.writeUnder(ctx, true, 0, 0, nil, nil, nil, &ev)
}

// writeUnder takes frameSem and writes one frame: the one encoded in wire
// if wire is not nil, the frames of batch if it is not nil, the core's
// answer to reply if it is not nil, else one built from fin, rsv, op and
// payload. It applies ctx and WriteTimeout, refuses to write after the
// close frame, and makes a failed write fail every later one.
func (c *Conn) writeUnder(ctx context.Context, fin bool, rsv uint8, op frame.Opcode, payload, wire []byte, batch net.Buffers, reply *wsproto.Event) error {
	if err := c.acquire(ctx, &c.frameSem); err != nil {
		return err
	}
	defer c.frameSem.unlock()
	if c.writeError() != nil {
		return c.writeError()
	}
	// RFC 6455 §5.5.1: after sending a close frame, no more data frames.
	if c.tx.CloseSent() {
		return ErrClosed
	}
	// A context that has ended stops the write before anything is sent.
	if err := ctx.Err(); err != nil {
		return err
	}
	w := c.watch(ctx, true)
	c.startWriteTimeout()
	var err error
	if batch != nil {
		// Several complete frames in one vectored write (writev on TCP).
		err = writeBatch(c.nc, batch)
	} else if reply != nil {
		bp := writeBufPool.Get().(*[]byte)
		err = c.netWrite(c.tx.AppendReply((*bp)[:0], *reply))
		writeBufPool.Put(bp)
	} else if wire != nil {
		err = c.netWrite(wire)
	} else {
		err = c.writeFrameLocked(fin, rsv, op, payload, nil)
	}
	c.endWriteTimeout()
	if w.stop() && err != nil {
		err = ctxError(ctx, err)
	}
	if err != nil {
		c.writeFailed(err)
	}
	return err
}

// netWrite writes b whole to the connection, with nc.Write, or on a
// socket through its raw connection. frameSem must be held.
//
// On a socket it writes through the raw connection: write(2) straight
// from the poller's callback (rawWrite), waiting for writability in the
// poller when the socket's buffer is full. That is nc.Write without net's
// and internal/poll's frames, which would take a goroutine's write path
// past the 2 KiB stack it starts with.
func (c *Conn) netWrite(b []byte) error {
	if c.raw == nil {
		return c.connWrite(b)
	}
	c.wraw, c.wErrno = b, 0
	err := c.raw.Write(c.rawWFn)
	c.wraw = nil
	if err != nil {
		return rawio.OpError(err, "write")
	}
	if c.wErrno != 0 {
		return c.errnoError("write", c.wErrno)
	}
	return nil
}

// connWrite is netWrite on a connection that is not a socket.
//
//go:noinline
func (c *Conn) connWrite(b []byte) error {
	_, err := c.nc.Write(b)
	return err
}

// writeBatch writes b to nc. It is a function of its own because
// Buffers.WriteTo takes the address of b, which moves b to the heap: here
// that costs an allocation only for the batches, not for every frame that
// writeUnder writes (TestSteadyStateReadAndWriteDoNotAllocate).
func writeBatch(nc net.Conn, b net.Buffers) error {
	_, err := b.WriteTo(nc)
	return err
}

// startWriteTimeout applies Options.WriteTimeout to the frame about to be
// written; frameSem must be held.
func (c *Conn) startWriteTimeout() {
	if c.opts.WriteTimeout <= 0 {
		return
	}
	d := time.Now().Add(c.opts.WriteTimeout)
	user := c.writeDeadline()
	if !user.IsZero() && user.Before(d) {
		d = user
	}
	c.nc.SetWriteDeadline(d)
}

// endWriteTimeout restores the user's write deadline.
func (c *Conn) endWriteTimeout() {
	if c.opts.WriteTimeout <= 0 {
		return
	}
	user := c.writeDeadline()
	c.nc.SetWriteDeadline(user)
}

// writeControl sends a control frame (ping or pong) unless a close frame was
// already sent. It waits for a data frame being written to finish, so it can
// go out between the fragments of a streamed message.
func (c *Conn) writeControl(ctx context.Context, op frame.Opcode, payload []byte) error {
	return c.writeFrame(ctx, true, op, payload)
}

// vecWrite is what a vectored write of header and payload needs. It is
// pooled rather than part of the Conn: large writes are the rare ones, and
// every idle connection would carry it.
type vecWrite struct {
	hbuf [frame.MaxHeaderSize]byte
	iov  [2][]byte
	bufs net.Buffers
	sys  rawIovecs // the system call's form of iov (rawWritev)
}

var vecWritePool = sync.Pool{New: func() any { return new(vecWrite) }}

// writeFrameLocked encodes and writes one frame; frameSem must be held.
//
// A small frame's header and payload go out in one write. On the server a
// large payload is written straight from the caller's slice together with
// the header (one writev on TCP), without copying it. A client must mask,
// which it does in a pooled buffer, never in the caller's slice.
//
// bp, if not nil, is a pooled buffer for a frame assembled whole in it.
func (c *Conn) writeFrameLocked(fin bool, rsv uint8, op frame.Opcode, payload []byte, bp *[]byte) error {
	// The core makes the header: RSV1 on a compressed message's first
	// frame (RFC 7692 §6), and on the client a fresh masking key (RFC 6455
	// §5.3).
	h, err := c.tx.Header(op, fin, rsv&frame.RSV1 != 0, len(payload))
	if err != nil {
		return err
	}
	if h.Masked || len(payload) > writeBufSize-frame.MaxHeaderSize {
		return c.writeFrameMore(&h, payload)
	}
	if c.writev && len(payload) >= directThreshold {
		return c.writeVec(&h, payload)
	}
	// Header and payload in one write.
	if bp == nil {
		return c.writeFramePooled(&h, payload)
	}
	return c.netWrite(append(frame.AppendHeader((*bp)[:0], h), payload...))
}

// writeFramePooled writes a frame assembled whole in a pooled buffer.
//
//go:noinline
func (c *Conn) writeFramePooled(h *frame.Header, payload []byte) error {
	bp := writeBufPool.Get().(*[]byte)
	err := c.netWrite(append(frame.AppendHeader((*bp)[:0], *h), payload...))
	writeBufPool.Put(bp)
	return err
}

// writeVec writes a frame's header and its payload, at least
// directThreshold bytes, from the caller's slice with one vectored write
// (the server: no masking).
//
//go:noinline
func (c *Conn) writeVec(h *frame.Header, payload []byte) error {
	v := vecWritePool.Get().(*vecWrite)
	v.iov[0] = frame.AppendHeader(v.hbuf[:0], *h)
	v.iov[1] = payload
	var err error
	if c.raw != nil {
		err = c.rawWritev(v)
	} else {
		v.bufs = v.iov[:]
		_, err = v.bufs.WriteTo(c.nc)
		v.bufs = nil
	}
	v.iov[1] = nil
	vecWritePool.Put(v)
	return err
}

// writeFrameMore is writeFrameLocked for a frame to mask (the client) or
// larger than the write buffer: the payload is copied into the pooled
// buffer, masked there, never in the caller's slice, and written a
// buffer at a time (or, on the server, from the caller's slice with one
// vectored write).
//
//go:noinline
func (c *Conn) writeFrameMore(h *frame.Header, payload []byte) error {
	if c.writev && !h.Masked {
		return c.writeVec(h, payload)
	}
	bp := writeBufPool.Get().(*[]byte)
	buf := *bp
	b := frame.AppendHeader(buf[:0], *h)
	pos := 0
	var err error
	for {
		n := min(len(payload), cap(b)-len(b))
		start := len(b)
		b = append(b, payload[:n]...)
		if h.Masked {
			pos = mask.Apply(h.Key, pos, b[start:])
		}
		payload = payload[n:]
		if err = c.netWrite(b); err != nil || len(payload) == 0 {
			break
		}
		b = buf[:0]
	}
	writeBufPool.Put(bp)
	return err
}

// NextWriter starts a message of type typ and returns a writer for its
// payload. The message is sent in fragments of Options.FragmentSize bytes as
// it is written (RFC 6455 §5.4); Close sends the last fragment. With
// permessage-deflate the message is collected and compressed whole at Close,
// then sent in fragments of that size. Until then,
// other messages wait, while pings, pongs and a close frame may still go out
// between the fragments. The writer must be closed.
//
// ctx bounds every write of the message.
func (c *Conn) NextWriter(ctx context.Context, typ MessageType) (io.WriteCloser, error) {
	if typ != Text && typ != Binary {
		return nil, ErrInvalidMessageType
	}
	if err := c.acquire(ctx, &c.msgSem); err != nil {
		return nil, err
	}
	return &messageWriter{c: c, ctx: ctx, op: frame.Opcode(typ), whole: c.opts.Compression != nil}, nil
}

// messageWriter is the io.WriteCloser NextWriter returns.
type messageWriter struct {
	c    *Conn
	ctx  context.Context
	op   frame.Opcode // opcode of the next fragment
	buf  []byte
	done bool
	err  error
	// whole: the message is collected and sent at Close, compressed if
	// long enough (permessage-deflate compresses whole messages here).
	whole bool
}

// Write buffers p and sends every full fragment.
func (w *messageWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, ErrWriterClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.whole {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	size := w.c.opts.FragmentSize
	written := 0
	for len(p) > 0 {
		if len(w.buf) == 0 && len(p) >= size {
			// Nothing buffered: send a full fragment from p directly.
			if err := w.send(p[:size], false); err != nil {
				return written, err
			}
			p = p[size:]
			written += size
			continue
		}
		if w.buf == nil {
			w.buf = make([]byte, 0, size)
		}
		n := copy(w.buf[len(w.buf):size], p)
		w.buf = w.buf[:len(w.buf)+n]
		p = p[n:]
		written += n
		if len(w.buf) == size {
			if err := w.send(w.buf, false); err != nil {
				return written, err
			}
			w.buf = w.buf[:0]
		}
	}
	return written, nil
}

func (w *messageWriter) send(payload []byte, fin bool) error {
	err := w.c.writeFrame(w.ctx, fin, w.op, payload)
	if err != nil {
		w.err = err
		w.cut(err)
		return err
	}
	w.op = frame.OpContinuation
	return nil
}

// cut handles a fragment that was not sent because the writer's context
// ended: once the message has started, the peer waits for the rest of it
// (RFC 6455 §5.4), and no other message may go out first, so the
// connection is closed. A message none of whose frames went out can be
// given up.
func (w *messageWriter) cut(err error) {
	if w.op == frame.OpContinuation && err == w.ctx.Err() {
		w.c.closeTransport()
	}
}

// Close sends the final fragment and lets the next message go.
func (w *messageWriter) Close() error {
	if w.done {
		return ErrWriterClosed
	}
	w.done = true
	defer w.c.msgSem.unlock()
	if w.err != nil {
		return w.err
	}
	if !w.whole {
		return w.send(w.buf, true)
	}
	if err := w.ctx.Err(); err != nil {
		return err
	}
	payload, compressed, bp := w.c.compressMessage(w.buf)
	defer releaseCompressed(bp)
	var rsv uint8
	if compressed {
		rsv = frame.RSV1 // RFC 7692 §6: first frame only
	}
	size := w.c.opts.FragmentSize
	for {
		n := min(len(payload), size)
		fin := n == len(payload)
		err := w.c.writeFrameRSV(w.ctx, fin, rsv, w.op, payload[:n])
		if err != nil {
			w.cut(err)
			if compressed {
				w.c.unsentCompressed(w.ctx, err)
			}
			return err
		}
		if fin {
			return nil
		}
		w.op, rsv = frame.OpContinuation, 0
		payload = payload[n:]
	}
}

// isWritev reports whether nc writes a net.Buffers with one system call.
func isWritev(nc net.Conn) bool {
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}
