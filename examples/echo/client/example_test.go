package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/server"
)

// Two lines typed, their echoes printed, then the input ends.
func Example() {
	srv := httptest.NewServer(server.Handler(func(c *ws.Conn) {
		for {
			typ, msg, err := c.ReadMessage(context.Background(), nil)
			if err != nil {
				return
			}
			c.WriteMessage(context.Background(), typ, msg)
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	var out strings.Builder
	if err := run(context.Background(), url, strings.NewReader("hello\nworld\n"), &out); err != nil {
		fmt.Println(err)
	}
	fmt.Print(strings.ReplaceAll(out.String(), url, "ws://127.0.0.1:8080/ws"))
	// Output:
	// connected to ws://127.0.0.1:8080/ws; type lines to send, Ctrl-D to quit
	// < hello
	// < world
	// closed: 1000 ""
}
