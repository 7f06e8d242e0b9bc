//go:build !js

package ws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/frame"
)

// The whole-engine fuzz targets feed an arbitrary byte stream to a Conn that
// reads it from an in-memory net.Conn, drive the Conn with a read loop until
// it fails, and compare everything it did with what an independent model of
// RFC 6455 says it should have done:
//
//   - it never panics and the read loop ends (the input is finite);
//   - the messages it returned are exactly the complete, valid messages the
//     input held before the point where the connection ended (a prefix of
//     the input's messages, none lost), and text is valid UTF-8;
//   - the final error is the peer's *CloseError, or carries the close code
//     the model predicts (1002, 1007, 1009 for a broken rule, 1006 for a
//     transport that ended without a close frame);
//   - everything it wrote parses as valid frames: a pong with the same
//     payload for each ping fully received, then at most one close frame,
//     which is last, carries a sendable code and matches the error;
//   - the error sticks, the Conn is closed, and Close afterwards returns at
//     once without writing anything.
//
// The model decodes frames with frame.Parser (whose own rules are fuzzed in
// package frame) and does everything else itself: unmasking, reassembly,
// UTF-8 (with unicode/utf8), the close payload and the expected replies.
//
// Inputs are (data, sizes, mode): data is the byte stream; sizes gives the
// sizes of the successive reads the transport returns (each byte b is a read
// of at most b+1 bytes, cycling; empty means reads as large as asked); mode
// bits 0-1 choose the read API (ReadMessage, NextReader, NextReader reading
// only the start of each message, Serve), bit 2 hands the first part of data
// to NewConn as bytes buffered past the handshake, and bits 3-7 choose that
// split and the size of NextReader's reads.

// Limits of the fuzzed Conn: a small read limit keeps allocations bounded.
const (
	fzReadLimit    = 1 << 16
	fzCloseTimeout = 50 * time.Millisecond
)

// FuzzServerConn fuzzes a server-side Conn: the input is what a client sends,
// so its frames must be masked, and what the Conn writes is unmasked.
func FuzzServerConn(f *testing.F) { fzTarget(f, RoleServer) }

// FuzzClientConn fuzzes a client-side Conn: the input is what a server sends,
// so its frames must not be masked, and what the Conn writes is masked.
func FuzzClientConn(f *testing.F) { fzTarget(f, RoleClient) }

func fzTarget(f *testing.F, role Role) {
	f.Fuzz(func(t *testing.T, data, sizes []byte, mode uint8) {
		fzCheck(t, role, data, sizes, mode)
	})
}

// fzConn is an in-memory net.Conn that serves a fixed input in reads whose
// sizes come from a list, then io.EOF, and records what is written. It starts
// no goroutine and never blocks, so a run is deterministic; deadlines are
// accepted and have nothing to interrupt.
type fzConn struct {
	in     []byte
	sizes  []byte
	next   int
	out    bytes.Buffer
	closed bool
}

func (c *fzConn) Read(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.in))
	if len(c.sizes) > 0 {
		n = min(n, int(c.sizes[c.next%len(c.sizes)])+1)
		c.next++
	}
	copy(p, c.in[:n])
	c.in = c.in[n:]
	return n, nil
}

func (c *fzConn) Write(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.out.Write(p)
}

func (c *fzConn) Close() error {
	if c.closed {
		return net.ErrClosed
	}
	c.closed = true
	return nil
}

type fzAddr struct{}

func (fzAddr) Network() string { return "memory" }
func (fzAddr) String() string  { return "fuzz" }

func (c *fzConn) LocalAddr() net.Addr                { return fzAddr{} }
func (c *fzConn) RemoteAddr() net.Addr               { return fzAddr{} }
func (c *fzConn) SetDeadline(t time.Time) error      { return nil }
func (c *fzConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *fzConn) SetWriteDeadline(t time.Time) error { return nil }

// fzMsg is a data message.
type fzMsg struct {
	typ  MessageType
	data []byte
}

// fzWant is what the model predicts for an input.
type fzWant struct {
	msgs   []fzMsg  // complete, valid messages, in order
	pings  [][]byte // payloads of the pings fully received before the end
	peer   bool     // the peer sent a valid close frame
	code   closecode.Code
	reason string // the peer's close reason, when peer
}

