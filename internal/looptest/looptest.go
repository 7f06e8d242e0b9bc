// Package looptest serves a loop.Server on a loopback port for the tests
// of the packages that drive it (engineio's and socketio's event-loop
// driver). Tests only.
package looptest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws/loop"
)

// Serve serves ls on a new loopback listener and returns its address
// (host:port) and a function that shuts ls down, within timeout, and waits
// for Serve to return.
func Serve(tb testing.TB, ls *loop.Server, timeout time.Duration) (addr string, stop func()) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		ls.Serve(ln)
	}()
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		ls.Shutdown(ctx)
		<-served
	}
}

// loopTests holds the tests whose servers run on the event-loop driver.
var loopTests sync.Map

// EachDriver runs test against each driver of the WebSocket transport, as
// subtests: "goroutines" (net/http) and "loop" (a loop.Server, for which
// OnLoop reports true).
func EachDriver(t *testing.T, test func(t *testing.T)) {
	t.Run("goroutines", test)
	t.Run("loop", func(t *testing.T) {
		loopTests.Store(t, true)
		defer loopTests.Delete(t)
		test(t)
	})
}

// OnLoop reports whether EachDriver runs tb on the event-loop driver.
func OnLoop(tb testing.TB) bool {
	_, ok := loopTests.Load(tb)
	return ok
}
