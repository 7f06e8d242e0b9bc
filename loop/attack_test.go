package loop

// Adversarial tests of the event-loop server (helper "attack"): callbacks
// that re-enter the loop, peers that misbehave at the edges of the
// handshake and of the send queue, and many connections doing all of it at
// once. Each test waits on events (OnClose, a frame read, a handler's
// signal); the timeouts only bound a failure.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/handshake"
)

// atkHandler is a Handler made of functions; nil ones do nothing. Every
// OnClose error goes to closed.
type atkHandler struct {
	open    func(c *Conn)
	message func(c *Conn, typ ws.MessageType, data []byte)
	closed  chan atkClose
}

type atkClose struct {
	c   *Conn
	err error
}

func newAtk() *atkHandler { return &atkHandler{closed: make(chan atkClose, 4096)} }

func (h *atkHandler) OnOpen(c *Conn) {
	if h.open != nil {
		h.open(c)
	}
}

func (h *atkHandler) OnMessage(c *Conn, typ ws.MessageType, data []byte) {
	if h.message != nil {
		h.message(c, typ, data)
	}
}

func (h *atkHandler) OnClose(c *Conn, err error) { h.closed <- atkClose{c, err} }

// waitClose waits for OnClose of c (others are put back unless they are
// nil-filtered) and returns its error; it fails the test after d.
func (h *atkHandler) waitClose(t *testing.T, c *Conn, d time.Duration) error {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	var others []atkClose
	defer func() {
		for _, o := range others {
			h.closed <- o
		}
	}()
	for {
		select {
		case e := <-h.closed:
			if c == nil || e.c == c {
				return e.err
			}
			others = append(others, e)
		case <-timer.C:
			t.Fatalf("no OnClose within %v", d)
			return nil
		}
	}
}

// TestCloseNowWhileReadingPaused: a peer that sends but never reads gets
// its reading paused (PauseBytes); CloseNow on it must still end the
// connection (OnClose, the descriptor closed), not leave it registered
// with nobody to read its end.
func TestCloseNowWhileReadingPaused(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			h := newAtk()
			big := make([]byte, 8<<20)
			conns := make(chan *Conn, 2)
			h.open = func(c *Conn) { conns <- c }
			barrier := make(chan struct{}, 1)
			h.message = func(c *Conn, typ ws.MessageType, data []byte) {
				if string(data) == "barrier" {
					barrier <- struct{}{}
					return
				}
				c.Send(ws.Binary, big) // more than the socket takes: queued
			}
			s := &Server{Handler: h, Goroutines: d.goroutines, Loops: 1, PauseBytes: 1 << 10,
				Policy: Policy{QueueBytes: -1}}
			addr := start(t, s)
			c1 := dialRaw(t, addr)
			c1.upgrade(t, "")
			sc1 := <-conns
			c1.Write(clientFrame(0x82, []byte("send me a lot"), -1))
			// A second connection on the same (only) loop: once its
			// message is seen, the loop is past the first one's
			// input, and has paused reading it.
			c2 := dialRaw(t, addr)
			c2.upgrade(t, "")
			<-conns
			c2.Write(clientFrame(0x81, []byte("barrier"), -1))
			select {
			case <-barrier:
			case <-time.After(20 * time.Second):
				t.Fatal("no barrier message")
			}
			if d.goroutines {
				// The writer may still be writing: nothing pauses.
			} else if b := sc1.BufferedAmount(); b <= 1<<10 {
				t.Fatalf("BufferedAmount %d: the test needs a full queue", b)
			}
			sc1.CloseNow()
			h.waitClose(t, sc1, 20*time.Second)
			c1.expectEnd(t, 20*time.Second)
		})
	}
}

