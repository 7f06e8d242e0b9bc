package catalog

// A DEFLATE (RFC 1951) walker that decodes a compressed message's blocks and
// symbols without producing output, to find the farthest back-reference the
// peer under test made. compress/flate cannot be told to refuse references
// beyond a window smaller than 32 KiB, and the library under test has an
// inflater of its own, so the fuzzing peer carries this one.

import "errors"

var errWalk = errors.New("invalid DEFLATE data")

// bitReader reads bits LSB first, as RFC 1951 §3.1.1 packs them. Past the
// end it supplies zero bits, counting them, so that truncation is found
// after the fact.
type bitReader struct {
	p        []byte
	i        int
	buf      uint64
	n        uint
	consumed int
}

func (b *bitReader) fill() {
	for b.n <= 56 {
		var c byte
		if b.i < len(b.p) {
			c = b.p[b.i]
		}
		b.i++
		b.buf |= uint64(c) << b.n
		b.n += 8
	}
}

func (b *bitReader) bits(k uint) uint32 {
	if b.n < k {
		b.fill()
	}
	v := uint32(b.buf & (1<<k - 1))
	b.buf >>= k
	b.n -= k
	b.consumed += int(k)
	return v
}

// overrun reports whether more bits were consumed than the input holds.
func (b *bitReader) overrun() bool { return b.consumed > 8*len(b.p) }

// alignByte drops the bits up to the next byte boundary.
func (b *bitReader) alignByte() {
	if r := b.consumed % 8; r != 0 {
		b.bits(uint(8 - r))
	}
}

const fastBits = 9

// huffman is a canonical Huffman code: a table for codes of up to fastBits
// bits, and counts and symbols for decoding longer ones bit by bit.
type huffman struct {
	fast   [1 << fastBits]uint16 // symbol<<4 | length; 0: longer code
	count  [16]uint16
	symbol [288]uint16
}

func (h *huffman) build(lengths []uint8) error {
	h.fast = [1 << fastBits]uint16{}
	h.count = [16]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	left := 1
	for l := 1; l < 16; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return errWalk // over-subscribed
		}
	}
	var offs, next [16]int
	code := 0
	for l := 1; l < 16; l++ {
		offs[l] = offs[l-1] + int(h.count[l-1])
		code = (code + int(h.count[l-1])) << 1
		next[l] = code
	}
	for s, l := range lengths {
		if l == 0 {
			continue
		}
		h.symbol[offs[l]] = uint16(s)
		offs[l]++
		c := next[l]
		next[l]++
		if l > fastBits {
			continue
		}
		r := 0
		for i := 0; i < int(l); i++ {
			r |= (c >> i & 1) << (int(l) - 1 - i)
		}
		for k := r; k < 1<<fastBits; k += 1 << l {
			h.fast[k] = uint16(s)<<4 | uint16(l)
		}
	}
	return nil
}

func (b *bitReader) decode(h *huffman) (int, error) {
	if b.n < 15 {
		b.fill()
	}
	if e := h.fast[b.buf&(1<<fastBits-1)]; e != 0 {
		b.bits(uint(e & 15))
		return int(e >> 4), nil
	}
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		code |= int(b.bits(1))
		cnt := int(h.count[l])
		if code-cnt < first {
			return int(h.symbol[index+code-first]), nil
		}
		index += cnt
		first = (first + cnt) << 1
		code <<= 1
	}
	return 0, errWalk
}

