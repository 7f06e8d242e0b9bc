// Package utf8 validates UTF-8 text as required for WebSocket text messages
// (RFC 6455 §8.1) using the UTF-8 definition of RFC 3629.
//
// Validator checks a message incrementally, chunk by chunk, split at any
// byte, and fails fast: it reports an error at the first byte after which no
// continuation could produce valid UTF-8, as RFC 6455 §8.1 asks an endpoint to
// fail the connection as soon as it sees invalid data. Valid is the one-shot
// form.
package utf8

import "encoding/binary"

// The decoder is a deterministic finite automaton over bytes. Its nine states
// are stored as shift amounts (state index × 6), and dfa[c] packs, for every
// state s, the next state for input byte c in the 6 bits at offset s. A step
// is then a single shift: next = dfa[c] >> (s & 63), whose low 6 bits are the
// new state. This keeps the per-byte dependency chain to one shift and mask.
//
// The states encode exactly which bytes may still follow (RFC 3629 §4,
// UTF8-tail and the restricted second-byte ranges), so a byte is rejected at
// the first point where no valid continuation exists.
const (
	sAccept = 0 * 6 // at a character boundary
	sReject = 1 * 6 // invalid; absorbing
	sTail1  = 2 * 6 // one more 80..BF needed
	sTail2  = 3 * 6 // two more 80..BF needed
	sE0     = 4 * 6 // after E0: need A0..BF (no overlongs), then one tail
	sED     = 5 * 6 // after ED: need 80..9F (no surrogates U+D800..U+DFFF), then one tail
	sTail3  = 6 * 6 // three more 80..BF needed
	sF0     = 7 * 6 // after F0: need 90..BF (no overlongs), then two tails
	sF4     = 8 * 6 // after F4: need 80..8F (nothing above U+10FFFF), then two tails

	stateMask = 63
)

var dfa = buildDFA()

func buildDFA() (t [256]uint64) {
	set := func(c int, from, to uint64) { t[c] |= to << from }
	for c := 0; c < 256; c++ {
		// Every state defaults to reject; sReject must stay absorbing.
		for s := uint64(0); s <= sF4; s += 6 {
			set(c, s, sReject)
		}
	}
	for c := 0; c < 256; c++ {
		// Clear the defaults we are about to override, field by field.
		trans := func(from, to uint64) {
			t[c] &^= stateMask << from
			set(c, from, to)
		}
		// RFC 3629 §4:
		//   UTF8-1 = %x00-7F
		//   UTF8-2 = %xC2-DF UTF8-tail
		//   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
		//            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
		//   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
		//            %xF4 %x80-8F 2( UTF8-tail )
		//   UTF8-tail = %x80-BF
		// C0, C1 and F5..FF never appear (RFC 3629 §1).
		switch {
		case c <= 0x7F:
			trans(sAccept, sAccept)
		case c >= 0xC2 && c <= 0xDF:
			trans(sAccept, sTail1)
		case c == 0xE0:
			trans(sAccept, sE0)
		case c == 0xED:
			trans(sAccept, sED)
		case c >= 0xE1 && c <= 0xEF:
			trans(sAccept, sTail2)
		case c == 0xF0:
			trans(sAccept, sF0)
		case c >= 0xF1 && c <= 0xF3:
			trans(sAccept, sTail3)
		case c == 0xF4:
			trans(sAccept, sF4)
		}
		if c >= 0x80 && c <= 0xBF {
			trans(sTail1, sAccept)
			trans(sTail2, sTail1)
			trans(sTail3, sTail2)
			if c >= 0xA0 {
				trans(sE0, sTail1)
			} else {
				trans(sED, sTail1)
			}
			if c >= 0x90 {
				trans(sF0, sTail2)
			} else {
				trans(sF4, sTail2)
			}
		}
	}
	return t
}

// lead describes a lead byte for the fast path over complete sequences.
// Bits 0..8 hold the lowest allowed second byte and bits 16..23 the width of
// the allowed second-byte range (RFC 3629 §4). Bytes that cannot start a
// multi-byte sequence get a lowest value of 0x100, which no byte reaches.
var lead = buildLead()

func buildLead() (t [256]uint32) {
	for c := range t {
		t[c] = 0x100
	}
	for c := 0xC2; c <= 0xF4; c++ {
		var lo, hi uint32 = 0x80, 0xBF
		switch c {
		case 0xE0:
			lo = 0xA0 // overlong
		case 0xED:
			hi = 0x9F // surrogates U+D800..U+DFFF
		case 0xF0:
			lo = 0x90 // overlong
		case 0xF4:
			hi = 0x8F // above U+10FFFF
		}
		t[c] = lo | (hi-lo)<<16
	}
	return t
}

const (
	hiBits64 = 0x8080808080808080
	hiBits32 = 0x80808080
)

