package deflate

import (
	"errors"
	"fmt"
)

// testInflate is a small, slow, independent DEFLATE decoder (RFC 1951) for
// tests. It decodes one message payload as Compress produces it (the
// trailing 00 00 ff ff already removed), given the history the message may
// refer to, and reports the longest distance used. It is stricter than an
// inflater needs to be, to check the encoder: every Huffman code must be
// complete, BFINAL must never be set, and the payload must end with the
// empty stored block's header.
func testInflate(hist, payload []byte) (out []byte, maxDist int, err error) {
	in := append(append([]byte{}, payload...), 0, 0, 0xff, 0xff)
	d := &testDecoder{in: in, out: append([]byte{}, hist...)}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("inflate: %v", r)
		}
	}()
	for {
		final := d.bits(1)
		typ := d.bits(2)
		if final != 0 {
			return nil, 0, errors.New("inflate: BFINAL set")
		}
		switch typ {
		case 0:
			d.bit = (d.bit + 7) &^ 7
			n := d.bits(16)
			nn := d.bits(16)
			if n != ^nn&0xffff {
				return nil, 0, errors.New("inflate: LEN/NLEN mismatch")
			}
			p := d.bit / 8
			if p+n > len(d.in) {
				return nil, 0, errors.New("inflate: stored block overruns")
			}
			d.out = append(d.out, d.in[p:p+n]...)
			d.bit += 8 * n
			if n == 0 {
				if d.bit != 8*len(d.in) {
					return nil, 0, errors.New("inflate: data after the empty stored block")
				}
				return d.out[len(hist):], d.maxDist, nil
			}
		case 1:
			var ll [288]uint8
			for i := range ll {
				ll[i] = fixedLen(i)
			}
			var dl [30]uint8
			for i := range dl {
				dl[i] = 5
			}
			if err := d.codes(newTestHuff(ll[:]), newTestHuff(dl[:])); err != nil {
				return nil, 0, err
			}
		case 2:
			hlit, hdist, hclen := d.bits(5)+257, d.bits(5)+1, d.bits(4)+4
			if hlit > 286 || hdist > 30 {
				return nil, 0, errors.New("inflate: HLIT or HDIST too large")
			}
			var cl [19]uint8
			for i := range hclen {
				cl[codeLenOrder[i]] = uint8(d.bits(3))
			}
			clh := newTestHuff(cl[:])
			if !clh.complete() {
				return nil, 0, errors.New("inflate: incomplete code length code")
			}
			lens := make([]uint8, 0, hlit+hdist)
			for len(lens) < hlit+hdist {
				s := d.decode(clh)
				switch {
				case s < 16:
					lens = append(lens, uint8(s))
				case s == 16:
					if len(lens) == 0 {
						return nil, 0, errors.New("inflate: repeat with no previous length")
					}
					v := lens[len(lens)-1]
					for range 3 + d.bits(2) {
						lens = append(lens, v)
					}
				case s == 17:
					for range 3 + d.bits(3) {
						lens = append(lens, 0)
					}
				default:
					for range 11 + d.bits(7) {
						lens = append(lens, 0)
					}
				}
			}
			if len(lens) != hlit+hdist {
				return nil, 0, errors.New("inflate: code lengths overrun")
			}
			if lens[256] == 0 {
				return nil, 0, errors.New("inflate: no end-of-block code")
			}
			lh, dh := newTestHuff(lens[:hlit]), newTestHuff(lens[hlit:])
			if !lh.complete() || !dh.complete() {
				return nil, 0, errors.New("inflate: incomplete literal/length or distance code")
			}
			if err := d.codes(lh, dh); err != nil {
				return nil, 0, err
			}
		default:
			return nil, 0, errors.New("inflate: block type 3")
		}
	}
}

func fixedLen(s int) uint8 {
	switch {
	case s < 144:
		return 8
	case s < 256:
		return 9
	case s < 280:
		return 7
	}
	return 8
}

type testDecoder struct {
	in      []byte
	bit     int
	out     []byte
	maxDist int
}

func (d *testDecoder) bits(n int) int {
	v := 0
	for i := range n {
		if d.bit/8 >= len(d.in) {
			panic("unexpected end of data")
		}
		v |= int(d.in[d.bit/8]>>(d.bit%8)&1) << i
		d.bit++
	}
	return v
}

// testHuff decodes canonical codes bit by bit: count[l] codes of length l,
// symbols listed by length then value (RFC 1951 §3.2.2).
type testHuff struct {
	count [16]int
	syms  []int
}

func newTestHuff(lens []uint8) *testHuff {
	h := &testHuff{}
	for _, l := range lens {
		h.count[l]++
	}
	for l := 1; l < 16; l++ {
		for s, sl := range lens {
			if int(sl) == l {
				h.syms = append(h.syms, s)
			}
		}
	}
	return h
}

// complete reports whether the code's lengths satisfy Kraft's equality.
func (h *testHuff) complete() bool {
	sum := 0
	for l := 1; l < 16; l++ {
		sum += h.count[l] << (15 - l)
	}
	return sum == 1<<15
}

func (d *testDecoder) decode(h *testHuff) int {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		code |= d.bits(1)
		c := h.count[l]
		if code-first < c {
			return h.syms[index+code-first]
		}
		index += c
		first = (first + c) << 1
		code <<= 1
	}
	panic("invalid Huffman code")
}

func (d *testDecoder) codes(lit, dist *testHuff) error {
	for {
		s := d.decode(lit)
		switch {
		case s < 256:
			d.out = append(d.out, byte(s))
			continue
		case s == 256:
			return nil
		case s > 285:
			return errors.New("inflate: literal/length symbol 286 or 287")
		}
		s -= 257
		length := int(lengthBase[s]) + d.bits(int(lengthExtra[s]))
		if s == 27 && length == 258 {
			return errors.New("inflate: length 258 coded with symbol 284")
		}
		ds := d.decode(dist)
		if ds >= 30 {
			return errors.New("inflate: distance symbol 30 or 31")
		}
		dist := int(distBase[ds]) + d.bits(int(distExtra[ds]))
		if dist > len(d.out) {
			return fmt.Errorf("inflate: distance %d before the start of the history (%d bytes)", dist, len(d.out))
		}
		d.maxDist = max(d.maxDist, dist)
		for range length {
			d.out = append(d.out, d.out[len(d.out)-dist])
		}
	}
}
