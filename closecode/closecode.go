// Package closecode implements WebSocket close status codes and the close
// frame payload codec defined by RFC 6455 §5.5.1 and §7.4.
//
// A close frame payload is either empty, or a 2-byte big-endian status code
// followed by an optional UTF-8 encoded reason. The whole payload is a
// control frame payload and so is at most 125 bytes (RFC 6455 §5.5).
package closecode

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// Code is a WebSocket close status code (RFC 6455 §7.4).
type Code uint16

// Close status codes defined by RFC 6455 §7.4.1 and the IANA "WebSocket
// Close Code Number Registry" (RFC 6455 §11.7).
const (
	// Normal indicates a normal closure; the purpose of the connection
	// has been fulfilled.
	Normal Code = 1000
	// GoingAway indicates an endpoint is going away, e.g. a server going
	// down or a browser navigating away from a page.
	GoingAway Code = 1001
	// ProtocolError indicates the endpoint is terminating the connection
	// due to a protocol error.
	ProtocolError Code = 1002
	// UnsupportedData indicates the endpoint received a type of data it
	// cannot accept (e.g. binary data when only text is understood).
	UnsupportedData Code = 1003
	// Reserved is reserved; its meaning might be defined in the future.
	// It is never valid on the wire.
	Reserved Code = 1004
	// NoStatus means no status code was present in a close frame. It is
	// never sent in a close frame (RFC 6455 §7.4.1).
	NoStatus Code = 1005
	// Abnormal means the connection was closed without a close frame. It
	// is never sent in a close frame (RFC 6455 §7.4.1).
	Abnormal Code = 1006
	// InvalidPayload indicates a message contained data inconsistent with
	// its type, e.g. invalid UTF-8 in a text message (RFC 6455 §8.1).
	InvalidPayload Code = 1007
	// PolicyViolation indicates a message violated the endpoint's policy.
	PolicyViolation Code = 1008
	// MessageTooBig indicates a message was too big to process.
	MessageTooBig Code = 1009
	// MandatoryExtension indicates the client expected the server to
	// negotiate one or more extensions that it did not.
	MandatoryExtension Code = 1010
	// InternalError indicates the server hit an unexpected condition that
	// prevented it from fulfilling the request.
	InternalError Code = 1011
	// ServiceRestart indicates the service is restarting (IANA registry).
	ServiceRestart Code = 1012
	// TryAgainLater indicates a temporary condition, e.g. overload
	// (IANA registry).
	TryAgainLater Code = 1013
	// BadGateway indicates a gateway or proxy received an invalid response
	// from the upstream server (IANA registry).
	BadGateway Code = 1014
	// TLSHandshake means the TLS handshake failed. It is never sent in a
	// close frame (RFC 6455 §7.4.1).
	TLSHandshake Code = 1015
)

// MaxReasonLen is the maximum length in bytes of a close reason: a control
// frame payload is at most 125 bytes (RFC 6455 §5.5), 2 of which hold the
// status code (RFC 6455 §5.5.1).
const MaxReasonLen = 123

// maxPayloadLen is the maximum control frame payload length (RFC 6455 §5.5).
const maxPayloadLen = 2 + MaxReasonLen

var names = [...]string{
	Normal - 1000:             "normal closure",
	GoingAway - 1000:          "going away",
	ProtocolError - 1000:      "protocol error",
	UnsupportedData - 1000:    "unsupported data",
	Reserved - 1000:           "reserved",
	NoStatus - 1000:           "no status",
	Abnormal - 1000:           "abnormal closure",
	InvalidPayload - 1000:     "invalid payload data",
	PolicyViolation - 1000:    "policy violation",
	MessageTooBig - 1000:      "message too big",
	MandatoryExtension - 1000: "mandatory extension",
	InternalError - 1000:      "internal error",
	ServiceRestart - 1000:     "service restart",
	TryAgainLater - 1000:      "try again later",
	BadGateway - 1000:         "bad gateway",
	TLSHandshake - 1000:       "TLS handshake failure",
}

// String returns the numeric code followed by a short description, e.g.
// "1000 (normal closure)" or "4001 (private use)".
func (c Code) String() string {
	return strconv.Itoa(int(c)) + " (" + c.describe() + ")"
}

