package ratelimit_test

import (
	"fmt"
	"time"

	"github.com/rfc6455/ws/ratelimit"
)

// A user may send 3 messages at once, then 1 per second.
func Example() {
	now := time.Unix(0, 0)
	lim := ratelimit.New(1, 3)
	lim.Now = func() time.Time { return now }
	for i := range 5 {
		fmt.Println(i, lim.Allow("alice"))
	}
	now = now.Add(time.Second)
	fmt.Println("a second later:", lim.Allow("alice"))
	// Output:
	// 0 true
	// 1 true
	// 2 true
	// 3 false
	// 4 false
	// a second later: true
}
