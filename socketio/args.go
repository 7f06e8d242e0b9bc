package socketio

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/rfc6455/ws/socketio/parser"
)

// Args are the arguments of an event or of an acknowledgement as they were
// received: JSON values, and the binary attachments they refer to. A handler
// that declares Args as its argument type gets all of them, undecoded;
// others get the first argument decoded into the type they declare.
//
// Passed to Emit (or returned by an OnAck handler), an Args value stands for
// its arguments, spread in place, attachments included: echoing what a
// client sent is s.Emit("echo", args).
type Args struct {
	vals [][]byte // each argument's JSON
	bins [][]byte // the packet's attachments
}

// argsOf splits a JSON array (an event's payload without its name, or an
// ack's payload) into Args.
func argsOf(data []byte, skip int, bins [][]byte) Args {
	var a Args
	parser.ForEachElement(data, func(i int, elem []byte) bool {
		if i >= skip {
			a.vals = append(a.vals, elem)
		}
		return true
	})
	a.bins = bins
	return a
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.vals) }

// Raw returns the JSON of argument i (nil if there is none). In a packet with
// binary attachments, an attachment appears as {"_placeholder":true,"num":N};
// Decode and Bytes resolve it.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.vals) {
		return nil
	}
	return a.vals[i]
}

// Attachments returns the binary attachments of the packet the arguments
// came in, in order.
func (a Args) Attachments() [][]byte { return a.bins }

// Bytes returns argument i when it is a binary attachment (a Buffer,
// ArrayBuffer or typed array on the JavaScript side).
func (a Args) Bytes(i int) ([]byte, bool) {
	if i < 0 || i >= len(a.vals) || len(a.bins) == 0 {
		return nil, false
	}
	ph, err := parser.Placeholders(a.vals[i], len(a.bins))
	if err != nil || len(ph) != 1 || ph[0].Start != 0 || ph[0].End != len(a.vals[i]) {
		return nil, false
	}
	return a.bins[ph[0].Num], true
}

// Decode decodes argument i into v, as json.Unmarshal does, with the binary
// attachments in place: a []byte (or Binary) receives an attachment's bytes,
// wherever it is in the value. An argument that is missing or does not fit
// v gives an *Error with code CodeInvalidPayload, which a handler may return
// as is to have it sent back to the client.
func (a Args) Decode(i int, v any) error {
	if i < 0 || i >= len(a.vals) {
		return &Error{Code: CodeInvalidPayload, Message: fmt.Sprintf("argument %d is missing (%d given)", i+1, len(a.vals))}
	}
	if b, ok := a.Bytes(i); ok {
		switch p := v.(type) {
		case *[]byte:
			*p = b
			return nil
		case *Binary:
			*p = b
			return nil
		}
	}
	data := a.vals[i]
	if len(a.bins) > 0 {
		var err error
		if data, err = withBase64(data, a.bins); err != nil {
			return &Error{Code: CodeInvalidPayload, Message: fmt.Sprintf("argument %d: %v", i+1, err)}
		}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &Error{Code: CodeInvalidPayload, Message: fmt.Sprintf("argument %d: %v", i+1, jsonErrorText(err))}
	}
	return nil
}

// Scan decodes the first len(vs) arguments into vs, in order, as Decode
// does. Fewer arguments than vs is an error; more are ignored.
func (a Args) Scan(vs ...any) error {
	for i, v := range vs {
		if err := a.Decode(i, v); err != nil {
			return err
		}
	}
	return nil
}

// String returns the arguments as a JSON array, attachments as placeholders.
func (a Args) String() string {
	b := []byte{'['}
	for i, v := range a.vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, v...)
	}
	return string(append(b, ']'))
}

// withBase64 returns data with each placeholder replaced by the JSON string
// of its attachment in base64, which encoding/json decodes into a []byte.
func withBase64(data []byte, bins [][]byte) ([]byte, error) {
	ph, err := parser.Placeholders(data, len(bins))
	if err != nil || len(ph) == 0 {
		return data, err
	}
	out := make([]byte, 0, len(data)+len(bins)*8)
	last := 0
	for _, p := range ph {
		out = append(out, data[last:p.Start]...)
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, bins[p.Num])
		out = append(out, '"')
		last = p.End
	}
	return append(out, data[last:]...), nil
}

// jsonErrorText makes encoding/json's errors read well to a client.
func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("field %q: cannot use a JSON %s as %v", te.Field, te.Value, te.Type)
		}
		return fmt.Sprintf("cannot use a JSON %s as %v", te.Value, te.Type)
	}
	return err.Error()
}

// Binary is a byte slice sent as a binary attachment wherever it appears in
// an emitted value, nested in structs, maps or slices; a plain []byte is
// sent as an attachment only as a top-level argument of Emit, and as a
// base64 string (encoding/json's rule) inside other values. Received
// attachments decode into both.
type Binary []byte

// binaryMarker opens the JSON that Binary.MarshalJSON writes; the emitter
// finds it in encoding/json's output and makes it a placeholder. A JSON
// string cannot contain it (its quotes would be escaped), so only a Binary,
// or a map with these very keys, produces it.
const binaryMarker = `{"_placeholder":true,"num":-1,"_b64":"`

// MarshalJSON writes b in a form the emitter turns into an attachment. Used
// outside Emit, it is an object holding b in base64.
func (b Binary) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, len(binaryMarker)+base64.StdEncoding.EncodedLen(len(b))+2)
	out = append(out, binaryMarker...)
	out = base64.StdEncoding.AppendEncode(out, b)
	return append(out, '"', '}'), nil
}

