package engineio

import (
	"context"
	"fmt"
	"net/http"

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

// goConn is the goroutine driver of the WebSocket transport: a *ws.Conn
// read by a goroutine of its own (readLoop, probeLoop); its writes block.
type goConn struct{ c *ws.Conn }

func (g *goConn) write(typ ws.MessageType, data []byte) error {
	return g.c.WriteMessage(context.Background(), typ, data)
}

func (g *goConn) writeBatch(pms []*ws.PreparedMessage) error {
	return g.c.WritePreparedBatch(context.Background(), pms)
}

// close closes the connection without blocking the caller: the close
// handshake runs on a goroutine of its own, bounded by the connection's
// CloseTimeout.
func (g *goConn) close(code ws.CloseCode) {
	if code == 0 {
		g.c.CloseNow()
		return
	}
	go g.c.Close(code, "")
}

func (g *goConn) buffered() int64 { return 0 }

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
	g := &goConn{c}
	sock.conn = g
	started := sock.open(func() bool { return g.write(ws.Text, s.openPacket(sock.id, WebSocket)) == nil })
	if !started {
		c.Close(ws.CloseGoingAway, "server shutting down")
		return
	}
	go sock.readLoop(g, true)
}

// upgrade serves a WebSocket connection for an established polling session
// (protocol v4, "Upgrade"). The connection is accepted and then closed if
// the session cannot take it (see reserveUpgrade).
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, sock *Socket) {
	ok := sock.reserveUpgrade()
	c, err := server.Accept(w, r, &s.wsOpts)
	if err != nil {
		if ok {
			sock.unreserveUpgrade()
		}
		return
	}
	g := &goConn{c}
	if !ok {
		g.close(ws.ClosePolicyViolation)
		return
	}
	if sock.startProbe(g) {
		go sock.probeLoop(g)
	}
}

// probeLoop reads the probe connection of an upgrade and hands each
// message to onProbeMessage; once the session moved to it, it reads it as
// the session's transport. An error abandons the upgrade.
func (s *Socket) probeLoop(g *goConn) {
	ctx := context.Background()
	var buf []byte
	for {
		typ, msg, err := g.c.ReadMessage(ctx, buf)
		if err != nil {
			s.abandonUpgrade(g, ws.CloseNormal)
			return
		}
		switch s.onProbeMessage(g, typ, msg) {
		case probeUpgraded:
			// The session's reading goes on on a fresh goroutine,
			// whose stack has not grown on the upgrade's work (see
			// readLoop).
			go s.readLoop(g, false)
			return
		case probeEnded:
			return
		}
		buf = msg[:0]
	}
}

// readLoop reads the WebSocket transport until it ends and hands each
// message to onWSMessage; first says that it reads the session's first
// message.
//
// A goroutine's stack grows as deep as the Handler's work goes (a
// Socket.IO connection's CONNECT, its event handlers), and the runtime
// does not shrink it while the goroutine waits in ReadMessage: an idle
// session would keep it, twice or more the 2 KiB stack a goroutine starts
// with, for as long as it stays idle. So the reading moves to a fresh
// goroutine, whose wait for the next message holds a small stack, after
// the messages that are often followed by a long quiet: the session's
// first (a Socket.IO client's CONNECT, an application's hello), and each
// pong of the heartbeat (protocol v4, "Heartbeat": one per PingInterval,
// so a session that has gone quiet since its last message has a small
// reader after at most one interval, and a busy one changes goroutines
// once per interval). Other messages keep the goroutine, so that a busy
// session's round trips cost no goroutine and no stack growth each.
func (s *Socket) readLoop(g *goConn, first bool) {
	var buf, scratch []byte
	for {
		typ, msg, err := g.c.ReadMessage(context.Background(), buf)
		if err != nil {
			s.transportEnded(g, err)
			return
		}
		renew := first || (typ == ws.Text && len(msg) == 1 && msg[0] == packetPong)
		first = false
		if !s.onWSMessage(typ, msg, &scratch, fromReader) {
			return
		}
		if renew {
			go s.readLoop(g, false)
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

// writeLoop writes the queue to the WebSocket transport t until it is
// empty, then ends; kick starts it again when packets come, on a goroutine
// of its own, and WritePrepared runs it on the caller's.
func (s *Socket) writeLoop(t wsTransport) {
	var tmp []byte
	var run []*ws.PreparedMessage
	for {
		s.mu.Lock()
		if len(s.queue) == 0 || s.state == stateClosed || s.conn != t {
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
			pm, typ, data := ps[i].wsFrame(b64, tmp[:0])
			if pm == nil {
				err = t.write(typ, data)
				if typ == ws.Text && b64 && ps[i].enc == nil {
					tmp = data[:0]
				}
				continue
			}
			run = append(run[:0], pm)
			for i+1 < len(ps) && ps[i+1].sharedFrame(b64) {
				i++
				run = append(run, ps[i].wsMessage())
			}
			err = t.writeBatch(run)
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
