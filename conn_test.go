//go:build !js

package ws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/frame"
)

var bg = context.Background()

func TestReadMessageReassemblesFragmentsAroundControlFrames(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, nil)
	peer.send(false, frame.OpText, []byte("Hel"))
	peer.send(true, frame.OpPing, []byte("in between"))
	peer.send(false, frame.OpContinuation, []byte("lo, "))
	peer.send(true, frame.OpPong, []byte("unsolicited"))
	peer.send(true, frame.OpContinuation, []byte("world"))
	typ, msg, err := c.ReadMessage(bg, nil)
	if err != nil || typ != Text || string(msg) != "Hello, world" {
		t.Fatalf("ReadMessage = %v %q %v", typ, msg, err)
	}
	// RFC 6455 §5.5.2: the ping was answered with the same payload.
	_, p := peer.expectFrame(frame.OpPong)
	if string(p) != "in between" {
		t.Fatalf("pong payload %q", p)
	}
}

func TestServerFramesAreUnmaskedAndClientFramesMasked(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		t.Run(role.String(), func(t *testing.T) {
			c, peer := newRawPair(t, role, nil)
			payload := []byte("payload that must not be modified")
			orig := append([]byte(nil), payload...)
			for i := 0; i < 2; i++ {
				if err := c.WriteMessage(bg, Binary, payload); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(payload, orig) {
				t.Fatal("WriteMessage modified the caller's payload")
			}
			h1, p1 := peer.expectFrame(frame.OpBinary)
			h2, _ := peer.expectFrame(frame.OpBinary)
			if h1.Masked != (role == RoleClient) {
				t.Fatalf("masked = %v for a %v", h1.Masked, role)
			}
			if role == RoleClient && h1.Key == h2.Key {
				t.Fatal("two frames used the same masking key")
			}
			if !bytes.Equal(p1, orig) || !h1.Fin {
				t.Fatalf("frame %+v %q", h1, p1)
			}
		})
	}
}

// Each violation fails the connection with the close code the RFC asks for.
func TestProtocolViolationsFailWithCloseCode(t *testing.T) {
	big := make([]byte, 126)
	tests := []struct {
		name string
		role Role
		// frames the peer sends, as raw bytes built by the peer
		build func(p *rawPeer) []byte
		code  closecode.Code
	}{
		{"reserved opcode 3", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(true, 3, nil) }, 1002},
		{"reserved opcode 0xB", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(true, 0xB, nil) }, 1002},
		{"rsv1 without extension", RoleServer, func(p *rawPeer) []byte {
			b := p.frameBytes(true, frame.OpText, []byte("x"))
			b[0] |= 0x40
			return b
		}, 1002},
		{"fragmented ping", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(false, frame.OpPing, nil) }, 1002},
		{"ping over 125 bytes", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(true, frame.OpPing, big) }, 1002},
		{"unmasked frame to server", RoleServer, func(p *rawPeer) []byte { return []byte{0x81, 0x01, 'x'} }, 1002},
		{"masked frame to client", RoleClient, func(p *rawPeer) []byte {
			return encodeFrame(frame.Header{Fin: true, Opcode: frame.OpText, Masked: true}, []byte("x"))
		}, 1002},
		{"continuation without start", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(true, frame.OpContinuation, []byte("x")) }, 1002},
		{"new message inside fragmented", RoleServer, func(p *rawPeer) []byte {
			return append(p.frameBytes(false, frame.OpText, []byte("a")), p.frameBytes(true, frame.OpText, []byte("b"))...)
		}, 1002},
		{"64-bit length msb", RoleClient, func(p *rawPeer) []byte { return []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0} }, 1002},
		{"invalid utf-8 text", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(true, frame.OpText, []byte("ok \xff")) }, 1007},
		{"text ending mid code point", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(true, frame.OpText, []byte("\xe2\x82")) }, 1007},
		{"surrogate in text", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(true, frame.OpText, []byte("\xed\xa0\x80")) }, 1007},
		{"close reason invalid utf-8", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(true, frame.OpClose, []byte{0x03, 0xe8, 0xff}) }, 1007},
		{"close with 1-byte payload", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(true, frame.OpClose, []byte{0x03}) }, 1002},
		{"close with code 1005", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(true, frame.OpClose, []byte{0x03, 0xed}) }, 1002},
		{"close with code 999", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(true, frame.OpClose, []byte{0x03, 0xe7}) }, 1002},
		{"close with code 5000", RoleClient, func(p *rawPeer) []byte { return p.frameBytes(true, frame.OpClose, []byte{0x13, 0x88}) }, 1002},
		{"message over read limit", RoleServer, func(p *rawPeer) []byte { return p.frameBytes(true, frame.OpBinary, make([]byte, 1025)) }, 1009},
		{"fragments over read limit", RoleServer, func(p *rawPeer) []byte {
			return append(p.frameBytes(false, frame.OpBinary, make([]byte, 1000)), p.frameBytes(true, frame.OpContinuation, make([]byte, 25))...)
		}, 1009},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, peer := newRawPair(t, tt.role, &Options{ReadLimit: 1024})
			peer.sendRaw(tt.build(peer))
			errc := readAsync(c)
			peer.expectClose(tt.code)
			// The Conn half-closed and waits for the peer to close.
			peer.expectEOF()
			peer.nc.Close()
			err := <-errc
			if got := closeCodeOf(err); got != tt.code {
				t.Fatalf("ReadMessage error %v has close code %d, want %d", err, got, tt.code)
			}
			// The error sticks.
			if _, _, err2 := c.ReadMessage(bg, nil); err2 != err {
				t.Fatalf("second read: %v, want %v", err2, err)
			}
			if c.State() != StateClosed {
				t.Fatalf("state %v after failing", c.State())
			}
		})
	}
}

