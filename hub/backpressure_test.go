package hub_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/server"
)

// msgSize is large enough that a client that stops reading fills the
// socket buffers (a few MiB on loopback) within a few hundred messages.
const (
	msgSize = 64 << 10
	maxMsgs = 4000 // bound on the broadcast loop
)

// broadcastInLockstep broadcasts numbered messages, waiting after each for
// every fast client to receive it (so fast clients are never behind), until
// stop reports true. It checks that every fast client receives every message
// in order, and returns how many were sent.
func broadcastInLockstep(t *testing.T, h *hub.Hub, fast []*reader, stop func() bool) uint64 {
	t.Helper()
	var seq uint64
	for ; seq < maxMsgs; seq++ {
		if stop() {
			return seq
		}
		h.Broadcast(numbered(seq, msgSize))
		for i, r := range fast {
			if got := seqOf(r.next(t)); got != seq {
				t.Fatalf("fast client %d got message %d, want %d", i, got, seq)
			}
		}
	}
	t.Fatalf("the slow client was not caught after %d messages", maxMsgs)
	return 0
}

// droppingSteadily returns a stop function for broadcastInLockstep that
// reports true once c had the last 10 broadcasts in a row dropped while its
// writer wrote nothing: the writer is then blocked on a full socket, not
// merely behind for a moment.
func droppingSteadily(c *hub.Client) func() bool {
	lastDropped, lastSent, streak := c.Dropped(), c.Sent(), 0
	return func() bool {
		d, s := c.Dropped(), c.Sent()
		if d > lastDropped && s == lastSent {
			streak++
		} else {
			streak = 0
		}
		lastDropped, lastSent = d, s
		return streak >= 10
	}
}

func TestSlowClientDropPolicy(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{QueueSize: 4, QueueBytes: -1, Overflow: hub.Drop, PingInterval: -1}, server.Options{})
	var fast []*reader
	var fastClients []*hub.Client
	for range 3 {
		c, hc := e.dial("user=fast")
		fast = append(fast, read(c))
		fastClients = append(fastClients, hc)
	}
	slow, slowClient := e.dial("user=slow") // and does not read, for now

	sent := broadcastInLockstep(t, e.h, fast, droppingSteadily(slowClient))
	dropped := slowClient.Dropped()
	// BufferedAmount counts what is not on the network yet: the 4 queued
	// messages and the one being written.
	if slowClient.Queued() != 4 || slowClient.BufferedAmount() != 5*msgSize {
		t.Fatalf("slow client: %d queued, %d bytes buffered; want a full queue of 4 and one in the writer (%d bytes)",
			slowClient.Queued(), slowClient.BufferedAmount(), 5*msgSize)
	}
	if err := slowClient.Send(ws.Binary, make([]byte, 8)); !errors.Is(err, hub.ErrQueueFull) {
		t.Fatalf("Send to a full queue: %v, want ErrQueueFull", err)
	}
	dropped++
	for i, hc := range fastClients {
		if hc.Dropped() != 0 {
			t.Fatalf("fast client %d had %d messages dropped", i, hc.Dropped())
		}
	}
	s := e.h.Stats()
	if s.Dropped != dropped || s.SlowClosed != 0 || e.h.Len() != 4 {
		t.Fatalf("stats %+v, Len %d: want %d dropped, no client closed", s, e.h.Len(), dropped)
	}
	// The fast clients' writers may not have counted their last write yet.
	if s.QueuedBytes < 5*msgSize {
		t.Fatalf("QueuedBytes = %d, want at least the slow client's %d", s.QueuedBytes, 5*msgSize)
	}

	// The slow client reads again: it gets every message that was not
	// dropped, in order, then the next broadcast.
	rs := read(slow)
	want := sent - (dropped - 1) // the dropped Send was not a broadcast
	last := int64(-1)
	for range want {
		seq := int64(seqOf(rs.next(t)))
		if seq <= last {
			t.Fatalf("slow client got %d after %d", seq, last)
		}
		last = seq
	}
	e.h.Broadcast(numbered(1<<40, 8))
	if got := seqOf(rs.next(t)); got != 1<<40 {
		t.Fatalf("after catching up the slow client got %d, want the final broadcast", got)
	}
	for _, r := range fast {
		r.next(t)
	}
}

