package wsproto_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/wsproto"
)

// pair returns a client Sender's output fed to a server Receiver.
func feedAll(t *testing.T, r *wsproto.Conn, in []byte) []wsproto.Event {
	t.Helper()
	var evs []wsproto.Event
	for len(in) > 0 {
		ev, n := r.Feed(in)
		in = in[n:]
		if ev.Kind != wsproto.None {
			ev.Payload = bytes.Clone(ev.Payload)
			evs = append(evs, ev)
		}
	}
	return evs
}

func TestSenderToReceiverBothRoles(t *testing.T) {
	for _, role := range []wsproto.Role{wsproto.Server, wsproto.Client} {
		peerRole := wsproto.Client
		if role == wsproto.Client {
			peerRole = wsproto.Server
		}
		tx := wsproto.New(wsproto.Config{Role: peerRole})
		rx := wsproto.New(wsproto.Config{Role: role, Assemble: true})
		var wire []byte
		wire, _ = tx.AppendMessage(wire, wsproto.Text, []byte("hello"))
		wire, _ = tx.AppendFrame(wire, frame.OpBinary, false, false, []byte("ab"))
		wire, _ = tx.AppendPing(wire, []byte("p"))
		wire, _ = tx.AppendFrame(wire, frame.OpContinuation, true, false, []byte("cd"))
		wire, _ = tx.AppendClose(wire, closecode.GoingAway, "bye")
		if _, err := tx.AppendMessage(nil, wsproto.Text, []byte("late")); err != wsproto.ErrClosed {
			t.Fatalf("%v: message after close: %v", peerRole, err)
		}
		if b := tx.AppendReply(nil, wsproto.Event{Kind: wsproto.Ping}); len(b) != 0 {
			t.Fatalf("pong after close")
		}
		evs := feedAll(t, rx, wire)
		want := []string{"message text hello", "ping  p", "message binary abcd", "close  "}
		if len(evs) != len(want) {
			t.Fatalf("%v: %d events: %+v", role, len(evs), evs)
		}
		for i, ev := range evs {
			got := ev.Kind.String() + " " + typeName(ev) + " " + string(ev.Payload)
			if ev.Kind == wsproto.Close {
				got = "close  "
				if ev.Code != closecode.GoingAway || ev.Reason != "bye" {
					t.Fatalf("close event %+v", ev)
				}
			}
			if got != want[i] {
				t.Fatalf("%v: event %d: %q, want %q", role, i, got, want[i])
			}
		}
		if rx.Await() == wsproto.AwaitFrames {
			t.Fatal("Await after the peer's close")
		}
	}
}

func typeName(ev wsproto.Event) string {
	if ev.Kind == wsproto.Data || ev.Kind == wsproto.Message {
		return ev.Type.String()
	}
	return ""
}

// The start of a message is reported with its header, before any payload
// arrives, so that a streaming reader need not wait.
func TestStartReportedWithTheHeader(t *testing.T) {
	tx := wsproto.New(wsproto.Config{Role: wsproto.Client})
	wire, _ := tx.AppendMessage(nil, wsproto.Binary, []byte("payload"))
	rx := wsproto.New(wsproto.Config{Role: wsproto.Server})
	hsize := 6
	ev, n := rx.Feed(wire[:hsize])
	if ev.Kind != wsproto.Data || !ev.Start || ev.Final || len(ev.Payload) != 0 || n != hsize {
		t.Fatalf("after the header: %+v, %d", ev, n)
	}
	if rx.DataRemaining() != 7 {
		t.Fatalf("DataRemaining = %d", rx.DataRemaining())
	}
	// The driver reads the payload into its own buffer.
	dst := bytes.Clone(wire[hsize:])
	ev = rx.Payload(dst[:3])
	if ev.Kind != wsproto.Data || ev.Start || ev.Final || string(ev.Payload) != "pay" {
		t.Fatalf("direct: %+v", ev)
	}
	ev = rx.Payload(dst[3:])
	if !ev.Final || string(ev.Payload) != "load" {
		t.Fatalf("direct end: %+v", ev)
	}
}

