package deflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// Test inputs, deterministic.

var words = strings.Fields(`the of and to in is was that for on with as by at from his her
they have had not are but this which be or an were their one all would there been has when
who more will if no out so said what up its about into than them can only other new some could
time these two may then do first any my now such like our over man me even most made after also
did many before must through back years where much your way well down should because each just
those people how too little state good very make world still own see men work long get here
between both life being under never day same another know while last might us great old year
off come since against go came right used take three websocket message server client frame`)

func testText(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		switch r.IntN(12) {
		case 0:
			b.WriteString(". ")
		case 1:
			b.WriteString(", ")
		case 2:
			b.WriteByte('\n')
		default:
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

func testJSON(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"user":"%s_%d","event":"%s","price":%d.%02d,"tags":["%s","%s"],"ok":%t}`,
			1000+r.IntN(100000), words[r.IntN(len(words))], r.IntN(1000), words[r.IntN(len(words))],
			r.IntN(5000), r.IntN(100), words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(2) == 0)
	}
	return b.Bytes()[:n]
}

func testRandom(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 3))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func testRepeat(n int) []byte {
	return bytes.Repeat([]byte("abcabcabd"), n/9+1)[:n]
}

// testMessages is a sequence that exercises empty and tiny messages,
// every kind of input, slides of every window buffer (70 KiB > 2^16), and
// a repeated message that context takeover should shrink.
func testMessages() [][]byte {
	j := testJSON(10000, 1)
	return [][]byte{
		{}, {'x'}, []byte("Hello"), testText(3000, 2), j, testRandom(5000, 3),
		testRepeat(20000), make([]byte, 1000), testText(70000, 4), j, {},
		testJSON(300, 5), testJSON(300, 5),
	}
}

var testLevels = []int{0, 1, 2, 3, 4, 6, 9}

// inflateFlate decodes one payload with compress/flate, the receiving
// side of RFC 7692 §7.2.2, given the history as a dictionary.
func inflateFlate(dict, payload []byte) ([]byte, error) {
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(payload), bytes.NewReader(tail[:])), dict)
	return io.ReadAll(r)
}

// roundTrip compresses msgs in sequence and decodes every payload three
// ways: the test inflater, which also measures distances, compress/flate,
// and Decompressor. Without takeover every message is decoded with no
// history, so a reference to an earlier message fails.
func roundTrip(t *testing.T, wb, level int, takeover bool, msgs [][]byte) (sizes []int) {
	t.Helper()
	c := NewCompressor(wb, level)
	d := NewDecompressor(wb)
	var hist []byte // what the peer's inflater remembers
	var out, got []byte
	for i, m := range msgs {
		out = c.Compress(out[:0], m, takeover)
		sizes = append(sizes, len(out))
		if len(out) == 0 {
			t.Fatalf("message %d: empty payload", i)
		}
		dec, maxDist, err := testInflate(hist, out)
		if err != nil {
			t.Fatalf("message %d (%d bytes): test inflater: %v", i, len(m), err)
		}
		if !bytes.Equal(dec, m) {
			t.Fatalf("message %d (%d bytes): test inflater output differs", i, len(m))
		}
		if maxDist > 1<<wb {
			t.Fatalf("message %d: distance %d beyond the window of %d bytes", i, maxDist, 1<<wb)
		}
		fdec, err := inflateFlate(hist, out)
		if err != nil || !bytes.Equal(fdec, m) {
			t.Fatalf("message %d (%d bytes): compress/flate: err %v, equal %v", i, len(m), err, bytes.Equal(fdec, m))
		}
		got, err = d.Decompress(got[:0], out, -1, takeover)
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("message %d (%d bytes): Decompressor: err %v, equal %v", i, len(m), err, bytes.Equal(got, m))
		}
		if takeover {
			hist = append(hist, m...)
			if len(hist) > 1<<16 {
				hist = append([]byte{}, hist[len(hist)-1<<16:]...)
			}
		}
	}
	return sizes
}

func TestRoundTripEveryWindowLevelAndTakeover(t *testing.T) {
	msgs := testMessages()
	for wb := MinWindowBits; wb <= MaxWindowBits; wb++ {
		for _, level := range testLevels {
			for _, takeover := range []bool{false, true} {
				t.Run(fmt.Sprintf("w%d/l%d/takeover=%v", wb, level, takeover), func(t *testing.T) {
					t.Parallel()
					roundTrip(t, wb, level, takeover, msgs)
				})
			}
		}
	}
}

func TestRoundTrip1MiB(t *testing.T) {
	inputs := map[string][]byte{
		"text":   testText(1<<20, 7),
		"json":   testJSON(1<<20, 8),
		"random": testRandom(1<<20, 9),
		"zeros":  make([]byte, 1<<20),
	}
	for wb := MinWindowBits; wb <= MaxWindowBits; wb++ {
		for name, in := range inputs {
			level := []int{1, 4, 6, 9}[wb%4]
			t.Run(fmt.Sprintf("w%d/l%d/%s", wb, level, name), func(t *testing.T) {
				t.Parallel()
				roundTrip(t, wb, level, true, [][]byte{in, in[:1000]})
			})
		}
	}
}

func TestContextTakeoverShrinksRepeatedMessage(t *testing.T) {
	m := testJSON(2000, 11)
	for wb := 12; wb <= MaxWindowBits; wb++ {
		with := roundTrip(t, wb, 6, true, [][]byte{m, m})
		without := roundTrip(t, wb, 6, false, [][]byte{m, m})
		if with[1] >= with[0]/4 {
			t.Errorf("w%d: repeated message is %d bytes with takeover, first %d", wb, with[1], with[0])
		}
		if without[1] < without[0]*9/10 {
			t.Errorf("w%d: repeated message is %d bytes without takeover, first %d", wb, without[1], without[0])
		}
	}
}

// Beyond the window a repeat cannot be found: the second copy of a block of
// 2^wb+1 random bytes is then incompressible, but within the window it
// costs a few bytes.
func TestWindowLimitsMatches(t *testing.T) {
	for wb := MinWindowBits; wb <= MaxWindowBits; wb++ {
		w := 1 << wb
		for _, gap := range []int{w, w + 1} {
			block := testRandom(gap, uint64(wb))
			msg := append(append([]byte{}, block...), block...)
			sizes := roundTrip(t, wb, 9, false, [][]byte{msg})
			near := sizes[0] < gap+gap/4
			if near != (gap <= w) {
				t.Errorf("w%d: repeat at distance %d gives %d bytes for %d", wb, gap, sizes[0], len(msg))
			}
		}
	}
}

// RFC 7692 §7.2.3 gives these payloads.
func TestRFC7692Examples(t *testing.T) {
	hello := []byte("Hello")
	cases := []struct {
		name     string
		payloads [][]byte
		takeover bool
	}{
		{"7.2.3.1 one compressed block", [][]byte{{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}}, false},
		{"7.2.3.2 sharing the window", [][]byte{{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, {0xf2, 0x00, 0x11, 0x00, 0x00}}, true},
		{"7.2.3.3 stored block", [][]byte{{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}}, false},
		{"7.2.3.4 BFINAL set", [][]byte{{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}}, false},
		{"7.2.3.5 two blocks", [][]byte{{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}}, false},
	}
	for _, tc := range cases {
		d := NewDecompressor(15)
		for i, p := range tc.payloads {
			got, err := d.Decompress(nil, p, 100, tc.takeover)
			if err != nil || !bytes.Equal(got, hello) {
				t.Errorf("%s, payload %d: got %q, %v", tc.name, i, got, err)
			}
		}
	}
	// §7.2.3.6: an empty message is the single byte 00.
	if got, err := NewDecompressor(15).Decompress(nil, []byte{0}, 0, false); err != nil || len(got) != 0 {
		t.Errorf("7.2.3.6 empty: got %q, %v", got, err)
	}
	for _, level := range testLevels {
		c := NewCompressor(15, level)
		if got := c.Compress(nil, nil, true); !bytes.Equal(got, []byte{0}) {
			t.Errorf("level %d: empty message compresses to % x, want 00 (§7.2.3.6)", level, got)
		}
	}
	// Our compressor chooses the same fixed-code block as the RFC, and the
	// same match for the repeated message.
	c := NewCompressor(15, 6)
	if got := c.Compress(nil, hello, true); !bytes.Equal(got, cases[1].payloads[0]) {
		t.Errorf("Hello compresses to % x, want % x", got, cases[1].payloads[0])
	}
	if got := c.Compress(nil, hello, true); !bytes.Equal(got, cases[1].payloads[1]) {
		t.Errorf("second Hello compresses to % x, want % x", got, cases[1].payloads[1])
	}
}

// A peer that compresses with compress/flate and context takeover: one
// flate stream, sync-flushed after every message (RFC 7692 §7.2.1).
func TestDecompressFlatePeerWithTakeover(t *testing.T) {
	var stream bytes.Buffer
	fw, _ := flate.NewWriter(&stream, 6)
	d := NewDecompressor(15)
	var got []byte
	for i, m := range testMessages() {
		stream.Reset()
		fw.Write(m)
		fw.Flush()
		p := stream.Bytes()
		if !bytes.HasSuffix(p, tail[:4]) {
			t.Fatalf("message %d: flate output does not end with 00 00 ff ff", i)
		}
		var err error
		got, err = d.Decompress(got[:0], p[:len(p)-4], -1, true)
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("message %d: err %v, equal %v", i, err, bytes.Equal(got, m))
		}
	}
}

// RFC 7692 §7.2.3.4 lets a message end with a BFINAL block; with context
// takeover the next message still refers to the window.
func TestDecompressBFINALThenTakeover(t *testing.T) {
	d := NewDecompressor(15)
	a := []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}
	if got, err := d.Decompress(nil, a, -1, true); err != nil || string(got) != "Hello" {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, err := d.Decompress(nil, []byte{0xf2, 0x00, 0x11, 0x00, 0x00}, -1, true); err != nil || string(got) != "Hello" {
		t.Fatalf("second: got %q, %v", got, err)
	}
}

// A zlib peer may use a 9-bit window where 8 bits were negotiated; the
// history kept is large enough for it.
func TestDecompressWindow8KeepsNineBits(t *testing.T) {
	m := testRandom(512, 12)
	var stream bytes.Buffer
	fw, _ := flate.NewWriter(&stream, 6)
	fw.Write(m)
	fw.Flush()
	first := append([]byte{}, stream.Bytes()...)
	stream.Reset()
	fw.Write(m) // refers back 512 bytes
	fw.Flush()
	second := stream.Bytes()
	d := NewDecompressor(8)
	if _, err := d.Decompress(nil, first[:len(first)-4], -1, true); err != nil {
		t.Fatal(err)
	}
	got, err := d.Decompress(nil, second[:len(second)-4], -1, true)
	if err != nil || !bytes.Equal(got, m) {
		t.Fatalf("err %v, equal %v", err, bytes.Equal(got, m))
	}
}

func TestDecompressLimit(t *testing.T) {
	m := testText(5000, 13)
	p := NewCompressor(15, 6).Compress(nil, m, false)
	d := NewDecompressor(15)
	for _, tc := range []struct {
		limit int64
		err   error
	}{{-1, nil}, {5000, nil}, {4999, ErrTooLarge}, {0, ErrTooLarge}, {1 << 30, nil}} {
		dst := []byte("prefix")
		got, err := d.Decompress(dst, p, tc.limit, false)
		if !errors.Is(err, tc.err) {
			t.Errorf("limit %d: err %v, want %v", tc.limit, err, tc.err)
		}
		want := "prefix"
		if tc.err == nil {
			want += string(m)
		}
		if string(got) != want {
			t.Errorf("limit %d: got %d bytes, want %d", tc.limit, len(got), len(want))
		}
	}
	if got, err := d.Decompress(nil, []byte{0}, 0, false); err != nil || len(got) != 0 {
		t.Errorf("empty message at limit 0: %q, %v", got, err)
	}
	var e *Error
	if _, err := d.Decompress(nil, p, 10, false); !errors.As(err, &e) || e.CloseCode() != 1009 {
		t.Errorf("too large: err %v, want close code 1009", err)
	}
}

// A compression bomb: 10 MB of zeros compresses to about 10 KB; with a
// limit of 1 MiB, inflating stops there and allocates about that much.
func TestDecompressBombStopsAtLimit(t *testing.T) {
	zeros := make([]byte, 10<<20)
	p := NewCompressor(15, 9).Compress(nil, zeros, false)
	zeros = nil
	d := NewDecompressor(15)
	d.Decompress(nil, []byte{0}, 0, false) // allocate the flate reader first
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := d.Decompress(nil, p, 1<<20, false)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) || len(got) != 0 {
		t.Fatalf("got %d bytes, err %v; want ErrTooLarge", len(got), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("inflating the bomb allocated %d bytes; want at most 4 MiB (doubling growth up to the 1 MiB limit)", alloc)
	}
	t.Logf("payload %d bytes; allocated %d bytes before stopping", len(p), after.TotalAlloc-before.TotalAlloc)
}

func TestDecompressCorrupt(t *testing.T) {
	good := NewCompressor(15, 6).Compress(nil, testJSON(3000, 14), false)
	cases := map[string][]byte{
		"block type 3":             {0x07},
		"bad stored length":        {0x00, 0x05, 0x00, 0x00, 0x00, 'H'},
		"truncated dynamic":        good[:20],
		"distance with no history": {0xf2, 0x00, 0x11, 0x00, 0x00},
		"all ones":                 bytes.Repeat([]byte{0xff}, 64),
		"bad code lengths":         {0x04, 0xff, 0xff, 0xff, 0xff},
	}
	d := NewDecompressor(15)
	for name, p := range cases {
		got, err := d.Decompress([]byte("x"), p, 1<<20, false)
		var e *Error
		if !errors.Is(err, ErrCorrupt) || !errors.As(err, &e) || e.CloseCode() != 1007 || string(got) != "x" {
			t.Errorf("%s: got %q, %v; want ErrCorrupt (1007)", name, got, err)
		}
		// The Decompressor works on after an error.
		if got, err := d.Decompress(nil, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, 100, true); err != nil || string(got) != "Hello" {
			t.Errorf("%s: next message: %q, %v", name, got, err)
		}
		d.Reset()
	}
	// Mutations of a good payload: an error or some output, never a panic
	// and never more than the limit.
	r := rand.New(rand.NewPCG(15, 15))
	for range 2000 {
		p := append([]byte{}, good...)
		for range 1 + r.IntN(4) {
			p[r.IntN(len(p))] ^= byte(1 << r.IntN(8))
		}
		p = p[:r.IntN(len(p)+1)]
		got, err := d.Decompress(nil, p, 4000, false)
		if len(got) > 4000 || err != nil && len(got) != 0 {
			t.Fatalf("mutated payload: %d bytes, %v", len(got), err)
		}
	}
}

// A distance beyond the history kept for the negotiated window is an error
// (the peer broke its window), not a read of stale data.
func TestDecompressRejectsDistanceBeyondWindow(t *testing.T) {
	m := testRandom(2048, 16)
	var stream bytes.Buffer
	fw, _ := flate.NewWriter(&stream, 6)
	fw.Write(m)
	fw.Flush()
	first := append([]byte{}, stream.Bytes()...)
	stream.Reset()
	fw.Write(m[:600]) // refers back 2048 bytes
	fw.Flush()
	second := stream.Bytes()
	d := NewDecompressor(10)
	if _, err := d.Decompress(nil, first[:len(first)-4], -1, true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decompress(nil, second[:len(second)-4], -1, true); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err %v, want ErrCorrupt", err)
	}
}

func TestCompressAllocatesNothingPerMessage(t *testing.T) {
	msgs := [][]byte{testJSON(1000, 17), testText(20000, 18), testRandom(3000, 19), {}}
	for _, wb := range []int{8, 11, 15} {
		for _, level := range []int{0, 1, 6, 9} {
			for _, takeover := range []bool{false, true} {
				c := NewCompressor(wb, level)
				buf := make([]byte, 0, 64<<10)
				i := 0
				allocs := testing.AllocsPerRun(50, func() {
					buf = c.Compress(buf[:0], msgs[i%len(msgs)], takeover)
					i++
				})
				if allocs != 0 {
					t.Errorf("w%d l%d takeover=%v: %v allocations per message", wb, level, takeover, allocs)
				}
			}
		}
	}
}

// compress/flate's reader allocates link tables for each dynamic block
// whose codes are longer than 9 bits; Decompress adds nothing to that.
func TestDecompressAllocatesNothingBeyondFlate(t *testing.T) {
	msgs := [][]byte{testJSON(1000, 20), testText(20000, 21), {}, []byte("Hello")}
	for _, takeover := range []bool{false, true} {
		c := NewCompressor(15, 6)
		var payloads [][]byte
		for range 10 {
			for _, m := range msgs {
				payloads = append(payloads, c.Compress(nil, m, takeover))
			}
		}
		d := NewDecompressor(15)
		buf := make([]byte, 0, 64<<10)
		i := 0
		ours := testing.AllocsPerRun(len(payloads)-1, func() {
			var err error
			buf, err = d.Decompress(buf[:0], payloads[i], 1<<20, takeover)
			if err != nil {
				t.Fatal(err)
			}
			i++
		})
		// The same work with compress/flate alone.
		var src source
		fr := flate.NewReaderDict(&src, nil)
		hist := make([]byte, 0, 1<<15)
		i = 0
		theirs := testing.AllocsPerRun(len(payloads)-1, func() {
			src = source{p: payloads[i]}
			var dict []byte
			if takeover {
				dict = hist
			}
			fr.(flate.Resetter).Reset(&src, dict)
			n, _ := io.ReadFull(fr, buf[:cap(buf)])
			if takeover {
				hist = append(hist[:0], buf[max(0, n-1<<15):n]...)
			}
			i++
		})
		if ours > theirs {
			t.Errorf("takeover=%v: %v allocations per message, compress/flate alone %v", takeover, ours, theirs)
		}
		t.Logf("takeover=%v: %v allocations per message (compress/flate's own: %v)", takeover, ours, theirs)
	}
	// Stored and fixed-code blocks: none at all.
	c := NewCompressor(15, 6)
	p := c.Compress(nil, []byte("a short message"), false)
	d := NewDecompressor(15)
	buf := make([]byte, 0, 100)
	if allocs := testing.AllocsPerRun(100, func() { buf, _ = d.Decompress(buf[:0], p, 100, false) }); allocs != 0 {
		t.Errorf("fixed-code message: %v allocations", allocs)
	}
}

// heapOf reports the bytes allocated by f.
func heapOf(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

var sink any

// TestMemoryPerCompressor checks the memory a Compressor holds for each
// window against the budget in its documentation, and logs it with
// compress/flate's for comparison (go test -v -run Memory).
func TestMemoryPerCompressor(t *testing.T) {
	budget := map[int]uint64{8: 11 << 10, 9: 12 << 10, 10: 20 << 10, 11: 32 << 10, 12: 44 << 10, 13: 68 << 10, 14: 100 << 10, 15: 164 << 10}
	for wb := MinWindowBits; wb <= MaxWindowBits; wb++ {
		n := heapOf(func() { sink = NewCompressor(wb, 6) })
		t.Logf("Compressor window %2d bits: %7d bytes", wb, n)
		if n > budget[wb] {
			t.Errorf("Compressor window %d bits holds %d bytes, budget %d", wb, n, budget[wb])
		}
	}
	for _, level := range []int{1, 6, 9} {
		n := heapOf(func() { sink, _ = flate.NewWriter(io.Discard, level) })
		t.Logf("flate.NewWriter level %d:     %7d bytes", level, n)
	}
	n := heapOf(func() {
		d := NewDecompressor(15)
		d.Decompress(nil, []byte{0}, 0, false)
		sink = d
	})
	t.Logf("Decompressor (flate reader):  %7d bytes, plus 2^windowBits of history with context takeover", n)
	sink = nil
}

// A Compressor handed back between messages (History, then SetHistory on
// another one that compressed something else meanwhile) goes on as if it
// had kept its state: every payload inflates with the history, and a
// repeated message still shrinks.
func TestHistoryMovesBetweenCompressors(t *testing.T) {
	msgs := testMessages()
	for wb := MinWindowBits; wb <= MaxWindowBits; wb++ {
		for _, level := range testLevels {
			t.Run(fmt.Sprintf("w%d/l%d", wb, level), func(t *testing.T) {
				t.Parallel()
				other := NewCompressor(wb, level)
				d := NewDecompressor(wb)
				var hist, saved, out, got []byte
				c := NewCompressor(wb, level)
				for i, m := range msgs {
					out = c.Compress(out[:0], m, true)
					fdec, err := inflateFlate(hist, out)
					if err != nil || !bytes.Equal(fdec, m) {
						t.Fatalf("message %d: compress/flate: err %v, equal %v", i, err, bytes.Equal(fdec, m))
					}
					if got, err = d.Decompress(got[:0], out, -1, true); err != nil || !bytes.Equal(got, m) {
						t.Fatalf("message %d: Decompressor: err %v", i, err)
					}
					hist = append(hist, m...)
					if len(hist) > 1<<16 {
						hist = append([]byte{}, hist[len(hist)-1<<16:]...)
					}
					// Hand the state over: c's history moves to a
					// compressor that was used for something else.
					saved = c.History(saved[:0])
					if len(saved) > 1<<wb {
						t.Fatalf("message %d: history of %d bytes for a %d-byte window", i, len(saved), 1<<wb)
					}
					other.Compress(nil, testRandom(3000, uint64(i)), false)
					other.SetHistory(saved)
					c, other = other, c
				}
			})
		}
	}
	c := NewCompressor(15, 1)
	m := testJSON(2000, 11)
	first := len(c.Compress(nil, m, true))
	h := c.History(nil)
	c2 := NewCompressor(15, 1)
	c2.SetHistory(h)
	if second := len(c2.Compress(nil, m, true)); second >= first/4 {
		t.Fatalf("repeated message after SetHistory: %d bytes, first %d", second, first)
	}
}

// pieces returns a more function for DecompressFrom that serves p in
// pieces of size bytes, then err (io.EOF for a complete payload).
func pieces(p []byte, size int, err error) func() ([]byte, error) {
	return func() ([]byte, error) {
		if len(p) == 0 {
			return nil, err
		}
		k := min(len(p), size)
		piece := append([]byte(nil), p[:k]...) // valid until the next call only
		p = p[k:]
		return piece, nil
	}
}

// DecompressFrom inflates a payload that arrives in pieces as Decompress
// inflates it whole, with and without context takeover, at any piece size.
func TestDecompressFromPieces(t *testing.T) {
	msgs := [][]byte{testJSON(3000, 30), testText(70000, 31), {}, []byte("Hello")}
	for _, size := range []int{7, 1000, 1 << 20} {
		for _, takeover := range []bool{false, true} {
			c := NewCompressor(15, 6)
			d := NewDecompressor(15)
			for i, m := range msgs {
				p := c.Compress(nil, m, takeover)
				got, err := d.DecompressFrom([]byte("x"), pieces(p, size, io.EOF), len(p), 1<<20, takeover)
				if err != nil || string(got) != "x"+string(m) {
					t.Fatalf("pieces of %d, takeover %v, message %d: %d bytes, %v", size, takeover, i, len(got), err)
				}
			}
		}
	}
}

// An error from the source ends DecompressFrom with that error, not as
// corrupt data, and the history is forgotten; a block with BFINAL set
// stops the reading of the payload.
func TestDecompressFromSourceErrorAndBFINAL(t *testing.T) {
	p := NewCompressor(15, 6).Compress(nil, testText(50000, 32), false)
	broken := errors.New("connection reset")
	d := NewDecompressor(15)
	got, err := d.DecompressFrom([]byte("x"), pieces(p[:len(p)/2], 100, broken), len(p), -1, true)
	if err != broken || string(got) != "x" {
		t.Fatalf("got %d bytes, %v; want the source's error", len(got), err)
	}
	// "Hello" in a BFINAL block (RFC 7692 §7.2.3.4), then bytes that
	// must not be read.
	a := []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}
	calls := 0
	more := func() ([]byte, error) {
		calls++
		if calls == 1 {
			return a, nil
		}
		return nil, errors.New("read past the final block")
	}
	if got, err := d.DecompressFrom(nil, more, len(a), -1, false); err != nil || string(got) != "Hello" {
		t.Fatalf("BFINAL: %q, %v", got, err)
	}
}

// A bomb that arrives in pieces costs about the limit: its payload is
// never held whole, and the output grows in steps that land on the limit.
func TestDecompressFromBombCostsAboutTheLimit(t *testing.T) {
	var seg bytes.Buffer
	fw, _ := flate.NewWriter(&seg, 9)
	fw.Write(make([]byte, 1<<20))
	fw.Flush() // byte-aligned, refers back to zeros only: it can be repeated
	const limit = 8 << 20
	n := 0
	more := func() ([]byte, error) {
		if n++; n > 1024 { // 1 GiB of zeros
			return nil, io.EOF
		}
		return seg.Bytes(), nil
	}
	d := NewDecompressor(15)
	d.Decompress(nil, []byte{0}, 0, false) // allocate the flate reader first
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := d.DecompressFrom(nil, more, seg.Len(), limit, false)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) || len(got) != 0 {
		t.Fatalf("got %d bytes, %v; want ErrTooLarge", len(got), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > limit+limit/4+1<<20 {
		t.Errorf("inflating the bomb allocated %d bytes; want at most 1.25 × the %d-byte limit + 1 MiB", alloc, limit)
	}
}
