package socketio_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/socketio"
	"github.com/rfc6455/ws/socketio/client"
)

// clusterNode is one server of a test cluster.
type clusterNode struct {
	io  *socketio.Server
	url string
}

func startClusterNode(t *testing.T, b hub.Broker, id string, copts *socketio.ClusterOptions) *clusterNode {
	t.Helper()
	io := socketio.NewServer(&socketio.Options{
		Broker:   b,
		ServerID: id,
		Cluster:  copts,
		Logger:   slog.New(slog.DiscardHandler),
	})
	socketio.OnAck(io, "join", func(ctx context.Context, s *socketio.Socket, room string) (struct{}, error) {
		s.Join(room)
		return struct{}{}, nil
	})
	socketio.OnServerSideEmit(io, "whoami", func(ctx context.Context, q string) (string, error) {
		return q + " from " + id, nil
	})
	ts := httptest.NewServer(io)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		io.Shutdown(ctx)
		ts.Close()
	})
	return &clusterNode{io: io, url: ts.URL}
}

// member is a client socket recording the "news" it receives.
type member struct {
	*client.Socket
	news chan string
}

func connectMember(t *testing.T, url string, transport string) *member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := &member{news: make(chan string, 100)}
	s, err := client.Connect(ctx, url, &client.Options{
		Engine: engineio.ClientOptions{Transports: []string{transport}},
		Logger: slog.New(slog.DiscardHandler),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Disconnect() })
	client.On(s, "news", func(ctx context.Context, n string) error { m.news <- n; return nil })
	m.Socket = s
	return m
}

// expectNews checks that m receives exactly want (in order), and nothing
// more within a short while.
func (m *member) expectNews(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-m.news:
			if got != w {
				t.Fatalf("%s got %q, want %q", m.ID(), got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no %q", m.ID(), w)
		}
	}
	select {
	case got := <-m.news:
		t.Fatalf("%s got an extra %q", m.ID(), got)
	case <-time.After(100 * time.Millisecond):
	}
}

