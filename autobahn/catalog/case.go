// Package catalog is the Autobahn TestSuite's case catalog (sections 1–7, 9
// and 10) rewritten in Go, with an engine that plays the suite's fuzzing
// peer: as a client against any WebSocket echo server, or as a server for a
// client that connects once per case.
//
// A case sends frames through a Session, says which sequences of received
// events it expects for each verdict (Expect) and how the connection should
// close (ExpectClose). When the connection ends, the engine compares what
// happened with the expectations exactly as the original suite does, giving a
// behaviour verdict and a close verdict.
package catalog

import "time"

// Verdict is the outcome of a case, in the suite's own words.
type Verdict string

// Verdicts, as the original suite reports them.
const (
	OK             Verdict = "OK"
	NonStrict      Verdict = "NON-STRICT"
	Informational  Verdict = "INFORMATIONAL"
	Unimplemented  Verdict = "UNIMPLEMENTED"
	Failed         Verdict = "FAILED"
	WrongCode      Verdict = "WRONG CODE"
	Unclean        Verdict = "UNCLEAN"
	FailedByClient Verdict = "FAILED BY CLIENT"
)

// Event is one thing the fuzzing peer observed: a message, a ping or a pong
// from the peer under test, or a marker a case records itself (such as
// ("timeout", "A")). Sequences of events are compared exactly.
type Event struct {
	Kind   string // "message", "ping", "pong", or a case's own kind
	Data   string // the payload bytes, or the marker's value
	Binary bool   // for messages: binary (true) or text (false)
}

// Message is a "message" event.
func Message(payload []byte, binary bool) Event {
	return Event{Kind: "message", Data: string(payload), Binary: binary}
}

// Ping is a "ping" event.
func Ping(payload []byte) Event { return Event{Kind: "ping", Data: string(payload)} }

// Pong is a "pong" event.
func Pong(payload []byte) Event { return Event{Kind: "pong", Data: string(payload)} }

// Marker is an event a case records itself, e.g. Marker("timeout", "A").
func Marker(kind, value string) Event { return Event{Kind: kind, Data: value} }

// ExpectedClose is how a case expects the connection to close.
type ExpectedClose struct {
	// ClosedByMe: the fuzzing peer is expected to start the closing
	// handshake (false: the peer under test starts or fails it).
	ClosedByMe bool
	// CloseCodes lists the acceptable close codes from the peer under
	// test. The first is the one the fuzzing peer sends when it closes.
	CloseCodes []int
	// RequireClean: the close handshake must complete and TCP be closed
	// by the right side in time.
	RequireClean bool
	// ClosedByWrongEndpointIsFatal turns the behaviour verdict FAILED when
	// the wrong endpoint started the close (the suite's UTF-8 cases: a
	// peer that lets the fuzzer fail the connection did not detect the
	// invalid text itself).
	ClosedByWrongEndpointIsFatal bool
}

// FrameSpec describes one frame for Session.SendFrame, like the suite's
// sendFrame.
type FrameSpec struct {
	Opcode  byte
	Payload []byte
	Fin     bool
	Rsv     byte // RSV bits as a 3-bit number (RSV1 = 4)
	// Mask overrides the masking key; nil means a random key when the
	// fuzzing peer is a client and no mask when it is a server.
	Mask *[4]byte
	// PayloadLen, when > 0, repeats Payload to this length.
	PayloadLen int
	// Chop, when > 0, writes the frame's bytes in chunks of this size.
	Chop int
	// Sync writes the frame's bytes with a socket write of their own,
	// after everything sent before, so frames are not coalesced (the
	// suite's sync=True). The case does not block on it.
	Sync bool
}

// Frame returns a final frame with the given opcode and payload.
func Frame(opcode byte, payload []byte) FrameSpec {
	return FrameSpec{Opcode: opcode, Payload: payload, Fin: true}
}

// Result is the outcome of one case run, as reported in the suite's
// per-case JSON.
type Result struct {
	Behavior      Verdict
	BehaviorClose Verdict
	Result        string
	ResultClose   string
	Received      []Event
	// Close facts, as the suite records them.
	ClosedByMe        bool
	FailedByMe        bool
	DroppedByMe       bool
	WasClean          bool
	WasNotCleanReason string
	RemoteCloseCode   *int
	RemoteCloseReason *string
	Duration          time.Duration
	ConnectionWasOpen bool
}

