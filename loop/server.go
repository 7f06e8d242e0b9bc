package loop

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
	"github.com/rfc6455/ws/server"
	"github.com/rfc6455/ws/wsproto"
)

// Handler receives the events of a Server's connections. For one
// connection the events come one at a time, in order: OnOpen, then
// OnMessage for each message, then OnClose once.
//
// On the event loop, the methods run on the loop goroutine that serves the
// connection and many others: they must not block. Sending (Conn.Send)
// never blocks; work that waits (a database, another service) belongs on a
// goroutine of its own, which may send to the connection when it is done.
type Handler interface {
	// OnOpen is called once the connection is open, its 101 response
	// queued, before its first message.
	OnOpen(c *Conn)

	// OnMessage is called with each message, whole: its fragments
	// reassembled, decompressed, and, for text, checked to be UTF-8.
	// data is valid only until OnMessage returns.
	OnMessage(c *Conn, typ ws.MessageType, data []byte)

	// OnClose is called once the connection has ended, with why: a
	// *ws.CloseError carrying the peer's code when a close frame was
	// received (the peer's close, or its answer to ours), ErrPongTimeout
	// when the heartbeat gave up on it, ErrShutdown when the server shut
	// down, or the protocol or I/O error that ended it.
	OnClose(c *Conn, err error)
}

// PingHandler is implemented by Handlers that want the pings a connection
// receives. The pong has been queued when OnPing is called.
type PingHandler interface {
	OnPing(c *Conn, payload []byte)
}

// PongHandler is implemented by Handlers that want the pongs a connection
// receives.
type PongHandler interface {
	OnPong(c *Conn, payload []byte)
}

// HeartbeatHandler is implemented by Handlers that want to know when a
// heartbeat ping (Policy.PingInterval) was answered in time.
type HeartbeatHandler interface {
	OnHeartbeat(c *Conn)
}

// Overflow says what happens to a message for a connection whose send
// queue is full. The policies are those of package hub.
type Overflow uint8

// Overflow policies.
const (
	// Drop drops the message: Send returns ErrQueueFull and the
	// connection goes on.
	Drop Overflow = iota
	// CloseSlow closes the connection with Policy.OverflowCode and the
	// reason "send queue full": the messages queued and not begun are
	// dropped and the close frame goes out at once. Send returns
	// ErrQueueFull.
	CloseSlow
)

// Defaults for Policy fields left zero.
const (
	DefaultQueueBytes  = 4 << 20
	DefaultQueueSize   = 1024
	DefaultPongTimeout = 10 * time.Second
	// DefaultPauseBytes is Server.PauseBytes's default.
	DefaultPauseBytes = 256 << 10
)

// Policy bounds a connection's send queue and sets its heartbeat. A
// Server's Policy applies to each of its connections; Conn.SetPolicy gives
// a connection another one. Many connections may share a Policy, which
// must not change once in use.
type Policy struct {
	// QueueBytes bounds the payload bytes queued for the connection and
	// not yet written (BufferedAmount); zero means DefaultQueueBytes (4
	// MiB), negative means no bound. A message larger than the bound is
	// still taken when nothing is queued.
	QueueBytes int64

	// QueueSize bounds the messages queued; zero means DefaultQueueSize
	// (1024), negative means no bound.
	QueueSize int

	// Overflow is the policy for a message that does not fit; Drop by
	// default.
	Overflow Overflow

	// OverflowCode is the close code CloseSlow sends: 1013 (try again
	// later, the default) or 1008 (policy violation).
	OverflowCode ws.CloseCode

	// PingInterval, if positive, is how often the connection is pinged.
	// A pong must come within PongTimeout (zero means
	// DefaultPongTimeout), or the TCP connection is closed without a
	// close frame (a peer that does not read would never see one) and
	// OnClose gets ErrPongTimeout.
	PingInterval time.Duration
	PongTimeout  time.Duration
}

func (p *Policy) queueBytes() int64 {
	if p.QueueBytes == 0 {
		return DefaultQueueBytes
	}
	return p.QueueBytes
}

func (p *Policy) queueSize() int {
	if p.QueueSize == 0 {
		return DefaultQueueSize
	}
	return p.QueueSize
}