// A huge declared length is rejected on the header alone: nothing is
// allocated for it and no payload needs to arrive.
func TestReadLimitRejectsHeaderBeforeAllocating(t *testing.T) {
	c, peer := newRawPair(t, RoleClient, &Options{ReadLimit: 1 << 20})
	peer.sendRaw([]byte{0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0}) // 1 TiB, no payload follows
	go func() {
		peer.expectClose(1009)
		peer.nc.Close()
	}()
	var err error
	var ms1, ms2 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	_, _, err = c.ReadMessage(bg, nil)
	runtime.ReadMemStats(&ms2)
	if closeCodeOf(err) != 1009 {
		t.Fatalf("err = %v", err)
	}
	if grown := ms2.TotalAlloc - ms1.TotalAlloc; grown > 1<<20 {
		t.Fatalf("%d bytes allocated rejecting an oversized header", grown)
	}
}

func TestDefaultReadLimitIs32MiB(t *testing.T) {
	c := NewConn(&recConn{}, nil, RoleServer, nil)
	if c.rx.ReadLimit() != 32<<20 {
		t.Fatalf("default read limit %d", c.rx.ReadLimit())
	}
	c = NewConn(&recConn{}, nil, RoleServer, &Options{ReadLimit: -1})
	if c.rx.ReadLimit() != 0 {
		t.Fatalf("negative ReadLimit gave limit %d, want none", c.rx.ReadLimit())
	}
}

// RFC 6455 §8.1 fail fast: a text message is rejected at its first bad
// frame, without waiting for the rest of the message.
func TestInvalidUTF8FailsAtFirstBadFragment(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, &Options{CloseTimeout: 200 * time.Millisecond})
	peer.send(false, frame.OpText, []byte("valid start "))
	peer.send(false, frame.OpContinuation, []byte("\xc0\xaf")) // overlong '/'
	// The final fragment is never sent.
	done := make(chan error, 1)
	go func() { _, _, err := c.ReadMessage(bg, nil); done <- err }()
	peer.expectClose(1007)
	if err := <-done; closeCodeOf(err) != 1007 {
		t.Fatalf("err = %v", err)
	}
}

func TestMessagesBeforeAnErrorAreDelivered(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, nil)
	var b []byte
	b = append(b, peer.frameBytes(true, frame.OpText, []byte("first"))...)
	b = append(b, peer.frameBytes(true, frame.OpBinary, []byte("second"))...)
	b = append(b, peer.frameBytes(true, 0x5, nil)...) // reserved opcode
	peer.sendRaw(b)
	for _, want := range []string{"first", "second"} {
		_, msg, err := c.ReadMessage(bg, nil)
		if err != nil || string(msg) != want {
			t.Fatalf("got %q %v, want %q", msg, err, want)
		}
	}
	errc := readAsync(c)
	peer.expectClose(1002)
	peer.nc.Close()
	if err := <-errc; closeCodeOf(err) != 1002 {
		t.Fatalf("err = %v", err)
	}
}

