package engineio

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
	"github.com/rfc6455/ws/server"
)

// Defaults of the Options fields left zero: the reference server's.
const (
	DefaultPingInterval             = 25 * time.Second
	DefaultPingTimeout              = 20 * time.Second
	DefaultUpgradeTimeout           = 10 * time.Second
	DefaultMaxPayload               = 1_000_000
	DefaultHTTPCompressionThreshold = 1024
)

// Transport names, as in the transport query parameter.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

// Options configure a Server. The zero value (or a nil *Options) is ready
// to use, with the reference server's defaults; NewServer copies it.
type Options struct {
	// PingInterval is how often the server pings each session (the
	// heartbeat of protocol v4). Zero means 25 s.
	PingInterval time.Duration
	// PingTimeout is how long the client has to answer a ping with a pong
	// before the session is closed with ErrPingTimeout. Any packet the
	// client sends in that time extends it, as in the reference server.
	// Zero means 20 s.
	PingTimeout time.Duration
	// UpgradeTimeout bounds an upgrade from polling to WebSocket: a probe
	// connection that has not sent the upgrade packet in that time is
	// closed, and the session goes on polling. Zero means 10 s.
	UpgradeTimeout time.Duration
	// MaxPayload is the reference's maxHttpBufferSize: the largest POST
	// body and WebSocket message the server reads, in bytes, announced to
	// the client as "maxPayload" in the handshake. A larger POST is
	// answered with 413 and a larger WebSocket message with close code
	// 1009; either closes the session. Zero means 1,000,000.
	MaxPayload int64
	// MaxBufferedAmount bounds the bytes queued for one session and not
	// yet handed to its transport: over it, Send and SendPrepared block
	// and TrySendPrepared fails with ErrBufferFull. A single packet larger
	// than the bound is queued when nothing else is. Zero means
	// MaxPayload.
	MaxBufferedAmount int64
	// Transports lists the transports served, of Polling and WebSocket;
	// nil means both. A request for another is answered 400
	// {"code":0,"message":"Transport unknown"}.
	Transports []string
	// DisableUpgrades stops offering (and accepting) the upgrade from
	// polling to WebSocket; the reference's allowUpgrades: false.
	DisableUpgrades bool
	// AllowRequest, if set, is called with each handshake request (not
	// with the requests of established sessions); an error refuses it with
	// 403 {"code":4,"message":<the error's text>}.
	AllowRequest func(r *http.Request) error
	// CORS, if set, is the cross-origin policy for browsers that poll from
	// pages of other origins; see CORS. Unless Options.WebSocket has an
	// origin policy of its own, the same origins are also admitted to the
	// WebSocket transport. nil sends no CORS headers.
	CORS *CORS
	// HTTPCompressionThreshold is the smallest polling response that is
	// compressed (gzip or deflate, as the client's Accept-Encoding allows).
	// Zero means 1024 bytes; a negative value turns compression off.
	HTTPCompressionThreshold int
	// Cookie, if set, is the template of a cookie holding the session id,
	// set on the handshake response (for load balancers with sticky
	// sessions): its Name (default "io"), Path, Domain, MaxAge, Secure,
	// HttpOnly and SameSite are used, its Value is the session id.
	Cookie *http.Cookie
	// WebSocket configures the WebSocket handshake (origin policy,
	// compression, subprotocols, ...); see package server. Its
	// Conn.ReadLimit is replaced by MaxPayload.
	WebSocket server.Options
	// Handler receives the sessions; nil accepts and ignores them.
	Handler Handler
	// Logger, if set, receives a debug record for each refused request
	// and each closed session.
	Logger *slog.Logger
}

// Handler receives the sessions of a Server. Its methods for one Socket
// are called one at a time, in order: Open first, then Message for each
// message packet, and Close once, last. Sending and closing from inside
// them is allowed.
type Handler interface {
	// Open is called when a session starts, after the handshake packet was
	// queued and before any message.
	Open(s *Socket)
	// Message is called with each message packet; data is valid only
	// during the call.
	Message(s *Socket, typ ws.MessageType, data []byte)
	// Close is called once when the session has ended; reason is one of
	// the Err* close reasons (test with errors.Is), possibly wrapping a
	// cause.
	Close(s *Socket, reason error)
}

// An OpenDataHandler is a Handler that attaches a value of its own to each
// session: the Server calls OpenData in place of Open, at the same point
// and with the same guarantees, and keeps what it returns for the
// session's life, where Socket.Data returns it. A protocol layer keeps its
// state of the session there, found from each Message and Close without a
// lookup of its own. Only OpenData sets the value, so no other code can
// replace it.
type OpenDataHandler interface {
	Handler
	OpenData(s *Socket) any
}

