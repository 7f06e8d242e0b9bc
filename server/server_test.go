package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rfc6455/ws"
	xws "golang.org/x/net/websocket"
)

// golang.org/x/net/websocket, an independent implementation, as the client.
func TestAcceptWithXNetClient(t *testing.T) {
	srv, results := newServer(t, &Options{Subprotocols: []string{"chat"}}, false)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	c, err := xws.Dial(url, "chat", srv.URL)
	if err != nil {
		t.Fatalf("x/net/websocket Dial: %v", err)
	}
	defer c.Close()
	if r := receive(t, results); r.err != nil || r.conn.Subprotocol() != "chat" {
		t.Fatalf("Accept: %v, subprotocol %q", r.err, r.conn.Subprotocol())
	}
	for _, msg := range []string{"hello", strings.Repeat("long ", 30000)} {
		if err := xws.Message.Send(c, msg); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := xws.Message.Receive(c, &got); err != nil {
			t.Fatal(err)
		}
		if got != msg {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
		}
	}
	if err := xws.Message.Send(c, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := xws.Message.Receive(c, &got); err != nil || string(got) != "\x00\x01\x02" {
		t.Fatalf("binary echo = %q, %v", got, err)
	}
}

func TestHandlerRunsFunctionAndClosesNormally(t *testing.T) {
	srv := httptest.NewServer(Handler(func(c *ws.Conn) {
		ctx := context.Background()
		_, msg, err := c.ReadMessage(ctx, nil)
		if err != nil {
			return
		}
		c.WriteMessage(ctx, ws.Text, append([]byte("got "), msg...))
		// Returning closes the connection with 1000.
	}))
	defer srv.Close()
	c, _ := dialWS(t, srv)
	if got := roundTrip(t, c, ws.Text, "x"); got != "got x" {
		t.Fatalf("reply = %q", got)
	}
	_, _, err := c.ReadMessage(testContext(t), nil)
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseNormal {
		t.Fatalf("after the handler returned: %v, want close 1000", err)
	}
}

func TestHandlerAnswersPlainRequests(t *testing.T) {
	srv := httptest.NewServer(Handler(func(c *ws.Conn) { t.Error("handler ran for a plain GET") }))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Upgrade") != "websocket" {
		t.Fatalf("plain GET: %s, Upgrade %q", resp.Status, resp.Header.Get("Upgrade"))
	}
}

func TestShutdownClosesEveryConnectionWithGoingAway(t *testing.T) {
	var accepted sync.WaitGroup
	const n = 3
	accepted.Add(n)
	s := &Server{Handle: func(c *ws.Conn, r *http.Request) {
		accepted.Done()
		echo(c)
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	var clients []*ws.Conn
	for range n {
		c, _ := dialWS(t, srv)
		clients = append(clients, c)
	}
	accepted.Wait()
	if s.Len() != n {
		t.Fatalf("Len = %d, want %d", s.Len(), n)
	}
	// The clients read, as a real client would, and so answer the close.
	errs := make(chan error, n)
	for _, c := range clients {
		go func() {
			_, _, err := c.ReadMessage(context.Background(), nil)
			errs <- err
		}()
	}
	if err := s.Shutdown(testContext(t)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range n {
		err := receive(t, errs)
		var ce *ws.CloseError
		if !errors.As(err, &ce) || ce.Code != ws.CloseGoingAway || ce.Reason != "server shutting down" {
			t.Fatalf("client read: %v, want close 1001 \"server shutting down\"", err)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("Len after Shutdown = %d", s.Len())
	}
	addr := srv.Listener.Addr().String()
	_, resp, _ := rawDial(t, addr, nil, []byte(handshakeRequest(addr)))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after Shutdown: %s, want 503", resp.Status)
	}
}

func TestShutdownGivesUpWhenContextEnds(t *testing.T) {
	release := make(chan struct{})
	accepted := make(chan struct{})
	s := &Server{Handle: func(c *ws.Conn, r *http.Request) {
		close(accepted)
		<-release // a handler that ignores its connection
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	defer close(release)
	c, _ := dialWS(t, srv)
	_ = c // the client does not answer the close either: it never reads
	<-accepted
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
}
