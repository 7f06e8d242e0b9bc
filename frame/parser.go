package frame

import "encoding/binary"

// Role is the side of the connection a Parser reads for. It decides which
// masking rule applies to received frames (RFC 6455 §5.1).
type Role uint8

// Roles.
const (
	// AnyRole enforces no masking rule; for tools that inspect captures.
	AnyRole Role = iota
	// Server reads frames sent by a client: they MUST be masked.
	Server
	// Client reads frames sent by a server: they MUST NOT be masked.
	Client
)

// EventKind says what Parser.Feed found.
type EventKind uint8

// Event kinds.
const (
	// NeedMore: the input was consumed and more bytes are needed to make
	// progress (a header may be partly buffered inside the Parser).
	NeedMore EventKind = iota
	// HeaderEvent: a complete, valid header was parsed; Parser.Header
	// returns it.
	HeaderEvent
	// PayloadEvent: Event.Payload holds the next payload bytes of the
	// current frame.
	PayloadEvent
)

// Event is what one call of Parser.Feed reports.
type Event struct {
	Kind EventKind
	// Payload is, for a PayloadEvent, a subslice of the input holding the
	// next payload bytes of the current frame, exactly as received: still
	// masked when the header's Masked bit is set.
	Payload []byte
	// KeyPos is the masking-key position of Payload[0] (0..3), to pass to an
	// unmasking function that works from any key offset.
	KeyPos int
	// FrameEnd is set when the event completes the current frame: a header
	// with a zero length, or the last payload bytes.
	FrameEnd bool
}

type parserState uint8

const (
	stateHeader parserState = iota
	statePayload
	stateError
)

// Parser is a sans-I/O frame parser: it is fed bytes in chunks of any size,
// down to one byte at a time, and reports each header and then the payload
// bytes as they arrive. It does no I/O and does not allocate.
//
// Besides the per-frame rules of RFC 6455 §5.2 and §5.5, it enforces the
// fragmentation sequence of §5.4 (continuations only inside a fragmented
// message, no new data message before the last fragment) and the message
// size limit, summed over fragments. After it reports an error it keeps
// reporting the same error.
//
// The zero value parses frames for AnyRole, allows no reserved bits and has
// no size limit. Configure the exported fields before the first Feed.
type Parser struct {
	// Role selects the masking rule (RFC 6455 §5.1).
	Role Role
	// AllowedRSV holds the reserved bits that a negotiated extension
	// defines (for permessage-deflate, RSV1). Others are protocol errors.
	AllowedRSV uint8
	// MaxMessage limits the payload of a data message, summed over its
	// fragments; 0 means no limit. A header announcing a length that would
	// exceed it is rejected with ErrTooLarge before any payload is read, so
	// a caller can allocate for a frame once its header has been accepted.
	MaxMessage int64
	// StrictLength rejects lengths not encoded in the minimal number of
	// bytes (ErrNonMinimalLength).
	StrictLength bool

	// The small fields are kept together: every connection holds a
	// Parser.
	state      parserState
	hbuf       [MaxHeaderSize]byte
	hn         uint8 // header bytes buffered
	hneed      uint8 // header size, once known (0 before 2 bytes are in)
	fragmented bool  // a fragmented data message is in progress
	h          Header
	remaining  int64 // payload bytes of the current frame not yet reported
	offset     int64 // payload bytes of the current frame already reported
	msgLen     int64 // payload bytes of the current data message so far
	err        error
}

// Reset returns p to its initial state, keeping its configuration.
func (p *Parser) Reset() {
	*p = Parser{Role: p.Role, AllowedRSV: p.AllowedRSV, MaxMessage: p.MaxMessage, StrictLength: p.StrictLength}
}

// Header returns the header of the current frame (the last HeaderEvent).
func (p *Parser) Header() Header { return p.h }

