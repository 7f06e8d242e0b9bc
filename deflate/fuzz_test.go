package deflate

import (
	"errors"
	"testing"
)

// FuzzDecompress feeds arbitrary payloads to a Decompressor, twice so that
// the second call may use the first one's history: it must never panic,
// never return more than the limit, and fail only with ErrCorrupt or
// ErrTooLarge, returning dst unchanged.
func FuzzDecompress(f *testing.F) {
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, uint16(100), uint8(15))
	f.Add([]byte{0xf2, 0x00, 0x11, 0x00, 0x00}, uint16(100), uint8(8))
	f.Add([]byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, uint16(3), uint8(0))
	f.Add(NewCompressor(10, 6).Compress(nil, testJSON(2000, 30), false), uint16(1500), uint8(10))
	f.Add(NewCompressor(15, 9).Compress(nil, make([]byte, 100000), false), uint16(65535), uint8(7))
	f.Fuzz(func(t *testing.T, payload []byte, limit uint16, flags uint8) {
		d := NewDecompressor(8 + int(flags%8))
		takeover := flags&8 != 0
		for range 2 {
			out, err := d.Decompress([]byte("dst"), payload, int64(limit), takeover)
			if len(out) > int(limit)+3 {
				t.Fatalf("%d bytes out, limit %d", len(out)-3, limit)
			}
			if err != nil && (string(out) != "dst" || !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge)) {
				t.Fatalf("error %v with %d bytes out", err, len(out))
			}
		}
	})
}

// FuzzRoundTrip compresses the messages a, b, a with a window, level and
// takeover taken from params, and checks that the test inflater,
// compress/flate and Decompressor all give them back, with no distance
// beyond the window and, without takeover, none into an earlier message.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("Hello"), []byte("Hello, world"), uint8(0x80|6<<3|7))
	f.Add(testJSON(400, 31), testText(600, 32), uint8(1<<3|0))
	f.Add(testRandom(300, 33), testRepeat(1200), uint8(0x80|9<<3|1))
	f.Add([]byte{}, []byte{0}, uint8(0))
	f.Fuzz(func(t *testing.T, a, b []byte, params uint8) {
		wb := MinWindowBits + int(params%8)
		level := int(params>>3&15) % 10
		takeover := params&0x80 != 0
		roundTrip(t, wb, level, takeover, [][]byte{a, b, a})
	})
}
