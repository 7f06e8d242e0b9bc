package ws

import (
	"errors"
	"time"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/wsproto"
)

// MessageType is the type of a data message (RFC 6455 §5.6).
type MessageType uint8

// Message types. Their values are the frame opcodes.
const (
	// Text messages carry UTF-8 text; it is validated as it arrives.
	Text MessageType = MessageType(frame.OpText)
	// Binary messages carry arbitrary bytes.
	Binary MessageType = MessageType(frame.OpBinary)
)

// String returns "text" or "binary".
func (t MessageType) String() string { return frame.Opcode(t).String() }

// Role says which side of the connection a Conn is. It decides the masking
// rules (RFC 6455 §5.1) and who closes TCP first (§7.1.1).
type Role uint8

// Roles.
const (
	RoleServer Role = 1
	RoleClient Role = 2
)

// String returns "server" or "client".
func (r Role) String() string {
	switch r {
	case RoleServer:
		return "server"
	case RoleClient:
		return "client"
	}
	return "invalid role"
}

// State is the state of a connection (the readyState of RFC 6455 §4 and §7).
type State int32

// Connection states.
const (
	// StateConnecting: the opening handshake has not completed. A Conn
	// made by NewConn starts past it, so only handshake code reports it.
	StateConnecting State = iota
	// StateOpen: messages flow in both directions.
	StateOpen
	// StateClosing: a close frame has been sent or received.
	StateClosing
	// StateClosed: the TCP connection is closed.
	StateClosed
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateOpen:
		return "open"
	case StateClosing:
		return "closing"
	case StateClosed:
		return "closed"
	}
	return "invalid state"
}

// CloseCode is a close status code (RFC 6455 §7.4); see package closecode.
type CloseCode = closecode.Code

// CloseError is returned by reads once the peer's close frame has arrived; it
// carries the peer's code and reason. See package closecode.
type CloseError = closecode.CloseError

// Close codes, re-exported from package closecode for convenience.
const (
	CloseNormal             = closecode.Normal
	CloseGoingAway          = closecode.GoingAway
	CloseProtocolError      = closecode.ProtocolError
	CloseUnsupportedData    = closecode.UnsupportedData
	CloseNoStatus           = closecode.NoStatus
	CloseAbnormal           = closecode.Abnormal
	CloseInvalidPayload     = closecode.InvalidPayload
	ClosePolicyViolation    = closecode.PolicyViolation
	CloseMessageTooBig      = closecode.MessageTooBig
	CloseMandatoryExtension = closecode.MandatoryExtension
	CloseInternalError      = closecode.InternalError
	CloseServiceRestart     = closecode.ServiceRestart
	CloseTryAgainLater      = closecode.TryAgainLater
	CloseBadGateway         = closecode.BadGateway
)

// Defaults for Options fields left zero.
const (
	DefaultReadLimit    = 32 << 20
	DefaultCloseTimeout = 5 * time.Second
	DefaultFragmentSize = 32 << 10
)

