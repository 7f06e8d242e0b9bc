package behave

import (
	"strings"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/wsproto"
)

func text(s string) Frame   { return Frame{Fin: true, Op: frame.OpText, Payload: []byte(s)} }
func binary(s string) Frame { return Frame{Fin: true, Op: frame.OpBinary, Payload: []byte(s)} }
func first(op frame.Opcode, s string) Frame {
	return Frame{Op: op, Payload: []byte(s)}
}
func cont(s string, fin bool) Frame {
	return Frame{Fin: fin, Op: frame.OpContinuation, Payload: []byte(s)}
}
func ping(s string) Frame { return Frame{Fin: true, Op: frame.OpPing, Payload: []byte(s)} }
func pong(s string) Frame { return Frame{Fin: true, Op: frame.OpPong, Payload: []byte(s)} }
func closeFrame(code closecode.Code, reason string) Frame {
	var p []byte
	if code != 0 {
		p = append(p, byte(code>>8), byte(code))
	}
	return Frame{Fin: true, Op: frame.OpClose, Payload: append(p, reason...)}
}

func tmsg(s string) Msg { return Msg{wsproto.Text, []byte(s)} }
func bmsg(s string) Msg { return Msg{wsproto.Binary, []byte(s)} }

func sentPong(s string) Sent { return Sent{Op: frame.OpPong, Payload: []byte(s)} }
func sentClose(c closecode.Code) Sent {
	return Sent{Op: frame.OpClose, Code: c}
}

func failed(c closecode.Code) End { return End{Kind: Failed, Code: c} }
func peer(c closecode.Code, reason string) End {
	return End{Kind: PeerClose, Code: c, Reason: reason}
}

// deflated compresses msgs in order with one compressor (context takeover
// when takeover is set), as a peer with a 15-bit window sends them.
func deflated(takeover bool, msgs ...string) [][]byte {
	cw := deflate.NewCompressor(15, 6)
	var out [][]byte
	for _, m := range msgs {
		out = append(out, cw.Compress(nil, []byte(m), takeover))
	}
	return out
}

// row is a case before it is made for a role.
type row struct {
	name     string
	limit    int64
	compr    *deflate.Params
	frames   []Frame
	messages []Msg
	pings    [][]byte
	pongs    [][]byte
	end      End
	sent     []Sent
	role     wsproto.Role // 0: both roles
}

// Cases returns the table: each row for the server and the client role.
func Cases() []Case {
	var cases []Case
	for _, r := range rows() {
		for _, role := range []wsproto.Role{wsproto.Server, wsproto.Client} {
			if r.role != 0 && r.role != role {
				continue
			}
			cases = append(cases, Case{
				Name: r.name, Role: role, ReadLimit: r.limit, Compression: r.compr,
				Input:    Wire(role, r.frames...),
				Messages: r.messages, Pings: r.pings, Pongs: r.pongs, End: r.end, Sent: r.sent,
			})
		}
	}
	return cases
}

