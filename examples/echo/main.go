// Command echo is a WebSocket echo server with a demo client.
//
//	go run ./examples/echo            # start the server, talk to it, exit
//	go run ./examples/echo -serve     # serve until Ctrl-C
//	go run ./examples/echo/client     # an interactive client for -serve
//
// Without -serve it starts the server on -addr (127.0.0.1:8080), runs a
// client in the same process that sends a few text and binary messages and
// a ping, prints each exchange, closes with 1000 and exits. With -serve it
// keeps serving ws://ADDR/ws until SIGINT or SIGTERM, then closes every
// connection with 1001 "server shutting down" before exiting.
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
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/server"
)

func main() {
	log.SetFlags(0)
	if err := run(os.Args[1:], os.Stdout, nil); err != nil {
		log.Fatal("echo: ", err)
	}
}

// run is main without the process: args are the flags, out receives the
// demo's transcript, and stop, when not nil, replaces SIGINT and SIGTERM.
func run(args []string, out io.Writer, stop <-chan struct{}) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	serve := fs.Bool("serve", false, "keep serving until SIGINT or SIGTERM instead of running the demo client")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	es := newEchoServer()
	go es.http.Serve(ln)
	url := "ws://" + ln.Addr().String() + "/ws"
	fmt.Fprintf(out, "echo server listening on %s\n", url)

	if !*serve {
		demoErr := demo(url, out)
		shutdownErr := es.shutdown(5 * time.Second)
		return errors.Join(demoErr, shutdownErr)
	}
	fmt.Fprintf(out, "try: go run ./examples/echo/client -url %s\n", url)
	if stop == nil {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(sig)
		ch := make(chan struct{})
		go func() { <-sig; close(ch) }()
		stop = ch
	}
	<-stop
	fmt.Fprintf(out, "shutting down: closing %d connection(s) with 1001\n", es.ws.Len())
	return es.shutdown(10 * time.Second)
}

// echoServer is the HTTP server and the WebSocket endpoint in it.
type echoServer struct {
	http *http.Server
	ws   *server.Server
}

func newEchoServer() *echoServer {
	wsSrv := server.Handler(echo)
	mux := http.NewServeMux()
	mux.Handle("/ws", wsSrv)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "This is a WebSocket echo server: connect to /ws.")
	})
	return &echoServer{
		// net/http reads the request before the handler runs, so the
		// handshake's first half is bounded here: 431 past 32 KiB of
		// header, the header read within 10 s.
		http: server.NewHTTPServer("", mux),
		ws:   wsSrv,
	}
}

// shutdown closes every WebSocket with 1001 at once, and stops the HTTP
// server beside it.
func (s *echoServer) shutdown(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return server.Shutdown(ctx, s.http, s.ws)
}

// echo sends every message back as it came, until the connection ends.
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

// demo dials url, exchanges a few messages and a ping, and closes.
func demo(url string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := client.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()

	// One goroutine reads, as every WebSocket program should: it sees the
	// echoes, the pong that answers our ping and the server's close.
	type message struct {
		typ  ws.MessageType
		data []byte
	}
	msgs := make(chan message)
	readErr := make(chan error, 1)
	go func() {
		for {
			typ, data, err := c.ReadMessage(context.Background(), nil)
			if err != nil {
				readErr <- err
				close(msgs)
				return
			}
			msgs <- message{typ, data}
		}
	}()

	for _, m := range []message{
		{ws.Text, []byte("hello")},
		{ws.Text, []byte("WebSocket is RFC 6455")},
		{ws.Binary, []byte{0x00, 0x01, 0x02, 0xff}},
		{ws.Text, []byte("bye")},
	} {
		fmt.Fprintf(out, "client -> server: %s\n", describe(m.typ, m.data))
		if err := c.WriteMessage(ctx, m.typ, m.data); err != nil {
			return err
		}
		select {
		case got, ok := <-msgs:
			if !ok {
				return <-readErr
			}
			fmt.Fprintf(out, "server -> client: %s\n", describe(got.typ, got.data))
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	fmt.Fprintln(out, "client -> server: ping")
	if err := c.Ping(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "server -> client: pong")

	fmt.Fprintln(out, `client -> server: close 1000 "done"`)
	if err := c.Close(ws.CloseNormal, "done"); err != nil {
		return err
	}
	var ce *ws.CloseError
	if err := <-readErr; errors.As(err, &ce) {
		fmt.Fprintf(out, "server -> client: close %d %q\n", uint16(ce.Code), ce.Reason)
	} else {
		return fmt.Errorf("reading the server's close: %w", err)
	}
	return nil
}

func describe(typ ws.MessageType, data []byte) string {
	if typ == ws.Text {
		return fmt.Sprintf("%q", data)
	}
	return fmt.Sprintf("binary % x", data)
}
