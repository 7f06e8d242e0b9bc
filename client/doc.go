// Package client opens WebSocket connections (RFC 6455) to servers: Dial
// takes a ws:// or wss:// URL, performs the opening handshake (RFC 6455
// §4.1) and returns a *ws.Conn.
//
// Dial speaks HTTP/1.1 directly on the connection it dials, so it controls
// every byte of the handshake: the frames a server sends right behind its
// 101 response are handed to the Conn, and nothing of net/http's connection
// pooling gets in the way. It goes through HTTP proxies with CONNECT, taken
// from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) unless
// Options.Proxy says otherwise.
//
// Everything that can be checked before dialing is: a URL with another
// scheme, no host, or a fragment, a header that would overwrite the
// handshake's own, or a subprotocol that is not a token makes Dial fail
// at once. A server that answers with anything but a valid 101 makes it
// return a *HandshakeError with the response, whose body stays readable up
// to MaxErrorBodySize bytes.
//
// # In the browser
//
// Built for GOOS=js (WebAssembly in a page), Dial opens the browser's own
// WebSocket: the browser performs the handshake with its own headers, TLS
// and proxy settings, so the options that would set them make Dial fail
// with an error that wraps ErrInvalidOptions and errors.ErrUnsupported, and
// the response it returns holds only what the browser reveals. See Dial
// there, and the root package's documentation for the Conn.
package client
