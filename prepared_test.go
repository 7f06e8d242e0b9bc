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
