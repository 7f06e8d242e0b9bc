//go:build unix && !wasip1

package ws

import (
	"bytes"
	"errors"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/rfc6455/ws/frame"
)

// On a TCP socket the read waits for readability first and only then takes
// a pooled buffer, so the first read after the wait takes a whole small
// message: one read system call per message, and none in the inline
// buffer.
func TestSocketReadTakesWholeSmallMessage(t *testing.T) {
	a, b := tcpPair(t)
	srv := NewConn(a, nil, RoleServer, nil)
	cli := NewConn(b, nil, RoleClient, nil)
	if srv.raw == nil {
		t.Fatal("TCP connection not read through its raw connection")
	}
	for _, n := range []int{16, 1 << 10, 4 << 10} {
		payload := bytes.Repeat([]byte{'z'}, n)
		if err := cli.WriteMessage(bg, Binary, payload); err != nil {
			t.Fatal(err)
		}
		_, msg, err := srv.ReadMessage(bg, nil)
		if err != nil || !bytes.Equal(msg, payload) {
			t.Fatalf("%d bytes: %v", n, err)
		}
		h := frame.Header{Fin: true, Opcode: frame.OpBinary, Length: int64(n), Masked: true}
		if want := h.Size() + n; srv.rawN != want {
			t.Errorf("%d bytes: the read took %d bytes, want the whole %d-byte frame", n, srv.rawN, want)
		}
		if srv.rpooled != nil {
			t.Errorf("%d bytes: pooled buffer kept once the message was read", n)
		}
	}
}

// Deadlines and Close end a read waiting in the poller with the errors a
// net.Conn read gives.
func TestSocketReadDeadlineAndClose(t *testing.T) {
	a, b := tcpPair(t)
	defer b.Close()
	srv := NewConn(a, nil, RoleServer, nil)
	srv.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, _, err := srv.ReadMessage(bg, nil)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	a2, b2 := tcpPair(t)
	defer b2.Close()
	srv = NewConn(a2, nil, RoleServer, nil)
	go func() {
		time.Sleep(10 * time.Millisecond)
		srv.CloseNow()
	}()
	if _, _, err := srv.ReadMessage(bg, nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after CloseNow: %v", err)
	}
	a3, b3 := tcpPair(t)
	srv = NewConn(a3, nil, RoleServer, nil)
	b3.(*net.TCPConn).SetLinger(0)
	b3.Close()
	if _, _, err := srv.ReadMessage(bg, nil); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after a reset: %v", err)
	}
}

// The read buffers the poller's callback takes without allocating
// (readBufSlots) are dropped at each GC, as a sync.Pool's are: an idle
// server does not keep them.
func TestReadBufSlotsAreDroppedAtGC(t *testing.T) {
	b := make([]byte, readBufSize)
	if !readBufSlots.put(0, &b) {
		t.Skip("the slots are full")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		empty := true
		for i := range readBufSlots {
			if readBufSlots[i].p.Load() == &b {
				empty = false
			}
		}
		if empty {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a buffer stayed in readBufSlots across GCs")
		}
		time.Sleep(time.Millisecond)
	}
}
