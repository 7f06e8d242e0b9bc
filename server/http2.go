package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rfc6455/ws"
)

// accept2 completes an RFC 8441 handshake: WebSocket on an HTTP/2 stream.
func accept2(w http.ResponseWriter, r *http.Request, p *plan) (*ws.Conn, error) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	for k, vs := range p.header {
		h[k] = vs
	}
	// RFC 8441 §5: a 2xx response completes the handshake; there is no
	// Sec-WebSocket-Accept.
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return nil, fmt.Errorf("server: sending the HTTP/2 response: %w", err)
	}
	sc := &streamConn{
		body:   r.Body,
		w:      w,
		rc:     rc,
		local:  addr{r.Context().Value(http.LocalAddrContextKey)},
		remote: addr{r.RemoteAddr},
	}
	return ws.NewConn(sc, nil, ws.RoleServer, &p.conn), nil
}

// streamConn is a net.Conn over an HTTP/2 stream: reads come from the
// request body, writes go to the response, flushed at once.
type streamConn struct {
	body   io.ReadCloser
	w      http.ResponseWriter
	rc     *http.ResponseController
	local  net.Addr
	remote net.Addr

	wmu       sync.Mutex
	closeOnce sync.Once
	closed    bool // guarded by wmu
}

var errStreamClosed = errors.New("server: HTTP/2 stream closed")

func (c *streamConn) Read(p []byte) (int, error) {
	n, err := c.body.Read(p)
	if errors.Is(err, http.ErrBodyReadAfterClose) {
		err = net.ErrClosed
	}
	return n, err
}

func (c *streamConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	n, err := c.w.Write(p)
	if err == nil {
		err = c.rc.Flush()
	}
	return n, err
}

// Close ends the reading side; the stream itself ends when the handler
// returns.
func (c *streamConn) Close() error {
	c.wmu.Lock()
	c.closed = true
	c.wmu.Unlock()
	err := net.ErrClosed
	c.closeOnce.Do(func() { err = c.body.Close() })
	return err
}

func (c *streamConn) LocalAddr() net.Addr  { return c.local }
func (c *streamConn) RemoteAddr() net.Addr { return c.remote }

func (c *streamConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}
func (c *streamConn) SetReadDeadline(t time.Time) error  { return c.rc.SetReadDeadline(t) }
func (c *streamConn) SetWriteDeadline(t time.Time) error { return c.rc.SetWriteDeadline(t) }

// addr is a net.Addr for what net/http reports as a string or net.Addr.
type addr struct{ v any }

func (a addr) Network() string {
	if na, ok := a.v.(net.Addr); ok {
		return na.Network()
	}
	return "tcp"
}

func (a addr) String() string {
	switch v := a.v.(type) {
	case net.Addr:
		return v.String()
	case string:
		return v
	}
	return ""
}