// encoder builds the JSON array of a packet's payload, moving binary values
// to attachments.
type encoder struct {
	buf  []byte
	bins [][]byte
}

// open starts the array.
func (e *encoder) open() { e.buf = append(e.buf, '[') }

// close ends the array.
func (e *encoder) close() { e.buf = append(e.buf, ']') }

// sep writes the comma before the next element, if needed.
func (e *encoder) sep() {
	if c := e.buf[len(e.buf)-1]; c != '[' {
		e.buf = append(e.buf, ',')
	}
}

// placeholder writes a placeholder for a new attachment b.
func (e *encoder) placeholder(b []byte) {
	e.buf = append(e.buf, `{"_placeholder":true,"num":`...)
	e.buf = strconv.AppendInt(e.buf, int64(len(e.bins)), 10)
	e.buf = append(e.buf, '}')
	e.bins = append(e.bins, b)
}

// string writes s as a JSON string.
func (e *encoder) string(s string) {
	e.buf = appendJSONString(e.buf, s)
}

// args writes the arguments: Args are spread, []byte and Binary become
// attachments, json.RawMessage is written as is (it must be valid JSON),
// anything else goes through encoding/json, whose Binary values become
// attachments too.
func (e *encoder) args(args []any) error {
	for i, v := range args {
		if err := e.arg(v); err != nil {
			return fmt.Errorf("socketio: argument %d: %w", i+1, err)
		}
	}
	return nil
}

func (e *encoder) arg(v any) error {
	switch v := v.(type) {
	case Args:
		for _, raw := range v.vals {
			e.sep()
			e.raw(raw, v.bins)
		}
		return nil
	case *Args:
		return e.arg(*v)
	}
	e.sep()
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case []byte:
		e.placeholder(v)
	case Binary:
		e.placeholder(v)
	case string:
		e.string(v)
	case json.RawMessage:
		if !json.Valid(v) {
			return errors.New("json.RawMessage is not valid JSON")
		}
		e.buf = append(e.buf, v...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(binaryMarker)) {
			return e.marked(b)
		}
		e.buf = append(e.buf, b...)
	}
	return nil
}

// raw writes a received argument, renumbering its placeholders to follow
// the attachments written so far, in the canonical form.
func (e *encoder) raw(raw []byte, bins [][]byte) {
	if len(bins) == 0 {
		e.buf = append(e.buf, raw...)
		return
	}
	ph, err := parser.Placeholders(raw, len(bins))
	if err != nil {
		// Checked when the packet was decoded; cannot happen.
		e.buf = append(e.buf, "null"...)
		return
	}
	last := 0
	for _, p := range ph {
		e.buf = append(e.buf, raw[last:p.Start]...)
		e.placeholder(bins[p.Num])
		last = p.End
	}
	e.buf = append(e.buf, raw[last:]...)
}

// marked writes encoding/json's output b, replacing the objects that
// Binary.MarshalJSON wrote with placeholders for new attachments.
func (e *encoder) marked(b []byte) error {
	for {
		i := bytes.Index(b, []byte(binaryMarker))
		if i < 0 {
			e.buf = append(e.buf, b...)
			return nil
		}
		e.buf = append(e.buf, b[:i]...)
		b = b[i+len(binaryMarker):]
		end := bytes.IndexByte(b, '"')
		if end < 0 || len(b) < end+2 || b[end+1] != '}' {
			return errors.New("malformed Binary encoding")
		}
		data, err := base64.StdEncoding.AppendDecode(nil, b[:end])
		if err != nil {
			return err
		}
		e.placeholder(data)
		b = b[end+2:]
	}
}

// appendJSONString appends s as a JSON string: printable ASCII without
// escapes directly, anything else through encoding/json (which also
// replaces invalid UTF-8).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Error is an error a handler returns to have it reported to the client: in
// the acknowledgement the client asked for, as {"error":{"code","message"}},
// or else as an "error" event (see Options.ErrorEvent). Any other error a
// handler returns is logged, and the client is told only CodeInternal, so
// that no internal detail leaks. A connection middleware's *Error refuses
// the connection with a connect_error whose message is Message and whose
// data is Data.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Data goes with the error in a connect_error (err.data on the
	// client); events and acks leave it out.
	Data any `json:"-"`
}

// Error codes of the errors the server reports.
const (
	// CodeInvalidPayload: an argument is missing or does not fit the type
	// the handler declared.
	CodeInvalidPayload = "invalid_payload"
	// CodeInternal: the handler failed (returned an error that is not an
	// *Error, or panicked).
	CodeInternal = "internal"
)

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Code == "" {
		return "socketio: " + e.Message
	}
	return "socketio: " + e.Code + ": " + e.Message
}

// isReserved reports whether an event name is one the reference server
// refuses to emit: its own events and EventEmitter's.
func isReserved(event string) bool {
	switch event {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}

// checkName refuses the names that cannot be emitted.
func checkName(event string) error {
	if isReserved(event) {
		return fmt.Errorf("socketio: %q is a reserved event name", event)
	}
	if !utf8.ValidString(event) {
		return errors.New("socketio: event name is not valid UTF-8")
	}
	return nil
}

// typeOf is reflect.TypeFor for the value of a type parameter.
func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }
