package engineio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/server"
)

// acceptOptions returns the WebSocket handshake options for a request,
// with the session cookie of a new session added to the 101 response.
func (s *Server) acceptOptions(sid string) *server.Options {
	cookie := ""
	if sid != "" {
		cookie = s.sessionCookie(sid)
	}
	if cookie == "" {
		return &s.wsOpts
	}
	o := s.wsOpts
	user := o.ResponseHeader
	o.ResponseHeader = func(r *http.Request, h http.Header) {
		h.Add("Set-Cookie", cookie)
		if user != nil {
			user(r, h)
		}
	}
	return &o
}

// openWebSocket answers a WebSocket handshake without a session: a
// WebSocket-only session, whose open packet is the first message (protocol
// v4, "Handshake").
func (s *Server) openWebSocket(w http.ResponseWriter, r *http.Request, b64 bool) {
	s.mu.Lock()
	down := s.shutdown
	s.mu.Unlock()
	if down {
		http.Error(w, "engineio: server shutting down", http.StatusServiceUnavailable)
		return
	}
	sock := newSocket(s, r, true, b64)
	c, err := server.Accept(w, r, s.acceptOptions(sock.id))
	if err != nil {
		// Accept answered the client with the rule's status.
		if l := s.opts.Logger; l != nil {
			l.Debug("engineio: WebSocket handshake refused", "err", err, "remote", r.RemoteAddr)
		}
		return
	}
	sock.conn = c
	started := sock.open(func() bool {
		return c.WriteMessage(context.Background(), ws.Text, s.openPacket(sock.id, WebSocket)) == nil
	})
	if !started {
		c.Close(ws.CloseGoingAway, "server shutting down")
		return
	}
	go sock.readLoop(c, nil)
}

// upgrade serves a WebSocket connection for an established polling session
// (protocol v4, "Upgrade"). The connection is accepted and then closed if
// the session cannot take it: already upgraded or upgrading (a client must
// not open a second WebSocket per session), or upgrades disabled; this is
// what the reference server does.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, sock *Socket) {
	// The session is marked as upgrading before the 101 goes out, so
	// that a second WebSocket the client opens after seeing it is refused
	// whatever the scheduling of the two handlers.
	sock.mu.Lock()
	refused := sock.state != stateOpen || sock.ws || sock.upgrading || s.opts.DisableUpgrades
	if !refused {
		sock.upgrading = true
	}
	sock.mu.Unlock()
	c, err := server.Accept(w, r, &s.wsOpts)
	if err != nil {
		if !refused {
			sock.mu.Lock()
			sock.upgrading = false
			sock.mu.Unlock()
		}
		return
	}
	if refused {
		closeConn(c, ws.ClosePolicyViolation)
		return
	}
	sock.mu.Lock()
	if sock.state != stateOpen {
		sock.upgrading = false
		sock.mu.Unlock()
		closeConn(c, ws.CloseNormal)
		return
	}
	sock.probe = c
	sock.mu.Unlock()
	go sock.probeLoop(c)
}

// probeLoop runs the probe connection of an upgrade: it answers "2probe"
// with "3probe" and makes pending and further GETs return at once (with a
// noop when nothing is queued), so that the client can pause polling; on
// "5" the session moves to this connection, which it keeps reading. Any
// other packet, an error, or UpgradeTimeout without "5" abandons the
// upgrade: the connection is closed and the session goes on polling.
func (s *Socket) probeLoop(c *ws.Conn) {
	// The timeout forgets the probe before it closes it, so that a client
	// that sees the close may start another upgrade at once.
	timer := time.AfterFunc(s.srv.opts.UpgradeTimeout, func() { s.abandonUpgrade(c, ws.CloseNormal) })
	defer timer.Stop()
	ctx := context.Background()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(ctx, buf)
		if err != nil {
			s.abandonUpgrade(c, ws.CloseNormal)
			return
		}
		switch {
		case typ == ws.Text && string(msg) == "2probe":
			if err := c.WriteMessage(ctx, ws.Text, probePong); err != nil {
				s.abandonUpgrade(c, ws.CloseNormal)
				return
			}
			s.mu.Lock()
			if s.probe == c {
				s.probed = true
				s.kickPoll()
			}
			s.mu.Unlock()
		case typ == ws.Text && len(msg) == 1 && msg[0] == packetUpgrade:
			if !s.completeUpgrade(c) {
				return
			}
			s.received()
			go s.readLoop(c, nil)
			return
		default:
			s.abandonUpgrade(c, ws.ClosePolicyViolation)
			return
		}
		buf = msg[:0]
	}
}

