package hub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/server"
)

// roomRelay is an OnMessage that sends each message to the sender's rooms,
// all but the sender, keeping its type.
func roomRelay(c *hub.Client, typ ws.MessageType, data []byte) {
	pm, _ := ws.NewPreparedMessage(typ, data)
	for _, r := range c.Rooms() {
		c.Namespace().Room(r).Broadcast(pm, c)
	}
}

// typed is a message as a client read it.
type typed struct {
	typ  ws.MessageType
	data string
}

// readTyped reads a connection's messages, with their types, into a
// channel until it fails.
func readTyped(c *ws.Conn) chan typed {
	ch := make(chan typed, 4096)
	go func() {
		defer close(ch)
		for {
			typ, msg, err := c.ReadMessage(context.Background(), nil)
			if err != nil {
				return
			}
			ch <- typed{typ, string(msg)}
		}
	}()
	return ch
}

func nextTyped(t *testing.T, ch chan typed) typed {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("connection ended")
		}
		return m
	case <-time.After(testTimeout):
		t.Fatal("no message")
	}
	return typed{}
}

// untilFence returns the messages read before fence.
func untilFence(t *testing.T, ch chan typed, fence string) []typed {
	t.Helper()
	var got []typed
	for {
		m := nextTyped(t, ch)
		if m.data == fence {
			return got
		}
		got = append(got, m)
	}
}

func TestMemoryBrokerCarriesRoomBroadcastsAcrossHubsExactlyOnce(t *testing.T) {
	noLeaks(t)
	bus := hub.NewMemoryBroker()
	a := newEnv(t, hub.Options{Broker: bus, ServerID: "A", OnMessage: roomRelay}, server.Options{})
	b := newEnv(t, hub.Options{Broker: bus, ServerID: "B", OnMessage: roomRelay}, server.Options{})

	aIn, _ := a.dial("user=a1&room=r")    // receives from B and from A
	aOther, _ := a.dial("user=a2&room=x") // another room: receives nothing
	aSend, _ := a.dial("user=a3&room=r")  // sends on A
	bSend, _ := b.dial("user=b1&room=r")  // sends on B
	bIn, _ := b.dial("user=b2&room=r")    // receives from A and from B
	rIn, rOther, rbIn := readTyped(aIn), readTyped(aOther), readTyped(bIn)
	readTyped(aSend)
	readTyped(bSend)

	const n = 50
	ctx := context.Background()
	for i := range n {
		typ := ws.Text
		if i%2 == 1 {
			typ = ws.Binary
		}
		aSend.WriteMessage(ctx, typ, fmt.Appendf(nil, "a3:%d", i))
		bSend.WriteMessage(ctx, typ, fmt.Appendf(nil, "b1:%d", i))
	}
	// Every publication is out, and MemoryBroker delivers within Publish:
	// every copy, own echoes included, is queued by now. A fence sent
	// locally after it comes after any duplicate.
	eventually(t, "all published", func() bool {
		return a.h.Stats().BrokerPublished == n && b.h.Stats().BrokerPublished == n
	})
	for _, e := range []*env{a, b} {
		e.h.Room("r").Broadcast(text("fence"))
		e.h.Room("x").Broadcast(text("fence"))
	}

	for name, ch := range map[string]chan typed{"a1": rIn, "b2": rbIn} {
		got := untilFence(t, ch, "fence")
		next := map[string]int{}
		for _, m := range got {
			sender, seq, _ := strings.Cut(m.data, ":")
			want := fmt.Sprint(next[sender])
			if seq != want {
				t.Fatalf("%s got %s:%s, want %s:%s (each sender's messages once, in order)", name, sender, seq, sender, want)
			}
			if wantTyp := []ws.MessageType{ws.Text, ws.Binary}[next[sender]%2]; m.typ != wantTyp {
				t.Fatalf("%s got %q as %v, want %v", name, m.data, m.typ, wantTyp)
			}
			next[sender]++
		}
		if next["a3"] != n || next["b1"] != n || len(next) != 2 {
			t.Fatalf("%s got %v messages per sender, want %d from a3 and b1", name, next, n)
		}
	}
	if got := untilFence(t, rOther, "fence"); len(got) != 0 {
		t.Fatalf("a client in another room got %v", got)
	}
	// Each hub receives the other's n messages and its two fences; B's
	// fences are published after A's local fence was seen, so wait for
	// them.
	eventually(t, "hub A received B's messages and fences", func() bool {
		return a.h.Stats().BrokerReceived == n+2
	})
}

