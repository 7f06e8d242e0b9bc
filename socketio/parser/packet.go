// Package parser is the Socket.IO 5 packet codec: the text encoding of the
// seven packet types, namespaces, acknowledgement ids, and binary
// attachments carried as separate messages and referred to by numbered
// placeholders. It does no I/O: it encodes a Packet into the Engine.IO
// messages that carry it, and a Decoder turns received messages back into
// Packets, enforcing every rule of the protocol document
// (github.com/socketio/socket.io-protocol, "Packet encoding") and of the
// reference parser (socket.io-parser 4).
//
// A packet travels as one text message (the Engine.IO "4" prefix is the
// transport's business, not this package's) followed, for BINARY_EVENT and
// BINARY_ACK, by one binary message per attachment:
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// Both the server in package socketio and Socket.IO clients use it.
package parser

import (
	"errors"
	"strconv"
)

// Type is a Socket.IO packet type.
type Type uint8

// Packet types (protocol document, "Exchange protocol").
const (
	Connect      Type = 0 // CONNECT: joins a namespace; the server answers with CONNECT {"sid"} or CONNECT_ERROR
	Disconnect   Type = 1 // DISCONNECT: leaves a namespace
	Event        Type = 2 // EVENT: ["name", args...], optionally with an ack id
	Ack          Type = 3 // ACK: [args...], answering the event with the same id
	ConnectError Type = 4 // CONNECT_ERROR: {"message", "data"} refusing a CONNECT
	BinaryEvent  Type = 5 // BINARY_EVENT: an EVENT with binary attachments
	BinaryAck    Type = 6 // BINARY_ACK: an ACK with binary attachments
)

var typeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

// String returns the protocol's name of the type, such as "BINARY_EVENT".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the seven packet types.
func (t Type) Valid() bool { return t <= BinaryAck }

// Binary reports whether packets of type t carry attachments
// (BINARY_EVENT, BINARY_ACK).
func (t Type) Binary() bool { return t == BinaryEvent || t == BinaryAck }

// MaxAckID is the largest acknowledgement id accepted: 2^53-1, the largest
// integer a JavaScript peer represents exactly. The reference parser reads
// ids with Number(), so a larger one could not be answered with the same id.
const MaxAckID = 1<<53 - 1

// DefaultMaxAttachments is the number of binary attachments a Decoder
// accepts in one packet when Decoder.MaxAttachments is zero; the reference
// parser's limit is the same.
const DefaultMaxAttachments = 10

// ErrInvalidPacket is the error of every malformed packet (errors.Is); its
// message says which rule was broken. The reference server closes the
// connection on such a packet ("parse error").
var ErrInvalidPacket = errors.New("socket.io: invalid packet")

// Packet is one Socket.IO packet.
type Packet struct {
	// Type is the packet type.
	Type Type
	// Namespace is the namespace, such as "/" or "/chat". Empty means "/".
	Namespace string
	// ID is the acknowledgement id, when HasID is set: an EVENT that wants
	// an answer, or the ACK that answers it.
	ID    uint64
	HasID bool
	// Data is the JSON payload, nil when the packet has none: an array for
	// EVENT and ACK (the event name first), an object for CONNECT and
	// CONNECT_ERROR (or a string for CONNECT_ERROR). In binary packets,
	// each attachment appears as {"_placeholder":true,"num":N}, N being its
	// index in Attachments.
	Data []byte
	// Attachments are the binary attachments of BINARY_EVENT and
	// BINARY_ACK, in order.
	Attachments [][]byte
}

// Nsp returns the packet's namespace, "/" when Namespace is empty.
func (p *Packet) Nsp() string {
	if p.Namespace == "" {
		return "/"
	}
	return p.Namespace
}

// AppendText appends the packet's text message to dst and returns the
// extended buffer. For BINARY_EVENT and BINARY_ACK, the attachment count is
// len(p.Attachments), and each attachment follows the text message as a
// binary message of its own. The namespace is written when it is not "/",
// followed by a comma, as the reference encoder does. AppendText does not
// check Data; Decoder is the side that enforces the rules.
func (p *Packet) AppendText(dst []byte) []byte {
	dst = append(dst, '0'+byte(p.Type))
	if p.Type.Binary() {
		dst = strconv.AppendInt(dst, int64(len(p.Attachments)), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// Messages returns the packet as the Engine.IO messages that carry it: its
// text message, then its attachments. It is AppendText(nil) and
// p.Attachments, for callers that want one list.
func (p *Packet) Messages() (text []byte, binary [][]byte) {
	return p.AppendText(nil), p.Attachments
}
