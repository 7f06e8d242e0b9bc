package deflate

import (
	"encoding/binary"
	"math/bits"
)

// Compression levels for NewCompressor, with compress/flate's numbering.
const (
	NoCompression      = 0  // stored blocks only (RFC 1951 §3.2.4)
	BestSpeed          = 1  // greedy matching, short hash chains
	BestCompression    = 9  // lazy matching, long hash chains
	DefaultCompression = -1 // level 6
	defaultLevel       = 6
)

const (
	minMatch = 3   // RFC 1951 §3.2.5: lengths 3..258
	maxMatch = 258 //
	tooFar   = 4096
)

// levelParams tune the match finder, in the manner of zlib's table:
// chain is how many candidates a search looks at; a search stops at a match
// of nice bytes; good cuts the chain to a quarter when the previous match is
// already that long; lazy is, for lazy levels, the match length above which
// the next position is not tried, and for greedy levels the match length
// above which the positions a match covers are not entered in the hash
// chains.
type levelParams struct {
	lazyMatching            bool
	good, lazy, nice, chain int
}

var levels = [10]levelParams{
	1: {false, 0, 4, 16, 2},
	2: {false, 0, 6, 16, 4},
	3: {false, 0, 16, 48, 16},
	4: {true, 4, 8, 32, 16},
	5: {true, 8, 16, 64, 32},
	6: {true, 8, 32, 128, 128},
	7: {true, 16, 64, 192, 256},
	8: {true, 32, 128, maxMatch, 1024},
	9: {true, 32, maxMatch, maxMatch, 4096},
}

// Compressor compresses the messages of one direction of a connection with
// DEFLATE (RFC 1951), as RFC 7692 §7.2.1 prescribes, never referring back
// farther than its window of 2^windowBits bytes.
//
// Its state is the LZ77 window buffer, the hash chains and the block being
// built, all allocated by NewCompressor and sized by the window; Compress
// allocates nothing beyond growing dst. The heap it holds, measured by
// TestMemoryPerCompressor, is
//
//	windowBits   8     9     10    11    12    13    14     15
//	KiB          10    11    19    31    43    67    99     163
//
// against about 790 KiB for a compress/flate Writer at levels 2..9 and
// 1.2 MB at level 1: a 2^(windowBits+1)-byte window buffer, a chain array
// of 2^windowBits uint16, a hash table of up to 2^13 uint16, a block of up
// to 4096 tokens of 4 bytes, and 3 KiB of Huffman tables. Level
// NoCompression holds only the 3 KiB.
//
// A Compressor is not safe for concurrent use.
type Compressor struct {
	level     int
	wbits     int
	cfg       levelParams
	maxDist   int    // 2^wbits: the farthest a match may refer back
	wmask     int    // 2^wbits - 1, indexes prev
	hashShift uint32 // 32 - hash bits
	bufMain   int    // positions below bufMain may start a match
	slideBy   int    // how far slide moves the data down: a multiple of 2^wbits

	// win[0:wlen] holds the history followed by the data still to
	// encode, from pos on. Positions are indexes into win; 0 doubles as
	// "no position" in head and prev, so position 0 is never matched.
	win   []byte
	head  []uint16 // hash of 3 bytes → latest position with that hash
	prev  []uint16 // position&wmask → previous position with the same hash
	wlen  int
	pos   int  // next position to encode
	ins   int  // next position to enter in the hash chains
	floor int  // matches may refer back to positions ≥ floor only
	keep  bool // the history before pos may be used by the next message

	// Lazy matching: a match found at pos-1 waits until the search at
	// pos tells whether a literal and a longer match are better.
	pending  bool
	prevLen  int
	prevDist int

	// The block being built: tokens are literals (byte value) or matches
	// (1<<31 | (length-3)<<16 | distance-1), covering the blockLen bytes
	// from win[blockStart] (blockStart < 0 once that data has slid out).
	tokens     []uint32
	blockStart int
	blockLen   int
	litFreq    [numLitLen]uint32
	distFreq   [numDist]uint32
	litLens    [numLitLen]uint8
	distLens   [numDist]uint8
	litCodes   [numLitLen]uint32
	distCodes  [numDist]uint32

	bw bitWriter
}

