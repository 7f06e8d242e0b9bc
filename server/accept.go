package server

import (
	"bufio"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/handshake"
)

// DefaultHandshakeTimeout is the handshake timeout used when
// Options.HandshakeTimeout is zero.
const DefaultHandshakeTimeout = 10 * time.Second

// Options configure Accept. The zero value (or a nil *Options) is ready to
// use: same-origin and non-browser clients admitted, no subprotocol, no
// extension, the Conn's own defaults.
type Options struct {
	// Conn configures the connections Accept returns. Accept copies it
	// and sets Subprotocol to the negotiated one.
	Conn ws.Options

	// Subprotocols lists the subprotocols the server speaks, most preferred
	// first. The first of them that the client offers is chosen (the
	// server's preference wins; see handshake.SelectSubprotocol). If none
	// matches, the connection is accepted without a subprotocol and
	// Conn.Subprotocol returns "": the handler decides whether that will
	// do.
	Subprotocols []string

	// OriginPatterns lists the origins admitted besides those of the same
	// host as the request, as patterns such as "app.example.com",
	// "*.example.com" or "https://localhost:*" (see handshake.CheckOrigin
	// for the syntax). Ignored when CheckOrigin is set.
	OriginPatterns []string

	// CheckOrigin, if set, replaces the default origin policy: it returns
	// whether to admit the request, and a request it refuses is answered
	// with 403 Forbidden. A function that admits every request makes the
	// server open to cross-site WebSocket hijacking if it relies on
	// cookies; see the package documentation.
	CheckOrigin func(r *http.Request) bool

	// HandshakeTimeout bounds the handshake work that Accept does itself:
	// writing the response (and, in AcceptConn, reading the request). Zero
	// means DefaultHandshakeTimeout; it does not limit the connection once
	// accepted.
	HandshakeTimeout time.Duration

	// ResponseHeader, if set, is called before the response is written,
	// to add headers to it (Set-Cookie, for example). Headers already set
	// on the http.ResponseWriter, as by middleware, are sent as well.
	// Headers that belong to the handshake itself (Upgrade, Connection,
	// Sec-WebSocket-*) and framing headers are ignored.
	ResponseHeader func(r *http.Request, h http.Header)

	// Compression, if set, accepts permessage-deflate (RFC 7692) on these
	// terms: the first of the client's offers that the configuration can
	// accept is answered, and the Conn then compresses messages of at
	// least Threshold bytes at Level; Conn.Compression reports the
	// parameters. Every server_max_window_bits a client may ask for (8 to
	// 15) is granted. Offers that cannot be accepted are declined, and the
	// connection goes on uncompressed.
	Compression *deflate.ServerConfig

	// NegotiateExtensions, if set, negotiates extensions (RFC 6455 §9.1).
	// It is called with the client's offers, in the client's order, when
	// there are any (permessage-deflate offers are left out when
	// Compression is set), and returns the extensions accepted with the
	// parameters of the response. It may change conn, the options of the
	// connection being accepted, to configure the Conn for them. Every
	// name it returns must have been offered. An error rejects the
	// handshake with 400 Bad Request. Without it, offers are ignored and
	// no extension is used.
	NegotiateExtensions func(r *http.Request, offers []handshake.Extension, conn *ws.Options) ([]handshake.Extension, error)
}

// ErrExtensionRejected is wrapped by the error returned when the
// NegotiateExtensions hook fails; the client is answered with 400.
var ErrExtensionRejected = &handshake.Error{Status: http.StatusBadRequest, Reason: "extension offer rejected"}

// plan is the outcome of a successful negotiation.
type plan struct {
	// req is what the client asked for (see request) when it was
	// parsed in place: a part of the RawRequest; hreq, when it came
	// from net/http (Accept). Not a pointer to hreq, which would put a
	// plan on the stack on the heap.
	req  *handshake.Request
	hreq handshake.Request
	conn ws.Options
	// accept, if not nil, is the accept key computed before, for the
	// key it says.
	accept *acceptKey
	// header holds the response headers other than the status line and
	// the framing ones; nil when there are none.
	header http.Header
}

// request returns what the client asked for.
func (p *plan) request() *handshake.Request {
	if p.req != nil {
		return p.req
	}
	return &p.hreq
}