// fzExpect runs the model over the input a Conn of the given role reads.
func fzExpect(role Role, in []byte) fzWant {
	var w fzWant
	p := frame.Parser{Role: frame.Server, MaxMessage: fzReadLimit}
	if role == RoleClient {
		p.Role = frame.Client
	}
	var (
		h       frame.Header
		msgType frame.Opcode
		msg     []byte
		ctrl    []byte
	)
	for {
		if len(in) == 0 {
			// The transport ended without a close frame (RFC 6455 §7.1.5).
			w.code = closecode.Abnormal
			return w
		}
		ev, n, err := p.Feed(in)
		in = in[n:]
		if err != nil {
			var fe *frame.Error
			if !errors.As(err, &fe) {
				panic(fmt.Sprintf("frame.Parser returned %T %v", err, err))
			}
			w.code = closecode.Code(fe.Code)
			return w
		}
		switch ev.Kind {
		case frame.HeaderEvent:
			h = p.Header()
			switch {
			case h.Opcode.IsControl():
				ctrl = ctrl[:0]
			case h.Opcode != frame.OpContinuation:
				msgType, msg = h.Opcode, nil
			}
		case frame.PayloadEvent:
			b := bytes.Clone(ev.Payload)
			if h.Masked {
				for i := range b {
					b[i] ^= h.Key[(ev.KeyPos+i)&3]
				}
			}
			if h.Opcode.IsControl() {
				ctrl = append(ctrl, b...)
				break
			}
			msg = append(msg, b...)
			// RFC 6455 §8.1: fail as soon as the text cannot be valid.
			if msgType == frame.OpText && !fzUTF8Viable(msg) {
				w.code = closecode.InvalidPayload
				return w
			}
		}
		if !ev.FrameEnd {
			continue
		}
		switch {
		case h.Opcode == frame.OpPing:
			w.pings = append(w.pings, bytes.Clone(ctrl))
		case h.Opcode == frame.OpPong:
		case h.Opcode == frame.OpClose:
			fzExpectClose(&w, ctrl)
			return w
		case h.Fin:
			if msgType == frame.OpText && !utf8.Valid(msg) {
				w.code = closecode.InvalidPayload
				return w
			}
			w.msgs = append(w.msgs, fzMsg{MessageType(msgType), msg})
			msg = nil
		}
	}
}

// fzExpectClose models a received close frame (RFC 6455 §5.5.1, §7.4).
func fzExpectClose(w *fzWant, payload []byte) {
	switch {
	case len(payload) == 0:
		w.peer, w.code = true, closecode.NoStatus
	case len(payload) == 1:
		w.code = closecode.ProtocolError
	case !fzReceivable(uint16(payload[0])<<8 | uint16(payload[1])):
		w.code = closecode.ProtocolError
	case !utf8.Valid(payload[2:]):
		w.code = closecode.InvalidPayload
	default:
		w.peer = true
		w.code = closecode.Code(uint16(payload[0])<<8 | uint16(payload[1]))
		w.reason = string(payload[2:])
	}
}

