//go:build !js

package ws

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/frame"
)

func compressedPair(t *testing.T, params deflate.Params, threshold int) (*Conn, *Conn) {
	a, b := tcpPair(t)
	srv := NewConn(a, nil, RoleServer, &Options{Compression: &Compression{Params: params, Threshold: threshold}})
	cli := NewConn(b, nil, RoleClient, &Options{Compression: &Compression{Params: params, Threshold: threshold}})
	t.Cleanup(func() { srv.CloseNow(); cli.CloseNow() })
	return srv, cli
}

// Messages round-trip through both directions for every window size and
// takeover mode, with reused and fresh buffers, whole and streamed.
func TestCompressionRoundTripEveryWindowAndTakeover(t *testing.T) {
	text := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 300))
	for bits := 8; bits <= 15; bits++ {
		for _, takeover := range []bool{true, false} {
			params := deflate.Params{ServerMaxWindowBits: bits, ClientMaxWindowBits: bits,
				ServerNoContextTakeover: !takeover, ClientNoContextTakeover: !takeover}
			t.Run(fmt.Sprintf("bits=%d/takeover=%v", bits, takeover), func(t *testing.T) {
				srv, cli := compressedPair(t, params, -1)
				go func() {
					var buf []byte
					for {
						typ, msg, err := srv.ReadMessage(bg, buf)
						if err != nil {
							return
						}
						srv.WriteMessage(bg, typ, msg)
						buf = msg
					}
				}()
				for i, msg := range [][]byte{text, text[:10], {}, text, []byte("ünïcödé"), bytes.Repeat([]byte{0}, 70000)} {
					typ := Text
					if i == 5 {
						typ = Binary
					}
					if i == 3 {
						w, _ := cli.NextWriter(bg, typ)
						w.Write(msg[:100])
						w.Write(msg[100:])
						w.Close()
					} else if err := cli.WriteMessage(bg, typ, msg); err != nil {
						t.Fatal(err)
					}
					gotTyp, got, err := cli.ReadMessage(bg, nil)
					if err != nil || gotTyp != typ || !bytes.Equal(got, msg) {
						t.Fatalf("message %d: %v %v (%d bytes, want %d)", i, gotTyp, err, len(got), len(msg))
					}
				}
				if p, ok := cli.Compression(); !ok || p != params {
					t.Fatalf("Compression() = %v %v", p, ok)
				}
			})
		}
	}
}

// The wire shows RSV1 on compressed messages only, and the payload is raw
// DEFLATE without the trailing 00 00 ff ff (RFC 7692 §7.2.1).
func TestCompressedFramesOnTheWire(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, &Options{Compression: &Compression{Threshold: 20}})
	peer.p.AllowedRSV = frame.RSV1
	c.WriteMessage(bg, Text, []byte("short"))
	long := strings.Repeat("compress me ", 50)
	c.WriteMessage(bg, Text, []byte(long))
	c.WritePing(bg, []byte("never compressed"))
	h, p := peer.expectFrame(frame.OpText)
	if h.Rsv != 0 || string(p) != "short" {
		t.Fatalf("short message: rsv %d %q", h.Rsv, p)
	}
	h, p = peer.expectFrame(frame.OpText)
	if h.Rsv != frame.RSV1 || bytes.HasSuffix(p, []byte{0, 0, 0xff, 0xff}) {
		t.Fatalf("long message: rsv %d, payload ends % x", h.Rsv, p[max(0, len(p)-4):])
	}
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
	got := make([]byte, len(long))
	if _, err := io.ReadFull(r, got); err != nil || string(got) != long {
		t.Fatalf("inflated %q %v", got, err)
	}
	if h, _ := peer.expectFrame(frame.OpPing); h.Rsv != 0 {
		t.Fatal("ping compressed")
	}
}

// A peer's compressed message fragmented into frames, with a ping between
// them, is reassembled and inflated.
func TestFragmentedCompressedMessageFromPeer(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, &Options{Compression: &Compression{}})
	msg := []byte(strings.Repeat("fragmented and compressed ", 100))
	cw := deflate.NewCompressor(15, 6)
	payload := cw.Compress(nil, msg, false)
	h := frame.Header{Fin: false, Rsv: frame.RSV1, Opcode: frame.OpText, Masked: true, Key: [4]byte{1, 2, 3, 4}}
	peer.sendRaw(encodeFrame(h, payload[:10]))
	peer.send(true, frame.OpPing, nil)
	peer.send(true, frame.OpContinuation, payload[10:])
	typ, got, err := c.ReadMessage(bg, nil)
	if err != nil || typ != Text || !bytes.Equal(got, msg) {
		t.Fatalf("%v %v %d", typ, err, len(got))
	}
}

