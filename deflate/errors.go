package deflate

import "errors"

// Error is an error from decompressing a message, carrying the WebSocket
// close code (RFC 6455 §7.4.1) with which the receiving endpoint fails the
// connection.
type Error struct {
	code uint16
	msg  string
}

// Error returns the error message.
func (e *Error) Error() string { return e.msg }

// CloseCode returns the close code for e.
func (e *Error) CloseCode() uint16 { return e.code }

var (
	// ErrTooLarge: the decompressed message would exceed the read limit.
	// Close code 1009, Message Too Big (RFC 6455 §7.4.1).
	ErrTooLarge = &Error{1009, "deflate: decompressed message exceeds the limit"}

	// ErrCorrupt: the payload is not valid DEFLATE data (RFC 1951), or
	// refers farther back than the history kept for the negotiated window.
	// RFC 7692 names no close code for this; 1007 (invalid frame payload
	// data, RFC 6455 §7.4.1) is the code Node's ws sends, and fits "data
	// within a message that was not consistent with the type of the
	// message". Errors wrapping ErrCorrupt carry compress/flate's detail.
	ErrCorrupt = &Error{1007, "deflate: invalid compressed data"}
)

// ErrParams is wrapped by every error of [ParseParams] and
// [ClientConfig.Accept]: the extension parameters break a rule of
// RFC 7692 §7.1. A server declines such an offer; a client fails the
// connection on such a response (RFC 7692 §7).
var ErrParams = errors.New("deflate: invalid permessage-deflate parameters")
