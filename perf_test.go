//go:build !js

package ws

import (
	"bytes"
	"testing"

	"github.com/rfc6455/ws/frame"
)

// masked client frames of a message, as a client sends them.
func clientFrames(n int, msgs int) []byte {
	p := &rawPeer{client: true}
	var b []byte
	for i := 0; i < msgs; i++ {
		b = append(b, p.frameBytes(true, frame.OpBinary, bytes.Repeat([]byte{'x'}, n))...)
	}
	return b
}

func TestSteadyStateReadAndWriteDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool allocate")
	}
	for _, n := range []int{16, 1024, 64 << 10} {
		const runs = 50
		rc := &recConn{in: clientFrames(n, runs+2), discard: true}
		c := NewConn(rc, nil, RoleServer, nil)
		buf := make([]byte, 0, n)
		payload := make([]byte, n)
		allocs := testing.AllocsPerRun(runs, func() {
			var err error
			_, buf, err = c.ReadMessage(bg, buf)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.WriteMessage(bg, Binary, payload); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%d bytes: %v allocations per read+write", n, allocs)
		}
	}
}

func TestClientWriteDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool allocate")
	}
	c := NewConn(&recConn{discard: true}, nil, RoleClient, nil)
	payload := make([]byte, 1000)
	if a := testing.AllocsPerRun(100, func() { c.WriteMessage(bg, Text, payload) }); a != 0 {
		t.Fatalf("%v allocations per client write", a)
	}
}

// A small message's header and payload go out in one write.
func TestSmallMessageIsOneWrite(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		rc := &recConn{}
		c := NewConn(rc, nil, role, nil)
		c.WriteMessage(bg, Text, []byte("hello"))
		c.WriteMessage(bg, Binary, make([]byte, 1500))
		if len(rc.writes) != 2 {
			t.Fatalf("%v: %d writes for 2 messages", role, len(rc.writes))
		}
	}
}

// A large payload is read straight into the destination: after the first
// read, the rest comes in reads as large as what is left.
func TestLargePayloadIsReadDirectly(t *testing.T) {
	const n = 1 << 20
	rc := &recConn{in: clientFrames(n, 1)}
	c := NewConn(rc, nil, RoleServer, nil)
	_, msg, err := c.ReadMessage(bg, make([]byte, 0, n))
	if err != nil || len(msg) != n {
		t.Fatal(err)
	}
	if len(rc.reads) > 3 {
		t.Fatalf("%d reads for a 1 MiB message into a buffer with room: %v", len(rc.reads), rc.reads)
	}
	// Without a buffer, the destination grows (at most doubling) as the
	// payload arrives, and each read fills what was added.
	rc = &recConn{in: clientFrames(n, 1)}
	c = NewConn(rc, nil, RoleServer, nil)
	if _, msg, err = c.ReadMessage(bg, nil); err != nil || len(msg) != n {
		t.Fatal(err)
	}
	if len(rc.reads) > 7 {
		t.Fatalf("%d reads for a 1 MiB message: %v", len(rc.reads), rc.reads)
	}
	// A peer whose data arrives in 64 KiB segments still gets reads the
	// size of what is left of the payload, never small buffer-sized ones.
	rc = &recConn{in: clientFrames(n, 1), readMax: 64 << 10}
	c = NewConn(rc, nil, RoleServer, nil)
	if _, _, err := c.ReadMessage(bg, nil); err != nil {
		t.Fatal(err)
	}
	if len(rc.reads) > n/(64<<10)+3 {
		t.Fatalf("%d reads: %v", len(rc.reads), rc.reads)
	}
	for i, size := range rc.reads[1:] {
		if size < directThreshold {
			t.Fatalf("read %d had a %d-byte buffer", i+1, size)
		}
	}
}

// A large server payload is not copied through a small buffer.
func TestLargeServerWriteIsNotCopied(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool allocate")
	}
	a, b := tcpPair(t)
	c := NewConn(a, nil, RoleServer, nil)
	if !c.writev {
		t.Fatal("TCP connection not recognised for vectored writes")
	}
	go func() {
		buf := make([]byte, 1<<16)
		for {
			if _, err := b.Read(buf); err != nil {
				return
			}
		}
	}()
	payload := make([]byte, 1<<20)
	if a := testing.AllocsPerRun(10, func() { c.WriteMessage(bg, Binary, payload) }); a != 0 {
		t.Fatalf("%v allocations", a)
	}
}

// An idle connection, waiting for its next message, holds no pooled buffer.
func TestIdleConnectionHoldsNoBuffer(t *testing.T) {
	rc := &recConn{in: clientFrames(100<<10, 3)}
	c := NewConn(rc, nil, RoleServer, nil)
	for i := 0; i < 3; i++ {
		if _, _, err := c.ReadMessage(bg, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Burst over: the next read (EOF here) goes into the inline buffer.
	c.ReadMessage(bg, nil)
	if c.rpooled != nil {
		t.Fatal("idle connection still holds a pooled read buffer")
	}
	srv, cli := newPair(t)
	cli.WriteMessage(bg, Text, bytes.Repeat([]byte("y"), 50000))
	if _, _, err := srv.ReadMessage(bg, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.ReadMessage(bg, nil); close(done) }()
	cli.WriteMessage(bg, Text, []byte("small"))
	<-done
	// The read of "small" did not fill the buffer, so it went back.
	if srv.rpooled != nil {
		t.Fatal("pooled buffer kept after a small read")
	}
}
