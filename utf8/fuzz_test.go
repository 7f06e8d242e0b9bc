package utf8

import (
	"testing"
	stdutf8 "unicode/utf8"
)

// FuzzValidator compares Valid and Validator, fed in chunks at split points
// derived from seeds, with unicode/utf8.Valid. It also checks fail-fast
// consistency: once Write returns false, the input must be invalid, and the
// prefix fed so far must already be impossible to complete.
func FuzzValidator(f *testing.F) {
	f.Add([]byte("Hello, 世界 😀"), uint64(0x0305070b))
	f.Add([]byte("\xed\xa0\x80abc"), uint64(1))
	f.Add([]byte("κόσμε\xf4\x90\x80\x80"), uint64(0xffffffff))
	f.Fuzz(func(t *testing.T, data []byte, seeds uint64) {
		want := stdutf8.Valid(data)
		if got := Valid(data); got != want {
			t.Fatalf("Valid(% x) = %v, want %v", data, got, want)
		}
		var v Validator
		fed := 0
		ok := true
		for fed < len(data) {
			// Each byte of seeds picks a chunk length 0..15; then the rest.
			c := int(seeds & 15)
			seeds >>= 4
			if seeds == 0 {
				c = len(data) - fed
			}
			c = min(c, len(data)-fed)
			ok = v.Write(data[fed : fed+c])
			fed += c
			if !ok {
				break
			}
		}
		if !ok {
			if want {
				t.Fatalf("Write rejected valid input % x after %d bytes", data, fed)
			}
			if possiblePrefix(data[:fed]) {
				t.Fatalf("Write rejected % x, a possible prefix", data[:fed])
			}
			if v.Write([]byte("a")) || v.Complete() {
				t.Fatalf("Validator not sticky after failure")
			}
			return
		}
		if got := v.Complete(); got != want {
			t.Fatalf("chunked Validator(% x) = %v, want %v", data, got, want)
		}
		if !want && !possiblePrefix(data) {
			// The whole input cannot be extended to valid UTF-8, so a
			// fail-fast validator must have rejected it already.
			t.Fatalf("Write accepted impossible prefix % x", data)
		}
	})
}
