package hub_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/hub"
)

// memTransport is a Transport with a bounded queue in memory, as an
// Engine.IO session or an event-loop connection keeps one: nothing writes
// it, the test reads what was sent.
type memTransport struct {
	mu      sync.Mutex
	max     int
	sent    []hub.Payload
	closed  string // "", "flush", "now", "terminated"
	code    ws.CloseCode
	closeFn func()
}

func (t *memTransport) Send(p hub.Payload) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed != "" {
		return hub.ErrClosed
	}
	if t.max > 0 && len(t.sent) >= t.max {
		return hub.ErrQueueFull
	}
	t.sent = append(t.sent, p)
	return nil
}

func (t *memTransport) Close(code ws.CloseCode, reason string, flush bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed == "" {
		t.closed, t.code = "now", code
		if flush {
			t.closed = "flush"
		}
		if t.closeFn != nil {
			go t.closeFn()
		}
	}
	return nil
}

func (t *memTransport) CloseNow() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = "terminated"
	return nil
}

func (t *memTransport) BufferedAmount() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, p := range t.sent {
		n += int64(len(p.Data()))
	}
	return n
}

func (t *memTransport) texts() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var s []string
	for _, p := range t.sent {
		s = append(s, string(p.Data()))
	}
	return s
}

func prepared(t testing.TB, s string) *ws.PreparedMessage {
	pm, err := ws.NewPreparedMessage(ws.Text, []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func TestAttachReceiveDetach(t *testing.T) {
	noLeaks(t)
	var (
		mu       sync.Mutex
		events   []string
		reason   error
		received []string
	)
	h := hub.New(&hub.Options{
		Logger:    quiet(),
		OnConnect: func(c *hub.Client) { mu.Lock(); events = append(events, "connect "+c.ID()); mu.Unlock() },
		OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
			mu.Lock()
			received = append(received, string(data))
			mu.Unlock()
		},
		OnDisconnect: func(c *hub.Client, err error) {
			mu.Lock()
			events = append(events, "disconnect "+c.ID())
			reason = err
			mu.Unlock()
		},
	})
	tr := &memTransport{}
	c, err := h.Attach(context.Background(), tr, hub.Info{ID: "abc", Namespace: "/chat", User: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "abc" || h.Client("abc") != c || h.Len() != 1 || c.Conn() != nil || c.Transport() != hub.Transport(tr) {
		t.Fatalf("attached client: id %q, Len %d", c.ID(), h.Len())
	}
	if _, err := h.Attach(context.Background(), &memTransport{}, hub.Info{ID: "abc"}); !errors.Is(err, hub.ErrDuplicateID) {
		t.Fatalf("second client with the same ID: %v", err)
	}
	c.Receive(ws.Text, []byte("hello"))
	c.Join("room")
	if n := h.Namespace("/chat").Room("room").Broadcast(prepared(t, "to room")); n != 1 {
		t.Fatalf("room broadcast reached %d", n)
	}
	if err := c.Send(ws.Text, []byte("direct")); err != nil {
		t.Fatal(err)
	}
	if got := tr.texts(); !slices.Equal(got, []string{"to room", "direct"}) {
		t.Fatalf("sent %q", got)
	}
	if c.Sent() != 2 || h.Stats().MessagesOut != 2 || h.Stats().MessagesIn != 1 {
		t.Fatalf("Sent %d, stats %+v", c.Sent(), h.Stats())
	}
	if c.Context().Err() != nil {
		t.Fatal("context ended early")
	}
	c.Detach(nil)
	c.Detach(errors.New("second call")) // does nothing
	if c.Context().Err() == nil || h.Len() != 0 || h.Namespace("/chat").Room("room").Len() != 0 {
		t.Fatalf("after Detach: ctx %v, Len %d", c.Context().Err(), h.Len())
	}
	if err := c.Send(ws.Text, []byte("late")); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("Send after Detach: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(events, []string{"connect abc", "disconnect abc"}) || reason != nil || !slices.Equal(received, []string{"hello"}) {
		t.Fatalf("events %q, reason %v, received %q", events, reason, received)
	}
	if s := h.Stats(); s.Connections != 0 || s.ConnectionsTotal != 1 || s.Errors != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestAttachedOverflowPolicies(t *testing.T) {
	noLeaks(t)
	t.Run("drop", func(t *testing.T) {
		h := hub.New(&hub.Options{Logger: quiet(), Overflow: hub.Drop})
		tr := &memTransport{max: 1}
		c, _ := h.Attach(context.Background(), tr, hub.Info{})
		h.Broadcast(prepared(t, "1"))
		h.Broadcast(prepared(t, "2"))
		if c.Dropped() != 1 || h.Stats().Dropped != 1 || tr.closed != "" {
			t.Fatalf("dropped %d, closed %q", c.Dropped(), tr.closed)
		}
		c.Detach(nil)
	})
	t.Run("close slow", func(t *testing.T) {
		var reason error
		done := make(chan struct{})
		h := hub.New(&hub.Options{Logger: quiet(), Overflow: hub.CloseSlow, OnDisconnect: func(c *hub.Client, err error) { reason = err; close(done) }})
		tr := &memTransport{max: 1}
		c, _ := h.Attach(context.Background(), tr, hub.Info{})
		tr.closeFn = func() { c.Detach(errors.New("transport closed")) }
		h.Broadcast(prepared(t, "1"))
		if err := c.SendPayload(prepared(t, "2")); !errors.Is(err, hub.ErrQueueFull) {
			t.Fatalf("SendPayload to a full transport: %v", err)
		}
		<-done
		if tr.closed != "now" || tr.code != ws.CloseTryAgainLater || !errors.Is(reason, hub.ErrQueueFull) || h.Stats().SlowClosed != 1 {
			t.Fatalf("closed %q code %d reason %v stats %+v", tr.closed, tr.code, reason, h.Stats())
		}
	})
}

func TestAttachedShutdown(t *testing.T) {
	noLeaks(t)
	h := hub.New(&hub.Options{Logger: quiet()})
	var cs []*hub.Client
	for range 3 {
		tr := &memTransport{}
		c, err := h.Attach(context.Background(), tr, hub.Info{})
		if err != nil {
			t.Fatal(err)
		}
		tr.closeFn = func() { c.Detach(nil) }
		cs = append(cs, c)
	}
	if err := h.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if tr := c.Transport().(*memTransport); tr.closed != "now" || tr.code != ws.CloseGoingAway {
			t.Fatalf("transport closed %q with %d", tr.closed, tr.code)
		}
	}
	if _, err := h.Attach(context.Background(), &memTransport{}, hub.Info{}); !errors.Is(err, hub.ErrShutdown) {
		t.Fatalf("Attach after Shutdown: %v", err)
	}
}

func TestBroadcastToTargets(t *testing.T) {
	h := hub.New(&hub.Options{Logger: quiet(), ClientRooms: true})
	ns := h.Namespace("/n")
	mk := func(id string, rooms ...string) (*hub.Client, *memTransport) {
		tr := &memTransport{}
		c, err := h.Attach(context.Background(), tr, hub.Info{ID: id, Namespace: "/n"})
		if err != nil {
			t.Fatal(err)
		}
		c.Join(rooms...)
		return c, tr
	}
	a, ta := mk("a", "r1")
	b, tb := mk("b", "r1", "r2")
	_, tc := mk("c", "r2", "muted")
	_, td := mk("d")
	other, to := h.Attach(context.Background(), &memTransport{}, hub.Info{ID: "x", Namespace: "/other"})
	_ = other
	_ = to

	cases := []struct {
		name string
		t    hub.Target
		want string // who got it
	}{
		{"all", hub.Target{}, "abcd"},
		{"one room", hub.Target{Rooms: []string{"r1"}}, "ab"},
		{"two rooms, b once", hub.Target{Rooms: []string{"r1", "r2"}}, "abc"},
		{"except room", hub.Target{Rooms: []string{"r1", "r2"}, ExceptRooms: []string{"muted"}}, "ab"},
		{"except client", hub.Target{Rooms: []string{"r2"}, Except: []*hub.Client{b}}, "c"},
		{"client room", hub.Target{Rooms: []string{"d"}}, "d"},
		{"client room and room", hub.Target{Rooms: []string{"r1", "a", "d"}}, "abd"},
		{"except client room", hub.Target{ExceptRooms: []string{"a", "r2"}}, "d"},
		{"other namespace's client", hub.Target{Rooms: []string{"x"}}, ""},
		{"empty room", hub.Target{Rooms: []string{"nobody"}}, ""},
	}
	trs := map[string]*memTransport{"a": ta, "b": tb, "c": tc, "d": td}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, tr := range trs {
				tr.mu.Lock()
				tr.sent = nil
				tr.mu.Unlock()
			}
			n := ns.BroadcastTo(prepared(t, tc.name), tc.t)
			got := ""
			for _, id := range []string{"a", "b", "c", "d"} {
				switch len(trs[id].texts()) {
				case 0:
				case 1:
					got += id
				default:
					t.Fatalf("%s got it %d times", id, len(trs[id].texts()))
				}
			}
			if got != tc.want || n != len(tc.want) {
				t.Fatalf("reached %q (count %d), want %q", got, n, tc.want)
			}
			var sel string
			for _, c := range ns.Select(tc.t) {
				sel += c.ID()
			}
			s := []byte(sel)
			slices.Sort(s)
			if string(s) != tc.want {
				t.Fatalf("Select = %q, want %q", s, tc.want)
			}
		})
	}
	if !ns.Room("a").Has(a) || ns.Room("a").Len() != 1 || ns.Room("b").Has(a) || ns.Room("r1").Len() != 2 {
		t.Fatal("client rooms: Has/Len")
	}
	if rooms := ns.Rooms(); !slices.Equal(rooms, []string{"muted", "r1", "r2"}) {
		t.Fatalf("Rooms() = %q; client rooms are not listed", rooms)
	}
}

