package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
)

func TestAcceptEchoOverLoopback(t *testing.T) {
	srv, results := newServer(t, nil, false)
	c, resp := dialWS(t, srv)
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("Sec-WebSocket-Accept = %q", got)
	}
	if r := receive(t, results); r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	if got := roundTrip(t, c, ws.Text, "hello"); got != "hello" {
		t.Fatalf("echo = %q", got)
	}
	if got := roundTrip(t, c, ws.Binary, "\x00\x01\xff"); got != "\x00\x01\xff" {
		t.Fatalf("echo = %q", got)
	}
}

func TestAcceptEchoOverTLS(t *testing.T) {
	srv, results := newServer(t, nil, true)
	c, _ := dialWS(t, srv)
	if r := receive(t, results); r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	if got := roundTrip(t, c, ws.Text, "over TLS"); got != "over TLS" {
		t.Fatalf("echo = %q", got)
	}
}

// The client may send frames in the same packet as its request; they end
// up in net/http's read buffer and must reach the Conn.
func TestAcceptKeepsFramesSentWithTheRequest(t *testing.T) {
	srv, results := newServer(t, nil, false)
	addr := srv.Listener.Addr().String()
	raw := []byte(handshakeRequest(addr))
	raw = append(raw, maskedFrame(0x1, "first")...)
	raw = append(raw, maskedFrame(0x2, "second")...)
	nc, resp, rest := rawDial(t, addr, nil, raw)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %s", resp.Status)
	}
	if r := receive(t, results); r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	c := ws.NewConn(nc, rest, ws.RoleClient, nil)
	defer c.CloseNow()
	ctx := testContext(t)
	for _, want := range []string{"first", "second"} {
		_, got, err := c.ReadMessage(ctx, nil)
		if err != nil || string(got) != want {
			t.Fatalf("ReadMessage = %q, %v; want %q", got, err, want)
		}
	}
}

func TestAcceptRejectsMalformedHandshakes(t *testing.T) {
	srv, results := newServer(t, nil, false)
	addr := srv.Listener.Addr().String()
	valid := handshakeRequest(addr)
	replace := func(old, new string) string {
		if !strings.Contains(valid, old) {
			panic(old)
		}
		return strings.Replace(valid, old, new, 1)
	}
	for _, tc := range []struct {
		name   string
		raw    string
		want   error
		status int
		header string // a header the answer must carry, "Name: value"
	}{
		{"POST", replace("GET", "POST"), handshake.ErrMethod, 405, "Allow: GET"},
		{"HTTP/1.0", replace("HTTP/1.1", "HTTP/1.0"), handshake.ErrHTTPVersion, 400, ""},
		{"no Upgrade", replace("Upgrade: websocket\r\n", ""), handshake.ErrUpgrade, 426, "Upgrade: websocket"},
		{"Upgrade h2c", replace("Upgrade: websocket", "Upgrade: h2c"), handshake.ErrUpgrade, 426, "Upgrade: websocket"},
		{"no Connection upgrade", replace("Connection: Upgrade", "Connection: keep-alive"), handshake.ErrConnection, 426, ""},
		{"version 8", replace("Version: 13", "Version: 8"), handshake.ErrVersion, 426, "Sec-WebSocket-Version: 13"},
		{"no version", replace("Sec-WebSocket-Version: 13\r\n", ""), handshake.ErrVersion, 426, "Sec-WebSocket-Version: 13"},
		{"no key", replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""), handshake.ErrKey, 400, ""},
		{"short key", replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ=="), handshake.ErrKey, 400, ""},
		{"bad subprotocol list", replace("Version: 13\r\n", "Version: 13\r\nSec-WebSocket-Protocol: a b\r\n"), handshake.ErrProtocolHeader, 400, ""},
		{"bad extensions", replace("Version: 13\r\n", "Version: 13\r\nSec-WebSocket-Extensions: x; y=\"\"\r\n"), handshake.ErrExtensionsHeader, 400, ""},
		{"cross origin", replace("Version: 13\r\n", "Version: 13\r\nOrigin: https://evil.example\r\n"), handshake.ErrOrigin, 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, _ := rawDial(t, addr, nil, []byte(tc.raw))
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %s, want %d (%s)", resp.Status, tc.status, body)
			}
			if tc.header != "" {
				name, value, _ := strings.Cut(tc.header, ": ")
				if got := resp.Header.Get(name); got != value {
					t.Errorf("%s = %q, want %q", name, got, value)
				}
			}
			r := receive(t, results)
			if !errors.Is(r.err, tc.want) {
				t.Fatalf("Accept error = %v, want %v", r.err, tc.want)
			}
			if !strings.Contains(string(body), tc.want.(*handshake.Error).Reason) {
				t.Errorf("body %q does not explain %q", body, tc.want)
			}
		})
	}
}

func TestAcceptOriginPolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   *Options
		origin string
		ok     bool
	}{
		{"no Origin", nil, "", true},
		{"cross origin", nil, "https://evil.example", false},
		{"allowed by pattern", &Options{OriginPatterns: []string{"*.example.com"}}, "https://app.example.com", true},
		{"not matching pattern", &Options{OriginPatterns: []string{"*.example.com"}}, "https://example.org", false},
		{"custom function admits", &Options{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "null" }}, "null", true},
		{"custom function refuses same origin", &Options{CheckOrigin: func(r *http.Request) bool { return false }}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, results := newServer(t, tc.opts, false)
			addr := srv.Listener.Addr().String()
			var extra []string
			if tc.origin != "" {
				extra = append(extra, "Origin: "+tc.origin)
			}
			_, resp, _ := rawDial(t, addr, nil, []byte(handshakeRequest(addr, extra...)))
			r := receive(t, results)
			if tc.ok {
				if resp.StatusCode != 101 || r.err != nil {
					t.Fatalf("status %s, Accept error %v; want 101", resp.Status, r.err)
				}
				return
			}
			if resp.StatusCode != http.StatusForbidden || !errors.Is(r.err, handshake.ErrOrigin) {
				t.Fatalf("status %s, Accept error %v; want 403 and ErrOrigin", resp.Status, r.err)
			}
		})
	}
}

func TestAcceptSameOriginBrowser(t *testing.T) {
	srv, results := newServer(t, nil, false)
	c, _ := dialWS(t, srv, "Origin: "+srv.URL)
	if r := receive(t, results); r.err != nil {
		t.Fatal(r.err)
	}
	if got := roundTrip(t, c, ws.Text, "same origin"); got != "same origin" {
		t.Fatalf("echo = %q", got)
	}
}

func TestAcceptNegotiatesSubprotocolAndHeaders(t *testing.T) {
	opts := &Options{
		Subprotocols: []string{"superchat", "chat"},
		ResponseHeader: func(r *http.Request, h http.Header) {
			h.Add("Set-Cookie", "session=abc")
			h.Set("Sec-WebSocket-Accept", "forged") // ignored: belongs to the handshake
			h.Set("X-Evil", "a\r\nInjected: yes")   // newlines neutralised
		},
	}
	var got *ws.Conn
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Middleware", "kept")
		c, err := Accept(w, r, opts)
		if err != nil {
			t.Error(err)
			return
		}
		got = c
		echo(c)
	}))
	defer srv.Close()
	c, resp := dialWS(t, srv, "Sec-WebSocket-Protocol: chat, superchat")
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "superchat" {
		t.Errorf("Sec-WebSocket-Protocol = %q, want the server's preference superchat", p)
	}
	for name, want := range map[string]string{"Set-Cookie": "session=abc", "X-Middleware": "kept", "Injected": ""} {
		if v := resp.Header.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	roundTrip(t, c, ws.Text, "x")
	if got.Subprotocol() != "superchat" {
		t.Errorf("server Conn.Subprotocol() = %q", got.Subprotocol())
	}
}

func TestAcceptWithoutCommonSubprotocol(t *testing.T) {
	srv, results := newServer(t, &Options{Subprotocols: []string{"mqtt"}}, false)
	_, resp := dialWS(t, srv, "Sec-WebSocket-Protocol: chat")
	if _, ok := resp.Header["Sec-Websocket-Protocol"]; ok {
		t.Errorf("answered with a subprotocol although none is shared")
	}
	r := receive(t, results)
	if r.err != nil || r.conn.Subprotocol() != "" {
		t.Fatalf("Accept = %v, subprotocol %q", r.err, r.conn.Subprotocol())
	}
}

