package mask

import "testing"

var benchSizes = []struct {
	name string
	n    int
}{
	{"16B", 16},
	{"125B", 125},
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
	{"1MiB", 1 << 20},
}

// BenchmarkMask compares Apply with the bytewise reference and with copy,
// which serves as a memory-bandwidth baseline (it reads and writes each byte
// once, as masking does).
func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	impls := []struct {
		name string
		fn   func(buf, src []byte)
	}{
		{"Apply", func(buf, _ []byte) { Apply(key, 1, buf) }},
		{"Bytewise", func(buf, _ []byte) { ApplyBytewise(key, 1, buf) }},
		{"copy", func(buf, src []byte) { copy(buf, src) }},
	}
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			for _, sz := range benchSizes {
				b.Run(sz.name, func(b *testing.B) {
					buf := make([]byte, sz.n)
					src := make([]byte, sz.n)
					b.SetBytes(int64(sz.n))
					b.ReportAllocs()
					for b.Loop() {
						impl.fn(buf, src)
					}
				})
			}
		})
	}
}
