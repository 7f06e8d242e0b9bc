//go:build !js

package ws

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/frame"
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
	p, err := closecode.Append(payload[:0], code, reason)
	if err != nil {
		return err
	}
	if c.State() == StateClosed && c.frameSem.tryLock() {
		// The TCP connection is gone (closed after the close handshake,
		// reset by the peer, or CloseNow): no frame can go out and there
		// is nothing to wait for, so no timer is started. A server
		// closing its connections after a reset storm pays nothing more.
		sent := c.closeSent
		c.frameSem.unlock()
		if sent {
			return nil
		}
		return ErrClosed
	}
	deadline := time.Now().Add(c.opts.CloseTimeout)
	err = c.sendClose(p, deadline)
	switch {
	case err == errCloseSent:
		// Someone else is closing: wait for them to finish, unless
		// this is the reading goroutine, which has to finish it.
		if c.inCallback() {
			return nil
		}
		select {
		case <-c.closed:
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
			if c.peerClose.Load() == nil {
				c.closeTransport()
			}
		})
		return nil
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if c.readSem.lock(ctx, c.closed) == nil {
		// Nobody is reading: wait for the peer's close here.
		err = c.awaitPeerClose(deadline)
		c.readSem.unlock()
		return err
	}
	// A reader is handling the close, or the deadline passed.
	select {
	case <-c.closed:
	case <-ctx.Done():
		c.closeTransport()
	}
	if c.peerClose.Load() != nil {
		return nil
	}
	return ErrCloseTimeout
}

// awaitPeerClose reads until the peer's close frame, keeping the data
// messages for later reads; readSem must be held.
func (c *Conn) awaitPeerClose(deadline time.Time) error {
	if c.readErr == nil {
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
		for c.readErr == nil {
			typ, msg, err := c.readMessage(nil)
			if err != nil {
				break
			}
			if c.pending == nil {
				c.pending = new(pendingQueue)
			}
			// Once one message does not fit, none after it is kept,
			// so what the application reads has no hole in it.
			if q := c.pending; !full && q.n+int64(len(msg)) <= limit {
				q.msgs = append(q.msgs, pendingMessage{typ, msg})
				q.n += int64(len(msg))
			} else {
				full = true
			}
		}
	}
	c.closeTransport()
	if c.peerClose.Load() != nil {
		return nil
	}
	var fe *failError
	if errors.As(c.readErr, &fe) {
		return c.readErr
	}
	return ErrCloseTimeout
}

// sendClose writes a close frame with the encoded payload p unless one was
// sent already, waiting no later than deadline for the writer.
func (c *Conn) sendClose(p []byte, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := c.acquire(ctx, &c.frameSem); err != nil {
		return err
	}
	defer c.frameSem.unlock()
	if c.closeSent {
		return errCloseSent
	}
	c.closeSent = true
	c.setState(StateClosing)
	if c.writeErr != nil {
		return c.writeErr
	}
	c.nc.SetWriteDeadline(deadline)
	err := c.writeFrameLocked(true, 0, frame.OpClose, p)
	c.dlMu.Lock()
	c.nc.SetWriteDeadline(c.writeDeadline)
	// RFC 6455 §7.1.1: once the close frame is out, the peer has
	// CloseTimeout to answer; a reader does not wait longer than that.
	c.closeBy = deadline
	if c.readDeadline.IsZero() || deadline.Before(c.readDeadline) {
		c.readDeadline = deadline
		c.nc.SetReadDeadline(deadline)
	}
	c.dlMu.Unlock()
	if err != nil {
		c.writeErr = err
	}
	return err
}

// gotClose handles the peer's close frame (RFC 6455 §5.5.1, §7.1.5): it
// validates it, echoes it if this side had not sent a close yet, finishes
// the TCP close, and ends reads with a *CloseError.
func (c *Conn) gotClose(payload []byte) error {
	code, reason, err := closecode.Parse(payload)
	if err != nil {
		cc, _ := closecode.Of(err)
		return c.fail(cc, "", err)
	}
	ce := &CloseError{Code: code, Reason: reason}
	c.peerClose.Store(ce)
	c.setState(StateClosing)
	// RFC 6455 §5.5.1: an endpoint that receives a close frame and has not
	// sent one sends one in response, typically echoing the status code.
	// A close without a status is answered with 1000.
	echo := code
	if code == closecode.NoStatus {
		echo = closecode.Normal
	}
	var buf [2]byte
	p, _ := closecode.Append(buf[:0], echo, "")
	c.sendClose(p, time.Now().Add(c.opts.CloseTimeout))
	c.readErr = ce
	c.finishClose()
	return ce
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

// fail fails the connection (RFC 6455 §7.1.7): it sends a close frame with
// code, half-closes TCP and drains the input until the peer closes (so that
// the close frame is not lost to a reset), bounded by CloseTimeout, then
// closes. Reads return the error from then on.
func (c *Conn) fail(code CloseCode, reason string, cause error) error {
	if c.readErr != nil {
		return c.readErr
	}
	if code == 0 {
		code = closecode.ProtocolError
	}
	err := &failError{code: code, cause: cause}
	c.readErr = err
	if reason == "" {
		reason = closeReason(cause)
	}
	var buf [frame.MaxControlPayload]byte
	p, perr := closecode.Append(buf[:0], code, reason)
	if perr != nil {
		p, _ = closecode.Append(buf[:0], code, "")
	}
	deadline := time.Now().Add(c.opts.CloseTimeout)
	if c.sendClose(p, deadline) == nil {
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}
	c.drain(deadline)
	c.releaseReadBuf()
	c.closeTransport()
	return err
}

// closeReason derives a short close reason from an error: its text without
// the package prefix, cut to fit a close frame.
func closeReason(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "websocket: ")
	if i := strings.Index(s, " (RFC"); i > 0 {
		s = s[:i]
	}
	if len(s) > closecode.MaxReasonLen {
		s = strings.ToValidUTF8(s[:closecode.MaxReasonLen], "")
	}
	return s
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
		err = c.endMessage()
	}
	if c.pending == nil {
		c.pending = new(pendingQueue)
	}
	q := c.pending
	q.tail, q.tailGen, q.hasTail, q.tailEnd = tail, c.readGen, true, err == nil
	q.n += int64(len(tail))
}

// readTail serves the reader of the message numbered gen from the tail
// Close kept for it: ok is false when there is none. At the tail's end it
// returns io.EOF, or the read error if the tail did not reach the
// message's end. readSem must be held.
func (c *Conn) readTail(gen uint64, p []byte) (n int, ok bool, err error) {
	q := c.pending
	if q == nil || !q.hasTail || q.tailGen != gen {
		return 0, false, nil
	}
	if len(q.tail) == 0 {
		q.hasTail, q.tail = false, nil
		if !q.tailEnd {
			return 0, true, c.readErr
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
	q := c.pending
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
