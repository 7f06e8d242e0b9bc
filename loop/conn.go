package loop

import (
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/rfc6455/ws"
)

// Conn is a WebSocket connection of a Server: a handle for sending to it
// and closing it, whose events go to the Server's Handler. Sending never
// blocks: messages go into the connection's bounded send queue (see
// Policy) and are written as the peer reads them. Its methods are safe for
// concurrent use.
type Conn struct {
	srv    *Server
	lp     *evloop // the event loop serving the connection; nil for the goroutine driver
	g      *gconn  // the goroutine driver's state; nil on the event loop
	policy *Policy

	// buffered is the payload bytes queued and not yet written.
	buffered atomic.Int64

	mu    sync.Mutex
	value any // guarded by mu
	// why is the reason OnClose gets when the server ended the
	// connection (ErrShutdown, ErrPongTimeout, ErrQueueFull); guarded by
	// mu.
	why error

	evconn // the event loop's part, zero for the goroutine driver
}

// SetValue attaches a value to the connection, such as the user an
// Upgrade hook authenticated.
func (c *Conn) SetValue(v any) {
	c.mu.Lock()
	c.value = v
	c.mu.Unlock()
}

// Value returns what SetValue attached, or nil.
func (c *Conn) Value() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value
}

// SetPolicy gives the connection p instead of the Server's Policy. Call it
// from OnOpen (or Upgrade): the heartbeat starts with the policy the
// connection has when OnOpen returns.
func (c *Conn) SetPolicy(p *Policy) {
	c.mu.Lock()
	c.policy = p
	c.mu.Unlock()
}

// Server returns the server the connection belongs to.
func (c *Conn) Server() *Server { return c.srv }

// BufferedAmount returns the payload bytes queued and not yet written to
// the network, like the browser's WebSocket.bufferedAmount.
func (c *Conn) BufferedAmount() int64 { return c.buffered.Load() }

// Queued returns the number of messages queued and not yet written.
func (c *Conn) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.g != nil {
		return c.g.queued
	}
	return c.evQueued()
}

// Send queues a message of type typ (ws.Text or ws.Binary) and returns
// without waiting; data is copied (or written at once) and may be reused
// when Send returns. A text message must be UTF-8: that is the caller's
// promise, as with ws.Conn.WriteMessage. Send returns ErrQueueFull when
// the queue cannot take the message (the connection's Policy.Overflow then
// applies) and ErrClosed once the connection is closing.
func (c *Conn) Send(typ ws.MessageType, data []byte) error {
	if typ != ws.Text && typ != ws.Binary {
		return ws.ErrInvalidMessageType
	}
	if c.g != nil {
		pm, err := ws.NewPreparedMessage(typ, data)
		if err != nil {
			return err
		}
		return c.g.send(c, pm)
	}
	return c.evSend(typ, data, nil)
}

// SendPrepared queues a prepared message, as Send does: the frame it holds
// is written as it is, without being encoded again (with
// permessage-deflate, compressed once per window size and level for all
// the connections that share them; see ws.Conn.WritePrepared).
func (c *Conn) SendPrepared(pm *ws.PreparedMessage) error {
	if pm == nil {
		return ws.ErrInvalidMessageType
	}
	if c.g != nil {
		return c.g.send(c, pm)
	}
	return c.evSend(pm.Type(), pm.Data(), pm)
}

// SendPreparedBatch queues prepared messages, in order, as SendPrepared
// does each, and writes them together: one writev(2) for as many as the
// socket takes, rather than a write per message (for a queue of
// broadcasts that built up for one connection). It stops at the first
// message refused, returning its error; those before it are queued.
func (c *Conn) SendPreparedBatch(pms []*ws.PreparedMessage) error {
	for _, pm := range pms {
		if pm == nil {
			return ws.ErrInvalidMessageType
		}
	}
	if c.g != nil {
		for _, pm := range pms {
			if err := c.g.send(c, pm); err != nil {
				return err
			}
		}
		return nil
	}
	return c.evSendBatch(pms)
}

// PauseReading stops reading the connection's messages until
// ResumeReading: for a Handler that hands them to a bounded queue of its
// own, since OnMessage must not block on the event loop; it pauses when
// the queue is full and resumes when it has room. The messages of the
// input already read may still come (at most one read's worth); the
// peer's next ones wait in the socket's buffers, and TCP's flow control
// then slows the peer down. While paused, the connection's pongs are not
// read either: pause for less than Policy.PongTimeout, or the heartbeat
// closes it. A connection that is closing is read on. Call it from any
// goroutine.
func (c *Conn) PauseReading() {
	if c.g != nil {
		c.g.pause(c)
		return
	}
	c.evPause()
}

// ResumeReading resumes the reading that PauseReading stopped.
func (c *Conn) ResumeReading() {
	if c.g != nil {
		c.g.resume(c)
		return
	}
	c.evResume()
}

// Ping queues a ping with payload (at most 125 bytes; RFC 6455 §5.5). The
// pong goes to the Handler's OnPong, if it has one.
func (c *Conn) Ping(payload []byte) error {
	if len(payload) > 125 {
		return errPingTooLong
	}
	if c.g != nil {
		return c.g.ping(c, payload)
	}
	return c.evPing(payload)
}

