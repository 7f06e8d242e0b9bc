package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/handshake"
)

// DefaultHandshakeTimeout bounds a handshake whose Options.HandshakeTimeout
// is zero, dialing included.
const DefaultHandshakeTimeout = 30 * time.Second

// MaxErrorBodySize is how much of the body of a refusal Dial keeps readable
// in HandshakeError.Response.
const MaxErrorBodySize = 64 << 10

// DefaultMaxResponseHeaderBytes bounds the handshake response's head
// (status line and headers) when Options.MaxResponseHeaderBytes is zero.
const DefaultMaxResponseHeaderBytes = 64 << 10

// ErrResponseTooLarge is wrapped by the error Dial returns when the server's
// (or the proxy's) response head is longer than Options.MaxResponseHeaderBytes.
var ErrResponseTooLarge = errors.New("client: handshake response head too large")

// Options configure Dial. The zero value (or a nil *Options) is ready to
// use.
type Options struct {
	// Conn configures the connection Dial returns. Dial copies it and sets
	// Subprotocol to the negotiated one.
	Conn ws.Options

	// Header holds extra request headers: Authorization, Cookie, Origin,
	// User-Agent and the like. Headers that the handshake sets itself
	// (Host, Upgrade, Connection, Sec-WebSocket-*) are refused; use the
	// fields below for them.
	Header http.Header

	// Subprotocols are offered in Sec-WebSocket-Protocol, most preferred
	// first. The server picks at most one; Conn.Subprotocol reports it.
	Subprotocols []string

	// Host, if set, is sent as the Host header instead of the URL's host,
	// for servers reached by address or through a tunnel. It does not
	// change where Dial connects nor the TLS server name (see TLSConfig).
	Host string

	// TLSConfig configures wss:// connections. Nil means the defaults. If
	// ServerName is empty, the URL's host name is used. NextProtos is
	// replaced: the handshake speaks HTTP/1.1.
	TLSConfig *tls.Config

	// DialContext, if set, opens the TCP connection (to the proxy, when
	// there is one) in place of a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Proxy returns the proxy for a request, as http.Transport's Proxy
	// does: nil URL for none. Nil means http.ProxyFromEnvironment, which
	// sees ws:// URLs as http:// and wss:// as https://. NoProxy turns
	// proxies off. HTTP and HTTPS proxies are supported, through CONNECT;
	// credentials in the proxy URL are sent as Proxy-Authorization (Basic).
	Proxy func(*http.Request) (*url.URL, error)

	// ProxyHeader holds extra headers for the proxy's CONNECT request.
	ProxyHeader http.Header

	// HandshakeTimeout bounds the whole handshake, dialing and proxying
	// included, on top of Dial's context. Zero means
	// DefaultHandshakeTimeout; negative means none but the context.
	HandshakeTimeout time.Duration

	// MaxResponseHeaderBytes bounds the head of the server's handshake
	// response, and of a proxy's answer to CONNECT: status line and
	// headers together. A longer one fails Dial with an error wrapping
	// ErrResponseTooLarge, having read no more than that. Zero means
	// DefaultMaxResponseHeaderBytes (64 KiB).
	MaxResponseHeaderBytes int

	// Compression, if set, offers permessage-deflate (RFC 7692) with these
	// parameters. When the server accepts, the Conn compresses messages of
	// at least Threshold bytes at Level, and Conn.Compression reports the
	// negotiated parameters; a response the offer does not allow fails the
	// handshake. This library compresses with any window the server asks
	// for, so the offer always includes client_max_window_bits.
	Compression *deflate.ClientConfig

	// Extensions are offered in Sec-WebSocket-Extensions (RFC 6455 §9.1),
	// after permessage-deflate if Compression is set. Offering extensions
	// requires AcceptExtensions.
	Extensions []handshake.Extension

	// AcceptExtensions is called with the extensions the server accepted
	// (only offered names, each at most once; possibly none) when
	// Extensions is not empty. It checks their parameters and configures
	// the connection through conn. An error fails the handshake.
	AcceptExtensions func(accepted []handshake.Extension, conn *ws.Options) error
}

