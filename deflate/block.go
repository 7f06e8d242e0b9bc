package deflate

import "encoding/binary"

// bitWriter appends bits to out, least significant bit first (RFC 1951
// §3.1.1).
type bitWriter struct {
	out []byte
	acc uint64
	n   uint // bits held in acc, < 32 between calls
}

// writeBits writes the n low bits of v; n ≤ 32.
func (w *bitWriter) writeBits(v uint32, n uint) {
	w.acc |= uint64(v) << w.n
	w.n += n
	if w.n >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

// writeCode writes a code from canonicalCodes: code | length<<16.
func (w *bitWriter) writeCode(c uint32) { w.writeBits(c&0xffff, uint(c>>16)) }

// align pads with zero bits to a byte boundary and flushes.
func (w *bitWriter) align() {
	for w.n > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.n -= min(w.n, 8)
	}
	w.acc = 0
}

const maxStored = 65535 // RFC 1951 §3.2.4: LEN is 16 bits

// writeStored writes p as stored blocks (RFC 1951 §3.2.4), BFINAL 0.
func (c *Compressor) writeStored(p []byte) {
	for len(p) > 0 {
		n := min(len(p), maxStored)
		c.bw.writeBits(0, 3) // BFINAL 0, BTYPE 00
		c.bw.align()
		c.bw.out = binary.LittleEndian.AppendUint16(c.bw.out, uint16(n))
		c.bw.out = binary.LittleEndian.AppendUint16(c.bw.out, ^uint16(n))
		c.bw.out = append(c.bw.out, p[:n]...)
		p = p[n:]
	}
}

// storedBits is the size in bits of p as stored blocks, written from a
// stream position of n bits past a byte boundary.
func storedBits(size int, n uint) int {
	first := 3 + int((8-(n+3)%8)%8) + 32
	chunks := (size + maxStored - 1) / maxStored
	return first + (chunks-1)*(8+32) + 8*size
}

// codeLenOrder is the order in which the code length code's lengths are
// sent (RFC 1951 §3.2.7).
var codeLenOrder = [numCodeLen]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// writeBlock writes the gathered tokens as one block with whichever
// encoding is smallest: dynamic Huffman codes (RFC 1951 §3.2.7), the fixed
// codes (§3.2.6), or, when the block's input raw is still at hand, stored
// (§3.2.4).
func (c *Compressor) writeBlock(raw []byte, rawOK bool) {
	c.litFreq[endOfBlock] = 1
	huffLengths(c.litFreq[:], maxCodeBits, c.litLens[:])
	huffLengths(c.distFreq[:], maxCodeBits, c.distLens[:])

	// Bits that do not depend on the codes.
	extra := 0
	for s := 0; s < 29; s++ {
		extra += int(c.litFreq[endOfBlock+1+s]) * int(lengthExtra[s])
	}
	dynBits, fixedBits := extra, extra+3
	for s := 0; s < numDist; s++ {
		extra := int(c.distFreq[s]) * int(distExtra[s])
		dynBits += extra + int(c.distFreq[s])*int(c.distLens[s])
		fixedBits += extra + int(c.distFreq[s])*5
	}
	for s, f := range c.litFreq {
		dynBits += int(f) * int(c.litLens[s])
		fixedBits += int(f) * int(fixedLitLens[s])
	}

	// The dynamic header: HLIT, HDIST, HCLEN, the code length code, and
	// the run-length coded code lengths.
	hlit := numLitLen
	for hlit > 257 && c.litLens[hlit-1] == 0 {
		hlit--
	}
	hdist := numDist
	for hdist > 1 && c.distLens[hdist-1] == 0 {
		hdist--
	}
	var rleBuf [numLitLen + numDist]uint16
	var clFreq [numCodeLen]uint32
	rle := runLengths(rleBuf[:0], c.litLens[:hlit], c.distLens[:hdist], &clFreq)
	var clLens [numCodeLen]uint8
	huffLengths(clFreq[:], maxCodeLenBits, clLens[:])
	hclen := numCodeLen
	for hclen > 4 && clLens[codeLenOrder[hclen-1]] == 0 {
		hclen--
	}
	dynBits += 3 + 5 + 5 + 4 + 3*hclen + 2*int(clFreq[16]) + 3*int(clFreq[17]) + 7*int(clFreq[18])
	for s, f := range clFreq {
		dynBits += int(f) * int(clLens[s])
	}

	if rawOK && storedBits(len(raw), c.bw.n) <= min(dynBits, fixedBits) {
		c.writeStored(raw)
		return
	}
	if fixedBits <= dynBits {
		c.bw.writeBits(1<<1, 3) // BFINAL 0, BTYPE 01
		c.writeTokens(&fixedLitCodes, &fixedDistCode)
		return
	}
	c.bw.writeBits(2<<1, 3) // BFINAL 0, BTYPE 10
	c.bw.writeBits(uint32(hlit-257), 5)
	c.bw.writeBits(uint32(hdist-1), 5)
	c.bw.writeBits(uint32(hclen-4), 4)
	for _, s := range codeLenOrder[:hclen] {
		c.bw.writeBits(uint32(clLens[s]), 3)
	}
	var clCodes [numCodeLen]uint32
	canonicalCodes(clLens[:], clCodes[:])
	for _, r := range rle {
		s := r & 31
		c.bw.writeCode(clCodes[s])
		switch s {
		case 16:
			c.bw.writeBits(uint32(r>>5), 2)
		case 17:
			c.bw.writeBits(uint32(r>>5), 3)
		case 18:
			c.bw.writeBits(uint32(r>>5), 7)
		}
	}
	canonicalCodes(c.litLens[:], c.litCodes[:])
	canonicalCodes(c.distLens[:], c.distCodes[:])
	c.writeTokens(&c.litCodes, &c.distCodes)
}

