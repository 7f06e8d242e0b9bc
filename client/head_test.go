//go:build !js

package client

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/rfc6455/ws/handshake"
)

// Issue 20, bug 8: the handshake response's head is read through a bound
// (Options.MaxResponseHeaderBytes, 64 KiB by default): a server that sends
// an endless header line fails Dial with ErrResponseTooLarge having cost
// about the bound, not the line.
func TestDialBoundsTheResponseHead(t *testing.T) {
	chunk := []byte(strings.Repeat("a", 1<<20))
	endless := rawServer(t, func(nc net.Conn, r *http.Request) {
		io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nX-Big: ")
		for range 256 { // 256 MiB, never ended; the writes block once the client stops reading
			if _, err := nc.Write(chunk); err != nil {
				return
			}
		}
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err := Dial(testContext(t), endless, nil)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrResponseTooLarge) || !strings.Contains(err.Error(), "65536 bytes") {
		t.Fatalf("Dial = %v, want ErrResponseTooLarge naming the bound", err)
	}
	// The process allocated, the test server included: well under the
	// megabytes a line read whole costs.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Fatalf("Dial allocated %d bytes reading a response head bounded to 64 KiB", alloc)
	}

	// A complete 101 whose head is 100 KiB: refused by default, accepted
	// with a larger bound.
	big := rawServer(t, func(nc net.Conn, r *http.Request) {
		io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
			handshake.AcceptKey(r.Header.Get("Sec-WebSocket-Key"))+"\r\nX-Big: "+strings.Repeat("b", 100<<10)+"\r\n\r\n")
		io.Copy(io.Discard, nc)
	})
	if _, _, err := Dial(testContext(t), big, nil); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("100 KiB head with the default bound: %v", err)
	}
	c, resp, err := Dial(testContext(t), big, &Options{MaxResponseHeaderBytes: 256 << 10})
	if err != nil {
		t.Fatalf("100 KiB head with a 256 KiB bound: %v", err)
	}
	c.CloseNow()
	if len(resp.Header.Get("X-Big")) != 100<<10 {
		t.Fatalf("X-Big has %d bytes", len(resp.Header.Get("X-Big")))
	}
}

// A proxy's answer to CONNECT has the same bound.
func TestDialBoundsTheProxyAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		io.WriteString(nc, "HTTP/1.1 200 Connection established\r\nX-Big: ")
		chunk := []byte(strings.Repeat("p", 1<<20))
		for range 64 {
			if _, err := nc.Write(chunk); err != nil {
				return
			}
		}
	}()
	proxy := func(*http.Request) (*url.URL, error) { return url.Parse("http://" + ln.Addr().String()) }
	if _, _, err := Dial(testContext(t), "ws://example.invalid/", &Options{Proxy: proxy}); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("Dial through a proxy with an endless answer: %v", err)
	}
}
