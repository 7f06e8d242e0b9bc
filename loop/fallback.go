package loop

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"

	"github.com/rfc6455/ws/handshake"
	"github.com/rfc6455/ws/server"
)

// Requests that do not ask for a WebSocket (no "Upgrade: websocket") go to
// Server.Fallback, if set: the connection is handed to a net/http server,
// with the bytes read so far, and stays with it for its later requests.

// wantsFallback reports whether a request head that parseHead refused
// (err) goes to the Fallback handler anyway: one that does not ask for a
// WebSocket, such as a POST with a body (which handshake.ParseRequest
// refuses, as no body may precede a WebSocket's frames). net/http judges
// it, and answers it 400 if it is malformed.
func (s *Server) wantsFallback(head []byte, err error) bool {
	return s.Fallback != nil && errors.Is(err, handshake.ErrMalformed) && !asksUpgrade(head)
}

// asksUpgrade reports whether a request head has an Upgrade field that
// names websocket (case-insensitive, RFC 9110 §7.8).
func asksUpgrade(head []byte) bool {
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		if len(line) > 8 && bytes.EqualFold(line[:8], []byte("upgrade:")) &&
			bytes.Contains(bytes.ToLower(line[8:]), []byte("websocket")) {
			return true
		}
	}
	return false
}

// fallback serves nc, whose first bytes (already read) are head, with the
// Fallback handler.
func (s *Server) fallback(nc net.Conn, head []byte) {
	s.fbOnce.Do(func() {
		s.fbLn = &connListener{ch: make(chan net.Conn), done: make(chan struct{}), addr: nc.LocalAddr()}
		s.fbSrv = &http.Server{
			Handler:           s.Fallback,
			MaxHeaderBytes:    s.maxHeaderBytes(),
			ReadHeaderTimeout: s.handshakeTimeout(),
			IdleTimeout:       server.DefaultIdleTimeout,
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.fbSrv.Serve(s.fbLn)
		}()
	})
	if s.fbLn == nil { // Shutdown came first
		nc.Close()
		return
	}
	s.fbLn.push(&prefixConn{Conn: nc, buf: head})
}

// shutdownFallback shuts the Fallback's server down.
func (s *Server) shutdownFallback(ctx context.Context) error {
	s.fbOnce.Do(func() {}) // no server is started after this
	if s.fbSrv == nil {
		return nil
	}
	err := s.fbSrv.Shutdown(ctx)
	if err != nil {
		s.fbSrv.Close()
	}
	return err
}

// connListener is a net.Listener whose connections are pushed to it.
type connListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }

func (l *connListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

// prefixConn is a connection whose first bytes were read already.
type prefixConn struct {
	net.Conn
	buf []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		if len(c.buf) == 0 {
			c.buf = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}
