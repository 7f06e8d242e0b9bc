package hub_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/server"
)

func TestBroadcastToAllAndToAllButTheSender(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{
		OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
			pm, _ := ws.NewPreparedMessage(typ, append([]byte(c.User()+": "), data...))
			c.Hub().Broadcast(pm, c)
		},
	}, server.Options{})
	a, _ := e.dial("user=a")
	b, _ := e.dial("user=b")
	c, _ := e.dial("user=c")
	ra, rb, rc := read(a), read(b), read(c)

	ctx := context.Background()
	a.WriteMessage(ctx, ws.Text, []byte("hi"))
	for name, r := range map[string]*reader{"b": rb, "c": rc} {
		if got := string(r.next(t)); got != "a: hi" {
			t.Fatalf("%s got %q", name, got)
		}
	}
	if n := e.h.Broadcast(text("all")); n != 3 {
		t.Fatalf("Broadcast queued for %d clients, want 3", n)
	}
	// The sender's first message is the broadcast to all: it did not get
	// its own.
	if got := string(ra.next(t)); got != "all" {
		t.Fatalf("sender got %q first, want %q", got, "all")
	}
	for _, r := range []*reader{rb, rc} {
		if got := string(r.next(t)); got != "all" {
			t.Fatalf("got %q, want all", got)
		}
	}
	eventually(t, "5 messages counted out", func() bool { return e.h.Stats().MessagesOut == 5 })
	if s := e.h.Stats(); s.MessagesIn != 1 || s.BytesOut != uint64(2*len("a: hi")+3*len("all")) || s.Connections != 3 {
		t.Fatalf("stats %+v: want 1 message in, 19 bytes out, 3 connections", s)
	}
}

func TestRoomsAndNamespaces(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{}, server.Options{})
	c1, h1 := e.dial("user=1&ns=chat&room=lobby&room=games")
	c2, h2 := e.dial("user=2&ns=chat&room=lobby")
	c3, _ := e.dial("user=3&ns=chat")
	c4, _ := e.dial("user=4&ns=admin&room=lobby") // same room name, other namespace
	r1, r2, r3, r4 := read(c1), read(c2), read(c3), read(c4)

	chat := e.h.Namespace("chat")
	if got := chat.Rooms(); !slices.Equal(got, []string{"games", "lobby"}) {
		t.Fatalf("chat rooms %v", got)
	}
	if got := h1.Rooms(); !slices.Equal(got, []string{"games", "lobby"}) {
		t.Fatalf("client 1 rooms %v", got)
	}
	lobby := chat.Room("lobby")
	if lobby.Len() != 2 || !lobby.Has(h1) || !lobby.Has(h2) {
		t.Fatalf("lobby has %d members", lobby.Len())
	}
	if n := lobby.Broadcast(text("lobby"), h1); n != 1 {
		t.Fatalf("room broadcast but sender queued for %d, want 1", n)
	}
	if n := chat.Broadcast(text("chat")); n != 3 {
		t.Fatalf("namespace broadcast queued for %d, want 3", n)
	}
	if n := e.h.Namespace("admin").Room("lobby").Broadcast(text("admin lobby")); n != 1 {
		t.Fatalf("admin lobby broadcast queued for %d, want 1", n)
	}
	want := map[*reader][]string{
		r1: {"chat"},
		r2: {"lobby", "chat"},
		r3: {"chat"},
		r4: {"admin lobby"},
	}
	for r, msgs := range want {
		for _, m := range msgs {
			if got := string(r.next(t)); got != m {
				t.Fatalf("got %q, want %q", got, m)
			}
		}
	}

	h1.Leave("games")
	if got := chat.Rooms(); !slices.Equal(got, []string{"lobby"}) {
		t.Fatalf("after the last member left games: rooms %v", got)
	}
	// A client that leaves the hub leaves its rooms.
	c2.CloseNow()
	e.nextGone()
	if lobby.Len() != 1 || lobby.Has(h2) {
		t.Fatalf("lobby after client 2 left: %d members", lobby.Len())
	}
	// A client that is gone can join nothing.
	h2.Join("games")
	if chat.Room("games").Len() != 0 {
		t.Fatal("a gone client joined a room")
	}
	if got := e.h.UserClients("1"); len(got) != 1 || got[0] != h1 {
		t.Fatalf("UserClients(1) = %v", got)
	}
	if e.h.Client(h1.ID()) != h1 {
		t.Fatal("Client(id) did not find client 1")
	}
}

func TestSendToUserReachesEveryConnectionOfTheUser(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{}, server.Options{})
	a1, _ := e.dial("user=alice")
	a2, _ := e.dial("user=alice")
	b, _ := e.dial("user=bob")
	ra1, ra2, rb := read(a1), read(a2), read(b)
	if n := e.h.SendToUser("alice", text("for alice")); n != 2 {
		t.Fatalf("SendToUser queued for %d, want 2", n)
	}
	e.h.Broadcast(text("all"))
	for _, r := range []*reader{ra1, ra2} {
		if got := string(r.next(t)); got != "for alice" {
			t.Fatalf("alice got %q", got)
		}
	}
	if got := string(rb.next(t)); got != "all" {
		t.Fatalf("bob got %q first, want all", got)
	}
}