// request is the handshake request being negotiated: one from net/http
// (Accept), or one parsed in place (AcceptConn, UpgradeConn), whose
// *http.Request is built only when something asks for it.
type request struct {
	hr  *http.Request
	raw *handshake.RawRequest
	nc  net.Conn // the raw connection, for RemoteAddr
	// remote is the client's address when there is no nc (NegotiateRaw).
	remote string
	tls    *tls.ConnectionState
}

// http returns the request as a net/http one, building it on first use.
func (q *request) http() *http.Request {
	if q.hr == nil {
		q.hr = q.raw.HTTPRequest()
		if q.nc != nil {
			q.hr.RemoteAddr = q.nc.RemoteAddr().String()
		} else {
			q.hr.RemoteAddr = q.remote
		}
		q.hr.TLS = q.tls
	}
	return q.hr
}

// negotiate runs the checks and negotiations shared by Accept, AcceptConn
// and UpgradeConn. extra holds headers already set by the caller
// (middleware).
//
// It runs on the stack of every handshake, net/http's goroutine's for
// Accept, which is deep already: what only some handshakes need (a hook,
// a subprotocol, an extension, a failure's message) is out of line, so
// that the common handshake's frames stay small and the stack does not
// have to grow.
func negotiate(q *request, opts *Options, extra http.Header, p *plan) error {
	var req *handshake.Request
	var err error
	if q.raw != nil {
		req, err = q.raw.Check()
	} else {
		// CheckRequest is inlined: its Request is on this stack, and
		// p keeps a copy, not a second allocation.
		var hr *handshake.Request
		if hr, err = handshake.CheckRequest(q.hr); err == nil {
			p.hreq = *hr
		}
	}
	if err != nil {
		return err
	}
	// RFC 6455 §4.2.2 item 4 and §10.2: the origin policy; 403 on refusal.
	switch {
	case opts.CheckOrigin != nil:
		err = checkOriginHook(q, opts)
	case q.raw != nil:
		err = q.raw.CheckOrigin(opts.OriginPatterns)
	default:
		err = handshake.CheckOrigin(q.hr, opts.OriginPatterns)
	}
	if err != nil {
		return err
	}
	p.req = req // nil for a request from net/http: see request
	p.conn = opts.Conn
	p.header = nil
	if len(opts.Subprotocols) == 0 && opts.Compression == nil && len(extra) == 0 &&
		opts.ResponseHeader == nil && (opts.NegotiateExtensions == nil || len(p.request().Extensions) == 0) {
		// No subprotocol can be chosen, no extension accepted, no
		// header added: the plain 101.
		p.conn.Subprotocol = ""
		return nil
	}
	return negotiateMore(q, opts, extra, p)
}

// checkOriginHook applies Options.CheckOrigin.
//
//go:noinline
func checkOriginHook(q *request, opts *Options) error {
	if r := q.http(); !opts.CheckOrigin(r) {
		return fmt.Errorf("%w: %q refused by CheckOrigin", handshake.ErrOrigin, r.Header.Get("Origin"))
	}
	return nil
}