// readAsync reads one message on another goroutine and delivers its error.
func readAsync(c *Conn) chan error {
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage(bg, nil)
		errc <- err
	}()
	return errc
}

func TestReceivedCloseIsEchoedAndEndsReads(t *testing.T) {
	tests := []struct {
		name     string
		role     Role
		payload  []byte
		wantCode closecode.Code
		echoCode closecode.Code
		reason   string
	}{
		{"server gets 1001 with reason", RoleServer, []byte("\x03\xe9going"), 1001, 1001, "going"},
		{"server gets no status", RoleServer, nil, closecode.NoStatus, 1000, ""},
		{"client gets 4000", RoleClient, []byte("\x0f\xa0app"), 4000, 4000, "app"},
		{"client gets 1000", RoleClient, []byte("\x03\xe8"), 1000, 1000, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, peer := newRawPair(t, tt.role, &Options{CloseTimeout: time.Second})
			peer.send(true, frame.OpClose, tt.payload)
			if tt.role == RoleClient {
				// The server closes TCP first (RFC 6455 §7.1.1); the
				// client waits for it.
				go func() {
					peer.expectClose(tt.echoCode)
					peer.nc.Close()
				}()
			}
			_, _, err := c.ReadMessage(bg, nil)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != tt.wantCode || ce.Reason != tt.reason {
				t.Fatalf("err = %v, want close %d %q", err, tt.wantCode, tt.reason)
			}
			if tt.role == RoleServer {
				peer.expectClose(tt.echoCode)
				// The server closed TCP right after its echo.
				peer.expectEOF()
			}
			if c.State() != StateClosed {
				t.Fatalf("state %v", c.State())
			}
			if _, _, err2 := c.ReadMessage(bg, nil); err2 != err {
				t.Fatalf("second read: %v", err2)
			}
			if err := c.WriteMessage(bg, Text, []byte("late")); err == nil {
				t.Fatal("write after close succeeded")
			}
		})
	}
}

func TestCloseHandshakeInitiatedLocally(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		t.Run(role.String(), func(t *testing.T) {
			c, peer := newRawPair(t, role, nil)
			go func() {
				// A data message still in flight is dropped by Close.
				peer.send(true, frame.OpText, []byte("in flight"))
				peer.expectClose(4001)
				peer.send(true, frame.OpClose, []byte{0x0f, 0xa1})
				if role == RoleServer {
					peer.expectEOF()
				}
				peer.nc.Close()
			}()
			if err := c.Close(4001, ""); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if c.State() != StateClosed {
				t.Fatalf("state %v", c.State())
			}
		})
	}
}

func TestCloseWithConcurrentReader(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, nil)
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.ReadMessage(bg, nil); err != nil {
				readErr <- err
				return
			}
		}
	}()
	go func() {
		peer.expectClose(1000)
		peer.send(true, frame.OpClose, []byte{0x03, 0xe8})
	}()
	if err := c.Close(CloseNormal, "done"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var ce *CloseError
	if err := <-readErr; !errors.As(err, &ce) || ce.Code != 1000 {
		t.Fatalf("reader got %v", err)
	}
}

func TestCloseTimesOutWhenPeerIsSilent(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, &Options{CloseTimeout: 100 * time.Millisecond})
	if err := c.Close(CloseGoingAway, "bye"); !errors.Is(err, ErrCloseTimeout) {
		t.Fatalf("Close = %v, want ErrCloseTimeout", err)
	}
	if reason := peer.expectClose(1001); reason != "bye" {
		t.Fatalf("reason %q", reason)
	}
	peer.expectEOF()
	if c.State() != StateClosed {
		t.Fatalf("state %v", c.State())
	}
}

func TestCloseRejectsInvalidArguments(t *testing.T) {
	c, _ := newRawPair(t, RoleServer, nil)
	for _, tc := range []struct {
		code   CloseCode
		reason string
	}{{1006, ""}, {1015, ""}, {999, ""}, {2000, ""}, {1000, strings.Repeat("x", 124)}, {1000, "\xff"}} {
		if err := c.Close(tc.code, tc.reason); err == nil {
			t.Errorf("Close(%d, %q) accepted", tc.code, tc.reason)
		}
	}
	if c.State() != StateOpen {
		t.Fatalf("state %v after rejected Close calls", c.State())
	}
}

