// Package behave is the behaviour table of the WebSocket engine: wire-level
// cases (the bytes a peer sends) with what an endpoint must do with them
// (the messages, pings and pongs it delivers, how the connection ends, the
// frames it sends in reply), written so that it runs against every driver
// of the protocol core: package wsproto driven directly, ws.Conn, and the
// event-loop server. A driver's test supplies a Runner that feeds a case's
// input to a connection of its kind and reports what it observed; Run
// compares that with the table.
package behave

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/wsproto"
)

// Frame describes one frame the peer sends.
type Frame struct {
	Fin     bool
	Rsv     uint8
	Op      frame.Opcode
	Payload []byte
	// Length, if not zero, is the payload length the header announces
	// instead of len(Payload) (a header whose payload never comes).
	Length int64
	// BadMask breaks the masking rule (RFC 6455 §5.1): a client frame
	// without a mask, or a server frame with one.
	BadMask bool
	// Raw, if not nil, is sent as it is instead of a frame.
	Raw []byte
}

// maskKey is the key the table's client frames are masked with.
var maskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// Wire encodes frames as a peer of an endpoint with role sends them: masked
// to a server, unmasked to a client.
func Wire(role wsproto.Role, frames ...Frame) []byte {
	var b []byte
	for _, f := range frames {
		if f.Raw != nil {
			b = append(b, f.Raw...)
			continue
		}
		h := frame.Header{Fin: f.Fin, Rsv: f.Rsv, Opcode: f.Op, Length: int64(len(f.Payload))}
		if f.Length != 0 {
			h.Length = f.Length
		}
		h.Masked = (role == wsproto.Server) != f.BadMask
		if h.Masked {
			h.Key = maskKey
		}
		b = frame.AppendHeader(b, h)
		start := len(b)
		b = append(b, f.Payload...)
		if h.Masked {
			for i := range b[start:] {
				b[start+i] ^= maskKey[i&3]
			}
		}
	}
	return b
}

// Msg is a data message.
type Msg struct {
	Type wsproto.MessageType
	Data []byte
}

// EndKind says how a connection ended.
type EndKind uint8

// How a connection ends.
const (
	// Abnormal: the transport ended without a close frame (1006, RFC 6455
	// §7.1.5).
	Abnormal EndKind = iota
	// PeerClose: the peer's valid close frame arrived.
	PeerClose
	// Failed: the endpoint failed the connection for a broken rule.
	Failed
)

func (k EndKind) String() string {
	return [...]string{"abnormal", "peer close", "failed"}[k]
}

// End is how a connection ended: the peer's code and reason, or the code
// this endpoint failed it with.
type End struct {
	Kind   EndKind
	Code   closecode.Code
	Reason string
}

// Sent is a frame the endpoint sent: a pong with its payload, a ping, or a
// close frame with its code (its reason is not compared).
type Sent struct {
	Op      frame.Opcode
	Payload []byte         // pongs and pings
	Code    closecode.Code // close; 0 for a close frame without a code
}

// Case is one row of the table.
type Case struct {
	Name string
	// Role is the endpoint's side; the input is what its peer sends.
	Role wsproto.Role
	// ReadLimit is the endpoint's read limit; 0 means 1 MiB.
	ReadLimit int64
	// Compression, if not nil, is the negotiated permessage-deflate.
	Compression *deflate.Params
	// Input is what the peer sends, after which the transport ends.
	Input []byte

	// What the endpoint must do.
	Messages []Msg
	Pings    [][]byte // ping payloads delivered to the application
	Pongs    [][]byte // pong payloads delivered to the application
	End      End
	Sent     []Sent // in order
}

// Limit returns the read limit the endpoint uses for c.
func (c *Case) Limit() int64 {
	if c.ReadLimit == 0 {
		return 1 << 20
	}
	return c.ReadLimit
}

// Observed is what a driver saw when it ran a case.
type Observed struct {
	Messages []Msg
	Pings    [][]byte
	Pongs    [][]byte
	End      End
	// Written is every byte the endpoint wrote.
	Written []byte
}

// Runner runs c on a connection of a driver's kind: the peer's input is
// delivered in reads of at most split bytes (0: as large as the driver
// asks), and the transport ends after it. It reports what the endpoint
// did.
type Runner func(t *testing.T, c Case, split int) Observed