// Close starts the closing handshake (RFC 6455 §7): the close frame with
// code and reason is queued behind the messages already queued, messages
// sent after Close are refused with ErrClosed, and the TCP connection is
// closed once the peer has answered, or after Options.Conn.CloseTimeout.
// It returns at once; OnClose tells when the connection has ended. Closing
// a connection that is closing already does nothing.
func (c *Conn) Close(code ws.CloseCode, reason string) error {
	return c.closeWith(code, reason, nil)
}

// CloseDiscard closes as Close does, but drops the messages queued that
// have not begun to be written: the close frame goes out at once. It is
// what Policy's CloseSlow does to a connection whose queue is full.
func (c *Conn) CloseDiscard(code ws.CloseCode, reason string) error {
	return c.closeDiscard(code, reason, nil)
}

// CloseNow closes the TCP connection at once, without a closing handshake:
// for a peer that no longer answers.
func (c *Conn) CloseNow() error {
	if c.g != nil {
		return c.g.closeNow(c)
	}
	return c.evCloseNow()
}

// Subprotocol returns the subprotocol negotiated, or "".
func (c *Conn) Subprotocol() string {
	if c.g != nil {
		return c.g.subprotocol(c)
	}
	return c.evSubprotocol()
}

// RemoteAddr returns the peer's address, in OnClose too.
func (c *Conn) RemoteAddr() net.Addr {
	if c.g != nil {
		return c.g.nc.RemoteAddr()
	}
	return c.evAddr(true)
}

// LocalAddr returns the local address.
func (c *Conn) LocalAddr() net.Addr {
	if c.g != nil {
		return c.g.nc.LocalAddr()
	}
	return c.evAddr(false)
}

// EventLoop reports whether an event loop serves the connection (false for
// the goroutine driver: TLS, Server.Goroutines, or a platform without
// epoll).
func (c *Conn) EventLoop() bool { return c.g == nil }

// closeWith closes with a flush, recording why (if not nil) as the reason
// OnClose gets.
func (c *Conn) closeWith(code ws.CloseCode, reason string, why error) error {
	if c.g != nil {
		return c.g.close(c, code, reason, why, false)
	}
	return c.evClose(code, reason, why, false)
}

// closeDiscard closes without a flush, recording why.
func (c *Conn) closeDiscard(code ws.CloseCode, reason string, why error) error {
	if c.g != nil {
		return c.g.close(c, code, reason, why, true)
	}
	return c.evClose(code, reason, why, true)
}

// setWhy records why the server ended the connection, if nothing was
// recorded before; c.mu is held.
func (c *Conn) setWhy(why error) {
	if c.why == nil && why != nil {
		c.why = why
	}
}

// overflow applies the connection's overflow policy to a message that did
// not fit, and returns ErrQueueFull. c.mu is not held.
func (c *Conn) overflow(p *Policy) error {
	if p.Overflow == CloseSlow {
		c.closeDiscard(p.overflowCode(), "send queue full", ErrQueueFull)
	}
	return ErrQueueFull
}

// fits reports whether a message of n payload bytes fits in the queue that
// holds queued messages and bytes bytes, under p.
func fits(p *Policy, queued int, bytes, n int64) bool {
	if queued == 0 {
		return true // a message larger than the bound still goes into an empty queue
	}
	if max := p.queueSize(); max > 0 && queued >= max {
		return false
	}
	if max := p.queueBytes(); max > 0 && bytes+n > max {
		return false
	}
	return true
}

// Handler calls, with panics recovered: a panic is logged with its stack
// and the connection closed with 1011 (internal error), as package server
// does with its handlers.

func (c *Conn) callOpen() {
	defer c.recoverPanic("OnOpen")
	c.srv.Handler.OnOpen(c)
}

func (c *Conn) callMessage(typ ws.MessageType, data []byte) {
	defer c.recoverPanic("OnMessage")
	c.srv.Handler.OnMessage(c, typ, data)
}

func (c *Conn) callClose(err error) {
	defer c.recoverPanic("OnClose")
	c.srv.Handler.OnClose(c, err)
}

func (c *Conn) callPing(payload []byte) {
	if h, ok := c.srv.Handler.(PingHandler); ok {
		defer c.recoverPanic("OnPing")
		h.OnPing(c, payload)
	}
}

func (c *Conn) callPong(payload []byte) {
	if h, ok := c.srv.Handler.(PongHandler); ok {
		defer c.recoverPanic("OnPong")
		h.OnPong(c, payload)
	}
}

func (c *Conn) callHeartbeat() {
	if h, ok := c.srv.Handler.(HeartbeatHandler); ok {
		defer c.recoverPanic("OnHeartbeat")
		h.OnHeartbeat(c)
	}
}

func (c *Conn) recoverPanic(where string) {
	v := recover()
	if v == nil {
		return
	}
	c.srv.logger().Error("loop: recovered a panic in "+where+"; closing the connection with 1011",
		"remote", c.RemoteAddr(), "panic", v, "stack", string(debug.Stack()))
	c.Close(ws.CloseInternalError, "internal error")
}