func TestCloseNowUnblocksReaderAndWriter(t *testing.T) {
	c, _ := newRawPair(t, RoleServer, nil)
	done := make(chan error, 1)
	go func() { _, _, err := c.ReadMessage(bg, nil); done <- err }()
	c.CloseNow()
	if err := <-done; closeCodeOf(err) != CloseAbnormal {
		t.Fatalf("reader got %v, want a 1006 error", err)
	}
	if c.State() != StateClosed {
		t.Fatalf("state %v", c.State())
	}
}

func TestStateTransitions(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, nil)
	if c.State() != StateOpen {
		t.Fatalf("new conn state %v", c.State())
	}
	closing := make(chan State, 1)
	go func() {
		peer.expectClose(1000)
		closing <- c.State()
		peer.send(true, frame.OpClose, nil)
	}()
	c.Close(CloseNormal, "")
	if s := <-closing; s != StateClosing {
		t.Fatalf("state after close sent: %v", s)
	}
	if c.State() != StateClosed {
		t.Fatalf("final state %v", c.State())
	}
}

func TestPingWaitsForPong(t *testing.T) {
	c, peer := newRawPair(t, RoleClient, nil)
	go c.ReadMessage(bg, nil) // the reader that sees the pong
	errc := make(chan error, 1)
	go func() { errc <- c.Ping(bg) }()
	_, p := peer.expectFrame(frame.OpPing)
	select {
	case err := <-errc:
		t.Fatalf("Ping returned %v before the pong", err)
	case <-time.After(20 * time.Millisecond):
	}
	peer.send(true, frame.OpPong, []byte("unrelated"))
	peer.send(true, frame.OpPong, p)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	if err := c.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered Ping = %v", err)
	}
}

func TestPingAndPongHooks(t *testing.T) {
	var pings, pongs []string
	c, peer := newRawPair(t, RoleServer, &Options{
		OnPing: func(p []byte) { pings = append(pings, string(p)) },
		OnPong: func(p []byte) { pongs = append(pongs, string(p)) },
	})
	peer.send(true, frame.OpPing, []byte("a"))
	peer.send(true, frame.OpPong, []byte("b"))
	peer.send(true, frame.OpText, []byte("c"))
	if _, msg, err := c.ReadMessage(bg, nil); err != nil || string(msg) != "c" {
		t.Fatal(msg, err)
	}
	if fmt.Sprint(pings, pongs) != "[a] [b]" {
		t.Fatalf("hooks saw %v %v", pings, pongs)
	}
}

func TestConcurrentWritersNeverInterleave(t *testing.T) {
	srv, cli := newPair(t)
	const writers, each = 64, 20
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				msg := bytes.Repeat([]byte{byte(w)}, 100+w*37+i)
				if i%3 == 0 {
					// Streamed messages take part too.
					wr, err := cli.NextWriter(bg, Binary)
					if err != nil {
						t.Error(err)
						return
					}
					wr.Write(msg[:len(msg)/2])
					wr.Write(msg[len(msg)/2:])
					if err := wr.Close(); err != nil {
						t.Error(err)
					}
					continue
				}
				if err := cli.WriteMessage(bg, Binary, msg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	go func() {
		for i := 0; i < 10; i++ {
			cli.Ping(bg)
		}
	}()
	go cli.ReadMessage(bg, nil) // sees the pongs
	counts := map[byte]int{}
	var buf []byte
	for n := 0; n < writers*each; n++ {
		_, msg, err := srv.ReadMessage(bg, buf)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg) == 0 || !bytes.Equal(msg, bytes.Repeat(msg[:1], len(msg))) {
			t.Fatalf("message %d is interleaved", n)
		}
		counts[msg[0]]++
		buf = msg
	}
	wg.Wait()
	for w := 0; w < writers; w++ {
		if counts[byte(w)] != each {
			t.Fatalf("writer %d: %d messages", w, counts[byte(w)])
		}
	}
}

// newPair returns a server and a client Conn over loopback TCP.
func newPair(t testing.TB) (*Conn, *Conn) {
	a, b := tcpPair(t)
	opts := &Options{CloseTimeout: time.Second}
	srv := NewConn(a, nil, RoleServer, opts)
	cli := NewConn(b, nil, RoleClient, opts)
	t.Cleanup(func() { srv.CloseNow(); cli.CloseNow() })
	return srv, cli
}

