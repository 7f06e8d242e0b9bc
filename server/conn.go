package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
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
var ErrMalformedRequest = handshake.ErrMalformed

// AcceptConn performs the server side of the opening handshake on a raw
// connection, without net/http: it reads the request, checks and answers it
// as Accept does, and returns the WebSocket connection and the request
// (whose Body is empty). It is for servers that own their sockets; a TLS
// connection is handshaken first and the request's TLS field filled.
// UpgradeConn does the same without building an *http.Request.
//
// The whole handshake, from the first byte read to the last byte of the
// response written, is bounded by opts.HandshakeTimeout: a client that sends
// half a request and stalls gets its connection closed. On failure the
// client has been answered (unless the failure was the connection's) and nc
// is closed.
func AcceptConn(nc net.Conn, opts *Options) (*ws.Conn, *http.Request, error) {
	var q request
	c, err := upgradeConn(nc, opts, &q)
	if err != nil {
		return nil, nil, err
	}
	return c, q.http(), nil
}

// UpgradeConn is AcceptConn's zero-copy form: the request is read into a
// pooled buffer, parsed in place (handshake.ParseRequest) and checked with
// the same rules, and the 101 goes out in one write; an *http.Request is
// built only if a hook of opts (CheckOrigin, ResponseHeader,
// NegotiateExtensions) takes one. It returns the request as parsed.
// Limits, timeouts and failures are AcceptConn's.
func UpgradeConn(nc net.Conn, opts *Options) (*ws.Conn, *handshake.RawRequest, error) {
	var q request
	c, err := upgradeConn(nc, opts, &q)
	if err != nil {
		return nil, nil, err
	}
	return c, q.raw, nil
}

// upgradeConn is AcceptConn and UpgradeConn, filling q.
func upgradeConn(nc net.Conn, opts *Options, q *request) (*ws.Conn, error) {
	if opts == nil {
		opts = &Options{}
	}
	timeout := opts.HandshakeTimeout
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	nc.SetDeadline(time.Now().Add(timeout))
	c, err := acceptConn(nc, opts, q)
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

func acceptConn(nc net.Conn, opts *Options, q *request) (*ws.Conn, error) {
	q.nc = nc
	if tc, ok := nc.(*tls.Conn); ok {
		if err := tc.Handshake(); err != nil {
			return nil, fmt.Errorf("server: TLS handshake: %w", err)
		}
		cs := tc.ConnectionState()
		q.tls = &cs
	}
	raw, buffered, err := readHead(nc)
	if err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout(),
			errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("server: reading the handshake request: %w", err)
		case errors.Is(err, ErrRequestTooLarge), errors.Is(err, handshake.ErrMalformed):
			writeRawError(nc, nil, err)
			return nil, err
		}
		return nil, fmt.Errorf("server: reading the handshake request: %w", err)
	}
	q.raw = raw
	var p plan
	if err := negotiate(q, opts, nil, &p); err != nil {
		writeRawError(nc, q.hr, err)
		return nil, err
	}
	if err := writeResponse(nc, &p, opts.HandshakeTimeout); err != nil {
		return nil, err
	}
	return ws.NewConn(nc, buffered, ws.RoleServer, &p.conn), nil
}

// headBufSize is the pooled buffer a request head is read into; a longer
// head grows it, up to MaxRequestHeaderBytes.
const headBufSize = 4096

// headBufPool holds the buffers request heads are read into.
var headBufPool = sync.Pool{New: func() any { b := make([]byte, headBufSize); return &b }}

// readHead reads a request head from nc and parses it in place. It returns
// the request and a copy of the bytes read past the head (the client's
// first frames). Each read's new bytes are scanned once for the head's end,
// so a client sending a byte at a time costs linear work.
func readHead(nc net.Conn) (*handshake.RawRequest, []byte, error) {
	bp := headBufPool.Get().(*[]byte)
	defer headBufPool.Put(bp)
	buf := *bp
	n, scanned := 0, 0
	for {
		if n == len(buf) {
			if len(buf) >= MaxRequestHeaderBytes {
				return nil, nil, fmt.Errorf("%w: more than %d bytes", ErrRequestTooLarge, MaxRequestHeaderBytes)
			}
			nb := make([]byte, min(2*len(buf), MaxRequestHeaderBytes))
			copy(nb, buf[:n])
			buf = nb
		}
		m, err := nc.Read(buf[n:])
		n += m
		// The head ends with an empty line: "\n\n" or "\n\r\n" (a bare LF
		// is a line end too, RFC 9112 §2.2). Look only at what is new,
		// with the two bytes before it.
		from := max(scanned-2, 0)
		if bytes.Contains(buf[from:n], []byte("\n\n")) || bytes.Contains(buf[from:n], []byte("\n\r\n")) {
			r, hl, perr := handshake.ParseRequest(buf[:n])
			if perr != nil {
				return nil, nil, perr
			}
			var rest []byte
			if hl < n {
				rest = slices.Clone(buf[hl:n])
			}
			return r, rest, nil
		}
		scanned = n
		if err != nil {
			if errors.Is(err, io.EOF) && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, err
		}
	}
}

// writeRawError answers a failed handshake on a raw connection, with the
// same status, headers and text as handshake.WriteError, and
// "Connection: close".
func writeRawError(nc net.Conn, r *http.Request, err error) {
	nc.Write(appendRawError(nil, r, err))
}

// appendRawError appends writeRawError's response to b.
func appendRawError(b []byte, r *http.Request, err error) []byte {
	rw := &rawResponse{header: make(http.Header)}
	handshake.WriteError(rw, r, err)
	b = fmt.Appendf(b, "HTTP/1.1 %d %s\r\n", rw.status, http.StatusText(rw.status))
	rw.header.Set("Content-Length", strconv.Itoa(len(rw.body)))
	rw.header.Set("Connection", "close")
	w := &respWriter{b: b}
	rw.header.Write(w)
	b = append(w.b, "\r\n"...)
	return append(b, rw.body...)
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