// Splits are the read sizes Run tries each case with.
var Splits = []int{0, 1, 3, 17}

// Run runs every case of the table with run, at every size of Splits.
func Run(t *testing.T, run Runner) {
	for _, c := range Cases() {
		for _, split := range Splits {
			t.Run(fmt.Sprintf("%s/%v/split=%d", c.Name, c.Role, split), func(t *testing.T) {
				Check(t, c, run(t, c, split))
			})
		}
	}
}

// Check compares what was observed with what c wants.
func Check(t *testing.T, c Case, o Observed) {
	t.Helper()
	if !msgsEqual(o.Messages, c.Messages) {
		t.Errorf("messages:\n got %s\nwant %s", fmtMsgs(o.Messages), fmtMsgs(c.Messages))
	}
	if !payloadsEqual(o.Pings, c.Pings) {
		t.Errorf("pings: got %q, want %q", o.Pings, c.Pings)
	}
	if !payloadsEqual(o.Pongs, c.Pongs) {
		t.Errorf("pongs: got %q, want %q", o.Pongs, c.Pongs)
	}
	want := c.End
	if o.End.Kind != want.Kind || o.End.Code != want.Code || want.Kind == PeerClose && o.End.Reason != want.Reason {
		t.Errorf("end: got %v %v %q, want %v %v %q", o.End.Kind, o.End.Code, o.End.Reason, want.Kind, want.Code, want.Reason)
	}
	sent, err := ParseSent(c.Role, o.Written)
	if err != nil {
		t.Errorf("written bytes: %v (% x)", err, o.Written)
	}
	if !sentEqual(sent, c.Sent) {
		t.Errorf("sent:\n got %s\nwant %s", fmtSent(sent), fmtSent(c.Sent))
	}
}

// ParseSent parses what an endpoint with role wrote into frames, checking
// their masking (RFC 6455 §5.1) and that nothing follows a close frame.
func ParseSent(role wsproto.Role, b []byte) ([]Sent, error) {
	p := frame.Parser{Role: frame.Client, AllowedRSV: frame.RSV1}
	if role == wsproto.Client {
		p.Role = frame.Server // a server reads what a client writes
	}
	var out []Sent
	var payload []byte
	closed := false
	for len(b) > 0 {
		ev, n, err := p.Feed(b)
		b = b[n:]
		if err != nil {
			return out, err
		}
		h := p.Header()
		switch ev.Kind {
		case frame.NeedMore:
			return out, fmt.Errorf("truncated frame")
		case frame.HeaderEvent:
			if closed {
				return out, fmt.Errorf("a %v frame after the close frame", h.Opcode)
			}
			payload = payload[:0]
		case frame.PayloadEvent:
			for i, x := range ev.Payload {
				if h.Masked {
					x ^= h.Key[(ev.KeyPos+i)&3]
				}
				payload = append(payload, x)
			}
		}
		if !ev.FrameEnd {
			continue
		}
		s := Sent{Op: h.Opcode}
		switch h.Opcode {
		case frame.OpClose:
			closed = true
			if len(payload) >= 2 {
				s.Code = closecode.Code(payload[0])<<8 | closecode.Code(payload[1])
			}
		case frame.OpPing, frame.OpPong:
			s.Payload = bytes.Clone(payload)
		default:
			s.Payload = bytes.Clone(payload)
		}
		out = append(out, s)
	}
	return out, nil
}

func msgsEqual(a, b []Msg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

func payloadsEqual(a, b [][]byte) bool {
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

func sentEqual(a, b []Sent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Op != b[i].Op || a[i].Code != b[i].Code || !bytes.Equal(a[i].Payload, b[i].Payload) {
			return false
		}
	}
	return true
}

func fmtMsgs(m []Msg) string {
	var s []string
	for _, x := range m {
		d := string(x.Data)
		if len(d) > 40 {
			d = d[:40] + fmt.Sprintf("...(%d bytes)", len(x.Data))
		}
		s = append(s, fmt.Sprintf("%v %q", x.Type, d))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func fmtSent(f []Sent) string {
	var s []string
	for _, x := range f {
		if x.Op == frame.OpClose {
			s = append(s, fmt.Sprintf("close %d", x.Code))
		} else {
			s = append(s, fmt.Sprintf("%v %q", x.Op, x.Payload))
		}
	}
	return "[" + strings.Join(s, ", ") + "]"
}
