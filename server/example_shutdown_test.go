package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/server"
)

// An http.Server with safe limits serving WebSockets, and the shutdown that
// sends every client its 1001 at once. A program would wait for SIGINT or
// SIGTERM (signal.NotifyContext) where this one shuts down after a message.
func ExampleShutdown() {
	wsServer := server.Handler(func(c *ws.Conn) {
		for {
			if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
				return
			}
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/ws", wsServer)
	srv := server.NewHTTPServer("127.0.0.1:0", mux)
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.Serve(ln)

	ctx := context.Background()
	c, _, err := client.Dial(ctx, "ws://"+ln.Addr().String()+"/ws", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	ended := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage(ctx, nil)
		ended <- err
	}()

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := server.Shutdown(sctx, srv, wsServer); err != nil {
		fmt.Println(err)
	}
	var ce *ws.CloseError
	if errors.As(<-ended, &ce) {
		fmt.Println("the client got", uint16(ce.Code), ce.Reason)
	}
	// Output: the client got 1001 server shutting down
}
