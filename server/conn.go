package server

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
)

// MaxRequestHeaderBytes bounds the request AcceptConn reads, request line
// and headers together; a longer one is answered with 431.
const MaxRequestHeaderBytes = 64 << 10

// ErrRequestTooLarge is wrapped by the error AcceptConn returns for a
// request longer than MaxRequestHeaderBytes.
var ErrRequestTooLarge = &handshake.Error{Status: http.StatusRequestHeaderFieldsTooLarge, Reason: "request headers too large"}

// ErrMalformedRequest is wrapped by the error AcceptConn returns for bytes
// that are not an HTTP request.
var ErrMalformedRequest = &handshake.Error{Status: http.StatusBadRequest, Reason: "malformed HTTP request"}

// AcceptConn performs the server side of the opening handshake on a raw
// connection, without net/http: it reads the request, checks and answers it
// as Accept does, and returns the WebSocket connection and the request
// (whose Body is empty). It is for servers that own their sockets; a TLS
// connection is handshaken first and the request's TLS field filled.
//
// The whole handshake, from the first byte read to the last byte of the
// response written, is bounded by opts.HandshakeTimeout: a client that sends
// half a request and stalls gets its connection closed. On failure the
// client has been answered (unless the failure was the connection's) and nc
// is closed.
func AcceptConn(nc net.Conn, opts *Options) (*ws.Conn, *http.Request, error) {
	if opts == nil {
		opts = &Options{}
	}
	timeout := opts.HandshakeTimeout
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	nc.SetDeadline(time.Now().Add(timeout))
	c, r, err := acceptConn(nc, opts)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	nc.SetDeadline(time.Time{})
	return c, r, nil
}

func acceptConn(nc net.Conn, opts *Options) (*ws.Conn, *http.Request, error) {
	var state *tls.ConnectionState
	if tc, ok := nc.(*tls.Conn); ok {
		if err := tc.Handshake(); err != nil {
			return nil, nil, fmt.Errorf("server: TLS handshake: %w", err)
		}
		cs := tc.ConnectionState()
		state = &cs
	}
	// Reading through a limit keeps a client from sending endless
	// headers; what the bufio.Reader holds past the request is handed to
	// the Conn, and the rest is still in nc.
	lr := &io.LimitedReader{R: nc, N: MaxRequestHeaderBytes}
	br := reqReaderPool.Get().(*bufio.Reader)
	br.Reset(lr)
	r, err := http.ReadRequest(br)
	// The request's fields are copies; br can be reused once its
	// leftovers are copied out, unless a body still reads from it.
	reuse := err == nil && r.Body == http.NoBody
	defer func() {
		if reuse {
			br.Reset(nil)
			reqReaderPool.Put(br)
		}
	}()
	if err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return nil, nil, fmt.Errorf("server: reading the handshake request: %w", err)
		case lr.N == 0:
			err = fmt.Errorf("%w: more than %d bytes", ErrRequestTooLarge, MaxRequestHeaderBytes)
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return nil, nil, fmt.Errorf("server: reading the handshake request: %w", err)
		default:
			err = fmt.Errorf("%w: %w", ErrMalformedRequest, err)
		}
		writeRawError(nc, nil, err)
		return nil, nil, err
	}
	r.RemoteAddr = nc.RemoteAddr().String()
	r.TLS = state
	p, err := negotiate(r, opts, nil)
	if err != nil {
		writeRawError(nc, r, err)
		return nil, nil, err
	}
	if p.req.HTTP2 {
		return nil, nil, errors.New("server: AcceptConn cannot serve HTTP/2")
	}
	buffered := bufferedBytes(br)
	if err := writeResponse(nc, p, opts.HandshakeTimeout); err != nil {
		return nil, nil, err
	}
	return ws.NewConn(nc, buffered, ws.RoleServer, &p.conn), r, nil
}

// reqReaderPool holds the readers AcceptConn reads requests with.
var reqReaderPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// writeRawError answers a failed handshake on a raw connection, with the
// same status, headers and text as handshake.WriteError, and
// "Connection: close".
func writeRawError(nc net.Conn, r *http.Request, err error) {
	rw := &rawResponse{header: make(http.Header)}
	handshake.WriteError(rw, r, err)
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", rw.status, http.StatusText(rw.status))
	rw.header.Set("Content-Length", strconv.Itoa(len(rw.body)))
	rw.header.Set("Connection", "close")
	rw.header.Write(&b)
	b.WriteString("\r\n")
	b.Write(rw.body)
	nc.Write([]byte(b.String()))
}

// rawResponse records what handshake.WriteError writes.
type rawResponse struct {
	header http.Header
	status int
	body   []byte
}

func (w *rawResponse) Header() http.Header { return w.header }
func (w *rawResponse) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *rawResponse) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, p...)
	return len(p), nil
}
