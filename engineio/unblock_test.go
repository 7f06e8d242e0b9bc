package engineio

import (
	"sync"
	"testing"

	"github.com/rfc6455/ws"
)

// waiter is a Handler whose Message for "wait" waits for the next message
// ("go"), which only a detached call (Unblock) lets in, and answers each
// message with WritePrepared, on the goroutine that handles it.
type waiter struct {
	t        *testing.T
	mu       sync.Mutex
	got      []string
	goes     chan struct{}
	unblocks chan bool
}

func (w *waiter) Open(*Socket)         {}
func (w *waiter) Close(*Socket, error) {}

func (w *waiter) Message(s *Socket, typ ws.MessageType, data []byte) {
	msg := string(data)
	w.mu.Lock()
	w.got = append(w.got, msg)
	w.mu.Unlock()
	switch msg {
	case "wait":
		if !s.Unblockable() {
			w.t.Error("a message read on WebSocket: not Unblockable")
		}
		go func() { w.unblocks <- s.Unblock() }()
		<-w.goes
		// data is still this call's.
		msg = string(data) + " done"
	case "go":
		w.goes <- struct{}{}
	}
	p, err := NewMessage(ws.Text, []byte(msg))
	if err != nil {
		w.t.Error(err)
		return
	}
	if err := s.WritePrepared(p); err != nil {
		w.t.Error(err)
	}
}

func TestUnblockLetsTheSessionReadOn(t *testing.T) {
	w := &waiter{t: t, goes: make(chan struct{}), unblocks: make(chan bool, 4)}
	h := newHarness(t, &Options{Handler: w})
	c := h.mustDial("?EIO=4&transport=websocket")
	if open := c.next(); open[0] != '0' {
		t.Fatalf("open packet %q", open)
	}
	c.send(ws.Text, "4first")
	if got := c.next(); got != "4first" {
		t.Fatalf("answer %q", got)
	}
	// The "wait" call waits for "go", which comes in the next message:
	// only its detachment lets the session read it.
	c.send(ws.Text, "4wait")
	if !<-w.unblocks {
		t.Fatal("Unblock did not detach the call")
	}
	c.send(ws.Text, "4go")
	got := map[string]bool{c.next(): true, c.next(): true}
	if !got["4go"] || !got["4wait done"] {
		t.Fatalf("answers %v", got)
	}
	// Reading goes on, on the new goroutine; nothing is detached now.
	c.send(ws.Text, "4after")
	if got := c.next(); got != "4after" {
		t.Fatalf("answer %q", got)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if want := []string{"first", "wait", "go", "after"}; len(w.got) != len(want) {
		t.Fatalf("messages %q, want %q", w.got, want)
	}
}