// TestCloseDiscardWhileReadingPausedSeesPeersClose: CloseDiscard (what
// CloseSlow does) on a paused connection drops its queue; the peer then
// reads the close frame and answers it, and the server must read that
// answer (reading resumes) rather than wait for the close timeout.
func TestCloseDiscardWhileReadingPausedSeesPeersClose(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			h := newAtk()
			big := make([]byte, 8<<20)
			conns := make(chan *Conn, 2)
			h.open = func(c *Conn) { conns <- c }
			barrier := make(chan struct{}, 1)
			h.message = func(c *Conn, typ ws.MessageType, data []byte) {
				if string(data) == "barrier" {
					barrier <- struct{}{}
					return
				}
				c.Send(ws.Binary, big)
			}
			s := &Server{Handler: h, Goroutines: d.goroutines, Loops: 1, PauseBytes: 1 << 10, Policy: Policy{QueueBytes: -1}}
			s.Options.Conn.CloseTimeout = time.Minute // the test fails on its own bound first
			addr := start(t, s)
			c1 := dialRaw(t, addr)
			c1.upgrade(t, "")
			sc1 := <-conns
			c1.Write(clientFrame(0x82, []byte("send me a lot"), -1))
			c2 := dialRaw(t, addr)
			c2.upgrade(t, "")
			<-conns
			c2.Write(clientFrame(0x81, []byte("barrier"), -1))
			<-barrier
			sc1.CloseDiscard(ws.CloseTryAgainLater, "slow")
			// The peer now reads: what had begun, then the close frame, which
			// it answers.
			c1.SetDeadline(time.Now().Add(30 * time.Second))
			c1.expectClose(t, ws.CloseTryAgainLater)
			c1.Write(clientFrame(0x88, []byte{0x03, 0xf5}, -1))
			err := h.waitClose(t, sc1, 20*time.Second)
			var ce *ws.CloseError
			if !errors.As(err, &ce) || ce.Code != ws.CloseTryAgainLater {
				t.Errorf("OnClose: %v, want the peer's 1013", err)
			}
			c1.expectEnd(t, 20*time.Second)
		})
	}
}

// TestPipelinedHandshakeAtEverySplit: a client that sends its request,
// its messages (small, spanning reads, fragmented with a ping between,
// compressed) and its close frame in one write, read by the server in
// pieces of every size from one byte up: the request head accumulated
// across reads, the bytes after it fed as frames, every message echoed in
// order, the close answered, and OnClose told 1000.
func TestPipelinedHandshakeAtEverySplit(t *testing.T) {
	z := deflate.NewCompressor(15, 6)
	long := bytes.Repeat([]byte("0123456789abcdef"), 300) // 4800 bytes
	var in []byte
	in = append(in, upgradeRequest("Sec-WebSocket-Extensions: permessage-deflate\r\n")...)
	in = append(in, clientFrame(0x81, []byte("hello"), -1)...)
	in = append(in, clientFrame(0x82, long, -1)...)
	in = append(in, clientFrame(0x01, []byte("frag"), -1)...)
	in = append(in, clientFrame(0x89, []byte("ping!"), -1)...)
	in = append(in, clientFrame(0x80, []byte("mented"), -1)...)
	in = append(in, clientFrame(0xc1, z.Compress(nil, long, true), -1)...)
	in = append(in, clientFrame(0x88, []byte{0x03, 0xe8, 'b', 'y', 'e'}, -1)...)
	want := []struct {
		b0      byte
		payload []byte
	}{
		{0x81, []byte("hello")},
		{0x82, long},
		{0x8a, []byte("ping!")},
		{0x81, []byte("fragmented")},
		{0x81, long},
		{0x88, []byte{0x03, 0xe8}}, // RFC 6455 §5.5.1: the code echoed
	}
	for _, split := range []int{1, 2, 3, 7, 100, 4096, 0} {
		t.Run(fmt.Sprint(split), func(t *testing.T) {
			h := newAtk()
			h.message = func(c *Conn, typ ws.MessageType, data []byte) { c.Send(typ, data) }
			s := &Server{Handler: h, Loops: 1, testReadSize: split}
			s.Options.Compression = &deflate.ServerConfig{}
			s.Options.Compression.Threshold = 1 << 30 // answers uncompressed, to read them here
			addr := start(t, s)
			c := dialRaw(t, addr)
			if _, err := c.Write(in); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(c.br, nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake: %v %v", resp, err)
			}
			for i, w := range want {
				b0, p, err := c.readFrame()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if b0 != w.b0 || !bytes.Equal(p, w.payload) {
					t.Fatalf("frame %d: %#x %q, want %#x %.20q", i, b0, p, w.b0, w.payload)
				}
			}
			c.expectEnd(t, 20*time.Second)
			err = h.waitClose(t, nil, 20*time.Second)
			var ce *ws.CloseError
			if !errors.As(err, &ce) || ce.Code != ws.CloseNormal || ce.Reason != "bye" {
				t.Errorf("OnClose: %v", err)
			}
		})
	}
}