// HandlerFuncs adapts functions to a Handler; nil fields are skipped.
type HandlerFuncs struct {
	OnOpen    func(s *Socket)
	OnMessage func(s *Socket, typ ws.MessageType, data []byte)
	OnClose   func(s *Socket, reason error)
}

// Open calls OnOpen.
func (h HandlerFuncs) Open(s *Socket) {
	if h.OnOpen != nil {
		h.OnOpen(s)
	}
}

// Message calls OnMessage.
func (h HandlerFuncs) Message(s *Socket, typ ws.MessageType, data []byte) {
	if h.OnMessage != nil {
		h.OnMessage(s, typ, data)
	}
}

// Close calls OnClose.
func (h HandlerFuncs) Close(s *Socket, reason error) {
	if h.OnClose != nil {
		h.OnClose(s, reason)
	}
}

// Server is an Engine.IO v4 server: an http.Handler to mount at a path
// prefix, such as "/engine.io/" (http.Handle("/engine.io/", srv)). It
// serves every request under it, whatever the rest of the path.
type Server struct {
	opts          Options
	handler       Handler
	dataHandler   OpenDataHandler // handler, if it is one
	polling       bool
	websocket     bool
	maxBuffered   int64
	gzipThreshold int
	cors          *CORS
	wsOpts        server.Options
	// openTail is the end of every handshake packet, after the sid and
	// the upgrades: `,"pingInterval":…,"pingTimeout":…,"maxPayload":…}`.
	openTail string

	mu       sync.Mutex
	sessions map[string]*Socket
	// closedPolls holds the ids of polling sessions that their clients
	// closed with no GET pending, for closedPollGrace (see bury).
	closedPolls map[string]struct{}
	hb          heartbeats
	live        int           // sessions whose Handler.Close has not returned
	shutdown    bool          // Shutdown was called
	idle        chan struct{} // closed when live reaches 0 after Shutdown
}

// NewServer returns a server configured by opts (nil means the defaults).
func NewServer(opts *Options) *Server {
	s := &Server{sessions: make(map[string]*Socket)}
	if opts != nil {
		s.opts = *opts
	}
	o := &s.opts
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	if o.UpgradeTimeout <= 0 {
		o.UpgradeTimeout = DefaultUpgradeTimeout
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	s.maxBuffered = o.MaxBufferedAmount
	if s.maxBuffered <= 0 {
		s.maxBuffered = o.MaxPayload
	}
	switch {
	case o.HTTPCompressionThreshold == 0:
		s.gzipThreshold = DefaultHTTPCompressionThreshold
	case o.HTTPCompressionThreshold < 0:
		s.gzipThreshold = -1
	default:
		s.gzipThreshold = o.HTTPCompressionThreshold
	}
	if o.Transports == nil {
		s.polling, s.websocket = true, true
	} else {
		s.polling = slices.Contains(o.Transports, Polling)
		s.websocket = slices.Contains(o.Transports, WebSocket)
	}
	s.handler = o.Handler
	if s.handler == nil {
		s.handler = HandlerFuncs{}
	}
	s.dataHandler, _ = s.handler.(OpenDataHandler)
	s.cors = o.CORS
	s.wsOpts = o.WebSocket
	s.wsOpts.Conn.ReadLimit = o.MaxPayload
	if s.cors != nil && s.wsOpts.CheckOrigin == nil && len(s.wsOpts.OriginPatterns) == 0 {
		// One origin policy for both transports: the pages allowed to
		// poll may also open the WebSocket (besides same-host pages and
		// non-browser clients, which package server admits anyway).
		c := s.cors
		s.wsOpts.CheckOrigin = func(r *http.Request) bool {
			return handshake.CheckOrigin(r, nil) == nil || c.allowsOrigin(r.Header.Get("Origin"))
		}
	}
	s.openTail = `,"pingInterval":` + strconv.FormatInt(o.PingInterval.Milliseconds(), 10) +
		`,"pingTimeout":` + strconv.FormatInt(o.PingTimeout.Milliseconds(), 10) +
		`,"maxPayload":` + strconv.FormatInt(o.MaxPayload, 10) + `}`
	return s
}

// Len returns the number of open sessions.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Socket returns the open session with the given id, or nil.
func (s *Server) Socket(id string) *Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

// ServeHTTP serves the Engine.IO requests of both transports: handshakes,
// polling GETs and POSTs of established sessions, WebSocket connections
// and upgrades. Refused requests get the reference server's answers: 400
// (403 for AllowRequest's refusals) with {"code":…,"message":…}.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cors != nil && s.cors.apply(w, r) {
		// A preflight request, answered by the CORS policy alone.
		return
	}
	sock, act, e := s.route(r, isWebSocketRequest(r))
	switch act {
	case actRefuse:
		s.refuse(w, r, e)
	case actBuried:
		writePayload(w, r, []byte{packetNoop}, -1)
	case actUpgrade:
		s.upgrade(w, r, sock)
	case actPoll:
		sock.poll(w, r)
	case actPost:
		sock.receive(w, r)
	case actOpenPolling:
		s.openPolling(w, r, r.URL.Query().Has("b64"))
	case actOpenWebSocket:
		s.openWebSocket(w, r, r.URL.Query().Has("b64"))
	}
}