func TestSlowClientClosePolicy(t *testing.T) {
	for _, code := range []ws.CloseCode{ws.CloseTryAgainLater, ws.ClosePolicyViolation} {
		t.Run(code.String(), func(t *testing.T) {
			noLeaks(t)
			e := newEnv(t, hub.Options{
				QueueSize: 4, QueueBytes: -1, Overflow: hub.CloseSlow, OverflowCode: code, PingInterval: -1,
			}, server.Options{})
			var fast []*reader
			for range 3 {
				c, _ := e.dial("user=fast")
				fast = append(fast, read(c))
			}
			slow, slowClient := e.dial("user=slow")

			sent := broadcastInLockstep(t, e.h, fast, func() bool { return e.h.Stats().SlowClosed == 1 })
			if err := slowClient.Send(ws.Text, []byte("x")); err == nil {
				t.Fatal("Send to a client being closed succeeded")
			}
			// The slow client reads again: what was written before the
			// overflow, then the close frame.
			ce := read(slow).closed(t)
			if ce.Code != code || ce.Reason != "send queue full" {
				t.Fatalf("slow client closed with %v %q, want %v", ce.Code, ce.Reason, code)
			}
			g := e.nextGone()
			if g.c != slowClient || !errors.Is(g.err, hub.ErrQueueFull) {
				t.Fatalf("disconnect of %v with %v, want the slow client with ErrQueueFull", g.c.User(), g.err)
			}
			if e.h.Len() != 3 {
				t.Fatalf("Len = %d, want the 3 fast clients", e.h.Len())
			}
			// The fast clients go on.
			e.h.Broadcast(numbered(sent, 8))
			for i, r := range fast {
				if got := seqOf(r.next(t)); got != sent {
					t.Fatalf("fast client %d got %d after the slow one left, want %d", i, got, sent)
				}
			}
			if s := e.h.Stats(); s.Dropped != 0 || s.SlowClosed != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestQueueBytesBoundsTheQueue(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{QueueSize: 1000, QueueBytes: 3 * msgSize, PingInterval: -1}, server.Options{})
	fc, _ := e.dial("user=fast")
	fast := []*reader{read(fc)}
	_, slowClient := e.dial("user=slow")
	broadcastInLockstep(t, e.h, fast, droppingSteadily(slowClient))
	if b := slowClient.BufferedAmount(); b != 3*msgSize {
		t.Fatalf("BufferedAmount %d, want the bound %d", b, 3*msgSize)
	}
	// A message larger than the bound goes into an empty queue only
	// (TestOversizedMessageGoesIntoAnEmptyQueue).
	if err := slowClient.Send(ws.Binary, make([]byte, 4*msgSize)); !errors.Is(err, hub.ErrQueueFull) {
		t.Fatalf("oversized Send to a non-empty queue: %v", err)
	}
}

func TestWriteTimeoutClosesAStalledClient(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{QueueSize: 1000, QueueBytes: -1, PingInterval: -1, WriteTimeout: 50 * time.Millisecond}, server.Options{})
	_, slowClient := e.dial("user=slow")
	for i := uint64(0); i < maxMsgs; i++ {
		if slowClient.SendPrepared(numbered(i, msgSize)) != nil {
			break
		}
		if len(e.gone) > 0 {
			break
		}
		if i%64 == 63 {
			// Give the writer a chance to block.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			<-ctx.Done()
			cancel()
		}
	}
	g := e.nextGone()
	if g.c != slowClient {
		t.Fatal("another client left")
	}
	if e.h.Stats().Errors != 1 {
		t.Fatalf("stats %+v, want the stall counted as an error", e.h.Stats())
	}
}

func TestOversizedMessageGoesIntoAnEmptyQueue(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{QueueBytes: 16, PingInterval: -1}, server.Options{})
	c, hc := e.dial("")
	r := read(c)
	if err := hc.Send(ws.Binary, make([]byte, 1000)); err != nil {
		t.Fatalf("Send of a message over QueueBytes to an empty queue: %v", err)
	}
	if got := r.next(t); len(got) != 1000 {
		t.Fatalf("got %d bytes", len(got))
	}
}