// runLengths appends to rle the code length symbols (RFC 1951 §3.2.7) for
// the code lengths lit followed by dist, one sequence, as symbol |
// extra<<5, and counts the symbols in freq. Symbol 16 repeats the previous
// length 3..6 times, 17 a zero 3..10 times, 18 a zero 11..138 times.
func runLengths(rle []uint16, lit, dist []uint8, freq *[numCodeLen]uint32) []uint16 {
	n := len(lit) + len(dist)
	at := func(i int) uint8 {
		if i < len(lit) {
			return lit[i]
		}
		return dist[i-len(lit)]
	}
	emit := func(s, extra int) {
		rle = append(rle, uint16(s|extra<<5))
		freq[s]++
	}
	for i := 0; i < n; {
		v := at(i)
		run := 1
		for i+run < n && at(i+run) == v {
			run++
		}
		i += run
		if v == 0 {
			for run >= 11 {
				r := min(run, 138)
				emit(18, r-11)
				run -= r
			}
			if run >= 3 {
				emit(17, run-3)
				run = 0
			}
		} else {
			emit(int(v), 0)
			run--
			for run >= 3 {
				r := min(run, 6)
				emit(16, r-3)
				run -= r
			}
		}
		for ; run > 0; run-- {
			emit(int(v), 0)
		}
	}
	return rle
}

// writeTokens writes the block's tokens with the given codes, then the
// end-of-block symbol.
func (c *Compressor) writeTokens(lit *[numLitLen]uint32, dist *[numDist]uint32) {
	acc, n, out := c.bw.acc, c.bw.n, c.bw.out
	for _, t := range c.tokens {
		if t < 1<<31 {
			v := lit[t]
			acc |= uint64(v&0xffff) << n
			n += uint(v >> 16)
		} else {
			l := (t >> 16) & 0xff
			ls := lengthSym[l]
			v := lit[endOfBlock+1+int(ls)]
			acc |= uint64(v&0xffff) << n
			n += uint(v >> 16)
			acc |= uint64(l+minMatch-uint32(lengthBase[ls])) << n
			n += uint(lengthExtra[ls])
			if n >= 32 {
				out = binary.LittleEndian.AppendUint32(out, uint32(acc))
				acc >>= 32
				n -= 32
			}
			d := t & 0xffff
			ds := distSym(d)
			v = dist[ds]
			acc |= uint64(v&0xffff) << n
			n += uint(v >> 16)
			acc |= uint64(d+1-uint32(distBase[ds])) << n
			n += uint(distExtra[ds])
		}
		if n >= 32 {
			out = binary.LittleEndian.AppendUint32(out, uint32(acc))
			acc >>= 32
			n -= 32
		}
	}
	c.bw.acc, c.bw.n, c.bw.out = acc, n, out
	c.bw.writeCode(lit[endOfBlock])
}