func TestControlFramesGoOutBetweenFragments(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, &Options{FragmentSize: 4})
	w, err := c.NextWriter(bg, Text)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("abcd")) // one full fragment goes out
	peer.expectFrame(frame.OpText)
	// The peer pings; the reader answers while the message is open.
	peer.send(true, frame.OpPing, []byte("p"))
	peer.send(true, frame.OpBinary, []byte("x"))
	if _, _, err := c.ReadMessage(bg, nil); err != nil {
		t.Fatal(err)
	}
	peer.expectFrame(frame.OpPong)
	// Another data message waits for the open one.
	second := make(chan error, 1)
	go func() { second <- c.WriteMessage(bg, Binary, []byte("next")) }()
	w.Write([]byte("ef"))
	w.Close()
	h, p := peer.expectFrame(frame.OpContinuation)
	if !h.Fin || string(p) != "ef" {
		t.Fatalf("final fragment %+v %q", h, p)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	peer.expectFrame(frame.OpBinary)
}

func TestNextWriterFragmentsAtFragmentSize(t *testing.T) {
	c, peer := newRawPair(t, RoleClient, &Options{FragmentSize: 10})
	w, _ := c.NextWriter(bg, Binary)
	w.Write(bytes.Repeat([]byte("a"), 7))
	w.Write(bytes.Repeat([]byte("b"), 25))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrWriterClosed) {
		t.Fatalf("write after Close = %v", err)
	}
	var sizes []int
	var all []byte
	for {
		h, p, err := peer.next()
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(p))
		all = append(all, p...)
		if h.Fin {
			break
		}
	}
	if fmt.Sprint(sizes) != "[10 10 10 2]" || string(all) != strings.Repeat("a", 7)+strings.Repeat("b", 25) {
		t.Fatalf("fragments %v", sizes)
	}
}

func TestNextReaderStreamsAndStaleReadersFail(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, nil)
	peer.send(false, frame.OpBinary, []byte("0123"))
	peer.send(true, frame.OpContinuation, []byte("4567"))
	peer.send(true, frame.OpText, []byte("second"))
	peer.send(true, frame.OpText, []byte("third"))
	typ, r, err := c.NextReader(bg)
	if err != nil || typ != Binary {
		t.Fatal(typ, err)
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "01234567" {
		t.Fatalf("ReadAll = %q %v", got, err)
	}
	_, r2, _ := c.NextReader(bg)
	var b [3]byte
	r2.Read(b[:]) // read part, then abandon
	_, msg, err := c.ReadMessage(bg, nil)
	if err != nil || string(msg) != "third" {
		t.Fatalf("after abandoned reader: %q %v", msg, err)
	}
	if _, err := r2.Read(b[:]); !errors.Is(err, ErrStaleReader) {
		t.Fatalf("stale reader Read = %v", err)
	}
}

func TestBufferedHandshakeBytesAreReadFirst(t *testing.T) {
	a, b := tcpPair(t)
	peer := &rawPeer{t: t, nc: b, client: true}
	early := peer.frameBytes(true, frame.OpText, []byte("sent with the handshake"))
	c := NewConn(a, early[:5], RoleServer, nil)
	peer.sendRaw(early[5:])
	peer.send(true, frame.OpText, []byte("later"))
	for _, want := range []string{"sent with the handshake", "later"} {
		_, msg, err := c.ReadMessage(bg, nil)
		if err != nil || string(msg) != want {
			t.Fatalf("%q %v, want %q", msg, err, want)
		}
	}
}

func TestReadContextCancelClosesConn(t *testing.T) {
	c, _ := newRawPair(t, RoleServer, nil)
	ctx, cancel := context.WithCancel(bg)
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, _, err := c.ReadMessage(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if c.State() != StateClosed {
		t.Fatalf("state %v", c.State())
	}
	ctx2, cancel2 := context.WithTimeout(bg, 10*time.Millisecond)
	defer cancel2()
	c2, _ := newRawPair(t, RoleClient, nil)
	if _, _, err := c2.ReadMessage(ctx2, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: err = %v", err)
	}
}

func TestWriteContextAlreadyDone(t *testing.T) {
	c, _ := newRawPair(t, RoleServer, nil)
	w, _ := c.NextWriter(bg, Text) // holds the message slot
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := c.WriteMessage(ctx, Text, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	w.Close()
	if err := c.WriteMessage(bg, Text, []byte("x")); err != nil {
		t.Fatal(err)
	}
}

func TestServeDispatchesEvents(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, nil)
	var events []string
	peer.send(true, frame.OpText, []byte("hello"))
	peer.send(true, frame.OpPing, []byte("p"))
	peer.send(true, frame.OpPong, []byte("q"))
	peer.send(true, frame.OpBinary, []byte{1, 2})
	peer.send(true, frame.OpClose, []byte("\x03\xe8bye"))
	err := c.Serve(bg, Handler{
		OnMessage: func(typ MessageType, data []byte) { events = append(events, fmt.Sprintf("%v:%q", typ, data)) },
		OnPing:    func(p []byte) { events = append(events, "ping:"+string(p)) },
		OnPong:    func(p []byte) { events = append(events, "pong:"+string(p)) },
		OnClose:   func(code CloseCode, reason string) { events = append(events, fmt.Sprintf("close:%d:%s", code, reason)) },
	})
	var ce *CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("Serve = %v", err)
	}
	want := `[text:"hello" ping:p pong:q binary:"\x01\x02" close:1000:bye]`
	if fmt.Sprint(events) != want {
		t.Fatalf("events %v\nwant   %v", events, want)
	}
	peer.expectFrame(frame.OpPong)
	peer.expectClose(1000)
}

