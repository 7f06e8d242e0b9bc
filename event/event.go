package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/wsjson"
)

// MaxTypeLen is the longest event type accepted. Types are names chosen by
// the application; a longer one is rejected as invalid rather than echoed
// back in an error event.
const MaxTypeLen = 128

// Event is the envelope of every message: a type that selects the handler,
// an optional ID the sender chooses to match replies and errors to requests,
// a JSON payload, and a timestamp. On the wire it is a JSON object:
//
//	{"type":"chat","id":"42","payload":{"text":"hi"},"ts":1767225600000}
//
// where ts is milliseconds since the Unix epoch (JavaScript's Date.now()).
// Only type is required.
type Event struct {
	Type    string
	ID      string
	Payload json.RawMessage
	Time    time.Time
}

// New returns an event of type typ with payload encoded as JSON and the
// current time. A nil payload is omitted.
func New(typ string, payload any) (*Event, error) {
	e := &Event{Type: typ, Time: time.Now()}
	if payload != nil {
		raw, ok := payload.(json.RawMessage)
		if !ok {
			b, err := wsjson.Marshal(payload)
			if err != nil {
				return nil, err
			}
			raw = b
		}
		e.Payload = raw
	}
	return e, nil
}

// Encode returns the wire form of an event of type typ with payload,
// stamped with the current time.
func Encode(typ string, payload any) ([]byte, error) {
	e, err := New(typ, payload)
	if err != nil {
		return nil, err
	}
	return e.MarshalJSON()
}

// Prepare encodes an event once as a text message for many receivers (see
// package hub).
func Prepare(typ string, payload any) (*ws.PreparedMessage, error) {
	b, err := Encode(typ, payload)
	if err != nil {
		return nil, err
	}
	return ws.NewPreparedMessage(ws.Text, b)
}

// Send encodes an event and sends it with s.
func Send(s Sender, typ string, payload any) error {
	b, err := Encode(typ, payload)
	if err != nil {
		return err
	}
	return s.Send(ws.Text, b)
}

// Parse decodes and validates an envelope. It fails with an *Error whose
// code is CodeInvalidJSON for anything that is not a JSON object with a
// non-empty string "type" of at most MaxTypeLen bytes, a string "id" if
// any, and a numeric "ts" if any.
func Parse(data []byte) (*Event, error) {
	var e Event
	if err := e.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return &e, nil
}

// Decode decodes the payload into v. A payload that does not fit v gives an
// *Error with code CodeInvalidPayload, which a handler can return as is to
// have it sent back to the peer.
func (e *Event) Decode(v any) error {
	p := e.Payload
	if len(p) == 0 {
		p = []byte("null")
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{Code: CodeInvalidPayload, Message: "invalid payload: " + err.Error()}
	}
	return nil
}

// MarshalJSON encodes the envelope; a zero Time is left out.
func (e *Event) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 48+len(e.Type)+len(e.ID)+len(e.Payload))
	b = append(b, `{"type":`...)
	b = appendString(b, e.Type)
	if e.ID != "" {
		b = append(b, `,"id":`...)
		b = appendString(b, e.ID)
	}
	if len(e.Payload) > 0 {
		if !json.Valid(e.Payload) {
			return nil, fmt.Errorf("event: payload of %q is not valid JSON", e.Type)
		}
		b = append(b, `,"payload":`...)
		b = append(b, e.Payload...)
	}
	if !e.Time.IsZero() {
		b = append(b, `,"ts":`...)
		b = strconv.AppendInt(b, e.Time.UnixMilli(), 10)
	}
	return append(b, '}'), nil
}

// appendString appends s as a JSON string. Printable ASCII, the common
// case, is quoted by strconv without allocating (its escapes for " and \
// are JSON's); anything else goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	return strconv.AppendQuote(b, s)
}

// wire is the envelope as encoding/json sees it, for decoding.
type wire struct {
	Type    *string         `json:"type"`
	ID      *string         `json:"id"`
	Payload json.RawMessage `json:"payload"`
	TS      *json.Number    `json:"ts"`
}

// UnmarshalJSON decodes and validates the envelope; see Parse.
func (e *Event) UnmarshalJSON(data []byte) error {
	var w wire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return &Error{Code: CodeInvalidJSON, Message: "invalid JSON: " + err.Error()}
	}
	if dec.More() {
		return &Error{Code: CodeInvalidJSON, Message: "invalid JSON: data after the envelope"}
	}
	if _, err := dec.Token(); err == nil {
		return &Error{Code: CodeInvalidJSON, Message: "invalid JSON: data after the envelope"}
	}
	switch {
	case w.Type == nil:
		return &Error{Code: CodeInvalidJSON, Message: `envelope has no "type"`}
	case *w.Type == "":
		return &Error{Code: CodeInvalidJSON, Message: `envelope has an empty "type"`}
	case len(*w.Type) > MaxTypeLen:
		return &Error{Code: CodeInvalidJSON, Message: `envelope "type" is longer than ` + strconv.Itoa(MaxTypeLen) + " bytes"}
	}
	*e = Event{Type: *w.Type}
	if w.ID != nil {
		e.ID = *w.ID
	}
	if len(w.Payload) > 0 && string(w.Payload) != "null" {
		e.Payload = bytes.Clone(w.Payload)
	}
	if w.TS != nil {
		ms, err := w.TS.Int64()
		if err != nil {
			return &Error{Code: CodeInvalidJSON, Message: `envelope "ts" is not an integer number of milliseconds`}
		}
		e.Time = time.UnixMilli(ms)
	}
	return nil
}

// Error codes carried by error events. An application may use codes of its
// own as well.
const (
	// CodeInvalidJSON: the message is not a valid envelope.
	CodeInvalidJSON = "invalid_json"
	// CodeInvalidPayload: the payload does not fit the event type.
	CodeInvalidPayload = "invalid_payload"
	// CodeUnknownType: no handler is registered for the type.
	CodeUnknownType = "unknown_type"
	// CodeUnsupported: a binary message, where events travel as text.
	CodeUnsupported = "unsupported"
	// CodeRateLimited: the sender is over its rate limit.
	CodeRateLimited = "rate_limited"
	// CodeInternal: the handler failed; the details are in the server's
	// log, not in the message.
	CodeInternal = "internal"
)

// Error is the payload of an error event, and the error a handler returns
// to have one sent:
//
//	{"type":"error","payload":{"code":"unknown_type","message":"...","type":"chta","id":"42"},"ts":...}
//
// Type and ID name the event that failed, when known.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Type    string `json:"type,omitempty"`
	ID      string `json:"id,omitempty"`
}

// Error implements the error interface.
func (e *Error) Error() string { return "event: " + e.Code + ": " + e.Message }

// CloseCode returns the close code matching e.Code, for a server that closes
// the connection instead of answering (and for closecode.Of): 1007 for
// invalid JSON or payloads, 1003 for unknown types and binary messages,
// 1008 for rate limits, 1011 otherwise.
func (e *Error) CloseCode() uint16 {
	switch e.Code {
	case CodeInvalidJSON, CodeInvalidPayload:
		return uint16(closecode.InvalidPayload)
	case CodeUnknownType, CodeUnsupported:
		return uint16(closecode.UnsupportedData)
	case CodeRateLimited:
		return uint16(closecode.PolicyViolation)
	}
	return uint16(closecode.InternalError)
}
