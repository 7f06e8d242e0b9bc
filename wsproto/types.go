package wsproto

import (
	"errors"
	"strconv"
	"strings"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/frame"
)

// Role is the side of the connection: it decides the masking rules (RFC
// 6455 §5.1, §5.3) and who closes TCP first (§7.1.1).
type Role uint8

// Roles.
const (
	Server Role = 1
	Client Role = 2
)

// String returns "server" or "client".
func (r Role) String() string {
	switch r {
	case Server:
		return "server"
	case Client:
		return "client"
	}
	return "invalid role"
}

// MessageType is the type of a data message; its values are the opcodes
// (RFC 6455 §5.6).
type MessageType uint8

// Message types.
const (
	Text   MessageType = MessageType(frame.OpText)
	Binary MessageType = MessageType(frame.OpBinary)
)

// String returns "text" or "binary".
func (t MessageType) String() string { return frame.Opcode(t).String() }

// DefaultCompressionThreshold is the message size below which messages are
// sent uncompressed when Compression.Threshold is zero: deflating a few
// bytes costs more than it saves.
const DefaultCompressionThreshold = 128

// Compression is the permessage-deflate extension (RFC 7692) as negotiated
// in the opening handshake, with the local choices for sending.
type Compression struct {
	// Params are the negotiated parameters.
	Params deflate.Params
	// Level is the compression level, 1..9; 0 means the default (6).
	Level int
	// Threshold: messages shorter than this many bytes are sent
	// uncompressed (RFC 7692 §6: compression is chosen per message). Zero
	// means DefaultCompressionThreshold; a negative value compresses all.
	Threshold int
}

// Config configures a Receiver, a Sender or a Conn.
type Config struct {
	// Role is this endpoint's side; it must be Server or Client.
	Role Role
	// ReadLimit is the largest data message, in bytes, that the Receiver
	// accepts: summed over the fragments' headers, and for a compressed
	// message on its compressed and on its inflated size. A longer one
	// fails the connection with 1009. Zero or negative means no limit;
	// drivers apply their defaults.
	ReadLimit int64
	// Compression is the negotiated permessage-deflate extension; nil
	// means none, and RSV1 is then a protocol error (RFC 6455 §5.2).
	Compression *Compression
	// Assemble makes the Receiver report each data message whole, as a
	// Message event, instead of Data events chunk by chunk.
	Assemble bool
	// PullInflate makes the Receiver report the payload of a compressed
	// message as Data events marked Compressed, which the driver passes to
	// Inflate, instead of collecting it and reporting the inflated
	// message. It has no effect with Assemble.
	PullInflate bool
}

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// None: nothing to report; Feed consumed all of its input.
	None EventKind = iota
	// Data: a chunk of a data message's payload (Payload), unmasked and,
	// for text, valid UTF-8 so far. The first chunk of each message has
	// Start set (it may be empty: it reports the message's first header)
	// and the last has Final set (it may be empty too). Compressed marks
	// the compressed chunks of Config.PullInflate.
	Data
	// Message: a whole data message (Config.Assemble, or a compressed
	// message inflated by the Receiver).
	Message
	// Ping: a ping (RFC 6455 §5.5.2); Payload is its payload. The
	// Sender's AppendReply produces the pong.
	Ping
	// Pong: a pong (RFC 6455 §5.5.3); Payload is its payload.
	Pong
	// Close: the peer's close frame (RFC 6455 §5.5.1), valid: Code (NoStatus
	// when it carried none) and Reason. AppendReply produces the echo.
	// The Receiver reads nothing more.
	Close
	// Failed: the peer broke a rule (RFC 6455 §7.1.7). Code is the close
	// code to send (1002, 1007, 1009) and Err the rule; AppendReply
	// produces the close frame. The Receiver reads nothing more.
	Failed
)

var kindNames = [...]string{"none", "data", "message", "ping", "pong", "close", "failed"}

// String returns the kind's name.
func (k EventKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is what the Receiver found in its input. Payload points into the
// input given to Feed (unmasked in place) or into the Receiver's own
// buffers: it is valid until the next call of a Receiver method, and only
// while the driver keeps the input unchanged.
type Event struct {
	Kind EventKind
	// Type is the message type of Data and Message events.
	Type MessageType
	// Start and Final mark the first and last Data event of a message.
	Start, Final bool
	// Compressed marks Data events whose payload is compressed
	// (Config.PullInflate).
	Compressed bool
	// Payload is the data of Data, Message, Ping, Pong and Close events.
	Payload []byte
	// Code is the peer's close code (Close) or the code this endpoint
	// fails the connection with (Failed).
	Code closecode.Code
	// Reason is the peer's close reason (Close).
	Reason string
	// Err is the broken rule (Failed); closecode.Of(Err) is Code.
	Err error
}

// ErrClosed is returned by the Sender for any frame after its close frame
// (RFC 6455 §5.5.1: no data after the close frame).
var ErrClosed = errors.New("ws: connection closed")

// Errors for frames that the Sender refuses to produce.
var (
	// ErrControlTooLong: a ping or pong payload over 125 bytes (RFC 6455 §5.5).
	ErrControlTooLong = errors.New("ws: control frame payload over 125 bytes (RFC 6455 §5.5)")
	// ErrInvalidMessageType: a message type other than Text or Binary.
	ErrInvalidMessageType = errors.New("ws: message type must be Text or Binary")
)

// Errors for rules the Receiver enforces beyond package frame's.
var (
	// ErrInvalidUTF8: a text message (or its inflated payload) is not
	// valid UTF-8 (RFC 6455 §8.1); close code 1007.
	ErrInvalidUTF8 = &closecode.Error{Code: closecode.InvalidPayload,
		Rule: "text message is not valid UTF-8 (RFC 6455 §8.1)"}
	// ErrRSV1Control: RSV1 on a control frame with permessage-deflate
	// (RFC 7692 §6.1); close code 1002.
	ErrRSV1Control = &closecode.Error{Code: closecode.ProtocolError,
		Rule: "RSV1 set on a control frame (RFC 7692 §6.1)"}
	// ErrRSV1Continuation: RSV1 on a continuation frame (RFC 7692 §6.1);
	// close code 1002.
	ErrRSV1Continuation = &closecode.Error{Code: closecode.ProtocolError,
		Rule: "RSV1 set on a continuation frame (RFC 7692 §6.1)"}
)

// CloseReason derives the reason sent in the close frame that fails a
// connection from the broken rule: its text without the package prefix
// and the RFC citation, cut to fit a close frame (123 bytes, RFC 6455
// §5.5). An invalid UTF-8 rule is named "invalid UTF-8".
func CloseReason(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrInvalidUTF8) {
		return "invalid UTF-8"
	}
	s := err.Error()
	s = strings.TrimPrefix(s, "websocket: ")
	if i := strings.Index(s, " (RFC"); i > 0 {
		s = s[:i]
	}
	if len(s) > closecode.MaxReasonLen {
		s = strings.ToValidUTF8(s[:closecode.MaxReasonLen], "")
	}
	return s
}