func (c Code) describe() string {
	switch {
	case c >= 1000 && c <= TLSHandshake:
		return names[c-1000]
	case c < 1000:
		// RFC 6455 §7.4.2: 0-999 are not used.
		return "unused"
	case c < 3000:
		// RFC 6455 §7.4.2: 1000-2999 are reserved for this protocol
		// and its extensions.
		return "reserved for protocol"
	case c < 4000:
		// RFC 6455 §7.4.2: 3000-3999 are registered with IANA for
		// libraries, frameworks and applications.
		return "registered"
	case c < 5000:
		// RFC 6455 §7.4.2: 4000-4999 are reserved for private use.
		return "private use"
	default:
		// Beyond the ranges defined by RFC 6455 §7.4.2.
		return "invalid"
	}
}

// ValidReceived reports whether c may appear in a close frame received from
// a peer: 1000–1003, 1007–1014 and 3000–4999. Any other code (below 1000,
// 1004–1006, 1015, 1016–2999, 5000 and above) is a protocol error.
func (c Code) ValidReceived() bool {
	switch {
	case c >= Normal && c <= UnsupportedData:
		// RFC 6455 §7.4.1: defined codes.
		return true
	case c >= Reserved && c <= Abnormal:
		// RFC 6455 §7.4.1: 1004 is reserved; 1005 and 1006 MUST NOT
		// be set as a status code in a close frame.
		return false
	case c >= InvalidPayload && c <= BadGateway:
		// RFC 6455 §7.4.1 (1007-1011) and the IANA registry
		// (§11.7; 1012-1014).
		return true
	case c >= 3000 && c <= 4999:
		// RFC 6455 §7.4.2: registered (3000-3999) and private use
		// (4000-4999).
		return true
	default:
		// RFC 6455 §7.4.2: 0-999 unused; 1015 MUST NOT be sent
		// (§7.4.1); 1016-2999 reserved for future protocol revisions;
		// 5000+ undefined.
		return false
	}
}

// Sendable reports whether c may be put in a close frame we send. It is the
// same set as ValidReceived; in particular NoStatus, Abnormal and
// TLSHandshake are never sent (RFC 6455 §7.4.1).
func (c Code) Sendable() bool { return c.ValidReceived() }

// Error is the error type returned by Parse and Append. It names the rule
// that was broken and carries the close code to send in response.
type Error struct {
	// Code is the close code to send to the peer because of this error.
	Code Code
	// Rule describes the violated rule.
	Rule string
}

// Error returns a description including the violated rule.
func (e *Error) Error() string {
	if e == nil {
		return "<nil>"
	}
	return "websocket: " + e.Rule + " (close " + e.Code.String() + ")"
}

// CloseCode returns the close code to send because of e. It returns 0 for a
// nil *Error.
func (e *Error) CloseCode() uint16 {
	if e == nil {
		return 0
	}
	return uint16(e.Code)
}

// Errors returned by Parse. They are shared values so that Parse does not
// allocate on failure; callers must not modify them.
var (
	errPayloadTooLong = &Error{ProtocolError, "close frame payload longer than 125 bytes (RFC 6455 §5.5)"}
	errPayloadOneByte = &Error{ProtocolError, "close frame payload of 1 byte; a status code needs 2 (RFC 6455 §5.5.1)"}
	errInvalidCode    = &Error{ProtocolError, "close frame carries a status code that must not be received (RFC 6455 §7.4.1, §7.4.2)"}
	errInvalidReason  = &Error{InvalidPayload, "close frame reason is not valid UTF-8 (RFC 6455 §5.5.1)"}
)

// Errors returned by Append. These are mistakes by the local endpoint, so
// they carry InternalError.
var (
	errSendCode         = &Error{InternalError, "close status code must not be sent (RFC 6455 §7.4.1, §7.4.2)"}
	errSendReasonLen    = &Error{InternalError, "close reason longer than 123 bytes (RFC 6455 §5.5)"}
	errSendReasonUTF8   = &Error{InternalError, "close reason is not valid UTF-8 (RFC 6455 §5.5.1)"}
	errSendReasonNoCode = &Error{InternalError, "close reason without a status code (RFC 6455 §5.5.1)"}
)

