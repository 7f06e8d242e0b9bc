package engineio

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
	"github.com/rfc6455/ws/loop"
)

// LoopMux serves Engine.IO servers on a loop.Server, the event-loop
// WebSocket server of package loop: their WebSocket connections (new
// WebSocket sessions and the upgrades of polling ones) are served by the
// event loops, with no goroutine per idle connection, and their polling
// requests, on the same port, by net/http through the loop.Server's
// Fallback. Mount each server at a path prefix with Handle, then serve
// the loop.Server that Server returns:
//
//	mux := engineio.NewLoopMux()
//	mux.Handle("/engine.io/", eio)
//	mux.HandleHTTP("/", pages) // anything else on the port
//	ls := mux.Server()
//	ls.ListenAndServe(":3000")
//
// The sessions behave as on the goroutine driver (ServeHTTP): the same
// checks and refusals (400 or 403 with {"code":…,"message":…}), upgrade,
// heartbeat and close reasons; the differences are these:
//   - On WebSocket, Handler.Message runs on the event loop that serves the
//     connection, which serves many others: it must not block (package
//     socketio's Handler hands the events to the socket's goroutine).
//     Open and Close may run there too.
//   - A sender blocked on a full buffer (Options.MaxBufferedAmount, which
//     counts what waits in the loop's send queue) looks again every few
//     milliseconds rather than being woken.
//   - Each server's WebSocket origin policy (Options.WebSocket's
//     CheckOrigin and OriginPatterns, or CORS) and MaxPayload apply to its
//     connections; its other handshake options (Compression, Subprotocols,
//     ResponseHeader) do not: set them on the loop.Server's Options, which
//     apply to every connection (keep the ResponseHeader the mux sets when
//     a mounted server has a Cookie: it sets the cookie of new sessions).
//   - A request with "Upgrade: websocket" and transport=polling is
//     refused (400, code 3), where ServeHTTP would serve it as polling.
//
// A LoopMux must not be changed once its Server serves.
type LoopMux struct {
	mounts []loopMount
	http   *http.ServeMux
	// ids holds the session ids that ResponseHeader put in the cookies
	// of WebSocket handshakes, for the Upgrade hook that follows each
	// (on the same goroutine: no failure comes between them), keyed by
	// the client's address and Sec-WebSocket-Key.
	ids sync.Map
}

type loopMount struct {
	prefix string
	srv    *Server
}

// NewLoopMux returns an empty LoopMux.
func NewLoopMux() *LoopMux { return &LoopMux{http: http.NewServeMux()} }

// Handle mounts s at the path prefix (such as "/engine.io/"): the
// requests whose path starts with it are s's, WebSocket and polling.
func (m *LoopMux) Handle(prefix string, s *Server) {
	m.mounts = append(m.mounts, loopMount{prefix, s})
	m.http.Handle(prefix, s)
}

// HandleHTTP registers h for the requests under pattern that ask for no
// WebSocket (see http.ServeMux): pages, health checks, metrics on the
// same port.
func (m *LoopMux) HandleHTTP(pattern string, h http.Handler) { m.http.Handle(pattern, h) }

// Server returns a loop.Server that serves the mounted servers: its
// Handler, Upgrade and Fallback are the mux's, its Options admit every
// origin (each Engine.IO server applies its own policy) and read messages
// up to the largest MaxPayload of the servers mounted, and its loops yield
// to the sockets' goroutines before they wait (YieldBeforeWait). Set its other
// fields (Loops, Logger, Options.Compression, ...) before serving it.
func (m *LoopMux) Server() *loop.Server {
	ls := &loop.Server{Handler: loopHandler{}, Upgrade: m.upgrade, Fallback: m.http}
	ls.Options.CheckOrigin = func(*http.Request) bool { return true }
	for _, mt := range m.mounts {
		ls.Options.Conn.ReadLimit = max(ls.Options.Conn.ReadLimit, mt.srv.opts.MaxPayload)
		if mt.srv.opts.Cookie != nil {
			ls.Options.ResponseHeader = m.responseHeader
		}
	}
	// The send queues are bounded by each session's MaxBufferedAmount.
	ls.Policy = loop.Policy{QueueBytes: -1, QueueSize: -1}
	// Each Socket.IO event is handed to its socket's goroutine: let
	// those run before a loop blocks in epoll_wait.
	ls.YieldBeforeWait = true
	return ls
}

