package wsproto_test

import (
	"fmt"

	"github.com/rfc6455/ws/wsproto"
)

// A driver's loop: feed what arrived, act on each event, append the replies
// the events call for to the output, and ask what the connection waits for.
func Example() {
	// What a client sent: a text message, a ping, and its close frame.
	client := wsproto.New(wsproto.Config{Role: wsproto.Client})
	in, _ := client.AppendMessage(nil, wsproto.Text, []byte("hello"))
	in, _ = client.AppendPing(in, []byte("are you there"))
	in, _ = client.AppendClose(in, 1000, "bye")

	server := wsproto.New(wsproto.Config{Role: wsproto.Server, ReadLimit: 1 << 20, Assemble: true})
	var out []byte // what the server writes
	for len(in) > 0 {
		ev, n := server.Feed(in)
		in = in[n:]
		switch ev.Kind {
		case wsproto.Message:
			fmt.Printf("message (%v): %s\n", ev.Type, ev.Payload)
			// An echo.
			out, _ = server.AppendMessage(out, ev.Type, ev.Payload)
		case wsproto.Ping:
			fmt.Printf("ping: %s\n", ev.Payload)
		case wsproto.Close:
			fmt.Printf("close: %d %s\n", ev.Code, ev.Reason)
		case wsproto.Failed:
			fmt.Printf("failed: %d %v\n", ev.Code, ev.Err)
		}
		out = server.AppendReply(out, ev) // the pong, the close echo
	}
	fmt.Printf("%d bytes to write, then: %v\n", len(out), server.Await())
	// Output:
	// message (text): hello
	// ping: are you there
	// close: 1000 bye
	// 26 bytes to write, then: close now
}
