package engineio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rfc6455/ws"
)

// echoServer is an Engine.IO server that echoes every message, and closes
// the session when it receives the text "close me".
func echoServer(t *testing.T, opts *Options) *httptest.Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	opts.Handler = HandlerFuncs{
		OnMessage: func(s *Socket, typ ws.MessageType, data []byte) {
			if typ == ws.Text && string(data) == "close me" {
				s.Close()
				return
			}
			s.Send(s.Context(), typ, data)
		},
	}
	srv := NewServer(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		ts.Close()
	})
	return ts
}

type received struct {
	typ  ws.MessageType
	data string
}

// dialRecorder dials with handlers that record messages and the close.
func dialRecorder(t *testing.T, url string, opts *ClientOptions) (*Client, chan received, chan error) {
	t.Helper()
	msgs := make(chan received, 100)
	closed := make(chan error, 1)
	if opts == nil {
		opts = &ClientOptions{}
	}
	opts.OnMessage = func(typ ws.MessageType, data []byte) { msgs <- received{typ, string(data)} }
	opts.OnClose = func(reason error) { closed <- reason }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return c, msgs, closed
}

func expect(t *testing.T, msgs chan received, want received) {
	t.Helper()
	select {
	case got := <-msgs:
		if got != want {
			t.Fatalf("received %v %q, want %v %q", got.typ, got.data, want.typ, want.data)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no message, want %q", want.data)
	}
}

func expectClose(t *testing.T, closed chan error, want error) {
	t.Helper()
	select {
	case reason := <-closed:
		if !errors.Is(reason, want) {
			t.Fatalf("closed with %v, want %v", reason, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("not closed, want %v", want)
	}
}

func TestClientTransports(t *testing.T) {
	for _, tc := range []struct {
		name       string
		transports []string
		upgrade    bool
		final      string
	}{
		{"polling", []string{Polling}, false, Polling},
		{"websocket", []string{WebSocket}, false, WebSocket},
		{"upgrade", nil, true, WebSocket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := echoServer(t, nil)
			upgraded := make(chan struct{})
			opts := &ClientOptions{Transports: tc.transports, OnUpgrade: func() { close(upgraded) }}
			c, msgs, closed := dialRecorder(t, ts.URL+"/engine.io/", opts)
			if c.ID() == "" || c.Handshake().PingInterval != DefaultPingInterval {
				t.Fatalf("handshake %+v", c.Handshake())
			}
			ctx := context.Background()
			// Messages sent before, during and after the upgrade come
			// back in order.
			for i := range 20 {
				if err := c.Send(ctx, ws.Text, fmt.Appendf(nil, "héllo %d", i)); err != nil {
					t.Fatal(err)
				}
				if err := c.Send(ctx, ws.Binary, []byte{byte(i), 0, 0xff}); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 20 {
				expect(t, msgs, received{ws.Text, fmt.Sprintf("héllo %d", i)})
				expect(t, msgs, received{ws.Binary, string([]byte{byte(i), 0, 0xff})})
			}
			if tc.upgrade {
				select {
				case <-upgraded:
				case <-time.After(10 * time.Second):
					t.Fatal("no upgrade")
				}
			}
			if got := c.Transport(); got != tc.final {
				t.Fatalf("transport %s, want %s", got, tc.final)
			}
			big := bytes.Repeat([]byte("x"), 200_000)
			if err := c.Send(ctx, ws.Text, big); err != nil {
				t.Fatal(err)
			}
			expect(t, msgs, received{ws.Text, string(big)})
			c.Close()
			expectClose(t, closed, ErrClientClose)
			if err := c.Send(ctx, ws.Text, []byte("late")); !errors.Is(err, ErrClosed) {
				t.Fatalf("Send after Close: %v", err)
			}
		})
	}
}

func TestClientServerCloses(t *testing.T) {
	for _, tr := range []string{Polling, WebSocket} {
		t.Run(tr, func(t *testing.T) {
			ts := echoServer(t, nil)
			c, _, closed := dialRecorder(t, ts.URL+"/engine.io/", &ClientOptions{Transports: []string{tr}})
			c.Send(context.Background(), ws.Text, []byte("close me"))
			expectClose(t, closed, ErrTransportClose)
			<-c.Done()
		})
	}
}

func TestClientHeartbeat(t *testing.T) {
	// The server pings every 20 ms and schedules each ping only after the
	// pong of the one before, so that a session which sees many pings has
	// answered them. The ping timeout is long: a busy machine must not
	// make a late pong fatal.
	ts := echoServer(t, &Options{PingInterval: 20 * time.Millisecond, PingTimeout: 10 * time.Second})
	for _, tr := range []string{Polling, WebSocket} {
		c, msgs, closed := dialRecorder(t, ts.URL+"/engine.io/", &ClientOptions{Transports: []string{tr}})
		c.Send(context.Background(), ws.Text, []byte("alive"))
		expect(t, msgs, received{ws.Text, "alive"})
		select {
		case err := <-closed:
			t.Fatalf("%s: closed: %v", tr, err)
		default:
		}
		c.Close()
	}
}

func TestClientAnswersEveryPing(t *testing.T) {
	// A polling server of its own that sends a ping in answer to each
	// GET and counts the pongs POSTed: the client answers each ping.
	pongs := make(chan struct{}, 100)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("sid") == "":
			w.Write([]byte(`0{"sid":"abc","upgrades":[],"pingInterval":10000,"pingTimeout":10000,"maxPayload":1000000}`))
		case r.Method == http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			for _, p := range bytes.Split(body, []byte{0x1e}) {
				if string(p) == "3" {
					// The client goes on polling (and ponging) until it
					// is closed: a full channel must not block the
					// handler, or ts.Close would wait for it forever.
					select {
					case pongs <- struct{}{}:
					default:
					}
				}
			}
			w.Write([]byte("ok"))
		default:
			w.Write([]byte("2"))
		}
	}))
	defer ts.Close()
	c, _, _ := dialRecorder(t, ts.URL, nil)
	defer c.Close()
	for i := range 5 {
		select {
		case <-pongs:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d pongs, want 5", i)
		}
	}
}

