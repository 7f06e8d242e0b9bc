package loop

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
)

// The limits of issue 16, tested on both drivers: a server that reads its
// own sockets must be as strict as the goroutine server.

// rawConn is a hand-written client: requests and frames as bytes, so that
// a test can send what no well-behaved client would.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

// dialRaw opens a TCP connection to addr, with a small receive buffer (set
// before connect, so that the window is small too): a client that does not
// read fills it soon.
func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return nil
	}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(15 * time.Second))
	return &rawConn{Conn: nc, br: bufio.NewReader(nc)}
}

// upgradeRequest is a valid opening handshake request with extra header
// lines.
func upgradeRequest(extra string) string {
	return "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
}

// upgrade does the opening handshake and fails the test without a 101.
func (c *rawConn) upgrade(t *testing.T, extra string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(c, upgradeRequest(extra)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	return resp
}

// clientFrame is a masked frame as a client sends it; length, if not
// negative, is the length announced instead of len(payload).
func clientFrame(b0 byte, payload []byte, length int) []byte {
	if length < 0 {
		length = len(payload)
	}
	out := []byte{b0}
	switch {
	case length < 126:
		out = append(out, 0x80|byte(length))
	case length < 1<<16:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(length))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(length))
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	out = append(out, key[:]...)
	for i, b := range payload {
		out = append(out, b^key[i&3])
	}
	return out
}

// readFrame reads one unmasked server frame.
func (c *rawConn) readFrame() (b0 byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(c.br, l[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(c.br, l[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint64(l[:]))
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(c.br, payload)
	return h[0], payload, err
}

// expectClose reads frames up to a close frame and checks its code.
func (c *rawConn) expectClose(t *testing.T, want ws.CloseCode) {
	t.Helper()
	for {
		b0, p, err := c.readFrame()
		if err != nil {
			t.Fatalf("no close frame %d: %v", want, err)
		}
		if b0&0x0f != 0x8 {
			continue
		}
		if len(p) < 2 {
			t.Fatalf("close frame without a code, want %d", want)
		}
		if got := ws.CloseCode(binary.BigEndian.Uint16(p)); got != want {
			t.Fatalf("close code %d (%q), want %d", got, p[2:], want)
		}
		return
	}
}

// expectEnd checks that the server closes the connection within d.
func (c *rawConn) expectEnd(t *testing.T, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c.br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %v", d)
	}
}

func TestHandshakeTimeoutClosesSlowClients(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := &Server{Handler: newEcho(), Goroutines: d.goroutines}
			s.Options.HandshakeTimeout = 300 * time.Millisecond
			addr := start(t, s)
			// Slowloris: a request head sent a line at a time, never
			// finished, and a connection that sends nothing.
			slow, silent := dialRaw(t, addr), dialRaw(t, addr)
			begin := time.Now()
			io.WriteString(slow, "GET / HTTP/1.1\r\n")
			go func() {
				for range 20 {
					time.Sleep(50 * time.Millisecond)
					if _, err := io.WriteString(slow, "X-Slow: 1\r\n"); err != nil {
						return
					}
				}
			}()
			slow.expectEnd(t, 5*time.Second)
			silent.expectEnd(t, 5*time.Second)
			if e := time.Since(begin); e < 250*time.Millisecond {
				t.Errorf("closed after %v, before the timeout", e)
			}
		})
	}
}

func TestHeaderLimitAnswers431(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := &Server{Handler: newEcho(), Goroutines: d.goroutines, MaxHeaderBytes: 1024}
			addr := start(t, s)
			for _, req := range []string{
				upgradeRequest("X-Big: " + strings.Repeat("a", 2000) + "\r\n"),
				// A head that never ends: the limit applies before
				// its end is seen.
				"GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 4000),
			} {
				c := dialRaw(t, addr)
				io.WriteString(c, req)
				resp, err := http.ReadResponse(c.br, nil)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
					t.Errorf("status %d, want 431", resp.StatusCode)
				}
				c.expectEnd(t, 5*time.Second)
			}
			// Within the limit, the same server upgrades.
			dialRaw(t, addr).upgrade(t, "X-Small: "+strings.Repeat("a", 500)+"\r\n")
		})
	}
}

