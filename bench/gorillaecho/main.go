// Command gorillaecho is a WebSocket echo server on gorilla/websocket
// v1.5.3, written in the style of gorilla's own examples, for comparing that
// library with this one: in conformance (the Autobahn catalog) and in the
// benchmarks of this module.
//
//	go run ./gorillaecho -addr 127.0.0.1:9002
//
// It upgrades every request on every path, admits every origin, reads
// messages of up to 32 MiB (the suite's largest is 16 MiB) and sends each
// back with its type until the connection ends. SIGINT or SIGTERM stops it.
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
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// readLimit is the largest message accepted: twice the suite's largest.
const readLimit = 32 << 20

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 4096,
	// A conformance peer may send any Origin; this server has nothing a
	// cross-site page could abuse.
	CheckOrigin: func(*http.Request) bool { return true },
}

// echoServer upgrades every request and echoes on the connection. It
// tracks the connections so that shutdown can close them, since
// http.Server.Shutdown does not know hijacked connections.
type echoServer struct {
	mu    sync.Mutex
	conns map[*websocket.Conn]struct{}
	wg    sync.WaitGroup
}

// ServeHTTP upgrades the request, then runs a ReadMessage/WriteMessage loop.
func (s *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	defer c.Close()
	if !s.track(c) {
		return
	}
	defer s.untrack(c)
	c.SetReadLimit(readLimit)
	for {
		mt, message, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(mt, message); err != nil {
			return
		}
	}
}

// track registers c, or reports false once the server is shutting down.
func (s *echoServer) track(c *websocket.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *echoServer) untrack(c *websocket.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// closeAll sends every connection a close frame with 1001 (going away),
// closes it and waits for the handlers to return.
func (s *echoServer) closeAll() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down")
	for c := range conns {
		c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		c.Close()
	}
	s.wg.Wait()
}

func main() {
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal("gorillaecho: ", err)
	}
}

// run is main without the process: it serves until ctx ends.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("gorillaecho", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9002", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	return serve(ctx, ln, out)
}

// serve runs the echo server on ln until ctx ends.
func serve(ctx context.Context, ln net.Listener, out io.Writer) error {
	es := &echoServer{conns: map[*websocket.Conn]struct{}{}}
	srv := &http.Server{Handler: es, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(out, "gorilla/websocket echo server listening on ws://%s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	es.closeAll()
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}
