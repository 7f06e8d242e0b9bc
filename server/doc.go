// Package server accepts WebSocket connections (RFC 6455) on the server
// side, over net/http or over a raw net.Conn.
//
// Accept turns an HTTP request into a *ws.Conn: it checks the opening
// handshake (RFC 6455 §4.2.1), applies the origin policy, negotiates the
// subprotocol and extensions, takes the connection over from net/http and
// writes the 101 response. Any bytes the client sent right behind its
// request (a client may send its first frames in the same packet) are
// handed to the Conn, so nothing is lost. A request that fails a check is
// answered with the HTTP status of the rule it broke (see package
// handshake) and a short explanation, and Accept returns the reason.
//
// Server (made by Handler) wraps Accept into an http.Handler that runs a
// function per connection, keeps track of the connections, and closes them
// all with 1001 (going away) on Shutdown.
//
// # Origin
//
// By default Accept admits browsers only from pages of the same host as
// the request, and every non-browser client (no Origin header). This is
// the defence against cross-site WebSocket hijacking: a browser sends the
// user's cookies with a WebSocket request that any site's page makes, and
// without this check that page could talk to your server as your user.
// Options.OriginPatterns allows more origins; Options.CheckOrigin replaces
// the policy. See handshake.CheckOrigin.
//
// # The http.Server: limits and shutdown
//
// net/http reads the request before Accept runs, so its limits are the
// http.Server's, and the zero http.Server has hardly any: 1 MiB of request
// header, no bound on the time a client takes to send it, keep-alive
// connections that never time out. NewHTTPServer returns one with safe
// limits (DefaultMaxHeaderBytes, 32 KiB, answered 431 past it;
// DefaultReadHeaderTimeout; DefaultIdleTimeout); every server this project
// starts (the ws command, the examples, the Autobahn agent) uses it.
// Options.HandshakeTimeout bounds the rest of the handshake, and with
// AcceptConn, which reads the request itself, the whole of it.
//
// To stop, the package's Shutdown function shuts down an http.Server and
// its Servers together, in the order that sends every WebSocket client its
// 1001 at once (see Server.Shutdown):
//
//	srv := server.NewHTTPServer(":8080", mux) // mux serves wsServer
//	go srv.ListenAndServe()
//	<-ctx.Done() // signal.NotifyContext(..., syscall.SIGINT, syscall.SIGTERM)
//	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
//	defer cancel()
//	err := server.Shutdown(sctx, srv, wsServer)
//
// # HTTP/2
//
// Accept also serves WebSocket over HTTP/2 streams (RFC 8441 extended
// CONNECT) when net/http offers them. Go 1.26's net/http does so only when
// the program runs with GODEBUG=http2xconnect=1 in its environment (read
// at start-up; a //go:debug line does not set it). Such a Conn lives on its
// request's stream, which ends when the handler that accepted it returns:
// a handler that calls Accept must not return before it is done with the
// Conn, and Server keeps its handler running until the connection ends.
// Closing the Conn resets the stream if a write is blocked on flow control,
// so that CloseNow returns at once whatever the peer does. NetConn returns
// the stream, not a TCP connection.
package server
