package event_test

import (
	"runtime"
	"testing"
	"time"
)

func numGoroutine() int { return runtime.NumGoroutine() }

// waitGoroutines waits, a bounded time, for the goroutine count to fall back
// to before, and fails with a dump if it does not.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left behind (before %d):\n%s", runtime.NumGoroutine()-before, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
