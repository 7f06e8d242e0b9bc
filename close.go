//go:build !js

package ws

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/wsproto"
)

// errCloseSent is returned internally when a close frame was already sent.
var errCloseSent = errors.New("ws: close frame already sent")

// Close starts the close handshake (RFC 6455 §7.1.2): it sends a close frame
// with code and reason, waits up to Options.CloseTimeout for the peer's close
// frame, then closes the TCP connection (a client gives the server the
// chance to close it first, §7.1.1). It returns nil when the peer answered in
// time.
//
// If another goroutine is reading, that reader receives the peer's close and
// returns a *CloseError. Otherwise Close reads until the peer's close
// itself, and keeps the data messages that arrive before it, so that later
// reads still return them, then the *CloseError; the rest of a message a
// NextReader reader was streaming is kept for that reader. What it keeps is
// bounded by the read limit (32 MiB when there is none); messages past that
// bound are dropped, the only ones a Close can lose.
//
// Called from a callback that runs on the reading goroutine (a Handler's,
// Options.OnPing or Options.OnPong), Close sends the close frame and returns
// nil at once: that goroutine reads the peer's answer once the callback
// returns. If the callback still runs at the deadline, TCP is closed then.
//
// A code of 0 sends a close frame with no status; codes that must not be
// sent (1005, 1006, 1015, reserved ranges) and reasons over 123 bytes or not
// valid UTF-8 are rejected before anything is sent. Calling Close again, or while the peer's close is being handled,
// waits for the connection to end.
func (c *Conn) Close(code CloseCode, reason string) error {
	var payload [frame.MaxControlPayload]byte
	if _, err := closecode.Append(payload[:0], code, reason); err != nil {
		return err
	}
	if c.State() == StateClosed && c.frameSem.tryLock() {
		// The TCP connection is gone (closed after the close handshake,
		// reset by the peer, or CloseNow): no frame can go out and there
		// is nothing to wait for, so no timer is started. A server
		// closing its connections after a reset storm pays nothing more.
		sent := c.tx.CloseSent()
		c.frameSem.unlock()
		if sent {
			return nil
		}
		return ErrClosed
	}
	deadline := time.Now().Add(c.opts.CloseTimeout)
	err := c.sendClose(wsproto.Event{Code: code, Reason: reason}, deadline)
	switch {
	case err == errCloseSent:
		// Someone else is closing: wait for them to finish, unless
		// this is the reading goroutine, which has to finish it.
		if c.inCallback() {
			return nil
		}
		select {
		case <-c.done():
		case <-time.After(time.Until(deadline)):
			c.closeTransport()
		}
		return nil
	case err != nil:
		c.closeTransport()
		return err
	}
	c.setState(StateClosing)
	if c.inCallback() {
		// Called from a callback on the goroutine that reads: that
		// goroutine finishes the handshake after the callback returns.
		// Should the callback still run at the deadline, the TCP
		// connection is closed then.
		time.AfterFunc(time.Until(deadline), func() {
			if c.peerCloseErr() == nil {
				c.closeTransport()
			}
		})
		return nil
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if c.readSem.tryLock() || c.readSem.lockSlow(ctx, c.done()) == nil {
		// Nobody is reading: wait for the peer's close here.
		err = c.awaitPeerClose(deadline)
		c.readSem.unlock()
		return err
	}
	// A reader is handling the close, or the deadline passed.
	select {
	case <-c.done():
	case <-ctx.Done():
		c.closeTransport()
	}
	if c.peerCloseErr() != nil {
		return nil
	}
	return ErrCloseTimeout
}

// awaitPeerClose reads until the peer's close frame, keeping the data
// messages for later reads; readSem must be held.
func (c *Conn) awaitPeerClose(deadline time.Time) error {
	if c.readError() == nil {
		c.nc.SetReadDeadline(deadline)
		limit := c.readLim.Load()
		if limit <= 0 {
			limit = DefaultReadLimit
		}
		full := false
		if c.inMsg && !c.msgCompr {
			// A reader from NextReader is streaming a message: its
			// rest is kept for it, not discarded.
			c.keepTail()
		}
		for c.readError() == nil {
			typ, msg, err := c.readMessage(nil)
			if err != nil {
				break
			}
			x := c.extra()
			if x.pending == nil {
				x.pending = new(pendingQueue)
			}
			// Once one message does not fit, none after it is kept,
			// so what the application reads has no hole in it.
			if q := x.pending; !full && q.n+int64(len(msg)) <= limit {
				q.msgs = append(q.msgs, pendingMessage{typ, msg})
				q.n += int64(len(msg))
			} else {
				full = true
			}
		}
	}
	c.closeTransport()
	if c.peerCloseErr() != nil {
		return nil
	}
	var fe *failError
	if errors.As(c.readError(), &fe) {
		return c.readError()
	}
	return ErrCloseTimeout
}

// sendClose writes a close frame unless one was sent already, waiting no
// later than deadline for the writer. The frame is the answer the core
// gives to ev (the echo of the peer's close, or the close that fails the
// connection) or, when ev's Kind is None, this side's close with ev's Code
// and Reason.
func (c *Conn) sendClose(ev wsproto.Event, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := c.acquire(ctx, &c.frameSem); err != nil {
		return err
	}
	defer c.frameSem.unlock()
	if c.tx.CloseSent() {
		return errCloseSent
	}
	c.setState(StateClosing)
	if c.writeError() != nil {
		c.tx.MarkCloseSent()
		return c.writeError()
	}
	bp := writeBufPool.Get().(*[]byte)
	var b []byte
	if ev.Kind == wsproto.None {
		b, _ = c.tx.AppendClose((*bp)[:0], ev.Code, ev.Reason)
	} else {
		b = c.tx.AppendReply((*bp)[:0], ev)
	}
	c.tx.MarkCloseSent()
	c.nc.SetWriteDeadline(deadline)
	_, err := c.nc.Write(b)
	writeBufPool.Put(bp)
	x := c.extra()
	x.dlMu.Lock()
	d := x.deadlines()
	c.nc.SetWriteDeadline(d.write)
	// RFC 6455 §7.1.1: once the close frame is out, the peer has
	// CloseTimeout to answer; a reader does not wait longer than that.
	d.closeBy = deadline
	if d.read.IsZero() || deadline.Before(d.read) {
		d.read = deadline
		c.nc.SetReadDeadline(deadline)
	}
	x.dlMu.Unlock()
	if err != nil {
		c.extra().writeErr = err
	}
	return err
}

// gotClose handles the peer's close frame, which the core validated (RFC
// 6455 §5.5.1, §7.1.5): it sends the echo the core makes if this side had
// not sent a close yet, finishes the TCP close, and ends reads with a
// *CloseError.
func (c *Conn) gotClose(ev wsproto.Event) error {
	ce := &CloseError{Code: ev.Code, Reason: ev.Reason}
	c.extra().peerClose.Store(ce)
	c.setState(StateClosing)
	if c.opts.OnPeerClose != nil {
		c.peerCloseHook(ce)
	}
	c.sendClose(ev, time.Now().Add(c.opts.CloseTimeout))
	c.extra().readErr = ce
	c.finishClose()
	return ce
}

// peerCloseHook runs Options.OnPeerClose, marked as a callback (so that a
// Close or Ping it makes does not wait for frames only this goroutine can
// read).
//
//go:noinline
func (c *Conn) peerCloseHook(ce *CloseError) {
	c.runHook(func([]byte) { c.opts.OnPeerClose(ce.Code, ce.Reason) }, nil)
}

// finishClose ends the TCP connection once both close frames were exchanged.
// RFC 6455 §7.1.1: the server closes the TCP connection first; the client
// waits for that, up to CloseTimeout, before closing its side.
func (c *Conn) finishClose() {
	if c.role == RoleClient {
		c.drain(time.Now().Add(c.opts.CloseTimeout))
	}
	c.releaseReadBuf()
	c.closeTransport()
}

// drain reads and drops input until EOF, an error or deadline.
func (c *Conn) drain(deadline time.Time) {
	c.nc.SetReadDeadline(deadline)
	var scratch [smallReadSize]byte
	for {
		if _, err := c.nc.Read(scratch[:]); err != nil {
			return
		}
	}
}

// failed fails the connection for the rule the core found broken (RFC 6455
// §7.1.7): it sends the close frame the core makes for ev (its code and a
// reason naming the rule), half-closes TCP and drains the input until the
// peer closes (so that the close frame is not lost to a reset), bounded by
// CloseTimeout, then closes. Reads return the error from then on.
func (c *Conn) failed(ev wsproto.Event) error {
	if c.readError() != nil {
		return c.readError()
	}
	err := &failError{code: ev.Code, cause: ev.Err}
	c.extra().readErr = err
	deadline := time.Now().Add(c.opts.CloseTimeout)
	if c.sendClose(ev, deadline) == nil {
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}
	c.drain(deadline)
	c.releaseReadBuf()
	c.closeTransport()
	return err
}

// pendingMessage is a message that Close read while waiting for the peer's
// close, kept for the application's next reads.
type pendingMessage struct {
	typ  MessageType
	data []byte
}

// pendingQueue holds the messages Close kept; it is allocated only when
// Close has to read, so that an open connection does not carry it.
type pendingQueue struct {
	msgs []pendingMessage
	n    int64 // bytes in msgs and tail

	// tail is the rest of the message a NextReader reader was streaming
	// when Close read on; that reader gets it before anything else.
	// tailEnd says it reaches the message's end; otherwise the read error
	// follows it.
	tail    []byte
	tailGen uint64 // readGen of the streamed message
	hasTail bool
	tailEnd bool
}

// keepTail reads the rest of the message being streamed into the pending
// queue, for the reader streaming it; readSem must be held.
func (c *Conn) keepTail() {
	tail, err := c.appendFrames(nil)
	if err == nil {
		c.endMessage()
	}
	x := c.extra()
	if x.pending == nil {
		x.pending = new(pendingQueue)
	}
	q := x.pending
	q.tail, q.tailGen, q.hasTail, q.tailEnd = tail, c.readGen, true, err == nil
	q.n += int64(len(tail))
}

// readTail serves the reader of the message numbered gen from the tail
// Close kept for it: ok is false when there is none. At the tail's end it
// returns io.EOF, or the read error if the tail did not reach the
// message's end. readSem must be held.
func (c *Conn) readTail(gen uint64, p []byte) (n int, ok bool, err error) {
	q := c.pendingQueue()
	if q == nil || !q.hasTail || q.tailGen != gen {
		return 0, false, nil
	}
	if len(q.tail) == 0 {
		q.hasTail, q.tail = false, nil
		if !q.tailEnd {
			return 0, true, c.readError()
		}
		return 0, true, io.EOF
	}
	n = copy(p, q.tail)
	q.tail = q.tail[n:]
	q.n -= int64(n)
	return n, true, nil
}

// popPending returns the oldest message Close kept, appended to buf;
// readSem must be held. What is left of a streamed message's tail is
// dropped first: the application asked for the next message.
func (c *Conn) popPending(buf []byte) (MessageType, []byte, bool) {
	q := c.pendingQueue()
	if q == nil {
		return 0, buf, false
	}
	if q.hasTail {
		q.n -= int64(len(q.tail))
		q.tail, q.hasTail = nil, false
		c.readGen++ // its reader is stale now
	}
	if len(q.msgs) == 0 {
		return 0, buf, false
	}
	m := q.msgs[0]
	q.msgs[0] = pendingMessage{}
	q.msgs = q.msgs[1:]
	q.n -= int64(len(m.data))
	c.readGen++
	return m.typ, append(buf, m.data...), true
}
