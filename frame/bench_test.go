package frame

import "testing"

func BenchmarkAppendHeader(b *testing.B) {
	buf := make([]byte, 0, MaxHeaderSize)
	for _, n := range []int64{16, 1024, 65536} {
		h := Header{Fin: true, Opcode: OpBinary, Masked: true, Key: [4]byte{1, 2, 3, 4}, Length: n}
		b.Run(sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendHeader(buf[:0], h)
			}
		})
	}
}

func BenchmarkParseHeader(b *testing.B) {
	for _, n := range []int64{16, 1024, 65536} {
		raw := AppendHeader(nil, Header{Fin: true, Opcode: OpBinary, Masked: true, Key: [4]byte{1, 2, 3, 4}, Length: n})
		b.Run(sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			p := Parser{Role: Server}
			for b.Loop() {
				if _, _, err := p.Feed(raw); err != nil {
					b.Fatal(err)
				}
				p.Consume(int(n))
			}
		})
	}
}

func sizeName(n int64) string {
	switch {
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