// fzReceivable lists the close codes a close frame may carry: those of RFC
// 6455 §7.4.1 other than 1004-1006 and 1015, those IANA registered since
// (1012-1014), and the ranges for libraries and private use (§7.4.2).
func fzReceivable(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// fzUTF8Viable reports whether b is valid UTF-8 or can become valid by
// appending bytes: valid text followed by the start of one incomplete
// character.
func fzUTF8Viable(b []byte) bool {
	if utf8.Valid(b) {
		return true
	}
	for k := 1; k <= 3 && k <= len(b); k++ {
		if utf8.Valid(b[:len(b)-k]) && fzUTF8Completable(b[len(b)-k:]) {
			return true
		}
	}
	return false
}

// fzUTF8Completable reports whether tail is the proper prefix of the encoding
// of one character. It tries the smallest second byte of each range RFC 3629
// allows after a lead byte, padding with continuation bytes, and lets
// unicode/utf8 judge.
func fzUTF8Completable(tail []byte) bool {
	var size int
	switch c := tail[0]; {
	case c >= 0xC2 && c <= 0xDF:
		size = 2
	case c >= 0xE0 && c <= 0xEF:
		size = 3
	case c >= 0xF0 && c <= 0xF4:
		size = 4
	default:
		return false
	}
	if len(tail) >= size {
		return false
	}
	for _, second := range []byte{0x80, 0x90, 0xA0} {
		r := append([]byte(nil), tail...)
		if len(r) == 1 {
			r = append(r, second)
		}
		for len(r) < size {
			r = append(r, 0x80)
		}
		if utf8.Valid(r) {
			return true
		}
	}
	return false
}

// fzAbnormalOrFailed are the codes an error other than the peer's close may
// carry at the end of a fuzzed run.
var fzAbnormalOrFailed = map[closecode.Code]bool{
	1000: true, 1001: true, 1002: true, 1003: true,
	1006: true,
	1007: true, 1008: true, 1009: true, 1010: true, 1011: true,
}

// The read APIs a run drives, chosen by the low two bits of mode.
const (
	fzReadMessage = iota // ReadMessage, reusing the returned buffer
	fzNextReader         // NextReader, reading each message to io.EOF
	fzAbandon            // NextReader, reading one chunk of each message and moving on
	fzServe              // Serve with a Handler
)

// fzCheck runs one input through a Conn and checks it against the model.
func fzCheck(t *testing.T, role Role, data, sizes []byte, mode uint8) {
	want := fzExpect(role, data)

	api := mode & 3
	param := int(mode >> 3)
	in := data
	var buffered []byte
	if mode&4 != 0 {
		split := param * 7 % (len(data) + 1)
		buffered, in = bytes.Clone(data[:split]), data[split:]
	}
	nc := &fzConn{in: in, sizes: sizes}
	var pinged [][]byte
	c := NewConn(nc, buffered, role, &Options{
		ReadLimit:    fzReadLimit,
		CloseTimeout: fzCloseTimeout,
		OnPing:       func(p []byte) { pinged = append(pinged, bytes.Clone(p)) },
	})

	got, err := fzReadLoop(t, c, api, 1+param*3%97, len(data), want)

	// Messages: a prefix of the model's (none invented, text valid), and in
	// fact all of them (none lost). A run that abandons messages part way
	// sees a prefix of each.
	for i, m := range got {
		if m.typ == Text && !utf8.Valid(m.data) && api != fzAbandon {
			t.Errorf("message %d: text is not valid UTF-8: %q", i, m.data)
		}
		if i >= len(want.msgs) {
			t.Errorf("message %d (%v, %d bytes) is not in the input, which holds %d valid messages", i, m.typ, len(m.data), len(want.msgs))
			continue
		}
		w := want.msgs[i]
		ok := m.typ == w.typ && bytes.Equal(m.data, w.data)
		if api == fzAbandon {
			ok = m.typ == w.typ && bytes.HasPrefix(w.data, m.data)
		}
		if !ok {
			t.Errorf("message %d: got %v %q, want %v %q", i, m.typ, fzShort(m.data), w.typ, fzShort(w.data))
		}
	}
	if len(got) < len(want.msgs) {
		t.Errorf("got %d messages before the error, want %d", len(got), len(want.msgs))
	}

	// The final error.
	var ce *CloseError
	isPeer := errors.As(err, &ce)
	switch {
	case err == nil:
		t.Fatalf("read loop ended without an error")
	case want.peer:
		if !isPeer || ce.Code != want.code || ce.Reason != want.reason {
			t.Errorf("error %v, want the peer's close %d %q", err, want.code, want.reason)
		}
	default:
		code, ok := closecode.Of(err)
		if isPeer || !ok || code != want.code {
			t.Errorf("error %v (close code %d, peer close %v), want close code %d", err, code, isPeer, want.code)
		}
		if !fzAbnormalOrFailed[code] {
			t.Errorf("error %v carries close code %d, outside the allowed set", err, code)
		}
	}

	// Pings were answered and reported.
	if !fzEqualPayloads(pinged, want.pings) {
		t.Errorf("OnPing saw %d pings %q, want %q", len(pinged), pinged, want.pings)
	}

	// What the Conn wrote.
	written := nc.out.Len()
	fzCheckOutput(t, role, nc.out.Bytes(), want)

	// The error sticks; the Conn is closed; a late Close returns at once and
	// writes nothing.
	_, _, err2 := c.ReadMessage(context.Background(), nil)
	if c1, _ := closecode.Of(err); err2 == nil || fzCode(err2) != c1 {
		t.Errorf("read after the error returned %v, want %v again", err2, err)
	}
	if s := c.State(); s != StateClosed || !nc.closed {
		t.Errorf("after the error: state %v, transport closed %v; want closed", s, nc.closed)
	}
	c.Close(CloseNormal, "")
	c.CloseNow()
	if nc.out.Len() != written {
		t.Errorf("Close after the end wrote %d bytes", nc.out.Len()-written)
	}
}

func fzCode(err error) closecode.Code {
	code, _ := closecode.Of(err)
	return code
}

// fzReadLoop reads messages with the chosen API until an error. A run that
// returns more messages than the input could hold, or a reader that does not
// end, fails the test.
func fzReadLoop(t *testing.T, c *Conn, api uint8, chunkSize, inputLen int, want fzWant) ([]fzMsg, error) {
	ctx := context.Background()
	chunk := make([]byte, chunkSize)
	// Every message needs at least a 2-byte frame header.
	maxMsgs := inputLen/2 + 1
	var msgs []fzMsg
	tooMany := func() {
		if len(msgs) > maxMsgs {
			t.Fatalf("read %d messages from %d bytes of input", len(msgs), inputLen)
		}
	}
	switch api {
	case fzServe:
		var hookPings [][]byte
		var closes []CloseError
		err := c.Serve(ctx, Handler{
			OnMessage: func(typ MessageType, data []byte) {
				msgs = append(msgs, fzMsg{typ, bytes.Clone(data)})
				tooMany()
			},
			OnPing:  func(p []byte) { hookPings = append(hookPings, bytes.Clone(p)) },
			OnClose: func(code CloseCode, reason string) { closes = append(closes, CloseError{Code: code, Reason: reason}) },
		})
		if !fzEqualPayloads(hookPings, want.pings) {
			t.Errorf("Handler.OnPing saw %q, want %q", hookPings, want.pings)
		}
		switch {
		case want.peer && (len(closes) != 1 || closes[0] != CloseError{Code: want.code, Reason: want.reason}):
			t.Errorf("Handler.OnClose saw %v, want one call with %d %q", closes, want.code, want.reason)
		case !want.peer && len(closes) != 0:
			t.Errorf("Handler.OnClose saw %v, want no call: the peer did not close", closes)
		}
		return msgs, err

	case fzReadMessage:
		var buf []byte
		for {
			typ, msg, err := c.ReadMessage(ctx, buf)
			if err != nil {
				// On error the slice is only handed back for its
				// capacity; its content is not a message.
				if typ != 0 {
					t.Errorf("ReadMessage returned type %v with error %v", typ, err)
				}
				return msgs, err
			}
			msgs = append(msgs, fzMsg{typ, bytes.Clone(msg)})
			tooMany()
			buf = msg
		}
	}

	// NextReader. When messages are abandoned, a message counts once the
	// next NextReader succeeded: that call read (and validated) its rest.
	// A message read to io.EOF counts at once.
	var pending *fzMsg
	for {
		typ, r, err := c.NextReader(ctx)
		if err != nil {
			// The pending message was complete if its rest was
			// discarded before the error, which the model knows: then
			// it holds a message at this index.
			if pending != nil && len(msgs) < len(want.msgs) {
				msgs = append(msgs, *pending)
			}
			return msgs, err
		}
		if pending != nil {
			msgs = append(msgs, *pending)
			tooMany()
			pending = nil
		}
		var m []byte
		eof := false
		for reads := 0; ; reads++ {
			if reads > inputLen+1 {
				t.Fatalf("message reader did not end after %d reads of %d bytes of input", reads, inputLen)
			}
			n, err := r.Read(chunk)
			m = append(m, chunk[:n]...)
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				return msgs, err
			}
			if n == 0 {
				t.Fatalf("message reader returned 0 bytes and no error")
			}
			if api == fzAbandon {
				break
			}
		}
		if !eof {
			pending = &fzMsg{typ, m}
			continue
		}
		msgs = append(msgs, fzMsg{typ, m})
		tooMany()
	}
}

