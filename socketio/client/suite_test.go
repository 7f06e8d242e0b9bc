package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/reconnect"
)

// The client suite: the same cases run against every server that
// implements testdata/server.js's events (the Node reference server, and
// this module's server), over every transport.

// serverConfig is what a suite server is started with.
type serverConfig struct {
	Recovery   bool     `json:"recovery,omitempty"`
	Transports []string `json:"transports,omitempty"`
}

// startServer starts a suite server and returns its base URL.
type startServer func(t *testing.T, cfg serverConfig) string

// transportModes are the client configurations every case runs with.
var transportModes = []struct {
	name       string
	transports []string
	final      string
}{
	{"polling", []string{engineio.Polling}, engineio.Polling},
	{"websocket", []string{engineio.WebSocket}, engineio.WebSocket},
	{"upgrade", nil, engineio.WebSocket},
}

type welcome struct {
	ID        string          `json:"id"`
	Nsp       string          `json:"nsp"`
	Auth      json.RawMessage `json:"auth"`
	Recovered bool            `json:"recovered"`
	Transport string          `json:"transport"`
}

// conn is a socket with its events recorded.
type conn struct {
	*Socket
	welcomes    chan welcome
	echoes      chan Args
	roomMsgs    chan string
	disconnects chan error
	connects    chan struct{}
}

func testOptions(transports []string) *Options {
	return &Options{
		Engine:  engineio.ClientOptions{Transports: transports},
		Backoff: reconnect.Backoff{Initial: 200 * time.Millisecond, Max: time.Second, Jitter: 0.5},
		Logger:  slog.New(slog.DiscardHandler),
	}
}

func record(s *Socket) *conn {
	c := &conn{
		Socket:      s,
		welcomes:    make(chan welcome, 10),
		echoes:      make(chan Args, 10),
		roomMsgs:    make(chan string, 100),
		disconnects: make(chan error, 10),
		connects:    make(chan struct{}, 10),
	}
	On(s, "welcome", func(_ context.Context, w welcome) error { c.welcomes <- w; return nil })
	s.OnEvent("echo-back", func(e *Event) { c.echoes <- e.Args })
	On(s, "room-msg", func(_ context.Context, m string) error { c.roomMsgs <- m; return nil })
	OnAck(s, "question", func(ctx context.Context, q string) (string, error) {
		if q == "fail" {
			return "", errors.New("no answer")
		}
		return "answer to " + q, nil
	})
	s.OnDisconnect(func(reason error) { c.disconnects <- reason })
	s.OnConnect(func() { c.connects <- struct{}{} })
	return c
}

func recv[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, url string, transports []string, sopts *SocketOptions) *conn {
	t.Helper()
	m, err := NewManager(url, testOptions(transports))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	c := record(m.Socket("/", sopts))
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	recv(t, c.connects, "connect")
	return c
}

type nested struct {
	Name string `json:"name"`
	Blob Binary `json:"blob"`
	List []int  `json:"list"`
}

func runSuite(t *testing.T, start startServer) {
	for _, mode := range transportModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Run("EventsAcksBinary", func(t *testing.T) { testEvents(t, start, mode.transports, mode.final) })
			t.Run("Namespaces", func(t *testing.T) { testNamespaces(t, start, mode.transports) })
			t.Run("Reconnect", func(t *testing.T) { testReconnect(t, start, mode.transports) })
			t.Run("Recovery", func(t *testing.T) { testRecovery(t, start, mode.transports) })
		})
	}
}

