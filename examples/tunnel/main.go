// Command tunnel forwards TCP connections through a WebSocket, with
// ws.NetConn turning each WebSocket into a byte stream.
//
//	go run ./examples/tunnel server   # ws://127.0.0.1:8090/tunnel, each tunnel to -to
//	go run ./examples/tunnel client   # 127.0.0.1:9000, each connection through the tunnel
//	curl http://127.0.0.1:9000/       # reaches -to through the WebSocket
//
// The server end accepts WebSocket connections on /tunnel and connects each
// to a TCP address (-to; by default its own HTTP address, whose page at /
// shows the tunnels open). The client end listens on a local port and opens
// a WebSocket to the server for each connection it accepts. Bytes are copied
// both ways until either side ends; then both are closed, the WebSocket
// with the close handshake (1000). With -token, the client sends it as a
// bearer token and the server refuses WebSockets without it (401).
//
// SIGINT or SIGTERM stops either end: it stops accepting and closes the
// tunnels open (the server with 1001, going away).
package main

import (
	"context"
	"crypto/subtle"
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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/server"
)

func main() {
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal("tunnel: ", err)
	}
}

const usage = `usage:
  tunnel server [-addr 127.0.0.1:8090] [-to host:port] [-token secret]
  tunnel client [-listen 127.0.0.1:9000] [-url ws://127.0.0.1:8090/tunnel] [-token secret]`

// run runs the end named by args[0] until ctx ends. Its log goes to out;
// the first line names the addresses it serves.
func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	logf := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	switch args[0] {
	case "server":
		fs := flag.NewFlagSet("tunnel server", flag.ContinueOnError)
		addr := fs.String("addr", "127.0.0.1:8090", "listen on this `address` for WebSocket connections on /tunnel")
		to := fs.String("to", "", "connect each tunnel to this TCP `address` (default: this server's own page)")
		token := fs.String("token", "", "admit only clients that send this bearer `token`")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return runServer(ctx, *addr, *to, *token, logf)
	case "client":
		fs := flag.NewFlagSet("tunnel client", flag.ContinueOnError)
		listen := fs.String("listen", "127.0.0.1:9000", "accept TCP connections on this `address`")
		url := fs.String("url", "ws://127.0.0.1:8090/tunnel", "the tunnel server's WebSocket `URL`")
		token := fs.String("token", "", "send this bearer `token` to the server")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return runClient(ctx, *listen, *url, *token, logf)
	}
	return errors.New(usage)
}

// runServer serves WebSocket tunnels to the TCP address to.
func runServer(ctx context.Context, addr, to, token string, logf func(string, ...any)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if to == "" {
		to = ln.Addr().String()
	}
	var open, total atomic.Int64
	wsSrv := &server.Server{
		Handle: func(c *ws.Conn, r *http.Request) {
			id := total.Add(1)
			open.Add(1)
			defer open.Add(-1)
			d := net.Dialer{Timeout: 10 * time.Second}
			target, err := d.DialContext(r.Context(), "tcp", to)
			if err != nil {
				logf("tunnel %d from %s: %v", id, c.RemoteAddr(), err)
				// RFC 6455 §7.4.1 (IANA registry): 1014, a gateway
				// that got no valid answer upstream.
				c.Close(ws.CloseBadGateway, "cannot reach the target")
				return
			}
			logf("tunnel %d: %s -> %s open", id, c.RemoteAddr(), to)
			up, down, err := pipe(ws.NetConn(r.Context(), c, ws.Binary), target)
			logf("tunnel %d: closed, %d bytes in, %d bytes out%s", id, up, down, errSuffix(err))
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tunnel", func(w http.ResponseWriter, r *http.Request) {
		if token != "" && !bearer(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tunnel"`)
			http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
			return
		}
		wsSrv.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tunnel server: ws://%s/tunnel to %s; %d tunnel(s) open, %d so far\n",
			ln.Addr(), to, open.Load(), total.Load())
	})
	hs := server.NewHTTPServer("", mux) // 431 past 32 KiB of header, header within 10 s
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	logf("tunnel server: ws://%s/tunnel -> %s", ln.Addr(), to)

	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	logf("tunnel server: shutting down, closing %d tunnel(s) with 1001", wsSrv.Len())
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = server.Shutdown(sctx, hs, wsSrv) // the 1001s go out at once
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// bearer reports whether r carries the bearer token.
func bearer(r *http.Request, token string) bool {
	got := r.Header.Get("Authorization")
	want := "Bearer " + token
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// runClient forwards the TCP connections accepted on listen through
// WebSockets to url.
func runClient(ctx context.Context, listen, url, token string, logf func(string, ...any)) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	opts := &client.Options{Header: http.Header{}}
	if token != "" {
		opts.Header.Set("Authorization", "Bearer "+token)
	}
	logf("tunnel client: %s -> %s", ln.Addr(), url)

	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	var id int
	for {
		local, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		id++
		mu.Lock()
		conns[local] = true
		mu.Unlock()
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			defer func() {
				mu.Lock()
				delete(conns, local)
				mu.Unlock()
			}()
			dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			c, _, err := client.Dial(dctx, url, opts)
			cancel()
			if err != nil {
				logf("tunnel %d from %s: %v", id, local.RemoteAddr(), err)
				local.Close()
				return
			}
			logf("tunnel %d: %s -> %s open", id, local.RemoteAddr(), url)
			up, down, err := pipe(local, ws.NetConn(ctx, c, ws.Binary))
			logf("tunnel %d: closed, %d bytes out, %d bytes in%s", id, up, down, errSuffix(err))
		}(id)
	}
	logf("tunnel client: shutting down")
	wg.Wait()
	return nil
}

// pipe copies a to b and b to a until either direction ends, then closes
// both (a WebSocket cannot be half closed). It returns the bytes copied each
// way and the error that ended the first direction to end, if it was not
// an orderly end of stream.
func pipe(a, b net.Conn) (ab, ba int64, err error) {
	type result struct {
		n   int64
		err error
	}
	toB, toA := make(chan result, 1), make(chan result, 1)
	go func() { n, err := io.Copy(b, a); toB <- result{n, err} }()
	go func() { n, err := io.Copy(a, b); toA <- result{n, err} }()
	var rb, ra result
	select {
	case rb = <-toB:
		a.Close()
		b.Close()
		ra, err = <-toA, rb.err
	case ra = <-toA:
		a.Close()
		b.Close()
		rb, err = <-toB, ra.err
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return rb.n, ra.n, err
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}
