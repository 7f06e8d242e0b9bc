package catalog_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/autobahn/catalog"
	"github.com/rfc6455/ws/server"
)

// Test an echo server with the cases of section 1.1 (text messages of every
// length encoding) and print the verdicts.
func Example() {
	srv := httptest.NewServer(server.Handler(func(c *ws.Conn) {
		ctx := context.Background()
		for {
			typ, msg, err := c.ReadMessage(ctx, nil)
			if err != nil {
				return
			}
			if err := c.WriteMessage(ctx, typ, msg); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	cases, err := catalog.Select(catalog.All(), []string{"1.1.*"}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	reports, err := catalog.RunServerTests(context.Background(), url, "example", cases, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range reports {
		fmt.Println(r.ID, r.Behavior, r.BehaviorClose, *r.RemoteCloseCode)
	}
	// Output:
	// 1.1.1 OK OK 1000
	// 1.1.2 OK OK 1000
	// 1.1.3 OK OK 1000
	// 1.1.4 OK OK 1000
	// 1.1.5 OK OK 1000
	// 1.1.6 OK OK 1000
	// 1.1.7 OK OK 1000
	// 1.1.8 OK OK 1000
}