// ascii32 reports whether the first 32 bytes of p are ASCII.
func ascii32(p []byte) bool {
	_ = p[31]
	w := binary.LittleEndian.Uint64(p[0:8]) | binary.LittleEndian.Uint64(p[8:16]) |
		binary.LittleEndian.Uint64(p[16:24]) | binary.LittleEndian.Uint64(p[24:32])
	return w&hiBits64 == 0
}

// run feeds p to the automaton starting in state s and returns the new state.
// It returns sReject as soon as the input is known to be invalid.
func run(s uint64, p []byte) uint64 {
	// Finish a sequence left open by the previous chunk.
	for s != sAccept {
		if len(p) == 0 {
			return s
		}
		s = (dfa[p[0]] >> (s & stateMask)) & stateMask
		p = p[1:]
		if s == sReject {
			return s
		}
	}
	// At a character boundary. The loops below validate whole characters
	// directly; only the last few bytes, which may hold a partial
	// sequence, go through the automaton.
	i, n := 0, len(p)
	for i < n-3 {
		// ASCII: 32 bytes per iteration, then 64 once a run is established.
		for i < n-31 {
			q := p[i : i+32 : i+32]
			w := binary.LittleEndian.Uint64(q[0:8]) | binary.LittleEndian.Uint64(q[8:16]) |
				binary.LittleEndian.Uint64(q[16:24]) | binary.LittleEndian.Uint64(q[24:32])
			if w&hiBits64 != 0 {
				break
			}
			i += 32
			for i < n-63 {
				q := p[i : i+64 : i+64]
				w := binary.LittleEndian.Uint64(q[0:8]) | binary.LittleEndian.Uint64(q[8:16]) |
					binary.LittleEndian.Uint64(q[16:24]) | binary.LittleEndian.Uint64(q[24:32]) |
					binary.LittleEndian.Uint64(q[32:40]) | binary.LittleEndian.Uint64(q[40:48]) |
					binary.LittleEndian.Uint64(q[48:56]) | binary.LittleEndian.Uint64(q[56:64])
				if w&hiBits64 != 0 {
					break
				}
				i += 64
			}
		}
		// Mixed text: one character per iteration, with a branch on the
		// sequence length so that the position does not wait on the
		// table load.
		for i < n-3 {
			w := binary.LittleEndian.Uint32(p[i : i+4 : i+4])
			c := byte(w)
			if c < 0x80 {
				if w&hiBits32 == 0 {
					i += 4
					if i < n-31 {
						break // likely an ASCII run: back to the word loop
					}
					continue
				}
				i++
				continue
			}
			// RFC 3629 §4: the second byte lies in the range allowed by
			// the lead byte (which excludes overlongs, surrogates and
			// values above U+10FFFF); invalid lead bytes match nothing.
			x := lead[c]
			if uint32(byte(w>>8))-(x&0x1FF) > x>>16 {
				return sReject
			}
			switch {
			case c < 0xE0:
				i += 2
			case c < 0xF0:
				// The third byte is a UTF8-tail (10xxxxxx).
				if w&0xC00000 != 0x800000 {
					return sReject
				}
				i += 3
			default:
				if w&0xC0C00000 != 0x80800000 {
					return sReject
				}
				i += 4
			}
		}
	}
	p = p[i:]
	// Fewer than 4 bytes remain: they may end in a partial sequence.
	for _, c := range p {
		s = (dfa[c] >> (s & stateMask)) & stateMask
		if s == sReject {
			return s
		}
	}
	return s
}

// Validator validates UTF-8 incrementally over chunks split at any byte. The zero value is ready.
//
// It is intended for the text messages of RFC 6455 §8.1, whose payload may
// be split across frames and reads at arbitrary byte positions.
type Validator struct {
	state uint8
}

// Write feeds the next chunk. It returns false as soon as the bytes seen so far can no longer begin
// a valid UTF-8 sequence (fail fast: a partial but still-possible sequence at the end of p is fine).
// Once it has returned false it keeps returning false until Reset.
//
// Write allocates nothing.
func (v *Validator) Write(p []byte) bool {
	s := run(uint64(v.state), p)
	v.state = uint8(s)
	return s != sReject
}

// Complete reports whether everything fed so far is valid AND ends on a character boundary
// (call at the end of a message).
func (v *Validator) Complete() bool {
	return v.state == sAccept
}

// Reset makes v ready for a new message.
func (v *Validator) Reset() {
	v.state = sAccept
}

// Valid reports whether p is entirely valid UTF-8 (one-shot).
//
// It accepts exactly what RFC 3629 §4 allows, the same set as the standard
// library's unicode/utf8.Valid.
func Valid(p []byte) bool {
	return run(sAccept, p) == sAccept
}
