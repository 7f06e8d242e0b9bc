package loop

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
	"github.com/rfc6455/ws/server"
)

// The goroutine driver serves a connection with a *ws.Conn, a goroutine
// that reads it and one that writes its queue (and one that pings it, with
// a heartbeat), through the same Handler and Conn API as the event loop. It
// serves TLS connections, every connection with Server.Goroutines, and
// every connection on platforms without epoll.

// gconn is a Conn's state under the goroutine driver.
type gconn struct {
	nc   net.Conn
	conn *ws.Conn // set once the handshake is over, under Conn.mu

	// Guarded by Conn.mu:
	queue   []gitem
	queued  int           // data messages in queue
	closing bool          // Close or CloseDiscard was called: nothing more is queued
	discard bool          // CloseDiscard was called
	ended   bool          // the reader has ended: no goroutine may join wg
	hold    bool          // PauseReading: the reader waits after its message
	resumed chan struct{} // closed by ResumeReading or a close, while the reader waits
	writing bool          // the writer is writing a message or ping it took from queue
	drained chan struct{} // closed when nothing queued before the peer's close is left to write

	wake chan struct{} // a signal to the writer; capacity 1
	done chan struct{} // closed once the reader has ended
	cbMu sync.Mutex    // serializes the Handler's calls (the heartbeat's and the reader's)
	wg   sync.WaitGroup
}

// gitem is an entry of the send queue: a message, a ping, or the close.
type gitem struct {
	pm     *ws.PreparedMessage
	ping   []byte
	close  bool
	code   ws.CloseCode
	reason string
}

// pause holds the reader after the message it is handling.
func (g *gconn) pause(c *Conn) {
	c.mu.Lock()
	g.hold = true
	c.mu.Unlock()
}

// resume releases the reader.
func (g *gconn) resume(c *Conn) {
	c.mu.Lock()
	g.hold = false
	g.releaseLocked()
	c.mu.Unlock()
}

// releaseLocked wakes the reader if it waits; c.mu is held.
func (g *gconn) releaseLocked() {
	if g.resumed != nil {
		close(g.resumed)
		g.resumed = nil
	}
}

// awaitResume waits while the reading is paused and the connection is
// not closing.
func (g *gconn) awaitResume(c *Conn) {
	c.mu.Lock()
	for g.hold && !g.closing {
		if g.resumed == nil {
			g.resumed = make(chan struct{})
		}
		ch := g.resumed
		c.mu.Unlock()
		<-ch
		c.mu.Lock()
	}
	c.mu.Unlock()
}

func (g *gconn) signal() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

func (g *gconn) send(c *Conn, pm *ws.PreparedMessage) error {
	n := int64(len(pm.Data()))
	c.mu.Lock()
	if g.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	p := c.policy
	if !fits(p, g.queued, c.buffered.Load(), n) {
		c.mu.Unlock()
		return c.overflow(p)
	}
	g.queue = append(g.queue, gitem{pm: pm})
	g.queued++
	c.buffered.Add(n)
	c.mu.Unlock()
	g.signal()
	return nil
}

func (g *gconn) ping(c *Conn, payload []byte) error {
	c.mu.Lock()
	if g.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	g.queue = append(g.queue, gitem{ping: append([]byte{}, payload...)})
	c.mu.Unlock()
	g.signal()
	return nil
}

func (g *gconn) close(c *Conn, code ws.CloseCode, reason string, why error, discard bool) error {
	c.mu.Lock()
	c.setWhy(why)
	if g.ended || g.discard || g.closing && !discard {
		c.mu.Unlock()
		return nil
	}
	g.closing = true
	g.releaseLocked()
	if discard && g.conn != nil {
		// Drop what has not begun and close at once, whatever the
		// writer is doing: ws.Conn.Close sends the close frame after
		// the frame being written, and bounds its wait by
		// CloseTimeout. (Before the connection is open, from
		// Upgrade, nothing is queued: the close is queued as Close
		// queues it.) wg.Add is under c.mu, ordered before the
		// reader's Wait by g.ended.
		g.discard = true
		g.dropQueueLocked(c)
		conn := g.conn
		g.wg.Add(1)
		c.mu.Unlock()
		go func() {
			defer g.wg.Done()
			conn.Close(code, reason)
		}()
		return nil
	}
	g.queue = append(g.queue, gitem{close: true, code: code, reason: reason})
	c.mu.Unlock()
	g.signal()
	return nil
}

