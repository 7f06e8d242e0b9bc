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
	"github.com/rfc6455/ws/internal/wsconn"
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
	c, err := acceptConn(nc, opts, &q)
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
	c, err := acceptConn(nc, opts, &q)
	if err != nil {
		return nil, nil, err
	}
	return c, q.raw, nil
}

// noOptions stands for nil Options.
var noOptions Options

// acceptConn is AcceptConn and UpgradeConn, filling q: it reads, checks
// and answers the request on nc, and closes nc on failure. The handshake
// timeout is a deadline on nc, set only when the handshake has to wait: a
// request that is in the socket when the server gets to it (as it usually
// is, a client sending it right after connecting) is read at once, and its
// short answer cannot block, so it costs no timer.
//
// What the handshake needs is in a pooled headBuf, not on the stack, and
// its steps are calls made from here, not nested: the goroutine that
// serves the connection afterwards should keep the 2 KiB stack it starts
// with, which the runtime doubles, for good, the first time more than
// about 1,100 bytes of it are used.
func acceptConn(nc net.Conn, opts *Options, q *request) (*ws.Conn, error) {
	if opts == nil {
		opts = &noOptions
	}
	q.nc = nc
	hb := headBufPool.Get().(*headBuf)
	var err error
	if tc, ok := nc.(*tls.Conn); ok {
		err = tlsHandshake(tc, q, opts.HandshakeTimeout)
		hb.deadline = true
	}
	if err == nil {
		// The head is parsed here, not where it is read: one frame less
		// above the allocations of the parse.
		var head []byte
		if head, err = hb.readHead(nc); err == nil && head == nil {
			// Not all there yet: the handshake timeout applies from
			// now on (set here, not deeper: a timer's update goes
			// deep into the runtime).
			setHandshakeDeadline(nc, opts.HandshakeTimeout)
			hb.deadline = true
			head, err = hb.readHeadMore(nc)
		}
		if err == nil {
			err = hb.parse(q, head)
		}
		if err != nil {
			err = headError(nc, err)
		}
	}
	var c *ws.Conn
	if err == nil {
		// The accept key (a SHA-1) is computed here, at the top, rather
		// than where the 101 is written; it is used if the request
		// passes.
		hb.ak.computeFor(q.raw)
		if err = hb.answer(nc, opts, q); err == nil {
			// With the socket's raw connection if peekSocket made
			// it, which the Conn then uses rather than make it
			// again; called from here, not from a helper, so that
			// the Conn is made one call below, as ws.NewConn would.
			if hb.rc != nil && newConnRaw != nil {
				c = newConnRaw(nc, hb.rc, hb.rest, ws.RoleServer, &hb.p.conn)
			} else {
				c = ws.NewConn(nc, hb.rest, ws.RoleServer, &hb.p.conn)
			}
		}
	}
	hb.reset()
	headBufPool.Put(hb)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// newConnRaw is ws's wsconn.NewConn: ws.NewConn given nc's raw
// connection, nil where ws has none.
var newConnRaw, _ = wsconn.NewConn.(func(nc net.Conn, rc syscall.RawConn, buffered []byte, role ws.Role, opts *ws.Options) *ws.Conn)

// parse parses the head at the start of b into q.raw, and keeps a copy
// of what follows it in hb.rest.
//
//go:noinline
func (hb *headBuf) parse(q *request, b []byte) error {
	r, hl, err := handshake.ParseRequest(b)
	if err != nil {
		return err
	}
	q.raw = r
	if hl < len(b) {
		hb.rest = slices.Clone(b[hl:])
	}
	return nil
}

// answer checks and answers the request read.
//
//go:noinline
func (hb *headBuf) answer(nc net.Conn, opts *Options, q *request) error {
	hb.p.accept = &hb.ak
	if err := negotiate(q, opts, nil, &hb.p); err != nil {
		writeRawError(nc, q.hr, err)
		return err
	}
	if err := hb.writeResponse(nc, opts.HandshakeTimeout); err != nil {
		return err
	}
	if hb.deadline {
		nc.SetDeadline(time.Time{})
	}
	return nil
}

// writeResponse writes the 101 response of hb.p (RFC 6455 §4.2.2 item 5)
// in one write, built in hb.b (the request in it was parsed and copied),
// through the socket's raw connection when peekSocket found one, bounded
// by the handshake timeout.
func (hb *headBuf) writeResponse(nc net.Conn, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	b := appendResponse(hb.b[:0], &hb.p)
	// A deadline costs a timer and two updates of the poller; a short
	// response on a fresh TCP connection does not need one.
	_, isTCP := nc.(*net.TCPConn)
	bounded := !isTCP || len(b) > smallWriteNeverBlocks
	if bounded {
		nc.SetWriteDeadline(time.Now().Add(timeout))
	}
	var err error
	if hb.rc != nil {
		err = hb.rawWrite(nc, b)
	} else {
		_, err = nc.Write(b)
	}
	if err != nil {
		return fmt.Errorf("server: writing the handshake response: %w", err)
	}
	if bounded {
		return nc.SetWriteDeadline(time.Time{})
	}
	return nil
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

// headBuf is what the handshake of a raw connection needs: a pooled buffer
// a request head is read into and its response built in, and the state of
// the negotiation.
type headBuf struct {
	b []byte
	// peek is the buffer's peekFD bound once, for the socket's raw
	// connection; n and errno are its results.
	peek  func(fd uintptr) bool
	n     int
	errno syscall.Errno
	// rc is the socket's raw connection, which peekSocket found (nil if
	// none); put is writeFD bound once, which writes out through it.
	rc  syscall.RawConn
	put func(fd uintptr) bool
	out []byte
	// p and ak are the handshake's plan and accept key; rest is what
	// followed the request; deadline says the handshake timeout is set
	// on the connection.
	p        plan
	ak       acceptKey
	rest     []byte
	deadline bool
}

// headBufPool holds the buffers request heads are read into.
var headBufPool = sync.Pool{New: func() any {
	hb := &headBuf{b: make([]byte, headBufSize)}
	hb.peek = hb.peekFD
	hb.put = hb.writeFD
	return hb
}}

// reset drops what hb refers to from the handshake it served.
//
//go:noinline
func (hb *headBuf) reset() {
	hb.rc, hb.out, hb.rest, hb.deadline, hb.n = nil, nil, nil, false, 0
	hb.p = plan{}
	hb.ak = acceptKey{}
	if cap(hb.b) > headBufSize {
		hb.b = make([]byte, headBufSize)
	}
}

// readHead reads a request head from nc into hb.b, and returns the bytes
// read: the head and what followed it. Unless hb.deadline says the
// handshake timeout is set already, it takes what the socket holds without
// waiting: if that is not a whole head, it returns nil, and the caller sets
// the timeout (and hb.deadline) and calls readHeadMore.
func (hb *headBuf) readHead(nc net.Conn) ([]byte, error) {
	if hb.deadline {
		return hb.readHeadMore(nc)
	}
	n, err := hb.peekSocket(nc)
	if err != nil {
		return nil, err
	}
	hb.n = n
	if n > 0 && headComplete(hb.b[:n], 0) {
		return hb.b[:n], nil
	}
	return nil, nil
}

// readHeadMore is readHead once it may wait: hb.b[:hb.n] holds what the
// socket gave without waiting. Each read's new bytes are scanned once for
// the head's end, so a client sending a byte at a time costs linear work.
//
//go:noinline
func (hb *headBuf) readHeadMore(nc net.Conn) ([]byte, error) {
	buf := hb.b
	n := hb.n
	scanned := n
	for {
		if n == len(buf) {
			if len(buf) >= MaxRequestHeaderBytes {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrRequestTooLarge, MaxRequestHeaderBytes)
			}
			nb := make([]byte, min(2*len(buf), MaxRequestHeaderBytes))
			copy(nb, buf[:n])
			buf = nb
			hb.b = buf // the response is built in it; reset drops it
		}
		m, err := nc.Read(buf[n:])
		n += m
		if headComplete(buf[:n], scanned) {
			return buf[:n], nil
		}
		scanned = n
		if err != nil {
			if errors.Is(err, io.EOF) && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
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