// NoProxy is a Proxy function that uses no proxy.
func NoProxy(*http.Request) (*url.URL, error) { return nil, nil }

// ErrInvalidOptions is wrapped by the errors Dial returns, before dialing,
// for a URL or options it cannot use.
var ErrInvalidOptions = errors.New("client: invalid dial options")

// HandshakeError is returned by Dial when the server's answer is not a valid
// WebSocket handshake response: a status other than 101, or a 101 that
// fails a check of RFC 6455 §4.1.
type HandshakeError struct {
	// StatusCode is the response's status code.
	StatusCode int
	// Response is the server's response. Its body, if any, has been read
	// (up to MaxErrorBodySize bytes) and stays readable; the connection
	// is closed.
	Response *http.Response
	// Err is the failed check; it wraps one of package handshake's
	// response errors (handshake.ErrStatus for a refusal).
	Err error
}

// Error implements the error interface.
func (e *HandshakeError) Error() string {
	return fmt.Sprintf("client: handshake failed with %s: %v", e.Response.Status, e.Err)
}

// Unwrap returns e.Err.
func (e *HandshakeError) Unwrap() error { return e.Err }

// reservedRequestHeaders are the headers Dial writes itself.
var reservedRequestHeaders = []string{
	"Host", "Upgrade", "Connection", "Content-Length", "Transfer-Encoding", "Te", "Trailer",
}