// NewCompressor returns a Compressor whose matches reach back at most
// 2^windowBits bytes, at the given level: NoCompression (stored blocks),
// BestSpeed (1) to BestCompression (9), or DefaultCompression.
// windowBits 0 means 15; other values are clamped to 8..15, and levels to
// -1..9. Distances never exceed 2^windowBits, so even an inflater with an
// exact 256-byte window reads the output of an 8-bit Compressor (zlib's
// deflate, by contrast, runs a raw 8-bit window as a 9-bit one, which is
// why Decompressor keeps at least 512 bytes of history).
func NewCompressor(windowBits, level int) *Compressor {
	windowBits, level = normBits(windowBits), normLevel(level)
	c := &Compressor{level: level, wbits: windowBits, cfg: levels[level]}
	if level == NoCompression {
		return c
	}
	w := 1 << windowBits
	c.maxDist = w
	c.wmask = w - 1
	hashBits := min(windowBits, 13)
	c.hashShift = uint32(32 - hashBits)
	// The window buffer is 2^(wbits+1) bytes (at least 2 KiB, 4 KiB for a
	// 10-bit window), a size the allocator serves without waste. Positions
	// below bufMain start matches; the rest is look-ahead for the last of
	// them (maxMatch) and lets the hash load 4 bytes at once. Sliding by a
	// multiple of 2^wbits keeps prev's indexing; right after a slide the
	// history may be up to maxMatch+8 bytes short of the window, as in zlib.
	bufLen := max(2*w, 2048)
	if windowBits == 10 {
		bufLen = 4096
	}
	c.bufMain = bufLen - maxMatch - 8
	c.slideBy = max(w, (c.bufMain-w)/w*w)
	c.win = make([]byte, bufLen)
	c.head = make([]uint16, 1<<hashBits)
	c.prev = make([]uint16, w)
	c.tokens = make([]uint32, 0, maxTokens(windowBits))
	return c
}

// maxTokens bounds a block: larger blocks spread the cost of a dynamic
// Huffman header (RFC 1951 §3.2.7) over more data, at 4 bytes per token.
func maxTokens(windowBits int) int {
	switch {
	case windowBits <= 9:
		return 1024
	case windowBits == 10:
		return 2048
	}
	return 4096
}

// WindowBits returns the base-2 logarithm of c's window.
func (c *Compressor) WindowBits() int { return c.wbits }

// Level returns c's compression level, 0..9.
func (c *Compressor) Level() int { return c.level }

// Reset makes c forget its history, as if newly made: the next message
// refers to nothing sent before.
func (c *Compressor) Reset() {
	c.keep = false
}

// History appends to dst what the next message may refer back to with
// context takeover: the last 2^windowBits bytes (at most) of the messages
// compressed since the history was last forgotten. With History and
// SetHistory a connection that goes quiet can give its Compressor back to a
// pool and keep only this much.
func (c *Compressor) History(dst []byte) []byte {
	if !c.keep || c.level == NoCompression {
		return dst
	}
	return append(dst, c.win[max(c.floor, c.pos-c.maxDist):c.pos]...)
}

// SetHistory makes hist (its last 2^windowBits bytes) the history the next
// message may refer back to, as if c had just compressed it with context
// takeover; what c remembered before is forgotten. The next Compress enters
// the history in the hash chains first, a cost in proportion to its length.
func (c *Compressor) SetHistory(hist []byte) {
	if c.level == NoCompression {
		return
	}
	hist = hist[max(0, len(hist)-c.maxDist):]
	// Positions in head from earlier use would point past the new data.
	clear(c.head)
	n := copy(c.win, hist)
	c.wlen, c.pos, c.ins, c.floor = n, n, 0, 0
	c.pending, c.prevLen = false, 0
	c.keep = n > 0
}

