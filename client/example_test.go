//go:build !js

package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/server"
)

func Example() {
	srv := httptest.NewServer(server.Handler(func(c *ws.Conn) {
		c.WriteMessage(context.Background(), ws.Text, []byte("hi from the server"))
		c.Close(ws.CloseNormal, "done")
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := client.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &client.Options{
		Header: http.Header{"Authorization": {"Bearer example-token"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	for {
		_, msg, err := c.ReadMessage(ctx, nil)
		var ce *ws.CloseError
		if errors.As(err, &ce) {
			fmt.Println("closed:", uint16(ce.Code), ce.Reason)
			return
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s\n", msg)
	}
	// Output:
	// hi from the server
	// closed: 1000 done
}

// A refusal carries the status and the body.
func ExampleHandshakeError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "log in first", http.StatusUnauthorized)
	}))
	defer srv.Close()

	_, _, err := client.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	var he *client.HandshakeError
	if errors.As(err, &he) {
		body, _ := io.ReadAll(he.Response.Body)
		fmt.Printf("%d %s", he.StatusCode, body)
	}
	// Output: 401 log in first
}