// negotiateMore is negotiate for a handshake that may choose a
// subprotocol, accept extensions or send more headers.
//
//go:noinline
func negotiateMore(q *request, opts *Options, extra http.Header, p *plan) error {
	req := p.request()
	// RFC 6455 §4.2.2 item 5, /subprotocol/: one of the client's offers,
	// or none.
	p.conn.Subprotocol = handshake.SelectSubprotocol(req.Subprotocols, opts.Subprotocols)
	var exts string
	offers := req.Extensions
	var pmd *handshake.Extension
	if opts.Compression != nil {
		pmd, offers = negotiateCompression(opts.Compression, offers, &p.conn)
	}
	var accepted []handshake.Extension
	if pmd != nil {
		accepted = append(accepted, *pmd)
	}
	if opts.NegotiateExtensions != nil && len(offers) > 0 {
		// The hook gets options of its own to change, so that p
		// itself does not escape to the heap for every handshake.
		conn := new(ws.Options)
		*conn = p.conn
		more, err := opts.NegotiateExtensions(q.http(), offers, conn)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrExtensionRejected, err)
		}
		p.conn = *conn
		accepted = append(accepted, more...)
	}
	if len(accepted) > 0 {
		// RFC 6455 §9.1: the server accepts only extensions the client
		// offered; answering with others would make the client fail.
		for i, e := range accepted {
			if !slices.ContainsFunc(req.Extensions, func(o handshake.Extension) bool { return o.Name == e.Name }) ||
				slices.ContainsFunc(accepted[:i], func(o handshake.Extension) bool { return o.Name == e.Name }) {
				return fmt.Errorf("server: NegotiateExtensions accepted %q, which was not offered or is accepted twice", e.Name)
			}
		}
		var err error
		if exts, err = handshake.FormatExtensions(accepted); err != nil {
			return fmt.Errorf("server: NegotiateExtensions: %w", err)
		}
	}
	// The header map is made only when there is something to put in it:
	// the common handshake sends none of these.
	if len(extra) > 0 || opts.ResponseHeader != nil {
		p.header = make(http.Header, len(extra))
		for k, vs := range extra {
			p.header[k] = slices.Clone(vs)
		}
		if opts.ResponseHeader != nil {
			opts.ResponseHeader(q.http(), p.header)
		}
		for k := range p.header {
			if reservedHeader(k) || !handshake.IsToken(k) {
				delete(p.header, k)
			}
		}
	}
	if p.conn.Subprotocol != "" || exts != "" {
		if p.header == nil {
			p.header = make(http.Header, 2)
		}
		if p.conn.Subprotocol != "" {
			p.header.Set("Sec-WebSocket-Protocol", p.conn.Subprotocol)
		}
		if exts != "" {
			p.header.Set("Sec-WebSocket-Extensions", exts)
		}
	}
	return nil
}

// reservedHeader reports headers that Accept writes itself or that make no
// sense on a 101 response.
func reservedHeader(k string) bool {
	k = http.CanonicalHeaderKey(k)
	switch k {
	case "Upgrade", "Connection", "Content-Length", "Transfer-Encoding", "Keep-Alive", "Trailer", "Te":
		return true
	}
	return strings.HasPrefix(k, "Sec-Websocket-")
}

// Accept performs the server side of the opening handshake for r (RFC 6455
// §4.2) and returns the WebSocket connection. opts may be nil.
//
// Over HTTP/1.1 it takes the connection over with http.ResponseController,
// so ResponseWriters wrapped by middleware work as long as they implement
// Unwrap. After Accept returns, w and r must not be used, and the handler
// may return while the Conn lives on. Over HTTP/2 (see the package
// documentation) the handler must not return before it is done with the
// Conn.
//
// On failure Accept returns an error that wraps the failed rule's sentinel
// error from package handshake (or ErrExtensionRejected). If the request
// itself was at fault, the client has been answered with the rule's HTTP
// status and a one-line explanation and the connection was not taken over;
// if writing the 101 failed, the connection has been closed.
func Accept(w http.ResponseWriter, r *http.Request, opts *Options) (*ws.Conn, error) {
	return accept(w, r, opts, nil)
}

