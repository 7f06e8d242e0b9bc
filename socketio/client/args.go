package client

import (
	"github.com/rfc6455/ws/socketio"
)

// Args are the arguments of a received event or acknowledgement: the
// server package's type, shared (Len, Raw, Decode, Scan, Bytes): an
// attachment decodes into a []byte or Binary anywhere in the target.
type Args = socketio.Args

// Binary is a binary argument, or a binary value anywhere inside one (a
// struct field, a map value): it travels as a Socket.IO attachment, which a
// JavaScript peer receives as a Buffer (Node) or an ArrayBuffer (browsers).
// A []byte given directly as an argument is binary too; nested inside
// another value, a plain []byte is a base64 string, as encoding/json makes
// it, and only Binary is an attachment. It is the server package's type.
type Binary = socketio.Binary

// HandlerError is the error an acknowledgement carries when a handler
// failed, as {"error":{"code","message"}}: the server package's Error, whose
// convention the client follows both ways.
type HandlerError = socketio.Error

// Error codes of HandlerError.
const (
	// CodeInvalidPayload: an argument is missing or does not fit the type
	// the handler declared.
	CodeInvalidPayload = socketio.CodeInvalidPayload
	// CodeInternal: the handler failed.
	CodeInternal = socketio.CodeInternal
)
