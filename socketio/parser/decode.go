package parser

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ReservedEvents are the event names a peer must not send: the reference
// parser refuses an EVENT whose name is one of them.
var ReservedEvents = [...]string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

// Decoder turns the messages of one connection back into packets. A packet
// with attachments spans several messages: its text message, then one binary
// message per attachment, and the Decoder keeps the packet until the last
// one has arrived. A Decoder is not safe for concurrent use; the messages of
// a connection arrive in order on one goroutine.
//
// The zero value is ready to use. After an error the Decoder is reset; the
// reference server closes the connection, and so should its callers.
type Decoder struct {
	// MaxAttachments bounds the attachments one packet may declare; zero
	// means DefaultMaxAttachments. A packet that declares more is refused
	// before any attachment is kept, so that what a peer can make the
	// Decoder hold is bounded by MaxAttachments messages.
	MaxAttachments int

	pending *Packet // a binary packet waiting for attachments
	want    int     // how many attachments it declared
}

// Pending reports whether the Decoder waits for the attachments of a binary
// packet.
func (d *Decoder) Pending() bool { return d.pending != nil }

// Reset drops a packet waiting for attachments.
func (d *Decoder) Reset() { d.pending, d.want = nil, 0 }

// DecodeText decodes a text message. It returns the packet when it is
// complete, or nil (and no error) when it declared attachments that must
// follow. data is not kept: the packet holds copies.
func (d *Decoder) DecodeText(data []byte) (*Packet, error) {
	if d.pending != nil {
		d.Reset()
		return nil, fmt.Errorf("%w: a text message came while %d attachments were awaited", ErrInvalidPacket, d.want)
	}
	max := d.MaxAttachments
	if max <= 0 {
		max = DefaultMaxAttachments
	}
	p, n, err := decodeText(data, max)
	if err != nil {
		return nil, err
	}
	if p.Type.Binary() && n > 0 {
		p.Attachments = make([][]byte, 0, n)
		d.pending, d.want = p, n
		return nil, nil
	}
	if p.Type.Binary() {
		// Declared binary, with no attachment: its placeholders (if any)
		// cannot refer to anything.
		if err := checkPlaceholders(p.Data, 0); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// DecodeBinary decodes a binary message: the next attachment of the packet
// being reassembled. It returns the packet once its last attachment has
// arrived, nil (and no error) before. data is not kept.
func (d *Decoder) DecodeBinary(data []byte) (*Packet, error) {
	p := d.pending
	if p == nil {
		return nil, fmt.Errorf("%w: a binary message came with no packet awaiting attachments", ErrInvalidPacket)
	}
	p.Attachments = append(p.Attachments, bytes.Clone(data))
	if len(p.Attachments) < d.want {
		return nil, nil
	}
	d.Reset()
	if err := checkPlaceholders(p.Data, len(p.Attachments)); err != nil {
		return nil, err
	}
	return p, nil
}

// Decode decodes one packet carried in text and its attachments, all at
// once: a convenience for callers that have them together.
func Decode(text []byte, attachments ...[]byte) (*Packet, error) {
	var d Decoder
	p, err := d.DecodeText(text)
	if err != nil {
		return nil, err
	}
	for i, a := range attachments {
		if p != nil {
			return nil, fmt.Errorf("%w: %d attachments given, %d declared", ErrInvalidPacket, len(attachments), i)
		}
		if p, err = d.DecodeBinary(a); err != nil {
			return nil, err
		}
	}
	if p == nil {
		return nil, fmt.Errorf("%w: %d attachments declared, %d given", ErrInvalidPacket, d.want, len(attachments))
	}
	return p, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidPacket}, args...)...)
}