// accept is Accept; onConn, if set, is called with the Conn before the 101
// response is written, so that a Server knows of the connection before the
// client does. It runs on net/http's goroutine, whose stack is deep
// already: what only some handshakes do is out of line.
func accept(w http.ResponseWriter, r *http.Request, opts *Options, onConn func(*ws.Conn)) (*ws.Conn, error) {
	if opts == nil {
		opts = &noOptions
	}
	var p plan
	if err := negotiate(&request{hr: r}, opts, w.Header(), &p); err != nil {
		handshake.WriteError(w, r, err)
		return nil, err
	}
	if p.hreq.HTTP2 {
		return acceptStream(w, r, &p, onConn)
	}
	nc, buffered, err := hijack(w, r)
	if err != nil {
		return nil, err
	}
	c := ws.NewConn(nc, buffered, ws.RoleServer, &p.conn)
	if onConn != nil {
		onConn(c)
	}
	if err := writeResponse(nc, &p, opts.HandshakeTimeout); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// acceptStream is accept over HTTP/2 (RFC 8441).
//
//go:noinline
func acceptStream(w http.ResponseWriter, r *http.Request, p *plan, onConn func(*ws.Conn)) (*ws.Conn, error) {
	c, err := accept2(w, r, p)
	if err == nil && onConn != nil {
		onConn(c)
	}
	return c, err
}

// hijack takes the connection over from net/http and returns it with the
// bytes net/http read past the request.
//
//go:noinline
func hijack(w http.ResponseWriter, r *http.Request) (net.Conn, []byte, error) {
	rc := http.NewResponseController(w)
	nc, brw, err := rc.Hijack()
	if err != nil {
		err = fmt.Errorf("server: cannot take over the connection: %w", err)
		handshake.WriteError(w, r, err)
		return nil, nil, err
	}
	// net/http may have set deadlines (ReadTimeout, WriteTimeout) meant
	// for one request; a WebSocket outlives them.
	nc.SetDeadline(time.Time{})
	// The client may have sent frames right behind its request; they are
	// in net/http's read buffer and belong to the Conn.
	return nc, bufferedBytes(brw.Reader), nil
}

// respBufPool holds the buffers 101 responses are built in.
var respBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// respWriter appends what http.Header.Write writes to a byte slice.
type respWriter struct{ b []byte }

func (w *respWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func (w *respWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

// appendAcceptKey appends AcceptKey(key) to b without allocating for a key
// of the valid length.
func appendAcceptKey(b []byte, key string) []byte {
	if len(key) != 24 {
		return append(b, handshake.AcceptKey(key)...)
	}
	var a acceptKey
	a.compute(key)
	return append(b, a.b[:]...)
}

// acceptKey is the Sec-WebSocket-Accept value (RFC 6455 §4.2.2 item 5)
// for a Sec-WebSocket-Key of 24 characters, computed ahead of the
// response.
type acceptKey struct {
	key string
	b   [28]byte
	in  [24 + len(handshake.GUID)]byte // what is hashed
}

// computeFor fills a for the key of the request r.
//
//go:noinline
func (a *acceptKey) computeFor(r *handshake.RawRequest) {
	a.compute(r.Get("Sec-Websocket-Key"))
}

// compute fills a for key, if it has 24 characters (the one copy of the
// allocation-free computation; appendAcceptKey uses it too), with what it
// hashes in a rather than on the stack.
//
//go:noinline
func (a *acceptKey) compute(key string) {
	if len(key) != 24 {
		return
	}
	a.key = key
	copy(a.in[:], key)
	copy(a.in[24:], handshake.GUID)
	sum := sha1.Sum(a.in[:])
	base64.StdEncoding.Encode(a.b[:], sum[:])
}

// smallWriteNeverBlocks is the largest response written to a fresh TCP
// connection without a write deadline: its send buffer is empty, so a write
// this short is copied into the kernel at once and cannot block.
const smallWriteNeverBlocks = 1024

// writeResponse writes the 101 response (RFC 6455 §4.2.2 item 5) in one
// write, bounded by the handshake timeout.
func writeResponse(nc net.Conn, p *plan, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	bp := respBufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 4096 {
			respBufPool.Put(bp)
		}
	}()
	b := appendResponse((*bp)[:0], p)
	*bp = b
	// A deadline costs a timer and two updates of the poller; a short
	// response on a fresh TCP connection does not need one.
	_, isTCP := nc.(*net.TCPConn)
	bounded := !isTCP || len(b) > smallWriteNeverBlocks
	if bounded {
		nc.SetWriteDeadline(time.Now().Add(timeout))
	}
	if _, err := nc.Write(b); err != nil {
		return fmt.Errorf("server: writing the handshake response: %w", err)
	}
	if bounded {
		return nc.SetWriteDeadline(time.Time{})
	}
	return nil
}

// appendResponse appends the 101 response (RFC 6455 §4.2.2 item 5) to b.
func appendResponse(b []byte, p *plan) []byte {
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\n"+
		"Upgrade: websocket\r\n"+
		"Connection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "...)
	key := p.request().Key
	if a := p.accept; a != nil && a.key == key && len(a.key) == 24 {
		b = append(b, a.b[:]...)
	} else {
		b = appendAcceptKey(b, key)
	}
	b = append(b, "\r\n"...)
	if len(p.header) > 0 {
		// Header.Write turns CR and LF in values into spaces: no header
		// injection through a hook; writing to memory cannot fail.
		w := &respWriter{b: b}
		p.header.Write(w)
		b = w.b
	}
	return append(b, "\r\n"...)
}

// bufferedBytes returns a copy of what br holds.
func bufferedBytes(br *bufio.Reader) []byte {
	n := br.Buffered()
	if n == 0 {
		return nil
	}
	b, _ := br.Peek(n)
	return slices.Clone(b)
}