// TestHandshakeEdges: requests at the edges of HTTP, on both drivers; none
// may be upgraded where it should not, crash the server or keep the
// connection open, and both drivers answer each alike.
func TestHandshakeEdges(t *testing.T) {
	key := "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	ws13 := "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key
	many := strings.Repeat("X-A: b\r\n", 4000) // 32,000 bytes: within 32 KiB? no: over with the rest
	cases := []struct {
		name string
		req  string
		want int // status; 101 for an upgrade
	}{
		{"http/1.0", "GET / HTTP/1.0\r\n" + ws13 + "\r\n", 0},
		{"http/2.0 line", "GET / HTTP/2.0\r\n" + ws13 + "\r\n", 0},
		{"bare LF", strings.ReplaceAll("GET / HTTP/1.1\r\n"+ws13+"\r\n", "\r\n", "\n"), 0},
		{"leading empty line", "\r\nGET / HTTP/1.1\r\n" + ws13 + "\r\n", 0},
		{"NUL in a value", "GET / HTTP/1.1\r\n" + ws13 + "X-A: a\x00b\r\n\r\n", 400},
		{"folded line", "GET / HTTP/1.1\r\n" + ws13 + "X-A: a\r\n b\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\n" + ws13 + "X-A : a\r\n\r\n", 400},
		{"two keys", "GET / HTTP/1.1\r\n" + ws13 + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n", 400},
		{"two versions", "GET / HTTP/1.1\r\n" + ws13 + "Sec-WebSocket-Version: 13\r\n\r\n", 426},
		{"two hosts", "GET / HTTP/1.1\r\nHost: y\r\n" + ws13 + "\r\n", 400},
		{"no host", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key + "\r\n", 400},
		{"POST", "POST / HTTP/1.1\r\n" + ws13 + "\r\n", 0},
		{"absolute URI", "GET http://x/ HTTP/1.1\r\n" + ws13 + "\r\n", 0},
		{"asterisk", "GET * HTTP/1.1\r\n" + ws13 + "\r\n", 0},
		{"many small headers", "GET / HTTP/1.1\r\n" + ws13 + many[:20000] + "\r\n", 0},
		{"many headers past the limit", "GET / HTTP/1.1\r\n" + ws13 + many + many + "\r\n", 431},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400},
		{"chunked body", "GET / HTTP/1.1\r\n" + ws13 + "Transfer-Encoding: chunked\r\n\r\n", 0},
		{"version 8", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", 426},
		{"short key", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: AAAA\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
	}
	got := map[string][2]int{}
	for i, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := &Server{Handler: newAtk(), Goroutines: d.goroutines}
			addr := start(t, s)
			for _, tc := range cases {
				c := dialRaw(t, addr)
				go io.WriteString(c, tc.req) // a refusal may come before all is written
				resp, err := http.ReadResponse(c.br, nil)
				status := -1
				if err == nil {
					status = resp.StatusCode
				}
				if tc.want != 0 && status != tc.want {
					t.Errorf("%s: status %d (%v), want %d", tc.name, status, err, tc.want)
				}
				if status != 101 {
					c.expectEnd(t, 20*time.Second)
				}
				c.Close()
				g := got[tc.name]
				g[i] = status
				got[tc.name] = g
			}
		})
	}
	for _, tc := range cases {
		g := got[tc.name]
		t.Logf("%-28s loop %d, goroutines %d", tc.name, g[0], g[1])
		if g[0] != g[1] {
			t.Errorf("%s: the drivers differ: loop %d, goroutines %d", tc.name, g[0], g[1])
		}
	}
}