func TestCompressionRuleViolations(t *testing.T) {
	cw := deflate.NewCompressor(15, 6)
	bomb := cw.Compress(nil, make([]byte, 10<<20), false)
	tests := []struct {
		name  string
		build func(p *rawPeer) []byte
		code  CloseCode
	}{
		{"rsv1 on a continuation frame", func(p *rawPeer) []byte {
			first := encodeFrame(frame.Header{Rsv: frame.RSV1, Opcode: frame.OpText, Masked: true}, []byte{0x2a})
			second := encodeFrame(frame.Header{Fin: true, Rsv: frame.RSV1, Opcode: frame.OpContinuation, Masked: true}, []byte{0})
			return append(first, second...)
		}, 1002},
		{"rsv1 on a ping", func(p *rawPeer) []byte {
			return encodeFrame(frame.Header{Fin: true, Rsv: frame.RSV1, Opcode: frame.OpPing, Masked: true}, nil)
		}, 1002},
		{"rsv2 with deflate negotiated", func(p *rawPeer) []byte {
			return encodeFrame(frame.Header{Fin: true, Rsv: frame.RSV2, Opcode: frame.OpText, Masked: true}, nil)
		}, 1002},
		{"compression bomb over the read limit", func(p *rawPeer) []byte {
			return encodeFrame(frame.Header{Fin: true, Rsv: frame.RSV1, Opcode: frame.OpBinary, Masked: true}, bomb)
		}, 1009},
		{"corrupt deflate data", func(p *rawPeer) []byte {
			return encodeFrame(frame.Header{Fin: true, Rsv: frame.RSV1, Opcode: frame.OpBinary, Masked: true}, []byte{0xff, 0xff, 0xff})
		}, 1007},
		{"compressed text that inflates to invalid utf-8", func(p *rawPeer) []byte {
			return encodeFrame(frame.Header{Fin: true, Rsv: frame.RSV1, Opcode: frame.OpText, Masked: true}, cw.Compress(nil, []byte("bad \xff"), false))
		}, 1007},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, peer := newRawPair(t, RoleServer, &Options{ReadLimit: 1 << 20, Compression: &Compression{}})
			peer.sendRaw(tt.build(peer))
			errc := readAsync(c)
			peer.expectClose(tt.code)
			peer.nc.Close()
			if err := <-errc; closeCodeOf(err) != tt.code {
				t.Fatalf("err %v, want close %d", err, tt.code)
			}
		})
	}
}

func TestPreparedMessageCompressedOnceWithoutTakeover(t *testing.T) {
	msg := []byte(strings.Repeat("broadcast ", 100))
	pm, _ := NewPreparedMessage(Text, msg)
	for _, takeover := range []bool{false, true} {
		params := deflate.Params{ServerNoContextTakeover: !takeover}
		srv, cli := compressedPair(t, params, 0)
		for i := 0; i < 3; i++ {
			if err := srv.WritePrepared(bg, pm); err != nil {
				t.Fatal(err)
			}
			if _, got, err := cli.ReadMessage(bg, nil); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("takeover=%v: %v", takeover, err)
			}
		}
	}
	if len(pm.compressed) != 1 {
		t.Fatalf("%d compressed variants, want 1", len(pm.compressed))
	}
}

// With context takeover, a connection that stops sending gives its
// compressor back and keeps only its history; the messages after the pause
// still refer to those before it (the peer inflates them with its own
// history), so a repeated message stays small.
func TestQuietConnectionGivesCompressorBack(t *testing.T) {
	params := deflate.Params{ClientNoContextTakeover: true}
	srv, cli := compressedPair(t, params, -1)
	msg := []byte(strings.Repeat(`{"id":12,"user":"someone","event":"click"},`, 40))
	read := func() {
		t.Helper()
		_, got, err := cli.ReadMessage(bg, nil)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%v, %d bytes", err, len(got))
		}
	}
	// Two messages: the first gives its compressor back at once (see
	// TestFirstMessageParksCompressor), the second, right after it,
	// keeps one.
	for range 2 {
		if err := srv.WriteMessage(bg, Text, msg); err != nil {
			t.Fatal(err)
		}
		read()
	}
	// Quiet for more than two janitor periods: the compressor goes back.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if !srv.msgSem.tryLock() {
			t.Fatal("nobody is writing, yet msgSem is held")
		}
		held := srv.tx.HoldsCompressor()
		hist := srv.tx.ParkedHistory()
		srv.msgSem.unlock()
		if !held {
			if hist != 2*len(msg) {
				t.Fatalf("kept %d bytes of history, want %d (the two messages)", hist, 2*len(msg))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("compressor still held after the connection went quiet")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := srv.WriteMessage(bg, Text, msg); err != nil {
		t.Fatal(err)
	}
	read()
}

// With context takeover, the first message of a connection (or of a spell
// after a quiet one) gives its compressor back right after it, keeping the
// history; a message that follows soon borrows one again and keeps it. The
// peer inflates every message with the history of those before it, so a
// repeated message shrinks from the second on.
func TestFirstMessageParksCompressor(t *testing.T) {
	params := deflate.Params{ClientNoContextTakeover: true}
	srv, cli := compressedPair(t, params, -1)
	msg := []byte(strings.Repeat(`{"id":12,"user":"someone","event":"click"},`, 40))
	held := func() (bool, int) {
		t.Helper()
		if !srv.msgSem.tryLock() {
			t.Fatal("nobody is writing, yet msgSem is held")
		}
		defer srv.msgSem.unlock()
		return srv.tx.HoldsCompressor(), srv.tx.ParkedHistory()
	}
	var prev time.Time
	for i := range 3 {
		start := time.Now()
		if err := srv.WriteMessage(bg, Text, msg); err != nil {
			t.Fatal(err)
		}
		soon := i > 0 && start.Sub(prev) < janitorPeriod/2
		prev = start
		if _, got, err := cli.ReadMessage(bg, nil); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("message %d: %v, %d bytes", i, err, len(got))
		}
		h, hist := held()
		switch {
		case i == 0 && (h || hist != len(msg)):
			t.Fatalf("after the first message: compressor held %v, %d bytes of history kept, want false, %d", h, hist, len(msg))
		case soon && !h:
			// A message that followed the one before within half a
			// janitor period (as they do unless the machine stalls
			// the test) keeps the compressor.
			t.Fatalf("after message %d: compressor given back", i)
		}
	}
}