// dropQueueLocked empties the queue; c.mu is held.
func (g *gconn) dropQueueLocked(c *Conn) {
	for _, it := range g.queue {
		if it.pm != nil {
			c.buffered.Add(-int64(len(it.pm.Data())))
		}
	}
	g.queue, g.queued = nil, 0
	g.checkDrainedLocked()
}

// peerClosed runs when the peer's close frame has arrived, before ws.Conn
// answers it (ws.Options.OnPeerClose). Nothing more is queued from now
// on, and the messages and pings queued before are written ahead of the
// answer — RFC 6455 §5.5.1 lets an endpoint finish what it is sending
// before it answers a close, and Send reported them sent — waiting at
// most timeout for the writer.
func (g *gconn) peerClosed(c *Conn, timeout time.Duration) {
	c.mu.Lock()
	g.closing = true
	g.releaseLocked()
	if g.drainedLocked() {
		c.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	g.drained = ch
	c.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// drainedLocked reports whether the writer has nothing left to write ahead
// of a close: no message or ping queued or being written. c.mu is held.
func (g *gconn) drainedLocked() bool {
	return !g.writing && (len(g.queue) == 0 || g.queue[0].close)
}

// checkDrainedLocked wakes peerClosed once the writer is drained; c.mu is
// held.
func (g *gconn) checkDrainedLocked() {
	if g.drained != nil && g.drainedLocked() {
		close(g.drained)
		g.drained = nil
	}
}

func (g *gconn) closeNow(c *Conn) error {
	c.mu.Lock()
	conn := g.conn
	g.hold = false
	g.releaseLocked()
	c.mu.Unlock()
	if conn == nil {
		// In the handshake (called from Upgrade): it fails.
		return g.nc.Close()
	}
	return conn.CloseNow()
}

// subprotocol returns the subprotocol negotiated, or "" before the
// connection is open.
func (g *gconn) subprotocol(c *Conn) string {
	c.mu.Lock()
	conn := g.conn
	c.mu.Unlock()
	if conn == nil {
		return ""
	}
	return conn.Subprotocol()
}

// writeLoop writes the queue until the close is written, a write fails, or
// the reader ends.
func (g *gconn) writeLoop(c *Conn) {
	defer g.wg.Done()
	ctx := context.Background()
	for {
		select {
		case <-g.wake:
		case <-g.done:
			return
		}
		for {
			c.mu.Lock()
			if len(g.queue) == 0 || g.discard {
				c.mu.Unlock()
				break
			}
			it := g.queue[0]
			g.queue[0] = gitem{}
			g.queue = g.queue[1:]
			if len(g.queue) == 0 {
				g.queue = nil
			}
			if it.pm != nil {
				g.queued--
			}
			g.writing = !it.close
			c.mu.Unlock()
			var err error
			switch {
			case it.close:
				g.conn.Close(it.code, it.reason)
				return
			case it.pm != nil:
				err = g.conn.WritePrepared(ctx, it.pm)
				c.buffered.Add(-int64(len(it.pm.Data())))
			default:
				err = g.conn.WritePing(ctx, it.ping)
			}
			c.mu.Lock()
			g.writing = false
			if err != nil {
				g.closing = true
				g.dropQueueLocked(c)
				c.mu.Unlock()
				g.conn.CloseNow()
				return
			}
			g.checkDrainedLocked()
			c.mu.Unlock()
		}
	}
}

// heartbeat pings every interval and closes the connection when a pong is
// late.
func (g *gconn) heartbeat(c *Conn, interval, timeout time.Duration) {
	defer g.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-g.done:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := g.conn.Ping(ctx)
		cancel()
		switch {
		case err == nil:
			g.cbMu.Lock()
			c.callHeartbeat()
			g.cbMu.Unlock()
			continue
		case errors.Is(err, context.DeadlineExceeded):
			c.mu.Lock()
			c.setWhy(ErrPongTimeout)
			c.mu.Unlock()
			g.conn.CloseNow()
		}
		return
	}
}

// serveGoroutines serves nc with the goroutine driver.
func (s *Server) serveGoroutines(nc net.Conn) {
	if !s.addConn() {
		nc.Close()
		return
	}
	go s.runGoroutineConn(nc)
}

// addConn counts a new connection, unless the server is shutting down.
func (s *Server) addConn() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	s.count.Add(1)
	return true
}

