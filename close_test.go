//go:build !js

package ws

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/rfc6455/ws/frame"
)

// Issue 20, bug 4: Close called while another goroutine streams a message
// with NextReader keeps the rest of that message for its reader, then the
// messages after it, then the peer's close.
func TestCloseKeepsRestOfStreamedMessage(t *testing.T) {
	for _, ending := range []string{"whole", "cut", "next"} {
		t.Run(ending, func(t *testing.T) {
			c, peer := newRawPair(t, RoleServer, nil)
			frag := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 1000) }
			peer.send(false, frame.OpBinary, frag(0))
			_, r, err := c.NextReader(bg)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 10)
			if _, err := io.ReadFull(r, got); err != nil {
				t.Fatal(err)
			}
			closed := make(chan error, 1)
			go func() { closed <- c.Close(CloseNormal, "") }()
			peer.expectClose(1000) // Close is now waiting for the peer
			want := append([]byte(nil), frag(0)...)
			for i := 1; i < 5; i++ {
				peer.send(i == 4, frame.OpContinuation, frag(i))
				want = append(want, frag(i)...)
				if ending == "cut" && i == 2 {
					want = want[:3000]
					peer.nc.Close()
					break
				}
			}
			if ending != "cut" {
				peer.send(true, frame.OpText, []byte("after"))
				peer.send(true, frame.OpClose, []byte{0x03, 0xe8})
			}
			closeErr := <-closed
			if ending == "next" {
				// The application moves on: the old reader is stale.
				_, r2, err := c.NextReader(bg)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := r.Read(got); !errors.Is(err, ErrStaleReader) {
					t.Fatalf("old reader after NextReader: %v", err)
				}
				if m, err := io.ReadAll(r2); err != nil || string(m) != "after" {
					t.Fatalf("next message %q, %v", m, err)
				}
			} else {
				rest, err := io.ReadAll(r)
				got = append(got, rest...)
				if !bytes.Equal(got, want) {
					t.Fatalf("the streamed message came out as %d bytes, want %d (err %v)", len(got), len(want), err)
				}
				if ending == "cut" {
					if err == nil || closeCodeOf(err) != CloseAbnormal {
						t.Fatalf("a message cut by the peer's disconnection ended with %v", err)
					}
					return
				}
				if err != nil || closeErr != nil {
					t.Fatalf("read: %v; Close: %v", err, closeErr)
				}
				if _, m, err := c.ReadMessage(bg, nil); err != nil || string(m) != "after" {
					t.Fatalf("next message %q, %v", m, err)
				}
			}
			var ce *CloseError
			if _, _, err := c.ReadMessage(bg, nil); !errors.As(err, &ce) || ce.Code != 1000 {
				t.Fatalf("then %v", err)
			}
		})
	}
}

// OnPeerClose runs when the peer's close arrives and before the answer:
// a message written from another goroutine while it waits goes out ahead
// of the close reply (RFC 6455 §5.5.1), and a Close called in it does not
// wait for a close frame that has already been read.
func TestOnPeerCloseRunsBeforeTheAnswer(t *testing.T) {
	for _, inHook := range []string{"write", "close"} {
		t.Run(inHook, func(t *testing.T) {
			type call struct {
				code   CloseCode
				reason string
			}
			calls := make(chan call, 2)
			var c *Conn
			opts := &Options{OnPeerClose: func(code CloseCode, reason string) {
				calls <- call{code, reason}
				switch inHook {
				case "write":
					// Another goroutine's write, as a driver's writer
					// would make it; the hook waits for it.
					done := make(chan error, 1)
					go func() { done <- c.WriteMessage(bg, Text, []byte("queued")) }()
					if err := <-done; err != nil {
						t.Errorf("write during OnPeerClose: %v", err)
					}
				case "close":
					if err := c.Close(CloseGoingAway, "bye"); err != nil {
						t.Errorf("Close in OnPeerClose: %v", err)
					}
				}
			}}
			c, peer := newRawPair(t, RoleServer, opts)
			peer.send(true, frame.OpClose, append([]byte{0x03, 0xe8}, "done"...))
			_, _, err := c.ReadMessage(bg, nil)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != CloseNormal || ce.Reason != "done" {
				t.Fatalf("ReadMessage: %v, want the peer's close", err)
			}
			select {
			case got := <-calls:
				if got != (call{CloseNormal, "done"}) {
					t.Errorf("OnPeerClose(%d, %q)", got.code, got.reason)
				}
			default:
				t.Fatal("ReadMessage returned the peer's close without calling OnPeerClose")
			}
			if len(calls) != 0 {
				t.Error("OnPeerClose called twice")
			}
			switch inHook {
			case "write":
				if _, p := peer.expectFrame(frame.OpText); string(p) != "queued" {
					t.Errorf("first frame %q, want the message written in OnPeerClose", p)
				}
				peer.expectClose(1000)
			case "close":
				// Close sent this side's frame: no second close follows.
				peer.expectClose(1001)
			}
			peer.expectEOF()
		})
	}
}
