package client

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/rfc6455/ws/socketio/parser"
)

// Binary is a binary argument, or a binary value anywhere inside one (a
// struct field, a map value): it travels as a Socket.IO attachment, which a
// JavaScript peer receives as a Buffer (Node) or an ArrayBuffer (browsers).
// A []byte given directly as an argument is binary too; nested inside
// another value, a plain []byte is a base64 string, as encoding/json makes
// it, and only Binary is an attachment.
type Binary []byte

// binaryKey marks the JSON that Binary.MarshalJSON writes, which the
// encoder then swaps for a placeholder and an attachment.
const binaryKey = "_sioc_binary"

// MarshalJSON writes a placeholder object carrying the bytes, which the
// event encoder turns into an attachment. Marshalled outside an event, it
// is an object with a base64 member.
func (b Binary) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, 48+base64.StdEncoding.EncodedLen(len(b)))
	out = append(out, `{"_placeholder":true,"num":0,"`+binaryKey+`":"`...)
	out = base64.StdEncoding.AppendEncode(out, b)
	return append(out, `"}`...), nil
}

// UnmarshalJSON accepts an attachment (which the decoder has made a base64
// string) or a base64 string.
func (b *Binary) UnmarshalJSON(data []byte) error {
	var s []byte
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*b = s
	return nil
}

// appendArg appends one argument's JSON to dst, moving its binary values to
// atts.
func appendArg(dst []byte, v any, atts [][]byte) ([]byte, [][]byte, error) {
	switch b := v.(type) {
	case []byte:
		return appendPlaceholder(dst, len(atts)), append(atts, b), nil
	case Binary:
		return appendPlaceholder(dst, len(atts)), append(atts, b), nil
	case json.RawMessage:
		if !json.Valid(b) {
			return dst, atts, errors.New("socket.io client: invalid json.RawMessage argument")
		}
		return append(dst, b...), atts, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return dst, atts, err
	}
	if !bytes.Contains(data, []byte(binaryKey)) {
		return append(dst, data...), atts, nil
	}
	// Nested Binary values: swap each for a placeholder numbered in
	// order.
	phs, err := parser.Placeholders(data, 1<<30)
	if err != nil {
		return dst, atts, err
	}
	last := 0
	for _, ph := range phs {
		var obj map[string]json.RawMessage
		if json.Unmarshal(data[ph.Start:ph.End], &obj) != nil {
			continue
		}
		raw, ok := obj[binaryKey]
		if !ok {
			continue
		}
		var bin []byte
		if err := json.Unmarshal(raw, &bin); err != nil {
			return dst, atts, err
		}
		dst = append(dst, data[last:ph.Start]...)
		dst = appendPlaceholder(dst, len(atts))
		atts = append(atts, bin)
		last = ph.End
	}
	return append(dst, data[last:]...), atts, nil
}

func appendPlaceholder(dst []byte, n int) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '}')
}

// encodeArgs appends the JSON array of an event (name first, when not
// empty) or an acknowledgement, and returns the attachments.
func encodeArgs(dst []byte, name string, args []any) ([]byte, [][]byte, error) {
	var atts [][]byte
	dst = append(dst, '[')
	n := 0
	if name != "" {
		q, _ := json.Marshal(name)
		dst = append(dst, q...)
		n++
	}
	var err error
	add := func(v any) {
		if err != nil {
			return
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst, atts, err = appendArg(dst, v, atts)
	}
	for _, v := range args {
		add(v)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("socket.io client: encoding arguments: %w", err)
	}
	return append(dst, ']'), atts, nil
}

// Args are the arguments of a received event or acknowledgement: JSON
// values, with each binary attachment in place as a base64 string, so that
// it decodes into a []byte or Binary anywhere in the target.
type Args struct {
	raw [][]byte
}

// ErrNoArg is returned by Args.Decode for an index past the last argument.
var ErrNoArg = errors.New("socket.io client: no such argument")

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Raw returns argument i as JSON, nil if there is none.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Decode decodes argument i into v, as json.Unmarshal does.
func (a Args) Decode(i int, v any) error {
	if i < 0 || i >= len(a.raw) {
		return fmt.Errorf("%w: %d of %d", ErrNoArg, i, len(a.raw))
	}
	if err := json.Unmarshal(a.raw[i], v); err != nil {
		return fmt.Errorf("socket.io client: argument %d: %w", i, err)
	}
	return nil
}

// decodeArgs splits a packet's JSON array into arguments, skipping the
// first skip elements (the event name), with attachments in place of their
// placeholders.
func decodeArgs(data []byte, atts [][]byte, skip int) (Args, error) {
	if len(atts) > 0 {
		phs, err := parser.Placeholders(data, len(atts))
		if err != nil {
			return Args{}, err
		}
		out := make([]byte, 0, len(data))
		last := 0
		for _, ph := range phs {
			out = append(out, data[last:ph.Start]...)
			out = append(out, '"')
			out = base64.StdEncoding.AppendEncode(out, atts[ph.Num])
			out = append(out, '"')
			last = ph.End
		}
		data = append(out, data[last:]...)
	}
	var args Args
	parser.ForEachElement(data, func(i int, elem []byte) bool {
		if i >= skip {
			args.raw = append(args.raw, elem)
		}
		return true
	})
	return args, nil
}

// eventName returns the name of an event, the first element of its array:
// a string, or a number as the reference parser allows.
func eventName(data []byte) (string, bool) {
	var name []byte
	parser.ForEachElement(data, func(_ int, elem []byte) bool {
		name = elem
		return false
	})
	if len(name) == 0 {
		return "", false
	}
	if name[0] != '"' {
		return string(name), true
	}
	if bytes.IndexByte(name, '\\') < 0 {
		return string(name[1 : len(name)-1]), true
	}
	var s string
	if json.Unmarshal(name, &s) != nil {
		return "", false
	}
	return s, true
}
