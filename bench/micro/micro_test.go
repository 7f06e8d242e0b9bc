package micro

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	stdutf8 "unicode/utf8"

	coder "github.com/coder/websocket"
	gobwas "github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"
	"github.com/lxzan/gws"
	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/mask"
	"github.com/rfc6455/ws/utf8"
)

var sizes = []int{16, 128, 1 << 10, 16 << 10, 64 << 10}

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// Masking: gorilla's, coder's and gws's maskers are not exported.
func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, n := range sizes {
		buf := make([]byte, n)
		b.Run("ours/"+sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				mask.Apply(key, 0, buf)
			}
		})
		b.Run("gobwas/"+sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				gobwas.Cipher(buf, key, 0)
			}
		})
	}
}

// headers are the three length encodings, as masked client frames.
var headers = []struct {
	name string
	len  int64
}{{"7bit", 100}, {"16bit", 1000}, {"64bit", 100000}}

func BenchmarkHeaderParse(b *testing.B) {
	for _, h := range headers {
		hdr := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Key: [4]byte{1, 2, 3, 4}, Length: h.len})
		b.Run("ours/"+h.name, func(b *testing.B) {
			p := frame.Parser{Role: frame.Server}
			for b.Loop() {
				ev, _, err := p.Feed(hdr)
				if err != nil || ev.Kind != frame.HeaderEvent {
					b.Fatal(ev.Kind, err)
				}
				p.Consume(int(p.Remaining())) // skip the payload
			}
		})
		b.Run("gobwas/"+h.name, func(b *testing.B) {
			r := bytes.NewReader(hdr)
			for b.Loop() {
				r.Reset(hdr)
				if _, err := gobwas.ReadHeader(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// sink is a writer that keeps the last bytes written, so that nothing is
// optimised away.
type sink struct{ b [16]byte }

func (s *sink) Write(p []byte) (int, error) { copy(s.b[:], p); return len(p), nil }

func BenchmarkHeaderWrite(b *testing.B) {
	for _, h := range headers {
		b.Run("ours/"+h.name, func(b *testing.B) {
			var buf [frame.MaxHeaderSize]byte
			fh := frame.Header{Fin: true, Opcode: frame.OpBinary, Length: h.len}
			for b.Loop() {
				frame.PutHeader(buf[:], fh)
			}
		})
		b.Run("gobwas/"+h.name, func(b *testing.B) {
			var w sink
			gh := gobwas.Header{Fin: true, OpCode: gobwas.OpBinary, Length: h.len}
			for b.Loop() {
				if err := gobwas.WriteHeader(&w, gh); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUTF8(b *testing.B) {
	texts := map[string]string{
		"ascii": "The quick brown fox jumps over the lazy dog. ",
		"mixed": "Ünïcödé – 日本語のテキスト, ελληνικά, emoji 🙂🚀; ",
	}
	for _, kind := range []string{"ascii", "mixed"} {
		for _, n := range []int{16, 1 << 10, 64 << 10} {
			s := strings.Repeat(texts[kind], n/len(texts[kind])+1)
			p := []byte(s)[:n]
			for !stdutf8.Valid(p) { // do not cut a character in two
				p = p[:len(p)-1]
			}
			name := kind + "/" + sizeName(n)
			b.Run("ours/"+name, func(b *testing.B) {
				b.SetBytes(int64(len(p)))
				for b.Loop() {
					if !utf8.Valid(p) {
						b.Fatal("invalid")
					}
				}
			})
			b.Run("stdlib/"+name, func(b *testing.B) {
				b.SetBytes(int64(len(p)))
				for b.Loop() {
					if !stdutf8.Valid(p) {
						b.Fatal("invalid")
					}
				}
			})
		}
	}
}

var messageSizes = []int{16, 1 << 10, 64 << 10}

// BenchmarkReadMessage reads one masked binary message per operation on
// the server side, in each library's usual way.
func BenchmarkReadMessage(b *testing.B) {
	ctx := context.Background()
	for _, n := range messageSizes {
		payload := bytes.Repeat([]byte{0xa5}, n)
		frameBytes := clientFrame(payload)
		newConn := func(b *testing.B) *memConn {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			return &memConn{frame: frameBytes, frames: -1}
		}
		b.Run("ours/"+sizeName(n), func(b *testing.B) {
			c := ws.NewConn(newConn(b), nil, ws.RoleServer, nil)
			var buf []byte
			for b.Loop() {
				_, msg, err := c.ReadMessage(ctx, buf[:0])
				if err != nil || len(msg) != n {
					b.Fatal(len(msg), err)
				}
				buf = msg
			}
		})
		b.Run("gorilla/"+sizeName(n), func(b *testing.B) {
			up := websocket.Upgrader{}
			c, err := up.Upgrade(&hijackWriter{conn: newConn(b)}, upgradeRequest(), nil)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				_, msg, err := c.ReadMessage()
				if err != nil || len(msg) != n {
					b.Fatal(len(msg), err)
				}
			}
		})
		b.Run("coder/"+sizeName(n), func(b *testing.B) {
			c, err := coder.Accept(&hijackWriter{conn: newConn(b)}, upgradeRequest(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseNow()
			c.SetReadLimit(1 << 20)
			for b.Loop() {
				_, msg, err := c.Read(ctx)
				if err != nil || len(msg) != n {
					b.Fatal(len(msg), err)
				}
			}
		})
		b.Run("gobwas/"+sizeName(n), func(b *testing.B) {
			c := newConn(b)
			for b.Loop() {
				msg, _, err := wsutil.ReadClientData(c)
				if err != nil || len(msg) != n {
					b.Fatal(len(msg), err)
				}
			}
		})
		b.Run("gws/"+sizeName(n), func(b *testing.B) {
			// gws reads in its own loop and calls OnMessage: serve b.N
			// frames and let ReadLoop run until they run out.
			mc := newConn(b)
			h := &gwsCounter{want: n}
			up := gws.NewUpgrader(h, nil)
			socket, err := up.Upgrade(&hijackWriter{conn: mc}, upgradeRequest())
			if err != nil {
				b.Fatal(err)
			}
			mc.frames = b.N
			b.ResetTimer()
			socket.ReadLoop()
			if h.n != b.N || h.bad != 0 {
				b.Fatalf("%d messages (%d bad), want %d", h.n, h.bad, b.N)
			}
		})
	}
}

type gwsCounter struct {
	gws.BuiltinEventHandler
	want, n, bad int
}

func (h *gwsCounter) OnMessage(_ *gws.Conn, m *gws.Message) {
	if m.Data.Len() != h.want {
		h.bad++
	}
	h.n++
	m.Close()
}

// BenchmarkWriteMessage writes one binary message per operation on the
// server side (unmasked), in each library's usual way.
func BenchmarkWriteMessage(b *testing.B) {
	ctx := context.Background()
	for _, n := range messageSizes {
		payload := bytes.Repeat([]byte{0xa5}, n)
		newConn := func(b *testing.B) *memConn {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			return &memConn{frames: 0}
		}
		b.Run("ours/"+sizeName(n), func(b *testing.B) {
			c := ws.NewConn(newConn(b), nil, ws.RoleServer, nil)
			for b.Loop() {
				if err := c.WriteMessage(ctx, ws.Binary, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("gorilla/"+sizeName(n), func(b *testing.B) {
			up := websocket.Upgrader{}
			c, err := up.Upgrade(&hijackWriter{conn: newConn(b)}, upgradeRequest(), nil)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := c.WriteMessage(websocket.BinaryMessage, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("coder/"+sizeName(n), func(b *testing.B) {
			c, err := coder.Accept(&hijackWriter{conn: newConn(b)}, upgradeRequest(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseNow()
			for b.Loop() {
				if err := c.Write(ctx, coder.MessageBinary, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("gobwas/"+sizeName(n), func(b *testing.B) {
			c := newConn(b)
			for b.Loop() {
				if err := wsutil.WriteServerMessage(c, gobwas.OpBinary, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("gws/"+sizeName(n), func(b *testing.B) {
			up := gws.NewUpgrader(&gws.BuiltinEventHandler{}, nil)
			socket, err := up.Upgrade(&hijackWriter{conn: newConn(b)}, upgradeRequest())
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := socket.WriteMessage(gws.OpcodeBinary, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The benchmarks' connections must really be what they seem: a message
// read over memConn by every library comes out whole.
func TestMemConnCarriesMessagesForEveryLibrary(t *testing.T) {
	payload := []byte("hello, in-memory world")
	ctx := context.Background()
	mc := func() *memConn { return &memConn{frame: clientFrame(payload), frames: 2} }

	if _, msg, err := ws.NewConn(mc(), nil, ws.RoleServer, nil).ReadMessage(ctx, nil); err != nil || !bytes.Equal(msg, payload) {
		t.Errorf("ours: %q, %v", msg, err)
	}
	gc, err := (&websocket.Upgrader{}).Upgrade(&hijackWriter{conn: mc()}, upgradeRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, msg, err := gc.ReadMessage(); err != nil || !bytes.Equal(msg, payload) {
		t.Errorf("gorilla: %q, %v", msg, err)
	}
	cc, err := coder.Accept(&hijackWriter{conn: mc()}, upgradeRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.CloseNow()
	if _, msg, err := cc.Read(ctx); err != nil || !bytes.Equal(msg, payload) {
		t.Errorf("coder: %q, %v", msg, err)
	}
	if msg, _, err := wsutil.ReadClientData(mc()); err != nil || !bytes.Equal(msg, payload) {
		t.Errorf("gobwas: %q, %v", msg, err)
	}
	h := &gwsCounter{want: len(payload)}
	socket, err := gws.NewUpgrader(h, nil).Upgrade(&hijackWriter{conn: mc()}, upgradeRequest())
	if err != nil {
		t.Fatal(err)
	}
	socket.ReadLoop()
	if h.n != 2 || h.bad != 0 {
		t.Errorf("gws: %d messages, %d bad", h.n, h.bad)
	}
	var _ http.ResponseWriter = &hijackWriter{}
}
