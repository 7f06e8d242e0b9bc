package natsbroker_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/natsbroker"
)

// checkSequences checks that got holds, for each sender, its messages
// "sender:0" … "sender:n-1" exactly once and in order, text for even
// numbers and binary for odd ones, and nothing from anyone else.
func checkSequences(t *testing.T, who string, got []typed, n int, senders ...string) {
	t.Helper()
	next := map[string]int{}
	for _, m := range got {
		sender, seq, _ := strings.Cut(m.data, ":")
		if want := fmt.Sprint(next[sender]); seq != want {
			t.Fatalf("%s got %s:%s, want %s:%s (each sender's messages once, in order)", who, sender, seq, sender, want)
		}
		if want := []ws.MessageType{ws.Text, ws.Binary}[next[sender]%2]; m.typ != want {
			t.Fatalf("%s got %q as %v, want %v", who, m.data, m.typ, want)
		}
		next[sender]++
	}
	want := map[string]int{}
	for _, s := range senders {
		want[s] = n
	}
	if !reflect.DeepEqual(next, want) {
		t.Fatalf("%s got %v messages per sender, want %v", who, next, want)
	}
}

func TestRoomMessagesCrossServersExactlyOnceInOrder(t *testing.T) {
	noLeaks(t)
	ns := startNATS(t, -1)
	url := ns.ClientURL()
	a := newHubServer(t, "A", url)
	b := newHubServer(t, "B", url)
	c := newHubServer(t, "C", url)

	a1 := readTyped(a.dial("a1", "r"))     // in r on A
	a2 := readTyped(a.dial("a2", "other")) // in another room on A
	a3conn := a.dial("a3", "r")            // sends on A
	a3 := readTyped(a3conn)
	b1conn := b.dial("b1", "r") // sends on B
	b1 := readTyped(b1conn)
	b2 := readTyped(b.dial("b2", "r"))     // in r on B, beside a sender
	c1 := readTyped(c.dial("c1", "r"))     // in r on C, no sender there
	c2 := readTyped(c.dial("c2", "other")) // in another room on C
	for _, s := range []*hubServer{a, b, c} {
		s.flush() // every subscription is in place
	}

	const n = 200
	for i := range n {
		typ := []ws.MessageType{ws.Text, ws.Binary}[i%2]
		send(t, a3conn, typ, "a3:%d", i)
		send(t, b1conn, typ, "b1:%d", i)
	}
	// Wait until each hub has published its n messages and handled every
	// message the others published; then a fence broadcast now comes
	// after every copy of them, duplicates included.
	eventually(t, "every message published and handled", func() bool {
		return a.h.Stats().BrokerPublished == n && b.h.Stats().BrokerPublished == n &&
			a.b.Stats().Received == n && b.b.Stats().Received == n && c.b.Stats().Received == 2*n
	})
	for _, s := range []*hubServer{a, b, c} {
		s.h.Room("r").Broadcast(textPM("fence"))
		s.h.Room("other").Broadcast(textPM("fence"))
	}

	checkSequences(t, "a1 (A)", untilFence(t, a1, "fence"), n, "a3", "b1")
	checkSequences(t, "b2 (B)", untilFence(t, b2, "fence"), n, "a3", "b1")
	checkSequences(t, "c1 (C)", untilFence(t, c1, "fence"), n, "a3", "b1")
	checkSequences(t, "sender a3", untilFence(t, a3, "fence"), n, "b1")
	checkSequences(t, "sender b1", untilFence(t, b1, "fence"), n, "a3")
	for who, ch := range map[string]chan typed{"a2": a2, "c2": c2} {
		if got := untilFence(t, ch, "fence"); len(got) != 0 {
			t.Fatalf("%s, in another room, got %d messages, first %q", who, len(got), got[0].data)
		}
	}
	for _, s := range []*hubServer{a, b, c} {
		if st := s.h.Stats(); st.Dropped != 0 || st.BrokerFailed != 0 || st.BrokerDropped != 0 || st.BrokerOutages != 0 || st.BrokerInvalid != 0 {
			t.Fatalf("hub %s stats %+v", s.h.ServerID(), st)
		}
	}
}

func TestOutageIsReportedLocalDeliveryContinuesAndDeliveryResumes(t *testing.T) {
	noLeaks(t)
	ns := startNATS(t, -1)
	port := natsPort(ns)
	url := ns.ClientURL()
	a := newHubServer(t, "A", url)
	b := newHubServer(t, "B", url)
	a1 := readTyped(a.dial("a1", "r"))
	a2conn := a.dial("a2", "r")
	readTyped(a2conn)
	b1conn := b.dial("b1", "r")
	b1 := readTyped(b1conn)
	a.flush()
	b.flush()

	send(t, b1conn, ws.Text, "before")
	if got := next(t, a1).data; got != "before" {
		t.Fatalf("a1 got %q, want before", got)
	}

	// The NATS server goes away.
	stopNATS(ns)
	eventually(t, "both brokers see the outage", func() bool {
		sa, sb := a.b.Stats(), b.b.Stats()
		return !sa.Connected && !sb.Connected && sa.Disconnects == 1 && sb.Disconnects == 1
	})
	send(t, a2conn, ws.Binary, "during")
	if got := next(t, a1); got.data != "during" || got.typ != ws.Binary {
		t.Fatalf("a1 got %q (%v) during the outage, want the local binary message", got.data, got.typ)
	}
	eventually(t, "hub A counts the failed publication", func() bool {
		s := a.h.Stats()
		return s.BrokerFailed == 1 && s.BrokerOutages == 1
	})
	if s := a.b.Stats(); s.PublishErrors != 1 {
		t.Fatalf("broker A stats %+v: want 1 publish error", s)
	}
	for _, want := range []string{"natsbroker: disconnected from NATS", "hub: broker unavailable"} {
		if !strings.Contains(a.logs.String(), want) {
			t.Fatalf("hub A did not log %q:\n%s", want, a.logs.String())
		}
	}

	// It comes back on the same port.
	startNATS(t, port)
	eventually(t, "both brokers reconnect", func() bool {
		sa, sb := a.b.Stats(), b.b.Stats()
		return sa.Connected && sb.Connected && sa.Reconnects == 1 && sb.Reconnects == 1
	})
	a.flush() // the subscriptions are back in place
	b.flush()

	send(t, a2conn, ws.Text, "after")
	// b1 never gets "during": publications fail fast in an outage.
	if got := next(t, b1).data; got != "after" {
		t.Fatalf("b1 got %q after the outage, want after", got)
	}
	if got := next(t, a1).data; got != "after" {
		t.Fatalf("a1 got %q, want after", got)
	}
	send(t, b1conn, ws.Text, "after-b")
	if got := next(t, a1).data; got != "after-b" {
		t.Fatalf("a1 got %q, want after-b", got)
	}
	eventually(t, "hub A logs the recovery", func() bool {
		return strings.Contains(a.logs.String(), "hub: broker available again")
	})
	for _, want := range []string{"natsbroker: reconnected to NATS"} {
		if !strings.Contains(b.logs.String(), want) {
			t.Fatalf("hub B did not log %q:\n%s", want, b.logs.String())
		}
	}
}