func TestClientMetadataAndSendAfterDisconnect(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{}, server.Options{})
	c, hc := e.dial("user=x")
	hc.Set("role", "admin")
	if hc.Get("role") != "admin" || hc.Get("missing") != nil || hc.User() != "x" || hc.ID() == "" {
		t.Fatal("metadata not kept")
	}
	c.Close(ws.CloseNormal, "bye")
	g := e.nextGone()
	var ce *ws.CloseError
	if g.c != hc || !errors.As(g.err, &ce) || ce.Code != ws.CloseNormal || ce.Reason != "bye" {
		t.Fatalf("disconnect %v, want the peer's close 1000 bye", g.err)
	}
	if err := hc.Send(ws.Text, []byte("late")); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("Send after disconnect: %v, want ErrClosed", err)
	}
	if hc.Context().Err() == nil {
		t.Fatal("context of a gone client not done")
	}
	if e.h.Len() != 0 || e.h.Stats().Errors != 0 {
		t.Fatalf("after a clean close: Len %d, stats %+v", e.h.Len(), e.h.Stats())
	}
}

func TestShutdownClosesEveryClientWith1001(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{}, server.Options{})
	var rs []*reader
	for range 3 {
		c, _ := e.dial("")
		rs = append(rs, read(c))
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := e.h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if e.h.Len() != 0 {
		t.Fatalf("%d clients left after Shutdown", e.h.Len())
	}
	for _, r := range rs {
		if ce := r.closed(t); ce.Code != ws.CloseGoingAway || ce.Reason != hub.ShutdownReason {
			t.Fatalf("client got close %v %q, want 1001 %q", ce.Code, ce.Reason, hub.ShutdownReason)
		}
	}
	for range 3 {
		if g := e.nextGone(); !errors.Is(g.err, hub.ErrShutdown) {
			t.Fatalf("disconnect reason %v, want ErrShutdown", g.err)
		}
	}
	// A connection that arrives afterwards is refused with 1001.
	c, err := dialNoWait(e)
	if err != nil {
		t.Fatal(err)
	}
	if ce := read(c).closed(t); ce.Code != ws.CloseGoingAway {
		t.Fatalf("late client got %v, want 1001", ce.Code)
	}
}

func TestServerShutdownEndsHubClients(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{}, server.Options{})
	c, _ := e.dial("")
	r := read(c)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ce := r.closed(t); ce.Code != ws.CloseGoingAway || ce.Reason != "server shutting down" {
		t.Fatalf("close %v %q, want 1001", ce.Code, ce.Reason)
	}
	// server.Server's Shutdown waited for its handlers, hub.Serve
	// among them.
	if e.h.Len() != 0 {
		t.Fatalf("%d hub clients after the server's Shutdown", e.h.Len())
	}
}

func TestPanicInOnMessageClosesWith1011AndTheServerGoesOn(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{
		OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
			if string(data) == "boom" {
				var p *hub.Client
				_ = p.Hub().Len() // nil pointer: a real panic
			}
			c.Send(typ, data)
		},
	}, server.Options{})
	bad, _ := e.dial("user=bad")
	good, _ := e.dial("user=good")
	rbad, rgood := read(bad), read(good)
	ctx := context.Background()
	bad.WriteMessage(ctx, ws.Text, []byte("boom"))
	if ce := rbad.closed(t); ce.Code != ws.CloseInternalError {
		t.Fatalf("close %v, want 1011", ce.Code)
	}
	if g := e.nextGone(); !errors.Is(g.err, hub.ErrPanic) {
		t.Fatalf("disconnect reason %v, want ErrPanic", g.err)
	}
	good.WriteMessage(ctx, ws.Text, []byte("still here"))
	if got := string(rgood.next(t)); got != "still here" {
		t.Fatalf("echo after a panic elsewhere: %q", got)
	}
	if s := e.h.Stats(); s.Panics != 1 {
		t.Fatalf("Panics = %d, want 1", s.Panics)
	}
}

func TestPanicReplyKeepsTheConnection(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{
		PanicReply: []byte(`{"type":"error"}`),
		OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
			if string(data) == "boom" {
				panic("boom")
			}
			c.Send(typ, data)
		},
	}, server.Options{})
	c, _ := e.dial("")
	r := read(c)
	ctx := context.Background()
	c.WriteMessage(ctx, ws.Text, []byte("boom"))
	c.WriteMessage(ctx, ws.Text, []byte("after"))
	for _, want := range []string{`{"type":"error"}`, "after"} {
		if got := string(r.next(t)); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// dialNoWait dials without waiting for registration (for refused clients).
func dialNoWait(e *env) (*ws.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := dialURL(ctx, e.url)
	if err == nil {
		e.mu.Lock()
		e.conns = append(e.conns, c)
		e.mu.Unlock()
	}
	return c, err
}

func TestCloseSendsQueuedMessagesFirst(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{
		OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
			c.Send(ws.Text, []byte("one"))
			c.Send(ws.Text, []byte("two"))
			c.Close(ws.ClosePolicyViolation, "bye")
			if err := c.Send(ws.Text, []byte("three")); !errors.Is(err, hub.ErrClosed) {
				panic("Send after Close accepted")
			}
		},
	}, server.Options{})
	c, _ := e.dial("")
	r := read(c)
	c.WriteMessage(context.Background(), ws.Text, []byte("go"))
	for _, want := range []string{"one", "two"} {
		if got := string(r.next(t)); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if ce := r.closed(t); ce.Code != ws.ClosePolicyViolation || ce.Reason != "bye" {
		t.Fatalf("close %v %q", ce.Code, ce.Reason)
	}
	if s := e.h.Stats(); s.Panics != 0 {
		t.Fatal("Send after Close was accepted")
	}
}
