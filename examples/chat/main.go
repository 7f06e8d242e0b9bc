// Command chat is a chat server with rooms, and the browser page that talks
// to it.
//
//	go run ./examples/chat              # then open http://127.0.0.1:8081/
//	go run ./examples/chat -addr 127.0.0.1:9000
//
// The page (static/, embedded in the binary) uses the browser's WebSocket
// API: it joins a room, shows who is there and what they say, switches
// rooms, and reconnects with backoff when the server goes away. Messages
// are JSON events of package event ({"type","payload","ts"}); the server
// runs them through an event.Router on a hub.Hub, whose rooms do the
// broadcasting.
//
// On SIGINT or SIGTERM the server closes every connection with 1001 "server
// shutting down" and exits; the pages wait and reconnect when it is back.
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
		log.Fatal("chat: ", err)
	}
}

// run serves the chat until ctx ends, then shuts it down gracefully.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	c := newChat()
	served := make(chan error, 1)
	go func() { served <- c.serve(ln) }()
	fmt.Fprintf(out, "chat: open http://%s/ in a browser (WebSocket endpoint ws://%s/ws); Ctrl-C to stop\n", ln.Addr(), ln.Addr())

	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	fmt.Fprintf(out, "chat: shutting down: closing %d connection(s) with 1001\n", c.hub.Len())
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
