package deflate

import "sync"

// Without context takeover a direction keeps no state between messages, so
// its Compressor or Decompressor can be borrowed for one message and
// shared by every connection with the same parameters.
var (
	compressorPools   [MaxWindowBits - MinWindowBits + 1][10]sync.Pool
	decompressorPools [MaxWindowBits - MinWindowBits + 1]sync.Pool
)

// GetCompressor returns a Compressor from a pool shared by all callers
// asking for the same window and level (normalized as by NewCompressor),
// for use without context takeover: call Compress with takeover false and
// give the Compressor back with PutCompressor.
func GetCompressor(windowBits, level int) *Compressor {
	b, l := normBits(windowBits), normLevel(level)
	if c, ok := compressorPools[b-MinWindowBits][l].Get().(*Compressor); ok {
		return c
	}
	return NewCompressor(b, l)
}

// PutCompressor resets c and returns it to its pool.
func PutCompressor(c *Compressor) {
	c.Reset()
	compressorPools[c.wbits-MinWindowBits][c.level].Put(c)
}

// GetDecompressor returns a Decompressor from a pool shared by all callers
// asking for the same window, for use without context takeover: call
// Decompress with takeover false and give it back with PutDecompressor.
func GetDecompressor(windowBits int) *Decompressor {
	b := normBits(windowBits)
	if d, ok := decompressorPools[b-MinWindowBits].Get().(*Decompressor); ok {
		return d
	}
	return NewDecompressor(b)
}

// PutDecompressor resets d and returns it to its pool.
func PutDecompressor(d *Decompressor) {
	d.Reset()
	decompressorPools[d.wbits-MinWindowBits].Put(d)
}

func normBits(b int) int {
	if b == 0 {
		return MaxWindowBits
	}
	return min(max(b, MinWindowBits), MaxWindowBits)
}

func normLevel(l int) int {
	switch {
	case l > BestCompression:
		return BestCompression
	case l < 0:
		return defaultLevel
	}
	return l
}
