//go:build !js

package ws

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/internal/grow"
	"github.com/rfc6455/ws/mask"
)

// failError is the error reads return after this endpoint failed the
// connection (RFC 6455 §7.1.7). It carries the close code that was sent and
// wraps the rule that was broken.
type failError struct {
	code  CloseCode
	cause error
}

func (e *failError) Error() string {
	return "ws: connection failed with close " + e.code.String() + ": " + e.cause.Error()
}

func (e *failError) Unwrap() error { return e.cause }

// CloseCode returns the close code that was sent to the peer.
func (e *failError) CloseCode() uint16 { return uint16(e.code) }

// Errors for rules the Conn enforces itself.
var (
	errInvalidUTF8 = &closecode.Error{Code: closecode.InvalidPayload,
		Rule: "text message is not valid UTF-8 (RFC 6455 §8.1)"}
)

// ReadMessage reads the next data message whole. Its payload is appended to
// buf[:0], so a caller that passes back the returned slice reads without
// allocating once the buffer is large enough. Pings, pongs and the close
// frame that arrive before or between the message's fragments are handled on
// the way (see the package documentation).
//
// When the peer closes the connection, ReadMessage returns a *CloseError with
// the peer's code and reason. When the peer breaks the protocol, the
// connection is failed with the matching close code (1002, 1007 or 1009) and
// the error says which rule was broken; closecode.Of finds its code. Messages
// that arrived whole before the error are returned first. After an error,
// every read returns the same error.
//
// ctx bounds the read; if it ends during the read, the connection is closed,
// since part of a frame may have been consumed. A context that had ended
// before the call fails it at once and leaves the connection as it was.
func (c *Conn) ReadMessage(ctx context.Context, buf []byte) (MessageType, []byte, error) {
	if err := c.acquireRead(ctx); err != nil {
		return 0, buf[:0], err
	}
	defer c.readSem.unlock()
	if typ, msg, ok := c.popPending(buf[:0]); ok {
		return typ, msg, nil
	}
	if c.readErr != nil {
		return 0, buf[:0], c.readErr
	}
	if err := ctx.Err(); err != nil {
		// Nothing was read: the connection stays as it was.
		return 0, buf[:0], err
	}
	w := c.watch(ctx, false)
	c.rctx = ctx
	typ, buf, err := c.readMessage(buf[:0])
	c.rctx = nil
	err = c.stopWatch(ctx, w, err)
	return typ, buf, err
}

// readMessage reads one whole message; readSem must be held.
func (c *Conn) readMessage(buf []byte) (MessageType, []byte, error) {
	if err := c.beginMessage(); err != nil {
		return 0, buf, err
	}
	typ := c.msgType
	if c.msgCompr {
		out, err := c.readCompressed(buf)
		if err != nil {
			return 0, buf[:0], err
		}
		c.endMessage()
		return typ, out, nil
	}
	start, capBefore := len(buf), cap(buf)
	buf, err := c.appendFrames(buf)
	if err == nil {
		err = c.endMessage()
	}
	if err != nil {
		return 0, buf[:0], err
	}
	return typ, trimMessage(buf, start, capBefore), nil
}

// appendFrames reads the rest of the current message, its first header
// read, and appends its payload to buf, handling the control frames between
// its fragments.
func (c *Conn) appendFrames(buf []byte) ([]byte, error) {
	start := len(buf)
	for {
		for rem := c.p.Remaining(); rem > 0; rem = c.p.Remaining() {
			if len(buf) == cap(buf) {
				buf = c.growMessage(buf, start, rem)
			}
			at := len(buf)
			buf = buf[:at+int(min(rem, int64(cap(buf)-at)))]
			if err := c.readPayload(buf[at:]); err != nil {
				return buf[:at], err
			}
		}
		if c.hdr.Fin {
			return buf, nil
		}
		if err := c.nextDataFrame(); err != nil {
			return buf, err
		}
	}
}

// growMessage grows the buffer of a message that starts at buf[start] and
// whose current frame has rem bytes left, by the rule of package grow:
// memory follows what the peer sends, not what its header announces, and a
// message that reaches the read limit costs about the limit.
func (c *Conn) growMessage(buf []byte, start int, rem int64) []byte {
	n := int64(len(buf) - start)
	most := int64(-1)
	if c.hdr.Fin {
		most = rem // the message ends with this frame
	} else if c.p.MaxMessage > 0 {
		most = max(c.p.MaxMessage-n, rem)
	}
	nb := make([]byte, len(buf), int64(start)+grow.Cap(n, min(rem, 64<<10), most))
	copy(nb, buf)
	return nb
}

