package handshake_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/rfc6455/ws/handshake"
)

// A server checks the request, picks a subprotocol and answers with the
// accept key.
func Example() {
	r := httptest.NewRequest("GET", "http://example.com/chat", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "keep-alive, Upgrade")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Protocol", "chat.v1, chat.v2")
	r.Header.Set("Origin", "https://evil.example")

	req, err := handshake.CheckRequest(r)
	if err != nil {
		fmt.Println(handshake.Status(err), err)
		return
	}
	fmt.Println("Sec-WebSocket-Accept:", handshake.AcceptKey(req.Key))
	fmt.Println("Sec-WebSocket-Protocol:", handshake.SelectSubprotocol(req.Subprotocols, []string{"chat.v2", "chat.v1"}))
	if err := handshake.CheckOrigin(r, nil); err != nil {
		fmt.Println(handshake.Status(err), err)
	}
	// Output:
	// Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
	// Sec-WebSocket-Protocol: chat.v2
	// 403 websocket handshake: origin not allowed: "https://evil.example" is neither the request's host "example.com" nor an allowed origin
}

func ExampleParseExtensionList() {
	exts, err := handshake.ParseExtensionList(`permessage-deflate; client_max_window_bits="10", x-webkit-deflate-frame`)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range exts {
		bits, ok := e.Param("client_max_window_bits")
		fmt.Printf("%s %q %v\n", e.Name, bits, ok)
	}
	s, _ := handshake.FormatExtensions(exts[:1])
	fmt.Println(s)
	// Output:
	// permessage-deflate "10" true
	// x-webkit-deflate-frame "" false
	// permessage-deflate; client_max_window_bits=10
}
