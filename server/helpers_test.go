package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
)

// testTimeout bounds waits that only a bug makes long.
const testTimeout = 10 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// echo reads messages and sends them back until the connection ends.
func echo(c *ws.Conn) {
	ctx := context.Background()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(ctx, buf[:0])
		if err != nil {
			return
		}
		if err := c.WriteMessage(ctx, typ, msg); err != nil {
			return
		}
		buf = msg
	}
}

// handshakeRequest returns a valid opening handshake for host, with extra
// header lines ("Name: value") added.
func handshakeRequest(host string, extra ...string) string {
	var b strings.Builder
	b.WriteString("GET /ws HTTP/1.1\r\nHost: " + host + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// maskedFrame encodes a final, masked client frame with a small payload.
func maskedFrame(opcode byte, payload string) []byte {
	if len(payload) > 125 {
		panic("payload too long for this helper")
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	b := []byte{0x80 | opcode, 0x80 | byte(len(payload)), key[0], key[1], key[2], key[3]}
	for i := 0; i < len(payload); i++ {
		b = append(b, payload[i]^key[i%4])
	}
	return b
}

// rawDial connects to addr (over TLS if cfg is set), writes raw in a single
// write, and reads the response. It returns the connection, the response
// and what the reader holds past it.
func rawDial(t *testing.T, addr string, cfg *tls.Config, raw []byte) (net.Conn, *http.Response, []byte) {
	t.Helper()
	var nc net.Conn
	var err error
	if cfg != nil {
		nc, err = tls.Dial("tcp", addr, cfg)
	} else {
		nc, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(testTimeout))
	if _, err := nc.Write(raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	nc.SetDeadline(time.Time{})
	return nc, resp, bufferedBytes(br)
}

// dialWS performs a raw handshake against srv and returns a client Conn.
func dialWS(t *testing.T, srv *httptest.Server, extra ...string) (*ws.Conn, *http.Response) {
	t.Helper()
	addr := srv.Listener.Addr().String()
	var cfg *tls.Config
	if srv.TLS != nil {
		cfg = srv.Client().Transport.(*http.Transport).TLSClientConfig
	}
	nc, resp, rest := rawDial(t, addr, cfg, []byte(handshakeRequest(addr, extra...)))
	if _, err := handshake.CheckResponse(resp, handshake.Offer{Key: "dGhlIHNhbXBsZSBub25jZQ==", Subprotocols: []string{"chat", "superchat"}, Extensions: []handshake.Extension{{Name: "x-test"}}}); err != nil {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("handshake: %v (%s)", err, body)
	}
	c := ws.NewConn(nc, rest, ws.RoleClient, nil)
	t.Cleanup(func() { c.CloseNow() })
	return c, resp
}

// roundTrip sends msg and returns what comes back.
func roundTrip(t *testing.T, c *ws.Conn, typ ws.MessageType, msg string) string {
	t.Helper()
	ctx := testContext(t)
	if err := c.WriteMessage(ctx, typ, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	gotTyp, got, err := c.ReadMessage(ctx, nil)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if gotTyp != typ {
		t.Fatalf("echo type %v, want %v", gotTyp, typ)
	}
	return string(got)
}

// acceptResult is what a test handler saw.
type acceptResult struct {
	conn *ws.Conn
	err  error
}

// newServer starts a server whose handler calls Accept with opts, reports
// the outcome on the returned channel, and echoes on success.
func newServer(t *testing.T, opts *Options, tlsOn bool) (*httptest.Server, chan acceptResult) {
	t.Helper()
	results := make(chan acceptResult, 16)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, opts)
		results <- acceptResult{c, err}
		if err == nil {
			echo(c)
			c.CloseNow()
		}
	})
	var srv *httptest.Server
	if tlsOn {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, results
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for the server")
		panic("unreachable")
	}
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}
