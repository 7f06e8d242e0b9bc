package echo

import (
	"context"
	"net"
	"net/http"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/server"
)

// oursHandler is the library under test as its README shows it:
// server.Handler (each connection on a goroutine of its own, net/http's
// per-request state let go), with the options set on the Server it
// returns, then a ReadMessage/WriteMessage loop that hands the returned
// slice back to ReadMessage, so steady state allocates nothing.
func oursHandler(mode string) http.Handler {
	s := server.Handler(oursEcho)
	s.Options = *oursOptions(mode)
	return s
}

// oursEcho echoes until the connection ends, reusing one buffer.
func oursEcho(c *ws.Conn) {
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

// oursOptions configures Accept for a deflate mode.
func oursOptions(mode string) *server.Options {
	// The load client sends no Origin header, which the default origin
	// policy admits (non-browser clients), as the other servers do.
	opts := &server.Options{Conn: ws.Options{ReadLimit: ReadLimit}}
	switch mode {
	case DeflateNoTakeover:
		// Level 1 (best speed) is every other library's default.
		opts.Compression = &deflate.ServerConfig{
			ServerNoContextTakeover: true,
			ClientNoContextTakeover: true,
			Level:                   deflate.BestSpeed,
		}
	case DeflateTakeover:
		opts.Compression = &deflate.ServerConfig{
			ClientNoContextTakeover: true,
			Level:                   deflate.BestSpeed,
		}
	}
	return opts
}

// oursConnHandler is the library under test without net/http:
// server.UpgradeConn reads the request into a pooled buffer, parses it in
// place and answers it in one write (the way gobwas's zero-copy upgrade
// works), then the same echo loop.
func oursConnHandler(mode string) func(net.Conn) {
	opts := oursOptions(mode)
	return func(nc net.Conn) {
		c, _, err := server.UpgradeConn(nc, opts)
		if err != nil {
			return // UpgradeConn has answered the client and closed nc
		}
		defer c.CloseNow()
		oursEcho(c)
	}
}
