package main

import (
	"context"
	"crypto/tls"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/loop"
	"github.com/rfc6455/ws/server"
)

//go:embed page.html
var pageHTML string

func init() {
	commands = append(commands, &command{
		name:  "serve",
		args:  "[flags]",
		short: "run an echo or broadcast server, with a test page at /",
		long: `
Serve WebSocket connections on every path of -addr, and a test page at / that
opens one from the browser.

In echo mode (the default) every text and binary message is sent back to its
sender as it came. In broadcast mode every message goes to every other client
connected, and not back to its sender.

With -compress, clients that offer permessage-deflate get it.
With -cert and -key the server speaks TLS (wss:// and https://). Browsers are
admitted from pages of the same host (the test page is one); -origin admits
pages of other origins. The first line on stdout gives the URL. SIGINT or
SIGTERM (Ctrl-C) closes every connection with 1001 (going away) and exits 0.

  ws serve
  ws serve -addr 127.0.0.1:9000 -mode broadcast
  ws serve -compress -cert cert.pem -key key.pem -subprotocols chat.v2,chat.v1
  ws serve -loop

With -loop, WebSockets are served by the event-loop server (package loop), a
few goroutines for all connections, with the same flags and behaviour; TLS
connections (-cert) are served with a goroutine each through the same API.`,
		setup: setupServe,
	})
}

func setupServe(fs *flag.FlagSet) func(e *env, args []string) error {
	addr := fs.String("addr", "127.0.0.1:8080", "listen on this `address`; port 0 picks a free one")
	mode := fs.String("mode", "echo", "`mode`: echo (back to the sender) or broadcast (to every other client)")
	var subprotocols, origins commaFlag
	fs.Var(&subprotocols, "subprotocols", "speak these subprotocols, most preferred first (`list`, comma-separated)")
	fs.Var(&origins, "origin", "admit browser pages from these origins besides the same host (`patterns`, comma-separated, such as *.example.com)")
	cert := fs.String("cert", "", "serve TLS with the certificate (chain) in this PEM `file`; needs -key")
	key := fs.String("key", "", "the private key of -cert, a PEM `file`")
	readLimit := sizeFlag(ws.DefaultReadLimit)
	fs.Var(&readLimit, "read-limit", "largest message accepted (a `size` such as 64KiB); a larger one closes the connection with 1009")
	compress := fs.Bool("compress", false, "accept permessage-deflate (RFC 7692) from clients that offer it")
	level := fs.Int("compress-level", 0, "with -compress: the compression `level`, 1 (fastest) to 9 (smallest); 0 means the deflate package's default")
	verbose := fs.Bool("v", false, "log connections and disconnections on stderr")
	useLoop := fs.Bool("loop", false, "serve WebSockets from the event-loop server (package loop: epoll, a few goroutines for all connections) instead of a goroutine per connection; with -cert, TLS connections still get goroutines")
	return func(e *env, args []string) error {
		if len(args) > 0 {
			return usageError("unexpected arguments: %s", strings.Join(args, " "))
		}
		if *mode != "echo" && *mode != "broadcast" {
			return usageError("-mode %q: want echo or broadcast", *mode)
		}
		if *level < 0 || *level > 9 {
			return usageError("-compress-level %d: want 1 to 9, or 0 for the default", *level)
		}
		if (*cert == "") != (*key == "") {
			return usageError("-cert and -key go together")
		}
		if _, _, err := net.SplitHostPort(*addr); err != nil {
			if _, nerr := strconv.ParseUint(*addr, 10, 16); nerr == nil {
				return usageError("-addr %s: want host:port; for port %s use -addr :%s (every interface) or -addr 127.0.0.1:%s", *addr, *addr, *addr, *addr)
			}
			return usageError("-addr %q: want host:port, such as 127.0.0.1:8080 or :8080", *addr)
		}
		var tlsConfig *tls.Config
		if *cert != "" {
			pair, err := tls.LoadX509KeyPair(*cert, *key)
			if err != nil {
				return fmt.Errorf("loading the certificate: %w", err)
			}
			tlsConfig = &tls.Config{Certificates: []tls.Certificate{pair}}
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			return err
		}
		s := &serveCmd{
			e: e, mode: *mode, verbose: *verbose, loop: *useLoop,
			opts: server.Options{
				Subprotocols:   subprotocols,
				OriginPatterns: origins,
				Conn:           ws.Options{ReadLimit: int64(readLimit)},
			},
		}
		if *compress {
			s.opts.Compression = &deflate.ServerConfig{Level: *level}
		}
		return s.serve(ctx, ln, tlsConfig)
	}
}

// serveCmd is a running ws serve.
type serveCmd struct {
	e       *env
	mode    string
	verbose bool
	loop    bool // the event-loop server
	opts    server.Options
	log     *slog.Logger
	hub     *hub.Hub
	ws      *server.Server
}

