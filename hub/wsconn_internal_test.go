package hub

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"unsafe"

	"github.com/rfc6455/ws"
)

// Issue 20, bug 9, at its root: a send that lands after the client's writer
// made its last drain is taken out of the counts, not left in the queue
// with its bytes counted for ever.
func TestSendAfterWritersLastDrainLeavesNoCount(t *testing.T) {
	h := New(&Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PingInterval: -1})
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	conn := ws.NewConn(a, nil, ws.RoleServer, nil)
	tr := newWSConn(conn, 16)
	c := h.newClient(context.Background(), tr, Info{})
	tr.c = c
	c.mu.Lock()
	tr.start()
	c.mu.Unlock()
	tr.end()     // the read loop ended: the writer drains and stops
	tr.wg.Wait() // its last drain is done
	pm, _ := ws.NewPreparedMessage(ws.Binary, make([]byte, 1000))
	if err := tr.Send(pm); err != nil { // a sender that passed the closing check just before
		t.Fatal(err)
	}
	if q, buf := h.Stats().QueuedBytes, tr.BufferedAmount(); q != 0 || buf != 0 {
		t.Fatalf("after a send that no writer will take: QueuedBytes %d, BufferedAmount %d", q, buf)
	}
}

// TestClientSize: every attached client (each Socket.IO socket) has a
// Client; 128 bytes is a size class of the allocator, and state an idle
// client does not use goes to clientMore.
func TestClientSize(t *testing.T) {
	if n := unsafe.Sizeof(Client{}); n > 128 {
		t.Errorf("hub.Client is %d bytes, over 128: move what an idle client does not use to clientMore", n)
	}
}
