//go:build !js

package ws_test

import (
	"bufio"
	"context"
	"fmt"
	"net"

	"github.com/rfc6455/ws"
)

// NetConn turns a WebSocket into a byte stream for code written against
// net.Conn: here a line protocol read with bufio.Scanner, whose lines cross
// the boundaries of the messages they came in.
func ExampleNetConn() {
	a, b := net.Pipe()
	ctx := context.Background()
	server := ws.NetConn(ctx, ws.NewConn(a, nil, ws.RoleServer, nil), ws.Binary)
	client := ws.NetConn(ctx, ws.NewConn(b, nil, ws.RoleClient, nil), ws.Binary)
	go func() {
		for _, msg := range []string{"hel", "lo\nwor", "ld\n"} {
			client.Write([]byte(msg)) // one message each
		}
		client.Close() // the server reads io.EOF after the data
	}()
	lines := bufio.NewScanner(server)
	for lines.Scan() {
		fmt.Println(lines.Text())
	}
	fmt.Println("error:", lines.Err())
	server.Close()
	// Output:
	// hello
	// world
	// error: <nil>
}
