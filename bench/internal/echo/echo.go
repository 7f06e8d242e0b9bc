// Package echo holds one WebSocket echo server per library, each written in
// the style that library documents, plus floor: a hand-written echo that
// does only what the benchmark needs. Every server sends each message back
// with its type until the connection ends.
//
// The servers are run one at a time, each in a process of its own, by the
// benchmark harness (see package harness and the bench command's serve
// subcommand); Serve is what such a process runs.
package echo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"
)

// Deflate modes: how a server is configured for permessage-deflate
// (RFC 7692).
const (
	// DeflateOff: the server does not offer or accept compression.
	DeflateOff = "off"
	// DeflateNoTakeover: the server accepts permessage-deflate and
	// compresses every message on its own (server_no_context_takeover),
	// so a compressor can be shared between connections.
	DeflateNoTakeover = "nct"
	// DeflateTakeover: the server keeps its LZ77 window from message to
	// message (context takeover), at the cost of a compressor per
	// connection.
	DeflateTakeover = "ct"
)

// ReadLimit is the largest message every server accepts.
const ReadLimit = 32 << 20

// Config selects a server.
type Config struct {
	// Lib is one of Libs.
	Lib string
	// Deflate is DeflateOff (or ""), DeflateNoTakeover or DeflateTakeover.
	Deflate string
}

// Libs lists the servers run by default, the library under test first and
// floor last.
var Libs = []string{"ours", "loop", "gorilla", "coder", "gobwas", "gws", "nbio", "floor"}

// Extra lists servers that run only when asked for: oursconn is the
// library under test accepting on raw connections (server.AcceptConn)
// instead of under net/http; floorraw and floorhttp are the floor without
// a buffer while a connection is idle, the first on raw connections, the
// second behind net/http (see floorLazy).
var Extra = []string{"oursconn", "floorraw", "floorhttp"}

// Known reports whether lib names a server.
func Known(lib string) bool { return slices.Contains(Libs, lib) || slices.Contains(Extra, lib) }

// SupportsDeflate reports whether lib's server can run in the given
// permessage-deflate mode. gorilla compresses without context takeover
// only; the gobwas and floor servers do not compress (gobwas has the
// pieces, in wsflate, but no server-side switch to turn them on).
func SupportsDeflate(lib, mode string) bool {
	switch mode {
	case "", DeflateOff:
		return Known(lib)
	case DeflateNoTakeover:
		return lib == "ours" || lib == "oursconn" || lib == "loop" || lib == "gorilla" || lib == "coder" || lib == "gws"
	case DeflateTakeover:
		return lib == "ours" || lib == "oursconn" || lib == "loop" || lib == "coder" || lib == "gws"
	}
	return false
}

// Serve runs the server cfg selects on ln until ctx ends, then closes the
// listener. Connections already accepted are left to end when their peers
// close them: a server process is simply stopped, and tests close their
// clients.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	if cfg.Deflate == "" {
		cfg.Deflate = DeflateOff
	}
	if !SupportsDeflate(cfg.Lib, cfg.Deflate) {
		return fmt.Errorf("echo: no server %q with deflate mode %q", cfg.Lib, cfg.Deflate)
	}
	switch cfg.Lib {
	case "gobwas":
		return serveRaw(ctx, ln, gobwasConn)
	case "floor":
		return serveRaw(ctx, ln, floorConn)
	case "floorraw":
		return serveRaw(ctx, ln, floorRawConn)
	case "oursconn":
		return serveRaw(ctx, ln, oursConnHandler(cfg.Deflate))
	case "nbio":
		return serveNbio(ctx, ln)
	case "loop":
		return serveLoop(ctx, ln, cfg.Deflate)
	}
	var h http.Handler
	switch cfg.Lib {
	case "ours":
		h = oursHandler(cfg.Deflate)
	case "gorilla":
		h = gorillaHandler(cfg.Deflate)
	case "coder":
		h = coderHandler(cfg.Deflate)
	case "gws":
		h = gwsHandler(cfg.Deflate)
	case "floorhttp":
		h = floorHTTPHandler()
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	srv.Close() // closes the listener and the connections not taken over
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serveRaw accepts TCP connections on ln and runs handle on each, for the
// servers that do their own handshake. handle owns the connection and
// closes it: a second close here would cost ours, which closes its own, an
// error allocation per connection that the others do not pay.
func serveRaw(ctx context.Context, ln net.Listener, handle func(net.Conn)) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go handle(nc)
	}
}
