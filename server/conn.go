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
	"syscall"
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
		opts = &noOptions
	}
	c, err := acceptConn(nc, opts, q)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// noOptions stands for nil Options.
var noOptions Options

// acceptConn reads, checks and answers the request on nc. The handshake
// timeout is a deadline on nc, set only when the handshake has to wait:
// a request that is in the socket when the server gets to it (as it
// usually is, a client sending it right after connecting) is read at
// once, and its short answer cannot block, so it costs no timer.
func acceptConn(nc net.Conn, opts *Options, q *request) (*ws.Conn, error) {
	q.nc = nc
	deadline := false
	if tc, ok := nc.(*tls.Conn); ok {
		if err := tlsHandshake(tc, q, opts.HandshakeTimeout); err != nil {
			return nil, err
		}
		deadline = true
	}
	raw, buffered, err := readHead(nc, opts.HandshakeTimeout, &deadline)
	if err != nil {
		return nil, headError(nc, err)
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
	if deadline {
		nc.SetDeadline(time.Time{})
	}
	return ws.NewConn(nc, buffered, ws.RoleServer, &p.conn), nil
}

// setHandshakeDeadline bounds what is left of the handshake on nc.
func setHandshakeDeadline(nc net.Conn, timeout time.Duration) {
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	nc.SetDeadline(time.Now().Add(timeout))
}

// tlsHandshake runs the TLS handshake of a raw connection under the
// handshake timeout, which then stays set for the rest of the handshake.
//
//go:noinline
func tlsHandshake(tc *tls.Conn, q *request, timeout time.Duration) error {
	setHandshakeDeadline(tc, timeout)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("server: TLS handshake: %w", err)
	}
	cs := tc.ConnectionState()
	q.tls = &cs
	return nil
}

// headError answers, when it is for the client to hear, a request that
// could not be read, and returns the error for AcceptConn.
//
//go:noinline
func headError(nc net.Conn, err error) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout(),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("server: reading the handshake request: %w", err)
	case errors.Is(err, ErrRequestTooLarge), errors.Is(err, handshake.ErrMalformed):
		writeRawError(nc, nil, err)
		return err
	}
	return fmt.Errorf("server: reading the handshake request: %w", err)
}

// headBufSize is the pooled buffer a request head is read into; a longer
// head grows it, up to MaxRequestHeaderBytes.
const headBufSize = 4096

// headBuf is a pooled buffer a request head is read into.
type headBuf struct {
	b []byte
	// peek is the buffer's peekFD bound once, for the socket's raw
	// connection; n and errno are its results.
	peek  func(fd uintptr) bool
	n     int
	errno syscall.Errno
}

// headBufPool holds the buffers request heads are read into.
var headBufPool = sync.Pool{New: func() any {
	hb := &headBuf{b: make([]byte, headBufSize)}
	hb.peek = hb.peekFD
	return hb
}}

// readHead reads a request head from nc and parses it in place. It returns
// the request and a copy of the bytes read past the head (the client's
// first frames). Unless *deadline says the handshake timeout is set
// already, it first takes what the socket holds without waiting, and sets
// the timeout (and *deadline) only if it has to wait for more. Each read's
// new bytes are scanned once for the head's end, so a client sending a
// byte at a time costs linear work.
func readHead(nc net.Conn, timeout time.Duration, deadline *bool) (*handshake.RawRequest, []byte, error) {
	hb := headBufPool.Get().(*headBuf)
	defer headBufPool.Put(hb)
	buf := hb.b
	n := 0
	if !*deadline {
		var err error
		if n, err = hb.peekSocket(nc); err != nil {
			return nil, nil, err
		}
		if n > 0 && headComplete(buf[:n], 0) {
			return parseHead(buf[:n])
		}
		setHandshakeDeadline(nc, timeout)
		*deadline = true
	}
	scanned := n
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
		if headComplete(buf[:n], scanned) {
			return parseHead(buf[:n])
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

// headComplete reports whether b holds the empty line that ends a head:
// "\n\n" or "\n\r\n" (a bare LF is a line end too, RFC 9112 §2.2). Only
// what follows b[:scanned], scanned before, is looked at, with the two
// bytes before it.
func headComplete(b []byte, scanned int) bool {
	b = b[max(scanned-2, 0):]
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false
		}
		b = b[i+1:]
		if len(b) > 0 && b[0] == '\n' || len(b) > 1 && b[0] == '\r' && b[1] == '\n' {
			return true
		}
	}
}

// parseHead parses the head at the start of b and returns it with a copy
// of the bytes that follow it.
func parseHead(b []byte) (*handshake.RawRequest, []byte, error) {
	r, hl, err := handshake.ParseRequest(b)
	if err != nil {
		return nil, nil, err
	}
	var rest []byte
	if hl < len(b) {
		rest = slices.Clone(b[hl:])
	}
	return r, rest, nil
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