// Remaining returns the payload bytes of the current frame that have not
// been reported yet. It is 0 between frames.
func (p *Parser) Remaining() int64 {
	if p.state != statePayload {
		return 0
	}
	return p.remaining
}

// InPayload reports whether the parser is inside a frame's payload.
func (p *Parser) InPayload() bool { return p.state == statePayload }

// Fragmented reports whether a fragmented data message is in progress: its
// first frame had FIN clear and its final fragment has not been parsed yet.
func (p *Parser) Fragmented() bool { return p.fragmented }

// MessageLength returns the payload length of the current (or last) data
// message summed over the headers of its frames seen so far.
func (p *Parser) MessageLength() int64 { return p.msgLen }

// Err returns the error that stopped the parser, or nil.
func (p *Parser) Err() error { return p.err }

// Feed parses the start of b. It returns the first event found, the number of
// bytes of b it consumed, and an error if b breaks a rule. With a NeedMore
// event all of b was consumed. A payload event never extends past the end of
// the current frame, so the next frame's bytes are left for the next call.
func (p *Parser) Feed(b []byte) (Event, int, error) {
	switch p.state {
	case statePayload:
		if len(b) == 0 {
			return Event{}, 0, nil
		}
		n := len(b)
		if int64(n) > p.remaining {
			n = int(p.remaining)
		}
		pos, end := p.Consume(n)
		return Event{Kind: PayloadEvent, Payload: b[:n], KeyPos: pos, FrameEnd: end}, n, nil
	case stateError:
		return Event{}, 0, p.err
	}
	if p.hn == 0 && len(b) >= 2 {
		// Fast path: a whole header at the start of b is decoded in place.
		p.hbuf[0], p.hbuf[1] = b[0], b[1]
		if err := p.checkStart(); err != nil {
			return Event{}, 2, p.fail(err)
		}
		if len(b) >= int(p.hneed) {
			n := int(p.hneed)
			if err := p.finishHeader(b[:n]); err != nil {
				return Event{}, n, p.fail(err)
			}
			return Event{Kind: HeaderEvent, FrameEnd: p.state == stateHeader}, n, nil
		}
		p.hn = 2
		b = b[2:]
		k := copy(p.hbuf[2:p.hneed], b)
		p.hn += uint8(k)
		return Event{}, 2 + k, nil
	}
	consumed := 0
	for consumed < len(b) {
		if p.hneed == 0 {
			// Need the first two bytes to know the header size.
			p.hbuf[p.hn] = b[consumed]
			p.hn++
			consumed++
			if p.hn < 2 {
				continue
			}
			if err := p.checkStart(); err != nil {
				return Event{}, consumed, p.fail(err)
			}
			if p.hn < p.hneed {
				continue
			}
		} else {
			k := copy(p.hbuf[p.hn:p.hneed], b[consumed:])
			p.hn += uint8(k)
			consumed += k
			if p.hn < p.hneed {
				continue
			}
		}
		// Header complete.
		if err := p.finishHeader(p.hbuf[:p.hneed]); err != nil {
			return Event{}, consumed, p.fail(err)
		}
		return Event{Kind: HeaderEvent, FrameEnd: p.state == stateHeader}, consumed, nil
	}
	return Event{}, consumed, nil
}

// Consume records that the next n payload bytes of the current frame were
// taken outside Feed (for example read from the network straight into their
// destination). It returns the masking-key position of the first of them and
// whether they end the frame. n must not exceed Remaining.
func (p *Parser) Consume(n int) (keyPos int, frameEnd bool) {
	if p.state != statePayload || int64(n) > p.remaining || n < 0 {
		panic("frame: Consume beyond the current frame's payload")
	}
	keyPos = int(p.offset & 3)
	p.offset += int64(n)
	p.remaining -= int64(n)
	if p.remaining == 0 {
		p.endFrame()
		return keyPos, true
	}
	return keyPos, false
}

func (p *Parser) fail(err error) error {
	p.state = stateError
	p.err = err
	return err
}

