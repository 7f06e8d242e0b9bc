package reconnect_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/reconnect"
	"github.com/rfc6455/ws/server"
)

// A client that subscribes after each connection, sends a message queued
// before it was even connected, and prints what the server echoes.
func Example() {
	srv := httptest.NewServer(server.Handler(func(c *ws.Conn) {
		ctx := context.Background()
		for {
			typ, msg, err := c.ReadMessage(ctx, nil)
			if err != nil {
				return
			}
			c.WriteMessage(ctx, typ, append([]byte("echo: "), msg...))
		}
	}))
	defer srv.Close()

	got := make(chan string, 2)
	c := reconnect.New("ws"+strings.TrimPrefix(srv.URL, "http"), &reconnect.Options{
		Backoff:     reconnect.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second},
		MaxAttempts: 10,
		OnConnect: func(ctx context.Context, conn *ws.Conn) error {
			// Runs after every (re)connection, before queued messages.
			return conn.WriteMessage(ctx, ws.Text, []byte("subscribe prices"))
		},
		OnMessage: func(typ ws.MessageType, data []byte) { got <- string(data) },
		OnStateChange: func(t reconnect.Transition) {
			fmt.Println(t.From, "->", t.To)
		},
	})
	c.Send(ws.Text, []byte("hello")) // queued until connected

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	fmt.Println(<-got)
	fmt.Println(<-got)
	c.Close()
	<-c.Done()
	// Output:
	// idle -> connecting
	// connecting -> open
	// echo: subscribe prices
	// echo: hello
	// open -> closed
}

// The delays of the default schedule grow from 500 ms to 30 s; with jitter
// each is shortened at random by up to half.
func ExampleBackoff() {
	b := reconnect.Backoff{Initial: time.Second, Max: 10 * time.Second, Jitter: -1}
	for n := 1; n <= 5; n++ {
		fmt.Println(b.Delay(n))
	}
	// Output:
	// 1s
	// 2s
	// 4s
	// 8s
	// 10s
}