func TestReadLimitChecksTheHeaderAndAppliesFromTheNextMessage(t *testing.T) {
	tx := wsproto.New(wsproto.Config{Role: wsproto.Client})
	rx := wsproto.New(wsproto.Config{Role: wsproto.Server, ReadLimit: 10})
	a, _ := tx.AppendFrame(nil, frame.OpBinary, false, false, make([]byte, 8))
	ev, _ := rx.Feed(a)
	if ev.Kind != wsproto.Data {
		t.Fatal(ev)
	}
	rx.SetReadLimit(100) // from the next message on
	b, _ := tx.AppendFrame(nil, frame.OpContinuation, true, false, make([]byte, 8))
	ev, n := rx.Feed(b[:6]) // the header only
	if ev.Kind != wsproto.Failed || ev.Code != closecode.MessageTooBig || n != 6 {
		t.Fatalf("%+v %d", ev, n)
	}
	if !errors.Is(ev.Err, frame.ErrTooLarge) {
		t.Fatal(ev.Err)
	}
	close := tx.AppendReply(nil, ev)
	if len(close) == 0 {
		t.Fatal("no close frame for the failure")
	}
}

// A text message whose bytes cannot become valid UTF-8 fails at the chunk
// that shows it, whatever the split.
func TestUTF8FailsFastAtEverySplit(t *testing.T) {
	tx := wsproto.New(wsproto.Config{Role: wsproto.Client})
	msg := []byte("héllo wörld \xf0\x28\x8c\x28 and more text that never matters")
	wire, _ := tx.AppendFrame(nil, frame.OpText, false, false, msg)
	bad := bytes.Index(msg, []byte{0xf0}) + 1 // the byte that shows it
	for split := 1; split < len(wire); split++ {
		rx := wsproto.New(wsproto.Config{Role: wsproto.Server})
		in := bytes.Clone(wire)
		fed := 0
		var ev wsproto.Event
		for fed < len(in) {
			end := min(fed+split, len(in))
			var n int
			ev, n = rx.Feed(in[fed:end])
			fed += n
			if ev.Kind == wsproto.Failed {
				break
			}
		}
		if ev.Kind != wsproto.Failed || ev.Code != closecode.InvalidPayload {
			t.Fatalf("split %d: %+v", split, ev)
		}
		if limit := 6 + bad + split; fed > limit {
			t.Fatalf("split %d: failed after %d bytes", split, fed)
		}
	}
}

func TestCompressionRoundTripWithTakeoverAndParking(t *testing.T) {
	for _, params := range []deflate.Params{{}, {ServerNoContextTakeover: true, ClientNoContextTakeover: true}, {ClientMaxWindowBits: 9, ServerMaxWindowBits: 10}} {
		cfg := &wsproto.Compression{Params: params}
		tx := wsproto.New(wsproto.Config{Role: wsproto.Client, Compression: cfg})
		rx := wsproto.New(wsproto.Config{Role: wsproto.Server, Compression: cfg})
		long := strings.Repeat("a compressible sentence; ", 40)
		var wire []byte
		for i := range 6 {
			var err error
			wire, err = tx.AppendMessage(wire, wsproto.Text, []byte(long))
			if err != nil {
				t.Fatal(err)
			}
			if i == 2 {
				tx.ParkCompressor(true)
				if tx.HoldsCompressor() {
					t.Fatal("still holds the compressor")
				}
			}
		}
		evs := feedAll(t, rx, wire)
		if len(evs) != 6 {
			t.Fatalf("%v: %d events", params, len(evs))
		}
		for _, ev := range evs {
			if ev.Kind != wsproto.Message || string(ev.Payload) != long {
				t.Fatalf("%v: %v %q", params, ev.Kind, ev.Payload)
			}
		}
	}
}

func TestLocalCloseAwaitsThePeer(t *testing.T) {
	c := wsproto.New(wsproto.Config{Role: wsproto.Server})
	if c.Await() != wsproto.AwaitFrames {
		t.Fatal(c.Await())
	}
	if _, err := c.AppendClose(nil, 1006, ""); err == nil {
		t.Fatal("1006 accepted for sending")
	}
	if _, err := c.AppendClose(nil, 1000, strings.Repeat("x", 124)); err == nil {
		t.Fatal("a reason of 124 bytes accepted")
	}
	if c.CloseSent() {
		t.Fatal("a refused close counted as sent")
	}
	out, err := c.AppendClose(nil, 1000, "done")
	if err != nil || !bytes.Equal(out, []byte{0x88, 6, 0x03, 0xe8, 'd', 'o', 'n', 'e'}) {
		t.Fatalf("% x %v", out, err)
	}
	if c.Await() != wsproto.AwaitClose {
		t.Fatal(c.Await())
	}
	// The peer answers; no echo is sent back.
	peer := wsproto.New(wsproto.Config{Role: wsproto.Client})
	ans, _ := peer.AppendClose(nil, 1000, "")
	evs := feedAll(t, c, ans)
	if len(evs) != 1 || evs[0].Kind != wsproto.Close {
		t.Fatal(evs)
	}
	if b := c.AppendReply(nil, evs[0]); len(b) != 0 {
		t.Fatal("echoed a close after sending one")
	}
	if c.Await() != wsproto.CloseNow {
		t.Fatal(c.Await())
	}
}

func TestFeedAndAppendDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool allocate")
	}
	tx := wsproto.New(wsproto.Config{Role: wsproto.Client})
	var wire []byte
	for range 4 {
		wire, _ = tx.AppendMessage(wire, wsproto.Text, []byte(strings.Repeat("é", 300)))
		wire, _ = tx.AppendFrame(wire, frame.OpBinary, false, false, make([]byte, 100))
		wire, _ = tx.AppendPing(wire, []byte("ping"))
		wire, _ = tx.AppendFrame(wire, frame.OpContinuation, true, false, make([]byte, 3000))
	}
	for _, assemble := range []bool{false, true} {
		rx := wsproto.New(wsproto.Config{Role: wsproto.Server, Assemble: assemble})
		in := make([]byte, len(wire))
		out := make([]byte, 0, 1<<16)
		feed := func() {
			copy(in, wire)
			for b := in; len(b) > 0; {
				for split := 0; split < len(b); {
					end := min(len(b), split+700)
					ev, n := rx.Feed(b[split:end])
					split += n
					out = rx.AppendReply(out[:0], ev)
				}
				b = b[len(b):]
			}
		}
		feed() // warm up
		if a := testing.AllocsPerRun(20, feed); a != 0 {
			t.Errorf("assemble=%v: %v allocations per input", assemble, a)
		}
	}
	msg := make([]byte, 1000)
	out := make([]byte, 0, 4096)
	if a := testing.AllocsPerRun(100, func() { out, _ = tx.AppendMessage(out[:0], wsproto.Binary, msg) }); a != 0 {
		t.Errorf("%v allocations per AppendMessage", a)
	}
}

// chunkSource feeds a Receiver the rest of its input and returns the next
// Compressed Data chunk: a driver's PieceSource, by pointer.
type chunkSource struct {
	rx *wsproto.Receiver
	in []byte
}

func (s *chunkSource) NextPiece() ([]byte, error) {
	for len(s.in) > 0 {
		ev, n := s.rx.Feed(s.in)
		s.in = s.in[n:]
		if ev.Kind == wsproto.Data && ev.Compressed {
			return ev.Payload, nil
		}
	}
	return nil, errors.New("input ended")
}

// TestInflateDoesNotAllocate: a compressed message pulled through Inflate
// (fragmented, fed in pieces) costs no allocation once the connection is
// warm, with a PieceSource that is a pointer.
func TestInflateDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool allocate")
	}
	params := deflate.Params{ClientNoContextTakeover: true, ServerNoContextTakeover: true}
	tx := wsproto.New(wsproto.Config{Role: wsproto.Client, Compression: &wsproto.Compression{Params: params}})
	msg := []byte(strings.Repeat(`{"a compressible":"line of JSON", "n": 12345}`, 100))
	z := tx.Compress(nil, msg)
	var wire []byte
	wire, _ = tx.AppendFrame(wire, frame.OpText, false, true, z[:len(z)/2])
	wire, _ = tx.AppendFrame(wire, frame.OpContinuation, true, true, z[len(z)/2:])
	rx := wsproto.New(wsproto.Config{Role: wsproto.Server, PullInflate: true, Compression: &wsproto.Compression{Params: params}})
	in := make([]byte, len(wire))
	src := &chunkSource{rx: &rx.Receiver}
	out := make([]byte, 0, 2*len(msg))
	read := func() {
		copy(in, wire)
		ev, n := rx.Feed(in)
		if ev.Kind != wsproto.Data || !ev.Start || !ev.Compressed {
			t.Fatalf("first event %v", ev.Kind)
		}
		src.in = in[n:]
		var err error
		if out, err = rx.Inflate(out[:0], ev.Payload, src); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if !bytes.Equal(out, msg) {
		t.Fatal("inflated message differs")
	}
	if a := testing.AllocsPerRun(50, read); a != 0 {
		t.Errorf("%v allocations per message", a)
	}
}