var (
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtr = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder  = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// deflateWalker keeps its tables between messages.
type deflateWalker struct {
	lit, dist, fixedLit, fixedDist huffman
	fixedBuilt                     bool
	lengths                        [320]uint8
}

// maxDistance walks the DEFLATE blocks in p (a message payload with its
// 00 00 ff ff put back) and returns the farthest distance any match refers
// back, or an error for data that is not valid DEFLATE. It stops after a
// block with BFINAL set, or at the end of p.
func (w *deflateWalker) maxDistance(p []byte) (int, error) {
	b := &bitReader{p: p}
	maxd := 0
	for {
		if 8*len(p)-b.consumed < 8 {
			// Only padding bits can remain: the stream ended on a block
			// boundary (a sync flush ends byte-aligned).
			return maxd, nil
		}
		final := b.bits(1) == 1
		switch b.bits(2) {
		case 0:
			b.alignByte()
			n := b.bits(16)
			nn := b.bits(16)
			if n != ^nn&0xffff {
				return maxd, errWalk
			}
			for i := uint32(0); i < n; i++ {
				b.bits(8)
			}
		case 1:
			if !w.fixedBuilt {
				var l [288 + 30]uint8
				for i := range 288 {
					switch {
					case i < 144:
						l[i] = 8
					case i < 256:
						l[i] = 9
					case i < 280:
						l[i] = 7
					default:
						l[i] = 8
					}
				}
				for i := range 30 {
					l[288+i] = 5
				}
				if err := w.fixedLit.build(l[:288]); err != nil {
					return maxd, err
				}
				if err := w.fixedDist.build(l[288:]); err != nil {
					return maxd, err
				}
				w.fixedBuilt = true
			}
			d, err := w.codes(b, &w.fixedLit, &w.fixedDist)
			maxd = max(maxd, d)
			if err != nil {
				return maxd, err
			}
		case 2:
			if err := w.dynamic(b); err != nil {
				return maxd, err
			}
			d, err := w.codes(b, &w.lit, &w.dist)
			maxd = max(maxd, d)
			if err != nil {
				return maxd, err
			}
		default:
			return maxd, errWalk
		}
		if b.overrun() {
			return maxd, errWalk
		}
		if final {
			return maxd, nil
		}
	}
}

func (w *deflateWalker) dynamic(b *bitReader) error {
	nlen := int(b.bits(5)) + 257
	ndist := int(b.bits(5)) + 1
	ncode := int(b.bits(4)) + 4
	if nlen > 286 || ndist > 30 {
		return errWalk
	}
	var cl [19]uint8
	for i := 0; i < ncode; i++ {
		cl[clOrder[i]] = uint8(b.bits(3))
	}
	var clh huffman
	if err := clh.build(cl[:]); err != nil {
		return err
	}
	l := w.lengths[:nlen+ndist]
	for i := 0; i < len(l); {
		sym, err := b.decode(&clh)
		if err != nil {
			return err
		}
		if sym < 16 {
			l[i] = uint8(sym)
			i++
			continue
		}
		var val uint8
		var rep int
		switch sym {
		case 16:
			if i == 0 {
				return errWalk
			}
			val = l[i-1]
			rep = 3 + int(b.bits(2))
		case 17:
			rep = 3 + int(b.bits(3))
		default:
			rep = 11 + int(b.bits(7))
		}
		if i+rep > len(l) {
			return errWalk
		}
		for ; rep > 0; rep-- {
			l[i] = val
			i++
		}
		if b.overrun() {
			return errWalk
		}
	}
	if l[256] == 0 {
		return errWalk
	}
	if err := w.lit.build(l[:nlen]); err != nil {
		return err
	}
	return w.dist.build(l[nlen:])
}

// codes walks the symbols of one compressed block up to its end of block.
func (w *deflateWalker) codes(b *bitReader, lit, dist *huffman) (int, error) {
	maxd := 0
	for {
		sym, err := b.decode(lit)
		if err != nil {
			return maxd, err
		}
		switch {
		case sym < 256:
		case sym == 256:
			return maxd, nil
		default:
			sym -= 257
			if sym >= 29 {
				return maxd, errWalk
			}
			b.bits(uint(lenExtra[sym]))
			ds, err := b.decode(dist)
			if err != nil {
				return maxd, err
			}
			if ds >= 30 {
				return maxd, errWalk
			}
			d := int(distBase[ds]) + int(b.bits(uint(distExtr[ds])))
			maxd = max(maxd, d)
		}
		if b.overrun() {
			return maxd, errWalk
		}
	}
}
