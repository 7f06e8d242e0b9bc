package parser

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// The walkers in this file read JSON that json.Valid has accepted: they do
// not check the grammar again, and they never recurse, so that nesting (which
// json.Valid bounds at 10,000 levels) costs a small frame per level and no
// goroutine stack.

// ForEachElement calls fn with the index and the raw bytes of each element
// of a valid JSON array, in order, until fn returns false. It does nothing
// if data is not an array.
func ForEachElement(data []byte, fn func(i int, elem []byte) bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return
	}
	i++
	for n := 0; ; n++ {
		i = skipSpace(data, i)
		if i >= len(data) || data[i] == ']' {
			return
		}
		end := skipValue(data, i)
		if !fn(n, data[i:end]) {
			return
		}
		i = skipSpace(data, end)
		if i < len(data) && data[i] == ',' {
			i++
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at data[i]
// (a double quote).
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index just past the value that starts at data[i].
func skipValue(data []byte, i int) int {
	depth := 0
	for i < len(data) {
		switch c := data[i]; c {
		case '"':
			i = skipString(data, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		default:
			if depth == 0 && !isSpace(c) {
				// A literal or a number: up to the next delimiter.
				for i < len(data) && !isDelim(data[i]) {
					i++
				}
				return i
			}
		}
		i++
	}
	return i
}

func isDelim(c byte) bool {
	return c == ',' || c == ']' || c == '}' || c == ':' || isSpace(c)
}

// Placeholder is a binary placeholder found in a payload: the object
// {"_placeholder":true,"num":Num} occupying Data[Start:End].
type Placeholder struct {
	Start, End int
	Num        int
}

// Placeholders returns the placeholders of a valid JSON payload, in order,
// checking each against the number of attachments as the reference parser
// does when it reconstructs a packet: any object whose "_placeholder" member
// is true stands for an attachment (its other members are ignored), and its
// "num" member must be an integer in [0, attachments). A placeholder inside
// a placeholder is part of the outer one, which replaces it. An invalid
// placeholder is an ErrInvalidPacket.
func Placeholders(data []byte, attachments int) ([]Placeholder, error) {
	return scanPlaceholders(data, attachments, true)
}

// checkPlaceholders is Placeholders without the result.
func checkPlaceholders(data []byte, attachments int) error {
	if data == nil {
		return nil
	}
	_, err := scanPlaceholders(data, attachments, false)
	return err
}

// Member keys the placeholder walker tells apart.
const (
	keyOther = iota
	keyPlaceholder
	keyNum
)

// phFrame is an open object or array of the placeholder walker.
type phFrame struct {
	start    int   // offset of the '{' or '['
	object   bool  // an object (else an array)
	key      int   // the member whose value comes next (objects)
	wantKey  bool  // the next string is a member name
	ph       bool  // "_placeholder" is true (last one wins, as in JSON.parse)
	num      int   // "num", if numOK
	numOK    bool  // "num" is an integer
	numSeen  bool  // "num" is present
	err      error // the first invalid placeholder inside, kept until we know whether this object is itself a placeholder
	firstOut int   // len(out) when the frame opened
}

// scanPlaceholders walks data once, keeping one frame per open object or
// array. Whether an object is a placeholder is known only at its end (the
// members come in any order), so an error inside it is held in its frame
// and dropped if the object turns out to be a placeholder itself, which
// replaces everything inside.
func scanPlaceholders(data []byte, attachments int, collect bool) ([]Placeholder, error) {
	var (
		stack []phFrame
		out   []Placeholder
	)
	// value reports a scalar or a closed value to the enclosing object.
	value := func(isTrue bool, num []byte) {
		if len(stack) == 0 {
			return
		}
		f := &stack[len(stack)-1]
		if !f.object {
			return
		}
		switch f.key {
		case keyPlaceholder:
			f.ph = isTrue
		case keyNum:
			f.numSeen = true
			f.numOK = false
			if num != nil {
				if v, err := strconv.ParseFloat(string(num), 64); err == nil && v == float64(int(v)) && v >= 0 && v < 1<<31 {
					f.num, f.numOK = int(v), true
				}
			}
		}
		f.key = keyOther
	}
	for i := 0; i < len(data); {
		switch c := data[i]; {
		case isSpace(c) || c == ':':
			i++
		case c == ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].wantKey = true
			}
			i++
		case c == '{' || c == '[':
			stack = append(stack, phFrame{start: i, object: c == '{', wantKey: c == '{', firstOut: len(out)})
			i++
		case c == '}' || c == ']':
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			i++
			var err error
			if f.object && f.ph {
				if !f.numOK || f.num >= attachments {
					err = invalid("illegal attachments: placeholder %s", data[f.start:i])
				} else if collect {
					out = append(out[:f.firstOut], Placeholder{Start: f.start, End: i, Num: f.num})
				}
			} else {
				err = f.err
			}
			if err != nil {
				if len(stack) == 0 {
					return nil, err
				}
				if p := &stack[len(stack)-1]; p.err == nil {
					p.err = err
				}
			}
			value(false, nil)
		case c == '"':
			end := skipString(data, i)
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				f := &stack[n-1]
				f.wantKey = false
				f.key = memberKey(data[i:end])
			} else {
				value(false, nil)
			}
			i = end
		default:
			end := i
			for end < len(data) && !isDelim(data[end]) {
				end++
			}
			tok := data[i:end]
			if c == '-' || (c >= '0' && c <= '9') {
				value(false, tok)
			} else {
				value(string(tok) == "true", nil)
			}
			i = end
		}
	}
	return out, nil
}

// memberKey tells the member names the walker cares about, unescaping those
// that use escapes as JSON.parse would.
func memberKey(quoted []byte) int {
	s := string(quoted[1 : len(quoted)-1])
	for j := 0; j < len(s); j++ {
		if s[j] == '\\' {
			if json.Unmarshal(quoted, &s) != nil {
				return keyOther
			}
			break
		}
	}
	switch s {
	case "_placeholder":
		return keyPlaceholder
	case "num":
		return keyNum
	}
	return keyOther
}

// EventName returns the name of an event from its payload (a valid JSON
// array, as Decoder returns it): its first element, a string or a number
// (the reference parser accepts both). A string without escapes is sliced
// out without a JSON decoder, which is most names. It returns false when
// the payload has no first element or it is neither.
func EventName(data []byte) (string, bool) {
	name, ok := firstElement(data)
	if !ok || len(name) == 0 {
		return "", false
	}
	switch c := name[0]; {
	case c == '"':
		if inner := name[1 : len(name)-1]; bytes.IndexByte(inner, '\\') < 0 {
			return string(inner), true
		}
		var s string
		if json.Unmarshal(name, &s) != nil {
			return "", false
		}
		return s, true
	case c == '-' || (c >= '0' && c <= '9'):
		return string(name), true
	}
	return "", false
}