func TestBroadcastToThroughBroker(t *testing.T) {
	b := hub.NewMemoryBroker()
	h1 := hub.New(&hub.Options{Logger: quiet(), Broker: b, ClientRooms: true})
	h2 := hub.New(&hub.Options{Logger: quiet(), Broker: b, ClientRooms: true})
	t2 := &memTransport{}
	c2, _ := h2.Attach(context.Background(), t2, hub.Info{Namespace: "/n"})
	c2.Join("r")
	t3 := &memTransport{}
	c3, _ := h2.Attach(context.Background(), t3, hub.Info{Namespace: "/n"})
	c3.Join("r", "muted")
	h1.Namespace("/n").BroadcastTo(prepared(t, "x"), hub.Target{Rooms: []string{"r"}, ExceptRooms: []string{"muted"}})
	// MemoryBroker delivers on the publishing goroutine; the hub publishes
	// from a pump of its own, so wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for len(t2.texts()) == 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	if got := t2.texts(); len(got) != 1 || got[0] != "x" || len(t3.texts()) != 0 {
		t.Fatalf("member got %q, muted member got %q", got, t3.texts())
	}
}

// BenchmarkBroadcastAttached is BenchmarkBroadcast for clients attached
// with a transport of their own queue: queueing costs the broadcaster no
// allocation, and no goroutine runs per client.
func BenchmarkBroadcastAttached(b *testing.B) {
	const clients = 100
	h := hub.New(&hub.Options{Logger: quiet(), ClientRooms: true})
	trs := make([]*countTransport, clients)
	for i := range trs {
		trs[i] = &countTransport{}
		c, err := h.Attach(context.Background(), trs[i], hub.Info{Namespace: "/"})
		if err != nil {
			b.Fatal(err)
		}
		c.Join("room")
	}
	pm := prepared(b, string(make([]byte, 128)))
	target := hub.Target{Rooms: []string{"room"}}
	ns := h.Namespace("/")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ns.BroadcastTo(pm, target)
	}
}

