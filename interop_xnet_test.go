//go:build !js

package ws_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/websocket"

	"github.com/rfc6455/ws"
)

// End-to-end tests against golang.org/x/net/websocket, an independent
// implementation of the wire protocol with its own handshake, framing and
// masking. The opening handshake on our side is written out here by hand
// (RFC 6455 §4.1, §4.2.2), so that these tests depend on nothing of ours
// but the Conn.

// xnetGUID is the GUID of RFC 6455 §1.3 that Sec-WebSocket-Accept hashes.
const xnetGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// xnetOrigin is the Origin our client sends; x/net's Handler refuses a
// handshake without one.
const xnetOrigin = "http://127.0.0.1/"

// xnetBound bounds every test's I/O so that a broken peer fails the test
// instead of hanging it. It is a safety net, not a timing assertion.
const xnetBound = 30 * time.Second

// xnetSizes are the message sizes exchanged: the edges of the 7-bit, 16-bit
// and 64-bit length encodings (RFC 6455 §5.2), and a large message.
var xnetSizes = []int{0, 1, 125, 126, 65535, 65536, 1 << 20}

// xnetMaxPayload is x/net's receive limit in these tests, above the largest
// size exchanged.
const xnetMaxPayload = 2 << 20

func xnetAccept(key string) string {
	sum := sha1.Sum([]byte(key + xnetGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// xnetHasToken reports whether the comma-separated header has token, in any
// case (RFC 7230 §6.1, §6.7).
func xnetHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// xnetPayload returns n bytes for a message: valid UTF-8 text mixing 1- to
// 4-byte characters, or binary covering every byte value.
func xnetPayload(n int, text bool) []byte {
	p := make([]byte, 0, n)
	if !text {
		for i := range n {
			p = append(p, byte(i*7+3))
		}
		return p
	}
	chars := []string{"a", "é", "€", "𝄞", " ", "z"}
	for i := 0; len(p) < n; i++ {
		c := chars[i%len(chars)]
		if len(p)+len(c) > n {
			c = "x"
		}
		p = append(p, c...)
	}
	return p
}

// xnetFrame is a received frame with its type, for the typed codec.
type xnetFrame struct {
	typ  byte
	data []byte
}

// xnetTyped is an x/net codec that keeps the frame type, so that an echo
// preserves it and a test can check it. Send takes an xnetFrame.
var xnetTyped = websocket.Codec{
	Marshal: func(v any) ([]byte, byte, error) {
		f := v.(xnetFrame)
		return f.data, f.typ, nil
	},
	Unmarshal: func(data []byte, typ byte, v any) error {
		*v.(*xnetFrame) = xnetFrame{typ: typ, data: data}
		return nil
	},
}

func xnetType(typ ws.MessageType) byte {
	if typ == ws.Text {
		return websocket.TextFrame
	}
	return websocket.BinaryFrame
}

// xnetOurServer serves WebSocket connections with our Conn behind a
// hand-written server handshake, running handle for each on the handler's
// goroutine. Close waits for every handle to return.
type xnetOurServer struct {
	*httptest.Server
	wg sync.WaitGroup
}

func xnetServeOurs(t *testing.T, handle func(c *ws.Conn)) *xnetOurServer {
	t.Helper()
	s := &xnetOurServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Sec-WebSocket-Key")
		// RFC 6455 §4.2.1: a GET with Upgrade: websocket, Connection:
		// Upgrade, a key and version 13.
		if r.Method != http.MethodGet || !xnetHasToken(r.Header, "Upgrade", "websocket") ||
			!xnetHasToken(r.Header, "Connection", "upgrade") || key == "" ||
			r.Header.Get("Sec-WebSocket-Version") != "13" {
			http.Error(w, "not a WebSocket handshake", http.StatusBadRequest)
			return
		}
		s.wg.Add(1)
		defer s.wg.Done()
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		// RFC 6455 §4.2.2: the 101 response with the accept key.
		resp := "HTTP/1.1 101 Switching Protocols\r\n" +
			"Upgrade: websocket\r\n" +
			"Connection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + xnetAccept(key) + "\r\n\r\n"
		if _, err := io.WriteString(nc, resp); err != nil {
			t.Errorf("write handshake response: %v", err)
			nc.Close()
			return
		}
		// Frames the client sent right behind its request may already
		// sit in the server's read buffer.
		var leftover []byte
		if n := brw.Reader.Buffered(); n > 0 {
			b, _ := brw.Reader.Peek(n)
			leftover = bytes.Clone(b)
		}
		nc.SetDeadline(time.Now().Add(xnetBound))
		c := ws.NewConn(nc, leftover, ws.RoleServer, &ws.Options{CloseTimeout: xnetBound})
		handle(c)
		c.CloseNow()
	}))
	return s
}

// Close stops the server and waits for the connections' handlers.
func (s *xnetOurServer) Close() {
	s.Server.Close()
	s.wg.Wait()
}

// xnetDialXnet dials url with x/net's client.
func xnetDialXnet(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	cfg, err := websocket.NewConfig(strings.Replace(url, "http://", "ws://", 1), xnetOrigin)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), xnetBound)
	defer cancel()
	xc, err := cfg.DialContext(ctx)
	if err != nil {
		t.Fatalf("x/net dial: %v", err)
	}
	xc.MaxPayloadBytes = xnetMaxPayload
	xc.SetDeadline(time.Now().Add(xnetBound))
	return xc
}

// TestXnetClientOurServerEcho: x/net's client sends text and binary messages
// of every size to our server, which echoes them; then x/net closes, and our
// server sees its close frame.
func TestXnetClientOurServerEcho(t *testing.T) {
	serverErr := make(chan error, 1)
	srv := xnetServeOurs(t, func(c *ws.Conn) {
		ctx := context.Background()
		var buf []byte
		for {
			typ, msg, err := c.ReadMessage(ctx, buf)
			if err != nil {
				serverErr <- err
				return
			}
			if err := c.WriteMessage(ctx, typ, msg); err != nil {
				serverErr <- fmt.Errorf("server write: %w", err)
				return
			}
			buf = msg
		}
	})
	defer srv.Close()

	xc := xnetDialXnet(t, srv.URL)
	defer xc.Close()
	for _, text := range []bool{true, false} {
		for _, n := range xnetSizes {
			p := xnetPayload(n, text)
			var err error
			if text {
				err = websocket.Message.Send(xc, string(p))
			} else {
				err = websocket.Message.Send(xc, p)
			}
			if err != nil {
				t.Fatalf("x/net send text=%v n=%d: %v", text, n, err)
			}
			var got xnetFrame
			if err := xnetTyped.Receive(xc, &got); err != nil {
				t.Fatalf("x/net receive text=%v n=%d: %v", text, n, err)
			}
			wantType := byte(websocket.BinaryFrame)
			if text {
				wantType = websocket.TextFrame
			}
			if got.typ != wantType || !bytes.Equal(got.data, p) {
				t.Fatalf("echo text=%v n=%d: got type %d, %d bytes (equal %v)", text, n, got.typ, len(got.data), bytes.Equal(got.data, p))
			}
		}
	}

	// x/net's Close sends a close frame with 1000, then closes TCP.
	if err := xc.Close(); err != nil {
		t.Fatalf("x/net close: %v", err)
	}
	err := <-serverErr
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseNormal {
		t.Fatalf("server read ended with %v, want the client's close 1000", err)
	}
}

