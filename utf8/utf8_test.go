package utf8

import (
	"math/rand/v2"
	"strings"
	"testing"
	stdutf8 "unicode/utf8"
)

// cases holds classic decoder stress cases (after Markus Kuhn's
// UTF-8-test.txt) and the RFC 3629 boundaries.
var cases = []struct {
	name  string
	in    string
	valid bool
}{
	{"empty", "", true},
	{"ascii", "Hello, world", true},
	{"nul", "\x00", true},
	{"kosme", "κόσμε", true},
	// Boundary code points (Kuhn 2.1–2.3).
	{"U+0000", "\x00", true},
	{"U+0080", "\u0080", true},
	{"U+0800", "\u0800", true},
	{"U+10000", "\U00010000", true},
	{"U+007F", "\x7f", true},
	{"U+07FF", "\u07ff", true},
	{"U+FFFF", "\uffff", true},
	{"U+D7FF", "\ud7ff", true},
	{"U+E000", "\ue000", true},
	{"U+FFFD", "\ufffd", true},
	{"U+10FFFF", "\U0010ffff", true},
	{"U+110000", "\xf4\x90\x80\x80", false},
	{"U+1FFFFF-4byte", "\xf7\xbf\xbf\xbf", false},
	// 5- and 6-byte forms (Kuhn 2.1.5, 2.1.6, 2.2.5, 2.2.6).
	{"5byte-min", "\xf8\x88\x80\x80\x80", false},
	{"6byte-min", "\xfc\x84\x80\x80\x80\x80", false},
	{"5byte-max", "\xfb\xbf\xbf\xbf\xbf", false},
	{"6byte-max", "\xfd\xbf\xbf\xbf\xbf\xbf", false},
	// Lone continuation bytes (Kuhn 3.1).
	{"cont-80", "\x80", false},
	{"cont-bf", "\xbf", false},
	{"cont-80bf", "\x80\xbf", false},
	{"cont-after-ascii", "a\x80", false},
	{"cont-after-2byte", "\xc3\xa9\x80", false},
	// Lonely start bytes followed by space (Kuhn 3.2).
	{"lonely-c0", "\xc0 ", false},
	{"lonely-df", "\xdf ", false},
	{"lonely-e0", "\xe0 ", false},
	{"lonely-f0", "\xf0 ", false},
	// Sequences with the last byte missing (Kuhn 3.3).
	{"trunc-2", "\xc2", false},
	{"trunc-3", "\xe0\xa0", false},
	{"trunc-4", "\xf0\x90\x80", false},
	{"trunc-4-mid", "\xf0\x90\x80a", false},
	// Impossible bytes (Kuhn 3.5).
	{"fe", "\xfe", false},
	{"ff", "\xff", false},
	{"fefeffff", "\xfe\xfe\xff\xff", false},
	{"c0", "\xc0", false},
	{"c1", "\xc1\xbf", false},
	{"f5", "\xf5\x80\x80\x80", false},
	// Overlong forms (Kuhn 4.1–4.3).
	{"overlong-slash-2", "\xc0\xaf", false},
	{"overlong-slash-3", "\xe0\x80\xaf", false},
	{"overlong-slash-4", "\xf0\x80\x80\xaf", false},
	{"overlong-slash-5", "\xf8\x80\x80\x80\xaf", false},
	{"overlong-max-2", "\xc1\xbf", false},
	{"overlong-max-3", "\xe0\x9f\xbf", false},
	{"overlong-max-4", "\xf0\x8f\xbf\xbf", false},
	{"overlong-nul-2", "\xc0\x80", false},
	{"overlong-nul-3", "\xe0\x80\x80", false},
	{"overlong-nul-4", "\xf0\x80\x80\x80", false},
	// Surrogates (Kuhn 5.1, 5.2).
	{"U+D800", "\xed\xa0\x80", false},
	{"U+DB7F", "\xed\xad\xbf", false},
	{"U+DFFF", "\xed\xbf\xbf", false},
	{"surrogate-pair", "\xed\xa0\x80\xed\xb0\x80", false},
	// Noncharacters are valid UTF-8 (Kuhn 5.3).
	{"U+FFFE", "\xef\xbf\xbe", true},
	// Autobahn 6.x style.
	{"hello-invalid-tail", "Hello-µ@ßöäüàá-UTF-8!!\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", false},
	{"long-valid-mixed", strings.Repeat("abc€𝄞é日本", 50), true},
	{"long-then-bad", strings.Repeat("a", 100) + "\xff" + strings.Repeat("a", 100), false},
	{"long-cjk-then-bad", strings.Repeat("日本", 40) + "\xe6\x97" + strings.Repeat("a", 40), false},
}

