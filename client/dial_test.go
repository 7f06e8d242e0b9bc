//go:build !js

package client

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
	"github.com/rfc6455/ws/server"
	xws "golang.org/x/net/websocket"
)

func TestDialEchoOverLoopback(t *testing.T) {
	srv, reqs := echoServer(t, server.Options{}, false)
	c, resp, err := Dial(testContext(t), wsURL(srv, "/ws?room=1"), nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.CloseNow()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %s", resp.Status)
	}
	if r := receive(t, reqs).req; r.URL.RequestURI() != "/ws?room=1" {
		t.Errorf("server saw %q", r.URL.RequestURI())
	}
	for _, m := range []struct {
		typ ws.MessageType
		msg string
	}{{ws.Text, "hello"}, {ws.Binary, "\x00\xff"}, {ws.Text, strings.Repeat("ü", 50000)}} {
		if got := roundTrip(t, c, m.typ, m.msg); got != m.msg {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(m.msg), len(got))
		}
	}
	// Ping needs a reader for its pong.
	done := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage(context.Background(), nil)
		done <- err
	}()
	if err := c.Ping(testContext(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := c.Close(ws.CloseNormal, "bye"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var ce *ws.CloseError
	if err := receive(t, done); !errors.As(err, &ce) || ce.Code != ws.CloseNormal {
		t.Fatalf("reader ended with %v", err)
	}
}

func TestDialOverTLS(t *testing.T) {
	srv, reqs := echoServer(t, server.Options{}, true)
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig
	url := "wss" + strings.TrimPrefix(srv.URL, "https") + "/secure"
	c, _, err := Dial(testContext(t), url, &Options{TLSConfig: cfg})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.CloseNow()
	if r := receive(t, reqs).req; r.TLS == nil {
		t.Fatal("server saw no TLS")
	}
	if got := roundTrip(t, c, ws.Text, "secret"); got != "secret" {
		t.Fatalf("echo = %q", got)
	}
	// Without the test CA the certificate is refused.
	if _, _, err := Dial(testContext(t), url, nil); err == nil || !strings.Contains(err.Error(), "TLS handshake") {
		t.Fatalf("Dial with an unknown certificate: %v", err)
	}
}

func TestDialSendsHeadersSubprotocolsAndHost(t *testing.T) {
	srv, reqs := echoServer(t, server.Options{Subprotocols: []string{"v2", "v1"}}, false)
	var dials atomic.Int32
	opts := &Options{
		Header: http.Header{
			"Authorization": {"Bearer t0ken"},
			"Cookie":        {"session=abc"},
			"Origin":        {"http://chat.example"},
		},
		Subprotocols: []string{"v1", "v2"},
		Host:         "chat.example",
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	c, resp, err := Dial(testContext(t), wsURL(srv, "/"), opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.CloseNow()
	s := receive(t, reqs)
	for name, want := range map[string]string{"Authorization": "Bearer t0ken", "Cookie": "session=abc"} {
		if got := s.req.Header.Get(name); got != want {
			t.Errorf("server saw %s = %q, want %q", name, got, want)
		}
	}
	if s.req.Host != "chat.example" {
		t.Errorf("server saw Host %q", s.req.Host)
	}
	if c.Subprotocol() != "v2" || s.subprotocol != "v2" || resp.Header.Get("Sec-WebSocket-Protocol") != "v2" {
		t.Errorf("subprotocol: client %q, server %q", c.Subprotocol(), s.subprotocol)
	}
	if dials.Load() != 1 {
		t.Errorf("custom dialer called %d times", dials.Load())
	}
}

func TestDialURLCredentialsBecomeBasicAuth(t *testing.T) {
	srv, reqs := echoServer(t, server.Options{}, false)
	url := strings.Replace(wsURL(srv, "/"), "ws://", "ws://alice:s3cret@", 1)
	c, _, err := Dial(testContext(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	u, p, ok := receive(t, reqs).req.BasicAuth()
	if !ok || u != "alice" || p != "s3cret" {
		t.Fatalf("server saw basic auth %q %q %v", u, p, ok)
	}
}

func TestDialWithXNetServer(t *testing.T) {
	srv := httptest.NewServer(xws.Handler(func(c *xws.Conn) {
		for {
			var msg string
			if err := xws.Message.Receive(c, &msg); err != nil {
				return
			}
			if err := xws.Message.Send(c, msg); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c, _, err := Dial(testContext(t), wsURL(srv, "/"), &Options{Header: http.Header{"Origin": {srv.URL}}})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.CloseNow()
	for _, msg := range []string{"hello", strings.Repeat("x", 70000)} {
		if got := roundTrip(t, c, ws.Text, msg); got != msg {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
		}
	}
	if err := c.Close(ws.CloseNormal, ""); err != nil && !errors.Is(err, ws.ErrCloseTimeout) {
		t.Fatalf("Close: %v", err)
	}
}

func TestDialRefusedReturnsStatusAndBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no websockets for you: "+strings.Repeat("x", 2*MaxErrorBodySize), http.StatusForbidden)
	}))
	defer srv.Close()
	c, resp, err := Dial(testContext(t), wsURL(srv, "/"), nil)
	if c != nil {
		t.Fatal("got a connection")
	}
	var he *HandshakeError
	if !errors.As(err, &he) || he.StatusCode != 403 || !errors.Is(err, handshake.ErrStatus) {
		t.Fatalf("Dial error = %v, want a HandshakeError with 403", err)
	}
	if resp == nil || resp != he.Response {
		t.Fatalf("response %v not returned", resp)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || !strings.HasPrefix(string(body), "no websockets for you") || len(body) != MaxErrorBodySize {
		t.Fatalf("body: %d bytes %.30q, %v; want %d bytes", len(body), body, err, MaxErrorBodySize)
	}
}

// rawServer answers each connection with fn after reading the request.
func rawServer(t *testing.T, fn func(nc net.Conn, r *http.Request)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				r, err := http.ReadRequest(bufio.NewReader(nc))
				if err != nil {
					return
				}
				fn(nc, r)
			}()
		}
	}()
	return "ws://" + ln.Addr().String() + "/"
}

func TestDialChecksTheResponse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(r *http.Request) string
		want   error
	}{
		{"wrong accept", func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
		}, handshake.ErrAccept},
		{"no upgrade", func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + handshake.AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		}, handshake.ErrResponseUpgrade},
		{"subprotocol not offered", func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Accept: " + handshake.AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		}, handshake.ErrSubprotocol},
		{"extension not offered", func(r *http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Accept: " + handshake.AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		}, handshake.ErrExtension},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := rawServer(t, func(nc net.Conn, r *http.Request) { io.WriteString(nc, tc.answer(r)) })
			_, resp, err := Dial(testContext(t), url, nil)
			var he *HandshakeError
			if !errors.As(err, &he) || !errors.Is(err, tc.want) || resp == nil || he.StatusCode != 101 {
				t.Fatalf("Dial error = %v, want a HandshakeError wrapping %v", err, tc.want)
			}
		})
	}
}

// A server's first frame may arrive in the same packet as its 101: it must
// reach the Conn.
func TestDialKeepsFramesSentWithTheResponse(t *testing.T) {
	url := rawServer(t, func(nc net.Conn, r *http.Request) {
		io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
			handshake.AcceptKey(r.Header.Get("Sec-WebSocket-Key"))+"\r\n\r\n\x81\x05hello\x82\x02\x01\x02")
		io.Copy(io.Discard, nc)
	})
	c, _, err := Dial(testContext(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, want := range []string{"hello", "\x01\x02"} {
		_, got, err := c.ReadMessage(testContext(t), nil)
		if err != nil || string(got) != want {
			t.Fatalf("ReadMessage = %q, %v; want %q", got, err, want)
		}
	}
}

func TestDialExtensionHook(t *testing.T) {
	var offered string
	opts := server.Options{NegotiateExtensions: func(r *http.Request, offers []handshake.Extension, conn *ws.Options) ([]handshake.Extension, error) {
		offered = r.Header.Get("Sec-WebSocket-Extensions")
		return []handshake.Extension{{Name: "x-test", Params: []handshake.Param{{Name: "level", Value: "3"}}}}, nil
	}}
	srv, _ := echoServer(t, opts, false)
	var got []handshake.Extension
	c, _, err := Dial(testContext(t), wsURL(srv, "/"), &Options{
		Extensions: []handshake.Extension{{Name: "x-test", Params: []handshake.Param{{Name: "max"}}}},
		AcceptExtensions: func(accepted []handshake.Extension, conn *ws.Options) error {
			got = accepted
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
	if offered != "x-test; max" || len(got) != 1 || got[0].String() != "x-test; level=3" {
		t.Fatalf("offered %q, accepted %+v", offered, got)
	}
	_, _, err = Dial(testContext(t), wsURL(srv, "/"), &Options{
		Extensions:       []handshake.Extension{{Name: "x-test"}},
		AcceptExtensions: func([]handshake.Extension, *ws.Options) error { return errors.New("level 3 is too high") },
	})
	if !errors.Is(err, handshake.ErrExtension) || !strings.Contains(err.Error(), "too high") {
		t.Fatalf("Dial with a refusing hook: %v", err)
	}
}

func TestDialRejectsBadInputBeforeDialing(t *testing.T) {
	noDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		t.Errorf("dialed %s", addr)
		return nil, errors.New("should not dial")
	}
	for _, tc := range []struct {
		name string
		url  string
		opts Options
	}{
		{"http scheme is fine but ftp is not", "ftp://example.com/", Options{}},
		{"no scheme", "example.com/ws", Options{}},
		{"no host", "ws:///path", Options{}},
		{"port only", "ws://:8080/", Options{}},
		{"fragment", "ws://example.com/ws#frag", Options{}},
		{"empty fragment", "ws://example.com/ws#", Options{}},
		{"unparsable", "ws://exa mple.com/\x7f", Options{}},
		{"bad subprotocol", "ws://example.com/", Options{Subprotocols: []string{"a b"}}},
		{"repeated subprotocol", "ws://example.com/", Options{Subprotocols: []string{"a", "a"}}},
		{"reserved header", "ws://example.com/", Options{Header: http.Header{"Sec-WebSocket-Key": {"x"}}}},
		{"reserved Host header", "ws://example.com/", Options{Header: http.Header{"Host": {"x"}}}},
		{"bad header name", "ws://example.com/", Options{Header: http.Header{"Bad Name": {"x"}}}},
		{"extensions without hook", "ws://example.com/", Options{Extensions: []handshake.Extension{{Name: "x"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.DialContext = noDial
			opts.Proxy = NoProxy
			_, _, err := Dial(context.Background(), tc.url, &opts)
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("Dial(%q) = %v, want ErrInvalidOptions", tc.url, err)
			}
		})
	}
}

// A server that accepts the TCP connection and never answers: the
// handshake ends with the timeout, or with the context.
func TestDialHandshakeBoundedByTimeoutAndContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, nc); nc.Close() }()
		}
	}()
	url := "ws://" + ln.Addr().String() + "/"
	_, _, err = Dial(context.Background(), url, &Options{HandshakeTimeout: 50 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial with a handshake timeout = %v, want DeadlineExceeded", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	_, _, err = Dial(ctx, url, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial with a cancelled context = %v, want Canceled", err)
	}
}
