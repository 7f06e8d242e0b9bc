package server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
)

type acceptConnResult struct {
	conn *ws.Conn
	req  *http.Request
	err  error
}

// listen runs AcceptConn with opts on every connection to a loopback
// listener, echoing on success.
func listen(t *testing.T, opts *Options) (string, chan acceptConnResult) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	results := make(chan acceptConnResult, 4)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c, r, err := AcceptConn(nc, opts)
				results <- acceptConnResult{c, r, err}
				if err == nil {
					echo(c)
					c.CloseNow()
				}
			}()
		}
	}()
	return ln.Addr().String(), results
}

func TestAcceptConnEcho(t *testing.T) {
	addr, results := listen(t, &Options{Subprotocols: []string{"chat"}})
	raw := []byte(handshakeRequest(addr, "Sec-WebSocket-Protocol: chat"))
	raw = append(raw, maskedFrame(0x1, "sent with the request")...)
	nc, resp, rest := rawDial(t, addr, nil, raw)
	if _, err := handshake.CheckResponse(resp, handshake.Offer{Key: "dGhlIHNhbXBsZSBub25jZQ==", Subprotocols: []string{"chat"}}); err != nil {
		t.Fatal(err)
	}
	r := receive(t, results)
	if r.err != nil || r.req.URL.Path != "/ws" || r.req.RemoteAddr == "" || r.conn.Subprotocol() != "chat" {
		t.Fatalf("AcceptConn = %v, request %+v", r.err, r.req)
	}
	c := ws.NewConn(nc, rest, ws.RoleClient, nil)
	defer c.CloseNow()
	_, got, err := c.ReadMessage(testContext(t), nil)
	if err != nil || string(got) != "sent with the request" {
		t.Fatalf("ReadMessage = %q, %v", got, err)
	}
	if got := roundTrip(t, c, ws.Text, "after"); got != "after" {
		t.Fatalf("echo = %q", got)
	}
}

func TestAcceptConnRejects(t *testing.T) {
	addr, results := listen(t, nil)
	for _, tc := range []struct {
		name   string
		raw    string
		want   error
		status int
	}{
		{"version 8", strings.Replace(handshakeRequest(addr), "Version: 13", "Version: 8", 1), handshake.ErrVersion, 426},
		{"not HTTP", "\x16\x03\x01 hello\r\n\r\n", ErrMalformedRequest, 400},
		{"huge headers", "GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", MaxRequestHeaderBytes) + "\r\n\r\n", ErrRequestTooLarge, 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, _ := rawDial(t, addr, nil, []byte(tc.raw))
			if resp.StatusCode != tc.status || !resp.Close {
				t.Fatalf("status %s, close %v; want %d and Connection: close", resp.Status, resp.Close, tc.status)
			}
			if tc.status == 426 && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Errorf("426 without Sec-WebSocket-Version: 13")
			}
			if r := receive(t, results); !errors.Is(r.err, tc.want) {
				t.Fatalf("AcceptConn error = %v, want %v", r.err, tc.want)
			}
		})
	}
}

// A client that sends half a request and stalls is cut off by the
// handshake timeout. The test waits for that to happen, not for a time.
func TestAcceptConnHandshakeTimeoutAgainstStalledClient(t *testing.T) {
	addr, results := listen(t, &Options{HandshakeTimeout: 50 * time.Millisecond})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	half := handshakeRequest(addr)
	if _, err := nc.Write([]byte(half[:len(half)/2])); err != nil {
		t.Fatal(err)
	}
	r := receive(t, results)
	var ne net.Error
	if !errors.As(r.err, &ne) || !ne.Timeout() {
		t.Fatalf("AcceptConn = %v, want a timeout", r.err)
	}
	nc.SetReadDeadline(time.Now().Add(testTimeout))
	if n, err := nc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the stalled client's connection: read %d, %v; want EOF (closed by the server)", n, err)
	}
}

// UpgradeConn reads a request that arrives a byte at a time, with a frame
// right behind it, and answers it; the parsed request is handed back.
func TestUpgradeConnByteAtATime(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		c   *ws.Conn
		r   *handshake.RawRequest
		err error
	}
	results := make(chan result, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			results <- result{err: err}
			return
		}
		c, r, err := UpgradeConn(nc, nil)
		results <- result{c, r, err}
		if err == nil {
			echo(c)
			c.CloseNow()
		}
	}()
	addr := ln.Addr().String()
	raw := append([]byte(handshakeRequest(addr)), maskedFrame(0x1, "hi")...)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.(*net.TCPConn).SetNoDelay(true)
	for i := range raw {
		if _, err := nc.Write(raw[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	r := <-results
	if r.err != nil || r.r.URL.Path != "/ws" || r.r.Method != "GET" {
		t.Fatalf("UpgradeConn: %+v", r)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(io.LimitReader(nc, 512))
	if err != nil && !errors.Is(err, io.EOF) {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatal(err)
		}
	}
	if !strings.HasPrefix(string(got), "HTTP/1.1 101 ") || !strings.HasSuffix(string(got), "\x81\x02hi") {
		t.Fatalf("got %q", got)
	}
}