// trimMessage copies a message that its buffer, grown while reading it,
// holds with much room to spare into a buffer of its own size (see
// grow.Trimmed). buf holds the message from start; capBefore is the
// capacity buf had before the message was read.
func trimMessage(buf []byte, start, capBefore int) []byte {
	if cap(buf) == capBefore || !grow.Trimmed(int64(len(buf)-start), int64(cap(buf)-start)) {
		return buf
	}
	return append(make([]byte, 0, len(buf)), buf...)
}

// beginMessage skips what is left of a partly read message and reads up to
// the first frame of the next one.
func (c *Conn) beginMessage() error {
	if c.inMsg {
		if err := c.discardMessage(); err != nil {
			return err
		}
	}
	if lim := c.readLim.Load(); lim > 0 {
		c.p.MaxMessage = lim
	} else {
		c.p.MaxMessage = 0
	}
	if err := c.nextDataFrame(); err != nil {
		return err
	}
	c.readGen++
	c.inMsg = true
	c.msgType = MessageType(c.hdr.Opcode)
	c.msgCompr = c.hdr.Rsv&frame.RSV1 != 0
	c.utf8v.Reset()
	return nil
}

// endMessage checks a message whose last payload byte was read.
func (c *Conn) endMessage() error {
	c.inMsg = false
	if c.rpos == c.rend && !c.lastFull {
		// Nothing more is waiting: give the pooled buffer back before
		// the connection goes idle.
		c.releaseReadBuf()
	}
	// RFC 6455 §8.1: a text message must be valid UTF-8 as a whole; a
	// code point cut off at its end is invalid.
	if c.msgType == Text && !c.msgCompr && !c.utf8v.Complete() {
		return c.fail(closecode.InvalidPayload, "invalid UTF-8", errInvalidUTF8)
	}
	return nil
}

// discardMessage reads and drops the rest of the current message.
func (c *Conn) discardMessage() error {
	if c.msgCompr {
		// The inflated message feeds the context-takeover history.
		_, err := c.readCompressed(nil)
		if err == nil {
			c.endMessage()
		}
		return err
	}
	for {
		if err := c.discardPayload(); err != nil {
			return err
		}
		if c.hdr.Fin {
			return c.endMessage()
		}
		if err := c.nextDataFrame(); err != nil {
			return err
		}
	}
}

// discardPayload reads and drops the rest of the current frame's payload,
// still validating text.
func (c *Conn) discardPayload() error {
	var scratch [512]byte
	for c.p.Remaining() > 0 {
		n := int(min(c.p.Remaining(), int64(len(scratch))))
		if err := c.readPayload(scratch[:n]); err != nil {
			return err
		}
	}
	return nil
}

// nextDataFrame reads frames until a data frame's header, handling the
// control frames on the way.
func (c *Conn) nextDataFrame() error {
	for {
		if err := c.readHeader(); err != nil {
			return err
		}
		if err := c.checkRSV(); err != nil {
			return err
		}
		if !c.hdr.Opcode.IsControl() {
			return nil
		}
		if err := c.handleControl(); err != nil {
			return err
		}
	}
}

// readHeader feeds buffered input to the parser until it completes a header.
func (c *Conn) readHeader() error {
	for {
		if c.rpos < c.rend {
			ev, n, err := c.p.Feed(c.rbuf[c.rpos:c.rend])
			c.rpos += n
			if err != nil {
				code, _ := closecode.Of(err)
				return c.fail(code, "", err)
			}
			if ev.Kind == frame.HeaderEvent {
				c.hdr = c.p.Header()
				return nil
			}
			continue
		}
		if err := c.fill(); err != nil {
			return c.readFailed(err)
		}
	}
}