func (p *Policy) overflowCode() ws.CloseCode {
	if p.OverflowCode == 0 {
		return ws.CloseTryAgainLater
	}
	return p.OverflowCode
}

func (p *Policy) pongTimeout() time.Duration {
	if p.PongTimeout <= 0 {
		return DefaultPongTimeout
	}
	return p.PongTimeout
}

// Errors.
var (
	// ErrQueueFull: the connection's send queue cannot take the message
	// (see Overflow).
	ErrQueueFull = errors.New("loop: send queue full")
	// ErrClosed: the connection is closing or closed.
	ErrClosed = errors.New("loop: connection closed")
	// ErrPongTimeout: the connection did not answer a heartbeat ping
	// within Policy.PongTimeout and was closed.
	ErrPongTimeout = errors.New("loop: no pong within the timeout")
	// ErrShutdown: the server shut down.
	ErrShutdown = errors.New("loop: server shut down")
	// ErrServerClosed is returned by Serve once Shutdown has been called.
	ErrServerClosed = errors.New("loop: server closed")
	// ErrHandshakeTimeout: the opening handshake was not over within
	// the handshake timeout.
	ErrHandshakeTimeout = errors.New("loop: handshake timeout")
)

// shutdownGrace is how long Shutdown leaves the connections in their
// handshake to send their request (answered 503).
const shutdownGrace = time.Second

// errShuttingDown answers the handshakes that complete during Shutdown.
var errShuttingDown = &handshake.Error{Status: http.StatusServiceUnavailable, Reason: "server shutting down"}

// shutdownReason is the reason of the 1001 close frames Shutdown sends.
const shutdownReason = "server shutting down"

// Server accepts WebSocket connections on listeners and serves them from a
// small, fixed set of event-loop goroutines (Linux, epoll(7)); see the
// package documentation. Set its fields before the first Serve and do not
// change them afterwards.
type Server struct {
	// Handler receives the connections' events. It is required.
	Handler Handler

	// Options configure the opening handshake as they do package
	// server's: Subprotocols, OriginPatterns or CheckOrigin (403 on
	// refusal), Compression (permessage-deflate), ResponseHeader,
	// NegotiateExtensions, HandshakeTimeout (zero means
	// server.DefaultHandshakeTimeout, 10 s: the whole handshake, from
	// the connection's accept to its 101, against slowloris clients);
	// and the connections: Conn.ReadLimit (checked on each frame's
	// header, before the payload is read; 1009 past it) and
	// Conn.CloseTimeout. Conn.OnPing and Conn.OnPong are not used (see
	// PingHandler); Conn.WriteTimeout and Conn.FragmentSize neither.
	Options server.Options

	// Upgrade, if set, is called with each request that passed the
	// handshake's checks, before the 101 is sent: to authenticate the
	// client, route by path, or attach a value to the connection
	// (Conn.SetValue). An error refuses the handshake with the status
	// handshake.Status gives it (a *handshake.Error sets its own; others
	// are 500), or with a response of its own (a *Refusal). r is valid only during the call. It runs on an event
	// loop's goroutine and must not block.
	Upgrade func(c *Conn, r *handshake.RawRequest) error

	// MaxHeaderBytes bounds a request's head, request line and header
	// fields; a longer one is answered 431. Zero means
	// server.DefaultMaxHeaderBytes (32 KiB).
	MaxHeaderBytes int

	// Loops is the number of event-loop goroutines; zero means
	// GOMAXPROCS.
	Loops int

	// Policy bounds each connection's send queue and sets its heartbeat.
	Policy Policy

	// PauseBytes: while more than this many bytes wait to be written to
	// a connection, the server stops reading from it, so that a peer
	// that sends but does not read (the echoes of its messages, the
	// pongs to its pings) holds up only itself, and no more than this
	// plus one message. Zero means DefaultPauseBytes (256 KiB).
	PauseBytes int64

	// TLSConfig, if set, makes Serve speak TLS (wss://). TLS connections
	// are served by the goroutine driver (a goroutine per connection,
	// through the same Handler and Conn API), not by the event loop:
	// for event-loop memory on wss, terminate TLS in front of the
	// server (a load balancer, a TLS proxy) and serve plain connections.
	TLSConfig *tls.Config

	// Fallback, if set, serves the requests that do not ask for a
	// WebSocket (no "Upgrade: websocket"): a page, a health check,
	// metrics on the same port. Their connections are handed to a
	// net/http server (with the limits of NewHTTPServer) and stay with it
	// for their later requests. Without it, such requests are answered
	// as a WebSocket endpoint answers them (426 Upgrade Required, ...).
	Fallback http.Handler

	// Goroutines serves every connection with the goroutine driver, the
	// one that serves TLS and every connection on platforms without
	// epoll: a goroutine reading each connection and one writing it.
	Goroutines bool

	// YieldBeforeWait makes an event loop yield (runtime.Gosched) before
	// it blocks waiting for events after a round that handled some, so
	// that the goroutines its Handler readied in the round (work handed
	// to a goroutine, as package engineio's LoopMux does with each
	// Socket.IO event) run at once: a loop waiting in epoll_wait(2)
	// holds its P until the runtime takes it back. Leave it off when
	// the Handler does its work on the loop (an echo, a hub): there the
	// yield is CPU spent for nothing on every round (measured: 25–100%
	// more server CPU per echoed message at one connection).
	YieldBeforeWait bool

	// Logger receives the recovered panics of the Handler, at Error.
	// Nil means slog.Default().
	Logger *slog.Logger

	startOnce sync.Once
	startErr  error
	loops     []*evloop
	next      atomic.Uint32 // round-robin of new connections over loops
	start     time.Time     // the loops' clock starts here

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	acceptors map[*poller]struct{}  // the raw accept loops, woken by Shutdown
	gconns    map[*Conn]struct{}    // connections of the goroutine driver
	gshakes   map[net.Conn]struct{} // the goroutine driver's connections in their handshake
	closing   bool
	shutdown  atomic.Bool    // closing, read without the lock
	wg        sync.WaitGroup // connections, and listener goroutines
	count     atomic.Int64   // connections open or in their handshake

	fbOnce sync.Once
	fbSrv  *http.Server
	fbLn   *connListener

	testReadSize int                   // the loops' read buffer size, if not zero (tests)
	testConfig   func(*wsproto.Config) // changes each connection's core configuration (tests)
}

