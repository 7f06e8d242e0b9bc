package socketio

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio/parser"
)

// Disconnect reasons, passed to OnDisconnect handlers (test them with
// errors.Is). Their messages are the reference server's. The Engine.IO
// ones come from package engineio.
var (
	// ErrTransportClose: the client went away or closed the transport.
	ErrTransportClose = engineio.ErrTransportClose
	// ErrTransportError: the transport failed.
	ErrTransportError = engineio.ErrTransportError
	// ErrPingTimeout: the client stopped answering pings.
	ErrPingTimeout = engineio.ErrPingTimeout
	// ErrParseError: the client sent a malformed packet; the connection
	// was closed.
	ErrParseError = engineio.ErrParseError
	// ErrClientClose: the client closed the connection ("forced close").
	ErrClientClose = engineio.ErrClientClose
	// ErrServerClose: the server closed the connection (Socket.Close, a
	// full buffer, a connect timeout).
	ErrServerClose = engineio.ErrServerClose
	// ErrServerShutdown: the server is shutting down.
	ErrServerShutdown = engineio.ErrServerShutdown
	// ErrClientNamespaceDisconnect: the client left the namespace
	// (socket.disconnect() on the client).
	ErrClientNamespaceDisconnect = errors.New("client namespace disconnect")
	// ErrServerNamespaceDisconnect: the server disconnected the socket
	// (Socket.Disconnect).
	ErrServerNamespaceDisconnect = errors.New("server namespace disconnect")
)

// recoverable reports whether a socket that disconnected for reason keeps
// its state for connection state recovery (the reference's
// RECOVERABLE_DISCONNECT_REASONS): the connection failed, rather than
// either side leaving the namespace.
func recoverable(reason error) bool {
	for _, r := range []error{ErrTransportError, ErrTransportClose, ErrClientClose, ErrPingTimeout, ErrServerShutdown, ErrServerClose} {
		if errors.Is(reason, r) {
			return true
		}
	}
	return false
}

// conn is a client's connection: one Engine.IO session, carrying a socket
// for each namespace the client joined.
type conn struct {
	srv    *Server
	es     *engineio.Socket
	tr     transport
	opened int64          // when the session opened, Unix nanoseconds
	dec    parser.Decoder // the reading side's, one message at a time

	// inline and unblock belong to the reading side: the state of an
	// event's handler running on the reading goroutine, and the timer that
	// moves the reading to another goroutine when it takes long (see
	// Socket.inline). pauses counts the sockets (namespaces) whose full
	// job queue paused the reading of the connection on an event loop
	// (see Socket.add): it is read again once none does. (The order of
	// the fields packs the struct in 128 bytes.)
	inline  atomic.Int32
	pauses  int32 // guarded by pauseMu
	pauseMu sync.Mutex
	unblock *time.Timer

	mu      sync.Mutex
	sockets []*Socket // connecting or connected, one per namespace
	timer   *time.Timer
	gone    bool
}

// pauseReading pauses the reading of the connection for one socket whose
// job queue is full; resumeReading ends that socket's pause. The reading
// stops at the first pause and goes on after the last resume, so that a
// namespace whose queue has room again does not read on for another
// whose queue is still full.
func (c *conn) pauseReading() {
	c.pauseMu.Lock()
	c.pauses++
	if c.pauses == 1 {
		c.es.PauseReading()
	}
	c.pauseMu.Unlock()
}

func (c *conn) resumeReading() {
	c.pauseMu.Lock()
	c.pauses--
	if c.pauses == 0 {
		c.es.ResumeReading()
	}
	c.pauseMu.Unlock()
}

// States of conn.inline.
const (
	inlineIdle    = iota
	inlineRunning // a handler runs on the reading goroutine
	inlineMoved   // its budget ran out: the reading moves on
)

// onInlineBudget runs when the handler running on the reading goroutine
// has taken inlineBudget: the reading goes on on a new goroutine.
func (c *conn) onInlineBudget() {
	if c.inline.CompareAndSwap(inlineRunning, inlineMoved) {
		c.es.Unblock()
	}
}