func testEvents(t *testing.T, start startServer, transports []string, final string) {
	url := start(t, serverConfig{})
	c := dial(t, url, transports, &SocketOptions{Auth: map[string]string{"user": "gopher"}})
	w := recv(t, c.welcomes, "welcome")
	if w.ID != c.ID() || w.Nsp != "/" || string(w.Auth) != `{"user":"gopher"}` {
		t.Fatalf("welcome %+v, socket id %q", w, c.ID())
	}
	ctx := ctxT(t)

	// JSON and binary arguments, top-level and nested, both ways.
	sent := nested{Name: "n", Blob: Binary{0, 1, 2, 0xff}, List: []int{1, 2}}
	if err := c.Emit(ctx, "echo", "héllo", 42, []byte{9, 8, 7}, sent, nil); err != nil {
		t.Fatal(err)
	}
	args := recv(t, c.echoes, "echo-back")
	var s string
	var n int
	var b []byte
	var got nested
	if args.Len() != 5 || args.Decode(0, &s) != nil || args.Decode(1, &n) != nil || args.Decode(2, &b) != nil || args.Decode(3, &got) != nil || string(args.Raw(4)) != "null" {
		t.Fatalf("echo-back: %d args %v", args.Len(), args.String())
	}
	if s != "héllo" || n != 42 || string(b) != "\x09\x08\x07" || !reflect.DeepEqual(got, sent) {
		t.Fatalf("echo-back: %q %d %v %+v", s, n, b, got)
	}

	// Client → server ack, with binary.
	ack, err := c.EmitWithAck(ctx, "ack", "x", Binary("bin"))
	if err != nil {
		t.Fatal(err)
	}
	if ack.Len() != 2 || ack.Decode(1, &b) != nil || string(b) != "bin" {
		t.Fatalf("ack: %v", ack.String())
	}
	// No arguments at all.
	if ack, err = c.EmitWithAck(ctx, "ack"); err != nil || ack.Len() != 0 {
		t.Fatalf("ack without arguments: %v %v", ack.String(), err)
	}
	// Server → client ack, through a typed handler, as a typed call.
	answer, err := Reply[string](c.EmitWithAck(ctx, "ask", "life"))
	if err != nil || answer != "answer to life" {
		t.Fatalf("ask: %q %v", answer, err)
	}
	// The client's handler fails: the server gets the error in the ack,
	// and Reply makes it a *HandlerError again.
	_, err = Reply[string](c.EmitWithAck(ctx, "ask", "fail"))
	var he *HandlerError
	if !errors.As(err, &he) || he.Code != CodeInternal || he.Message != "no answer" {
		t.Fatalf("ask fail: %v", err)
	}
	// An ack that never comes: the context ends the wait.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = c.EmitWithAck(short, "nobody-listens", "no ack for this")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered ack: %v", err)
	}

	// Many events, in order.
	for i := range 200 {
		if err := c.Emit(ctx, "echo", i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 200 {
		var v int
		if a := recv(t, c.echoes, "echo-back"); a.Decode(0, &v) != nil || v != i {
			t.Fatalf("echo %d: %v", i, a.String())
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Manager().Engine().Transport() != final && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if tr := c.Manager().Engine().Transport(); tr != final {
		t.Fatalf("transport %s, want %s", tr, final)
	}

	// The server disconnects the socket: no reconnection.
	c.Emit(ctx, "server-disconnect")
	if reason := recv(t, c.disconnects, "disconnect"); !errors.Is(reason, ErrServerDisconnect) {
		t.Fatalf("disconnect reason %v", reason)
	}
	if err := c.Emit(ctx, "echo", 1); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Emit after server disconnect: %v", err)
	}
}

func testNamespaces(t *testing.T, start startServer, transports []string) {
	url := start(t, serverConfig{})
	m, err := NewManager(url, testOptions(transports))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := ctxT(t)

	// A middleware that refuses, with data.
	bad := m.Socket("/chat", &SocketOptions{Auth: map[string]string{"token": "wrong"}})
	connErrs := make(chan error, 1)
	bad.OnConnectError(func(err error) { connErrs <- err })
	err = bad.Connect(ctx)
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Message != "not authorized" {
		t.Fatalf("Connect with a bad token: %v", err)
	}
	var data struct {
		Reason string            `json:"reason"`
		Got    map[string]string `json:"got"`
	}
	if json.Unmarshal(ce.Data, &data) != nil || data.Reason != "bad token" || data.Got["token"] != "wrong" {
		t.Fatalf("connect error data %s", ce.Data)
	}
	if err := recv(t, connErrs, "OnConnectError"); !errors.As(err, &ce) {
		t.Fatalf("OnConnectError: %v", err)
	}

	// Two namespaces on one connection.
	m2, err := NewManager(url, testOptions(transports))
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	root := record(m2.Socket("/", nil))
	chat := record(m2.Socket("/chat", &SocketOptions{AuthFunc: func() (any, error) {
		return map[string]string{"token": "open sesame"}, nil
	}}))
	if err := root.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := chat.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if w := recv(t, chat.welcomes, "welcome /chat"); w.Nsp != "/chat" {
		t.Fatalf("welcome %+v", w)
	}
	recv(t, root.welcomes, "welcome /")
	chat.Emit(ctx, "echo", "in chat")
	root.Emit(ctx, "echo", "in root")
	var s string
	if recv(t, chat.echoes, "chat echo").Decode(0, &s); s != "in chat" {
		t.Fatalf("chat echo %q", s)
	}
	if recv(t, root.echoes, "root echo").Decode(0, &s); s != "in root" {
		t.Fatalf("root echo %q", s)
	}
	// Leaving one namespace keeps the other.
	chat.Disconnect()
	if reason := recv(t, chat.disconnects, "chat disconnect"); !errors.Is(reason, ErrClientDisconnect) {
		t.Fatalf("chat disconnect %v", reason)
	}
	root.Emit(ctx, "echo", "still here")
	if recv(t, root.echoes, "root echo").Decode(0, &s); s != "still here" {
		t.Fatalf("root echo %q", s)
	}
}

func testReconnect(t *testing.T, start startServer, transports []string) {
	url := start(t, serverConfig{})
	m, err := NewManager(url, testOptions(transports))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := ctxT(t)
	root := record(m.Socket("/", nil))
	chat := record(m.Socket("/chat", &SocketOptions{Auth: map[string]string{"token": "open sesame"}}))
	if err := root.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := chat.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	recv(t, root.connects, "connect")
	recv(t, chat.connects, "connect")
	first := recv(t, root.welcomes, "welcome").ID
	recv(t, chat.welcomes, "welcome")

	root.Emit(ctx, "kill-transport")
	for _, c := range []*conn{root, chat} {
		if reason := recv(t, c.disconnects, "disconnect"); !errors.Is(reason, engineio.ErrTransportClose) {
			t.Fatalf("disconnect reason %v", reason)
		}
	}
	// Both namespaces come back on the new connection.
	recv(t, root.connects, "reconnect")
	recv(t, chat.connects, "reconnect")
	if second := recv(t, root.welcomes, "welcome").ID; second == first || second != root.ID() {
		t.Fatalf("ids %q then %q (socket %q)", first, second, root.ID())
	}
	recv(t, chat.welcomes, "welcome")
	if root.Recovered() {
		t.Fatal("recovered without recovery on the server")
	}
	var s string
	chat.Emit(ctx, "echo", "after")
	if recv(t, chat.echoes, "echo").Decode(0, &s); s != "after" {
		t.Fatalf("echo %q", s)
	}
	// Emits while disconnected are buffered and sent on reconnection.
	root.Emit(ctx, "kill-transport")
	recv(t, root.disconnects, "disconnect")
	if err := root.Emit(ctx, "echo", "buffered"); err != nil {
		t.Fatal(err)
	}
	recv(t, root.connects, "reconnect")
	if recv(t, root.echoes, "echo").Decode(0, &s); s != "buffered" {
		t.Fatalf("echo %q", s)
	}
}

func testRecovery(t *testing.T, start startServer, transports []string) {
	url := start(t, serverConfig{Recovery: true})
	c := dial(t, url, transports, nil)
	ctx := ctxT(t)
	recv(t, c.welcomes, "welcome")
	id := c.ID()
	if _, err := c.EmitWithAck(ctx, "join", "r"); err != nil {
		t.Fatal(err)
	}
	// A first broadcast gives the client an offset to resume from.
	if _, err := c.EmitWithAck(ctx, "to-room", "r", "before"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c.roomMsgs, "room-msg"); m != "before" {
		t.Fatalf("room-msg %q", m)
	}
	var missed []string
	for i := range 5 {
		missed = append(missed, fmt.Sprintf("missed %d", i))
	}
	c.Emit(ctx, "kill-transport", "r", missed)
	recv(t, c.disconnects, "disconnect")
	recv(t, c.connects, "reconnect")
	if !c.Recovered() || c.ID() != id {
		t.Fatalf("recovered %v, id %q then %q", c.Recovered(), id, c.ID())
	}
	for _, want := range missed {
		if m := recv(t, c.roomMsgs, "missed room-msg"); m != want {
			t.Fatalf("room-msg %q, want %q", m, want)
		}
	}
	// Still in the room.
	c.EmitWithAck(ctx, "to-room", "r", "after")
	if m := recv(t, c.roomMsgs, "room-msg"); m != "after" {
		t.Fatalf("room-msg %q", m)
	}
}

// noLeaks fails the test if goroutines started during it are still
// running (after a bounded wait) once every other cleanup has run.
func noLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(15 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines left behind:\n%s", runtime.NumGoroutine()-before, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