// isTemporary reports an accept error worth retrying after a pause (out
// of file descriptors, for example).
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// errPingTooLong is returned by Ping for a payload over 125 bytes.
var errPingTooLong = errors.New("loop: ping payload over 125 bytes (RFC 6455 §5.5)")

// ListenAndServe listens on the TCP address addr and serves it (see
// Serve).
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln and serves them until Shutdown, or
// until ln fails; it closes ln when it returns. After Shutdown it returns
// ErrServerClosed. Serve may be called for several listeners at once; they
// share the event loops.
//
// A *net.TCPListener (or any listener that is a syscall.Conn over a stream
// socket) is accepted from with accept4(2) on its descriptor, and its
// connections go to the event loops without a net.Conn being made for
// them. Other listeners' connections that are *net.TCPConn are taken over
// by the event loops too; the rest (and all with TLSConfig or Goroutines)
// go to the goroutine driver.
func (s *Server) Serve(ln net.Listener) error {
	if s.Handler == nil {
		ln.Close()
		return errors.New("loop: Server.Handler is nil")
	}
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	defer ln.Close()
	if s.TLSConfig == nil && !s.Goroutines {
		if err := s.startLoops(); err != nil {
			return err
		}
		if s.loops != nil {
			if err, ok := s.acceptRaw(ln); ok {
				return s.serveErr(err)
			}
		}
	}
	return s.serveErr(s.acceptConns(ln))
}

// serveErr is the error Serve returns for err, the listener's.
func (s *Server) serveErr(err error) error {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return ErrServerClosed
	}
	return err
}

// acceptConns accepts net.Conns from ln until it fails.
func (s *Server) acceptConns(ln net.Listener) error {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors, for example: wait as
				// net/http does rather than spin.
				delay = backoff(delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.serveConn(nc)
	}
}