// Compress appends to dst the payload of a compressed message holding msg,
// and returns the extended slice: DEFLATE blocks (RFC 1951) without BFINAL,
// ended by an empty stored block whose 00 00 ff ff is removed (RFC 7692
// §7.2.1). An empty msg gives the single byte 00 (§7.2.3.6).
//
// The message may refer to the history of earlier messages only if the
// previous call had takeover set (context takeover, RFC 7692 §7.1.1); with
// takeover false, the history is forgotten after this message, as the
// peer's decompressor will forget it (server_no_context_takeover or
// client_no_context_takeover in force).
func (c *Compressor) Compress(dst, msg []byte, takeover bool) []byte {
	c.bw.out = dst
	if c.level == NoCompression {
		c.writeStored(msg)
	} else {
		c.compress(msg)
	}
	// RFC 7692 §7.2.1: an empty stored block (BFINAL 0, BTYPE 00, then
	// padding to a byte boundary and LEN 0000, NLEN ffff) ends the
	// message; its last four bytes are left out.
	c.bw.writeBits(0, 3)
	c.bw.align()
	c.keep = takeover
	out := c.bw.out
	c.bw.out = nil
	return out
}

func (c *Compressor) compress(msg []byte) {
	if !c.keep {
		c.floor = c.wlen
	}
	c.blockStart, c.blockLen = c.pos, 0
	for {
		n := copy(c.win[c.wlen:c.bufMain+maxMatch], msg)
		c.wlen += n
		msg = msg[n:]
		end := c.wlen
		if len(msg) > 0 {
			end -= maxMatch // keep a full match of look-ahead
		}
		end = min(end, c.bufMain)
		if c.cfg.lazyMatching {
			c.matchLazy(end)
		} else {
			c.matchGreedy(end)
		}
		if c.pos < c.bufMain {
			break // all of msg is encoded
		}
		c.slide()
	}
	if c.pending {
		c.literal(c.win[c.pos-1])
		c.pending = false
	}
	c.prevLen = 0
	c.flushBlock()
}

// slide moves the data down by slideBy, keeping the history before pos
// (nearly 2^wbits bytes) and the data after it.
func (c *Compressor) slide() {
	s := c.slideBy
	copy(c.win, c.win[s:c.wlen])
	c.wlen -= s
	c.pos -= s
	c.ins = max(c.ins-s, 0)
	c.floor = max(c.floor-s, 0)
	c.blockStart -= s
	slideTable(c.head, uint16(s))
	slideTable(c.prev, uint16(s))
}

func slideTable(t []uint16, s uint16) {
	for i, v := range t {
		t[i] = max(v, s) - s // positions that slide out become 0: none
	}
}

func (c *Compressor) hash(q int) uint32 {
	return (binary.LittleEndian.Uint32(c.win[q:]) & 0xffffff) * 0x1e35a7bd >> c.hashShift
}

// insertUpTo enters the positions from c.ins up to p (exclusive) in the
// hash chains, as far as 3 bytes are available and positions fit below
// bufMain.
func (c *Compressor) insertUpTo(p int) {
	q := c.ins
	lim := min(p, c.bufMain, c.wlen-minMatch+1)
	for ; q < lim; q++ {
		h := c.hash(q)
		c.prev[q&c.wmask] = c.head[h]
		c.head[h] = uint16(q)
	}
	c.ins = max(c.ins, q)
}

// longest returns the longest match for pos, if longer than best, among the
// positions on the hash chain of h that lie within the window and at or
// after c.floor; it returns length 0 when there is none. pos must not be in
// the hash chains yet: the chain is walked down to pos-2^wbits, whose prev
// slot inserting pos would overwrite.
func (c *Compressor) longest(pos int, h uint32, best int) (length, dist int) {
	maxLen := min(maxMatch, c.wlen-pos)
	if best >= maxLen {
		return 0, 0
	}
	limit := max(pos-c.maxDist, c.floor, 1)
	chain := c.cfg.chain
	if best >= c.cfg.good && c.cfg.lazyMatching {
		chain >>= 2
	}
	nice := min(c.cfg.nice, maxLen)
	win := c.win
	cur := win[pos : pos+maxLen]
	prev, wmask := c.prev, c.wmask
	for cand := int(c.head[h]); cand >= limit && chain > 0; chain-- {
		if win[cand+best] == cur[best] {
			if l := matchLen(win[cand:cand+maxLen], cur); l > best {
				best, dist = l, pos-cand
				if l >= nice {
					break
				}
			}
		}
		cand = int(prev[cand&wmask])
	}
	if dist == 0 || best == minMatch && dist > tooFar {
		return 0, 0
	}
	return best, dist
}

