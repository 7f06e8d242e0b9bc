package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"sync"
	"unicode/utf8"

	"github.com/rfc6455/ws"
)

// Packet types (Engine.IO protocol v4, "Protocol").
const (
	packetOpen    = '0'
	packetClose   = '1'
	packetPing    = '2'
	packetPong    = '3'
	packetMessage = '4'
	packetUpgrade = '5'
	packetNoop    = '6'
	// binaryPrefix marks a base64-encoded binary message in a polling
	// payload ("Packet encoding", HTTP long-polling).
	binaryPrefix = 'b'
	// separator joins the packets of a polling payload: the ASCII record
	// separator ("Packet encoding", HTTP long-polling).
	separator = 0x1e
)

// Prepared is a message packet encoded once for many receivers: it keeps
// its WebSocket frame and its polling encoding (base64 for binary), built
// on first use, so a broadcast encodes once per transport kind and not
// once per receiver. A Prepared is safe for concurrent use and may be sent
// to any number of sockets.
type Prepared struct {
	kind byte // packet type
	typ  ws.MessageType
	// enc is the text encoding, type byte included, of a text packet;
	// nil for binary messages.
	enc []byte
	// data is the message payload (enc[1:] for text).
	data []byte
	// shared marks packets made by NewPrepared, which cache their
	// encodings; the per-socket packets of Send encode on the fly.
	shared bool

	wsOnce  sync.Once
	wsMsg   *ws.PreparedMessage
	b64Once sync.Once
	b64     []byte
}

// NewPrepared prepares a message packet of type typ (ws.Text or ws.Binary)
// with payload data. It keeps data; the caller must not modify it
// afterwards. Text must be valid UTF-8, as it travels in WebSocket text
// frames and UTF-8 polling payloads.
func NewPrepared(typ ws.MessageType, data []byte) (*Prepared, error) {
	p, err := newMessage(typ, data, false)
	if err != nil {
		return nil, err
	}
	p.shared = true
	return p, nil
}

// NewMessage prepares a message packet for one receiver, as NewPrepared
// does for many: it keeps data, which the caller must not modify
// afterwards, and makes its encodings (the WebSocket frame, base64 for
// binary on polling) when it is written instead of keeping them, which is
// cheaper for a packet that goes to one session. Text must be valid UTF-8.
func NewMessage(typ ws.MessageType, data []byte) (*Prepared, error) {
	return newMessage(typ, data, false)
}

// newMessage makes a message packet; copy says whether data must be copied
// (Send) or may be kept (NewPrepared, which copies text anyway to put the
// type byte in front).
func newMessage(typ ws.MessageType, data []byte, copyData bool) (*Prepared, error) {
	switch typ {
	case ws.Text:
		if !utf8.Valid(data) {
			return nil, ErrInvalidUTF8
		}
		enc := make([]byte, 1+len(data))
		enc[0] = packetMessage
		copy(enc[1:], data)
		return &Prepared{kind: packetMessage, typ: ws.Text, enc: enc, data: enc[1:]}, nil
	case ws.Binary:
		if copyData {
			data = append([]byte(nil), data...)
		}
		return &Prepared{kind: packetMessage, typ: ws.Binary, data: data}, nil
	}
	return nil, ws.ErrInvalidMessageType
}

// Type returns the message type.
func (p *Prepared) Type() ws.MessageType { return p.typ }

// Data returns the payload. It must not be modified.
func (p *Prepared) Data() []byte { return p.data }

// size is what the packet counts for in a session's buffered amount.
func (p *Prepared) size() int64 { return int64(len(p.data)) + 1 }

// control makes a packet of a type other than message, with optional text.
func control(kind byte, text string) *Prepared {
	enc := append([]byte{kind}, text...)
	return &Prepared{kind: kind, typ: ws.Text, enc: enc, data: enc[1:], shared: true}
}

// The control packets the server sends.
var (
	pingPacket  = control(packetPing, "")
	closePacket = control(packetClose, "")
	noopPacket  = control(packetNoop, "")
	probePong   = []byte("3probe")
)

// binaryText returns "b" followed by the base64 encoding of a binary
// message, as polling payloads (and WebSocket sessions that asked for b64)
// carry it; shared packets compute it once.
func (p *Prepared) binaryText(dst []byte) []byte {
	if !p.shared {
		dst = append(dst, binaryPrefix)
		return base64.StdEncoding.AppendEncode(dst, p.data)
	}
	p.b64Once.Do(func() {
		b := make([]byte, 0, 1+base64.StdEncoding.EncodedLen(len(p.data)))
		b = append(b, binaryPrefix)
		p.b64 = base64.StdEncoding.AppendEncode(b, p.data)
	})
	return append(dst, p.b64...)
}