// TestConnMethodsDuringUpgrade: the Upgrade hook has the Conn before the
// connection is open; each of its methods called there must neither crash
// the server nor leave the connection half-made: the handshake goes on or
// is refused, and the server serves the next connection.
func TestConnMethodsDuringUpgrade(t *testing.T) {
	calls := map[string]func(c *Conn){
		"Send":         func(c *Conn) { c.Send(ws.Text, []byte("early")) },
		"Ping":         func(c *Conn) { c.Ping(nil) },
		"Close":        func(c *Conn) { c.Close(ws.CloseNormal, "early") },
		"CloseDiscard": func(c *Conn) { c.CloseDiscard(ws.CloseNormal, "early") },
		"CloseNow":     func(c *Conn) { c.CloseNow() },
		"Subprotocol":  func(c *Conn) { c.Subprotocol() },
		"Addrs":        func(c *Conn) { c.RemoteAddr(); c.LocalAddr() },
		"Queue":        func(c *Conn) { c.BufferedAmount(); c.Queued() },
	}
	got := map[string][2]int{}
	for i, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			h := newAtk()
			h.message = func(c *Conn, typ ws.MessageType, data []byte) { c.Send(typ, data) }
			var mu sync.Mutex
			var call func(*Conn)
			s := &Server{Handler: h, Goroutines: d.goroutines, Logger: discardLogger()}
			s.Upgrade = func(c *Conn, r *handshake.RawRequest) error {
				mu.Lock()
				f := call
				mu.Unlock()
				f(c)
				return nil
			}
			s.Options.Conn.CloseTimeout = time.Second
			addr := start(t, s)
			for name, f := range calls {
				mu.Lock()
				call = f
				mu.Unlock()
				c := dialRaw(t, addr)
				io.WriteString(c, upgradeRequest(""))
				resp, err := http.ReadResponse(c.br, nil)
				status := 0
				if err == nil {
					status = resp.StatusCode
				}
				if status == http.StatusSwitchingProtocols {
					// Open (or closing): it echoes or ends.
					c.Write(clientFrame(0x81, []byte("x"), -1))
					c.Write(clientFrame(0x88, []byte{0x03, 0xe8}, -1))
				}
				c.expectEnd(t, 20*time.Second)
				g := got[name]
				g[i] = status
				got[name] = g
				c.Close()
			}
			// The server still serves.
			c := dialRaw(t, addr)
			mu.Lock()
			call = func(*Conn) {}
			mu.Unlock()
			c.upgrade(t, "")
			c.Write(clientFrame(0x81, []byte("still here"), -1))
			if _, p, err := c.readFrame(); err != nil || string(p) != "still here" {
				t.Fatalf("echo after the Upgrade calls: %q %v", p, err)
			}
		})
	}
	for name, g := range got {
		if g[0] != g[1] {
			t.Errorf("%s in Upgrade: the drivers differ: loop %d, goroutines %d", name, g[0], g[1])
		}
	}
}

