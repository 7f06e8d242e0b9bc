package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/server"
)

// An echo endpoint with server.Handler, and a client talking to it.
func Example() {
	mux := http.NewServeMux()
	mux.Handle("/ws", server.Handler(func(c *ws.Conn) {
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
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := context.Background()
	c, _, err := client.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.WriteMessage(ctx, ws.Text, []byte("hello"))
	_, reply, _ := c.ReadMessage(ctx, nil)
	fmt.Printf("%s\n", reply)
	c.Close(ws.CloseNormal, "")
	// Output: hello
}

// Accept inside an ordinary handler, with a subprotocol and a cookie.
func ExampleAccept() {
	opts := &server.Options{
		Subprotocols:   []string{"chat.v2", "chat.v1"},
		OriginPatterns: []string{"app.example.com"},
		ResponseHeader: func(r *http.Request, h http.Header) {
			h.Add("Set-Cookie", "seen=1")
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := server.Accept(w, r, opts)
		if err != nil {
			return // the client has been told why
		}
		defer c.Close(ws.CloseNormal, "")
		c.WriteMessage(r.Context(), ws.Text, []byte("welcome, "+c.Subprotocol()+" speaker"))
	}))
	defer srv.Close()

	ctx := context.Background()
	c, resp, err := client.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &client.Options{
		Subprotocols: []string{"chat.v1", "chat.v2"},
		Header:       http.Header{"Origin": {"https://app.example.com"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_, msg, _ := c.ReadMessage(ctx, nil)
	fmt.Println(resp.Header.Get("Set-Cookie"))
	fmt.Printf("%s\n", msg)
	// Output:
	// seen=1
	// welcome, chat.v2 speaker
}
