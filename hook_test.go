//go:build !js

package ws

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rfc6455/ws/frame"
)

// Issue 20, bug 6: Close called from Options.OnPing or Options.OnPong, which
// run on the goroutine that reads, returns at once instead of waiting for
// the read it is part of; the read then sees the peer's close.
func TestCloseFromOptionsControlHooksDoesNotWaitForItself(t *testing.T) {
	for _, op := range []frame.Opcode{frame.OpPing, frame.OpPong} {
		t.Run(op.String(), func(t *testing.T) {
			var c *Conn
			closeErr := make(chan error, 1)
			hook := func([]byte) { closeErr <- c.Close(CloseNormal, "from a hook") }
			opts := &Options{CloseTimeout: 2 * time.Second}
			if op == frame.OpPing {
				opts.OnPing = hook
			} else {
				opts.OnPong = hook
			}
			c, peer := newRawPair(t, RoleServer, opts)
			peer.send(true, op, []byte("p"))
			peerDone := make(chan struct{})
			go func() {
				defer close(peerDone)
				if op == frame.OpPing {
					peer.expectFrame(frame.OpPong)
				}
				peer.expectClose(1000)
				// The peer answers once Close has returned: a Close
				// that waited for the answer would time out.
				if err := <-closeErr; err != nil {
					t.Errorf("Close from the hook: %v", err)
				}
				peer.send(true, frame.OpClose, []byte{0x03, 0xe8})
			}()
			var ce *CloseError
			_, _, err := c.ReadMessage(bg, nil)
			<-peerDone
			if !errors.As(err, &ce) || ce.Code != 1000 {
				t.Fatalf("ReadMessage = %v, want the peer's close", err)
			}
		})
	}
}

// Issue 20, bug 7: Close from another goroutine while a Serve callback runs
// waits for the close handshake like any Close, and closes TCP at the
// deadline even though the callback still runs.
func TestCloseFromOtherGoroutineWhileCallbackRuns(t *testing.T) {
	t.Run("peer silent", func(t *testing.T) {
		c, peer := newRawPair(t, RoleServer, &Options{CloseTimeout: 200 * time.Millisecond})
		in, release := make(chan struct{}), make(chan struct{})
		served := make(chan error, 1)
		go func() {
			served <- c.Serve(bg, Handler{OnMessage: func(MessageType, []byte) {
				close(in)
				<-release
			}})
		}()
		peer.send(true, frame.OpText, []byte("x"))
		<-in
		err := c.Close(CloseNormal, "")
		state := c.State()
		close(release)
		if !errors.Is(err, ErrCloseTimeout) || state != StateClosed {
			t.Fatalf("Close = %v, state %v; want ErrCloseTimeout and TCP closed", err, state)
		}
		peer.expectClose(1000)
		peer.expectEOF()
		if err := <-served; err == nil {
			t.Fatal("Serve returned nil")
		}
	})
	t.Run("peer answers", func(t *testing.T) {
		c, peer := newRawPair(t, RoleServer, &Options{CloseTimeout: 5 * time.Second})
		in, release := make(chan struct{}), make(chan struct{})
		served := make(chan error, 1)
		go func() {
			served <- c.Serve(bg, Handler{OnMessage: func(MessageType, []byte) {
				close(in)
				<-release
			}})
		}()
		peer.send(true, frame.OpText, []byte("x"))
		<-in
		closed := make(chan error, 1)
		go func() { closed <- c.Close(CloseNormal, "") }()
		peer.expectClose(1000)
		peer.send(true, frame.OpClose, []byte{0x03, 0xe8})
		select {
		case err := <-closed:
			t.Fatalf("Close returned %v while the only reader was blocked in a callback", err)
		default:
		}
		close(release)
		if err := <-closed; err != nil {
			t.Fatalf("Close = %v", err)
		}
		var ce *CloseError
		if err := <-served; !errors.As(err, &ce) || ce.Code != 1000 {
			t.Fatalf("Serve = %v", err)
		}
	})
}

// A callback's Close after another goroutine's Close returns at once: the
// callback's goroutine is the one that must finish the handshake.
func TestCloseFromCallbackAfterAnotherClose(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, &Options{CloseTimeout: 5 * time.Second})
	in, release := make(chan struct{}), make(chan struct{})
	inner := make(chan error, 1)
	served := make(chan error, 1)
	go func() {
		served <- c.Serve(bg, Handler{OnMessage: func(MessageType, []byte) {
			close(in)
			<-release
			inner <- c.Close(CloseGoingAway, "")
		}})
	}()
	peer.send(true, frame.OpText, []byte("x"))
	<-in
	outer := make(chan error, 1)
	go func() { outer <- c.Close(CloseNormal, "") }()
	peer.expectClose(1000)
	close(release)
	if err := <-inner; err != nil {
		t.Fatalf("Close from the callback: %v", err)
	}
	peer.send(true, frame.OpClose, []byte{0x03, 0xe8})
	if err := <-outer; err != nil {
		t.Fatalf("the other goroutine's Close: %v", err)
	}
	<-served
}

// Ping from a callback on the reading goroutine cannot see its pong: it
// fails at once with ErrPingFromReader and sends nothing. From another
// goroutine it works while Serve runs.
func TestPingFromCallbackFailsFast(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, nil)
	ctx, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	pinged := make(chan error, 2)
	c.opts.OnPong = func([]byte) { pinged <- c.Ping(ctx) }
	go c.Serve(bg, Handler{OnMessage: func(MessageType, []byte) { pinged <- c.Ping(ctx) }})
	peer.send(true, frame.OpText, []byte("x"))
	peer.send(true, frame.OpPong, nil)
	for i := 0; i < 2; i++ {
		if err := <-pinged; !errors.Is(err, ErrPingFromReader) {
			t.Fatalf("Ping from a callback = %v", err)
		}
	}
	c.opts.OnPong = nil
	outside := make(chan error, 1)
	go func() { outside <- c.Ping(ctx) }()
	_, p := peer.expectFrame(frame.OpPing) // the first ping the peer sees is this one
	peer.send(true, frame.OpPong, p)
	if err := <-outside; err != nil {
		t.Fatalf("Ping from another goroutine: %v", err)
	}
}

func TestGoroutineIDs(t *testing.T) {
	id := goid()
	if id == 0 || goid() != id {
		t.Fatalf("goid() = %d, then %d", id, goid())
	}
	other := make(chan uint64)
	go func() { other <- goid() }()
	if o := <-other; o == 0 || o == id {
		t.Fatalf("another goroutine's id %d, this one's %d", o, id)
	}
}
