package utf8_test

import (
	"fmt"

	"github.com/rfc6455/ws/utf8"
)

func ExampleValidator() {
	// "€" (E2 82 AC) arrives split across two frames.
	var v utf8.Validator
	fmt.Println(v.Write([]byte("price: \xe2\x82")), v.Complete())
	fmt.Println(v.Write([]byte("\xac 5")), v.Complete())

	// A surrogate is rejected at its second byte, before the message ends.
	v.Reset()
	fmt.Println(v.Write([]byte("\xed\xa0")))
	// Output:
	// true false
	// true true
	// false
}

func ExampleValid() {
	fmt.Println(utf8.Valid([]byte("Grüße")), utf8.Valid([]byte("\xc0\xaf")))
	// Output: true false
}