// backoff returns the next wait after a failed accept, as net/http's:
// 5 ms doubling up to 1 s.
func backoff(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Millisecond
	}
	return min(2*d, time.Second)
}

// serveConn serves a connection accepted as a net.Conn.
func (s *Server) serveConn(nc net.Conn) {
	if s.TLSConfig != nil {
		nc = tls.Server(nc, s.TLSConfig)
	} else if !s.Goroutines && s.loops != nil {
		if tc, ok := nc.(*net.TCPConn); ok {
			if s.takeOver(tc) {
				return
			}
		}
	}
	s.serveGoroutines(nc)
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
}

// trackAcceptor registers a raw accept loop's poller, unless the server
// is shutting down.
func (s *Server) trackAcceptor(p *poller) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	if s.acceptors == nil {
		s.acceptors = make(map[*poller]struct{})
	}
	s.acceptors[p] = struct{}{}
	return true
}

func (s *Server) untrackAcceptor(p *poller) {
	s.mu.Lock()
	delete(s.acceptors, p)
	s.mu.Unlock()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// startLoops starts the event loops once; without epoll it starts none.
func (s *Server) startLoops() error {
	s.startOnce.Do(func() {
		s.start = time.Now()
		n := s.Loops
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		s.startErr = s.newLoops(n)
	})
	return s.startErr
}

// Len returns the number of connections open or in their opening
// handshake.
func (s *Server) Len() int { return int(s.count.Load()) }

// Shutdown stops accepting, closes every open connection with 1001 (going
// away) and the reason "server shutting down", gives the connections in
// their handshake a second at most (a request that comes is answered 503
// Service Unavailable), then waits for the connections' OnClose. If ctx ends
// first, the connections left are closed at once (without waiting for the
// peers' close frames) and ctx's error is returned once their OnClose has
// run. The event loops stop once every connection is gone.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.shutdown.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	for p := range s.acceptors {
		p.wake()
	}
	gconns := make([]*Conn, 0, len(s.gconns))
	for c := range s.gconns {
		gconns = append(gconns, c)
	}
	grace := time.Now().Add(shutdownGrace)
	for nc := range s.gshakes {
		nc.SetDeadline(grace)
	}
	s.mu.Unlock()
	// Wait for a Serve starting the event loops, and keep later ones
	// from starting any: s.loops is fixed from here on.
	s.startOnce.Do(func() {})
	for _, c := range gconns {
		c.closeWith(ws.CloseGoingAway, shutdownReason, ErrShutdown)
	}
	s.postAll(taskShutdown, true)
	// Then the connections still in their handshake, which no client
	// waits for as it waits for its 1001.
	s.postAll(taskDropHandshakes, false)
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	fberr := make(chan error, 1)
	go func() { fberr <- s.shutdownFallback(ctx) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.postAll(taskTerminate, false)
		s.mu.Lock()
		for c := range s.gconns {
			c.CloseNow()
		}
		s.mu.Unlock()
		<-done
	}
	for _, lp := range s.loops {
		lp.stop()
	}
	if ferr := <-fberr; err == nil {
		err = ferr
	}
	return err
}

// postAll posts a task of kind to every loop, and with wait waits until
// each has run it.
func (s *Server) postAll(kind uint8, wait bool) {
	var wg *sync.WaitGroup
	if wait {
		wg = new(sync.WaitGroup)
		wg.Add(len(s.loops))
	}
	for _, lp := range s.loops {
		lp.post(task{kind: kind, wg: wg})
	}
	if wg != nil {
		wg.Wait()
	}
}

// logger returns the Logger.
func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return server.DefaultMaxHeaderBytes
}

func (s *Server) handshakeTimeout() time.Duration {
	if s.Options.HandshakeTimeout > 0 {
		return s.Options.HandshakeTimeout
	}
	return server.DefaultHandshakeTimeout
}

func (s *Server) closeTimeout() time.Duration {
	if s.Options.Conn.CloseTimeout > 0 {
		return s.Options.Conn.CloseTimeout
	}
	return ws.DefaultCloseTimeout
}

func (s *Server) pauseBytes() int64 {
	if s.PauseBytes > 0 {
		return s.PauseBytes
	}
	return DefaultPauseBytes
}