// TestXnetClientOurServerCloseAndPing: our server pings the x/net client
// (which answers while it waits for a message), then starts the close
// handshake; x/net reports the close and answers it, and our Close returns
// nil.
func TestXnetClientOurServerCloseAndPing(t *testing.T) {
	closeErr := make(chan error, 1)
	srv := xnetServeOurs(t, func(c *ws.Conn) {
		ctx := context.Background()
		// The first message asks for a ping. The pong is read by the
		// loop below, so Ping runs on its own goroutine.
		if _, _, err := c.ReadMessage(ctx, nil); err != nil {
			closeErr <- err
			return
		}
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := "pinged"
			if err := c.Ping(ctx); err != nil {
				msg = "ping failed: " + err.Error()
			}
			c.WriteMessage(ctx, ws.Text, []byte(msg))
		}()
		// The second message asks for the close.
		if _, _, err := c.ReadMessage(ctx, nil); err != nil {
			closeErr <- err
			return
		}
		wg.Wait()
		closeErr <- c.Close(ws.CloseGoingAway, "server going away")
	})
	defer srv.Close()

	xc := xnetDialXnet(t, srv.URL)
	defer xc.Close()
	if err := websocket.Message.Send(xc, "ping me"); err != nil {
		t.Fatal(err)
	}
	// x/net answers the ping inside Receive, then returns the message
	// sent once our Ping saw the pong.
	var got string
	if err := websocket.Message.Receive(xc, &got); err != nil || got != "pinged" {
		t.Fatalf("x/net receive: %q, %v; want \"pinged\"", got, err)
	}
	if err := websocket.Message.Send(xc, "close please"); err != nil {
		t.Fatal(err)
	}
	// x/net reports a received close frame as io.EOF and does not answer
	// it by itself; its Close sends the answer.
	if err := websocket.Message.Receive(xc, &got); err != io.EOF {
		t.Fatalf("x/net receive after our close: %q, %v; want io.EOF", got, err)
	}
	xc.Close()
	if err := <-closeErr; err != nil {
		t.Fatalf("our Close: %v, want nil (the peer answered)", err)
	}
}

// xnetDialOurs opens a connection to url with a hand-written client
// handshake (RFC 6455 §4.1) and returns our client Conn over it.
func xnetDialOurs(t *testing.T, url string, opts *ws.Options) *ws.Conn {
	t.Helper()
	addr := strings.TrimPrefix(url, "http://")
	nc, err := net.DialTimeout("tcp", addr, xnetBound)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(xnetBound))
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET /echo HTTP/1.1\r\n" +
		"Host: " + addr + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Origin: " + xnetOrigin + "\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		t.Fatalf("read handshake response: %v", err)
	}
	resp.Body.Close()
	// RFC 6455 §4.1: 101, Upgrade: websocket, Connection: Upgrade and the
	// accept key derived from ours.
	if resp.StatusCode != http.StatusSwitchingProtocols ||
		!xnetHasToken(resp.Header, "Upgrade", "websocket") ||
		!xnetHasToken(resp.Header, "Connection", "upgrade") ||
		resp.Header.Get("Sec-WebSocket-Accept") != xnetAccept(key) {
		nc.Close()
		t.Fatalf("handshake response: %s %v", resp.Status, resp.Header)
	}
	var leftover []byte
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		leftover = bytes.Clone(b)
	}
	return ws.NewConn(nc, leftover, ws.RoleClient, opts)
}

// xnetServeXnet serves x/net's Handler running handle; Close waits for every
// handler to return.
type xnetXnetServer struct {
	*httptest.Server
	wg sync.WaitGroup
}

func xnetServeXnet(handle func(xc *websocket.Conn)) *xnetXnetServer {
	s := &xnetXnetServer{}
	h := websocket.Handler(func(xc *websocket.Conn) {
		xc.MaxPayloadBytes = xnetMaxPayload
		xc.SetDeadline(time.Now().Add(xnetBound))
		handle(xc)
	})
	// The handler goroutine outlives the hijack, which httptest does not
	// track; count it before the handshake can complete.
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.wg.Add(1)
		defer s.wg.Done()
		h.ServeHTTP(w, r)
	}))
	return s
}

func (s *xnetXnetServer) Close() {
	s.Server.Close()
	s.wg.Wait()
}