// countTransport counts what it is given.
type countTransport struct{ n int64 }

func (t *countTransport) Send(p hub.Payload) error               { t.n++; return nil }
func (t *countTransport) Close(ws.CloseCode, string, bool) error { return nil }
func (t *countTransport) CloseNow() error                        { return nil }
func (t *countTransport) BufferedAmount() int64                  { return 0 }

// An attached client's context is made when first asked for: asked for
// only after Detach, it has ended already.
func TestAttachedContextAskedAfterDetach(t *testing.T) {
	h := hub.New(nil)
	c, err := h.Attach(context.Background(), &memTransport{}, hub.Info{ID: "late"})
	if err != nil {
		t.Fatal(err)
	}
	c.Detach(nil)
	select {
	case <-c.Context().Done():
	default:
		t.Fatal("the context of a detached client has not ended")
	}
}

// The hub keeps its clients in their namespaces (one map entry per client):
// lookups by ID alone, the counts, the hub-wide broadcast and the
// duplicate-ID check go across namespaces, and a client that leaves is
// gone from all of them.
func TestClientsAcrossNamespaces(t *testing.T) {
	h := hub.New(&hub.Options{Logger: quiet(), PingInterval: -1, ClientRooms: true})
	attach := func(id, ns string) (*hub.Client, *memTransport) {
		t.Helper()
		tr := &memTransport{}
		c, err := h.Attach(context.Background(), tr, hub.Info{ID: id, Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		return c, tr
	}
	a, ta := attach("a", "")
	b, tb := attach("b", "/x")
	c, tc := attach("c", "/x")
	if _, err := h.Attach(context.Background(), &memTransport{}, hub.Info{ID: "b", Namespace: ""}); !errors.Is(err, hub.ErrDuplicateID) {
		t.Fatalf("an ID live in another namespace: %v", err)
	}
	if h.Len() != 3 || len(h.Clients()) != 3 || h.Namespace("/x").Len() != 2 || len(h.Namespace("/x").Clients()) != 2 {
		t.Fatalf("Len %d, Clients %d, /x Len %d", h.Len(), len(h.Clients()), h.Namespace("/x").Len())
	}
	if h.Client("a") != a || h.Client("b") != b || h.Client("c") != c || h.Client("d") != nil {
		t.Fatal("Client by ID")
	}
	if n := h.Broadcast(prepared(t, "all")); n != 3 {
		t.Fatalf("hub broadcast reached %d", n)
	}
	if n := h.Namespace("/x").Broadcast(prepared(t, "x"), c); n != 1 {
		t.Fatalf("namespace broadcast reached %d", n)
	}
	// ClientRooms: a client's ID names a room in its namespace only.
	if n := h.Namespace("/x").Room("b").Broadcast(prepared(t, "to b")); n != 1 {
		t.Fatalf("room of b's ID reached %d", n)
	}
	if n := h.Namespace("").Room("b").Broadcast(prepared(t, "no")); n != 0 {
		t.Fatalf("room of b's ID in another namespace reached %d", n)
	}
	if !h.Namespace("/x").Room("b").Has(b) || h.Namespace("").Room("b").Has(b) {
		t.Fatal("Room.Has of the ID's room")
	}
	for _, x := range []struct {
		tr   *memTransport
		want []string
	}{{ta, []string{"all"}}, {tb, []string{"all", "x", "to b"}}, {tc, []string{"all"}}} {
		if got := x.tr.texts(); !slices.Equal(got, x.want) {
			t.Fatalf("sent %q, want %q", got, x.want)
		}
	}
	b.Detach(nil)
	b.Join("late") // gone: joins nothing
	if h.Len() != 2 || h.Client("b") != nil || h.Namespace("/x").Len() != 1 || h.Namespace("/x").Room("late").Len() != 0 {
		t.Fatalf("after Detach: Len %d, /x Len %d", h.Len(), h.Namespace("/x").Len())
	}
	if _, err := h.Attach(context.Background(), &memTransport{}, hub.Info{ID: "b"}); err != nil {
		t.Fatalf("the ID of a client gone: %v", err)
	}
	a.Detach(nil)
	c.Detach(nil)
	if h.Len() != 1 || h.Namespace("/x").Len() != 0 {
		t.Fatalf("Len %d", h.Len())
	}
}

// A client's context asked for while the client ends (its context is made
// on first use) still ends.
func TestAttachedContextAskedWhileDetaching(t *testing.T) {
	h := hub.New(&hub.Options{Logger: quiet(), PingInterval: -1})
	for range 300 {
		c, err := h.Attach(context.Background(), &memTransport{}, hub.Info{})
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan context.Context)
		go func() { got <- c.Context() }()
		c.Detach(nil)
		ctx := <-got
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the context of a detached client did not end")
		}
	}
}
