package engineio_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/engineio"
)

// A client session to an echo server: it starts on polling and upgrades to
// WebSocket; messages come back in order either way.
func ExampleDial() {
	srv := engineio.NewServer(&engineio.Options{Handler: engineio.HandlerFuncs{
		OnMessage: func(s *engineio.Socket, typ ws.MessageType, data []byte) {
			s.Send(s.Context(), typ, data)
		},
	}})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	echoes := make(chan string, 1)
	ctx := context.Background()
	c, err := engineio.Dial(ctx, ts.URL+"/engine.io/", &engineio.ClientOptions{
		OnMessage: func(typ ws.MessageType, data []byte) { echoes <- string(data) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Send(ctx, ws.Text, []byte("hello"))
	fmt.Println(<-echoes)
	// Output: hello
}
