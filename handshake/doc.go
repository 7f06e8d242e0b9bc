// Package handshake implements the pieces of the WebSocket opening handshake
// (RFC 6455 §4) that do not need a connection: the Sec-WebSocket-Accept
// computation, the checks a server makes on a client's request and a client
// makes on a server's response, subprotocol selection, the
// Sec-WebSocket-Extensions grammar, and the origin policy.
//
// It imports no other package of this module, so it can be used on its own by
// people who build their own servers. Packages server and client drive it
// over net/http and net.Conn.
//
// # Errors
//
// Every check that fails returns an error wrapping one of the sentinel *Error
// values declared here (ErrMethod, ErrKey, ErrVersion, ...). Test for a
// particular rule with errors.Is; Status gives the HTTP status a server
// answers with, and WriteError writes that answer, with the headers the RFCs
// ask for (Allow on 405, Sec-WebSocket-Version on 426, ...).
//
// # Origin
//
// Browsers let any page open a WebSocket to any host, and they send the
// cookies of that host along. Without an Origin check a page on
// evil.example can therefore open a WebSocket to your server with your
// user's session and read everything sent on it: cross-site WebSocket
// hijacking. The same-origin policy that protects XMLHttpRequest does not
// apply to WebSocket; the server must check the Origin header itself
// (RFC 6455 §10.2). CheckOrigin does that: by default it accepts requests
// whose Origin names the same host as the Host header, and requests without
// an Origin header (they come from programs, not browsers, and a browser
// always sends one). Anything else must be allowed explicitly by pattern.
//
// # HTTP/2
//
// CheckRequest also accepts the extended CONNECT requests of RFC 8441 that
// carry WebSocket over HTTP/2 streams; see Request.HTTP2.
package handshake
