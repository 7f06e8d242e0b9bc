//go:build !js

package ws

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/internal/grow"
	"github.com/rfc6455/ws/internal/rawio"
	"github.com/rfc6455/ws/wsproto"
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
	if x := c.ext.Load(); x != nil && (x.readErr != nil || x.pending != nil) || ctx.Done() != nil || c.hasReadHooks() {
		return c.readMessageMore(ctx, buf[:0])
	}
	// The common case, kept shallow (see readMessage): no context to
	// watch, nothing set aside by Close, no callback to run. No code but
	// this package's runs until readSem is let go, so it needs no defer
	// (whose result slots would deepen this frame). ctx cannot end: the
	// pongs the read sends need not know it (setReadCtx).
	buf = buf[:0]
	var typ MessageType
	var err error
	if c.rpos == c.rend && !c.inMsg {
		// The wait for the next message, here at the top.
		if err = c.fill(); err != nil {
			err = c.readFailed(err)
		}
	}
	if err == nil {
		typ, buf, err = c.readMessage(buf)
	}
	c.readSem.unlock()
	return typ, buf, err
}

// hasReadHooks reports whether a callback may run on the read path.
func (c *Conn) hasReadHooks() bool {
	return c.opts.OnPing != nil || c.opts.OnPong != nil || c.hooks != nil
}

// readMessageMore is ReadMessage with messages set aside by Close, a
// sticky error, a context that can end, or callbacks; it lets go of
// readSem, which is held, when it returns.
//
//go:noinline
func (c *Conn) readMessageMore(ctx context.Context, buf []byte) (MessageType, []byte, error) {
	defer c.readSem.unlock()
	if typ, msg, ok := c.popPending(buf); ok {
		return typ, msg, nil
	}
	if c.readError() != nil {
		return 0, buf, c.readError()
	}
	if err := ctx.Err(); err != nil {
		// Nothing was read: the connection stays as it was.
		return 0, buf, err
	}
	w := c.watch(ctx, false)
	c.setReadCtx(ctx)
	typ, buf, err := c.readMessage(buf)
	c.clearReadCtx()
	err = c.stopWatch(ctx, w, err)
	return typ, buf, err
}

// readMessage reads one whole message; readSem must be held.
//
// It is near the top of the read path of a goroutine per connection,
// whose stack should stay at the 2 KiB a goroutine starts with (the
// runtime lets a goroutine use about 1,100 bytes of it, and never shrinks
// a grown stack parked in a read): so the wait for the next message's
// first bytes happens above it, in ReadMessage, and the frames below are
// kept small, the rare steps in calls of their own.
func (c *Conn) readMessage(buf []byte) (MessageType, []byte, error) {
	if err := c.beginMessage(); err != nil {
		return 0, buf, err
	}
	typ := c.msgType
	if c.msgCompr {
		return c.readCompressedMessage(buf)
	}
	if c.final {
		// The whole message came in one read (a frame of its own): it
		// is copied here, where allocating its buffer (the runtime's
		// allocator, maybe a GC assist) cannot take the goroutine past
		// its stack.
		p := c.takeChunk()
		if cap(buf)-len(buf) < len(p) {
			buf = append(make([]byte, 0, len(buf)+len(p)), buf...)
		}
		buf = append(buf, p...)
		c.endMessage()
		return typ, buf, nil
	}
	start, capBefore := len(buf), cap(buf)
	buf, err := c.appendFrames(buf)
	if err != nil {
		return 0, buf[:0], err
	}
	c.endMessage()
	return typ, trimMessage(buf, start, capBefore), nil
}

// readCompressedMessage reads the rest of a compressed message whose
// start was read.
//
//go:noinline
func (c *Conn) readCompressedMessage(buf []byte) (MessageType, []byte, error) {
	typ := c.msgType
	out, err := c.readCompressed(buf, c.takeChunk())
	if err != nil {
		return 0, buf[:0], err
	}
	c.endMessage()
	return typ, out, nil
}

// appendFrames appends the rest of the current (uncompressed) message to
// buf: the chunk the core reported and the application has not taken,
// then what arrives, handling the control frames between its fragments.
// A payload longer than directThreshold that is not buffered yet is read
// straight from the network into buf, and the core unmasks and checks it
// there.
func (c *Conn) appendFrames(buf []byte) ([]byte, error) {
	start := len(buf)
	for {
		if c.chunkN > 0 {
			if need := int(c.chunkN); cap(buf)-len(buf) < need {
				// Grown here rather than in appendChunk: one frame
				// less above the allocator.
				buf = c.growMessage(buf, start, int64(need)+c.rx.DataRemaining())
			}
			buf = c.appendChunk(buf, start)
		}
		if c.final {
			return buf, nil
		}
		if c.rpos == c.rend && c.rx.DataRemaining() >= directThreshold {
			var err error
			if buf, err = c.appendDirect(buf, start); err != nil {
				return buf, err
			}
			continue
		}
		if err := c.nextData(); err != nil {
			return buf, err
		}
	}
}