func waitServers(t *testing.T, n *clusterNode, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(n.io.Servers()) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s knows %v, want %d servers", n.io.ServerID(), n.io.Servers(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitRoom waits until the cluster, asked from n, counts want sockets in
// room: requests to other servers are applied asynchronously.
func waitRoom(t *testing.T, n *clusterNode, room string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		socks, err := n.io.In(room).FetchAllSockets(ctx)
		cancel()
		if err == nil && len(socks) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %q: %d sockets (%v), want %d", room, len(socks), err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClusterBroadcastsAndRequests(t *testing.T) {
	b := hub.NewMemoryBroker()
	a := startClusterNode(t, b, "a", nil)
	bn := startClusterNode(t, b, "b", nil)
	waitServers(t, a, 1)
	waitServers(t, bn, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	a1 := connectMember(t, a.url, engineio.WebSocket)
	a2 := connectMember(t, a.url, engineio.Polling)
	b1 := connectMember(t, bn.url, engineio.Polling)
	b2 := connectMember(t, bn.url, engineio.WebSocket)
	for _, m := range []*member{a1, b1, b2} {
		if _, err := m.EmitWithAck(ctx, "join", "room"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b2.EmitWithAck(ctx, "join", "muted"); err != nil {
		t.Fatal(err)
	}

	// To a room, from either server: every member once (in the order
	// each server sent them; two servers' broadcasts may interleave).
	a.io.To("room").Emit("news", "one")
	a.io.To("room").Emit("news", "two")
	for _, m := range []*member{a1, b1, b2} {
		m.expectNews(t, "one", "two")
	}
	bn.io.To("room").Emit("news", "one'")
	bn.io.To("room").Emit("news", "two'")
	for _, m := range []*member{a1, b1, b2} {
		m.expectNews(t, "one'", "two'")
	}
	a2.expectNews(t)
	// To all, with an exception.
	bn.io.Except("muted").Emit("news", "three")
	for _, m := range []*member{a1, a2, b1} {
		m.expectNews(t, "three")
	}
	b2.expectNews(t)
	// Binary arguments cross too.
	got := make(chan []byte, 1)
	client.On(b1.Socket, "blob", func(ctx context.Context, p []byte) error { got <- p; return nil })
	a.io.To(b1.ID()).Emit("blob", []byte{0, 1, 2, 255})
	select {
	case p := <-got:
		if string(p) != "\x00\x01\x02\xff" {
			t.Fatalf("blob %v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no blob")
	}

	// Join and leave across servers: a2 (on a) and b1 (on b) join "late"
	// by a request made on b.
	bn.io.In(a2.ID()).SocketsJoin("late")
	bn.io.In(b1.ID()).SocketsJoin("late")
	waitRoom(t, a, "late", 2)
	a.io.To("late").Emit("news", "four")
	a2.expectNews(t, "four")
	b1.expectNews(t, "four")
	a1.expectNews(t)
	a.io.In("late").SocketsLeave("late")
	waitRoom(t, bn, "late", 0)
	bn.io.To("late").Emit("news", "five")
	a2.expectNews(t)
	b1.expectNews(t)

	// Fetch sockets: both servers answer.
	all, err := a.io.In("room").FetchAllSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range all {
		ids = append(ids, s.ID+"@"+s.Server)
	}
	slices.Sort(ids)
	want := []string{a1.ID() + "@a", b1.ID() + "@b", b2.ID() + "@b"}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("FetchAllSockets: %v, want %v", ids, want)
	}

	// Server-side emit with acks.
	answers, err := a.io.ServerSideEmitWithAck(ctx, "whoami", "hello")
	if err != nil || len(answers) != 1 {
		t.Fatalf("ServerSideEmitWithAck: %v %v", answers, err)
	}
	if s, err := socketio.Reply[string](answers[0], nil); err != nil || s != "hello from b" {
		t.Fatalf("answer %q %v", s, err)
	}

	// Disconnect across servers.
	dis := make(chan error, 1)
	b2.OnDisconnect(func(reason error) { dis <- reason })
	a.io.In("muted").DisconnectSockets(false)
	select {
	case reason := <-dis:
		if !errors.Is(reason, client.ErrServerDisconnect) {
			t.Fatalf("b2 disconnected with %v", reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b2 not disconnected")
	}
}

// silentBroker drops what one server publishes once muted: the others
// stop hearing from it, as when its process hangs or its link breaks.
type silentBroker struct {
	hub.Broker
	mu    sync.Mutex
	muted bool
}

func (s *silentBroker) Publish(ctx context.Context, m *hub.Message) error {
	s.mu.Lock()
	muted := s.muted
	s.mu.Unlock()
	if muted {
		return nil
	}
	return s.Broker.Publish(ctx, m)
}

func TestClusterDeadServerIsNoticed(t *testing.T) {
	b := hub.NewMemoryBroker()
	// A heartbeat timeout of seconds: a live server must not be taken
	// for dead on a busy machine.
	fast := &socketio.ClusterOptions{HeartbeatInterval: 100 * time.Millisecond, HeartbeatTimeout: 2 * time.Second, RequestTimeout: time.Minute}
	a := startClusterNode(t, b, "a", fast)
	sb := &silentBroker{Broker: b}
	dead := startClusterNode(t, sb, "dead", fast)
	waitServers(t, a, 1)
	waitServers(t, dead, 1)
	connectMember(t, a.url, engineio.WebSocket)

	// The dead server's answers stop: a request with a short deadline
	// fails with ErrClusterTimeout and a's own sockets...
	sb.mu.Lock()
	sb.muted = true
	sb.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	socks, err := a.io.FetchAllSockets(ctx)
	cancel()
	if !errors.Is(err, socketio.ErrClusterTimeout) || len(socks) != 1 {
		t.Fatalf("FetchAllSockets: %d sockets, %v", len(socks), err)
	}
	// ...and one without a deadline returns once the heartbeat timeout
	// has passed, long before the request timeout.
	start := time.Now()
	socks, err = a.io.FetchAllSockets(context.Background())
	if err != nil || len(socks) != 1 {
		t.Fatalf("FetchAllSockets: %d sockets, %v", len(socks), err)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Fatalf("FetchAllSockets took %v, as if the dead server were waited for until the request timeout", el)
	}
	waitServers(t, a, 0)
	answers, err := a.io.ServerSideEmitWithAck(context.Background(), "whoami", "anyone")
	if err != nil || len(answers) != 0 {
		t.Fatalf("ServerSideEmitWithAck alone: %v %v", answers, err)
	}
}

func TestClusterShutdownIsNoticedAtOnce(t *testing.T) {
	b := hub.NewMemoryBroker()
	a := startClusterNode(t, b, "a", nil)
	other := startClusterNode(t, b, "b", nil)
	waitServers(t, a, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	other.io.Shutdown(ctx)
	waitServers(t, a, 0)
}