func TestClientPingTimeout(t *testing.T) {
	// A server that answers the handshake and then goes silent: the
	// client gives up after pingInterval + pingTimeout.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sid") == "" {
			w.Write([]byte(`0{"sid":"abc","upgrades":[],"pingInterval":50,"pingTimeout":50,"maxPayload":1000000}`))
			return
		}
		if r.Method == http.MethodPost {
			w.Write([]byte("ok"))
			return
		}
		<-r.Context().Done()
	}))
	defer ts.Close()
	_, _, closed := dialRecorder(t, ts.URL, nil)
	expectClose(t, closed, ErrPingTimeout)
}

func TestClientRefused(t *testing.T) {
	ts := echoServer(t, &Options{AllowRequest: func(*http.Request) error { return errors.New("Forbidden") }})
	for _, tr := range []string{Polling} {
		_, err := Dial(context.Background(), ts.URL+"/engine.io/", &ClientOptions{Transports: []string{tr}})
		var re *RequestError
		if !errors.As(err, &re) || re.Code != CodeForbidden {
			t.Fatalf("%s: Dial: %v, want a RequestError with code %d", tr, err, CodeForbidden)
		}
	}
}

func TestClientSplitsPostsAtMaxPayload(t *testing.T) {
	// The server takes at most 1,000 bytes per POST: 50 queued messages of
	// 100 bytes must go in several, none refused.
	ts := echoServer(t, &Options{MaxPayload: 1000})
	c, msgs, closed := dialRecorder(t, ts.URL+"/engine.io/", &ClientOptions{Transports: []string{Polling}})
	if c.Handshake().MaxPayload != 1000 {
		t.Fatalf("maxPayload %d", c.Handshake().MaxPayload)
	}
	ctx := context.Background()
	for i := range 50 {
		c.Send(ctx, ws.Text, fmt.Appendf(nil, "%03d%s", i, bytes.Repeat([]byte("y"), 97)))
	}
	for i := range 50 {
		expect(t, msgs, received{ws.Text, fmt.Sprintf("%03d%s", i, bytes.Repeat([]byte("y"), 97))})
	}
	if err := c.Send(ctx, ws.Text, []byte{0xff}); !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("Send of invalid UTF-8: %v", err)
	}
	c.Close()
	expectClose(t, closed, ErrClientClose)
}
