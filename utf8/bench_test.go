package utf8

import (
	"strings"
	"testing"
	stdutf8 "unicode/utf8"
)

var benchTexts = []struct {
	name   string
	sample string
}{
	{"ascii", "The quick brown fox jumps over the lazy dog, again and again. "},
	{"latin1", "Grüße, Ärger, ñandú, café, naïve façade, Œuvre, señor, Ångström. "},
	{"cjk", "日本語のテキストを検証します。中文文本验证。한국어 텍스트 검증。"},
	{"emoji", "😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘😗🚀🎉🌍🔥💯✨"},
}

var benchSizes = []struct {
	name string
	n    int
}{
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
}

// makeText repeats sample to about n bytes, ending on a character boundary.
func makeText(sample string, n int) []byte {
	s := strings.Repeat(sample, n/len(sample)+1)
	s = s[:n]
	for !stdutf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return []byte(s)
}

func benchCases(b *testing.B, fn func(b *testing.B, p []byte, std bool)) {
	for _, txt := range benchTexts {
		for _, sz := range benchSizes {
			p := makeText(txt.sample, sz.n)
			for _, impl := range []string{"ws", "stdlib"} {
				b.Run(txt.name+"-"+sz.name+"/"+impl, func(b *testing.B) {
					b.SetBytes(int64(len(p)))
					b.ReportAllocs()
					fn(b, p, impl == "stdlib")
				})
			}
		}
	}
}

var sink bool

// BenchmarkValid compares Valid with unicode/utf8.Valid.
func BenchmarkValid(b *testing.B) {
	benchCases(b, func(b *testing.B, p []byte, std bool) {
		if std {
			for b.Loop() {
				sink = stdutf8.Valid(p)
			}
		} else {
			for b.Loop() {
				sink = Valid(p)
			}
		}
		if !sink {
			b.Fatal("benchmark text is invalid")
		}
	})
}

// BenchmarkValidator measures Validator.Write on a whole message; the stdlib
// sibling is unicode/utf8.Valid on the same bytes.
func BenchmarkValidator(b *testing.B) {
	benchCases(b, func(b *testing.B, p []byte, std bool) {
		if std {
			for b.Loop() {
				sink = stdutf8.Valid(p)
			}
		} else {
			var v Validator
			for b.Loop() {
				v.Reset()
				sink = v.Write(p) && v.Complete()
			}
		}
		if !sink {
			b.Fatal("benchmark text is invalid")
		}
	})
}
