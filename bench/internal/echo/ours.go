package echo

import (
	"context"
	"net"
	"net/http"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/server"
)

// oursHandler is the library under test as its echo example uses it:
// server.Accept, then a ReadMessage/WriteMessage loop that hands the
// returned slice back to ReadMessage, so steady state allocates nothing.
func oursHandler(mode string) http.Handler {
	opts := oursOptions(mode)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := server.Accept(w, r, opts)
		if err != nil {
			return // Accept has answered the client
		}
		// As server.Server does: the connection runs on its own
		// goroutine and the handler returns, so net/http frees its
		// per-request buffers.
		go func() {
			defer c.CloseNow()
			oursEcho(c)
		}()
	})
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
	opts := &server.Options{
		Conn:        ws.Options{ReadLimit: ReadLimit},
		CheckOrigin: func(*http.Request) bool { return true },
	}
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
// server.AcceptConn reads and answers the handshake on the raw connection
// (the way gobwas's zero-copy upgrade works), then the same echo loop.
func oursConnHandler(mode string) func(net.Conn) {
	opts := oursOptions(mode)
	return func(nc net.Conn) {
		c, _, err := server.AcceptConn(nc, opts)
		if err != nil {
			return // AcceptConn has answered the client and closed nc
		}
		defer c.CloseNow()
		oursEcho(c)
	}
}
