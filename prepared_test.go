//go:build !js

package ws

import (
	"sync"
	"testing"

	"github.com/rfc6455/ws/frame"
)

func TestPreparedMessageReachesServerAndClientPeers(t *testing.T) {
	pm, err := NewPreparedMessage(Text, []byte("to everyone"))
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []Role{RoleServer, RoleClient} {
		c, peer := newRawPair(t, role, nil)
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); c.WritePrepared(bg, pm) }()
		}
		wg.Wait()
		for i := 0; i < 4; i++ {
			h, p := peer.expectFrame(frame.OpText)
			if string(p) != "to everyone" || !h.Fin || h.Masked != (role == RoleClient) {
				t.Fatalf("%v: frame %+v %q", role, h, p)
			}
		}
	}
	if _, err := NewPreparedMessage(MessageType(9), nil); err == nil {
		t.Fatal("prepared ping accepted")
	}
}

func TestWritePreparedDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool allocate")
	}
	pm, _ := NewPreparedMessage(Binary, make([]byte, 300))
	c := NewConn(&recConn{discard: true}, nil, RoleServer, nil)
	if a := testing.AllocsPerRun(100, func() { c.WritePrepared(bg, pm) }); a != 0 {
		t.Fatalf("%v allocations per prepared write", a)
	}
}

// TestPreparedMessageOwnsItsBytes: the caller may reuse the slice it
// prepared a message from (a read buffer, for one) at once; what is sent
// and Data stay as they were.
func TestPreparedMessageOwnsItsBytes(t *testing.T) {
	buf := []byte("héllo")
	pm, err := NewPreparedMessage(Text, buf)
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXX")
	if string(pm.Data()) != "héllo" {
		t.Fatalf("Data after the caller reused its slice: %q", pm.Data())
	}
	c, peer := newRawPair(t, RoleServer, nil)
	if err := c.WritePrepared(bg, pm); err != nil {
		t.Fatal(err)
	}
	if _, p := peer.expectFrame(frame.OpText); string(p) != "héllo" {
		t.Fatalf("sent %q", p)
	}
	if a := testing.AllocsPerRun(100, func() { NewPreparedMessage(Binary, buf) }); a > 2 {
		t.Errorf("%v allocations per NewPreparedMessage, want at most 2 (the message and its frame)", a)
	}
}

func TestWritePreparedBatchSendsInOrder(t *testing.T) {
	var pms []*PreparedMessage
	for i := range 5 {
		typ := Text
		if i%2 == 1 {
			typ = Binary
		}
		pm, err := NewPreparedMessage(typ, []byte{'a' + byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		pms = append(pms, pm)
	}
	for _, role := range []Role{RoleServer, RoleClient} {
		c, peer := newRawPair(t, role, nil)
		if err := c.WritePreparedBatch(bg, pms); err != nil {
			t.Fatal(err)
		}
		for i := range pms {
			op := frame.OpText
			if i%2 == 1 {
				op = frame.OpBinary
			}
			h, p := peer.expectFrame(op)
			if string(p) != string(rune('a'+i)) || !h.Fin || h.Masked != (role == RoleClient) {
				t.Fatalf("%v: frame %d: %+v %q", role, i, h, p)
			}
		}
		if err := c.WritePreparedBatch(bg, []*PreparedMessage{pms[0], {}}); err != ErrInvalidMessageType {
			t.Fatalf("%v: a zero PreparedMessage in a batch: %v", role, err)
		}
	}
}
