// Command testserver is the conformance agent for the official protocol
// test suites of Engine.IO (revision 4) and Socket.IO (revision 5): one
// process on one port, serving an Engine.IO echo server at /engine.io/ and
// the Socket.IO server at /socket.io/, configured as the suites' reference
// servers are (pingInterval 300 ms, pingTimeout 200 ms, maxPayload
// 1,000,000 bytes, CORS for any origin).
//
//	go run ./socketio/testserver [-addr 127.0.0.1:3000] [-loop]
//
// With -loop, the WebSocket connections are served by the event loops of
// package loop (engineio.LoopMux), and the polling requests, on the same
// port, by net/http through the loop.Server's Fallback.
//
// Then run a suite (test-suite/ of socketio/engine.io-protocol or
// socketio/socket.io-protocol) against http://localhost:3000.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/loop"
	"github.com/rfc6455/ws/server"
	"github.com/rfc6455/ws/socketio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	useLoop := flag.Bool("loop", false, "serve WebSockets from the event loops of package loop (polling on the same port through its Fallback)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	driver := "goroutines"
	if *useLoop {
		driver = "event loop"
	}
	fmt.Printf("testserver: listening on http://%s (Engine.IO at /engine.io/, Socket.IO at /socket.io/; %s)\n", ln.Addr(), driver)
	serve, shutdown := newServer(newEngineIO(), newSocketIO(), *useLoop)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutdown(ctx)
	}()
	if err := serve(ln); err != nil && err != http.ErrServerClosed && err != loop.ErrServerClosed {
		log.Fatal(err)
	}
}

// newServer returns the agent's server of eng (at /engine.io/) and io (at
// /socket.io/): net/http with a goroutine per connection, or, with
// useLoop, a loop.Server whose event loops serve the WebSockets and whose
// Fallback serves polling, on the same port.
func newServer(eng *engineio.Server, io *socketio.Server, useLoop bool) (serve func(net.Listener) error, shutdown func(context.Context) error) {
	if useLoop {
		mux := engineio.NewLoopMux()
		mux.Handle("/engine.io/", eng)
		mux.Handle("/socket.io/", io.Engine())
		ls := mux.Server()
		return ls.Serve, func(ctx context.Context) error {
			io.Shutdown(ctx)
			eng.Shutdown(ctx)
			return ls.Shutdown(ctx)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eng)
	mux.Handle("/socket.io/", io)
	// The project's safe limits: bounded request headers (431 beyond),
	// a header read timeout, idle keep-alives closed; nothing that would
	// cut long polls or WebSockets.
	srv := server.NewHTTPServer("", mux)
	return srv.Serve, func(ctx context.Context) error {
		io.Shutdown(ctx)
		eng.Shutdown(ctx)
		return srv.Shutdown(ctx)
	}
}
