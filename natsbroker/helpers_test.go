package natsbroker_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/natsbroker"
	wsserver "github.com/rfc6455/ws/server"
)

// testTimeout bounds waits that only a bug makes long.
const testTimeout = 20 * time.Second

// noLeaks records the goroutine count and, when the test ends (after every
// other cleanup, since it is registered first), waits a bounded time for it
// to come back down.
func noLeaks(t testing.TB) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(testTimeout)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines left behind:\n%s", runtime.NumGoroutine()-before, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// startNATS starts a NATS server on 127.0.0.1: on port, or on a free port
// if port is -1. It is shut down when the test ends, if not before.
func startNATS(t testing.TB, port int) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(testTimeout) {
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(func() { stopNATS(ns) })
	return ns
}

func stopNATS(ns *server.Server) {
	ns.Shutdown()
	ns.WaitForShutdown()
}

func natsPort(ns *server.Server) int { return ns.Addr().(*net.TCPAddr).Port }

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

// roomRelay sends each message to the sender's rooms, all but the sender,
// keeping its type.
func roomRelay(c *hub.Client, typ ws.MessageType, data []byte) {
	pm, _ := ws.NewPreparedMessage(typ, bytes.Clone(data))
	for _, r := range c.Rooms() {
		c.Namespace().Room(r).Broadcast(pm, c)
	}
}

// hubServer is a hub with a NATS broker behind a server.Server on a
// loopback listener. Clients pick their rooms with ?room= (repeatable).
type hubServer struct {
	t      testing.TB
	h      *hub.Hub
	b      *natsbroker.Broker
	srv    *wsserver.Server
	ts     *httptest.Server
	url    string
	logs   syncBuffer
	joined chan struct{}

	mu    sync.Mutex
	conns []*ws.Conn
}

// newHubServer starts a hub called id, with a broker connected to natsURL,
// or with no broker if natsURL is "".
func newHubServer(t testing.TB, id, natsURL string) *hubServer {
	t.Helper()
	s := &hubServer{t: t, joined: make(chan struct{}, 100)}
	log := slog.New(slog.NewTextHandler(&s.logs, nil))
	opts := hub.Options{
		ServerID:     id,
		Logger:       log,
		PingInterval: -1,
		QueueSize:    8192, // bursts in these tests exceed the default 256
		OnMessage:    roomRelay,
		OnConnect: func(c *hub.Client) {
			if rooms, ok := c.Data().([]string); ok {
				c.Join(rooms...)
			}
			s.joined <- struct{}{}
		},
	}
	if natsURL != "" {
		b, err := natsbroker.Connect(natsURL, &natsbroker.Options{ReconnectWait: 20 * time.Millisecond, Logger: log, Name: id})
		if err != nil {
			t.Fatal(err)
		}
		s.b = b
		opts.Broker = b
	}
	s.h = hub.New(&opts)
	s.srv = &wsserver.Server{Handle: func(c *ws.Conn, r *http.Request) {
		s.h.Serve(r.Context(), c, hub.Info{User: r.URL.Query().Get("user"), Data: r.URL.Query()["room"]})
	}}
	s.ts = httptest.NewServer(s.srv)
	s.url = "ws" + strings.TrimPrefix(s.ts.URL, "http")
	t.Cleanup(s.close)
	return s
}

// close ends the client connections, the server, the hub and the broker.
func (s *hubServer) close() {
	s.mu.Lock()
	for _, c := range s.conns {
		c.CloseNow()
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s.srv.Shutdown(ctx)
	s.h.Shutdown(ctx)
	s.ts.Close()
	if s.b != nil {
		s.b.Close()
	}
}

// dial connects a client in rooms and waits until it has joined them.
func (s *hubServer) dial(user string, rooms ...string) *ws.Conn {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	q := "user=" + user
	for _, r := range rooms {
		q += "&room=" + r
	}
	c, _, err := client.Dial(ctx, s.url+"/?"+q, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	select {
	case <-s.joined:
	case <-time.After(testTimeout):
		s.t.Fatal("client not registered")
	}
	return c
}

// flush makes sure the NATS server has processed everything the broker
// sent, its subscription included.
func (s *hubServer) flush() {
	s.t.Helper()
	if err := s.b.Conn().FlushTimeout(testTimeout); err != nil {
		s.t.Fatal(err)
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
	ch := make(chan typed, 8192)
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

func next(t testing.TB, ch chan typed) typed {
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
func untilFence(t testing.TB, ch chan typed, fence string) []typed {
	t.Helper()
	var got []typed
	for {
		m := next(t, ch)
		if m.data == fence {
			return got
		}
		got = append(got, m)
	}
}

// eventually waits, a bounded time, for cond to hold.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// send writes a text message, failing the test on error.
func send(t testing.TB, c *ws.Conn, typ ws.MessageType, format string, args ...any) {
	t.Helper()
	if err := c.WriteMessage(context.Background(), typ, fmt.Appendf(nil, format, args...)); err != nil {
		t.Fatal(err)
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func timeoutC() <-chan time.Time { return time.After(testTimeout) }
