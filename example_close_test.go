//go:build !js

package ws_test

import (
	"context"
	"fmt"
	"net"

	"github.com/rfc6455/ws"
)

// Was this close expected? A read loop ends with an error; the peer's 1000
// or 1001 is a normal end, anything else (another code, a dropped
// connection, a protocol error) is worth a log line.
func ExampleIsCloseError() {
	for _, code := range []ws.CloseCode{ws.CloseGoingAway, ws.CloseInternalError} {
		a, b := net.Pipe()
		c := ws.NewConn(a, nil, ws.RoleServer, nil)
		peer := ws.NewConn(b, nil, ws.RoleClient, nil)
		go func() {
			peer.Close(code, "")
			peer.CloseNow()
		}()
		go peer.ReadMessage(context.Background(), nil) // sees the answer to its close

		var err error
		for err == nil {
			_, _, err = c.ReadMessage(context.Background(), nil)
		}
		if ws.IsCloseError(err, ws.CloseNormal, ws.CloseGoingAway) {
			fmt.Println("closed normally:", err)
		} else {
			fmt.Println("unexpected:", err)
		}
		c.CloseNow()
	}
	// Output:
	// closed normally: websocket: close 1001 (going away)
	// unexpected: websocket: close 1011 (internal error)
}