// appendChunk appends the pending chunk to buf, a message that starts at
// buf[start], growing it as needed.
func (c *Conn) appendChunk(buf []byte, start int) []byte {
	for p := c.takeChunk(); len(p) > 0; {
		if len(buf) == cap(buf) {
			buf = c.growMessage(buf, start, int64(len(p))+c.rx.DataRemaining())
		}
		n := min(len(p), cap(buf)-len(buf))
		buf = append(buf, p[:n]...)
		p = p[n:]
	}
	return buf
}

// appendDirect reads payload of the current frame, at least
// directThreshold bytes of which are still to come and none buffered,
// straight from the network into buf when it has room for directThreshold
// bytes or more (after growing it), or else into the read buffer as the
// pending chunk.
//
//go:noinline
func (c *Conn) appendDirect(buf []byte, start int) ([]byte, error) {
	rem := c.rx.DataRemaining()
	if len(buf) == cap(buf) {
		buf = c.growMessage(buf, start, rem)
	}
	room := int(min(rem, int64(cap(buf)-len(buf))))
	if room < directThreshold {
		return buf, c.nextData()
	}
	at := len(buf)
	n, err := c.readDirect(buf[at : at+room])
	if err != nil {
		return buf, err
	}
	if err := c.directPayload(buf[at : at+n]); err != nil {
		return buf[:at], err
	}
	return buf[:at+n], nil
}

// directPayload hands the core p, payload of the current data frame that
// readDirect read into its destination, to unmask and check there.
//
//go:noinline
func (c *Conn) directPayload(p []byte) error {
	ev := c.rx.Payload(p)
	if ev.Kind == wsproto.Failed {
		return c.failed(ev)
	}
	c.final = ev.Final
	return nil
}

// setChunk records the payload of ev, a Data event the core just reported,
// as the pending chunk. The core reports a Data event's payload where it
// is, as the last bytes it consumed: it ends at rpos.
func (c *Conn) setChunk(ev *wsproto.Event) {
	c.chunkAt = int32(c.rpos - len(ev.Payload))
	c.chunkN = int32(len(ev.Payload))
	c.final = ev.Final
}

// takeChunk returns the pending chunk and forgets it.
func (c *Conn) takeChunk() []byte {
	p := c.rbuf[c.chunkAt : c.chunkAt+c.chunkN]
	c.chunkN = 0
	return p
}

