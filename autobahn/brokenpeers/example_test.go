package brokenpeers_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/autobahn/brokenpeers"
	"github.com/rfc6455/ws/client"
)

// A server that answers pings with the wrong payload: a client's Ping
// never sees its pong, while messages are echoed as usual.
func ExampleServe() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- brokenpeers.Serve(ln, brokenpeers.WrongPongPayload) }()
	defer func() { ln.Close(); <-done }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := client.Dial(ctx, "ws://"+ln.Addr().String(), nil)
	if err != nil {
		panic(err)
	}
	defer c.CloseNow()
	go c.Serve(ctx, ws.Handler{
		OnMessage: func(typ ws.MessageType, data []byte) { fmt.Printf("echo: %s %q\n", typ, data) },
		OnPong:    func(payload []byte) { fmt.Printf("pong: %q\n", payload) },
	})
	c.WriteMessage(ctx, ws.Text, []byte("hello"))
	pingCtx, cancelPing := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelPing()
	fmt.Println("ping answered:", c.Ping(pingCtx) == nil)
	// Output:
	// echo: text "hello"
	// pong: "pong"
	// ping answered: false
}
