// Package engineio implements the server side of the Engine.IO protocol,
// revision 4 (the transport under Socket.IO 3 and later): the handshake,
// HTTP long-polling, WebSocket (directly, or as an upgrade from polling),
// the heartbeat, and the reference server's limits and error answers.
//
// A Server is an http.Handler mounted at a path prefix, "/engine.io/" by
// convention ("/socket.io/" under Socket.IO). It hands each session to a
// Handler as a *Socket: Open when the session starts, Message for each
// message packet, Close once at the end.
//
// This file is the API skeleton; the implementation follows.
package engineio

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/server"
)

// Server is an Engine.IO v4 server.
type Server struct{ opts Options }

// NewServer returns a server configured by opts (nil means the defaults).
func NewServer(opts *Options) *Server {
	s := &Server{}
	if opts != nil {
		s.opts = *opts
	}
	return s
}

// ServeHTTP serves the Engine.IO requests of every transport.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented yet", http.StatusNotImplemented)
}

// Shutdown closes every session (reason ErrServerShutdown) and waits for
// them to end, or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error { return nil }

// Options configure a Server.
type Options struct {
	PingInterval             time.Duration // default 25s
	PingTimeout              time.Duration // default 20s
	UpgradeTimeout           time.Duration // default 10s
	MaxPayload               int64         // maxHttpBufferSize, default 1e6; announced as "maxPayload"
	MaxBufferedAmount        int64         // bound of a polling session's outgoing buffer; default MaxPayload
	Transports               []string      // subset of "polling", "websocket"; default both
	DisableUpgrades          bool
	AllowRequest             func(r *http.Request) error
	CORS                     *CORS
	HTTPCompressionThreshold int
	Cookie                   *http.Cookie
	WebSocket                server.Options
	Handler                  Handler
	Logger                   *slog.Logger
}

// CORS is the cross-origin policy of the polling transport.
type CORS struct {
	AllowOrigins     []string
	AllowOriginFunc  func(origin string) bool
	AllowMethods     []string
	AllowHeaders     []string
	ExposeHeaders    []string
	AllowCredentials bool
	MaxAge           time.Duration
}

// Handler receives the sessions. Methods of one Socket are called one at a
// time, in order.
type Handler interface {
	Open(s *Socket)
	Message(s *Socket, typ ws.MessageType, data []byte)
	Close(s *Socket, reason error)
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

// Socket is one Engine.IO session.
type Socket struct{ id string }

// ID returns the session id.
func (s *Socket) ID() string { return s.id }

// Request returns the handshake request.
func (s *Socket) Request() *http.Request { return nil }

// Transport returns "polling" or "websocket".
func (s *Socket) Transport() string { return "" }

// Context ends when the session closes.
func (s *Socket) Context() context.Context { return context.Background() }

// Send queues one message packet.
func (s *Socket) Send(ctx context.Context, typ ws.MessageType, data []byte) error {
	return errors.ErrUnsupported
}

// SendPrepared sends several prepared message packets atomically and in order.
func (s *Socket) SendPrepared(ctx context.Context, ps ...*Prepared) error {
	return errors.ErrUnsupported
}

// Close closes the session from the server side.
func (s *Socket) Close() error { return nil }

// BufferedAmount returns the bytes queued and not yet handed to the transport.
func (s *Socket) BufferedAmount() int64 { return 0 }

// Prepared is a message packet encoded once for many receivers.
type Prepared struct {
	typ  ws.MessageType
	data []byte
}

// NewPrepared prepares a message packet.
func NewPrepared(typ ws.MessageType, data []byte) (*Prepared, error) {
	return &Prepared{typ: typ, data: data}, nil
}

// Close reasons.
var (
	ErrTransportClose = errors.New("transport close")
	ErrTransportError = errors.New("transport error")
	ErrPingTimeout    = errors.New("ping timeout")
	ErrParseError     = errors.New("parse error")
	ErrClientClose    = errors.New("forced close")
	ErrServerClose    = errors.New("forced server close")
	ErrServerShutdown = errors.New("server shutting down")
	// ErrClosed is returned by Send on a closed session.
	ErrClosed = errors.New("engineio: session closed")
)