func TestMemoryBrokerScopes(t *testing.T) {
	noLeaks(t)
	bus := hub.NewMemoryBroker()
	a := newEnv(t, hub.Options{Broker: bus}, server.Options{})
	b := newEnv(t, hub.Options{Broker: bus}, server.Options{})
	if a.h.ServerID() == b.h.ServerID() || a.h.ServerID() == "" {
		t.Fatalf("server IDs %q and %q", a.h.ServerID(), b.h.ServerID())
	}
	c1, _ := a.dial("user=u&ns=chat&room=r")
	c2, _ := a.dial("user=v&ns=chat")
	c3, _ := a.dial("user=u&ns=admin")
	r1, r2, r3 := readTyped(c1), readTyped(c2), readTyped(c3)

	b.h.Namespace("chat").Room("r").Broadcast(text("room"))
	b.h.Namespace("chat").Broadcast(text("chat"))
	b.h.SendToUser("u", text("user"))
	b.h.Broadcast(text("all"))
	for _, tc := range []struct {
		name string
		ch   chan typed
		want []string
	}{
		{"chat member of r", r1, []string{"room", "chat", "user", "all"}},
		{"chat non-member", r2, []string{"chat", "all"}},
		{"admin, same user", r3, []string{"user", "all"}},
	} {
		for _, w := range tc.want {
			if got := nextTyped(t, tc.ch); got.data != w {
				t.Fatalf("%s got %q, want %q", tc.name, got.data, w)
			}
		}
	}
}

// failingBroker fails every Publish while fail is set.
type failingBroker struct {
	*hub.MemoryBroker
	fail atomic.Bool
}

func (f *failingBroker) Publish(ctx context.Context, m *hub.Message) error {
	if f.fail.Load() {
		return errors.New("broker down")
	}
	return f.MemoryBroker.Publish(ctx, m)
}

// syncBuffer is a log destination safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestBrokerFailureIsReportedAndLocalDeliveryGoesOn(t *testing.T) {
	noLeaks(t)
	fb := &failingBroker{MemoryBroker: hub.NewMemoryBroker()}
	fb.fail.Store(true)
	var logs syncBuffer
	a := newEnv(t, hub.Options{Broker: fb, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, server.Options{})
	c, _ := a.dial("room=r")
	ch := readTyped(c)

	for i := range 3 {
		if n := a.h.Room("r").Broadcast(text(fmt.Sprint(i))); n != 1 {
			t.Fatalf("queued for %d local clients, want 1", n)
		}
		if got := nextTyped(t, ch); got.data != fmt.Sprint(i) {
			t.Fatalf("local client got %q", got.data)
		}
	}
	eventually(t, "3 failures counted", func() bool { return a.h.Stats().BrokerFailed == 3 })
	if s := a.h.Stats(); s.BrokerOutages != 1 || s.BrokerPublished != 0 {
		t.Fatalf("stats %+v: want 1 outage, nothing published", s)
	}
	if l := logs.String(); strings.Count(l, "broker unavailable") != 1 {
		t.Fatalf("want the outage logged once, logs:\n%s", l)
	}

	fb.fail.Store(false)
	a.h.Room("r").Broadcast(text("back"))
	eventually(t, "a publication", func() bool { return a.h.Stats().BrokerPublished == 1 })
	if l := logs.String(); !strings.Contains(l, "broker available again") {
		t.Fatalf("recovery not logged:\n%s", l)
	}
}

// blockingBroker's Publish waits until released or its context ends.
type blockingBroker struct {
	release chan struct{}
	calls   atomic.Int64
}

func (bb *blockingBroker) Publish(ctx context.Context, m *hub.Message) error {
	bb.calls.Add(1)
	select {
	case <-bb.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (bb *blockingBroker) Subscribe(func(*hub.Message)) (func(), error) { return func() {}, nil }

func TestStuckBrokerNeverDelaysLocalDelivery(t *testing.T) {
	noLeaks(t)
	bb := &blockingBroker{release: make(chan struct{})}
	a := newEnv(t, hub.Options{Broker: bb, BrokerQueueSize: 2}, server.Options{})
	c, _ := a.dial("room=r")
	ch := readTyped(c)

	const n = 10
	for i := range n {
		a.h.Room("r").Broadcast(text(fmt.Sprint(i)))
		if got := nextTyped(t, ch); got.data != fmt.Sprint(i) {
			t.Fatalf("local client got %q", got.data)
		}
		if i == 0 {
			eventually(t, "the first publication stuck", func() bool { return bb.calls.Load() == 1 })
		}
	}
	// One publication is stuck in Publish, two wait in the queue, and the
	// other seven were dropped.
	eventually(t, "drops counted", func() bool { return a.h.Stats().BrokerDropped == n-3 })
	close(bb.release)
	eventually(t, "the queue drained", func() bool { return a.h.Stats().BrokerPublished == 3 })
	if s := a.h.Stats(); s.BrokerOutages != 1 {
		t.Fatalf("stats %+v: want the drops reported as an outage", s)
	}
}

func TestShutdownUnsubscribesFromTheBroker(t *testing.T) {
	noLeaks(t)
	bus := hub.NewMemoryBroker()
	a := newEnv(t, hub.Options{Broker: bus}, server.Options{})
	b := hub.New(&hub.Options{Broker: bus, Logger: quiet()})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	a.h.Broadcast(text("after"))
	eventually(t, "published", func() bool { return a.h.Stats().BrokerPublished == 1 })
	if s := b.Stats(); s.BrokerReceived != 0 {
		t.Fatalf("a hub that shut down received %d", s.BrokerReceived)
	}
}

func TestScopeString(t *testing.T) {
	for s, want := range map[hub.Scope]string{hub.ScopeAll: "all", hub.ScopeNamespace: "namespace", hub.ScopeRoom: "room", hub.ScopeUser: "user", 9: "scope(9)"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", s, got, want)
		}
	}
}