func feedBytewise(p []byte) bool {
	var v Validator
	for i := range p {
		if !v.Write(p[i : i+1]) {
			return false
		}
	}
	return v.Complete()
}

func TestCases(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := []byte(tc.in)
			if std := stdutf8.Valid(p); std != tc.valid {
				t.Fatalf("test table disagrees with unicode/utf8: %v", std)
			}
			if got := Valid(p); got != tc.valid {
				t.Errorf("Valid(%q) = %v, want %v", tc.in, got, tc.valid)
			}
			if got := feedBytewise(p); got != tc.valid {
				t.Errorf("bytewise Validator(%q) = %v, want %v", tc.in, got, tc.valid)
			}
			for split := 0; split <= len(p); split++ {
				var v Validator
				ok := v.Write(p[:split]) && v.Write(p[split:]) && v.Complete()
				if ok != tc.valid {
					t.Errorf("split at %d: got %v, want %v", split, ok, tc.valid)
				}
			}
		})
	}
}

// check compares Valid and the Validator (whole and one byte at a time) with
// unicode/utf8.Valid.
func check(t *testing.T, p []byte) {
	t.Helper()
	want := stdutf8.Valid(p)
	if got := Valid(p); got != want {
		t.Fatalf("Valid(% x) = %v, want %v", p, got, want)
	}
	var v Validator
	if got := v.Write(p) && v.Complete(); got != want {
		t.Fatalf("Validator.Write(% x) = %v, want %v", p, got, want)
	}
	if got := feedBytewise(p); got != want {
		t.Fatalf("bytewise Validator(% x) = %v, want %v", p, got, want)
	}
}

func TestExhaustiveShort(t *testing.T) {
	buf := make([]byte, 3)
	for a := 0; a < 256; a++ {
		buf[0] = byte(a)
		check(t, buf[:1])
		for b := 0; b < 256; b++ {
			buf[1] = byte(b)
			check(t, buf[:2])
			for c := 0; c < 256; c++ {
				buf[2] = byte(c)
				check(t, buf[:3])
			}
		}
	}
}

