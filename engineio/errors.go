package engineio

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// Close reasons, passed to Handler.Close (possibly wrapped with a cause:
// test them with errors.Is). Their messages are the Engine.IO reference
// server's names for them.
var (
	// ErrTransportClose: the client went away or closed the transport (a
	// WebSocket closed by the peer, a polling GET whose connection broke).
	ErrTransportClose = errors.New("transport close")
	// ErrTransportError: the transport failed (a write error, a broken
	// WebSocket frame, a second GET or POST in flight, a ping sent by the
	// client, a POST body over MaxPayload).
	ErrTransportError = errors.New("transport error")
	// ErrPingTimeout: the client did not answer a ping within PingTimeout.
	ErrPingTimeout = errors.New("ping timeout")
	// ErrParseError: the client sent a malformed packet.
	ErrParseError = errors.New("parse error")
	// ErrClientClose: the client sent a close packet ("1").
	ErrClientClose = errors.New("forced close")
	// ErrServerClose: the server closed the session (Socket.Close).
	ErrServerClose = errors.New("forced server close")
	// ErrServerShutdown: the server is shutting down (Server.Shutdown).
	ErrServerShutdown = errors.New("server shutting down")
)

// Errors returned by the sending methods.
var (
	// ErrClosed is returned by Send, SendPrepared and TrySendPrepared once
	// the session is closing or closed. The error returned also wraps the
	// close reason, if any.
	ErrClosed = errors.New("engineio: session closed")
	// ErrBufferFull is returned by TrySendPrepared when the session's
	// outgoing buffer is over Options.MaxBufferedAmount.
	ErrBufferFull = errors.New("engineio: outgoing buffer full")
	// ErrPayloadTooLarge is the cause, wrapped in ErrTransportError, of a
	// session closed because a POST body was over MaxPayload.
	ErrPayloadTooLarge = errors.New("engineio: payload over maxPayload")
)

// Error codes of the reference server, sent in the JSON body of a refused
// request: {"code":3,"message":"Bad request"}.
const (
	CodeUnknownTransport           = 0
	CodeUnknownSID                 = 1
	CodeBadHandshakeMethod         = 2
	CodeBadRequest                 = 3
	CodeForbidden                  = 4
	CodeUnsupportedProtocolVersion = 5
)

// RequestError is a refused request: the code and message of the JSON body
// and its HTTP status (403 for CodeForbidden, 400 for the others).
type RequestError struct {
	Code    int
	Message string
}

// Error returns the message.
func (e *RequestError) Error() string { return "engineio: " + e.Message }

// Status returns the HTTP status of the answer.
func (e *RequestError) Status() int {
	if e.Code == CodeForbidden {
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// codeMessages are the reference server's messages for the codes.
var codeMessages = [...]string{
	CodeUnknownTransport:           "Transport unknown",
	CodeUnknownSID:                 "Session ID unknown",
	CodeBadHandshakeMethod:         "Bad handshake method",
	CodeBadRequest:                 "Bad request",
	CodeForbidden:                  "Forbidden",
	CodeUnsupportedProtocolVersion: "Unsupported protocol version",
}

func requestError(code int) *RequestError {
	return &RequestError{Code: code, Message: codeMessages[code]}
}

// writeRequestError answers a refused request the way the reference server
// does: the status, and {"code":…,"message":…} as JSON.
func writeRequestError(w http.ResponseWriter, e *RequestError) {
	body := e.body()
	h := w.Header()
	e.setHeader(h)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status())
	w.Write(body)
}

// body returns the JSON body of the answer.
func (e *RequestError) body() []byte {
	body, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{e.Code, e.Message})
	return body
}

// setHeader sets the header fields of the answer.
func (e *RequestError) setHeader(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
}
