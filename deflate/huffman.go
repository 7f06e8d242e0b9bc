package deflate

import (
	"math/bits"
	"slices"
)

// Alphabet sizes of RFC 1951 §3.2.5 and §3.2.7.
const (
	numLitLen  = 286 // literal/length symbols 0..285 (286 and 287 never occur)
	numDist    = 30  // distance symbols 0..29
	numCodeLen = 19  // code length symbols 0..18
	endOfBlock = 256

	maxCodeBits    = 15 // RFC 1951 §3.2.7: literal/length and distance codes
	maxCodeLenBits = 7  // RFC 1951 §3.2.7: the code length code (3-bit lengths)
	maxLeaves      = numLitLen
)

// huffLengths sets lengths[s] to the code length of symbol s for an
// optimal prefix code over freq with no code longer than maxBits, and to 0
// for symbols of frequency 0. At least two symbols always get a code, of
// length 1 each when only one is used: RFC 1951 §3.2.7 allows a single
// distance code of one bit, but a complete code is what every inflater
// accepts (Go's, for one, rejects some incomplete codes).
func huffLengths(freq []uint32, maxBits int, lengths []uint8) {
	// Leaves sorted by frequency, then symbol: key = freq<<9 | symbol.
	var keyBuf [maxLeaves]uint32
	keys := keyBuf[:0]
	for s, f := range freq {
		lengths[s] = 0
		if f != 0 {
			keys = append(keys, f<<9|uint32(s))
		}
	}
	switch len(keys) {
	case 0:
		lengths[0], lengths[1] = 1, 1
		return
	case 1:
		s := int(keys[0] & 511)
		lengths[s] = 1
		if s == 0 {
			lengths[1] = 1
		} else {
			lengths[0] = 1
		}
		return
	}
	slices.Sort(keys)
	n := len(keys)
	var weightBuf [maxLeaves]uint32
	w := weightBuf[:n]
	for i, k := range keys {
		w[i] = k >> 9
	}
	var depthBuf [maxLeaves]uint8
	depth := depthBuf[:n]
	if !huffmanDepths(w, depth, maxBits) {
		packageMerge(w, depth, maxBits)
	}
	for i, k := range keys {
		lengths[k&511] = depth[i]
	}
}

// huffmanDepths computes the leaf depths of a Huffman tree for the sorted
// weights w (the two-queue construction: leaves and internal nodes are each
// produced in non-decreasing order, so merging the two fronts is enough).
// It reports false when some depth exceeds maxBits.
func huffmanDepths(w []uint32, depth []uint8, maxBits int) bool {
	n := len(w)
	// Nodes 0..n-1 are the leaves, n..2n-2 the internal nodes in order of
	// creation; parent[i] > i for every node but the root.
	var weightBuf [2 * maxLeaves]uint32
	var parentBuf [2 * maxLeaves]int16
	var dBuf [2 * maxLeaves]uint8
	weight := weightBuf[:2*n-1]
	parent := parentBuf[:2*n-1]
	copy(weight, w)
	leaf, inner := 0, n
	pick := func(k int) int {
		if leaf < n && (inner >= k || weight[leaf] <= weight[inner]) {
			leaf++
			return leaf - 1
		}
		inner++
		return inner - 1
	}
	for k := n; k < 2*n-1; k++ {
		a := pick(k)
		b := pick(k)
		weight[k] = weight[a] + weight[b]
		parent[a], parent[b] = int16(k), int16(k)
	}
	d := dBuf[:2*n-1]
	d[2*n-2] = 0
	for k := 2*n - 3; k >= 0; k-- {
		d[k] = d[parent[k]] + 1
		if k < n && int(d[k]) > maxBits {
			return false
		}
	}
	copy(depth, d[:n])
	return true
}