// Session is the fuzzing peer's side of one case's connection. Every method
// is called on the engine's single event goroutine (from Case.Run, from a
// ContinueLater callback, or from a hook), as in the suite's single-threaded
// reactor, so cases need no locking.
type Session interface {
	// Expect adds an acceptable sequence of received events for verdict v.
	// Expect(OK) with no events expects nothing to be received.
	Expect(v Verdict, events ...Event)
	// ExpectClose sets the expected close behaviour.
	ExpectClose(c ExpectedClose)
	// Record appends an event to what was received, as the default
	// handlers do, without checking expectations.
	Record(e Event)
	// FinishWhenDone starts the closing handshake (with the first expected
	// close code) if what was received matches every expected outcome and
	// the case expects the fuzzing peer to close, unless SuppressClose.
	FinishWhenDone()
	// Received returns what was received so far.
	Received() []Event
	// SuppressClose stops FinishWhenDone from closing.
	SuppressClose()
	// SetReportTime asks the report to show the case's duration.
	SetReportTime()

	// OnMessage replaces the default message handler (record, then
	// FinishWhenDone) for this case.
	OnMessage(fn func(payload []byte, binary bool))
	// OnPong replaces the default pong handler (record, then
	// FinishWhenDone). Pings are always answered with a pong first.
	OnPong(fn func(payload []byte))
	// OnEnd runs after the engine computed the verdicts when the
	// connection ended; it may change r (the suite's onConnectionLost
	// overrides).
	OnEnd(fn func(r *Result))

	// SendFrame sends one frame as described.
	SendFrame(f FrameSpec)
	// SendMessage sends a message: one frame, or fragments of
	// AutoFragmentSize bytes when that is set.
	SendMessage(payload []byte, binary bool)
	// SendMessageFragmented sends a message in fragments of fragSize bytes.
	SendMessageFragmented(payload []byte, binary bool, fragSize int, sync bool)
	// SetAutoFragmentSize makes SendMessage fragment (0: off).
	SetAutoFragmentSize(n int)
	// SendClose starts the closing handshake; code 0 sends an empty
	// payload, otherwise the code and the reason.
	SendClose(code int, reason string)
	// ContinueLater runs fn after d, unless the connection is closed by
	// then; tag names the step in the wire log.
	ContinueLater(d time.Duration, tag string, fn func())
	// KillAfter fails the connection (drops TCP) after d unless it is
	// already closed.
	KillAfter(d time.Duration)
	// CloseAfter starts the closing handshake after d unless closed.
	CloseAfter(d time.Duration)

	// IsOpen reports whether the connection is open (no close frame sent
	// or received, TCP up).
	IsOpen() bool
	// IsServer reports whether the fuzzing peer is the server (testing a
	// client) rather than the client (testing a server).
	IsServer() bool
	// TxFrames returns how many frames with the given opcode the fuzzing
	// peer sent.
	TxFrames(opcode byte) int
	// SetWirelog turns the wire log on or off (large payloads).
	SetWirelog(on bool)

	// Deflate returns the permessage-deflate parameters in force, and
	// whether the extension was negotiated at all (the original's
	// _perMessageCompress). While it is, SendMessage compresses every
	// message.
	Deflate() (DeflateParams, bool)
	// DeflateError describes why a compressed message from the peer was
	// refused (invalid data, or a back-reference beyond the negotiated
	// window), or is empty.
	DeflateError() string
}

// Case is one test case of the catalog.
type Case struct {
	// ID is the suite's case number, e.g. "1.1.1".
	ID string
	// Description and Expectation are shown in reports.
	Description string
	Expectation string
	// Run starts the case once the connection is open (the suite's
	// init and onOpen).
	Run func(s Session)
	// Compression, if set, is the case's permessage-deflate setup for the
	// opening handshake (the original's perMessageCompressionOffers and
	// perMessageCompressionAccept).
	Compression *Compression
}