// fzCheckOutput parses what the Conn wrote: pongs answering the model's pings
// in order, then at most one close frame, nothing after it, the close code
// the model predicts.
func fzCheckOutput(t fzTB, role Role, out []byte, want fzWant) {
	t.Helper()
	// A server writes unmasked frames, which a client-role parser requires;
	// a client masks every frame.
	p := frame.Parser{Role: frame.Client}
	if role == RoleClient {
		p.Role = frame.Server
	}
	var (
		pongs     [][]byte
		h         frame.Header
		payload   []byte
		closeSeen bool
		closePay  []byte
		frames    int
	)
	for len(out) > 0 {
		ev, n, err := p.Feed(out)
		out = out[n:]
		if err != nil {
			t.Fatalf("frame %d written by the Conn is invalid: %v", frames, err)
		}
		switch ev.Kind {
		case frame.HeaderEvent:
			h = p.Header()
			payload = payload[:0]
			if closeSeen {
				t.Errorf("frame %d (%v) written after the close frame", frames, h.Opcode)
			}
		case frame.PayloadEvent:
			for i, b := range ev.Payload {
				if h.Masked {
					b ^= h.Key[(ev.KeyPos+i)&3]
				}
				payload = append(payload, b)
			}
		}
		if !ev.FrameEnd {
			continue
		}
		frames++
		switch h.Opcode {
		case frame.OpPong:
			pongs = append(pongs, bytes.Clone(payload))
		case frame.OpClose:
			closeSeen, closePay = true, bytes.Clone(payload)
		default:
			t.Errorf("frame %d: the Conn wrote a %v frame; only pongs and a close were expected", frames, h.Opcode)
		}
	}
	if p.InPayload() || p.Err() != nil {
		t.Fatalf("the Conn's output ends inside a frame")
	}
	if !fzEqualPayloads(pongs, want.pings) {
		t.Errorf("pongs written %q, want one per ping %q", pongs, want.pings)
	}

	switch {
	case want.code == closecode.Abnormal && !want.peer:
		if closeSeen {
			t.Errorf("the input ended without a close frame, yet the Conn wrote close %x", closePay)
		}
		return
	case !closeSeen:
		t.Errorf("no close frame written; want close %d", want.code)
		return
	}
	if len(closePay) < 2 {
		t.Errorf("close frame written without a status code: %x", closePay)
		return
	}
	code := closecode.Code(uint16(closePay[0])<<8 | uint16(closePay[1]))
	if !code.Sendable() || !fzReceivable(uint16(code)) {
		t.Errorf("close frame carries code %d, which must not be sent", code)
	}
	if !utf8.Valid(closePay[2:]) {
		t.Errorf("close reason is not valid UTF-8: %q", closePay[2:])
	}
	wantCode := want.code
	if want.peer && wantCode == closecode.NoStatus {
		wantCode = closecode.Normal // a close without status is answered with 1000
	}
	if code != wantCode {
		t.Errorf("close frame carries code %d (%q), want %d", code, closePay[2:], wantCode)
	}
}

