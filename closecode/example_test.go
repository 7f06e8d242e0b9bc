package closecode_test

import (
	"errors"
	"fmt"

	"github.com/rfc6455/ws/closecode"
)

func Example() {
	payload, err := closecode.Append(nil, closecode.GoingAway, "bye")
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", payload)

	code, reason, err := closecode.Parse(payload)
	fmt.Println(code, reason, err)

	// A received close frame is reported as a *CloseError.
	err = fmt.Errorf("read: %w", &closecode.CloseError{Code: code, Reason: reason})
	fmt.Println(err)
	if c, ok := closecode.Of(err); ok {
		fmt.Println("peer closed with", c)
	}

	// A malformed payload yields the close code to answer with.
	_, _, err = closecode.Parse([]byte{0x03, 0xed}) // 1005 must never be sent
	var perr *closecode.Error
	if errors.As(err, &perr) {
		fmt.Println("reply with", perr.Code)
	}
	fmt.Println(closecode.Code(4001), closecode.Code(4001).ValidReceived())
	// Output:
	// 03 e9 62 79 65
	// 1001 (going away) bye <nil>
	// read: websocket: close 1001 (going away): "bye"
	// peer closed with 1001 (going away)
	// reply with 1002 (protocol error)
	// 4001 (private use) true
}
