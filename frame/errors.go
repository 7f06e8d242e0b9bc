package frame

// Error is a violation of the framing rules found by the Parser. Rule names
// the requirement that was broken, with its RFC section; Code is the close
// code the endpoint sends when it fails the connection because of it.
type Error struct {
	Rule string
	Code uint16
}

// Error implements the error interface.
func (e *Error) Error() string { return "websocket: " + e.Rule }

// CloseCode returns the close code to send for this violation. Packages that
// look for close codes in errors (closecode.Of) recognise this method.
func (e *Error) CloseCode() uint16 { return e.Code }

// Close codes used by the parser's errors. They are the values of package
// closecode's ProtocolError and MessageTooBig, repeated here because frame
// imports nothing of this module.
const (
	codeProtocolError = 1002
	codeMessageTooBig = 1009
)

// The violations the Parser reports. They are distinct values, so callers can
// compare with errors.Is.
var (
	// ErrReservedOpcode: RFC 6455 §5.2, opcodes 0x3–0x7 and 0xB–0xF are
	// reserved; receiving one fails the connection.
	ErrReservedOpcode = &Error{"reserved opcode received (RFC 6455 §5.2)", codeProtocolError}

	// ErrReservedBits: RFC 6455 §5.2, RSV1–3 MUST be 0 unless an extension
	// that defines them was negotiated.
	ErrReservedBits = &Error{"reserved bit set without a negotiated extension (RFC 6455 §5.2)", codeProtocolError}

	// ErrFragmentedControl: RFC 6455 §5.5, control frames MUST NOT be
	// fragmented.
	ErrFragmentedControl = &Error{"fragmented control frame (RFC 6455 §5.5)", codeProtocolError}

	// ErrControlTooLong: RFC 6455 §5.5, control frames have a payload of 125
	// bytes or less.
	ErrControlTooLong = &Error{"control frame payload over 125 bytes (RFC 6455 §5.5)", codeProtocolError}

	// ErrLengthMSB: RFC 6455 §5.2, the most significant bit of a 64-bit
	// payload length MUST be 0.
	ErrLengthMSB = &Error{"64-bit payload length with its most significant bit set (RFC 6455 §5.2)", codeProtocolError}

	// ErrNonMinimalLength: RFC 6455 §5.2, the minimal number of bytes MUST be
	// used to encode the length. Reported only when Parser.StrictLength is
	// set; most implementations accept such frames and so does the default.
	ErrNonMinimalLength = &Error{"payload length not minimally encoded (RFC 6455 §5.2)", codeProtocolError}

	// ErrUnmaskedClientFrame: RFC 6455 §5.1, a server MUST close the
	// connection on a frame from the client that is not masked.
	ErrUnmaskedClientFrame = &Error{"unmasked frame from a client (RFC 6455 §5.1)", codeProtocolError}

	// ErrMaskedServerFrame: RFC 6455 §5.1, a client MUST close the
	// connection on a masked frame from the server.
	ErrMaskedServerFrame = &Error{"masked frame from a server (RFC 6455 §5.1)", codeProtocolError}

	// ErrUnexpectedContinuation: RFC 6455 §5.4, a continuation frame with no
	// fragmented message in progress.
	ErrUnexpectedContinuation = &Error{"continuation frame without a message to continue (RFC 6455 §5.4)", codeProtocolError}

	// ErrExpectedContinuation: RFC 6455 §5.4, the fragments of a message
	// MUST NOT be interleaved with another data message.
	ErrExpectedContinuation = &Error{"new data frame inside a fragmented message (RFC 6455 §5.4)", codeProtocolError}

	// ErrTooLarge: a frame, or the message it belongs to, is longer than the
	// configured limit (RFC 6455 §10.4). Close code 1009.
	ErrTooLarge = &Error{"message exceeds the read limit (RFC 6455 §10.4)", codeMessageTooBig}
)
