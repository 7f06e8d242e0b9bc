package deflate_test

import (
	"fmt"

	"github.com/rfc6455/ws/deflate"
)

// A client asks for a 10-bit server window; the server accepts, compresses
// with that window, and the client inflates with a read limit.
func Example() {
	client := deflate.ClientConfig{ServerMaxWindowBits: 10}
	server := deflate.ServerConfig{}

	// Handshake: the offer travels in Sec-WebSocket-Extensions, the
	// response comes back the same way (RFC 7692 §5).
	resp, ok := server.Negotiate([][]deflate.Param{client.Offer()})
	fmt.Println("accepted:", ok, "response:", deflate.ExtensionName+resp.String())
	params, err := client.Accept(resp.Format())
	if err != nil {
		panic(err) // the client would fail the connection
	}

	// The server compresses with the window the client asked for.
	c := deflate.NewCompressor(resp.ServerWindowBits(), deflate.DefaultCompression)
	d := deflate.NewDecompressor(params.ServerWindowBits())
	takeover := !params.ServerNoContextTakeover
	for _, msg := range []string{"Hello", "Hello"} {
		payload := c.Compress(nil, []byte(msg), takeover)
		out, err := d.Decompress(nil, payload, 1<<20, takeover)
		fmt.Printf("% x -> %q %v\n", payload, out, err)
	}
	// Output:
	// accepted: true response: permessage-deflate; server_max_window_bits=10
	// f2 48 cd c9 c9 07 00 -> "Hello" <nil>
	// f2 00 11 00 00 -> "Hello" <nil>
}
