// Command socketio is the seed's Socket.IO server in Go, with a page that
// uses the real socket.io-client: a chat with rooms in the /chat namespace,
// acknowledged messages, and the seed's "message" events on the main
// namespace.
//
//	go run ./examples/socketio                # then open http://localhost:3000/
//	go run ./examples/socketio -addr 127.0.0.1:8082
//
// The seed's client snippet works against it unchanged, from Node
// (npm install socket.io-client) or from a page of any origin:
//
//	const socket = io('http://localhost:3000');
//	socket.on('connect', () => console.log('Connected:', socket.id));
//	socket.on('message', (data) => console.log('Message:', data));
//	socket.emit('message', { text: 'Hello!' });
//
// The page loads socket.io-client's browser bundle from /socket.io.min.js:
// the file given with -client, else the one bash interop/install.sh puts in
// interop/node_modules, else the Socket.IO CDN's copy of the same version.
//
// On SIGINT or SIGTERM the server closes every connection and exits; the
// pages reconnect when it is back.
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
)

func main() {
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal("socketio: ", err)
	}
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("socketio", flag.ContinueOnError)
	addr := fs.String("addr", "localhost:3000", "address to listen on")
	clientJS := fs.String("client", "", "socket.io-client's browser bundle (socket.io.min.js) to serve; empty: interop/node_modules's, or the CDN's")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	app := newApp(*clientJS, log.New(out, "", 0))
	hs := &http.Server{Handler: app.handler(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	url := "http://" + displayAddr(ln.Addr(), *addr)
	fmt.Fprintf(out, `socketio: serving Socket.IO at %[1]s/socket.io/; Ctrl-C to stop
  - open %[1]s/ in two browser tabs: a chat with rooms (/chat namespace), acks, and "message" events
  - or, with socket.io-client (npm install socket.io-client), the seed's client:
      node -e "const {io} = require('socket.io-client'); const socket = io('%[1]s');
        socket.on('connect', () => console.log('Connected:', socket.id));
        socket.on('message', (data) => console.log('Message:', data));
        socket.emit('message', { text: 'Hello!' });"
`, url)

	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	fmt.Fprintln(out, "socketio: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = errors.Join(app.io.Shutdown(sctx), hs.Shutdown(sctx))
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// displayAddr returns the address to show: the host asked for (such as
// localhost) with the port bound.
func displayAddr(bound net.Addr, asked string) string {
	host, _, err := net.SplitHostPort(asked)
	_, port, perr := net.SplitHostPort(bound.String())
	if err != nil || perr != nil || host == "" {
		return bound.String()
	}
	return net.JoinHostPort(host, port)
}