// TestShutdownEdges: Shutdown with a connection in its handshake that
// finishes its request in the grace period (503), one that never does
// (closed), and an open one whose peer never reads, with a close timeout
// longer than Shutdown's context: Shutdown returns the context's error
// once it has closed everything, and OnClose says ErrShutdown.
func TestShutdownEdges(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			h := newAtk()
			big := make([]byte, 8<<20)
			opened := make(chan *Conn, 1)
			h.open = func(c *Conn) {
				c.Send(ws.Binary, big) // more than the sockets hold: the 1001 waits behind it
				opened <- c
			}
			s := &Server{Handler: h, Goroutines: d.goroutines, Policy: Policy{QueueBytes: -1}}
			s.Options.Conn.CloseTimeout = time.Hour
			ln := listenLoopback(t)
			served := make(chan error, 1)
			go func() { served <- s.Serve(ln) }()
			addr := ln.Addr().String()
			stuck := dialRaw(t, addr)
			stuck.upgrade(t, "")
			sc := <-opened
			half := dialRaw(t, addr)
			req := upgradeRequest("")
			io.WriteString(half, req[:20])
			silent := dialRaw(t, addr)
			// Both are in their handshake once the server counts them.
			waitFor(t, "three connections", func() bool { return s.Len() == 3 })

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- s.Shutdown(ctx) }()
			// The request finished during the grace period: 503.
			waitFor(t, "Shutdown to begin", func() bool { return s.isClosing() })
			io.WriteString(half, req[20:])
			resp, err := http.ReadResponse(half.br, nil)
			if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("a request during Shutdown: %v %v, want 503", resp, err)
			}
			silent.expectEnd(t, 20*time.Second)
			select {
			case err := <-errc:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Shutdown: %v, want the context's error", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Shutdown did not return after its context ended")
			}
			if err := h.waitClose(t, sc, time.Second); !errors.Is(err, ErrShutdown) {
				t.Errorf("OnClose: %v, want ErrShutdown", err)
			}
			stuck.expectEnd(t, 20*time.Second)
			if err := <-served; err != ErrServerClosed {
				t.Errorf("Serve: %v", err)
			}
			if err := s.Serve(listenLoopback(t)); err != ErrServerClosed {
				t.Errorf("Serve after Shutdown: %v", err)
			}
		})
	}
}

// TestHalfClosedPeerGetsTheCloseAnswer: a peer that sends a message and
// its close frame and shuts its side down at once still reads the echo
// (sent before the close arrived) and the server's answer.
func TestHalfClosedPeerGetsTheCloseAnswer(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			h := newAtk()
			h.message = func(c *Conn, typ ws.MessageType, data []byte) { c.Send(typ, data) }
			s := &Server{Handler: h, Goroutines: d.goroutines}
			addr := start(t, s)
			c := dialRaw(t, addr)
			c.upgrade(t, "")
			c.Write(append(clientFrame(0x81, []byte("last"), -1), clientFrame(0x88, []byte{0x03, 0xe8}, -1)...))
			c.Conn.(*net.TCPConn).CloseWrite()
			if b0, p, err := c.readFrame(); err != nil || b0 != 0x81 || string(p) != "last" {
				t.Fatalf("echo: %#x %q %v", b0, p, err)
			}
			c.expectClose(t, ws.CloseNormal)
			c.expectEnd(t, 20*time.Second)
			var ce *ws.CloseError
			if err := h.waitClose(t, nil, 20*time.Second); !errors.As(err, &ce) || ce.Code != ws.CloseNormal {
				t.Errorf("OnClose: %v", err)
			}
		})
	}
}

