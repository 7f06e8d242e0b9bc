//go:build linux

package loop

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

// TestPingFloodIsBounded: a peer that sends pings and never reads their
// pongs makes the event loop stop reading from it once PauseBytes wait to
// be written: the queue stays within PauseBytes and one read's worth of
// pongs, and the flood meets the peer's full socket.
func TestPingFloodIsBounded(t *testing.T) {
	got := make(chan *Conn, 1)
	s := &Server{Handler: openHandler(got), PauseBytes: 16 << 10}
	addr := start(t, s)
	c := dialRaw(t, addr)
	c.upgrade(t, "")
	sc := <-got
	ping := bytes.Repeat(clientFrame(0x89, bytes.Repeat([]byte{'p'}, 125), -1), 64)
	c.SetWriteDeadline(time.Now().Add(3 * time.Second))
	sent := 0
	var werr error
	for sent < 256<<20 {
		var n int
		n, werr = c.Write(ping)
		sent += n
		if werr != nil {
			break
		}
	}
	var ne net.Error
	if !errors.As(werr, &ne) || !ne.Timeout() {
		t.Fatalf("%d bytes of pings all taken (%v): the server kept reading", sent, werr)
	}
	sc.mu.Lock()
	queued := sc.out.bytes
	sc.mu.Unlock()
	if limit := int64(16<<10 + readBufSize); queued > limit {
		t.Errorf("%d bytes of pongs queued after %d bytes of pings, over %d", queued, sent, limit)
	}
	t.Logf("%d bytes of pings sent before the server stopped reading; %d bytes of pongs queued", sent, queued)
}