// newConn starts serving a session.
func newConn(srv *Server, es *engineio.Socket) *conn {
	c := &conn{srv: srv, es: es, opened: time.Now().UnixNano()}
	c.tr.c = c
	c.dec.MaxAttachments = srv.opts.MaxAttachments
	// Socket.IO: a client that joins no namespace in time is closed (the
	// reference's connectTimeout).
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = time.AfterFunc(srv.opts.ConnectTimeout, func() {
		c.mu.Lock()
		joined := false
		for _, s := range c.sockets {
			joined = joined || s.Connected()
		}
		c.mu.Unlock()
		if !joined {
			srv.log.Debug("socketio: no namespace joined in time, closing", "sid", es.ID())
			c.close(ErrServerClose)
		}
	})
	return c
}

// message decodes an Engine.IO message and handles the packet it
// completes. A malformed packet closes the connection, as the reference
// server does.
func (c *conn) message(typ ws.MessageType, data []byte) {
	var (
		p   *parser.Packet
		err error
	)
	if typ == ws.Binary {
		p, err = c.dec.DecodeBinary(data)
	} else {
		p, err = c.dec.DecodeText(data)
	}
	if err != nil {
		c.srv.log.Debug("socketio: closing a connection after an invalid packet", "sid", c.es.ID(), "err", err)
		c.close(ErrParseError)
		return
	}
	if p != nil {
		c.packet(p)
	}
}

// packet routes a packet to its namespace's socket. A CONNECT starts a
// socket; any other packet needs a connected one; anything else is a
// protocol violation that closes the connection, as in the reference
// (Client.ondecoded).
func (c *conn) packet(p *parser.Packet) {
	nsp := p.Nsp()
	s := c.socket(nsp)
	switch {
	case s == nil && p.Type == parser.Connect:
		c.connect(nsp, p.Data)
	case s != nil && s.Connected() && p.Type != parser.Connect && p.Type != parser.ConnectError:
		s.packet(p)
	default:
		c.srv.log.Debug("socketio: closing a connection in an invalid state", "sid", c.es.ID(), "namespace", nsp, "packet", p.Type)
		c.close(ErrParseError)
	}
}

// socket returns the connection's socket in namespace nsp, or nil.
func (c *conn) socket(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sockets {
		if s.nsp == nsp {
			return s
		}
	}
	return nil
}

// connect starts a socket for a CONNECT packet; it connects on its worker.
func (c *conn) connect(nsp string, auth []byte) {
	// A string: no allocation for the usual "{}", and 8 bytes less in
	// every Socket than a slice.
	a := "{}"
	if auth != nil {
		a = string(auth)
	}
	s := newSocket(c, nsp, a)
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return
	}
	c.sockets = append(c.sockets, s)
	c.mu.Unlock()
	s.enqueue(s.connect, true)
}

// remove forgets a socket that disconnected or was refused.
func (c *conn) remove(s *Socket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.sockets {
		if x == s {
			c.sockets = append(c.sockets[:i], c.sockets[i+1:]...)
			break
		}
	}
}

// joined stops the connect timeout once a socket has connected.
func (c *conn) joined() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// sendPacket queues a packet that belongs to no connected socket
// (CONNECT_ERROR), without blocking.
func (c *conn) sendPacket(pkt *parser.Packet) {
	p, err := newPayload(pkt, false)
	if err == nil {
		err = c.es.TrySendPrepared(p.parts...)
	}
	if err != nil {
		c.srv.log.Debug("socketio: packet not sent", "sid", c.es.ID(), "packet", pkt.Type, "err", err)
	}
}

// close disconnects every socket with reason and closes the session.
func (c *conn) close(reason error) {
	c.closeSockets(reason)
	c.es.Close()
}

// closed is called once the session has ended.
func (c *conn) closed(reason error) {
	c.closeSockets(reason)
}

// closeSockets disconnects every socket with reason, once.
func (c *conn) closeSockets(reason error) {
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return
	}
	c.gone = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	sockets := append([]*Socket(nil), c.sockets...)
	c.mu.Unlock()
	for _, s := range sockets {
		s.onclose(reason)
	}
}

// isGone reports whether the connection has ended.
func (c *conn) isGone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gone
}
