package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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
