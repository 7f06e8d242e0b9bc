package mask_test

import (
	"fmt"

	"github.com/rfc6455/ws/mask"
)

func ExampleApply() {
	// The masked "Hello" frame payload from RFC 6455 §5.7.
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	payload := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}

	// Unmask across two reads, carrying the key position along.
	pos := mask.Apply(key, 0, payload[:2])
	pos = mask.Apply(key, pos, payload[2:])
	fmt.Printf("%s %d\n", payload, pos)
	// Output: Hello 1
}
