package loop

// Adversarial tests of the event-loop server (helper "attack"): callbacks
// that re-enter the loop, peers that misbehave at the edges of the
// handshake and of the send queue, and many connections doing all of it at
// once. Each test waits on events (OnClose, a frame read, a handler's
// signal); the timeouts only bound a failure.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
)

// atkHandler is a Handler made of functions; nil ones do nothing. Every
// OnClose error goes to closed.
type atkHandler struct {
	open    func(c *Conn)
	message func(c *Conn, typ ws.MessageType, data []byte)
	closed  chan atkClose
}

type atkClose struct {
	c   *Conn
	err error
}

func newAtk() *atkHandler { return &atkHandler{closed: make(chan atkClose, 4096)} }

func (h *atkHandler) OnOpen(c *Conn) {
	if h.open != nil {
		h.open(c)
	}
}

func (h *atkHandler) OnMessage(c *Conn, typ ws.MessageType, data []byte) {
	if h.message != nil {
		h.message(c, typ, data)
	}
}

func (h *atkHandler) OnClose(c *Conn, err error) { h.closed <- atkClose{c, err} }

// waitClose waits for OnClose of c (others are put back unless they are
// nil-filtered) and returns its error; it fails the test after d.
func (h *atkHandler) waitClose(t *testing.T, c *Conn, d time.Duration) error {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	var others []atkClose
	defer func() {
		for _, o := range others {
			h.closed <- o
		}
	}()
	for {
		select {
		case e := <-h.closed:
			if c == nil || e.c == c {
				return e.err
			}
			others = append(others, e)
		case <-timer.C:
			t.Fatalf("no OnClose within %v", d)
			return nil
		}
	}
}

// TestCloseNowWhileReadingPaused: a peer that sends but never reads gets
// its reading paused (PauseBytes); CloseNow on it must still end the
// connection (OnClose, the descriptor closed), not leave it registered
// with nobody to read its end.
func TestCloseNowWhileReadingPaused(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			h := newAtk()
			big := make([]byte, 8<<20)
			conns := make(chan *Conn, 2)
			h.open = func(c *Conn) { conns <- c }
			barrier := make(chan struct{}, 1)
			h.message = func(c *Conn, typ ws.MessageType, data []byte) {
				if string(data) == "barrier" {
					barrier <- struct{}{}
					return
				}
				c.Send(ws.Binary, big) // more than the socket takes: queued
			}
			s := &Server{Handler: h, Goroutines: d.goroutines, Loops: 1, PauseBytes: 1 << 10,
				Policy: Policy{QueueBytes: -1}}
			addr := start(t, s)
			c1 := dialRaw(t, addr)
			c1.upgrade(t, "")
			sc1 := <-conns
			c1.Write(clientFrame(0x82, []byte("send me a lot"), -1))
			// A second connection on the same (only) loop: once its
			// message is seen, the loop is past the first one's
			// input, and has paused reading it.
			c2 := dialRaw(t, addr)
			c2.upgrade(t, "")
			<-conns
			c2.Write(clientFrame(0x81, []byte("barrier"), -1))
			select {
			case <-barrier:
			case <-time.After(20 * time.Second):
				t.Fatal("no barrier message")
			}
			if d.goroutines {
				// The writer may still be writing: nothing pauses.
			} else if b := sc1.BufferedAmount(); b <= 1<<10 {
				t.Fatalf("BufferedAmount %d: the test needs a full queue", b)
			}
			sc1.CloseNow()
			h.waitClose(t, sc1, 20*time.Second)
			c1.expectEnd(t, 20*time.Second)
		})
	}
}

// TestCloseDiscardWhileReadingPausedSeesPeersClose: CloseDiscard (what
// CloseSlow does) on a paused connection drops its queue; the peer then
// reads the close frame and answers it, and the server must read that
// answer (reading resumes) rather than wait for the close timeout.
func TestCloseDiscardWhileReadingPausedSeesPeersClose(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			h := newAtk()
			big := make([]byte, 8<<20)
			conns := make(chan *Conn, 2)
			h.open = func(c *Conn) { conns <- c }
			barrier := make(chan struct{}, 1)
			h.message = func(c *Conn, typ ws.MessageType, data []byte) {
				if string(data) == "barrier" {
					barrier <- struct{}{}
					return
				}
				c.Send(ws.Binary, big)
			}
			s := &Server{Handler: h, Goroutines: d.goroutines, Loops: 1, PauseBytes: 1 << 10, Policy: Policy{QueueBytes: -1}}
			s.Options.Conn.CloseTimeout = time.Minute // the test fails on its own bound first
			addr := start(t, s)
			c1 := dialRaw(t, addr)
			c1.upgrade(t, "")
			sc1 := <-conns
			c1.Write(clientFrame(0x82, []byte("send me a lot"), -1))
			c2 := dialRaw(t, addr)
			c2.upgrade(t, "")
			<-conns
			c2.Write(clientFrame(0x81, []byte("barrier"), -1))
			<-barrier
			sc1.CloseDiscard(ws.CloseTryAgainLater, "slow")
			// The peer now reads: what had begun, then the close frame, which
			// it answers.
			c1.SetDeadline(time.Now().Add(30 * time.Second))
			c1.expectClose(t, ws.CloseTryAgainLater)
			c1.Write(clientFrame(0x88, []byte{0x03, 0xf5}, -1))
			err := h.waitClose(t, sc1, 20*time.Second)
			var ce *ws.CloseError
			if !errors.As(err, &ce) || ce.Code != ws.CloseTryAgainLater {
				t.Errorf("OnClose: %v, want the peer's 1013", err)
			}
			c1.expectEnd(t, 20*time.Second)
		})
	}
}

var _ = bytes.Equal
var _ = context.Background
var _ = io.EOF
var _ sync.Mutex