func (s *serveCmd) serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	level := slog.LevelWarn
	if s.verbose {
		level = slog.LevelDebug
	}
	s.log = slog.New(slog.NewTextHandler(s.e.stderr, &slog.HandlerOptions{Level: level}))
	if s.loop {
		return s.serveLoop(ctx, ln, tlsConfig)
	}
	s.ws = &server.Server{Options: s.opts, Handle: s.echo}
	if s.mode == "broadcast" {
		s.hub = s.newBroadcastHub()
		s.ws.Handle = func(c *ws.Conn, r *http.Request) {
			s.logConnect(c, r)
			err := s.hub.Serve(r.Context(), c, hub.Info{})
			s.log.Debug("disconnected", "remote", r.RemoteAddr, "reason", err)
		}
	}
	pages := s.pages()
	// Safe limits: 431 past 32 KiB of request header, header read within
	// 10 s, idle keep-alive connections closed after a minute.
	httpSrv := server.NewHTTPServer("", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if server.IsWebSocketUpgrade(r) {
			s.ws.ServeHTTP(w, r)
			return
		}
		pages.ServeHTTP(w, r)
	}))
	httpSrv.TLSConfig = tlsConfig
	httpSrv.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)
	scheme, pageScheme := "ws", "http"
	if tlsConfig != nil {
		scheme, pageScheme = "wss", "https"
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- httpSrv.ServeTLS(ln, "", "")
		} else {
			errc <- httpSrv.Serve(ln)
		}
	}()
	host := ln.Addr().String()
	fmt.Fprintf(s.e.stdout, "%s server on %s://%s/ (test page: %s://%s/); Ctrl-C stops it\n",
		s.mode, scheme, host, pageScheme, host)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	n := s.ws.Len()
	fmt.Fprintf(s.e.stdout, "shutting down: closing %d connection(s) with 1001\n", n)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The WebSockets get their 1001 at once, while net/http waits for its
	// own connections (see server.Shutdown).
	err := server.Shutdown(sctx, httpSrv, s.ws)
	if s.hub != nil {
		err = errors.Join(err, s.hub.Shutdown(sctx))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("shutdown: connections still open after 10s; closed them")
	}
	return err
}

// echo sends every message back as it came, until the connection ends.
func (s *serveCmd) echo(c *ws.Conn, r *http.Request) {
	s.logConnect(c, r)
	ctx := context.Background()
	var buf []byte
	var err error
	for {
		var typ ws.MessageType
		var msg []byte
		if typ, msg, err = c.ReadMessage(ctx, buf); err != nil {
			break
		}
		if err = c.WriteMessage(ctx, typ, msg); err != nil {
			break
		}
		buf = msg
	}
	s.log.Debug("disconnected", "remote", r.RemoteAddr, "reason", err)
}

func (s *serveCmd) logConnect(c *ws.Conn, r *http.Request) {
	_, compressed := c.Compression()
	s.log.Debug("connected", "remote", r.RemoteAddr, "path", r.URL.Path, "subprotocol", c.Subprotocol(), "compression", compressed)
}

// pages serves what is not a WebSocket: the test page at /, 404 elsewhere.
func (s *serveCmd) pages() http.Handler {
	page := strings.ReplaceAll(pageHTML, "{{MODE}}", s.mode)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprint(w, page)
			return
		}
		http.Error(w, "not found: this server speaks WebSocket on every path and serves a test page at /", http.StatusNotFound)
	})
}

// serveLoop is serve with the event-loop server (-loop): the same
// handshake options, modes, test page (through loop.Server.Fallback), TLS
// and shutdown.
func (s *serveCmd) serveLoop(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	ls := &loop.Server{Options: s.opts, TLSConfig: tlsConfig, Logger: s.log, Fallback: s.pages()}
	var h loop.Handler = loopEcho{}
	if s.mode == "broadcast" {
		s.hub = s.newBroadcastHub()
		h = s.hub.LoopHandler(nil)
	} else {
		// An echo server's backpressure is the pause in reading from a
		// client while too much waits to be written to it.
		ls.Policy = loop.Policy{QueueBytes: -1, QueueSize: -1}
	}
	ls.Handler = loopLogger{h, s.log}
	errc := make(chan error, 1)
	go func() { errc <- ls.Serve(ln) }()
	scheme, pageScheme := "ws", "http"
	if tlsConfig != nil {
		scheme, pageScheme = "wss", "https"
	}
	host := ln.Addr().String()
	fmt.Fprintf(s.e.stdout, "%s server on %s://%s/ (test page: %s://%s/), event loop; Ctrl-C stops it\n",
		s.mode, scheme, host, pageScheme, host)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintf(s.e.stdout, "shutting down: closing %d connection(s) with 1001\n", ls.Len())
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := ls.Shutdown(sctx)
	if s.hub != nil {
		err = errors.Join(err, s.hub.Shutdown(sctx))
	}
	if serveErr := <-errc; !errors.Is(serveErr, loop.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("shutdown: connections still open after 10s; closed them")
	}
	return err
}

// loopEcho sends every message back as it came.
type loopEcho struct{}

func (loopEcho) OnOpen(*loop.Conn)                                    {}
func (loopEcho) OnMessage(c *loop.Conn, typ ws.MessageType, b []byte) { c.Send(typ, b) }
func (loopEcho) OnClose(*loop.Conn, error)                            {}

// loopLogger logs the connections of a loop.Handler at Debug (-v).
type loopLogger struct {
	loop.Handler
	log *slog.Logger
}

func (l loopLogger) OnOpen(c *loop.Conn) {
	l.log.Debug("connected", "remote", c.RemoteAddr(), "subprotocol", c.Subprotocol(), "event_loop", c.EventLoop())
	l.Handler.OnOpen(c)
}

func (l loopLogger) OnClose(c *loop.Conn, err error) {
	l.log.Debug("disconnected", "remote", c.RemoteAddr(), "reason", err)
	l.Handler.OnClose(c, err)
}

// OnHeartbeat passes the hub's heartbeat through.
func (l loopLogger) OnHeartbeat(c *loop.Conn) {
	if h, ok := l.Handler.(loop.HeartbeatHandler); ok {
		h.OnHeartbeat(c)
	}
}

// newBroadcastHub is the hub of broadcast mode, on either server: every
// message a client sends goes to every other client.
func (s *serveCmd) newBroadcastHub() *hub.Hub {
	return hub.New(&hub.Options{
		OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
			pm, err := ws.NewPreparedMessage(typ, data)
			if err == nil {
				c.Hub().Broadcast(pm, c)
			}
		},
		Logger: s.log,
	})
}