// xnetEcho echoes frames with their type until the connection ends, then
// closes it (x/net sends close 1000 and closes TCP). A message "close me"
// makes it close at once instead.
func xnetEcho(xc *websocket.Conn) {
	defer xc.Close()
	for {
		var f xnetFrame
		if err := xnetTyped.Receive(xc, &f); err != nil {
			return
		}
		if f.typ == websocket.TextFrame && string(f.data) == "close me" {
			return
		}
		if err := xnetTyped.Send(xc, f); err != nil {
			return
		}
	}
}

// TestXnetServerOurClientEcho: our client sends text and binary messages of
// every size to x/net's server, which echoes them, then closes; x/net
// answers the close and our Close returns nil.
func TestXnetServerOurClientEcho(t *testing.T) {
	srv := xnetServeXnet(xnetEcho)
	defer srv.Close()

	c := xnetDialOurs(t, srv.URL, nil)
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), xnetBound)
	defer cancel()
	var buf []byte
	for _, typ := range []ws.MessageType{ws.Text, ws.Binary} {
		for _, n := range xnetSizes {
			p := xnetPayload(n, typ == ws.Text)
			if err := c.WriteMessage(ctx, typ, p); err != nil {
				t.Fatalf("write %v n=%d: %v", typ, n, err)
			}
			gotType, got, err := c.ReadMessage(ctx, buf)
			if err != nil {
				t.Fatalf("read %v n=%d: %v", typ, n, err)
			}
			if gotType != typ || !bytes.Equal(got, p) {
				t.Fatalf("echo %v n=%d: got %v, %d bytes (equal %v)", typ, n, gotType, len(got), bytes.Equal(got, p))
			}
			if typ == ws.Text && !utf8.Valid(got) {
				t.Fatalf("echo n=%d: text is not valid UTF-8", n)
			}
			buf = got
		}
	}
	if err := c.Close(ws.CloseNormal, "done"); err != nil {
		t.Fatalf("our Close: %v, want nil (x/net answers the close)", err)
	}
	if s := c.State(); s != ws.StateClosed {
		t.Fatalf("state after Close: %v", s)
	}
}

// TestXnetServerOurClientStreamed: our client streams a message with
// NextWriter in one-frame chunks that x/net reads as they come, and reads
// x/net's echo with NextReader.
func TestXnetServerOurClientStreamed(t *testing.T) {
	srv := xnetServeXnet(xnetEcho)
	defer srv.Close()

	// x/net reads one frame per Receive and does not reassemble
	// fragments, so each message here is written as a single frame: the
	// whole payload fits in one fragment.
	c := xnetDialOurs(t, srv.URL, &ws.Options{FragmentSize: 1 << 20})
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), xnetBound)
	defer cancel()
	p := xnetPayload(70000, false)
	w, err := c.NextWriter(ctx, ws.Binary)
	if err != nil {
		t.Fatal(err)
	}
	for rest := p; len(rest) > 0; {
		k := min(len(rest), 4093)
		if _, err := w.Write(rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	typ, r, err := c.NextReader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || typ != ws.Binary || !bytes.Equal(got, p) {
		t.Fatalf("streamed echo: %v, %d bytes, %v", typ, len(got), err)
	}
	if err := c.Close(ws.CloseNormal, ""); err != nil {
		t.Fatalf("our Close: %v", err)
	}
}

// TestXnetServerClosesOurClient: x/net's server closes the connection; our
// client's read returns the close 1000 it sent, and our Conn ends closed.
func TestXnetServerClosesOurClient(t *testing.T) {
	srv := xnetServeXnet(xnetEcho)
	defer srv.Close()

	c := xnetDialOurs(t, srv.URL, nil)
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), xnetBound)
	defer cancel()
	if err := c.WriteMessage(ctx, ws.Text, []byte("close me")); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.ReadMessage(ctx, nil)
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseNormal {
		t.Fatalf("read: %v, want x/net's close 1000", err)
	}
	if s := c.State(); s != ws.StateClosed {
		t.Fatalf("state after the peer's close: %v", s)
	}
}
