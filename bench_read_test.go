//go:build !js

package ws

import (
	"bytes"
	"io"
	"testing"

	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/frame"
)

// BenchmarkNextReader streams masked client messages on the server side
// through NextReader into a reused buffer, 4 KiB at a time.
func BenchmarkNextReader(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeLabel(n), func(b *testing.B) {
			c := NewConn(&loopConn{in: clientFrames(n, max(1, (256<<10)/n))}, nil, RoleServer, nil)
			buf := make([]byte, 4096)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				_, r, err := c.NextReader(bg)
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := r.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkReadFragmented reads messages of 64 KiB sent in 16 fragments,
// with a ping between each pair of them.
func BenchmarkReadFragmented(b *testing.B) {
	p := &rawPeer{client: true}
	var in []byte
	const frag = 4 << 10
	for i := 0; i < 16; i++ {
		op := frame.OpBinary
		if i > 0 {
			op = frame.OpContinuation
		}
		in = append(in, p.frameBytes(i == 15, op, bytes.Repeat([]byte{'f'}, frag))...)
		if i%2 == 1 && i < 15 {
			in = append(in, p.frameBytes(true, frame.OpPing, []byte("ping"))...)
		}
	}
	c := NewConn(&loopConn{in: in}, nil, RoleServer, nil)
	buf := make([]byte, 0, 16*frag)
	b.SetBytes(16 * frag)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if _, buf, err = c.ReadMessage(bg, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadCompressed reads 4 KiB text messages compressed without
// context takeover.
func BenchmarkReadCompressed(b *testing.B) {
	msg := bytes.Repeat([]byte("a compressible line of JSON-ish text {\"k\": 12345}\n"), 82)[:4096]
	cw := deflate.NewCompressor(15, 6)
	z := cw.Compress(nil, msg, false)
	in := encodeFrame(frame.Header{Fin: true, Rsv: frame.RSV1, Opcode: frame.OpText, Masked: true, Key: [4]byte{1, 2, 3, 4}}, z)
	params := deflate.Params{ClientNoContextTakeover: true, ServerNoContextTakeover: true}
	c := NewConn(&loopConn{in: in}, nil, RoleServer, &Options{Compression: &Compression{Params: params}})
	buf := make([]byte, 0, len(msg))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if _, buf, err = c.ReadMessage(bg, buf); err != nil {
			b.Fatal(err)
		}
	}
}