// doneConn counts a connection that has ended.
func (s *Server) doneConn() {
	s.count.Add(-1)
	s.wg.Done()
}

func (s *Server) runGoroutineConn(nc net.Conn) {
	defer s.doneConn()
	c := &Conn{srv: s, policy: &s.Policy, g: &gconn{nc: nc}}
	g := c.g
	s.mu.Lock()
	if s.gshakes == nil {
		s.gshakes = make(map[net.Conn]struct{})
	}
	s.gshakes[nc] = struct{}{}
	s.mu.Unlock()
	conn, err := s.handshakeConn(c, nc)
	s.mu.Lock()
	delete(s.gshakes, nc)
	s.mu.Unlock()
	if err == errHandedOff {
		return
	}
	if err != nil {
		nc.Close()
		return
	}
	c.mu.Lock()
	g.conn = conn // guarded by c.mu: Upgrade may have handed c to other goroutines
	c.mu.Unlock()
	g.wake = make(chan struct{}, 1)
	g.done = make(chan struct{})
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		conn.Close(ws.CloseGoingAway, shutdownReason)
		return
	}
	if s.gconns == nil {
		s.gconns = make(map[*Conn]struct{})
	}
	s.gconns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.gconns, c)
		s.mu.Unlock()
	}()

	g.cbMu.Lock()
	c.callOpen()
	g.cbMu.Unlock()
	g.wg.Add(1)
	go g.writeLoop(c)
	c.mu.Lock()
	p := c.policy
	c.mu.Unlock()
	if p.PingInterval > 0 {
		g.wg.Add(1)
		go g.heartbeat(c, p.PingInterval, p.pongTimeout())
	}
	ctx := context.Background()
	var buf []byte
	for {
		typ, msg, rerr := conn.ReadMessage(ctx, buf[:0])
		if rerr != nil {
			err = rerr
			break
		}
		g.cbMu.Lock()
		c.callMessage(typ, msg)
		g.cbMu.Unlock()
		g.awaitResume(c)
		if cap(msg) <= 64<<10 {
			buf = msg
		} else {
			buf = nil
		}
	}
	close(g.done)
	// CloseDiscard adds its goroutine to wg under c.mu: none may once
	// Wait has begun (sync.WaitGroup panics on that reuse).
	c.mu.Lock()
	g.ended = true
	c.mu.Unlock()
	conn.CloseNow()
	g.wg.Wait()
	c.mu.Lock()
	g.closing = true
	g.dropQueueLocked(c)
	if c.why != nil {
		err = c.why
	}
	c.mu.Unlock()
	g.cbMu.Lock()
	c.callClose(err)
	g.cbMu.Unlock()
}