// What route decides a request is.
const (
	actRefuse        = iota // refused: answer the RequestError
	actBuried               // a GET that crossed its client's close packet: a noop (see bury)
	actUpgrade              // a WebSocket for an established session
	actPoll                 // a polling GET of an established session
	actPost                 // a polling POST of an established session
	actOpenPolling          // a polling handshake
	actOpenWebSocket        // a WebSocket handshake without a session
)

// route applies the reference server's checks to a request, in its order,
// and says what the request is; both drivers serve what it decides.
// isUpgrade says that the request asks for a WebSocket.
func (s *Server) route(r *http.Request, isUpgrade bool) (*Socket, int, *RequestError) {
	q := r.URL.Query()
	transport := q.Get("transport")
	if !(transport == Polling && s.polling || transport == WebSocket && s.websocket) {
		return nil, actRefuse, requestError(CodeUnknownTransport)
	}
	if sid := q.Get("sid"); sid != "" {
		sock := s.Socket(sid)
		if sock == nil && transport == Polling && r.Method == http.MethodGet && s.unbury(sid) {
			return nil, actBuried, nil
		}
		if sock == nil || sock.overdue() {
			return nil, actRefuse, requestError(CodeUnknownSID)
		}
		if transport == WebSocket {
			if !isUpgrade {
				return nil, actRefuse, requestError(CodeBadRequest)
			}
			return sock, actUpgrade, nil
		}
		// A request of another transport than the session's, without an
		// upgrade, is a TRANSPORT_MISMATCH (after an upgrade, polling
		// requests of the session are refused).
		if sock.Transport() != Polling {
			return nil, actRefuse, requestError(CodeBadRequest)
		}
		switch r.Method {
		case http.MethodGet:
			return sock, actPoll, nil
		case http.MethodPost:
			return sock, actPost, nil
		}
		return nil, actRefuse, requestError(CodeBadRequest)
	}
	// A handshake: GET only.
	if r.Method != http.MethodGet {
		return nil, actRefuse, requestError(CodeBadHandshakeMethod)
	}
	if transport == WebSocket && !isUpgrade {
		return nil, actRefuse, requestError(CodeBadRequest)
	}
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(r); err != nil {
			e := requestError(CodeForbidden)
			e.Message = err.Error()
			return nil, actRefuse, e
		}
	}
	// Only revision 4 is spoken (the reference's allowEIO3 is off by
	// default, and this server has no revision 3).
	if q.Get("EIO") != "4" {
		return nil, actRefuse, requestError(CodeUnsupportedProtocolVersion)
	}
	if transport == Polling {
		return nil, actOpenPolling, nil
	}
	return nil, actOpenWebSocket, nil
}

// refuse answers a refused request.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, e *RequestError) {
	if l := s.opts.Logger; l != nil {
		l.Debug("engineio: request refused", "code", e.Code, "message", e.Message,
			"method", r.Method, "url", r.URL.String(), "remote", r.RemoteAddr)
	}
	writeRequestError(w, e)
}

// isWebSocketRequest reports a WebSocket opening handshake: an HTTP/1.1
// upgrade (RFC 6455 §4.1) or an HTTP/2 extended CONNECT (RFC 8441 §4).
func isWebSocketRequest(r *http.Request) bool {
	if r.Method == http.MethodConnect {
		return r.Proto == "websocket" || r.Header.Get(":protocol") == "websocket"
	}
	for _, v := range r.Header.Values("Upgrade") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "websocket") {
				return true
			}
		}
	}
	return false
}

// newID returns a session id: 15 random bytes as 20 URL-safe base64
// characters, like the reference's base64id.
func newID() string {
	var b [15]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// register adds a new session, unless the server is shutting down.
func (s *Server) register(sock *Socket) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return false
	}
	for s.sessions[sock.id] != nil {
		sock.id = newID()
	}
	s.sessions[sock.id] = sock
	s.live++
	return true
}

// forget removes a closed session from the registry.
func (s *Server) forget(sock *Socket) {
	s.mu.Lock()
	if s.sessions[sock.id] == sock {
		delete(s.sessions, sock.id)
	}
	s.mu.Unlock()
}

// closedPollGrace is how long a GET that crossed the client's close packet
// still gets its noop.
const closedPollGrace = time.Second

