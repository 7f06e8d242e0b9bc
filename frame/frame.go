// Package frame models the RFC 6455 base framing protocol (§5.2): the frame
// header, its wire encoding, and a sans-I/O parser that is fed bytes and
// reports what it found.
//
// The parser does no I/O and allocates nothing per frame. The blocking
// connection in package ws drives it from a net.Conn, an event-loop server can
// drive it from readiness notifications, and fuzz targets drive it directly.
//
// Every protocol violation the parser detects is a *Error naming the rule it
// enforces, and maps to the close code the endpoint must send (1002 for
// protocol errors, 1009 for a frame or message over the configured limit).
package frame

import (
	"encoding/binary"
	"strconv"
)

// Opcode is the 4-bit frame opcode (RFC 6455 §5.2, §11.8).
type Opcode uint8

// Opcodes defined by RFC 6455 §5.2. All others are reserved.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether o is a control opcode (most significant opcode
// bit set, RFC 6455 §5.5).
func (o Opcode) IsControl() bool { return o&0x8 != 0 }

// IsData reports whether o is a data opcode: continuation, text or binary.
func (o Opcode) IsData() bool { return o <= OpBinary }

// IsReserved reports whether o is one of the opcodes RFC 6455 reserves for
// future use: 0x3–0x7 (data) and 0xB–0xF (control).
func (o Opcode) IsReserved() bool {
	switch o {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return false
	}
	return true
}

// String returns the opcode's name.
func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "reserved(0x" + strconv.FormatUint(uint64(o), 16) + ")"
}

// Reserved header bits, as stored in Header.Rsv.
const (
	RSV1 uint8 = 0x4 // used by permessage-deflate (RFC 7692 §6)
	RSV2 uint8 = 0x2
	RSV3 uint8 = 0x1
)

// MaxHeaderSize is the largest encoded header: 2 bytes, an 8-byte extended
// length and a 4-byte masking key.
const MaxHeaderSize = 14

// MaxControlPayload is the largest payload of a control frame (RFC 6455 §5.5).
const MaxControlPayload = 125

// Header is a decoded frame header (RFC 6455 §5.2).
type Header struct {
	Fin    bool    // final fragment of a message
	Rsv    uint8   // RSV1..RSV3 as the low three bits (RSV1 = 0x4)
	Opcode Opcode  // frame opcode
	Masked bool    // payload is masked with Key
	Key    [4]byte // masking key, meaningful when Masked
	Length int64   // payload length in bytes
}

// Size returns the number of bytes AppendHeader writes for h: 2, plus 2 or 8
// for an extended length, plus 4 for a masking key.
func (h Header) Size() int {
	n := 2
	switch {
	case h.Length > 0xFFFF:
		n += 8
	case h.Length > 125:
		n += 2
	}
	if h.Masked {
		n += 4
	}
	return n
}

// AppendHeader appends the wire encoding of h to dst and returns the extended
// slice. It uses the minimal length encoding (RFC 6455 §5.2: "the minimal
// number of bytes MUST be used to encode the length") and allocates only when
// dst lacks capacity. A negative Length is encoded as 0; callers validate
// their own frames.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := byte(h.Opcode&0xF) | (h.Rsv&0x7)<<4
	if h.Fin {
		b0 |= 0x80
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	n := h.Length
	if n < 0 {
		n = 0
	}
	switch {
	case n <= 125:
		dst = append(dst, b0, b1|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, b0, b1|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if h.Masked {
		dst = append(dst, h.Key[0], h.Key[1], h.Key[2], h.Key[3])
	}
	return dst
}

// PutHeader writes the encoding of h into b, which must have room for
// h.Size() bytes, and returns the number of bytes written.
func PutHeader(b []byte, h Header) int {
	return len(AppendHeader(b[:0:len(b)], h))
}
