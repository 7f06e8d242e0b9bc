//go:build !js

package ws

import (
	"context"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rfc6455/ws/frame"
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
	if err := ctx.Err(); err != nil {
		c.msgSem.unlock()
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
	c.msgSem.unlock()
	return err
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

// writeReply writes the answer the core gives to the event ev (a pong for
// a ping) under frameSem.
func (c *Conn) writeReply(ctx context.Context, ev *wsproto.Event) error {
	return c.writeUnder(ctx, true, 0, 0, nil, nil, nil, ev)
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
	if c.writeErr != nil {
		return c.writeErr
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
		_, err = c.nc.Write(c.tx.AppendReply((*bp)[:0], *reply))
		writeBufPool.Put(bp)
	} else if wire != nil {
		_, err = c.nc.Write(wire)
	} else {
		err = c.writeFrameLocked(fin, rsv, op, payload)
	}
	c.endWriteTimeout()
	if w.stop() && err != nil {
		err = ctxError(ctx, err)
	}
	if err != nil {
		c.writeErr = err
		c.closeTransport()
	}
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
	c.dlMu.Lock()
	user := c.writeDeadline
	c.dlMu.Unlock()
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
	c.dlMu.Lock()
	user := c.writeDeadline
	c.dlMu.Unlock()
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
}

var vecWritePool = sync.Pool{New: func() any { return new(vecWrite) }}

// writeFrameLocked encodes and writes one frame; frameSem must be held.
//
// A small frame's header and payload go out in one write. On the server a
// large payload is written straight from the caller's slice together with
// the header (one writev on TCP), without copying it. A client must mask,
// which it does in a pooled buffer, never in the caller's slice.
func (c *Conn) writeFrameLocked(fin bool, rsv uint8, op frame.Opcode, payload []byte) error {
	// The core makes the header: RSV1 on a compressed message's first
	// frame (RFC 7692 §6), and on the client a fresh masking key (RFC 6455
	// §5.3).
	h, err := c.tx.Header(op, fin, rsv&frame.RSV1 != 0, len(payload))
	if err != nil {
		return err
	}
	if c.writev && !h.Masked && len(payload) >= directThreshold {
		v := vecWritePool.Get().(*vecWrite)
		v.iov[0] = frame.AppendHeader(v.hbuf[:0], h)
		v.iov[1] = payload
		v.bufs = v.iov[:]
		_, err := v.bufs.WriteTo(c.nc)
		v.iov[1] = nil
		v.bufs = nil
		vecWritePool.Put(v)
		return err
	}
	bp := writeBufPool.Get().(*[]byte)
	buf := *bp
	b := frame.AppendHeader(buf[:0], h)
	pos := 0
	for {
		n := min(len(payload), cap(b)-len(b))
		start := len(b)
		b = append(b, payload[:n]...)
		if h.Masked {
			pos = mask.Apply(h.Key, pos, b[start:])
		}
		payload = payload[n:]
		if _, err = c.nc.Write(b); err != nil || len(payload) == 0 {
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
