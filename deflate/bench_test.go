package deflate

import (
	"bytes"
	"compress/flate"
	"fmt"
	"testing"
)

// benchInputs are message-shaped data: JSON (the usual WebSocket payload)
// and English-like text, at 1 KiB, 16 KiB and 256 KiB.
func benchInputs() []struct {
	name string
	data []byte
} {
	var in []struct {
		name string
		data []byte
	}
	for _, size := range []int{1 << 10, 16 << 10, 256 << 10} {
		in = append(in,
			struct {
				name string
				data []byte
			}{fmt.Sprintf("json/%dK", size>>10), testJSON(size, 100)},
			struct {
				name string
				data []byte
			}{fmt.Sprintf("text/%dK", size>>10), testText(size, 101)})
	}
	return in
}

// flateCompress compresses one message with compress/flate as RFC 7692
// implementations built on it do: Write, Flush, drop 00 00 ff ff.
func flateCompress(fw *flate.Writer, buf *bytes.Buffer, msg []byte) []byte {
	buf.Reset()
	fw.Write(msg)
	fw.Flush()
	return buf.Bytes()[:buf.Len()-4]
}

// BenchmarkCompress compresses the same message repeatedly without context
// takeover, with this package (window 15 and 10 bits) and with
// compress/flate (a Writer per connection, Reset per message as gorilla
// and coder do when takeover is off). The ratio metric is compressed size
// over input size.
func BenchmarkCompress(b *testing.B) {
	for _, in := range benchInputs() {
		for _, level := range []int{1, 6, 9} {
			for _, wb := range []int{15, 10} {
				b.Run(fmt.Sprintf("%s/l%d/ours-w%d", in.name, level, wb), func(b *testing.B) {
					c := NewCompressor(wb, level)
					out := make([]byte, 0, len(in.data)+1024)
					b.SetBytes(int64(len(in.data)))
					b.ReportAllocs()
					for b.Loop() {
						out = c.Compress(out[:0], in.data, false)
					}
					b.ReportMetric(float64(len(out))/float64(len(in.data)), "ratio")
				})
			}
			b.Run(fmt.Sprintf("%s/l%d/flate", in.name, level), func(b *testing.B) {
				var buf bytes.Buffer
				buf.Grow(len(in.data) + 1024)
				fw, _ := flate.NewWriter(&buf, level)
				var out []byte
				b.SetBytes(int64(len(in.data)))
				b.ReportAllocs()
				for b.Loop() {
					fw.Reset(&buf)
					out = flateCompress(fw, &buf, in.data)
				}
				b.ReportMetric(float64(len(out))/float64(len(in.data)), "ratio")
			})
		}
	}
}

// BenchmarkCompressTakeover compresses a stream of different JSON
// messages with context takeover.
func BenchmarkCompressTakeover(b *testing.B) {
	var msgs [][]byte
	for i := range 64 {
		msgs = append(msgs, testJSON(1<<10, uint64(200+i)))
	}
	for _, level := range []int{1, 6} {
		b.Run(fmt.Sprintf("json-1K/l%d/ours-w15", level), func(b *testing.B) {
			c := NewCompressor(15, level)
			out := make([]byte, 0, 4096)
			total, n := 0, 0
			b.SetBytes(1 << 10)
			b.ReportAllocs()
			for b.Loop() {
				out = c.Compress(out[:0], msgs[n%len(msgs)], true)
				total += len(out)
				n++
			}
			b.ReportMetric(float64(total)/float64(n<<10), "ratio")
		})
		b.Run(fmt.Sprintf("json-1K/l%d/flate", level), func(b *testing.B) {
			var buf bytes.Buffer
			fw, _ := flate.NewWriter(&buf, level)
			total, n := 0, 0
			b.SetBytes(1 << 10)
			b.ReportAllocs()
			for b.Loop() {
				total += len(flateCompress(fw, &buf, msgs[n%len(msgs)]))
				n++
			}
			b.ReportMetric(float64(total)/float64(n<<10), "ratio")
		})
	}
}

// BenchmarkDecompress inflates messages compressed at level 6, with the
// Decompressor and with a bare compress/flate reader.
func BenchmarkDecompress(b *testing.B) {
	for _, in := range benchInputs() {
		p := NewCompressor(15, 6).Compress(nil, in.data, false)
		b.Run(in.name+"/ours", func(b *testing.B) {
			d := NewDecompressor(15)
			out := make([]byte, 0, len(in.data))
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				out, err = d.Decompress(out[:0], p, 1<<30, false)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/flate", func(b *testing.B) {
			var src source
			fr := flate.NewReader(&src)
			out := make([]byte, len(in.data)+1)
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				src = source{p: p}
				fr.(flate.Resetter).Reset(&src, nil)
				n := 0
				for {
					m, err := fr.Read(out[n:])
					n += m
					if err != nil {
						break
					}
				}
			}
		})
	}
}

// BenchmarkNewCompressor measures the memory of one compressor per
// window, against flate.NewWriter.
func BenchmarkNewCompressor(b *testing.B) {
	for _, wb := range []int{8, 10, 12, 15} {
		b.Run(fmt.Sprintf("ours-w%d", wb), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = NewCompressor(wb, 6)
			}
		})
	}
	for _, level := range []int{1, 6} {
		b.Run(fmt.Sprintf("flate-l%d", level), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink, _ = flate.NewWriter(nil, level)
			}
		})
	}
}