func TestRandom4Byte(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	n := 1 << 21
	if testing.Short() {
		n = 1 << 16
	}
	buf := make([]byte, 4)
	for i := 0; i < n; i++ {
		u := r.Uint32()
		if i&1 == 0 {
			// Bias towards plausible 4-byte sequences: lead F0..F7, tails
			// mostly 80..BF with random second byte.
			u = u&0x3F3FFF07 | 0x808000F0
		}
		buf[0], buf[1], buf[2], buf[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		check(t, buf)
	}
	// Every lead F0..F4 with every second byte and a couple of tails.
	for a := 0xF0; a <= 0xF7; a++ {
		for b := 0; b < 256; b++ {
			for _, c := range []byte{0x7F, 0x80, 0xBF, 0xC0} {
				check(t, []byte{byte(a), byte(b), c, 0x80})
				check(t, []byte{byte(a), byte(b), 0x80, c})
			}
		}
	}
}

// TestRandomText checks long inputs mixing all sequence lengths, with and
// without corruption, so the fast paths are exercised at every alignment.
func TestRandomText(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	runes := []rune{'a', 'Z', ' ', 'é', 'ß', 'ñ', '€', '日', '本', '\uffff', '😀', '𝄞', '\U0010ffff', 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0x10000}
	for iter := 0; iter < 3000; iter++ {
		var p []byte
		n := r.IntN(200)
		asciiRun := r.IntN(3) == 0
		for len(p) < n {
			if asciiRun && r.IntN(4) != 0 {
				p = append(p, "abcdefghijklmnopqrstuvwxyz0123456789"[:r.IntN(36)]...)
				continue
			}
			p = stdutf8.AppendRune(p, runes[r.IntN(len(runes))])
		}
		if len(p) > 0 && r.IntN(2) == 0 {
			p[r.IntN(len(p))] = byte(r.Uint32())
		}
		if len(p) > 0 && r.IntN(4) == 0 {
			p = p[:r.IntN(len(p))]
		}
		check(t, p)
		// Random chunking.
		var v Validator
		ok := true
		for rest := p; len(rest) > 0 && ok; {
			c := r.IntN(len(rest)) + 1
			ok = v.Write(rest[:c])
			rest = rest[c:]
		}
		if ok = ok && v.Complete(); ok != stdutf8.Valid(p) {
			t.Fatalf("chunked Validator(% x) = %v, want %v", p, ok, !ok)
		}
	}
}

// possiblePrefix reports whether p is the prefix of some valid UTF-8 string.
// It is the oracle for fail-fast behaviour, computed with unicode/utf8 only:
// everything up to the last possible lead byte must be valid, and the final
// partial sequence must be completable with continuation bytes.
func possiblePrefix(p []byte) bool {
	if stdutf8.Valid(p) {
		return true
	}
	// The final partial sequence has at most 3 bytes; try all completions
	// of length 1..3 using continuation bytes 80..BF.
	for k := 1; k <= 3 && k <= len(p); k++ {
		head, tail := p[:len(p)-k], p[len(p)-k:]
		if !stdutf8.Valid(head) {
			continue
		}
		if completable(tail, 4-k) {
			return true
		}
	}
	return false
}

// completable reports whether tail followed by up to max bytes from 80..BF
// forms one valid character.
func completable(tail []byte, max int) bool {
	buf := make([]byte, 0, 4)
	var try func(depth int) bool
	try = func(depth int) bool {
		if stdutf8.FullRune(buf) {
			r, size := stdutf8.DecodeRune(buf)
			return size == len(buf) && r != stdutf8.RuneError || (size == 3 && string(buf) == "\uFFFD")
		}
		if depth == 0 {
			return false
		}
		for c := 0x80; c <= 0xBF; c++ {
			buf = append(buf, byte(c))
			ok := try(depth - 1)
			buf = buf[:len(buf)-1]
			if ok {
				return true
			}
		}
		return false
	}
	buf = append(buf, tail...)
	return try(max)
}

// firstFail returns the number of bytes after which a Validator fed one byte
// at a time first returns false, or -1.
func firstFail(p []byte) int {
	var v Validator
	for i := range p {
		if !v.Write(p[i : i+1]) {
			return i + 1
		}
	}
	return -1
}

// shortestInvalid returns the length of the shortest prefix of p that is not
// the prefix of any valid UTF-8 string, or -1.
func shortestInvalid(p []byte) int {
	for n := 1; n <= len(p); n++ {
		if !possiblePrefix(p[:n]) {
			return n
		}
	}
	return -1
}

func TestFailFast(t *testing.T) {
	named := []struct {
		in   string
		fail int
	}{
		{"\xed\xa0", 2},      // can only start a surrogate
		{"\xf4\x90", 2},      // > U+10FFFF
		{"\xe0\x80", 2},      // overlong
		{"\xf0\x80", 2},      // overlong
		{"\xc0", 1},          // never valid
		{"\xf5", 1},          // never valid
		{"\xe6\x97", -1},     // partial but possible
		{"\xf0\x90\x80", -1}, // partial but possible
		{"ab\xe6\x97a", 5},
	}
	for _, tc := range named {
		if got := firstFail([]byte(tc.in)); got != tc.fail {
			t.Errorf("firstFail(%q) = %d, want %d", tc.in, got, tc.fail)
		}
		if got := shortestInvalid([]byte(tc.in)); got != tc.fail {
			t.Errorf("oracle shortestInvalid(%q) = %d, want %d", tc.in, got, tc.fail)
		}
	}

	// Every 1-, 2- and 3-byte input, plus random 4-byte and longer inputs,
	// against the oracle.
	buf := make([]byte, 3)
	for a := 0; a < 256; a++ {
		for b := 0; b < 256; b++ {
			for c := 0; c < 256; c += 1 + 16*(c&1) { // sample third bytes
				buf[0], buf[1], buf[2] = byte(a), byte(b), byte(c)
				if got, want := firstFail(buf), shortestInvalid(buf); got != want {
					t.Fatalf("% x: first false after %d bytes, want %d", buf, got, want)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 20000; i++ {
		p := make([]byte, 1+r.IntN(8))
		for j := range p {
			switch r.IntN(3) {
			case 0:
				p[j] = byte(0x80 + r.IntN(0x40))
			case 1:
				p[j] = byte(0xC0 + r.IntN(0x40))
			default:
				p[j] = byte(r.Uint32())
			}
		}
		if got, want := firstFail(p), shortestInvalid(p); got != want {
			t.Fatalf("% x: first false after %d bytes, want %d", p, got, want)
		}
	}
}

func TestSticky(t *testing.T) {
	var v Validator
	if v.Write([]byte("\xff")) {
		t.Fatal("accepted \\xff")
	}
	if v.Write([]byte("abc")) || v.Write(nil) || v.Complete() {
		t.Fatal("Validator recovered after failure without Reset")
	}
	v.Reset()
	if !v.Write([]byte("abc")) || !v.Complete() {
		t.Fatal("Reset did not restore Validator")
	}
	if !v.Write([]byte("\xe6")) || v.Complete() {
		t.Fatal("partial sequence reported complete")
	}
}

func TestAllocs(t *testing.T) {
	p := []byte(strings.Repeat("abc€𝄞é日本", 50))
	var v Validator
	if a := testing.AllocsPerRun(100, func() { Valid(p); v.Write(p) }); a != 0 {
		t.Errorf("allocates %v times per call", a)
	}
}