func rows() []row {
	abnormal := End{Kind: Abnormal, Code: closecode.Abnormal}
	pmd := &deflate.Params{}
	noTakeover := &deflate.Params{ServerNoContextTakeover: true, ClientNoContextTakeover: true}
	long := strings.Repeat("compressible text, ", 200)
	z := deflated(true, long, long, "héllo")
	zFresh := deflated(false, long)
	bomb := deflated(false, string(make([]byte, 3<<20)))
	badUTF8 := deflated(false, "ok \xff not utf8 "+long)
	rows := []row{
		// Data messages (RFC 6455 §5.4, §5.6).
		{name: "text message", frames: []Frame{text("hello")}, messages: []Msg{tmsg("hello")}, end: abnormal},
		{name: "empty binary message", frames: []Frame{binary("")}, messages: []Msg{bmsg("")}, end: abnormal},
		{name: "binary with bytes that are not UTF-8", frames: []Frame{binary("\xff\xfe")}, messages: []Msg{bmsg("\xff\xfe")}, end: abnormal},
		{name: "messages in a row", frames: []Frame{text("a"), binary("bc"), text("")},
			messages: []Msg{tmsg("a"), bmsg("bc"), tmsg("")}, end: abnormal},
		{name: "fragmented text", frames: []Frame{first(frame.OpText, "he"), cont("ll", false), cont("o", true)},
			messages: []Msg{tmsg("hello")}, end: abnormal},
		{name: "empty fragments", frames: []Frame{first(frame.OpBinary, ""), cont("", false), cont("x", false), cont("", true)},
			messages: []Msg{bmsg("x")}, end: abnormal},
		{name: "large message", frames: []Frame{binary(strings.Repeat("L", 70000))},
			messages: []Msg{bmsg(strings.Repeat("L", 70000))}, end: abnormal},
		{name: "message at the read limit", limit: 64, frames: []Frame{binary(strings.Repeat("m", 64))},
			messages: []Msg{bmsg(strings.Repeat("m", 64))}, end: abnormal},
		{name: "fragments at the read limit", limit: 64, frames: []Frame{first(frame.OpBinary, strings.Repeat("m", 32)), cont(strings.Repeat("n", 32), true)},
			messages: []Msg{bmsg(strings.Repeat("m", 32) + strings.Repeat("n", 32))}, end: abnormal},
		{name: "transport ends inside a frame", frames: []Frame{text("a"), {Fin: true, Op: frame.OpText, Payload: []byte("bc"), Length: 5}},
			messages: []Msg{tmsg("a")}, end: abnormal},
		{name: "transport ends inside a header", frames: []Frame{text("a"), {Raw: []byte{0x81}}},
			messages: []Msg{tmsg("a")}, end: abnormal},

		// Control frames (RFC 6455 §5.5).
		{name: "ping answered with its payload", frames: []Frame{ping("p1")},
			pings: [][]byte{[]byte("p1")}, sent: []Sent{sentPong("p1")}, end: abnormal},
		{name: "empty ping", frames: []Frame{ping("")}, pings: [][]byte{{}}, sent: []Sent{sentPong("")}, end: abnormal},
		{name: "ping of 125 bytes", frames: []Frame{ping(strings.Repeat("P", 125))},
			pings: [][]byte{[]byte(strings.Repeat("P", 125))}, sent: []Sent{sentPong(strings.Repeat("P", 125))}, end: abnormal},
		{name: "pings answered in order", frames: []Frame{ping("1"), ping("2"), text("t"), ping("3")},
			messages: []Msg{tmsg("t")}, pings: [][]byte{[]byte("1"), []byte("2"), []byte("3")},
			sent: []Sent{sentPong("1"), sentPong("2"), sentPong("3")}, end: abnormal},
		{name: "ping between fragments", frames: []Frame{first(frame.OpText, "a"), ping("x"), cont("b", true)},
			messages: []Msg{tmsg("ab")}, pings: [][]byte{[]byte("x")}, sent: []Sent{sentPong("x")}, end: abnormal},
		{name: "unsolicited pong", frames: []Frame{pong("q"), text("t")},
			messages: []Msg{tmsg("t")}, pongs: [][]byte{[]byte("q")}, end: abnormal},
		{name: "fragmented ping", frames: []Frame{{Op: frame.OpPing, Payload: []byte("x")}},
			end: failed(closecode.ProtocolError), sent: []Sent{sentClose(closecode.ProtocolError)}},
		{name: "ping of 126 bytes", frames: []Frame{ping(strings.Repeat("P", 126))},
			end: failed(closecode.ProtocolError), sent: []Sent{sentClose(closecode.ProtocolError)}},

		// The closing handshake (RFC 6455 §5.5.1, §7).
		{name: "close echoed", frames: []Frame{text("a"), closeFrame(1000, "bye")},
			messages: []Msg{tmsg("a")}, end: peer(1000, "bye"), sent: []Sent{sentClose(1000)}},
		{name: "close with code 1001 echoed", frames: []Frame{closeFrame(1001, "")},
			end: peer(1001, ""), sent: []Sent{sentClose(1001)}},
		{name: "close with a registered code", frames: []Frame{closeFrame(3000, "x")},
			end: peer(3000, "x"), sent: []Sent{sentClose(3000)}},
		{name: "close with a private code", frames: []Frame{closeFrame(4999, "")},
			end: peer(4999, ""), sent: []Sent{sentClose(4999)}},
		{name: "close without a code answered with 1000", frames: []Frame{closeFrame(0, "")},
			end: peer(closecode.NoStatus, ""), sent: []Sent{sentClose(1000)}},
		{name: "close inside a fragmented message", frames: []Frame{first(frame.OpText, "a"), closeFrame(1000, "")},
			end: peer(1000, ""), sent: []Sent{sentClose(1000)}},
		{name: "frames after the close are ignored", frames: []Frame{closeFrame(1000, ""), text("late"), ping("late")},
			end: peer(1000, ""), sent: []Sent{sentClose(1000)}},
		{name: "close with a 1-byte payload", frames: []Frame{{Fin: true, Op: frame.OpClose, Payload: []byte{3}}},
			end: failed(closecode.ProtocolError), sent: []Sent{sentClose(closecode.ProtocolError)}},
		{name: "close reason not UTF-8", frames: []Frame{closeFrame(1000, "\xff")},
			end: failed(closecode.InvalidPayload), sent: []Sent{sentClose(closecode.InvalidPayload)}},
		{name: "fragmented close", frames: []Frame{{Op: frame.OpClose}},
			end: failed(closecode.ProtocolError), sent: []Sent{sentClose(closecode.ProtocolError)}},
	}
	// RFC 6455 §7.4.1, §7.4.2: codes that must not be received.
	for _, c := range []closecode.Code{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
		f := Frame{Fin: true, Op: frame.OpClose, Payload: []byte{byte(c >> 8), byte(c)}}
		rows = append(rows, row{name: "close code " + c.String(), frames: []Frame{f},
			end: failed(closecode.ProtocolError), sent: []Sent{sentClose(closecode.ProtocolError)}})
	}
	// Framing rules (RFC 6455 §5.1, §5.2, §5.4).
	protocol := func(name string, frames ...Frame) row {
		return row{name: name, frames: frames, end: failed(closecode.ProtocolError), sent: []Sent{sentClose(closecode.ProtocolError)}}
	}
	rows = append(rows,
		protocol("RSV1 without an extension", Frame{Fin: true, Rsv: frame.RSV1, Op: frame.OpText, Payload: []byte("x")}),
		protocol("RSV2 without an extension", Frame{Fin: true, Rsv: frame.RSV2, Op: frame.OpBinary}),
		protocol("RSV3 without an extension", Frame{Fin: true, Rsv: frame.RSV3, Op: frame.OpPing}),
		protocol("reserved opcode 3", Frame{Fin: true, Op: 3}),
		protocol("reserved opcode 7", Frame{Fin: true, Op: 7, Payload: []byte("x")}),
		protocol("reserved opcode 0xB", Frame{Fin: true, Op: 0xB}),
		protocol("reserved opcode 0xF", Frame{Fin: true, Op: 0xF}),
		protocol("broken masking rule", Frame{Fin: true, Op: frame.OpText, Payload: []byte("x"), BadMask: true}),
		protocol("continuation without a message", cont("x", true)),
		protocol("new message inside a fragmented one", first(frame.OpText, "a"), text("b")),
	)
	msb := protocol("64-bit length with its top bit set", Frame{Raw: []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}})
	msb.role = wsproto.Server
	rows = append(rows, msb)
	msb = protocol("64-bit length with its top bit set", Frame{Raw: []byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1}})
	msb.role = wsproto.Client
	rows = append(rows, msb)
	// The message before the broken rule is delivered.
	r := protocol("message then a reserved opcode", text("ok"), Frame{Fin: true, Op: 3})
	r.messages = []Msg{tmsg("ok")}
	rows = append(rows, r)
	// UTF-8 (RFC 6455 §8.1).
	invalid := func(name string, msgs []Msg, frames ...Frame) row {
		return row{name: name, frames: frames, messages: msgs, end: failed(closecode.InvalidPayload), sent: []Sent{sentClose(closecode.InvalidPayload)}}
	}
	rows = append(rows,
		row{name: "code point split across fragments", frames: []Frame{first(frame.OpText, "h\xc3"), cont("\xa9llo \xf0\x9f", false), cont("\x98\x80", true)},
			messages: []Msg{tmsg("héllo 😀")}, end: abnormal},
		invalid("invalid UTF-8", []Msg{tmsg("ok")}, text("ok"), text("a\xffb")),
		invalid("UTF-16 surrogate", nil, text("\xed\xa0\x80")),
		invalid("overlong encoding", nil, text("\xc0\xaf")),
		invalid("code point cut off at the message's end", nil, text("ab\xe2\x82")),
		invalid("invalid UTF-8 fails before the message ends", nil, first(frame.OpText, "ok\xff")),
		invalid("invalid UTF-8 in a later fragment fails at once", nil, first(frame.OpText, "ok"), cont("\xf5", false)),
	)
	// Read limits (RFC 6455 §10.4): checked on the header.
	tooBig := func(name string, frames ...Frame) row {
		return row{name: name, limit: 64, frames: frames, end: failed(closecode.MessageTooBig), sent: []Sent{sentClose(closecode.MessageTooBig)}}
	}
	rows = append(rows,
		tooBig("header over the read limit fails before the payload", Frame{Fin: true, Op: frame.OpBinary, Length: 65}),
		tooBig("huge length fails before the payload", Frame{Fin: true, Op: frame.OpBinary, Length: 1 << 62}),
		tooBig("fragments over the read limit", first(frame.OpBinary, strings.Repeat("m", 40)), Frame{Fin: true, Op: frame.OpContinuation, Length: 25}),
	)
	// permessage-deflate (RFC 7692).
	zf := func(p []byte, op frame.Opcode) Frame { return Frame{Fin: true, Rsv: frame.RSV1, Op: op, Payload: p} }
	rows = append(rows,
		row{name: "compressed messages with context takeover", compr: pmd,
			frames:   []Frame{zf(z[0], frame.OpText), binary("plain"), zf(z[1], frame.OpText), zf(z[2], frame.OpText)},
			messages: []Msg{tmsg(long), bmsg("plain"), tmsg(long), tmsg("héllo")}, end: abnormal},
		row{name: "compressed message in fragments with a ping between", compr: noTakeover,
			frames: []Frame{{Rsv: frame.RSV1, Op: frame.OpBinary, Payload: zFresh[0][:10]}, ping("p"),
				cont(string(zFresh[0][10:20]), false), cont(string(zFresh[0][20:]), true)},
			messages: []Msg{bmsg(long)}, pings: [][]byte{[]byte("p")}, sent: []Sent{sentPong("p")}, end: abnormal},
		row{name: "compressed empty message", compr: pmd, frames: []Frame{zf([]byte{0x00}, frame.OpText)},
			messages: []Msg{tmsg("")}, end: abnormal},
		row{name: "uncompressed message with the extension on", compr: pmd, frames: []Frame{text("plain")},
			messages: []Msg{tmsg("plain")}, end: abnormal},
		row{name: "RSV1 on a continuation", compr: pmd, frames: []Frame{first(frame.OpText, "a"), {Fin: true, Rsv: frame.RSV1, Op: frame.OpContinuation}},
			end: failed(closecode.ProtocolError), sent: []Sent{sentClose(closecode.ProtocolError)}},
		row{name: "RSV1 on a ping", compr: pmd, frames: []Frame{{Fin: true, Rsv: frame.RSV1, Op: frame.OpPing}},
			end: failed(closecode.ProtocolError), sent: []Sent{sentClose(closecode.ProtocolError)}},
		row{name: "RSV2 with the extension on", compr: pmd, frames: []Frame{{Fin: true, Rsv: frame.RSV2, Op: frame.OpText}},
			end: failed(closecode.ProtocolError), sent: []Sent{sentClose(closecode.ProtocolError)}},
		row{name: "corrupt compressed data", compr: pmd, frames: []Frame{zf([]byte{0xff, 0xff, 0xff, 0xff}, frame.OpBinary)},
			end: failed(closecode.InvalidPayload), sent: []Sent{sentClose(closecode.InvalidPayload)}},
		row{name: "compression bomb cut at the read limit", compr: pmd, frames: []Frame{zf(bomb[0], frame.OpBinary)},
			end: failed(closecode.MessageTooBig), sent: []Sent{sentClose(closecode.MessageTooBig)}},
		row{name: "compressed text not UTF-8", compr: pmd, frames: []Frame{text("ok"), zf(badUTF8[0], frame.OpText)},
			messages: []Msg{tmsg("ok")}, end: failed(closecode.InvalidPayload), sent: []Sent{sentClose(closecode.InvalidPayload)}},
	)
	for i := range rows {
		if rows[i].end.Kind == Abnormal {
			rows[i].end = abnormal
		}
	}
	return rows
}

// Compressed returns payload compressed as a peer without context takeover
// and a 15-bit window sends it, for drivers' own tests.
func Compressed(payload []byte) []byte {
	return deflated(false, string(payload))[0]
}