func TestReadLimitCheckedOnTheHeader(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			h := newEcho()
			s := &Server{Handler: h, Goroutines: d.goroutines}
			s.Options.Conn.ReadLimit = 1000
			addr := start(t, s)
			c := dialRaw(t, addr)
			c.upgrade(t, "")
			// Within the limit: echoed.
			c.Write(clientFrame(0x82, bytes.Repeat([]byte{'x'}, 1000), -1))
			if b0, p, err := c.readFrame(); err != nil || b0 != 0x82 || len(p) != 1000 {
				t.Fatalf("echo: %#x, %d bytes, %v", b0, len(p), err)
			}
			// A header announcing 1 MiB, and no payload: 1009 at
			// once, without waiting for (or buffering) the payload.
			c.Write(clientFrame(0x82, nil, 1<<20))
			c.expectClose(t, ws.CloseMessageTooBig)
			c.Close()
			// A message over the limit in fragments: 1009 on the
			// fragment that passes it.
			c2 := dialRaw(t, addr)
			c2.upgrade(t, "")
			c2.Write(clientFrame(0x02, bytes.Repeat([]byte{'x'}, 600), -1))
			c2.Write(clientFrame(0x80, nil, 600))
			c2.expectClose(t, ws.CloseMessageTooBig)
			c2.Close()
			for range 2 {
				select {
				case err := <-h.done:
					var ce *ws.CloseError
					if errors.As(err, &ce) {
						t.Errorf("OnClose: %v, want the broken rule", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("no OnClose")
				}
			}
		})
	}
}

func TestCompressionBombFails1009(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := &Server{Handler: newEcho(), Goroutines: d.goroutines}
			s.Options.Compression = &deflate.ServerConfig{}
			s.Options.Conn.ReadLimit = 64 << 10
			addr := start(t, s)
			c := dialRaw(t, addr)
			resp := c.upgrade(t, "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n")
			if !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
				t.Fatalf("permessage-deflate declined: %q", resp.Header.Get("Sec-WebSocket-Extensions"))
			}
			// 16 MiB of zeros compress to about 16 KiB: under the
			// limit on the wire, 256 times over it inflated.
			z := deflate.NewCompressor(15, 9).Compress(nil, make([]byte, 16<<20), false)
			if len(z) >= 64<<10 {
				t.Fatalf("the bomb is %d bytes compressed", len(z))
			}
			c.Write(clientFrame(0xc2, z, -1)) // FIN, RSV1, binary
			c.expectClose(t, ws.CloseMessageTooBig)
		})
	}
}

// TestPeerThatNeverReads: messages for a peer that reads nothing fill its
// socket, then the send queue up to Policy.QueueBytes; the next one
// overflows (CloseSlow: 1013, the queue dropped), and since the peer does
// not read the close frame either, the close timeout ends the connection.
func TestPeerThatNeverReads(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			h := newEcho()
			got := make(chan *Conn, 1)
			s := &Server{
				Handler:    &openRecorder{echoHandler: h, got: got},
				Goroutines: d.goroutines,
				Policy:     Policy{QueueBytes: 64 << 10, Overflow: CloseSlow},
			}
			s.Options.Conn.CloseTimeout = 300 * time.Millisecond
			addr := start(t, s)
			c := dialRaw(t, addr)
			c.upgrade(t, "")
			sc := <-got
			msg := bytes.Repeat([]byte{'m'}, 1<<10)
			var err error
			sent := 0
			deadline := time.Now().Add(10 * time.Second)
			for ; time.Now().Before(deadline); sent++ {
				if err = sc.Send(ws.Binary, msg); err != nil {
					break
				}
				if b := sc.BufferedAmount(); b > 64<<10+1<<10 {
					t.Fatalf("BufferedAmount %d, over the bound", b)
				}
				if sent%64 == 63 {
					time.Sleep(time.Millisecond) // the goroutine driver's writer runs
				}
			}
			if !errors.Is(err, ErrQueueFull) {
				t.Fatalf("after %d messages: %v, want ErrQueueFull", sent, err)
			}
			select {
			case err := <-h.done:
				if !errors.Is(err, ErrQueueFull) {
					t.Errorf("OnClose: %v, want ErrQueueFull", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the connection of a peer that never reads was not closed")
			}
			t.Logf("%d messages of 1 KiB taken before the overflow", sent)
		})
	}
}

// openHandler returns a Handler that sends each opened connection to got
// and does nothing else.
func openHandler(got chan<- *Conn) Handler {
	return &openRecorder{echoHandler: newEcho(), got: got}
}

// openRecorder is an echoHandler that also hands each opened connection
// to the test.
type openRecorder struct {
	*echoHandler
	got  chan<- *Conn
	once sync.Once
}

func (h *openRecorder) OnOpen(c *Conn) {
	h.echoHandler.OnOpen(c)
	h.once.Do(func() { h.got <- c })
}
