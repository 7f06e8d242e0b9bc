package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/rfc6455/ws"
)

// handshakeAllocs is a server for TestHandshakeAllocs: it serves ln until
// the listener is closed, and sends on done when it is through with a
// connection (its handler has returned).
type handshakeAllocs struct {
	name string
	// serve starts the server; stop stops it.
	serve func(ln net.Listener, done chan<- struct{}) (stop func())
}

// floorRaw is the least a server on raw connections does for the
// handshake of TestHandshakeAllocs: read the request, write a canned 101,
// read until the client goes away, close.
func floorRaw(ln net.Listener, done chan<- struct{}) func() {
	return acceptEach(ln, func(nc net.Conn) {
		floorConn(nc, false)
		nc.Close()
		done <- struct{}{}
	})
}

// acceptEach serves ln with handle, each connection on a goroutine of its
// own, until the listener is closed (by the function it returns).
func acceptEach(ln net.Listener, handle func(nc net.Conn)) func() {
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(nc)
		}
	}()
	return func() { ln.Close() }
}

// floorConn reads a request head from nc unless headRead says it was read
// already, writes a canned 101 and reads until the connection ends.
func floorConn(nc net.Conn, headRead bool) {
	buf := make([]byte, 1024)
	n := 0
	for !headRead && !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
		m, err := nc.Read(buf[n:])
		if err != nil {
			return
		}
		n += m
	}
	if _, err := io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"+
		"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"); err != nil {
		return
	}
	for {
		if _, err := nc.Read(buf); err != nil {
			return
		}
	}
}

// httpServer serves h on ln with net/http.
func httpServer(ln net.Listener, h http.Handler) func() {
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	return func() { hs.Close() }
}

// readUntilEnd is what the WebSocket servers of TestHandshakeAllocs do
// with a connection: read until it ends.
func readUntilEnd(c *ws.Conn) {
	for {
		if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
			return
		}
	}
}

var handshakeAllocServers = []handshakeAllocs{
	{"floor-raw", floorRaw},
	{"UpgradeConn", func(ln net.Listener, done chan<- struct{}) func() {
		return acceptEach(ln, func(nc net.Conn) {
			if c, _, err := UpgradeConn(nc, nil); err == nil {
				readUntilEnd(c)
				c.CloseNow()
			}
			done <- struct{}{}
		})
	}},
	{"floor-http", func(ln net.Listener, done chan<- struct{}) func() {
		// net/http reads the request; the handler takes the
		// connection over and answers it as floorRaw does.
		return httpServer(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nc, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			go func() {
				floorConn(nc, true)
				nc.Close()
				done <- struct{}{}
			}()
		}))
	}},
	{"Handler", func(ln net.Listener, done chan<- struct{}) func() {
		s := Handler(func(c *ws.Conn) {
			readUntilEnd(c)
			c.CloseNow()
			done <- struct{}{}
		})
		return httpServer(ln, s)
	}},
}

// TestHandshakeAllocs guards the allocations of a whole opening handshake
// over loopback TCP, as the bench's handshake case makes it (connect,
// request, 101, the client resets the connection), on the two paths of
// issue 17: UpgradeConn on a raw connection and Handler under net/http.
// What is counted is the process's allocations per handshake minus those
// of a floor server on the same path (the same client, listener and, for
// Handler, net/http, with a server that writes a canned 101 and reads
// until the end), so what the bound holds is the server's own: the Conn,
// its raw connection and read/write callbacks, the parsed request, the
// error of the reset, and Handler's session and goroutine. The bounds are
// what was reached; an allocation more fails.
func TestHandshakeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes allocations of its own")
	}
	if testing.Short() {
		t.Skip("hundreds of handshakes")
	}
	// Allocations per handshake above the floor's.
	bounds := map[string]float64{"UpgradeConn": 3, "Handler": 3}
	req := []byte(handshakeRequest("127.0.0.1"))
	allocs := map[string]float64{}
	for _, hs := range handshakeAllocServers {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{}, 1)
		stop := hs.serve(ln, done)
		addr := ln.Addr().String()
		resp := make([]byte, 512)
		ok := []byte("HTTP/1.1 101 ")
		var failed error
		handshake := func() {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				failed = err
				return
			}
			defer func() {
				nc.(*net.TCPConn).SetLinger(0) // a reset, as the bench's client
				nc.Close()
				<-done
			}()
			if _, err := nc.Write(req); err != nil {
				failed = err
				return
			}
			n := 0
			for !bytes.Contains(resp[:n], []byte("\r\n\r\n")) {
				m, err := nc.Read(resp[n:])
				if err != nil {
					failed = err
					return
				}
				n += m
			}
			if !bytes.HasPrefix(resp[:n], ok) {
				failed = fmt.Errorf("answer %q", resp[:n])
			}
		}
		for range 20 { // warm up: pools, the listener's goroutines
			handshake()
		}
		allocs[hs.name] = testing.AllocsPerRun(300, handshake)
		stop()
		if failed != nil {
			t.Fatalf("%s: %v", hs.name, failed)
		}
		t.Logf("%s: %.0f allocations per handshake", hs.name, allocs[hs.name])
	}
	for name, floor := range map[string]string{"UpgradeConn": "floor-raw", "Handler": "floor-http"} {
		got := allocs[name] - allocs[floor]
		t.Logf("%s: %.0f allocations per handshake over %s's (bound %.0f)", name, got, floor, bounds[name])
		if got > bounds[name] {
			t.Errorf("%s: %.0f allocations per handshake over %s's, want at most %.0f", name, got, floor, bounds[name])
		}
	}
}