// readDirect reads payload from the network straight into dst, whose
// length the core allowed (DataRemaining); the read buffer is empty.
func (c *Conn) readDirect(dst []byte) (int, error) {
	if c.raw != nil {
		// On a socket the read is rawRead's, into dst (see fill).
		rbuf, rpos, rend, lastFull := c.rbuf, c.rpos, c.rend, c.lastFull
		c.rbuf, c.rawDirect = dst, true
		err := c.fill()
		c.rbuf, c.rpos, c.rend, c.lastFull, c.rawDirect = rbuf, rpos, rend, lastFull, false
		if err != nil {
			return 0, c.readFailed(err)
		}
		return c.rawN, nil
	}
	for {
		n, err := c.nc.Read(dst)
		if n > 0 {
			return n, nil
		}
		if err != nil {
			return 0, c.readFailed(err)
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
	if c.rx.Header().Fin {
		most = rem // the message ends with this frame
	} else if lim := c.rx.MessageLimit(); lim > 0 {
		most = max(lim-n, rem)
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
// the first frame of the next one: the core's Start event, whose payload,
// if any, becomes the pending chunk.
func (c *Conn) beginMessage() error {
	if c.inMsg {
		if err := c.discardMessage(); err != nil {
			return err
		}
	}
	c.rx.SetReadLimit(c.readLim.Load())
	if err := c.nextData(); err != nil {
		return err
	}
	c.readGen++
	c.inMsg = true
	c.msgType = MessageType(c.rx.MessageType())
	c.msgCompr = c.rx.MessageCompressed()
	return nil
}

// endMessage ends a message whose last payload byte was taken.
func (c *Conn) endMessage() {
	c.inMsg = false
	if c.rpos == c.rend && !c.lastFull {
		// Nothing more is waiting: give the pooled buffer back before
		// the connection goes idle.
		c.releaseReadBuf()
	}
}

// discardMessage reads and drops the rest of the current message.
func (c *Conn) discardMessage() error {
	if c.msgCompr {
		// The inflated message feeds the context-takeover history.
		_, err := c.readCompressed(nil, c.takeChunk())
		if err == nil {
			c.endMessage()
		}
		return err
	}
	for {
		c.chunkN = 0
		if c.final {
			c.endMessage()
			return nil
		}
		if err := c.nextData(); err != nil {
			return err
		}
	}
}

// nextData feeds buffered input to the core, reading more when it is
// consumed, until the core reports data (a Data event), which becomes the
// pending chunk (setChunk), and acts on the control frames and failures it
// reports on the way. The core fills the Event in place (no Event copied
// per call): c.ev, not a local, which would make this frame, at the
// bottom of the read path, 72 bytes deeper. Its payload, which points into
// the read buffer, is dropped once used: an idle connection must not keep
// a pooled buffer alive.
func (c *Conn) nextData() error {
	ev := &c.ev
	for {
		if c.rpos == c.rend {
			if c.readError() != nil {
				return c.readError()
			}
			if err := c.fill(); err != nil {
				return c.readFailed(err)
			}
		}
		c.rpos += c.rx.FeedEvent(ev, c.rbuf[c.rpos:c.rend])
		switch ev.Kind {
		case wsproto.None:
		case wsproto.Data:
			c.setChunk(ev)
			ev.Payload = nil
			return nil
		case wsproto.Ping:
			err := c.gotPing(ev.Payload)
			ev.Payload = nil
			if err != nil {
				return err
			}
		default:
			err := c.handleEvent(ev)
			*ev = wsproto.Event{}
			if err != nil {
				return err
			}
		}
	}
}

// fill reads more input into the buffer, which is empty when it is called.
// On a socket the poller waits for readability, and the read goes into a
// pooled buffer taken only then, large enough for a whole small message
// with its header (rawRead): an idle connection holds no buffer. Errors
// look like those of the net.Conn's Read. Other connections read with
// fillConn.
//
// rawRead runs at the bottom of the read path, so it takes and gives back
// buffers only where that cannot allocate (readBufSlots): a pool that
// has to allocate (and the allocation's GC assist, or the start of a GC)
// would take the goroutine past the 2 KiB stack it starts with, for good.
// When it cannot, it returns, and the pool is used here.
func (c *Conn) fill() error {
	c.rpos, c.rend = 0, 0
	if c.raw == nil {
		return c.fillConn()
	}
	for {
		c.rawN, c.rawErrno, c.rawNeed, c.rawAgain = 0, 0, false, false
		if err := c.raw.Read(c.rawFn); err != nil {
			return rawio.OpError(err, "read")
		}
		switch {
		case c.rawNeed:
			c.rpooled = readBufPool.Get().(*[]byte)
			c.rbuf = *c.rpooled
			continue
		case c.rawAgain:
			readBufPool.Put(c.rpooled)
			c.rpooled, c.rbuf = nil, nil
			continue
		case c.rawErrno != 0:
			// The error is made by readFailed, which every caller
			// hands it to, from c.rawErrno (see errnoEnd).
			return errReadErrno
		case c.rawN == 0:
			return io.EOF
		}
		c.rend = c.rawN
		c.lastFull = c.rawN == len(c.rbuf)
		return nil
	}
}

// fillConn is fill on a connection that is not a socket: an idle
// connection reads into the small inline buffer and holds no pooled one;
// a pooled buffer is taken when a read filled the small one, and given
// back once a read no longer fills it.
func (c *Conn) fillConn() error {
	if c.lastFull {
		if c.rpooled == nil {
			c.rpooled = getReadBuf()
			c.rbuf = *c.rpooled
		}
	} else {
		if c.rpooled != nil {
			putReadBuf(c.rpooled)
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

// errnoError is the error of the system call op that failed with errno,
// as the net.Conn reports it.
//
//go:noinline
func (c *Conn) errnoError(op string, errno syscall.Errno) error {
	return rawio.ErrnoError(op, errno, c.nc.LocalAddr(), c.nc.RemoteAddr())
}

// readFailed records an I/O error: the stream position is lost, so the
// connection is closed and the error sticks.
func (c *Conn) readFailed(err error) error {
	if c.readError() != nil {
		return c.readError()
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if ce := c.peerCloseErr(); ce != nil {
		// The close handshake already finished; report it as such.
		err = ce
	} else if x := c.ext.Load(); x != nil && x.abortCause.Load() != nil {
		// This side gave up on the connection.
		err = &closeErrorAbnormal{*x.abortCause.Load()}
	} else if err == errReadErrno {
		err = c.readErrnoEnd()
	} else {
		err = &closeErrorAbnormal{err}
	}
	c.extra().readErr = err
	c.releaseReadBuf()
	c.closeTransport()
	return err
}

// errReadErrno is what fill returns when read(2) on the socket failed
// with c.rawErrno: readFailed, which fill's callers hand it to at once,
// makes the error from it (readErrnoEnd). It never reaches the
// application.
var errReadErrno = errors.New("ws: read failed (errno in Conn.rawErrno)")

// errnoEnd is what a connection whose read(2) failed (a reset, as a
// client's that goes away) needs, in one allocation rather than four: the
// error reads return from now on — the *net.OpError and *os.SyscallError
// that the net.Conn's Read returns, wrapped in closeErrorAbnormal — and
// the Conn's connExt, where it is kept, if the Conn has none yet.
type errnoEnd struct {
	abn closeErrorAbnormal
	op  net.OpError
	sc  os.SyscallError
	x   connExt
}

// readErrnoEnd returns the error of the read that failed with
// c.rawErrno, as readFailed reports it: 1006 wrapping the net.Conn's
// error. readSem must be held.
//
//go:noinline
func (c *Conn) readErrnoEnd() error {
	e := new(errnoEnd)
	rawio.FillErrnoError(&e.op, &e.sc, "read", syscall.Errno(c.rawErrno), c.nc.LocalAddr(), c.nc.RemoteAddr())
	e.abn.err = &e.op
	// A connExt made meanwhile (by a Close on another goroutine) wins;
	// e.x is then unused.
	c.ext.CompareAndSwap(nil, &e.x)
	return &e.abn
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
		putReadBuf(c.rpooled)
		c.rpooled = nil
	}
	c.rbuf = c.idleBuf()
	c.rpos, c.rend = 0, 0
	c.chunkN = 0
	c.rx.Release()
}

// handleEvent acts on what the core reported besides data (RFC 6455 §5.5):
// a ping is answered with the pong the core makes and handed to the
// callbacks, a pong wakes Ping and the callbacks, the peer's close ends the
// connection, and a broken rule fails it.
func (c *Conn) handleEvent(ev *wsproto.Event) error {
	switch ev.Kind {
	case wsproto.Ping:
		return c.gotPing(ev.Payload)
	case wsproto.Pong:
		c.gotPongEvent(ev)
	case wsproto.Close:
		return c.gotCloseEvent(ev)
	case wsproto.Failed:
		return c.failedEvent(ev)
	}
	return nil
}

// gotPing answers a ping whose payload is ping with the pong the core
// makes and hands it to the callbacks.
//
//go:noinline
func (c *Conn) gotPing(ping []byte) error {
	// The pong is bounded by the read's own context, so that a cancelled
	// read does not stay blocked behind a stuck writer.
	ctx := context.Background()
	if x := c.ext.Load(); x != nil && x.rctx != nil {
		ctx = x.rctx
	}
	if err := c.writePong(ctx, ping); err != nil && !errors.Is(err, ErrClosed) {
		return c.readFailed(err)
	}
	if c.hooks != nil && c.hooks.OnPing != nil || c.opts.OnPing != nil {
		c.pingHooks(ping)
	}
	return nil
}

// pingHooks runs the callbacks of a ping.
//
//go:noinline
func (c *Conn) pingHooks(payload []byte) {
	if c.hooks != nil && c.hooks.OnPing != nil {
		c.runHook(c.hooks.OnPing, payload)
	}
	if c.opts.OnPing != nil {
		c.runHook(c.opts.OnPing, payload)
	}
}

// gotPongEvent wakes Ping and hands the pong to the callbacks.
//
//go:noinline
func (c *Conn) gotPongEvent(ev *wsproto.Event) {
	c.gotPong(ev.Payload)
	if c.hooks != nil && c.hooks.OnPong != nil {
		c.runHook(c.hooks.OnPong, ev.Payload)
	}
	if c.opts.OnPong != nil {
		c.runHook(c.opts.OnPong, ev.Payload)
	}
}

//go:noinline
func (c *Conn) gotCloseEvent(ev *wsproto.Event) error { return c.gotClose(*ev) }

//go:noinline
func (c *Conn) failedEvent(ev *wsproto.Event) error { return c.failed(*ev) }