// Parse decodes a close frame payload into its status code and reason.
//
// An empty payload yields (NoStatus, "", nil) (RFC 6455 §7.1.5). A 1-byte
// payload, a payload longer than 125 bytes, or a code that is not
// ValidReceived yields an *Error with code ProtocolError; a reason that is
// not valid UTF-8 yields an *Error with code InvalidPayload. Parse allocates
// only the returned reason string.
func Parse(payload []byte) (Code, string, error) {
	switch len(payload) {
	case 0:
		// RFC 6455 §7.1.5: no status code present → 1005.
		return NoStatus, "", nil
	case 1:
		// RFC 6455 §5.5.1: if there is a body, its first two bytes
		// MUST be the status code.
		return 0, "", errPayloadOneByte
	}
	if len(payload) > maxPayloadLen {
		// RFC 6455 §5.5: control frame payload ≤ 125 bytes.
		return 0, "", errPayloadTooLong
	}
	code := Code(payload[0])<<8 | Code(payload[1]) // RFC 6455 §5.5.1: network byte order
	if !code.ValidReceived() {
		// RFC 6455 §7.4.1, §7.4.2.
		return 0, "", errInvalidCode
	}
	reason := payload[2:]
	if !utf8.Valid(reason) {
		// RFC 6455 §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8
		// fails the connection (code 1007, §7.4.1).
		return 0, "", errInvalidReason
	}
	return code, string(reason), nil
}

// Append encodes a close frame payload with code and reason and appends it
// to dst. A code of 0 or NoStatus means an empty payload, which is valid only
// with an empty reason. Append returns an *Error if code is not Sendable,
// reason is longer than MaxReasonLen bytes, or reason is not valid UTF-8; dst
// is then returned unchanged.
func Append(dst []byte, code Code, reason string) ([]byte, error) {
	if code == 0 || code == NoStatus {
		if reason != "" {
			// RFC 6455 §5.5.1: a reason must follow a status code.
			return dst, errSendReasonNoCode
		}
		return dst, nil
	}
	if !code.Sendable() {
		// RFC 6455 §7.4.1, §7.4.2.
		return dst, errSendCode
	}
	if len(reason) > MaxReasonLen {
		// RFC 6455 §5.5.
		return dst, errSendReasonLen
	}
	if !utf8.ValidString(reason) {
		// RFC 6455 §5.5.1.
		return dst, errSendReasonUTF8
	}
	dst = append(dst, byte(code>>8), byte(code)) // RFC 6455 §5.5.1: network byte order
	return append(dst, reason...), nil
}

// CloseError is the error a connection returns when a close frame was
// received; it can also describe a close that is being initiated.
type CloseError struct {
	// Code is the close status code.
	Code Code
	// Reason is the close reason, possibly empty.
	Reason string
}

// Error returns a description such as
// `websocket: close 1001 (going away): "bye"`.
func (e *CloseError) Error() string {
	if e == nil {
		return "<nil>"
	}
	s := "websocket: close " + e.Code.String()
	if e.Reason != "" {
		s += ": " + strconv.Quote(e.Reason)
	}
	return s
}

// CloseCode returns e.Code. It returns 0 for a nil *CloseError.
func (e *CloseError) CloseCode() uint16 {
	if e == nil {
		return 0
	}
	return uint16(e.Code)
}

// closeCoder is implemented by *CloseError, *Error and error types of other
// packages that carry a close code without importing this package.
type closeCoder interface {
	CloseCode() uint16
}

// Of returns the close code carried by err or by any error it wraps, as
// found by errors.As: *CloseError and *Error yield their Code, and any other
// error with a CloseCode() uint16 method yields that code. The first such
// error in the chain decides. Of returns (0, false) if err is nil, if no
// error in the chain carries a code, or if the carried code is 0.
func Of(err error) (Code, bool) {
	var cc closeCoder
	if err == nil || !errors.As(err, &cc) {
		return 0, false
	}
	code := Code(cc.CloseCode())
	if code == 0 {
		return 0, false
	}
	return code, true
}