// route returns the server mounted at the longest prefix of path, or nil.
func (m *LoopMux) route(path string) *Server {
	var srv *Server
	n := -1
	for _, mt := range m.mounts {
		if strings.HasPrefix(path, mt.prefix) && len(mt.prefix) > n {
			srv, n = mt.srv, len(mt.prefix)
		}
	}
	return srv
}

// upgrade is the loop.Server's Upgrade hook: it routes a WebSocket request
// to the server mounted at the longest prefix of its path.
func (m *LoopMux) upgrade(c *loop.Conn, raw *handshake.RawRequest) error {
	var id string
	if v, ok := m.ids.LoadAndDelete(cookieKey(c.RemoteAddr(), raw.Get("Sec-Websocket-Key"))); ok {
		id = v.(string)
	}
	srv := m.route(raw.URL.Path)
	if srv == nil {
		return &handshake.Error{Status: http.StatusNotFound, Reason: "no Engine.IO server at this path"}
	}
	return srv.upgradeLoop(c, raw, id)
}

// responseHeader sets the session cookie on the 101 of a handshake that
// may open a WebSocket-only session of a server with a Cookie, as
// ServeHTTP does; the session gets the id (see ids).
func (m *LoopMux) responseHeader(r *http.Request, h http.Header) {
	srv := m.route(r.URL.Path)
	if srv == nil || srv.opts.Cookie == nil || r.URL.Query().Get("sid") != "" {
		return
	}
	id := newID()
	h.Add("Set-Cookie", srv.sessionCookie(id))
	m.ids.Store(r.RemoteAddr+" "+r.Header.Get("Sec-Websocket-Key"), id)
}

// cookieKey is the key of ids.
func cookieKey(a net.Addr, key string) string {
	if a == nil {
		return " " + key
	}
	return a.String() + " " + key
}

// loopConn is the event-loop driver of the WebSocket transport: a
// loop.Conn whose messages the loop hands to the session's event-driven
// functions, with no goroutine of its own. Its writes never block: what
// the socket does not take waits in the connection's send queue. The
// session's writer (writeLoop) runs as on the goroutine driver: on the
// goroutine of WritePrepared's caller (an acknowledgement), or on one
// started when packets are queued, which ends once they are handed over,
// and meanwhile lets a run of broadcasts build up to go out in one
// vectored write.
type loopConn struct {
	c    *loop.Conn
	srv  *Server
	s    *Socket
	mode uint8 // what the connection is; the loop's
	b64  bool
	// scratch decodes base64 binary messages (b64 sessions); the loop's.
	scratch []byte
}

// Modes of a loopConn.
const (
	modeRefused = iota // a second WebSocket for the session: closed at open (1008)
	modeOpen           // a WebSocket-only session, its open packet not yet sent
	modeProbe          // the probe connection of an upgrade
	modeSession        // the session's transport
)

func (l *loopConn) write(typ ws.MessageType, data []byte) error { return l.c.Send(typ, data) }

func (l *loopConn) writeBatch(pms []*ws.PreparedMessage) error {
	if len(pms) == 1 {
		return l.c.SendPrepared(pms[0])
	}
	return l.c.SendPreparedBatch(pms)
}

func (l *loopConn) close(code ws.CloseCode) {
	if code == 0 {
		l.c.CloseNow()
		return
	}
	l.c.Close(code, "")
}

func (l *loopConn) buffered() int64 { return l.c.BufferedAmount() }

// loopHandler is the loop.Handler of a LoopMux: each connection's value
// is its *loopConn, set by the Upgrade hook.
type loopHandler struct{}

func (loopHandler) OnOpen(c *loop.Conn) {
	l, _ := c.Value().(*loopConn)
	if l == nil {
		return
	}
	switch l.mode {
	case modeRefused:
		c.Close(ws.ClosePolicyViolation, "")
	case modeOpen:
		s := l.s
		s.conn = l
		l.mode = modeSession
		started := s.open(func() bool { return l.write(ws.Text, l.srv.openPacket(s.id, WebSocket)) == nil })
		if !started {
			// Shutting down: the session never was (no Open, so no
			// Close either).
			l.s, l.mode = nil, modeRefused
			c.Close(ws.CloseGoingAway, "server shutting down")
		}
	case modeProbe:
		if !l.s.startProbe(l) {
			l.mode = modeRefused
		}
	}
}