func TestEndToEndLoopbackSizes(t *testing.T) {
	srv, cli := newPair(t)
	go func() {
		var buf []byte
		for {
			typ, msg, err := srv.ReadMessage(bg, buf)
			if err != nil {
				return
			}
			if err := srv.WriteMessage(bg, typ, msg); err != nil {
				return
			}
			buf = msg
		}
	}()
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 65537, 4 << 20} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		if err := cli.WriteMessage(bg, Binary, p); err != nil {
			t.Fatal(err)
		}
		typ, got, err := cli.ReadMessage(bg, nil)
		if err != nil || typ != Binary || !bytes.Equal(got, p) {
			t.Fatalf("size %d: %v %v", n, typ, err)
		}
	}
	done := make(chan error)
	go func() { _, _, err := cli.ReadMessage(bg, nil); done <- err }()
	if err := srv.Close(CloseNormal, "done"); err != nil {
		t.Fatal(err)
	}
	var ce *CloseError
	if err := <-done; !errors.As(err, &ce) || ce.Code != 1000 || ce.Reason != "done" {
		t.Fatalf("client saw %v", err)
	}
}

func TestInvalidMessageTypeRejected(t *testing.T) {
	c := NewConn(&recConn{}, nil, RoleServer, nil)
	if err := c.WriteMessage(bg, MessageType(frame.OpPing), nil); !errors.Is(err, ErrInvalidMessageType) {
		t.Fatal(err)
	}
	if _, err := c.NextWriter(bg, 0); !errors.Is(err, ErrInvalidMessageType) {
		t.Fatal(err)
	}
}

// The same exchange over net.Pipe, which has no kernel buffer: every write
// waits for the other side to read, so any read/write ordering bug in the
// close handshake deadlocks here.
func TestEndToEndPipe(t *testing.T) {
	a, b := net.Pipe()
	srv := NewConn(a, nil, RoleServer, &Options{CloseTimeout: 2 * time.Second})
	cli := NewConn(b, nil, RoleClient, &Options{CloseTimeout: 2 * time.Second})
	defer srv.CloseNow()
	defer cli.CloseNow()
	srvErr := make(chan error, 1)
	go func() {
		var buf []byte
		for {
			typ, msg, err := srv.ReadMessage(bg, buf)
			if err != nil {
				srvErr <- err
				return
			}
			if err := srv.WriteMessage(bg, typ, msg); err != nil {
				srvErr <- err
				return
			}
			buf = msg
		}
	}()
	for _, n := range []int{0, 125, 126, 65536, 1 << 20} {
		p := bytes.Repeat([]byte("é"), n/2)
		if err := cli.WriteMessage(bg, Text, p); err != nil {
			t.Fatal(err)
		}
		if _, got, err := cli.ReadMessage(bg, nil); err != nil || !bytes.Equal(got, p) {
			t.Fatalf("size %d: %v", n, err)
		}
	}
	if err := cli.Close(CloseNormal, "pipe done"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var ce *CloseError
	if err := <-srvErr; !errors.As(err, &ce) || ce.Reason != "pipe done" {
		t.Fatalf("server saw %v", err)
	}
}

// Close reading on its own (nobody else reads) keeps the messages that
// arrive before the peer's close for the application's next reads.
func TestCloseKeepsMessagesReceivedBeforePeerClose(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, nil)
	go func() {
		peer.expectClose(1000)
		peer.send(true, frame.OpText, []byte("late one"))
		peer.send(false, frame.OpBinary, []byte("late "))
		peer.send(true, frame.OpContinuation, []byte("two"))
		peer.send(true, frame.OpClose, []byte{0x03, 0xe8})
	}()
	if err := c.Close(CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	_, m1, err1 := c.ReadMessage(bg, nil)
	typ, r, err2 := c.NextReader(bg)
	if err1 != nil || err2 != nil || string(m1) != "late one" || typ != Binary {
		t.Fatalf("%q %v %v %v", m1, err1, typ, err2)
	}
	if m2, _ := io.ReadAll(r); string(m2) != "late two" {
		t.Fatalf("second message %q", m2)
	}
	var ce *CloseError
	if _, _, err := c.ReadMessage(bg, nil); !errors.As(err, &ce) || ce.Code != 1000 {
		t.Fatalf("then %v", err)
	}
}

func TestSetReadLimitAppliesFromNextMessage(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, &Options{ReadLimit: 10})
	peer.send(true, frame.OpText, []byte("short"))
	if _, _, err := c.ReadMessage(bg, nil); err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(4)
	peer.send(true, frame.OpText, []byte("short"))
	errc := readAsync(c)
	peer.expectClose(1009)
	peer.nc.Close()
	if err := <-errc; closeCodeOf(err) != 1009 {
		t.Fatalf("err = %v", err)
	}
}