// TestRemoteAddrInOnClose: RemoteAddr answers the client's address in
// OnClose on each driver, after a close handshake and after a reset (the
// event loop's socket is closed by then, or has no peer any more for
// getpeername(2)).
func TestRemoteAddrInOnClose(t *testing.T) {
	for _, d := range drivers {
		for _, reset := range []bool{false, true} {
			name := d.name + "/closeframe"
			if reset {
				name = d.name + "/reset"
			}
			t.Run(name, func(t *testing.T) {
				h := newAtk()
				addrs := make(chan net.Addr, 1)
				inner := h.closed
				h2 := &closeAddr{atkHandler: h, addrs: addrs}
				s := &Server{Handler: h2, Goroutines: d.goroutines}
				addr := start(t, s)
				c := dialRaw(t, addr)
				c.upgrade(t, "")
				want := c.LocalAddr().String()
				if reset {
					c.Conn.(*net.TCPConn).SetLinger(0)
					c.Close()
				} else {
					c.Write(clientFrame(0x88, []byte{0x03, 0xe8}, -1))
				}
				<-inner
				a := <-addrs
				if a == nil {
					t.Fatal("RemoteAddr is nil in OnClose")
				}
				if a.String() != want {
					t.Errorf("RemoteAddr in OnClose: %v, want the client's address %v", a, want)
				}
			})
		}
	}
}

type closeAddr struct {
	*atkHandler
	addrs chan net.Addr
}

func (h *closeAddr) OnClose(c *Conn, err error) {
	h.addrs <- c.RemoteAddr()
	h.atkHandler.OnClose(c, err)
}

// TestRandomTrafficEchoes: seeded random scripts of messages (empty to
// 140 KB, text and binary, some compressed, some fragmented at random
// points with pings between the fragments), written in random pieces and
// read by the server in random sizes: every message comes back whole and
// in order, every ping is answered, on both drivers.
func TestRandomTrafficEchoes(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			for seed := range uint64(6) {
				r := rand.New(rand.NewPCG(seed, 99))
				h := newAtk()
				h.message = func(c *Conn, typ ws.MessageType, data []byte) { c.Send(typ, data) }
				split := []int{13, 1000, 16 << 10, 0}[r.IntN(4)] // 1-byte reads: TestPipelinedHandshakeAtEverySplit
				s := &Server{Handler: h, Goroutines: d.goroutines, testReadSize: split, Policy: Policy{QueueBytes: -1, QueueSize: -1}}
				s.Options.Compression = &deflate.ServerConfig{Threshold: 1 << 30}
				addr := start(t, s)
				c := dialRaw(t, addr)
				c.Conn.(*net.TCPConn).SetReadBuffer(1 << 20)
				c.upgrade(t, "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n")
				type expect struct {
					b0      byte
					payload []byte
				}
				var in []byte
				var want []expect
				z := deflate.NewCompressor(15, 1)
				for range 10 + r.IntN(20) {
					n := []int{0, 1, 125, 126, 1000, 65535, 65536, 70000, 140000}[r.IntN(9)]
					msg := make([]byte, n)
					typ := byte(0x2)
					if r.IntN(2) == 0 {
						typ = 0x1
						for i := range msg {
							msg[i] = 'a' + byte(r.IntN(26))
						}
					} else {
						for i := range msg {
							msg[i] = byte(r.UintN(4)) // compressible
						}
					}
					wire, rsv := msg, byte(0)
					if r.IntN(3) == 0 {
						wire, rsv = z.Compress(nil, msg, false), 0x40
					}
					parts := 1 + r.IntN(4)
					for p := range parts {
						cut := len(wire)
						if p < parts-1 {
							cut = r.IntN(len(wire) + 1)
						}
						b0 := byte(0)
						if p == 0 {
							b0 = typ | rsv
						}
						if p == parts-1 {
							b0 |= 0x80
						}
						in = append(in, clientFrame(b0, wire[:cut], -1)...)
						wire = wire[cut:]
						if p < parts-1 && r.IntN(3) == 0 { // between fragments
							ping := []byte(fmt.Sprint("p", len(want)))
							in = append(in, clientFrame(0x89, ping, -1)...)
							want = append(want, expect{0x8a, ping})
						}
					}
					want = append(want, expect{0x80 | typ, msg})
				}
				closeFrame := clientFrame(0x88, []byte{0x03, 0xe8}, -1)
				if !d.goroutines {
					in = append(in, closeFrame...)
				}
				// else the goroutine driver would answer the close
				// ahead of the echoes still queued, and lose them:
				// see TestHalfClosedPeerGetsTheCloseAnswer. The close
				// goes once the echoes are in.
				want = append(want, expect{0x88, []byte{0x03, 0xe8}})
				go func() {
					for b := in; len(b) > 0; {
						n := min(len(b), 1+r.IntN(100000))
						if _, err := c.Write(b[:n]); err != nil {
							return
						}
						b = b[n:]
					}
				}()
				// The echoes come in order, and the pongs in order; a
				// pong may overtake echoes still queued (the goroutine
				// driver's reader answers pings itself).
				var echoes, pongs []expect
				for _, w := range want {
					if w.b0 == 0x8a {
						pongs = append(pongs, w)
					} else {
						echoes = append(echoes, w)
					}
				}
				for i := range want {
					if d.goroutines && len(echoes) == 1 && len(pongs) == 0 {
						c.Write(closeFrame)
					}
					b0, p, err := c.readFrame()
					if err != nil {
						t.Fatalf("seed %d split %d: frame %d of %d: %v", seed, split, i, len(want), err)
					}
					q := &echoes
					if b0 == 0x8a {
						q = &pongs
					}
					if len(*q) == 0 {
						t.Fatalf("seed %d split %d: frame %d: %#x, %d bytes, unexpected", seed, split, i, b0, len(p))
					}
					w := (*q)[0]
					*q = (*q)[1:]
					if b0 != w.b0 || !bytes.Equal(p, w.payload) {
						t.Fatalf("seed %d split %d: frame %d: %#x, %d bytes; want %#x, %d bytes", seed, split, i, b0, len(p), w.b0, len(w.payload))
					}
				}
				c.expectEnd(t, 20*time.Second)
				var ce *ws.CloseError
				if err := h.waitClose(t, nil, 20*time.Second); !errors.As(err, &ce) || ce.Code != ws.CloseNormal {
					t.Errorf("seed %d: OnClose: %v", seed, err)
				}
			}
		})
	}
}