// matchLen returns the length of the common prefix of a and b, which have
// the same length.
func matchLen(a, b []byte) int {
	n := 0
	for len(b)-n >= 8 {
		if x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:]); x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// matchGreedy encodes the positions from c.pos up to end, taking the
// longest match found at each (levels 1..3).
func (c *Compressor) matchGreedy(end int) {
	pos := c.pos
	for pos < end {
		if c.ins < pos {
			c.insertUpTo(pos)
		}
		if pos+minMatch > c.wlen {
			c.literal(c.win[pos])
			pos++
			continue
		}
		h := c.hash(pos)
		length, dist := c.longest(pos, h, minMatch-1)
		c.prev[pos&c.wmask] = c.head[h]
		c.head[h] = uint16(pos)
		c.ins = pos + 1
		if length == 0 {
			c.literal(c.win[pos])
			pos++
			continue
		}
		c.match(length, dist)
		if length <= c.cfg.lazy {
			c.insertUpTo(pos + length)
		} else {
			c.ins = pos + length
		}
		pos += length
	}
	c.pos = pos
}

// matchLazy encodes the positions from c.pos up to end, emitting a match
// only when the next position does not start a longer one (levels 4..9).
func (c *Compressor) matchLazy(end int) {
	pos := c.pos
	for pos < end {
		if c.ins < pos {
			c.insertUpTo(pos)
		}
		curLen, curDist := 0, 0
		if pos+minMatch <= c.wlen {
			h := c.hash(pos)
			if c.prevLen < c.cfg.lazy {
				curLen, curDist = c.longest(pos, h, max(c.prevLen, minMatch-1))
			}
			c.prev[pos&c.wmask] = c.head[h]
			c.head[h] = uint16(pos)
			c.ins = pos + 1
		}
		switch {
		case c.prevLen >= minMatch && curLen <= c.prevLen:
			// The match at pos-1 wins.
			c.match(c.prevLen, c.prevDist)
			next := pos - 1 + c.prevLen
			c.insertUpTo(next)
			pos = next
			c.prevLen, c.pending = 0, false
		case c.pending:
			c.literal(c.win[pos-1])
			c.prevLen, c.prevDist = curLen, curDist
			pos++
		default:
			c.pending = true
			c.prevLen, c.prevDist = curLen, curDist
			pos++
		}
	}
	c.pos = pos
}

func (c *Compressor) literal(b byte) {
	c.tokens = append(c.tokens, uint32(b))
	c.litFreq[b]++
	c.blockLen++
	if len(c.tokens) == cap(c.tokens) {
		c.flushBlock()
	}
}

func (c *Compressor) match(length, dist int) {
	l, d := uint32(length-minMatch), uint32(dist-1)
	c.tokens = append(c.tokens, 1<<31|l<<16|d)
	c.litFreq[endOfBlock+1+int(lengthSym[l])]++
	c.distFreq[distSym(d)]++
	c.blockLen += length
	if len(c.tokens) == cap(c.tokens) {
		c.flushBlock()
	}
}

// flushBlock writes the tokens gathered so far as one block.
func (c *Compressor) flushBlock() {
	if len(c.tokens) == 0 {
		return
	}
	var raw []byte
	if c.blockStart >= 0 {
		raw = c.win[c.blockStart : c.blockStart+c.blockLen]
	}
	c.writeBlock(raw, c.blockStart >= 0)
	c.tokens = c.tokens[:0]
	clear(c.litFreq[:])
	clear(c.distFreq[:])
	c.blockStart += c.blockLen
	c.blockLen = 0
}