func (p *Parser) endFrame() {
	p.state = stateHeader
	p.hn, p.hneed = 0, 0
	p.offset, p.remaining = 0, 0
}

// checkStart validates the first two header bytes and computes the header
// size. Rules that the first two bytes decide fail here, before the rest of
// the header is awaited.
func (p *Parser) checkStart() error {
	b0, b1 := p.hbuf[0], p.hbuf[1]
	op := Opcode(b0 & 0xF)
	rsv := (b0 >> 4) & 0x7
	fin := b0&0x80 != 0
	masked := b1&0x80 != 0
	len7 := b1 & 0x7F

	// RFC 6455 §5.2: RSV1-3 MUST be 0 unless an extension is negotiated
	// that defines meanings for non-zero values.
	if rsv&^p.AllowedRSV != 0 {
		return ErrReservedBits
	}
	// RFC 6455 §5.2: reserved opcodes fail the connection.
	if op.IsReserved() {
		return ErrReservedOpcode
	}
	if op.IsControl() {
		// RFC 6455 §5.5: control frames MUST NOT be fragmented and have a
		// payload length of 125 bytes or less.
		if !fin {
			return ErrFragmentedControl
		}
		if len7 > MaxControlPayload {
			return ErrControlTooLong
		}
	} else {
		// RFC 6455 §5.4: a continuation needs a message in progress, and
		// a new message cannot start inside a fragmented one.
		if op == OpContinuation && !p.fragmented {
			return ErrUnexpectedContinuation
		}
		if op != OpContinuation && p.fragmented {
			return ErrExpectedContinuation
		}
	}
	// RFC 6455 §5.1: a server MUST close the connection upon receiving an
	// unmasked frame; a client MUST close it upon receiving a masked one.
	switch p.Role {
	case Server:
		if !masked {
			return ErrUnmaskedClientFrame
		}
	case Client:
		if masked {
			return ErrMaskedServerFrame
		}
	}
	need := uint8(2)
	switch len7 {
	case 126:
		need += 2
	case 127:
		need += 8
	}
	if masked {
		need += 4
	}
	p.hneed = need
	return nil
}

// finishHeader decodes the complete header hb and applies the length rules.
func (p *Parser) finishHeader(hb []byte) error {
	b0, b1 := hb[0], hb[1]
	h := Header{
		Fin:    b0&0x80 != 0,
		Rsv:    (b0 >> 4) & 0x7,
		Opcode: Opcode(b0 & 0xF),
		Masked: b1&0x80 != 0,
	}
	i := 2
	switch len7 := int64(b1 & 0x7F); len7 {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(hb[2:4]))
		i = 4
		if p.StrictLength && h.Length <= 125 {
			return ErrNonMinimalLength
		}
	case 127:
		u := binary.BigEndian.Uint64(hb[2:10])
		i = 10
		// RFC 6455 §5.2: the most significant bit MUST be 0.
		if u>>63 != 0 {
			return ErrLengthMSB
		}
		h.Length = int64(u)
		if p.StrictLength && h.Length <= 0xFFFF {
			return ErrNonMinimalLength
		}
	default:
		h.Length = len7
	}
	if h.Masked {
		copy(h.Key[:], hb[i:i+4])
	}
	if h.Opcode.IsData() {
		// The message limit is checked against the sum of the fragments'
		// announced lengths, before any payload is accepted.
		msg := h.Length
		if h.Opcode == OpContinuation {
			msg += p.msgLen
		}
		if p.MaxMessage > 0 && (msg > p.MaxMessage || msg < 0) {
			return ErrTooLarge
		}
		p.msgLen = msg
		p.fragmented = !h.Fin
	}
	p.h = h
	p.offset = 0
	p.remaining = h.Length
	p.hn, p.hneed = 0, 0
	if h.Length > 0 {
		p.state = statePayload
	} else {
		p.state = stateHeader
	}
	return nil
}