// Dial opens a WebSocket connection to rawURL (ws://host[:port]/path?query
// or wss://...; http and https are accepted as their aliases) and performs
// the opening handshake (RFC 6455 §4.1). It returns the connection and the
// server's response, whose body is empty. opts may be nil.
//
// ctx bounds the dial and the handshake, as does opts.HandshakeTimeout; it
// does not bound the connection afterwards. When the server does not answer
// with a valid 101, Dial returns a *HandshakeError and, with it, the
// response.
func Dial(ctx context.Context, rawURL string, opts *Options) (*ws.Conn, *http.Response, error) {
	if opts == nil {
		opts = &Options{}
	}
	opts = withCompression(opts)
	d, err := prepare(rawURL, opts)
	if err != nil {
		return nil, nil, err
	}
	timeout := opts.HandshakeTimeout
	if timeout == 0 {
		timeout = DefaultHandshakeTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	nc, err := d.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, resp, err := d.handshake(ctx, nc)
	if err != nil {
		nc.Close()
		return nil, resp, err
	}
	return c, resp, nil
}

// dialer holds one Dial's checked inputs.
type dialer struct {
	opts   *Options
	u      *url.URL // scheme normalised to ws or wss
	addr   string   // host:port to reach
	secure bool
	key    string
	req    *http.Request
}

// prepare checks everything that can be checked before dialing and builds
// the request (RFC 6455 §4.1, the client's requirements).
func prepare(rawURL string, opts *Options) (*dialer, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	// A WebSocket URL is scheme "://" authority (RFC 6455 §3). Without
	// "://" there is no scheme, whatever url.Parse makes of the rest:
	// "127.0.0.1:8080" does not parse, "localhost:8080" parses with the
	// scheme "localhost".
	if !strings.Contains(rawURL, "://") {
		return nil, invalid("URL %q has no scheme; use ws:// or wss://", rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, invalid("%v", err)
	}
	d := &dialer{opts: opts, u: u}
	// RFC 6455 §3: the ws and wss URI schemes.
	switch strings.ToLower(u.Scheme) {
	case "ws", "http":
		u.Scheme = "ws"
	case "wss", "https":
		u.Scheme, d.secure = "wss", true
	case "":
		return nil, invalid("URL %q has no scheme; use ws:// or wss://", rawURL)
	default:
		return nil, invalid("URL scheme %q is not ws or wss", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, invalid("URL %q has no host", rawURL)
	}
	// RFC 6455 §3: "Fragment identifiers are meaningless in the context
	// of WebSocket URIs and MUST NOT be used on these URIs."
	if u.Fragment != "" || strings.Contains(rawURL, "#") {
		return nil, invalid("URL %q has a fragment, which WebSocket URLs must not have", rawURL)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if d.secure {
			port = "443"
		}
	}
	d.addr = net.JoinHostPort(u.Hostname(), port)

	for _, p := range opts.Subprotocols {
		// RFC 6455 §4.1: each subprotocol is a token, offered once.
		if !handshake.IsToken(p) {
			return nil, invalid("subprotocol %q is not a token", p)
		}
	}
	for i, p := range opts.Subprotocols {
		if slices.Contains(opts.Subprotocols[:i], p) {
			return nil, invalid("subprotocol %q offered twice", p)
		}
	}
	var exts string
	if len(opts.Extensions) > 0 {
		if opts.AcceptExtensions == nil {
			return nil, invalid("Extensions offered without AcceptExtensions")
		}
		if exts, err = handshake.FormatExtensions(opts.Extensions); err != nil {
			return nil, invalid("%v", err)
		}
	}
	for k := range opts.Header {
		ck := http.CanonicalHeaderKey(k)
		if slices.Contains(reservedRequestHeaders, ck) || strings.HasPrefix(ck, "Sec-Websocket-") {
			return nil, invalid("header %s is set by the handshake", k)
		}
		if !handshake.IsToken(k) {
			return nil, invalid("header name %q is not a token", k)
		}
	}

	d.key = handshake.NewKey()
	// The request line carries the path and query, with "/" for none
	// (RFC 6455 §3, /resource name/).
	reqURL := &url.URL{Scheme: "http", Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	if d.secure {
		reqURL.Scheme = "https"
	}
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        reqURL,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header),
		Host:       u.Host,
	}
	if opts.Host != "" {
		req.Host = opts.Host
	}
	for k, vs := range opts.Header {
		req.Header[http.CanonicalHeaderKey(k)] = slices.Clone(vs)
	}
	if u.User != nil && req.Header.Get("Authorization") == "" {
		pw, _ := u.User.Password()
		req.SetBasicAuth(u.User.Username(), pw)
	}
	// RFC 6455 §4.1, items 5 to 10 of the client's requirements.
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", d.key)
	req.Header.Set("Sec-WebSocket-Version", handshake.Version)
	if len(opts.Subprotocols) > 0 {
		req.Header.Set("Sec-WebSocket-Protocol", strings.Join(opts.Subprotocols, ", "))
	}
	if exts != "" {
		req.Header.Set("Sec-WebSocket-Extensions", exts)
	}
	d.req = req
	return d, nil
}

// connect dials the server, through a proxy if there is one, and runs the
// TLS handshake for wss.
func (d *dialer) connect(ctx context.Context) (net.Conn, error) {
	proxyFn := d.opts.Proxy
	if proxyFn == nil {
		proxyFn = http.ProxyFromEnvironment
	}
	// Proxy functions look at http and https URLs.
	proxyURL, err := proxyFn(d.req)
	if err != nil {
		return nil, fmt.Errorf("client: choosing a proxy: %w", err)
	}
	dial := d.opts.DialContext
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	var nc net.Conn
	if proxyURL != nil {
		nc, err = d.dialProxy(ctx, dial, proxyURL)
	} else {
		nc, err = dial(ctx, "tcp", d.addr)
		if err != nil {
			err = fmt.Errorf("client: dialing %s: %w", d.addr, err)
		}
	}
	if err != nil {
		return nil, err
	}
	if !d.secure {
		return nc, nil
	}
	cfg := d.opts.TLSConfig.Clone()
	if cfg == nil {
		cfg = new(tls.Config)
	}
	if cfg.ServerName == "" {
		cfg.ServerName = d.u.Hostname()
	}
	// The handshake is HTTP/1.1 (RFC 6455 §4.1); a server that picked h2
	// would not understand it.
	cfg.NextProtos = []string{"http/1.1"}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("client: TLS handshake with %s: %w", d.addr, err)
	}
	return tc, nil
}

// handshake sends the request on nc and checks the response.
func (d *dialer) handshake(ctx context.Context, nc net.Conn) (*ws.Conn, *http.Response, error) {
	stop := bound(ctx, nc)
	defer stop()
	head := newHeadLimit(nc, d.opts.MaxResponseHeaderBytes)
	br := bufio.NewReader(head)
	if err := d.req.Write(nc); err != nil {
		return nil, nil, ctxErr(ctx, fmt.Errorf("client: sending the handshake: %w", err))
	}
	resp, err := http.ReadResponse(br, d.req)
	if err != nil {
		return nil, nil, ctxErr(ctx, fmt.Errorf("client: reading the handshake response: %w", head.err(err)))
	}
	head.lift() // the head is read; an error response's body has its own bound
	n, err := handshake.CheckResponse(resp, handshake.Offer{
		Key:          d.key,
		Subprotocols: d.opts.Subprotocols,
		Extensions:   d.opts.Extensions,
	})
	if err != nil {
		// Keep the body readable after the connection is gone.
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBodySize))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil && ctx.Err() != nil {
			return nil, resp, ctx.Err()
		}
		return nil, resp, &HandshakeError{StatusCode: resp.StatusCode, Response: resp, Err: err}
	}
	connOpts := d.opts.Conn
	connOpts.Subprotocol = n.Subprotocol
	if len(d.opts.Extensions) > 0 {
		if err := d.opts.AcceptExtensions(n.Extensions, &connOpts); err != nil {
			return nil, resp, &HandshakeError{StatusCode: resp.StatusCode, Response: resp, Err: fmt.Errorf("%w: %w", handshake.ErrExtension, err)}
		}
	}
	if stop() {
		// ctx ended just as the handshake completed; its deadline may
		// be on nc.
		return nil, resp, ctx.Err()
	}
	// Frames the server sent right behind its response are in br.
	var buffered []byte
	if k := br.Buffered(); k > 0 {
		b, _ := br.Peek(k)
		buffered = slices.Clone(b)
	}
	return ws.NewConn(nc, buffered, ws.RoleClient, &connOpts), resp, nil
}

