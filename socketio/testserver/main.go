// Command testserver is the conformance agent for the official protocol
// test suites of Engine.IO (revision 4) and Socket.IO (revision 5): one
// process on one port, serving an Engine.IO echo server at /engine.io/ and
// the Socket.IO server at /socket.io/, configured as the suites' reference
// servers are (pingInterval 300 ms, pingTimeout 200 ms, maxPayload
// 1,000,000 bytes, CORS for any origin).
//
//	go run ./socketio/testserver [-addr 127.0.0.1:3000]
//
// Then run a suite (test-suite/ of socketio/engine.io-protocol or
// socketio/socket.io-protocol) against http://localhost:3000.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/rfc6455/ws/server"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The project's safe limits: bounded request headers (431 beyond),
	// a header read timeout, idle keep-alives closed; nothing that would
	// cut long polls or WebSockets.
	srv := server.NewHTTPServer(*addr, newMux())
	fmt.Printf("testserver: listening on http://%s (Engine.IO at /engine.io/, Socket.IO at /socket.io/)\n", ln.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// newMux returns the agent's handler: each protocol's server mounted at
// its path.
func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mountEngineIO(mux)
	mountSocketIO(mux)
	return mux
}
