package client

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/engineio"
)

// A server that sends a malformed Socket.IO packet: the client drops the
// connection with a parse error and reconnects.
func TestMalformedPacketReconnects(t *testing.T) {
	noLeaks(t)
	var sessions atomic.Int32
	srv := engineio.NewServer(&engineio.Options{Handler: engineio.HandlerFuncs{
		OnOpen: func(s *engineio.Socket) { sessions.Add(1) },
		OnMessage: func(s *engineio.Socket, typ ws.MessageType, data []byte) {
			switch {
			case string(data) == "0":
				s.Send(s.Context(), ws.Text, []byte(`0{"sid":"abc"}`))
			case string(data) == `2["break"]`:
				s.Send(s.Context(), ws.Text, []byte(`2["unterminated`))
			}
		},
	}})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())
	for _, tr := range []string{engineio.Polling, engineio.WebSocket} {
		m, err := NewManager(ts.URL, testOptions([]string{tr}))
		if err != nil {
			t.Fatal(err)
		}
		c := record(m.Socket("/", nil))
		ctx := ctxT(t)
		if err := c.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		recv(t, c.connects, "connect")
		before := sessions.Load()
		c.Emit(ctx, "break")
		if reason := recv(t, c.disconnects, "disconnect"); !errors.Is(reason, engineio.ErrParseError) {
			t.Fatalf("%s: disconnect reason %v", tr, reason)
		}
		recv(t, c.connects, "reconnect")
		if sessions.Load() <= before {
			t.Fatalf("%s: no new session", tr)
		}
		m.Close()
	}
}

// A server that never answers CONNECT: Connect gives up with its context,
// and the socket can connect later.
func TestConnectTimeout(t *testing.T) {
	noLeaks(t)
	var answer atomic.Bool
	srv := engineio.NewServer(&engineio.Options{Handler: engineio.HandlerFuncs{
		OnMessage: func(s *engineio.Socket, typ ws.MessageType, data []byte) {
			if string(data) == "0" && answer.Load() {
				s.Send(s.Context(), ws.Text, []byte(`0{"sid":"abc"}`))
			}
		},
	}})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())
	m, err := NewManager(ts.URL, testOptions([]string{engineio.WebSocket}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.Socket("/", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Connect(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect: %v", err)
	}
	if err := s.Emit(context.Background(), "x", 1); err != nil {
		t.Fatalf("Emit while connecting: %v", err) // buffered
	}
	answer.Store(true)
	s.Disconnect()
	if err := s.Connect(ctxT(t)); err != nil {
		t.Fatalf("second Connect: %v", err)
	}
	if s.ID() != "abc" {
		t.Fatalf("id %q", s.ID())
	}
}

// A session lost while the reconnection loop that opened it has not
// returned yet (its goroutine descheduled on a busy machine, here held in
// OnReconnect) starts a reconnection of its own.
func TestReconnectWhileTheLastLoopEnds(t *testing.T) {
	noLeaks(t)
	url := startOurs(t, serverConfig{})
	release := make(chan struct{})
	entered := make(chan struct{}) // closed when the first OnReconnect starts holding
	var held atomic.Bool
	opts := testOptions([]string{engineio.WebSocket})
	opts.OnReconnect = func(int) {
		if held.CompareAndSwap(false, true) {
			close(entered)
			<-release
		}
	}
	m, err := NewManager(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer close(release)
	c := record(m.Socket("/", nil))
	ctx := ctxT(t)
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	recv(t, c.connects, "connect")
	for i := range 2 {
		c.Emit(ctx, "kill-transport")
		recv(t, c.disconnects, "disconnect")
		recv(t, c.connects, "reconnect")
		if i == 0 {
			// The loop calls OnReconnect after open returns, which may be
			// after the namespace's connect reached the socket: wait for
			// it, so that the next loss comes while the loop still runs.
			select {
			case <-entered:
			case <-time.After(10 * time.Second):
				t.Fatal("OnReconnect not called after the first reconnection")
			}
		}
	}
}