// headLimit reads a response head through a bound: once n bytes have been
// read, reads fail with ErrResponseTooLarge until lift is called. Without
// it, http.ReadResponse reads a header line of any length into memory.
type headLimit struct {
	r      io.Reader
	n, max int
	lifted bool
}

func newHeadLimit(r io.Reader, max int) *headLimit {
	if max <= 0 {
		max = DefaultMaxResponseHeaderBytes
	}
	return &headLimit{r: r, n: max, max: max}
}

func (h *headLimit) Read(p []byte) (int, error) {
	if h.lifted {
		return h.r.Read(p)
	}
	if h.n <= 0 {
		return 0, ErrResponseTooLarge
	}
	if len(p) > h.n {
		p = p[:h.n]
	}
	n, err := h.r.Read(p)
	h.n -= n
	return n, err
}

// lift removes the bound.
func (h *headLimit) lift() { h.lifted = true }

// err turns the error of a read cut by the bound into a clear one.
func (h *headLimit) err(err error) error {
	if errors.Is(err, ErrResponseTooLarge) {
		return fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, h.max)
	}
	return err
}

// bound applies ctx to I/O on nc until stop is called: its deadline, and
// its cancellation, which moves the deadline to the past. stop clears the
// deadline and reports whether ctx ended meanwhile (and so may have left a
// deadline behind); calling it again does nothing more.
func bound(ctx context.Context, nc net.Conn) (stop func() (ended bool)) {
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}
	unregister := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	var done, ended bool
	return func() bool {
		if !done {
			done = true
			ended = !unregister()
			nc.SetDeadline(time.Time{})
		}
		return ended
	}
}

// ctxErr reports ctx's error in place of the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	cerr := ctx.Err()
	var ne net.Error
	if cerr == nil && errors.As(err, &ne) && ne.Timeout() {
		// The connection's deadline, which is ctx's, can pass an instant
		// before ctx itself reports it.
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			cerr = context.DeadlineExceeded
		}
	}
	if cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// basicAuth encodes credentials for Basic authentication (RFC 7617).
func basicAuth(u *url.Userinfo) string {
	pw, _ := u.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw))
}
