package mask

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestApplyTable(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	tests := []struct {
		name string
		pos  int
		in   []byte
		want []byte
		next int
	}{
		{"empty", 0, []byte{}, []byte{}, 0},
		{"empty-pos3", 3, nil, nil, 3},
		// RFC 6455 §5.7: a masked "Hello" with key 37 fa 21 3d.
		{"rfc-hello", 0, []byte("Hello"), []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}, 1},
		{"pos1", 1, []byte{0, 0, 0, 0, 0}, []byte{0xfa, 0x21, 0x3d, 0x37, 0xfa}, 2},
		{"pos3-long", 3, make([]byte, 10),
			[]byte{0x3d, 0x37, 0xfa, 0x21, 0x3d, 0x37, 0xfa, 0x21, 0x3d, 0x37}, 1},
		{"pos-high-bits", 6, []byte{0}, []byte{0x21}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bytes.Clone(tt.in)
			next := Apply(key, tt.pos, b)
			if !bytes.Equal(b, tt.want) || next != tt.next {
				t.Errorf("Apply = %x, %d; want %x, %d", b, next, tt.want, tt.next)
			}
			b = bytes.Clone(tt.in)
			next = ApplyBytewise(key, tt.pos, b)
			if !bytes.Equal(b, tt.want) || next != tt.next {
				t.Errorf("ApplyBytewise = %x, %d; want %x, %d", b, next, tt.want, tt.next)
			}
		})
	}
}

// TestApplyExhaustive compares Apply with ApplyBytewise for every length
// 0..300, every key position and every start offset 0..7 into a larger buffer,
// and checks that bytes outside the sub-slice are untouched. Lengths from
// asmMinLen up take the assembly path on amd64; applyGeneric is checked too.
func TestApplyExhaustive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const maxLen = 300
	src := make([]byte, maxLen+16)
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	got := make([]byte, len(src))
	want := make([]byte, len(src))
	for _, key := range [][4]byte{{0x37, 0xfa, 0x21, 0x3d}, {1, 2, 3, 4}, {0xff, 0, 0xff, 0}} {
		for off := 0; off < 8; off++ {
			for n := 0; n <= maxLen; n++ {
				for pos := 0; pos < 4; pos++ {
					copy(got, src)
					copy(want, src)
					gp := Apply(key, pos, got[off:off+n])
					wp := ApplyBytewise(key, pos, want[off:off+n])
					if gp != wp || gp != (pos+n)%4 {
						t.Fatalf("key %x off %d len %d pos %d: next pos %d, want %d", key, off, n, pos, gp, wp)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("key %x off %d len %d pos %d: got %x, want %x", key, off, n, pos, got, want)
					}
					// The portable code (the oracle for the assembly) must agree too.
					copy(got, src)
					if gp := applyGeneric(key, pos, got[off:off+n]); gp != wp || !bytes.Equal(got, want) {
						t.Fatalf("applyGeneric: key %x off %d len %d pos %d: got %x/%d, want %x/%d", key, off, n, pos, got, gp, want, wp)
					}
				}
			}
		}
	}
}

func TestApplyInvolution(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 300; n++ {
		orig := make([]byte, n)
		for i := range orig {
			orig[i] = byte(r.Uint32())
		}
		key := [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
		pos := n & 3
		b := bytes.Clone(orig)
		Apply(key, pos, b)
		Apply(key, pos, b)
		if !bytes.Equal(b, orig) {
			t.Fatalf("len %d: masking twice is not the identity", n)
		}
	}
}

// TestApplyChunked checks that masking a payload in random pieces, threading
// the returned key position, equals masking it in one call.
func TestApplyChunked(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for iter := 0; iter < 2000; iter++ {
		n := r.IntN(2000)
		orig := make([]byte, n)
		for i := range orig {
			orig[i] = byte(r.Uint32())
		}
		key := [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
		start := r.IntN(4)
		want := bytes.Clone(orig)
		wantPos := ApplyBytewise(key, start, want)

		got := bytes.Clone(orig)
		pos := start
		for rest := got; len(rest) > 0; {
			c := r.IntN(len(rest)) + 1
			if r.IntN(4) == 0 {
				c = r.IntN(min(len(rest), 9)) + 1 // favour tiny chunks too
			}
			pos = Apply(key, pos, rest[:c])
			rest = rest[c:]
		}
		if pos != wantPos || !bytes.Equal(got, want) {
			t.Fatalf("iter %d len %d: chunked result differs (pos %d want %d)", iter, n, pos, wantPos)
		}
	}
}

func TestApplyAllocs(t *testing.T) {
	b := make([]byte, 1000)
	key := [4]byte{1, 2, 3, 4}
	if a := testing.AllocsPerRun(100, func() { Apply(key, 1, b) }); a != 0 {
		t.Errorf("Apply allocates %v times per call", a)
	}
}