func fzEqualPayloads(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func fzShort(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// Seeds. The same inputs are the seed corpus in testdata/fuzz (regenerate it
// with WS_WRITE_FUZZ_SEEDS=1 go test -run TestFuzzConnSeeds) and, below, a
// table whose expected outcomes show that the checks above can fail.

// fzKey is the masking key of the seeds' client frames.
var fzKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// fzFrame encodes one frame, masked when masked is set.
func fzFrame(fin bool, op frame.Opcode, masked bool, payload []byte) []byte {
	h := frame.Header{Fin: fin, Opcode: op, Masked: masked, Key: fzKey, Length: int64(len(payload))}
	b := frame.AppendHeader(nil, h)
	start := len(b)
	b = append(b, payload...)
	if masked {
		for i := range b[start:] {
			b[start+i] ^= fzKey[i&3]
		}
	}
	return b
}

// fzRaw encodes a frame header from its first byte and a length, with any
// payload, for frames AppendHeader would not produce.
func fzRaw(b0 byte, masked bool, length uint64, payload []byte) []byte {
	var b1 byte
	if masked {
		b1 = 0x80
	}
	var b []byte
	switch {
	case length <= 125:
		b = []byte{b0, b1 | byte(length)}
	case length <= 0xFFFF:
		b = []byte{b0, b1 | 126, byte(length >> 8), byte(length)}
	default:
		b = []byte{b0, b1 | 127}
		for s := 56; s >= 0; s -= 8 {
			b = append(b, byte(length>>s))
		}
	}
	if masked {
		b = append(b, fzKey[:]...)
		start := len(b)
		b = append(b, payload...)
		for i := range b[start:] {
			b[start+i] ^= fzKey[i&3]
		}
		return b
	}
	return append(b, payload...)
}

func fzClosePayload(code uint16, reason string) []byte {
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}

type fzSeed struct {
	name   string
	data   []byte
	sizes  []byte
	mode   uint8
	code   closecode.Code // expected close code of the final error
	peer   bool           // the final error is the peer's close
	msgs   int            // messages returned before it
	pongs  int            // pongs written
	closeW bool           // a close frame is written
}

// fzSeeds returns the seeds for a Conn of the given role: a masked stream
// for a server, an unmasked one for a client.
func fzSeeds(role Role) []fzSeed {
	m := role == RoleServer // frames we send to the Conn are masked
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	closeOK := fzFrame(true, frame.OpClose, m, fzClosePayload(1000, ""))
	big := bytes.Repeat([]byte("0123456789"), 300) // 3000 bytes: read straight into the message
	return []fzSeed{
		{name: "text_single", data: fzFrame(true, frame.OpText, m, []byte("Hello")),
			code: 1006, msgs: 1},
		{name: "text_fragmented_ping_between", data: cat(
			fzFrame(false, frame.OpText, m, []byte("Hel")),
			fzFrame(true, frame.OpPing, m, []byte("are you there")),
			fzFrame(true, frame.OpContinuation, m, []byte("lo, κόσμε")),
			closeOK),
			sizes: []byte{0, 2, 6}, code: 1000, peer: true, msgs: 1, pongs: 1, closeW: true},
		{name: "close_1000_reason", data: fzFrame(true, frame.OpClose, m, fzClosePayload(1000, "bye")),
			code: 1000, peer: true, closeW: true},
		{name: "close_4000_private", data: cat(
			fzFrame(true, frame.OpBinary, m, []byte{0, 1, 2, 0xff}),
			fzFrame(true, frame.OpClose, m, fzClosePayload(4000, "private"))),
			mode: fzNextReader, code: 4000, peer: true, msgs: 1, closeW: true},
		{name: "close_invalid_code_1005", data: fzFrame(true, frame.OpClose, m, fzClosePayload(1005, "")),
			code: 1002, closeW: true},
		{name: "close_invalid_code_999", data: fzFrame(true, frame.OpClose, m, fzClosePayload(999, "x")),
			code: 1002, closeW: true},
		{name: "close_reason_invalid_utf8", data: fzFrame(true, frame.OpClose, m, fzClosePayload(1000, "\xc3\x28")),
			code: 1007, closeW: true},
		{name: "close_empty", data: fzFrame(true, frame.OpClose, m, nil),
			code: 1005, peer: true, closeW: true},
		{name: "close_one_byte", data: fzFrame(true, frame.OpClose, m, []byte{0x03}),
			code: 1002, closeW: true},
		{name: "text_invalid_utf8_split_across_fragments", data: cat(
			fzFrame(false, frame.OpText, m, []byte("ok \xed")),
			fzFrame(false, frame.OpContinuation, m, []byte("\xa0\x80 surrogate")),
			fzFrame(true, frame.OpContinuation, m, []byte("end")),
			closeOK),
			code: 1007, closeW: true},
		{name: "text_valid_utf8_split_across_fragments", data: cat(
			fzFrame(false, frame.OpText, m, []byte("emoji \xf0\x9f")),
			fzFrame(false, frame.OpContinuation, m, []byte("\x98")),
			fzFrame(true, frame.OpContinuation, m, []byte("\x80!")),
			closeOK),
			sizes: []byte{0}, mode: fzNextReader | 4<<3, code: 1000, peer: true, msgs: 1, closeW: true},
		{name: "text_truncated_utf8_at_message_end", data: fzFrame(true, frame.OpText, m, []byte("euro \xe2\x82")),
			code: 1007, closeW: true},
		{name: "reserved_opcode", data: cat(
			fzFrame(true, frame.OpText, m, []byte("before")),
			fzRaw(0x83, m, 1, []byte{'x'})),
			code: 1002, msgs: 1, closeW: true},
		{name: "reserved_control_opcode", data: fzRaw(0x8B, m, 0, nil),
			code: 1002, closeW: true},
		{name: "rsv1_without_extension", data: fzRaw(0xC1, m, 2, []byte("hi")),
			code: 1002, closeW: true},
		{name: "masking_wrong_for_role", data: fzRaw(0x81, !m, 2, []byte("hi")),
			code: 1002, closeW: true},
		{name: "oversize_frame_length", data: fzRaw(0x82, m, fzReadLimit+1, []byte("only the start")),
			code: 1009, closeW: true},
		{name: "oversize_message_over_fragments", data: cat(
			fzFrame(false, frame.OpBinary, m, make([]byte, 100)),
			fzRaw(0x80, m, fzReadLimit-99, nil)),
			code: 1009, closeW: true},
		{name: "length_msb_set", data: fzRaw(0x82, m, 1<<63, nil),
			code: 1002, closeW: true},
		{name: "fragmented_control", data: fzRaw(0x09, m, 1, []byte("p")),
			code: 1002, closeW: true},
		{name: "control_over_125", data: fzRaw(0x89, m, 126, make([]byte, 126)),
			code: 1002, closeW: true},
		{name: "continuation_without_message", data: fzFrame(true, frame.OpContinuation, m, []byte("x")),
			code: 1002, closeW: true},
		{name: "new_message_inside_fragmented", data: cat(
			fzFrame(false, frame.OpText, m, []byte("a")),
			fzFrame(true, frame.OpText, m, []byte("b"))),
			code: 1002, closeW: true},
		{name: "pings_pongs_then_eof_mid_frame", data: cat(
			fzFrame(true, frame.OpPing, m, nil),
			fzFrame(true, frame.OpPong, m, []byte("unsolicited")),
			fzFrame(true, frame.OpPing, m, bytes.Repeat([]byte{0xAB}, 125)),
			fzFrame(true, frame.OpBinary, m, big),
			fzFrame(true, frame.OpText, m, []byte("cut short"))[:7]),
			sizes: []byte{255, 3, 200}, mode: fzAbandon | 4 | 9<<3, code: 1006, msgs: 1, pongs: 2},
		{name: "large_binary_then_close", data: cat(
			fzFrame(true, frame.OpBinary, m, big),
			fzFrame(true, frame.OpText, m, nil),
			closeOK),
			mode: fzServe | 4 | 30<<3, code: 1000, peer: true, msgs: 2, closeW: true},
	}
}

// TestFuzzConnSeeds runs the seeds through the fuzz checks and checks the
// model's predictions for them, so that a model that predicted nothing
// useful could not pass.
func TestFuzzConnSeeds(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		target := "FuzzServerConn"
		if role == RoleClient {
			target = "FuzzClientConn"
		}
		for _, s := range fzSeeds(role) {
			t.Run(target+"/"+s.name, func(t *testing.T) {
				w := fzExpect(role, s.data)
				closeW := w.code != closecode.Abnormal || w.peer
				if w.code != s.code || w.peer != s.peer || len(w.msgs) != s.msgs || len(w.pings) != s.pongs || closeW != s.closeW {
					t.Fatalf("model: code %d peer %v, %d messages, %d pings, close written %v; want %d %v %d %d %v",
						w.code, w.peer, len(w.msgs), len(w.pings), closeW, s.code, s.peer, s.msgs, s.pongs, s.closeW)
				}
				fzCheck(t, role, s.data, s.sizes, s.mode)
				if os.Getenv("WS_WRITE_FUZZ_SEEDS") != "" {
					fzWriteSeed(t, target, s)
				}
			})
		}
	}
}

// fzWriteSeed writes a seed to the corpus in the "go test fuzz v1" format.
func fzWriteSeed(t *testing.T, target string, s fzSeed) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := "go test fuzz v1\n" +
		"[]byte(" + strconv.Quote(string(s.data)) + ")\n" +
		"[]byte(" + strconv.Quote(string(s.sizes)) + ")\n" +
		"uint8(" + strconv.Itoa(int(s.mode)) + ")\n"
	if err := os.WriteFile(filepath.Join(dir, s.name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFuzzConnModelCatchesMistakes checks that the output checks reject
// wrong behaviour: a pong missing, a wrong close code, a frame after the
// close.
func TestFuzzConnModelCatchesMistakes(t *testing.T) {
	want := fzWant{pings: [][]byte{[]byte("p")}, code: closecode.ProtocolError}
	pong := fzFrame(true, frame.OpPong, false, []byte("p"))
	closePP := fzFrame(true, frame.OpClose, false, fzClosePayload(1002, ""))
	for _, tc := range []struct {
		name string
		out  []byte
		ok   bool
	}{
		{"right", bytes.Join([][]byte{pong, closePP}, nil), true},
		{"pong_missing", closePP, false},
		{"wrong_code", bytes.Join([][]byte{pong, fzFrame(true, frame.OpClose, false, fzClosePayload(1000, ""))}, nil), false},
		{"frame_after_close", bytes.Join([][]byte{pong, closePP, pong}, nil), false},
		{"masked_from_server", bytes.Join([][]byte{fzFrame(true, frame.OpPong, true, []byte("p")), closePP}, nil), false},
		{"truncated", bytes.Join([][]byte{pong, closePP[:3]}, nil), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fzT{}
			func() {
				defer func() {
					if r := recover(); r != nil && r != (fzStop{}) {
						panic(r)
					}
				}()
				fzCheckOutput(ft, RoleServer, tc.out, want)
			}()
			if ft.failed == tc.ok {
				t.Errorf("check failed = %v, want %v (%s)", ft.failed, !tc.ok, ft.msg)
			}
		})
	}
}

// fzTB is the part of testing.TB the output checks use, so that a test can
// run them against a recorder.
type fzTB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// fzT records whether a check failed; Fatalf stops the check with a panic
// of fzStop.
type fzT struct {
	failed bool
	msg    string
}

type fzStop struct{}

func (t *fzT) Helper() {}
func (t *fzT) Errorf(format string, args ...any) {
	t.failed = true
	t.msg += fmt.Sprintf(format, args...) + "; "
}
func (t *fzT) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	panic(fzStop{})
}

// TestNoLimitHugeLengthDoesNotPanic: with ReadLimit < 0 ("no limit"), a
// 14-byte frame header announcing a huge length once made ReadMessage panic
// growing the buffer by the whole announced length. A peer must never be
// able to panic the process; the buffer grows as the payload arrives.
func TestNoLimitHugeLengthDoesNotPanic(t *testing.T) {
	in := []byte{0x82, 0xFF, 0x3F, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4} // masked binary, length 0x3F00000000000000
	c := NewConn(&fzConn{in: in}, nil, RoleServer, &Options{ReadLimit: -1, CloseTimeout: fzCloseTimeout})
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("ReadMessage panicked: %v", r)
			}
		}()
		_, _, err = c.ReadMessage(context.Background(), nil)
	}()
	if code := fzCode(err); code != closecode.Abnormal {
		t.Fatalf("ReadMessage: %v, want a 1006 error (the input ends inside the frame)", err)
	}
}

// TestAnnouncedLengthIsNotPreallocated: a peer that sends only a header
// announcing a frame of DefaultReadLimit bytes must not make ReadMessage
// allocate 32 MiB: memory follows what peers send, not what they announce.
func TestAnnouncedLengthIsNotPreallocated(t *testing.T) {
	in := []byte{0x82, 0xFF, 0, 0, 0, 0, 0x02, 0, 0, 0, 1, 2, 3, 4} // masked binary, 32 MiB, no payload
	c := NewConn(&fzConn{in: in}, nil, RoleServer, &Options{CloseTimeout: fzCloseTimeout})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := c.ReadMessage(context.Background(), nil)
	runtime.ReadMemStats(&after)
	if code := fzCode(err); code != closecode.Abnormal {
		t.Fatalf("ReadMessage: %v, want a 1006 error", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("ReadMessage allocated %d bytes for a 14-byte input", n)
	}
}
