package catalog

// The fuzzing peer's own wire codec. It is deliberately independent of the
// library under test (packages frame, mask, utf8 and the root package): a
// bug there must not hide itself by being shared with the tester.

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
)

// maxRxPayload bounds a single received frame, so that a broken peer
// announcing 2^63 bytes cannot make the fuzzer allocate without limit. The
// catalog's largest frames are 16 MiB.
const maxRxPayload = 256 << 20

var errRxTooLarge = errors.New("catalog: received frame larger than 256 MiB")

// rxFrame is one frame as read from the peer under test, unmasked.
type rxFrame struct {
	fin        bool
	rsv        byte
	opcode     byte
	masked     bool
	mask       [4]byte
	nonMinimal bool // payload length not in its shortest encoding
	payload    []byte
}

// readFrame reads one whole frame. It checks nothing but what it needs to
// find the frame's end: the protocol rules are applied by the session, in
// the order autobahn applies them.
func readFrame(br *bufio.Reader) (*rxFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, err
	}
	f := &rxFrame{
		fin:    h[0]&0x80 != 0,
		rsv:    (h[0] >> 4) & 7,
		opcode: h[0] & 0x0f,
		masked: h[1]&0x80 != 0,
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(br, e[:]); err != nil {
			return nil, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
		f.nonMinimal = n < 126
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(br, e[:]); err != nil {
			return nil, err
		}
		n = binary.BigEndian.Uint64(e[:])
		f.nonMinimal = n < 65536
	}
	if f.masked {
		if _, err := io.ReadFull(br, f.mask[:]); err != nil {
			return nil, err
		}
	}
	if n > maxRxPayload {
		return nil, errRxTooLarge
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(br, f.payload); err != nil {
		return nil, err
	}
	if f.masked {
		xorMask(f.payload, f.mask)
	}
	return f, nil
}

// xorMask applies a masking key to p, starting at key offset 0.
func xorMask(p []byte, key [4]byte) {
	for i := range p {
		p[i] ^= key[i&3]
	}
}

// encodeFrame builds the octets of one frame as the suite's sendFrame does:
// the payload repeated to PayloadLen when that is set, the RSV bits and
// opcode taken as given (even when invalid), and a mask when the fuzzing
// peer is a client or the spec gives a key.
func encodeFrame(f FrameSpec, isServer bool) []byte {
	pl := f.Payload
	if f.PayloadLen > 0 && len(pl) > 0 {
		rep := make([]byte, f.PayloadLen)
		for i := 0; i < f.PayloadLen; i += len(pl) {
			copy(rep[i:], pl)
		}
		pl = rep
	}
	n := len(pl)
	b0 := (f.Rsv%8)<<4 | f.Opcode%128
	if f.Fin {
		b0 |= 0x80
	}
	masked := f.Mask != nil || !isServer
	out := make([]byte, 0, 14+n)
	var b1 byte
	if masked {
		b1 = 0x80
	}
	switch {
	case n <= 125:
		out = append(out, b0, b1|byte(n))
	case n <= 0xffff:
		out = append(out, b0, b1|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, b0, b1|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if masked {
		var key [4]byte
		if f.Mask != nil {
			key = *f.Mask
		} else {
			_, _ = rand.Read(key[:])
		}
		out = append(out, key[:]...)
		start := len(out)
		out = append(out, pl...)
		xorMask(out[start:], key)
	} else {
		out = append(out, pl...)
	}
	return out
}

// utf8Check is an incremental UTF-8 validator that fails at the first octet
// that cannot belong to a valid sequence, across any split of the input.
type utf8Check struct {
	need   int  // continuation octets still expected
	lo, hi byte // range allowed for the next continuation octet
}

// feed validates p; false means invalid.
func (v *utf8Check) feed(p []byte) bool {
	for _, b := range p {
		if v.need > 0 {
			if b < v.lo || b > v.hi {
				return false
			}
			v.need--
			v.lo, v.hi = 0x80, 0xbf
			continue
		}
		switch {
		case b < 0x80:
		case b >= 0xc2 && b <= 0xdf:
			v.need, v.lo, v.hi = 1, 0x80, 0xbf
		case b == 0xe0:
			v.need, v.lo, v.hi = 2, 0xa0, 0xbf
		case b == 0xed:
			v.need, v.lo, v.hi = 2, 0x80, 0x9f
		case b >= 0xe1 && b <= 0xef:
			v.need, v.lo, v.hi = 2, 0x80, 0xbf
		case b == 0xf0:
			v.need, v.lo, v.hi = 3, 0x90, 0xbf
		case b >= 0xf1 && b <= 0xf3:
			v.need, v.lo, v.hi = 3, 0x80, 0xbf
		case b == 0xf4:
			v.need, v.lo, v.hi = 3, 0x80, 0x8f
		default:
			return false
		}
	}
	return true
}

// complete reports whether the input so far ended on a code point boundary.
func (v *utf8Check) complete() bool { return v.need == 0 }

// validUTF8 validates a whole byte string.
func validUTF8(p []byte) bool {
	var v utf8Check
	return v.feed(p) && v.complete()
}
