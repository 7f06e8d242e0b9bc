// Command echoserver is the server agent for the Autobahn TestSuite's
// fuzzingclient mode (and for this project's Go catalog): a WebSocket echo
// server built on this library that sends every text and binary message
// back as it was received, with the same type.
//
//	go run ./autobahn/echoserver -addr 127.0.0.1:9001
//
// It accepts WebSocket connections on every path, reads messages of up to
// 32 MiB (the suite's largest is 16 MiB) and runs until SIGINT or SIGTERM,
// when it closes every connection with 1001 (going away) at once and exits.
// Requests with more than 32 KiB of header are answered 431.
//
// It accepts permessage-deflate (RFC 7692) on any terms a client may ask
// for, every window size from 8 to 15 bits included, as the suite's
// compression sections (12 and 13) require, and compresses every echo.
//
// With -loop the connections are served by the event-loop server (package
// loop: epoll, a few goroutines for all connections) instead of a
// goroutine per connection, with the same limits and behaviour; every other
// flag is the same.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/loop"
	"github.com/rfc6455/ws/server"
)

// readLimit is the largest message accepted: twice the suite's largest.
const readLimit = 32 << 20

func main() {
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal("echoserver: ", err)
	}
}

// run is main without the process: it serves until ctx ends, then shuts
// down gracefully.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("echoserver", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9001", "address to listen on")
	useLoop := fs.Bool("loop", false, "serve the connections from the event-loop server (package loop)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *useLoop {
		return serveLoop(ctx, ln, out)
	}
	return serve(ctx, ln, out)
}

// serveLoop runs the echo server on ln with the event-loop server until ctx
// ends.
func serveLoop(ctx context.Context, ln net.Listener, out io.Writer) error {
	s := newLoopServer()
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	fmt.Fprintf(out, "echo server (event loop) listening on ws://%s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintf(out, "shutting down: closing %d connection(s) with 1001\n", s.Len())
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.Shutdown(sctx)
	if serveErr := <-errc; !errors.Is(serveErr, loop.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

// newLoopServer returns the event-loop echo server, with the options of
// newHandler. Its send queues are unbounded: an echo server's backpressure
// is its pause in reading from a client while too much waits to be written
// to it (loop.Server.PauseBytes).
func newLoopServer() *loop.Server {
	s := &loop.Server{Handler: loopEcho{}, Policy: loop.Policy{QueueBytes: -1, QueueSize: -1}}
	s.Options.Conn.ReadLimit = readLimit
	s.Options.Compression = &deflate.ServerConfig{Threshold: -1}
	s.Options.CheckOrigin = func(*http.Request) bool { return true }
	return s
}

// loopEcho sends every message back as received. The library answers
// pings, echoes the peer's close and fails the connection on protocol
// errors by itself.
type loopEcho struct{}

func (loopEcho) OnOpen(*loop.Conn)                                    {}
func (loopEcho) OnMessage(c *loop.Conn, typ ws.MessageType, b []byte) { c.Send(typ, b) }
func (loopEcho) OnClose(*loop.Conn, error)                            {}

// serve runs the echo server on ln until ctx ends.
func serve(ctx context.Context, ln net.Listener, out io.Writer) error {
	wsSrv := newHandler()
	// Safe limits: 431 past 32 KiB of request header, the header read
	// within 10 s, idle connections closed.
	httpSrv := server.NewHTTPServer("", wsSrv)
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	fmt.Fprintf(out, "echo server listening on ws://%s\n", ln.Addr())

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintf(out, "shutting down: closing %d connection(s) with 1001\n", wsSrv.Len())
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Every WebSocket gets its 1001 at once, while net/http waits for its
	// own connections.
	err := server.Shutdown(sctx, httpSrv, wsSrv)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

// newHandler returns the WebSocket endpoint: every request path is accepted,
// and each connection is served by echo.
func newHandler() *server.Server {
	srv := server.Handler(echo)
	srv.Options.Conn.ReadLimit = readLimit
	srv.Options.Compression = &deflate.ServerConfig{Threshold: -1}
	// A conformance peer may send any Origin. This server has no pages and
	// no cookies to protect from cross-site use, so it admits every origin.
	srv.Options.CheckOrigin = func(*http.Request) bool { return true }
	return srv
}

// echo sends every message back as received until the connection ends. The
// library answers pings, echoes the peer's close and fails the connection on
// protocol errors by itself.
func echo(c *ws.Conn) {
	ctx := context.Background()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(ctx, buf[:0])
		if err != nil {
			return
		}
		if err := c.WriteMessage(ctx, typ, msg); err != nil {
			return
		}
		buf = msg
	}
}