// fill reads more input into the buffer, which is empty when it is called.
// An idle connection reads into the small inline buffer and holds no pooled
// one; a pooled buffer is taken when a read filled the small one, and given
// back once a read no longer fills it.
func (c *Conn) fill() error {
	c.rpos, c.rend = 0, 0
	if c.raw != nil {
		return c.fillRaw()
	}
	if c.lastFull {
		if c.rpooled == nil {
			c.rpooled = readBufPool.Get().(*[]byte)
			c.rbuf = *c.rpooled
		}
	} else {
		if c.rpooled != nil {
			readBufPool.Put(c.rpooled)
			c.rpooled = nil
		}
		c.rbuf = c.idleBuf()
	}
	for {
		n, err := c.nc.Read(c.rbuf)
		c.rend = n
		c.lastFull = n == len(c.rbuf)
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// fillRaw is fill on a socket: the poller waits for readability, and the
// read goes into a pooled buffer taken only then (rawRead), large enough
// for a whole small message with its header. Errors look like those of
// the net.Conn's Read.
func (c *Conn) fillRaw() error {
	c.rawN, c.rawErrno = 0, 0
	if err := c.raw.Read(c.rawFn); err != nil {
		if oe, ok := err.(*net.OpError); ok {
			oe.Op = "read"
		}
		return err
	}
	if c.rawErrno != 0 {
		return &net.OpError{Op: "read", Net: c.nc.LocalAddr().Network(), Source: c.nc.LocalAddr(),
			Addr: c.nc.RemoteAddr(), Err: os.NewSyscallError("read", c.rawErrno)}
	}
	if c.rawN == 0 {
		return io.EOF
	}
	c.rend = c.rawN
	c.lastFull = c.rawN == len(c.rbuf)
	return nil
}

// readPayload reads the next len(dst) payload bytes of the current frame into
// dst, unmasks them and validates text. Large reads go straight from the
// network into dst.
func (c *Conn) readPayload(dst []byte) error {
	for len(dst) > 0 {
		var n int
		if c.rpos < c.rend {
			n = copy(dst, c.rbuf[c.rpos:c.rend])
			c.rpos += n
		} else if len(dst) >= directThreshold {
			var err error
			n, err = c.nc.Read(dst)
			if n == 0 {
				if err == nil {
					continue
				}
				return c.readFailed(err)
			}
		} else {
			if err := c.fill(); err != nil {
				return c.readFailed(err)
			}
			continue
		}
		pos, _ := c.p.Consume(n)
		if c.hdr.Masked {
			mask.Apply(c.hdr.Key, pos, dst[:n])
		}
		// RFC 6455 §8.1: fail fast on invalid UTF-8, frame by frame.
		if c.inMsg && c.msgType == Text && !c.msgCompr && !c.hdr.Opcode.IsControl() && !c.utf8v.Write(dst[:n]) {
			return c.fail(closecode.InvalidPayload, "invalid UTF-8", errInvalidUTF8)
		}
		dst = dst[n:]
	}
	return nil
}

// readFailed records an I/O error: the stream position is lost, so the
// connection is closed and the error sticks.
func (c *Conn) readFailed(err error) error {
	if c.readErr != nil {
		return c.readErr
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if ce := c.peerClose.Load(); ce != nil {
		// The close handshake already finished; report it as such.
		err = ce
	} else {
		if cause := c.abortCause.Load(); cause != nil {
			err = *cause // this side gave up on the connection
		}
		err = &closeErrorAbnormal{err}
	}
	c.readErr = err
	c.releaseReadBuf()
	c.closeTransport()
	return err
}

// closeErrorAbnormal reports a connection that ended without a close frame
// (close code 1006, RFC 6455 §7.1.5).
type closeErrorAbnormal struct{ err error }

func (e *closeErrorAbnormal) Error() string {
	return "ws: connection closed abnormally (1006): " + e.err.Error()
}
func (e *closeErrorAbnormal) Unwrap() error     { return e.err }
func (e *closeErrorAbnormal) CloseCode() uint16 { return uint16(closecode.Abnormal) }

func (c *Conn) releaseReadBuf() {
	if c.rpooled != nil {
		readBufPool.Put(c.rpooled)
		c.rpooled = nil
	}
	c.rbuf = c.idleBuf()
	c.rpos, c.rend = 0, 0
}

// ctrlBufPool holds the buffers control frame payloads are read into.
var ctrlBufPool = sync.Pool{New: func() any { return new([frame.MaxControlPayload]byte) }}

// handleControl reads a control frame's payload and acts on it (RFC 6455
// §5.5).
func (c *Conn) handleControl() error {
	// The payload buffer is pooled rather than part of the Conn: control
	// frames are rare, and an idle connection should not carry it.
	buf := ctrlBufPool.Get().(*[frame.MaxControlPayload]byte)
	defer ctrlBufPool.Put(buf)
	payload := buf[:c.hdr.Length]
	if err := c.readPayload(payload); err != nil {
		return err
	}
	switch c.hdr.Opcode {
	case frame.OpPing:
		// RFC 6455 §5.5.2, §5.5.3: answer a ping with a pong carrying the
		// same payload, unless a close frame was already sent.
		// The pong is bounded by the read's own context, so that a
		// cancelled read does not stay blocked behind a stuck writer.
		ctx := c.rctx
		if ctx == nil {
			ctx = context.Background()
		}
		if err := c.writeControl(ctx, frame.OpPong, payload); err != nil && !errors.Is(err, ErrClosed) {
			return c.readFailed(err)
		}
		if c.hooks.OnPing != nil {
			c.runHook(c.hooks.OnPing, payload)
		}
		if c.opts.OnPing != nil {
			c.runHook(c.opts.OnPing, payload)
		}
	case frame.OpPong:
		// RFC 6455 §5.5.3: an unsolicited pong needs no answer.
		c.gotPong(payload)
		if c.hooks.OnPong != nil {
			c.runHook(c.hooks.OnPong, payload)
		}
		if c.opts.OnPong != nil {
			c.runHook(c.opts.OnPong, payload)
		}
	case frame.OpClose:
		return c.gotClose(payload)
	}
	return nil
}