// handshakeConn runs the opening handshake on nc within the handshake
// timeout: the TLS handshake if nc is a *tls.Conn, the request read and
// checked (431 past MaxHeaderBytes), Upgrade, then the 101.
func (s *Server) handshakeConn(c *Conn, nc net.Conn) (*ws.Conn, error) {
	nc.SetDeadline(time.Now().Add(s.handshakeTimeout()))
	var state *tls.ConnectionState
	if tc, ok := nc.(*tls.Conn); ok {
		if err := tc.Handshake(); err != nil {
			return nil, fmt.Errorf("loop: TLS handshake: %w", err)
		}
		cs := tc.ConnectionState()
		state = &cs
	}
	limit := s.maxHeaderBytes()
	buf := make([]byte, 0, min(4096, limit))
	var raw *handshake.RawRequest
	var hl, scanned int
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := nc.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if n > 0 {
			var perr error
			raw, hl, perr = parseHead(buf, scanned, limit)
			scanned = len(buf)
			if perr != nil {
				if s.wantsFallback(buf, perr) {
					nc.SetDeadline(time.Time{})
					s.fallback(nc, buf)
					return nil, errHandedOff
				}
				nc.Write(server.AppendError(nil, perr))
				return nil, perr
			}
			if raw != nil {
				break
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if s.Fallback != nil && !raw.IsUpgrade() {
		nc.SetDeadline(time.Time{})
		s.fallback(nc, buf)
		return nil, errHandedOff
	}
	var neg *server.Negotiated
	var err error = errShuttingDown
	if !s.shutdown.Load() {
		neg, err = s.negotiate(c, raw, nc.RemoteAddr().String(), state)
	}
	if err != nil {
		nc.Write(appendRefusal(nil, err))
		return nil, err
	}
	opts := neg.Conn()
	opts.OnPing = func(p []byte) {
		c.g.cbMu.Lock()
		defer c.g.cbMu.Unlock()
		c.callPing(p)
	}
	opts.OnPong = func(p []byte) {
		c.g.cbMu.Lock()
		defer c.g.cbMu.Unlock()
		c.callPong(p)
	}
	closeTimeout := s.closeTimeout()
	opts.OnPeerClose = func(ws.CloseCode, string) { c.g.peerClosed(c, closeTimeout) }
	if _, err := nc.Write(neg.AppendResponse(buf[:0])); err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	var rest []byte
	if hl < len(buf) {
		rest = append([]byte(nil), buf[hl:]...)
	}
	return ws.NewConn(nc, rest, ws.RoleServer, opts), nil
}

// errHandedOff: the connection went to the Fallback handler.
var errHandedOff = errors.New("loop: handed to Fallback")

// parseHead parses the request head at the start of b, whose first
// scanned bytes were looked at before without finding the head's end, so
// that a client sending a byte at a time costs linear work. It returns a
// nil request when the head is not complete yet, and an error wrapping
// server.ErrRequestTooLarge (431) when it is not complete within limit
// bytes.
func parseHead(b []byte, scanned, limit int) (*handshake.RawRequest, int, error) {
	// The head ends with an empty line: "\n\n" or "\n\r\n" (a bare LF
	// ends a line too, RFC 9112 §2.2).
	from := max(scanned-2, 0)
	if !bytes.Contains(b[from:], []byte("\n\n")) && !bytes.Contains(b[from:], []byte("\n\r\n")) {
		if len(b) >= limit {
			return nil, 0, fmt.Errorf("%w: more than %d bytes", server.ErrRequestTooLarge, limit)
		}
		return nil, 0, nil
	}
	r, n, err := handshake.ParseRequest(b)
	if err != nil {
		return nil, 0, err
	}
	return r, n, nil
}

// negotiate checks the request with package server's rules, then runs
// Upgrade.
func (s *Server) negotiate(c *Conn, raw *handshake.RawRequest, remote string, state *tls.ConnectionState) (neg *server.Negotiated, err error) {
	neg, err = server.NegotiateRaw(raw, remote, state, &s.Options)
	if err != nil || s.Upgrade == nil {
		return neg, err
	}
	defer func() {
		if v := recover(); v != nil {
			s.logger().Error("loop: recovered a panic in Upgrade; answering 500", "remote", remote, "panic", v)
			err = fmt.Errorf("loop: Upgrade panicked: %v", v)
		}
	}()
	if err := s.Upgrade(c, raw); err != nil {
		return nil, err
	}
	return neg, nil
}
