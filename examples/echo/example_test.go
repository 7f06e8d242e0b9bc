package main

import (
	"net/http/httptest"
	"os"
	"strings"
)

// The demo client against the echo endpoint.
func Example() {
	srv := httptest.NewServer(newEchoServer().http.Handler)
	defer srv.Close()
	if err := demo("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// client -> server: "hello"
	// server -> client: "hello"
	// client -> server: "WebSocket is RFC 6455"
	// server -> client: "WebSocket is RFC 6455"
	// client -> server: binary 00 01 02 ff
	// server -> client: binary 00 01 02 ff
	// client -> server: "bye"
	// server -> client: "bye"
	// client -> server: ping
	// server -> client: pong
	// client -> server: close 1000 "done"
	// server -> client: close 1000 ""
}
