package wsjson_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/server"
	"github.com/rfc6455/ws/wsjson"
)

// A server that adds two numbers sent as JSON.
func Example() {
	type sum struct{ A, B, Sum int }
	srv := httptest.NewServer(server.Handler(func(c *ws.Conn) {
		ctx := context.Background()
		var req sum
		if err := wsjson.Read(ctx, c, &req); err != nil {
			return
		}
		req.Sum = req.A + req.B
		wsjson.Write(ctx, c, req)
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := client.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ws.CloseNormal, "")
	wsjson.Write(ctx, c, sum{A: 2, B: 3})
	var reply sum
	wsjson.Read(ctx, c, &reply)
	fmt.Println(reply.Sum)
	// Output: 5
}