// TestShutdownRacesServe: Shutdown called while Serve is starting leaves
// no event loop running and no listener open.
func TestShutdownRacesServe(t *testing.T) {
	runtime.GC()
	baseG := runtime.NumGoroutine()
	baseFD := countFDs(t)
	for i := range 50 {
		s := &Server{Handler: newAtk(), Loops: 1}
		ln := listenLoopback(t)
		served := make(chan error, 1)
		go func() { served <- s.Serve(ln) }()
		if i%2 == 0 {
			runtime.Gosched()
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if err := <-served; err != ErrServerClosed {
			t.Fatalf("Serve: %v", err)
		}
	}
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= baseG })
	waitFor(t, "descriptors to close", func() bool { return countFDs(t) <= baseFD })
}

// TestFallbackPipelinedAndShutdown: two plain HTTP requests pipelined in
// one write go to the Fallback handler (with the bytes the event loop read
// first), the keep-alive connection then stays idle, and Shutdown ends it
// and returns.
func TestFallbackPipelinedAndShutdown(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := &Server{Handler: newAtk(), Goroutines: d.goroutines, testReadSize: 16,
				Fallback: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.WriteString(w, "page "+r.URL.Path)
				})}
			ln := listenLoopback(t)
			served := make(chan error, 1)
			go func() { served <- s.Serve(ln) }()
			c := dialRaw(t, ln.Addr().String())
			io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
			for _, want := range []string{"page /a", "page /b"} {
				resp, err := http.ReadResponse(c.br, nil)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				if string(body) != want {
					t.Fatalf("body %q, want %q", body, want)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if err := <-served; err != ErrServerClosed {
				t.Errorf("Serve: %v", err)
			}
			c.expectEnd(t, 20*time.Second)
		})
	}
}