// Options configure a Conn. The zero value is ready to use; NewConn copies
// the struct, so one Options value can serve many connections.
type Options struct {
	// ReadLimit is the largest message, in bytes, that reads accept. A
	// longer message fails the connection with 1009 (message too big), and
	// is rejected on its frame headers before anything is allocated for
	// it. Zero means DefaultReadLimit (32 MiB); a negative value means no
	// limit.
	ReadLimit int64

	// CloseTimeout bounds the close handshake: how long Close waits for the
	// peer's close frame, and how long a client waits for the server to
	// close TCP afterwards (RFC 6455 §7.1.1). Zero means 5 seconds.
	CloseTimeout time.Duration

	// FragmentSize is the payload size of each frame that a message writer
	// (NextWriter) sends. Zero means 32 KiB.
	FragmentSize int

	// WriteTimeout, if positive, bounds each frame write. A write that
	// times out fails the connection, as any failed write does. A context
	// deadline on the write applies as well; the earlier one wins.
	WriteTimeout time.Duration

	// Compression is the permessage-deflate extension negotiated in the
	// opening handshake (RFC 7692); nil means it is not in use, and a
	// frame with RSV1 set is then a protocol error (RFC 6455 §5.2). The
	// server and client packages set it.
	Compression *Compression

	// Subprotocol is the subprotocol negotiated in the opening handshake;
	// Conn.Subprotocol reports it. The server and client packages set it.
	Subprotocol string

	// OnPing, if set, is called with the payload of each ping received,
	// after the pong reply was written (RFC 6455 §5.5.2). It runs on the
	// goroutine that reads and must not keep the payload.
	OnPing func(payload []byte)

	// OnPong, if set, is called with the payload of each pong received. It
	// runs on the goroutine that reads and must not keep the payload.
	OnPong func(payload []byte)

	// OnPeerClose, if set, is called with the peer's close code and
	// reason when its close frame arrives, before this side's answer is
	// written. RFC 6455 §5.5.1 lets an endpoint finish sending its
	// current message before it answers a close; a layer that queues
	// messages for a writer goroutine of its own uses OnPeerClose to let
	// that writer finish what was queued, so that messages sent before
	// the peer's close was read are not lost behind the answer. It runs
	// on the goroutine that reads, and should return within CloseTimeout:
	// the answer waits for it, then has CloseTimeout to be written.
	OnPeerClose func(code CloseCode, reason string)
}

// Errors returned by Conn methods.
var (
	// ErrClosed is returned by operations on a connection whose close
	// frame was already sent or whose TCP connection is closed.
	ErrClosed = errors.New("ws: connection closed")
	// ErrStaleReader is returned by a message reader used after the next
	// message was requested.
	ErrStaleReader = errors.New("ws: message reader used after the next message was requested")
	// ErrWriterClosed is returned by a message writer used after Close.
	ErrWriterClosed = errors.New("ws: message writer used after Close")
	// ErrInvalidMessageType is returned when a write names a type other
	// than Text or Binary.
	ErrInvalidMessageType = errors.New("ws: message type must be Text or Binary")
)

// Handler holds the callbacks Serve dispatches to. Nil fields are skipped.
// Every callback runs on the goroutine that called Serve; byte slices passed
// to them are valid only until the callback returns.
type Handler struct {
	// OnMessage is called with each data message.
	OnMessage func(typ MessageType, data []byte)
	// OnPing is called with each ping's payload, after it was answered.
	OnPing func(payload []byte)
	// OnPong is called with each pong's payload.
	OnPong func(payload []byte)
	// OnClose is called once with the peer's close code and reason when
	// the peer closes the connection.
	OnClose func(code CloseCode, reason string)
}

// DefaultCompressionThreshold is the size below which messages are sent
// uncompressed when Compression.Threshold is zero: deflating a few bytes
// costs more than it saves.
const DefaultCompressionThreshold = wsproto.DefaultCompressionThreshold

// Compression is the permessage-deflate extension (RFC 7692) as negotiated
// in the opening handshake, with the local choices for sending: Params,
// the negotiated parameters; Level, the compression level, 1..9, 0 meaning
// the default (6); Threshold: messages shorter than this many bytes are
// sent uncompressed (RFC 7692 §6: compression is chosen per message), 0
// meaning DefaultCompressionThreshold and a negative value compressing
// all. The server and client packages fill it in from the handshake. It
// is the protocol core's type (package wsproto), which applies it.
type Compression = wsproto.Compression

// ErrCloseTimeout is returned by Close when the peer did not answer the close
// frame within Options.CloseTimeout; the connection was then closed anyway.
var ErrCloseTimeout = errors.New("ws: close handshake timed out")

// ErrKeepAliveTimeout is returned by KeepAlive, and wrapped by the errors
// reads and writes return afterwards, when the peer did not answer a ping
// in time.
var ErrKeepAliveTimeout = errors.New("ws: keepalive: the peer did not answer a ping in time")