// decodeText parses the text form of a packet (protocol document, "Packet
// encoding"), in the reference parser's order: type, attachment count,
// namespace, ack id, payload. It returns the packet and the number of
// attachments declared.
func decodeText(s []byte, maxAttachments int) (*Packet, int, error) {
	if len(s) == 0 {
		return nil, 0, invalid("empty message")
	}
	t := Type(s[0] - '0')
	if s[0] < '0' || !t.Valid() {
		return nil, 0, invalid("unknown packet type %q", s[0])
	}
	p := &Packet{Type: t}
	i := 1
	n := 0
	if t.Binary() {
		// <count>- : decimal digits, then a dash.
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			n = n*10 + int(s[i]-'0')
			if n > maxAttachments {
				return nil, 0, invalid("more than %d attachments", maxAttachments)
			}
			i++
		}
		if i == start || i == len(s) || s[i] != '-' {
			return nil, 0, invalid("illegal attachment count")
		}
		i++
	}
	// Namespace: from a leading "/" to the next comma or the end.
	if i < len(s) && s[i] == '/' {
		start := i
		for i < len(s) && s[i] != ',' {
			i++
		}
		p.Namespace = string(s[start:i])
		if i < len(s) {
			i++ // the comma
		}
	} else {
		p.Namespace = "/"
	}
	// Ack id: a run of decimal digits.
	if i < len(s) && s[i] >= '0' && s[i] <= '9' {
		var id uint64
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			id = id*10 + uint64(s[i]-'0')
			if id > MaxAckID {
				return nil, 0, invalid("ack id out of range")
			}
			i++
		}
		p.ID, p.HasID = id, true
	}
	if i < len(s) {
		data := s[i:]
		if err := checkPayload(t, data); err != nil {
			return nil, 0, err
		}
		p.Data = bytes.Clone(data)
	} else if err := checkMissingPayload(t); err != nil {
		return nil, 0, err
	}
	if p.HasID && t != Event && t != BinaryEvent && t != Ack && t != BinaryAck {
		return nil, 0, invalid("an ack id on a %v packet", t)
	}
	if (t == Ack || t == BinaryAck) && !p.HasID {
		return nil, 0, invalid("%v without an ack id", t)
	}
	return p, n, nil
}

// checkMissingPayload applies the protocol's rules to a packet without a
// payload: EVENT's payload "is mandatory and MUST be a non-empty array", an
// ACK's "is mandatory and MUST be an array", CONNECT_ERROR says why.
func checkMissingPayload(t Type) error {
	switch t {
	case Event, BinaryEvent, Ack, BinaryAck, ConnectError:
		return invalid("%v without a payload", t)
	}
	return nil
}

// checkPayload applies the reference parser's rules on payloads
// (isPayloadValid): CONNECT takes an object, DISCONNECT nothing,
// CONNECT_ERROR an object or a string, EVENT a non-empty array whose first
// element is a number or a string that is not a reserved event name, ACK an
// array.
func checkPayload(t Type, data []byte) error {
	if !json.Valid(data) {
		return invalid("payload is not valid JSON")
	}
	first := firstByte(data)
	switch t {
	case Connect:
		if first != '{' {
			return invalid("CONNECT payload is not an object")
		}
	case Disconnect:
		return invalid("DISCONNECT with a payload")
	case ConnectError:
		if first != '{' && first != '"' {
			return invalid("CONNECT_ERROR payload is neither an object nor a string")
		}
	case Event, BinaryEvent:
		if first != '[' {
			return invalid("%v payload is not an array", t)
		}
		elem, ok := firstElement(data)
		if !ok {
			return invalid("%v payload is an empty array", t)
		}
		name, ok := EventName(data)
		if !ok {
			return invalid("%v name is neither a string nor a number", t)
		}
		if elem[0] == '"' {
			for _, r := range ReservedEvents {
				if name == r {
					return invalid("%q is a reserved event name", name)
				}
			}
		}
	case Ack, BinaryAck:
		if first != '[' {
			return invalid("%v payload is not an array", t)
		}
	}
	return nil
}

// firstByte returns the first byte of a JSON value that is not white space.
func firstByte(data []byte) byte {
	for _, c := range data {
		if !isSpace(c) {
			return c
		}
	}
	return 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// firstElement returns the first element of a valid JSON array, and false
// when the array is empty.
func firstElement(data []byte) ([]byte, bool) {
	var first []byte
	found := false
	ForEachElement(data, func(_ int, elem []byte) bool {
		first, found = elem, true
		return false
	})
	return first, found
}