func (loopHandler) OnMessage(c *loop.Conn, typ ws.MessageType, data []byte) {
	l, _ := c.Value().(*loopConn)
	if l == nil {
		return
	}
	s := l.s
	if int64(len(data)) > l.srv.opts.MaxPayload {
		// The loop.Server reads up to the largest MaxPayload of its
		// servers; this one's is smaller (1009, as the read limit).
		c.Close(ws.CloseMessageTooBig, "")
		if l.mode == modeSession {
			s.terminate(wrapTransportError(errMessageTooBig), 0, ws.CloseMessageTooBig)
		} else if l.mode == modeProbe {
			s.abandonUpgrade(l, ws.CloseMessageTooBig)
		}
		return
	}
	switch l.mode {
	case modeProbe:
		switch s.onProbeMessage(l, typ, data) {
		case probeUpgraded:
			l.mode = modeSession
		case probeEnded:
			l.mode = modeRefused
		}
	case modeSession:
		if !s.onWSMessage(typ, data, &l.scratch, fromLoop) {
			l.mode = modeRefused
		}
		if cap(l.scratch) > 1024 {
			l.scratch = nil
		}
	}
}

func (loopHandler) OnClose(c *loop.Conn, err error) {
	l, _ := c.Value().(*loopConn)
	if l == nil || l.s == nil {
		return
	}
	// Whichever it was: the session's transport ends the session, a
	// probe is forgotten (each does nothing when t is neither).
	l.s.transportEnded(l, err)
	l.s.abandonUpgrade(l, 0)
	l.scratch = nil
}

// upgradeLoop serves a WebSocket handshake that came to a loop.Server,
// as ServeHTTP serves one: the same checks (route) and refusals.
// id, if not "", is the id of a new session (its cookie was set).
func (s *Server) upgradeLoop(c *loop.Conn, raw *handshake.RawRequest, id string) error {
	r := raw.HTTPRequest()
	if a := c.RemoteAddr(); a != nil {
		r.RemoteAddr = a.String()
	}
	var cors http.Header
	if s.cors != nil {
		cors = make(http.Header)
		s.cors.apply(headerOnly(cors), r)
	}
	sock, act, e := s.route(r, true)
	switch act {
	case actOpenWebSocket, actUpgrade:
	case actRefuse:
		return s.refusal(r, e, cors)
	default:
		// A polling request that asks for a WebSocket: not one the
		// event loops serve.
		return s.refusal(r, requestError(CodeBadRequest), cors)
	}
	// The WebSocket handshake's own checks, as Accept makes them with
	// Options.WebSocket: the loop made the others already.
	if !s.originAllowed(raw, r) {
		return handshake.ErrOrigin
	}
	l := &loopConn{c: c, srv: s}
	if act == actUpgrade {
		l.s = sock
		if sock.reserveUpgrade() {
			l.mode = modeProbe
		}
		c.SetValue(l)
		return nil
	}
	s.mu.Lock()
	down := s.shutdown
	s.mu.Unlock()
	if down {
		return &handshake.Error{Status: http.StatusServiceUnavailable, Reason: "engineio: server shutting down"}
	}
	l.s = newSocket(s, r, true, r.URL.Query().Has("b64"))
	if id != "" {
		l.s.id = id
	}
	l.mode = modeOpen
	c.SetValue(l)
	return nil
}

// originAllowed applies the origin policy of Options.WebSocket (or CORS's).
func (s *Server) originAllowed(raw *handshake.RawRequest, r *http.Request) bool {
	if s.wsOpts.CheckOrigin != nil {
		return s.wsOpts.CheckOrigin(r)
	}
	return raw.CheckOrigin(s.wsOpts.OriginPatterns) == nil
}

// refusal is the loop's answer to a refused request.
func (s *Server) refusal(r *http.Request, e *RequestError, h http.Header) error {
	if l := s.opts.Logger; l != nil {
		l.Debug("engineio: request refused", "code", e.Code, "message", e.Message,
			"method", r.Method, "url", r.URL.String(), "remote", r.RemoteAddr)
	}
	if h == nil {
		h = make(http.Header)
	}
	e.setHeader(h)
	return &loop.Refusal{Status: e.Status(), Header: h, Body: e.body()}
}

// errMessageTooBig: a WebSocket message over MaxPayload.
var errMessageTooBig = errors.New("message over maxPayload")

// wrapTransportError makes err the cause of ErrTransportError.
func wrapTransportError(err error) error { return fmt.Errorf("%w: %w", ErrTransportError, err) }

// headerOnly is a ResponseWriter that keeps the header fields set.
type headerOnly http.Header

func (h headerOnly) Header() http.Header       { return http.Header(h) }
func (headerOnly) Write(b []byte) (int, error) { return len(b), nil }
func (headerOnly) WriteHeader(int)             {}
