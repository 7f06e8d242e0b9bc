package frame_test

import (
	"fmt"

	"github.com/rfc6455/ws/frame"
)

// A server-side parser fed a masked text frame one byte at a time.
func ExampleParser() {
	h := frame.Header{Fin: true, Opcode: frame.OpText, Masked: true, Key: [4]byte{1, 2, 3, 4}, Length: 2}
	wire := frame.AppendHeader(nil, h)
	wire = append(wire, 'h'^1, 'i'^2)

	p := frame.Parser{Role: frame.Server, MaxMessage: 1 << 20}
	var text []byte
	for i := range wire {
		ev, _, err := p.Feed(wire[i : i+1])
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		switch ev.Kind {
		case frame.HeaderEvent:
			fmt.Println("header:", p.Header().Opcode, p.Header().Length, "bytes")
		case frame.PayloadEvent:
			for j, c := range ev.Payload {
				text = append(text, c^p.Header().Key[(ev.KeyPos+j)&3])
			}
			if ev.FrameEnd {
				fmt.Printf("payload: %q\n", text)
			}
		}
	}
	// Output:
	// header: text 2 bytes
	// payload: "hi"
}

// An unmasked frame sent to a server breaks RFC 6455 §5.1.
func ExampleParser_error() {
	p := frame.Parser{Role: frame.Server}
	_, _, err := p.Feed([]byte{0x81, 0x00})
	fmt.Println(err)
	fmt.Println("close code:", err.(*frame.Error).CloseCode())
	// Output:
	// websocket: unmasked frame from a client (RFC 6455 §5.1)
	// close code: 1002
}