// appendPolling appends the packet's polling encoding to dst.
func (p *Prepared) appendPolling(dst []byte) []byte {
	if p.enc != nil {
		return append(dst, p.enc...)
	}
	return p.binaryText(dst)
}

// pollingLen is the length of the packet's polling encoding.
func (p *Prepared) pollingLen() int {
	if p.enc != nil {
		return len(p.enc)
	}
	return 1 + base64.StdEncoding.EncodedLen(len(p.data))
}

// wsMessage returns the WebSocket message of a shared packet, encoded once.
func (p *Prepared) wsMessage() *ws.PreparedMessage {
	p.wsOnce.Do(func() {
		if p.enc != nil {
			p.wsMsg, _ = ws.NewPreparedMessage(ws.Text, p.enc)
		} else {
			p.wsMsg, _ = ws.NewPreparedMessage(ws.Binary, p.data)
		}
	})
	return p.wsMsg
}

// ErrInvalidUTF8 is returned by NewPrepared and Send for text that is not
// valid UTF-8.
var ErrInvalidUTF8 = errors.New("engineio: text message is not valid UTF-8")

// packet is a decoded packet: its type and, for messages, the message
// type and payload. data aliases the decoder's input or scratch buffer.
type packet struct {
	kind byte
	typ  ws.MessageType
	data []byte
}

// decodePacket decodes one packet of a polling payload or one WebSocket
// text frame (Engine.IO v4, "Packet encoding"): a type digit and its data,
// or "b" and a base64 binary message, which is decoded into *scratch.
// Anything else is a parse error; text must be valid UTF-8.
func decodePacket(b []byte, scratch *[]byte) (packet, error) {
	return decode(b, scratch, false)
}

// decode is decodePacket; valid says that b is known to be valid UTF-8
// (a WebSocket text frame, which package ws validated).
func decode(b []byte, scratch *[]byte, valid bool) (packet, error) {
	if len(b) == 0 {
		return packet{}, errEmptyPacket
	}
	kind := b[0]
	switch {
	case kind == binaryPrefix:
		data, err := decodeBase64(b[1:], scratch)
		if err != nil {
			return packet{}, err
		}
		return packet{kind: packetMessage, typ: ws.Binary, data: data}, nil
	case kind < packetOpen || kind > packetNoop:
		return packet{}, errPacketType
	}
	if !valid && !utf8.Valid(b[1:]) {
		return packet{}, errPacketUTF8
	}
	return packet{kind: kind, typ: ws.Text, data: b[1:]}, nil
}

// Strict base64 (RFC 4648 §4): the unused bits of the last character must
// be zero, so that each byte string has one encoding.
var (
	padded   = base64.StdEncoding.Strict()
	unpadded = base64.RawStdEncoding.Strict()
)

// decodeBase64 decodes standard base64, padded or not (the reference
// client pads; other clients may not), into *scratch.
func decodeBase64(src []byte, scratch *[]byte) ([]byte, error) {
	if bytes.ContainsAny(src, "\r\n") {
		// Package base64 skips line breaks; the protocol has none.
		return nil, errBadBase64
	}
	enc := padded
	if len(src)%4 != 0 {
		enc = unpadded
	}
	n := enc.DecodedLen(len(src))
	buf := *scratch
	if cap(buf) < n {
		buf = make([]byte, n)
		*scratch = buf
	}
	m, err := enc.Decode(buf[:n], src)
	if err != nil {
		return nil, errBadBase64
	}
	return buf[:m], nil
}

// Parse errors, all wrapped in ErrParseError when they close a session.
var (
	errEmptyPacket = errors.New("empty packet")
	errPacketType  = errors.New("unknown packet type")
	errPacketUTF8  = errors.New("packet text is not valid UTF-8")
	errBadBase64   = errors.New("binary packet is not valid base64")
)

// decodePayload splits a polling payload into its packets (separated by
// \x1e) and calls fn with each, in order, until fn returns false. A
// malformed packet stops it with a parse error, after the packets before
// it were handed to fn, as the reference parser does. The packet's data is
// valid only during the call.
func decodePayload(body []byte, scratch *[]byte, fn func(packet) bool) error {
	for {
		i := bytes.IndexByte(body, separator)
		part := body
		if i >= 0 {
			part = body[:i]
		}
		p, err := decodePacket(part, scratch)
		if err != nil {
			return err
		}
		if !fn(p) || i < 0 {
			return nil
		}
		body = body[i+1:]
	}
}