// bury remembers for a moment a polling session its client closed with no
// GET pending. The client sent its next poll before the close packet; on a
// busy server that GET may be handled after it, and it then gets the noop
// a pending poll gets when the client closes (protocol v4: the close packet
// closes the transport), once; later requests are refused as usual.
func (s *Server) bury(id string) {
	s.mu.Lock()
	if s.closedPolls == nil {
		s.closedPolls = make(map[string]struct{})
	}
	s.closedPolls[id] = struct{}{}
	s.mu.Unlock()
	time.AfterFunc(closedPollGrace, func() { s.unbury(id) })
}

// unbury forgets a buried session and reports whether it was there.
func (s *Server) unbury(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.closedPolls[id]
	delete(s.closedPolls, id)
	return ok
}

// ended counts a session whose Handler.Close has returned.
func (s *Server) ended() {
	s.mu.Lock()
	s.live--
	if s.live == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
	s.mu.Unlock()
}

// openPacket returns the handshake packet of a session (protocol v4,
// "Handshake"): 0{"sid","upgrades","pingInterval","pingTimeout","maxPayload"}.
func (s *Server) openPacket(sid string, transport string) []byte {
	b := make([]byte, 0, 96)
	b = append(b, packetOpen)
	b = append(b, `{"sid":"`...)
	b = append(b, sid...)
	b = append(b, `","upgrades":[`...)
	if transport == Polling && s.websocket && !s.opts.DisableUpgrades {
		b = append(b, `"websocket"`...)
	}
	b = append(b, ']')
	b = append(b, s.openTail...)
	return b
}

// sessionCookie returns the Set-Cookie value for a new session, or "".
func (s *Server) sessionCookie(sid string) string {
	if s.opts.Cookie == nil {
		return ""
	}
	c := *s.opts.Cookie
	if c.Name == "" {
		c.Name = "io"
	}
	c.Value = sid
	return c.String()
}

// Shutdown closes every session with ErrServerShutdown (a polling session's
// pending GET gets a close packet, a WebSocket is closed with 1001) and
// refuses new handshakes with 503. It waits until Handler.Close has
// returned for every session, or until ctx ends, whose error it then
// returns.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	socks := make([]*Socket, 0, len(s.sessions))
	for _, sock := range s.sessions {
		socks = append(socks, sock)
	}
	var idle chan struct{}
	if s.live > 0 {
		if s.idle == nil {
			s.idle = make(chan struct{})
		}
		idle = s.idle
	}
	s.mu.Unlock()
	for _, sock := range socks {
		sock.terminate(ErrServerShutdown, packetClose, ws.CloseGoingAway)
	}

	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handshakeInfo is what a Socket keeps of its handshake request: the request
// line, host, remote address and headers packed in one string, and the
// TLS state. An idle session is the cost that matters, and a kept
// *http.Request with its header map costs about a kilobyte more.
type handshakeInfo struct {
	// packed is "method\nrequestURI\nproto\nhost\nremoteAddr\n" then
	// one "Key:value\n" line per header value (neither can hold a line
	// break: net/http refuses them).
	packed string
	tls    *tls.ConnectionState
}

func packRequest(r *http.Request) handshakeInfo {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	n := len(r.Method) + len(uri) + len(r.Proto) + len(r.Host) + len(r.RemoteAddr) + 5
	for k, vs := range r.Header {
		if handshakeOnly(k) {
			continue
		}
		for _, v := range vs {
			n += len(k) + len(v) + 2
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range [...]string{r.Method, uri, r.Proto, r.Host, r.RemoteAddr} {
		b.WriteString(f)
		b.WriteByte('\n')
	}
	for k, vs := range r.Header {
		if handshakeOnly(k) {
			continue
		}
		for _, v := range vs {
			b.WriteString(k)
			b.WriteByte(':')
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	return handshakeInfo{packed: b.String(), tls: r.TLS}
}

// request rebuilds the handshake request.
func (h handshakeInfo) request() *http.Request {
	rest := h.packed
	var f [5]string
	for i := range f {
		f[i], rest, _ = strings.Cut(rest, "\n")
	}
	r := &http.Request{
		Method:     f[0],
		RequestURI: f[1],
		Proto:      f[2],
		Host:       f[3],
		RemoteAddr: f[4],
		Header:     make(http.Header),
		Body:       http.NoBody,
		TLS:        h.tls,
	}
	r.ProtoMajor, r.ProtoMinor, _ = http.ParseHTTPVersion(r.Proto)
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		r.URL = u
	} else {
		r.URL = &url.URL{}
	}
	for rest != "" {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		k, v, _ := strings.Cut(line, ":")
		r.Header[k] = append(r.Header[k], v)
	}
	return r
}

// handshakeOnly reports the headers of a WebSocket opening handshake that
// serve only the handshake (RFC 6455 §4.1).
func handshakeOnly(k string) bool {
	switch k {
	case "Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions":
		return true
	}
	return false
}