// kickPoll wakes the GET in flight; s.mu is held.
func (s *Socket) kickPoll() {
	if s.pollWake != nil {
		select {
		case s.pollWake <- struct{}{}:
		default:
		}
	}
}

// abandonUpgrade closes a probe connection and forgets it; the session
// goes on polling.
func (s *Socket) abandonUpgrade(c *ws.Conn, code ws.CloseCode) {
	s.mu.Lock()
	current := s.probe == c
	if current {
		s.probe = nil
		s.upgrading = false
		s.probed = false
	}
	s.mu.Unlock()
	if current {
		// Otherwise whoever forgot it (the timeout, the end of the
		// session) has closed it.
		closeConn(c, code)
	}
}

// completeUpgrade moves the session to the probe connection: what is
// queued goes out on it, in order, and a GET still in flight is ended with
// a noop. It reports false when the session had ended.
func (s *Socket) completeUpgrade(c *ws.Conn) bool {
	s.mu.Lock()
	if s.probe != c || s.state == stateClosed {
		s.mu.Unlock()
		closeConn(c, ws.CloseNormal)
		return false
	}
	s.probe = nil
	s.upgrading = false
	s.probed = false
	s.ws = true
	s.conn = c
	s.kickPoll()
	s.kick()
	s.mu.Unlock()
	return true
}

// readLoop reads the WebSocket transport until it ends: text frames are
// packets, binary frames binary messages (protocol v4, "Packet encoding").
// A malformed packet closes the session (ErrParseError) and the connection
// (1008).
func (s *Socket) readLoop(c *ws.Conn, buf []byte) {
	var scratch []byte
	for {
		typ, msg, err := c.ReadMessage(context.Background(), buf)
		if err != nil {
			s.transportEnded(c, err)
			return
		}
		var p packet
		if typ == ws.Binary {
			p = packet{kind: packetMessage, typ: ws.Binary, data: msg}
		} else if p, err = decode(msg, &scratch, true); err != nil {
			s.terminate(fmt.Errorf("%w: %w", ErrParseError, err), packetClose, ws.ClosePolicyViolation)
			return
		}
		if !s.onPacketFrom(p, true) {
			return
		}
		// Keep a small buffer for the next message; let a large one go,
		// so that an idle session holds little.
		if cap(msg) <= 1024 {
			buf = msg[:0]
		} else {
			buf = nil
		}
		if cap(scratch) > 1024 {
			scratch = nil
		}
	}
}

// transportEnded ends the session whose WebSocket transport c failed or
// was closed by the peer.
func (s *Socket) transportEnded(c *ws.Conn, err error) {
	s.mu.Lock()
	current := s.conn == c
	s.mu.Unlock()
	if !current {
		return
	}
	var ce *ws.CloseError
	if errors.As(err, &ce) || errors.Is(err, ws.ErrClosed) {
		s.terminate(fmt.Errorf("%w: %w", ErrTransportClose, err), 0, ws.CloseNormal)
		return
	}
	s.terminate(fmt.Errorf("%w: %w", ErrTransportError, err), 0, ws.CloseNormal)
}

// writeLoop writes the queue to the WebSocket transport c until it is
// empty, then ends; push starts it again when packets come.
func (s *Socket) writeLoop(c *ws.Conn) {
	ctx := context.Background()
	var tmp []byte
	var run []*ws.PreparedMessage
	for {
		s.mu.Lock()
		if len(s.queue) == 0 || s.state == stateClosed || s.conn != c {
			s.writing = false
			s.mu.Unlock()
			return
		}
		ps := s.take()
		b64 := s.b64
		s.mu.Unlock()
		// Packets prepared once for every receiver (broadcasts) go out
		// in runs, each run in one vectored write; the others one by one.
		var err error
		for i := 0; i < len(ps) && err == nil; i++ {
			p := ps[i]
			switch {
			case p.shared && (p.enc != nil || !b64):
				run = run[:0]
				for ; i < len(ps) && ps[i].shared && (ps[i].enc != nil || !b64); i++ {
					run = append(run, ps[i].wsMessage())
				}
				i--
				err = c.WritePreparedBatch(ctx, run)
			case p.enc != nil:
				err = c.WriteMessage(ctx, ws.Text, p.enc)
			case !b64:
				err = c.WriteMessage(ctx, ws.Binary, p.data)
			default:
				tmp = p.binaryText(tmp[:0])
				err = c.WriteMessage(ctx, ws.Text, tmp)
			}
		}
		clear(run)
		if err != nil {
			s.mu.Lock()
			s.writing = false
			s.mu.Unlock()
			s.terminate(fmt.Errorf("%w: %w", ErrTransportError, err), 0, ws.CloseNormal)
			return
		}
		s.sent(ps)
	}
}
