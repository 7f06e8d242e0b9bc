//go:build !js

package ws

import (
	"runtime"
)

// Callbacks (Handler's, and Options.OnPing and OnPong) run on the goroutine
// that reads. Close and Ping behave differently when called from there:
// that goroutine cannot wait for the peer's close or pong, which only it
// can read. The Conn records which goroutine runs its callbacks (hookG)
// and whether one is running (inHook); Close and Ping compare it with
// their own goroutine, which costs a stack header read, and only while a
// callback runs.

// runHook runs a control frame callback on the reading goroutine, marked as
// a callback; readSem must be held.
func (c *Conn) runHook(f func([]byte), payload []byte) {
	if !c.serving {
		// Outside Serve, the reading goroutine changes from call to
		// call; control frames are rare enough to look it up each time.
		c.extra().hookG.Store(goid())
	}
	c.inHook.Store(true)
	defer c.inHook.Store(false)
	f(payload)
}

// inCallback reports whether the calling goroutine is running one of the
// Conn's callbacks.
func (c *Conn) inCallback() bool {
	return c.inHook.Load() && c.extra().hookG.Load() == goid()
}

// goid returns the calling goroutine's ID, read from the first line of its
// stack trace ("goroutine 18 [running]:").
func goid() uint64 {
	var buf [32]byte
	n := runtime.Stack(buf[:], false)
	var id uint64
	for _, b := range buf[len("goroutine "):n] {
		if b < '0' || b > '9' {
			break
		}
		id = id*10 + uint64(b-'0')
	}
	return id
}
