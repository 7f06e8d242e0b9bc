//go:build !js

package ws

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rfc6455/ws/frame"
)

// Issue 18, "A keepalive on a plain ws.Conn": a peer that reads but never
// answers pings is closed when the first pong is late: it gets a close
// frame with 1011, then TCP closes; the local reader ends with 1006 and
// ErrKeepAliveTimeout.
func TestKeepAliveClosesPeerThatNeverAnswers(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, nil)
	served := make(chan error, 1)
	go func() { served <- c.Serve(bg, Handler{}) }()
	kept := make(chan error, 1)
	go func() { kept <- c.KeepAlive(bg, 20*time.Millisecond, 50*time.Millisecond) }()
	peer.expectFrame(frame.OpPing) // and never a pong
	if reason := peer.expectClose(CloseInternalError); reason != "keepalive timeout" {
		t.Fatalf("close reason %q", reason)
	}
	peer.expectEOF()
	if err := <-kept; !errors.Is(err, ErrKeepAliveTimeout) {
		t.Fatalf("KeepAlive = %v", err)
	}
	err := <-served
	if !errors.Is(err, ErrKeepAliveTimeout) || closeCodeOf(err) != CloseAbnormal {
		t.Fatalf("Serve = %v, want 1006 wrapping ErrKeepAliveTimeout", err)
	}
	if c.State() != StateClosed {
		t.Fatalf("state %v", c.State())
	}
	if err := c.WriteMessage(bg, Text, []byte("x")); err == nil {
		t.Fatal("a write after the keepalive failed the connection succeeded")
	}
}

// A peer that does not read at all: the ping cannot even be written once
// the socket buffers are full, and the connection is closed all the same.
func TestKeepAliveClosesPeerThatDoesNotRead(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, nil)
	go c.Serve(bg, Handler{})
	go c.WriteMessage(bg, Binary, make([]byte, 64<<20)) // fills the buffers and blocks
	if err := c.KeepAlive(bg, 20*time.Millisecond, 50*time.Millisecond); !errors.Is(err, ErrKeepAliveTimeout) {
		t.Fatalf("KeepAlive = %v", err)
	}
	if c.State() != StateClosed {
		t.Fatalf("state %v", c.State())
	}
	_ = peer
}

// A peer that answers keeps the connection open; KeepAlive returns when its
// context ends and leaves the connection as it was; it returns ErrClosed
// when the connection ends otherwise.
func TestKeepAliveKeepsAnsweringPeer(t *testing.T) {
	srv, cli := newPair(t)
	var pings atomic.Int32
	cli.opts.OnPing = func([]byte) { pings.Add(1) }
	go cli.Serve(bg, Handler{})
	got := make(chan []byte, 1)
	go srv.Serve(bg, Handler{OnMessage: func(_ MessageType, m []byte) { got <- append([]byte(nil), m...) }})
	ctx, cancel := context.WithCancel(bg)
	kept := make(chan error, 1)
	go func() { kept <- srv.KeepAlive(ctx, 5*time.Millisecond, time.Second) }()
	for pings.Load() < 5 {
		select {
		case err := <-kept:
			t.Fatalf("KeepAlive returned %v with the peer answering", err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-kept; !errors.Is(err, context.Canceled) {
		t.Fatalf("KeepAlive after cancel = %v", err)
	}
	if err := cli.WriteMessage(bg, Text, []byte("still open")); err != nil || string(<-got) != "still open" || srv.State() != StateOpen {
		t.Fatalf("after KeepAlive: %v, state %v", err, srv.State())
	}

	go func() { kept <- srv.KeepAlive(bg, 5*time.Millisecond, time.Second) }()
	cli.Close(CloseNormal, "")
	if err := <-kept; !errors.Is(err, ErrClosed) {
		t.Fatalf("KeepAlive on a closed connection = %v", err)
	}
	if err := srv.KeepAlive(bg, 0, 0); err == nil {
		t.Fatal("KeepAlive with no interval")
	}
}
