// Command ticker is a price ticker server: a few symbols take a random
// walk, and every change is pushed to the subscribed clients through a hub
// (see package feed).
//
//	go run ./examples/ticker                 # then open http://127.0.0.1:8082/
//	go run ./examples/ticker/client          # prints the quotes in a terminal
//
// On SIGINT or SIGTERM it closes every connection with 1001 "server
// shutting down"; the dashboard and the Go client reconnect when it is
// back.
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

	"github.com/rfc6455/ws/examples/ticker/feed"
	"github.com/rfc6455/ws/server"
)

func main() {
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal("ticker: ", err)
	}
}

// run serves the ticker until ctx ends, then shuts it down gracefully.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ticker", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8082", "address to listen on")
	interval := fs.Duration("interval", 500*time.Millisecond, "time between two rounds of quotes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	f := feed.New(&feed.Options{Interval: *interval})
	// 431 past 32 KiB of request header, the header read within 10 s,
	// idle keep-alive connections closed after a minute.
	hs := server.NewHTTPServer("", f.Handler())
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	rctx, stopFeed := context.WithCancel(ctx)
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		f.Run(rctx)
	}()
	fmt.Fprintf(out, "ticker: dashboard at http://%s/, quotes at ws://%s/ws\n", ln.Addr(), ln.Addr())
	fmt.Fprintf(out, "ticker: try: go run ./examples/ticker/client -url ws://%s/ws\n", ln.Addr())

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	stopFeed()
	<-fed
	fmt.Fprintf(out, "ticker: shutting down: closing %d connection(s) with 1001\n", f.Hub().Len())
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Every WebSocket gets its 1001 at once, while net/http waits for its
	// own connections (see server.Shutdown).
	err = errors.Join(err, server.Shutdown(sctx, hs, f.Server()), f.Hub().Shutdown(sctx))
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