// packageMerge computes optimal code lengths limited to maxBits for the
// sorted weights w with the package-merge algorithm (Larmore and
// Hirschberg, 1990). Level maxBits holds the leaves; each level above
// merges the leaves with the pairs ("packages") of the level below. The
// first 2n-2 items of the top level are selected; the packages among them
// select the first items of the level below, and so on; a leaf's code length
// is the number of levels in which it is selected. Because leaves enter
// every level in the same sorted order, the selected leaves of a level are
// always its first ones, so one bit per item (leaf or package) is all the
// bookkeeping needed.
func packageMerge(w []uint32, depth []uint8, maxBits int) {
	n := len(w)
	m := 2*n - 2 // no level needs more items than the top selects
	var bufA, bufB [2*maxLeaves - 2]uint32
	var isLeaf [maxCodeBits + 1][(2*maxLeaves + 63) / 64]uint64
	cur := bufA[:0]
	cur = append(cur, w[:min(n, m)]...)
	next := bufB[:0]
	for lvl := maxBits - 1; lvl >= 1; lvl-- {
		next = next[:0]
		np := len(cur) / 2
		i, j := 0, 0
		for len(next) < m && (i < n || j < np) {
			if i < n && (j >= np || w[i] <= cur[2*j]+cur[2*j+1]) {
				isLeaf[lvl][len(next)/64] |= 1 << (len(next) % 64)
				next = append(next, w[i])
				i++
			} else {
				next = append(next, cur[2*j]+cur[2*j+1])
				j++
			}
		}
		cur, next = next, cur
	}
	clear(depth)
	sel := m
	for lvl := 1; lvl <= maxBits && sel > 0; lvl++ {
		leaves := sel
		if lvl < maxBits {
			leaves = 0
			for k := 0; k < sel/64; k++ {
				leaves += bits.OnesCount64(isLeaf[lvl][k])
			}
			if r := sel % 64; r != 0 {
				leaves += bits.OnesCount64(isLeaf[lvl][sel/64] & (1<<r - 1))
			}
		}
		for i := range leaves {
			depth[i]++
		}
		sel = 2 * (sel - leaves)
	}
}

// canonicalCodes assigns the canonical codes of RFC 1951 §3.2.2 for
// lengths, bit-reversed because DEFLATE sends Huffman codes starting with
// their most significant bit into a stream filled from the least
// significant bit (§3.1.1). codes[s] = reversed code | length<<16.
func canonicalCodes(lengths []uint8, codes []uint32) {
	var count [maxCodeBits + 1]uint16
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	var next [maxCodeBits + 1]uint16
	code := uint16(0)
	for b := 1; b <= maxCodeBits; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for s, l := range lengths {
		if l == 0 {
			codes[s] = 0
			continue
		}
		c := next[l]
		next[l]++
		codes[s] = uint32(bits.Reverse16(c)>>(16-l)) | uint32(l)<<16
	}
}

// Length and distance symbols (RFC 1951 §3.2.5).
var (
	lengthSym   [256]uint8 // match length - 3 → length symbol - 257
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

	// The fixed Huffman code of RFC 1951 §3.2.6.
	fixedLitLens  [numLitLen]uint8
	fixedLitCodes [numLitLen]uint32
	fixedDistLens [numDist]uint8
	fixedDistCode [numDist]uint32
)

func init() {
	for c := 0; c < 29; c++ {
		hi := int(lengthBase[c]) + 1<<lengthExtra[c]
		if c == 28 || hi > 259 {
			hi = int(lengthBase[c]) + 1
		}
		for l := int(lengthBase[c]); l < hi && l <= 258; l++ {
			lengthSym[l-3] = uint8(c)
		}
	}
	lengthSym[255] = 28 // 258 has its own symbol, 285
	// The fixed code is defined over 288 symbols; 286 and 287 never occur
	// but take part in its construction (their codes precede the 9-bit
	// ones).
	var lens [288]uint8
	var codes [288]uint32
	for s := range lens {
		switch {
		case s < 144:
			lens[s] = 8
		case s < 256:
			lens[s] = 9
		case s < 280:
			lens[s] = 7
		default:
			lens[s] = 8
		}
	}
	canonicalCodes(lens[:], codes[:])
	copy(fixedLitLens[:], lens[:])
	copy(fixedLitCodes[:], codes[:])
	for s := range fixedDistLens {
		fixedDistLens[s] = 5
	}
	canonicalCodes(fixedDistLens[:], fixedDistCode[:])
}

// distSym returns the distance symbol of a distance d-1 (0..32767).
func distSym(d uint32) uint32 {
	if d < 4 {
		return d
	}
	nb := uint32(bits.Len32(d)) - 1 // d >= 4, so nb >= 2
	return 2*nb + (d>>(nb-1))&1
}