func TestWriteTimeoutFailsStalledWrite(t *testing.T) {
	c, _ := newRawPair(t, RoleServer, &Options{WriteTimeout: 50 * time.Millisecond})
	// The peer never reads: the socket buffers fill and a write stalls.
	big := make([]byte, 1<<20)
	var err error
	for i := 0; i < 64 && err == nil; i++ {
		err = c.WriteMessage(bg, Binary, big)
	}
	if err == nil {
		t.Fatal("64 MiB written to a peer that never reads")
	}
	if c.State() != StateClosed {
		t.Fatalf("state %v after a timed-out write", c.State())
	}
}

func TestWritePingDoesNotWait(t *testing.T) {
	var got []string
	c, peer := newRawPair(t, RoleServer, &Options{OnPong: func(p []byte) { got = append(got, string(p)) }})
	if err := c.WritePing(bg, []byte("hb-1")); err != nil {
		t.Fatal(err)
	}
	_, p := peer.expectFrame(frame.OpPing)
	peer.send(true, frame.OpPong, p)
	peer.send(true, frame.OpText, []byte("x"))
	c.ReadMessage(bg, nil)
	if fmt.Sprint(got) != "[hb-1]" {
		t.Fatalf("pongs %v", got)
	}
	if err := c.WritePing(bg, make([]byte, 126)); err == nil {
		t.Fatal("126-byte ping accepted")
	}
}

// Close called from a Serve callback returns at once; Serve then completes
// the close handshake.
func TestCloseFromServeCallback(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, &Options{CloseTimeout: 5 * time.Second})
	c.opts.CloseTimeout = 300 * time.Millisecond
	peer.send(true, frame.OpText, []byte("please close"))
	closeReturned := make(chan struct{})
	go func() {
		peer.expectClose(4000)
		// The peer answers only once Close has returned: a Close that
		// waited for the answer would time out instead.
		<-closeReturned
		peer.send(true, frame.OpClose, []byte{0x0f, 0xa0})
	}()
	var closeErr error
	err := c.Serve(bg, Handler{OnMessage: func(MessageType, []byte) {
		closeErr = c.Close(4000, "bye")
		close(closeReturned)
	}})
	var ce *CloseError
	if closeErr != nil || !errors.As(err, &ce) || ce.Code != 4000 {
		t.Fatalf("Close = %v, Serve = %v", closeErr, err)
	}
}

// A ping answered while another goroutine's write is stuck (the peer does
// not read) must not keep a read past its context: the pong waits under the
// read's context.
func TestReadContextBoundsPongBehindStuckWriter(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, nil)
	writing := make(chan struct{})
	go func() {
		close(writing)
		c.WriteMessage(bg, Binary, make([]byte, 64<<20)) // fills the socket buffers and blocks
	}()
	<-writing
	peer.send(true, frame.OpPing, []byte("are you there"))
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	if _, _, err := c.ReadMessage(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadMessage = %v, want the context's deadline", err)
	}
}
