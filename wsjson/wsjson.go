// Package wsjson reads and writes JSON values as WebSocket text messages.
//
// Read reads one whole message with ws.Conn.ReadMessage, so the
// connection's read limit (ws.Options.ReadLimit) applies: a message over it
// fails the connection with 1009 before anything is allocated for it.
// A message that is not one valid JSON value gives a *DecodeError whose
// CloseCode is 1007 (invalid frame payload data), and a binary message gives
// ErrBinary, whose CloseCode is 1003 (unsupported data), so that
// closecode.Of tells the caller how to close if it decides to:
//
//	var v Request
//	if err := wsjson.Read(ctx, c, &v); err != nil {
//		if code, ok := closecode.Of(err); ok {
//			c.Close(code, "")
//		}
//		return err
//	}
//	return wsjson.Write(ctx, c, Reply{OK: true})
//
// Prepare encodes a value once for a broadcast to many connections.
package wsjson

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/closecode"
)

// ErrBinary is returned by Read for a binary message. Its close code is 1003
// (unsupported data): JSON travels in text messages.
var ErrBinary error = binaryError{}

type binaryError struct{}

// Error implements the error interface.
func (binaryError) Error() string { return "wsjson: binary message where JSON text was expected" }

// CloseCode returns 1003, for closecode.Of.
func (binaryError) CloseCode() uint16 { return uint16(closecode.UnsupportedData) }

// DecodeError is returned by Read and Decode for a message that is not one
// valid JSON value, or does not fit the value it is decoded into. Its close
// code is 1007 (invalid frame payload data, RFC 6455 §7.4.1).
type DecodeError struct {
	Err error // the error from encoding/json
}

// Error implements the error interface.
func (e *DecodeError) Error() string { return "wsjson: invalid JSON message: " + e.Err.Error() }

// Unwrap returns e.Err.
func (e *DecodeError) Unwrap() error { return e.Err }

// CloseCode returns 1007, for closecode.Of.
func (e *DecodeError) CloseCode() uint16 { return uint16(closecode.InvalidPayload) }

// pooledMax is the largest buffer put back in the pool, so that one huge
// message does not keep its buffer alive.
const pooledMax = 64 << 10

var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// Read reads the next message from c and decodes it into v. The message must
// be a text message holding exactly one JSON value; see the package
// documentation for the errors. ctx bounds the read as in ReadMessage.
func Read(ctx context.Context, c *ws.Conn, v any) error {
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= pooledMax {
			bufPool.Put(bp)
		}
	}()
	typ, msg, err := c.ReadMessage(ctx, (*bp)[:0])
	if msg != nil {
		*bp = msg[:0]
	}
	if err != nil {
		return err
	}
	if typ != ws.Text {
		return ErrBinary
	}
	return Decode(msg, v)
}

// Decode decodes data, which must be exactly one JSON value, into v, and
// returns a *DecodeError if it cannot.
func Decode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return &DecodeError{Err: err}
	}
	return nil
}

// Write encodes v as JSON and sends it as one text message. It is safe for
// concurrent use, like WriteMessage.
func Write(ctx context.Context, c *ws.Conn, v any) error {
	bp := bufPool.Get().(*[]byte)
	b := bytes.NewBuffer((*bp)[:0])
	defer func() {
		*bp = b.Bytes()[:0]
		if cap(*bp) <= pooledMax {
			bufPool.Put(bp)
		}
	}()
	if err := encode(b, v); err != nil {
		return err
	}
	return c.WriteMessage(ctx, ws.Text, b.Bytes())
}

// Marshal encodes v as the payload of a JSON text message.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := encode(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Prepare encodes v once as a text message for many receivers (see
// ws.PreparedMessage and package hub).
func Prepare(v any) (*ws.PreparedMessage, error) {
	data, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	return ws.NewPreparedMessage(ws.Text, data)
}

// encode writes v's JSON without the newline json.Encoder appends, and
// without escaping HTML characters: the receiver is a WebSocket peer, not a
// web page.
func encode(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("wsjson: %w", err)
	}
	b.Truncate(b.Len() - 1) // the newline
	return nil
}