func TestEveryScopeAndAnyNameCrossesNATS(t *testing.T) {
	noLeaks(t)
	ns := startNATS(t, -1)
	pub, err := natsbroker.Connect(ns.ClientURL(), &natsbroker.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	sub, err := natsbroker.Connect(ns.ClientURL(), &natsbroker.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := make(chan *hub.Message, 16)
	unsubscribe, err := sub.Subscribe(func(m *hub.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()
	if err := sub.Conn().Flush(); err != nil {
		t.Fatal(err)
	}

	for _, m := range []*hub.Message{
		{Scope: hub.ScopeAll, Type: ws.Text, Data: []byte("all")},
		{Scope: hub.ScopeNamespace, Namespace: "", Type: ws.Binary, Data: []byte{0, 1, 2}},
		{Scope: hub.ScopeNamespace, Namespace: "chat room", Type: ws.Text, Data: []byte("ns")},
		{Scope: hub.ScopeRoom, Namespace: "a.b", Room: "*>_ é", Type: ws.Binary, Data: []byte("room")},
		{Scope: hub.ScopeRoom, Namespace: "", Room: "", Type: ws.Text, Data: []byte{}},
		{Scope: hub.ScopeUser, User: "user@example.com", Type: ws.Text, Data: []byte("user")},
		{Scope: hub.ScopeRooms, Namespace: "/chat", Rooms: []string{"a b", "", "é"}, ExceptRooms: []string{"muted.x"}, Type: ws.Text, Data: []byte("rooms")},
		{Scope: hub.ScopeRooms, Namespace: "", Type: ws.Binary, Data: []byte("everyone")},
	} {
		m.Origin = "server.1 *"
		if err := pub.Publish(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-got:
			if len(r.Data) == 0 && len(m.Data) == 0 {
				r.Data = m.Data // nil and empty are the same payload
			}
			if !reflect.DeepEqual(r, m) {
				t.Fatalf("sent %+v, got %+v", m, r)
			}
		case <-timeoutC():
			t.Fatalf("%+v not received", m)
		}
	}
	if s := pub.Stats(); s.Published != 8 || !s.Connected {
		t.Fatalf("publisher stats %+v", s)
	}
	if s := sub.Stats(); s.Received != 8 || s.Invalid != 0 {
		t.Fatalf("subscriber stats %+v", s)
	}
}

func TestForeignMessagesOnTheSubjectsAreDropped(t *testing.T) {
	noLeaks(t)
	ns := startNATS(t, -1)
	sub, err := natsbroker.Connect(ns.ClientURL(), &natsbroker.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := make(chan *hub.Message, 16)
	unsubscribe, err := sub.Subscribe(func(m *hub.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer unsubscribe()
	sub.Conn().Flush()

	raw, err := natsbroker.Connect(ns.ClientURL(), &natsbroker.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	nc := raw.Conn()
	for _, subject := range []string{"ws.hub.all", "ws.hub.room.x", "ws.hub.nope", "ws.hub.user._ZZ"} {
		nc.Publish(subject, []byte("no headers")) // not a hub's message
	}
	nc.Flush()
	eventually(t, "4 invalid messages", func() bool { return sub.Stats().Invalid == 4 })
	if s := sub.Stats(); s.Received != 0 || len(got) != 0 {
		t.Fatalf("handed %d foreign messages to the hub", s.Received)
	}
}

func TestConnectFailsWithoutAServerUnlessRetrying(t *testing.T) {
	noLeaks(t)
	ns := startNATS(t, -1)
	url := ns.ClientURL()
	stopNATS(ns) // nothing listens there now
	if _, err := natsbroker.Connect(url, &natsbroker.Options{Logger: quietLog()}); err == nil {
		t.Fatal("Connect succeeded with no server")
	}
	b, err := natsbroker.Connect(url, &natsbroker.Options{Logger: quietLog(), RetryOnFailedConnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Publish(context.Background(), &hub.Message{Origin: "x", Type: ws.Text, Data: []byte("x")})
	if err != natsbroker.ErrUnavailable {
		t.Fatalf("Publish while not connected: %v, want ErrUnavailable", err)
	}
}

func textPM(s string) *ws.PreparedMessage {
	pm, err := ws.NewPreparedMessage(ws.Text, []byte(s))
	if err != nil {
		panic(err)
	}
	return pm
}