func TestAcceptExtensionHook(t *testing.T) {
	var offers []handshake.Extension
	opts := &Options{
		NegotiateExtensions: func(r *http.Request, o []handshake.Extension, conn *ws.Options) ([]handshake.Extension, error) {
			offers = o
			conn.ReadLimit = 4 // proves the hook configures this connection
			return []handshake.Extension{{Name: "x-test", Params: []handshake.Param{{Name: "level", Value: "2"}}}}, nil
		},
	}
	srv, results := newServer(t, opts, false)
	c, resp := dialWS(t, srv, "Sec-WebSocket-Extensions: x-test; a=1, x-test")
	if got, want := resp.Header.Get("Sec-WebSocket-Extensions"), "x-test; level=2"; got != want {
		t.Errorf("Sec-WebSocket-Extensions = %q, want %q", got, want)
	}
	if len(offers) != 2 || offers[0].String() != "x-test; a=1" {
		t.Errorf("hook saw offers %+v", offers)
	}
	if r := receive(t, results); r.err != nil {
		t.Fatal(r.err)
	}
	if got := roundTrip(t, c, ws.Text, "1234"); got != "1234" {
		t.Fatalf("echo = %q", got)
	}
	// Five bytes exceed the ReadLimit the hook set: the server fails the
	// connection with 1009.
	ctx := testContext(t)
	c.WriteMessage(ctx, ws.Text, []byte("12345"))
	_, _, err := c.ReadMessage(ctx, nil)
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseMessageTooBig {
		t.Fatalf("read after an oversized message: %v, want close 1009", err)
	}
}

func TestAcceptExtensionHookErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hook   func(*http.Request, []handshake.Extension, *ws.Options) ([]handshake.Extension, error)
		status int
	}{
		{"hook refuses", func(*http.Request, []handshake.Extension, *ws.Options) ([]handshake.Extension, error) {
			return nil, errors.New("bad window bits")
		}, 400},
		{"hook accepts what was not offered", func(*http.Request, []handshake.Extension, *ws.Options) ([]handshake.Extension, error) {
			return []handshake.Extension{{Name: "x-other"}}, nil
		}, 500},
		{"hook returns a malformed parameter", func(*http.Request, []handshake.Extension, *ws.Options) ([]handshake.Extension, error) {
			return []handshake.Extension{{Name: "x-test", Params: []handshake.Param{{Name: "a b"}}}}, nil
		}, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, results := newServer(t, &Options{NegotiateExtensions: tc.hook}, false)
			addr := srv.Listener.Addr().String()
			_, resp, _ := rawDial(t, addr, nil, []byte(handshakeRequest(addr, "Sec-WebSocket-Extensions: x-test")))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %s, want %d", resp.Status, tc.status)
			}
			if r := receive(t, results); r.err == nil {
				t.Fatal("Accept succeeded")
			}
		})
	}
}

// wrappedWriter is middleware's ResponseWriter that hides Hijacker but
// offers Unwrap, which http.ResponseController follows.
type wrappedWriter struct {
	http.ResponseWriter
	status int
}

func (w *wrappedWriter) WriteHeader(code int)        { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *wrappedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestAcceptThroughMiddleware(t *testing.T) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Hijacker); ok {
			t.Error("the middleware should hide Hijacker for this test")
		}
		c, err := Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		echo(c)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(&wrappedWriter{ResponseWriter: w}, r)
	}))
	defer srv.Close()
	c, _ := dialWS(t, srv)
	if got := roundTrip(t, c, ws.Text, "through middleware"); got != "through middleware" {
		t.Fatalf("echo = %q", got)
	}
}

// A server with ReadTimeout and WriteTimeout sets deadlines on the
// connection; Accept must clear them, or the WebSocket would die with them.
func TestAcceptClearsHTTPServerDeadlines(t *testing.T) {
	entered := make(chan *ws.Conn, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		entered <- c
		echo(c)
	}))
	// Headers are read under ReadHeaderTimeout; then net/http moves the
	// read deadline to start+ReadTimeout and the write deadline to
	// now+WriteTimeout, both already past when the handler runs.
	srv.Config.ReadHeaderTimeout = testTimeout
	srv.Config.ReadTimeout = 1
	srv.Config.WriteTimeout = 1
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	nc, resp, rest := rawDial(t, addr, nil, []byte(handshakeRequest(addr)))
	if resp.StatusCode != 101 {
		t.Fatalf("status %s", resp.Status)
	}
	receive(t, entered)
	c := ws.NewConn(nc, rest, ws.RoleClient, nil)
	defer c.CloseNow()
	if got := roundTrip(t, c, ws.Text, "still alive"); got != "still alive" {
		t.Fatalf("echo = %q", got)
	}
}

func TestAcceptDoesNotHijackHTTPRecorder(t *testing.T) {
	// httptest.ResponseRecorder cannot be hijacked: Accept must answer 500
	// and say why, not panic.
	r := httptest.NewRequest("GET", "http://example.com/ws", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	r.Header.Set("Sec-WebSocket-Version", "13")
	rec := httptest.NewRecorder()
	_, err := Accept(rec, r, nil)
	if err == nil || rec.Code != 500 || !bytes.Contains(rec.Body.Bytes(), []byte("take over")) {
		t.Fatalf("Accept = %v, status %d, body %q", err, rec.Code, rec.Body)
	}
}
