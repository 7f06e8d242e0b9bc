//go:build js

package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"syscall/js"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/handshake"
)

// Dial opens a WebSocket connection to rawURL with the browser's own
// WebSocket: this is the build for GOOS=js (a Go program compiled to
// WebAssembly and run in a page). The URL and subprotocols are checked as
// elsewhere; the browser performs the handshake, with its own headers
// (Origin, the cookies of the server's site) and its own TLS and proxy
// settings.
//
// The options a page cannot control make Dial fail at once with an error
// that wraps ErrInvalidOptions and errors.ErrUnsupported: Header, Host,
// TLSConfig, DialContext, Proxy, ProxyHeader, MaxResponseHeaderBytes,
// Compression, Extensions and AcceptExtensions, and in Conn: Compression, Subprotocol, FragmentSize,
// OnPing and OnPong. Subprotocols, HandshakeTimeout and Conn's ReadLimit,
// CloseTimeout and WriteTimeout apply.
//
// The browser does not show the handshake's response to the page: the
// *http.Response returned holds the status (101) and the
// Sec-WebSocket-Protocol and Sec-WebSocket-Extensions the browser
// negotiated, nothing else. When the connection cannot be opened the
// browser does not say why (refused, not found, TLS, a refusal by the
// server): the error says so, and the browser's console has the details.
//
// Call Dial, like every blocking call, from a goroutine, not directly from a
// js.FuncOf callback, which holds the browser's event loop.
func Dial(ctx context.Context, rawURL string, opts *Options) (*ws.Conn, *http.Response, error) {
	if opts == nil {
		opts = &Options{}
	}
	if err := browserOptions(opts); err != nil {
		return nil, nil, err
	}
	d, err := prepare(rawURL, opts)
	if err != nil {
		return nil, nil, err
	}
	if d.u.User != nil {
		return nil, nil, unsupported("credentials in the URL: the browser's WebSocket refuses them; send them in the query, a cookie or the first message")
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
	v, err := newWebSocket(d.u.String(), opts.Subprotocols)
	if err != nil {
		return nil, nil, err
	}
	connOpts := opts.Conn
	c, err := ws.NewBrowserConn(ctx, v, &connOpts)
	if err != nil {
		return nil, nil, fmt.Errorf("client: %w", err)
	}
	resp := &http.Response{
		Status: "101 Switching Protocols", StatusCode: http.StatusSwitchingProtocols,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody,
	}
	if p := c.Subprotocol(); p != "" {
		resp.Header.Set("Sec-WebSocket-Protocol", p)
	}
	if p, ok := c.Compression(); ok {
		ext, _ := handshake.FormatExtensions([]handshake.Extension{{Name: deflate.ExtensionName, Params: toHandshakeParams(p.Format())}})
		resp.Header.Set("Sec-WebSocket-Extensions", ext)
	}
	return c, resp, nil
}

// unsupported is the error for an option a page cannot use.
func unsupported(what string) error {
	return fmt.Errorf("%w: %s: %w", ErrInvalidOptions, what, errors.ErrUnsupported)
}

// browserOptions refuses the options the browser's WebSocket gives a page
// no control over.
func browserOptions(o *Options) error {
	switch {
	case len(o.Header) > 0:
		return unsupported("Header: the browser sends its own headers (Origin, the cookies of the server's site); send credentials in the query, a cookie or the first message")
	case o.Host != "":
		return unsupported("Host: the browser sends the URL's host")
	case o.TLSConfig != nil:
		return unsupported("TLSConfig: TLS is the browser's, with the certificates it trusts")
	case o.DialContext != nil:
		return unsupported("DialContext: the browser opens the connection")
	case o.Proxy != nil || len(o.ProxyHeader) > 0:
		return unsupported("Proxy, ProxyHeader: the browser's proxy settings apply")
	case o.MaxResponseHeaderBytes != 0:
		return unsupported("MaxResponseHeaderBytes: the browser reads the response with its own limits")
	case o.Compression != nil:
		return unsupported("Compression: the browser negotiates permessage-deflate with its own parameters; Conn.Compression reports them")
	case len(o.Extensions) > 0 || o.AcceptExtensions != nil:
		return unsupported("Extensions, AcceptExtensions: the browser offers its own extensions")
	case o.Conn.Compression != nil || o.Conn.Subprotocol != "":
		return unsupported("Conn.Compression, Conn.Subprotocol: they come from the handshake")
	case o.Conn.FragmentSize != 0:
		return unsupported("Conn.FragmentSize: the browser frames the messages it sends")
	case o.Conn.OnPing != nil || o.Conn.OnPong != nil:
		return unsupported("Conn.OnPing, Conn.OnPong: the browser answers pings itself and shows the page neither pings nor pongs")
	}
	return nil
}

// newWebSocket creates the browser's WebSocket, turning the exception the
// constructor throws (a URL or subprotocol it refuses, a port it blocks, an
// insecure ws: URL from a secure page) into an error.
func newWebSocket(url string, protocols []string) (v js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			jerr, ok := r.(js.Error)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("client: the browser refused to open a WebSocket to %s: %w", url, jerr)
		}
	}()
	ps := make([]any, len(protocols))
	for i, p := range protocols {
		ps[i] = p
	}
	return js.Global().Get("WebSocket").New(url, ps), nil
}
