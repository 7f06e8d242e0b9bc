package server

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/rfc6455/ws"
)

// Server is an http.Handler that accepts WebSocket connections and runs
// Handle for each on a goroutine of its own, returning from ServeHTTP at
// once so that net/http frees what it holds for the request (about 10 KiB a
// connection). It keeps track of the connections so that Shutdown can close
// them all. Set its fields before
// first use and do not change them afterwards.
//
// Over HTTP/2 (RFC 8441) a connection is a stream of the request, which
// ends when its handler returns: there ServeHTTP runs Handle itself and
// returns once the connection has ended.
type Server struct {
	// Options configure Accept.
	Options Options

	// Handle is called with each accepted connection and the request it
	// came from, whose context no longer ends with the HTTP exchange. When
	// it returns, the connection is closed with 1000 (normal closure) if
	// it is still open. A panic in Handle is recovered and logged with its
	// stack, and the connection is closed with 1011 (internal error);
	// http.ErrAbortHandler closes it at once and is not logged, as net/http
	// does with handlers.
	Handle func(c *ws.Conn, r *http.Request)

	// Logger receives the panics recovered from Handle; nil means
	// slog.Default().
	Logger *slog.Logger

	// fn is the function of a Server made by Handler, which takes no
	// request: its connections' goroutines do not keep one.
	fn func(c *ws.Conn)

	mu sync.Mutex
	// sessions are the connections' sessions, in no order; each knows
	// its index (session.at). A slice rather than a map: an entry costs
	// a pointer, not a map slot and its share of the table.
	sessions []*session
	closing  bool
	wg       sync.WaitGroup
}

// Handler returns a Server that runs fn for each WebSocket connection, with
// default options:
//
//	http.Handle("/ws", server.Handler(func(c *ws.Conn) { ... }))
//
// Its Handle is nil: fn runs instead, with what Handle's documentation
// says of it (the connection closed when it returns, panics recovered).
// Setting Handle replaces fn.
func Handler(fn func(c *ws.Conn)) *Server {
	return &Server{fn: fn}
}

// ServeHTTP accepts the request with s.Options and runs s.Handle. Once
// Shutdown has been called it answers 503 Service Unavailable.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		w.Header().Set("Connection", "close")
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()

	// The connection is registered before the 101 is written: once the
	// client knows it is connected, Len and Shutdown know it too.
	e := &session{s: s, at: -1}
	c, err := accept(w, r, &s.Options, func(c *ws.Conn) {
		e.c = c
		s.mu.Lock()
		if !s.closing {
			// Shutdown leaves it to us until the 101 is out (ready).
			e.at = int32(len(s.sessions))
			s.sessions = append(s.sessions, e)
		}
		s.mu.Unlock()
	})
	if err != nil {
		s.forget(e)
		s.wg.Done()
		return // Accept answered the request.
	}
	s.mu.Lock()
	closing := s.closing
	registered := e.at >= 0
	if !closing && registered {
		e.ready = true
	}
	s.mu.Unlock()
	if closing || !registered {
		c.Close(ws.CloseGoingAway, shutdownReason)
		s.forget(e)
		s.wg.Done()
		return
	}
	// The connection runs on a goroutine of its own and ServeHTTP returns:
	// net/http then lets go of its per-connection buffers and request
	// state (about 10 KiB), which a handler that kept running would hold
	// for the connection's lifetime.
	// r stays reachable only as long as Handle uses it
	// (TestServerDoesNotKeepRequest); Handler's function takes none.
	if s.Handle != nil {
		e.r = r.WithContext(context.WithoutCancel(r.Context()))
	}
	// The path is copied: URL.Path is a piece of the request line, which
	// would otherwise stay for the connection's lifetime.
	e.remote, e.path = r.RemoteAddr, strings.Clone(r.URL.Path)
	if sc, ok := c.NetConn().(*streamConn); ok {
		// HTTP/2: the stream, and the response writer the Conn writes
		// to, end when this handler returns; it stays until the
		// connection is over and no write is under way.
		s.serve(e)
		sc.detach()
		return
	}
	go s.serve(e)
}

// serve runs Handle, or Handler's function, for one connection, then
// closes it. It is the bottom of the goroutine that waits on an idle
// connection, whose stack should stay at the 2 KiB a goroutine starts
// with, so its frame is kept small: what it needs is in e, on the heap,
// and the work at the end is in session.end, deferred.
func (s *Server) serve(e *session) {
	defer e.end()
	if s.Handle != nil {
		// The request stays reachable only as long as Handle uses it.
		r := e.r
		e.r = nil
		s.Handle(e.c, r)
	} else if s.fn != nil {
		s.fn(e.c)
	}
	e.returned = true
}

// session is what serve and its deferred end need: the connection, the
// request for Handle, and the client's address and the path for the log of
// a panic; and the connection's entry in the Server's list. It is kept
// small (64 bytes): every idle connection has one.
type session struct {
	s            *Server
	c            *ws.Conn
	r            *http.Request
	remote, path string
	at           int32 // index in s.sessions, -1 when not in it; guarded by s.mu
	ready        bool  // the 101 is written; guarded by s.mu
	returned     bool  // the function returned
}

// end closes the connection once Handle is done, and forgets it. A panic
// in Handle is recovered: logged with its stack and the connection closed
// with 1011, or closed at once for http.ErrAbortHandler.
func (e *session) end() {
	s, c := e.s, e.c
	if e.returned {
		c.Close(ws.CloseNormal, "")
	} else {
		switch v := recover(); v {
		case nil:
			// runtime.Goexit: not a panic.
			c.Close(ws.CloseNormal, "")
		case http.ErrAbortHandler:
			c.CloseNow()
		default:
			log := s.Logger
			if log == nil {
				log = slog.Default()
			}
			log.Error("server: recovered a panic in Handle; closing the connection with 1011",
				"remote", e.remote, "path", e.path, "panic", v, "stack", string(debug.Stack()))
			c.Close(ws.CloseInternalError, "internal error")
		}
	}
	s.forget(e)
	s.wg.Done()
}

// forget drops a connection that ended from the list, if it is in it: the
// last session takes its place.
func (s *Server) forget(e *session) {
	s.mu.Lock()
	if i := e.at; i >= 0 {
		last := len(s.sessions) - 1
		s.sessions[i] = s.sessions[last]
		s.sessions[i].at = i
		s.sessions[last] = nil
		s.sessions = s.sessions[:last]
		e.at = -1
		if len(s.sessions) == 0 && cap(s.sessions) > 1024 {
			s.sessions = nil // give a burst's table back
		}
	}
	s.mu.Unlock()
}

const shutdownReason = "server shutting down"

// Shutdown stops accepting connections and closes every open one with 1001
// (going away) and the reason "server shutting down" (RFC 6455 §7.4.1),
// then waits for the handlers to return. If ctx ends first, the remaining
// connections are closed at once and ctx's error is returned.
//
// The order matters: http.Server.Shutdown does not know about the
// connections taken over from it, and waits for the rest (a slow handler,
// a connection a browser opened in advance, which net/http counts as idle
// only after 5 seconds) before it returns. Call this Shutdown first or at
// the same time, never after it: the package's Shutdown function does it
// for an http.Server and its Servers, and is the way to stop both.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	conns := make([]*ws.Conn, 0, len(s.sessions))
	for _, e := range s.sessions {
		// A connection whose 101 is still being written is closed by
		// ServeHTTP once it is out.
		if e.ready {
			conns = append(conns, e.c)
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		go c.Close(ws.CloseGoingAway, shutdownReason)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for _, e := range s.sessions {
			e.c.CloseNow()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// Len returns the number of connections open.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}
