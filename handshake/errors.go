package handshake

import (
	"errors"
	"net/http"
)

// Error is a failed handshake check. The sentinel values below are the only
// *Error values this package returns, usually wrapped with a detail
// (fmt.Errorf("%w: ...")); compare with errors.Is.
type Error struct {
	// Status is the HTTP status code a server answers a request failing this
	// check with. It is zero for the checks a client makes on a response.
	Status int
	// Reason is a short explanation, meant for the HTTP response body and
	// logs.
	Reason string
}

// Error implements the error interface.
func (e *Error) Error() string { return "websocket handshake: " + e.Reason }

// Checks a server makes on a client's opening handshake (RFC 6455 §4.2.1).
var (
	// ErrMethod: the request method is not GET (CONNECT over HTTP/2).
	ErrMethod = &Error{http.StatusMethodNotAllowed, "method must be GET"}
	// ErrHTTPVersion: the request is older than HTTP/1.1.
	ErrHTTPVersion = &Error{http.StatusBadRequest, "HTTP/1.1 or later is required"}
	// ErrHost: the request has no Host header.
	ErrHost = &Error{http.StatusBadRequest, "missing Host header"}
	// ErrUpgrade: the Upgrade header lacks the token "websocket".
	ErrUpgrade = &Error{http.StatusUpgradeRequired, `Upgrade header must contain "websocket"`}
	// ErrConnection: the Connection header lacks the token "upgrade".
	ErrConnection = &Error{http.StatusUpgradeRequired, `Connection header must contain "upgrade"`}
	// ErrKey: Sec-WebSocket-Key is missing, repeated or not the base64
	// encoding of 16 bytes.
	ErrKey = &Error{http.StatusBadRequest, "Sec-WebSocket-Key must be the base64 encoding of 16 bytes"}
	// ErrVersion: Sec-WebSocket-Version is not 13.
	ErrVersion = &Error{http.StatusUpgradeRequired, "Sec-WebSocket-Version must be 13"}
	// ErrProtocolHeader: Sec-WebSocket-Protocol is not a list of tokens.
	ErrProtocolHeader = &Error{http.StatusBadRequest, "Sec-WebSocket-Protocol must be a comma-separated list of tokens"}
	// ErrExtensionsHeader: Sec-WebSocket-Extensions does not follow the
	// grammar of RFC 6455 §9.1.
	ErrExtensionsHeader = &Error{http.StatusBadRequest, "malformed Sec-WebSocket-Extensions header"}
	// ErrOrigin: the origin policy rejected the request's Origin.
	ErrOrigin = &Error{http.StatusForbidden, "origin not allowed"}
	// ErrProtocol2: an HTTP/2 extended CONNECT request whose :protocol is
	// not "websocket" (RFC 8441 §4).
	ErrProtocol2 = &Error{http.StatusBadRequest, `extended CONNECT :protocol must be "websocket"`}
)

// Checks a client makes on a server's response (RFC 6455 §4.1, items 1 to 6
// of the response validation).
var (
	// ErrStatus: the status is not 101 Switching Protocols (200 over HTTP/2).
	ErrStatus = &Error{0, "server did not switch protocols"}
	// ErrResponseUpgrade: the response's Upgrade header lacks "websocket".
	ErrResponseUpgrade = &Error{0, `response Upgrade header does not contain "websocket"`}
	// ErrResponseConnection: the response's Connection header lacks
	// "upgrade".
	ErrResponseConnection = &Error{0, `response Connection header does not contain "upgrade"`}
	// ErrAccept: Sec-WebSocket-Accept does not match the key sent.
	ErrAccept = &Error{0, "Sec-WebSocket-Accept does not match the key"}
	// ErrSubprotocol: the server chose a subprotocol the client did not
	// offer, or more than one.
	ErrSubprotocol = &Error{0, "server chose a subprotocol that was not offered"}
	// ErrExtension: the server accepted an extension the client did not
	// offer, accepted one twice, or sent a malformed header.
	ErrExtension = &Error{0, "server accepted an extension that was not offered"}
)

// Status returns the HTTP status for err: the Status of the *Error it wraps,
// or 500 Internal Server Error if it wraps none (or one with no status).
func Status(err error) int {
	var e *Error
	if errors.As(err, &e) && e.Status != 0 {
		return e.Status
	}
	return http.StatusInternalServerError
}

// WriteError answers the request r that failed a handshake check: the
// status from Status(err), the headers the rules ask for, and err's text as
// a plain-text body. The caller must not have written to w before. r may be
// nil; it tells whether the request came over HTTP/2.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	h := w.Header()
	switch {
	case errors.Is(err, ErrMethod):
		// RFC 9110 §15.5.6: a 405 response lists the allowed methods.
		if r != nil && r.ProtoMajor >= 2 {
			h.Set("Allow", "CONNECT") // RFC 8441 §4
		} else {
			h.Set("Allow", "GET")
		}
	case errors.Is(err, ErrVersion):
		// RFC 6455 §4.2.2 and §4.4: tell the client which versions we speak.
		h.Set("Sec-WebSocket-Version", Version)
	case errors.Is(err, ErrUpgrade), errors.Is(err, ErrConnection):
		// RFC 9110 §15.5.22: a 426 response names the protocol to upgrade to.
		h.Set("Upgrade", "websocket")
		h.Set("Connection", "Upgrade")
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(Status(err))
	_, _ = w.Write([]byte(err.Error() + "\n"))
}
