package server

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Limits of the http.Server NewHTTPServer returns.
const (
	// DefaultMaxHeaderBytes bounds a request's header: 32 KiB, the total
	// nginx allows by default and four times what a browser's
	// WebSocket request with a few cookies needs. net/http answers a
	// larger header with 431 Request Header Fields Too Large (RFC 6585
	// §5) and closes the connection; it reads up to 4 KiB past the limit
	// before it tells. net/http's own default is 1 MiB.
	DefaultMaxHeaderBytes = 32 << 10

	// DefaultReadHeaderTimeout bounds the reading of a request's header,
	// the first half of a WebSocket handshake, against clients that send
	// it slowly to hold connections open (net/http's default: no bound).
	DefaultReadHeaderTimeout = 10 * time.Second

	// DefaultIdleTimeout is how long a keep-alive connection may wait
	// for its next request (net/http's default: no bound).
	DefaultIdleTimeout = 60 * time.Second
)

// NewHTTPServer returns an http.Server for handler on addr with limits safe
// for a server open to the Internet: request headers of at most
// DefaultMaxHeaderBytes (a larger one is answered 431 and never reaches
// the handler, so no WebSocket is accepted), read within
// DefaultReadHeaderTimeout, and keep-alive connections closed after
// DefaultIdleTimeout without a request. Change the fields before serving
// to suit; the zero http.Server has none of these limits.
//
// It sets no ReadTimeout or WriteTimeout: net/http would apply them to the
// connections taken over for WebSockets and to WebSocket streams over
// HTTP/2, cutting long-lived connections. A WebSocket's own limits are
// its Options (read limit, handshake and close timeouts, pings).
//
//	srv := server.NewHTTPServer(":8080", mux)
//	go srv.ListenAndServe()
//	// on SIGTERM: server.Shutdown(ctx, srv, wsServer)
func NewHTTPServer(addr string, handler http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           handler,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		IdleTimeout:       DefaultIdleTimeout,
	}
}

// Shutdown shuts down an http.Server and the WebSocket Servers it serves,
// in the order that reaches every WebSocket client at once:
//
//  1. Each Server's Shutdown starts first: new WebSocket requests are
//     answered 503, and every open WebSocket is sent its 1001 (going
//     away) close right away.
//  2. At the same time hs.Shutdown closes the listeners and the idle HTTP
//     connections and waits for the HTTP requests in progress.
//  3. Shutdown returns when both are done. If ctx ends first, the
//     WebSockets still open are closed at once (Server.Shutdown), the HTTP
//     connections too (hs.Close), and ctx's error is returned.
//
// The other order — hs.Shutdown, then the Servers — delays every 1001:
// net/http does not know about the connections taken over for WebSockets,
// and waits for the rest, among them a slow handler or a connection a
// browser opened in advance and has not used, which net/http counts as
// idle only after 5 seconds.
//
//	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
//	defer stop()
//	go srv.ListenAndServe()
//	<-ctx.Done()
//	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
//	defer cancel()
//	err := server.Shutdown(sctx, srv, wsServer)
func Shutdown(ctx context.Context, hs *http.Server, servers ...*Server) error {
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() { errc <- s.Shutdown(ctx) }()
	}
	err := hs.Shutdown(ctx)
	if err != nil && ctx.Err() != nil {
		// net/http leaves the connections it waited for open.
		hs.Close()
	}
	for range servers {
		err = errors.Join(err, <-errc)
	}
	return err
}
