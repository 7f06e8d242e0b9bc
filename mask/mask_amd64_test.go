//go:build amd64 && !purego

package mask

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"
)

// asmImpls lists the assembly entry points that can run on this CPU.
func asmImpls(t *testing.T) []struct {
	name string
	fn   func(b []byte, key uint32)
} {
	impls := []struct {
		name string
		fn   func(b []byte, key uint32)
	}{{"SSE2", maskSSE2}}
	if useAVX2 {
		impls = append(impls, struct {
			name string
			fn   func(b []byte, key uint32)
		}{"AVX2", maskAVX2})
	} else {
		t.Log("CPU/OS without AVX2: testing the SSE2 routine only")
	}
	return impls
}

// TestAsmExhaustive calls each assembly routine directly for every length
// 0..300, key position 0..3 and start offset 0..31 into a larger buffer and
// compares the whole buffer with the portable implementation, so bytes before
// and after the sub-slice must be untouched too.
func TestAsmExhaustive(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const maxLen, maxOff, guard = 300, 32, 64
	src := make([]byte, maxOff+maxLen+guard)
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	got := make([]byte, len(src))
	want := make([]byte, len(src))
	for _, impl := range asmImpls(t) {
		t.Run(impl.name, func(t *testing.T) {
			for _, key := range [][4]byte{{0x37, 0xfa, 0x21, 0x3d}, {1, 2, 3, 4}, {0xff, 0, 0x80, 0x7f}} {
				for off := 0; off < maxOff; off++ {
					for n := 0; n <= maxLen; n++ {
						for pos := 0; pos < 4; pos++ {
							copy(got, src)
							copy(want, src)
							impl.fn(got[off:off+n:off+n], rotatedKey(key, pos))
							applyGeneric(key, pos, want[off:off+n])
							if !bytes.Equal(got, want) {
								t.Fatalf("key %x off %d len %d pos %d:\n got %x\nwant %x", key, off, n, pos, got, want)
							}
						}
					}
				}
			}
		})
	}
}

// TestAsmUntouched masks a sub-slice of a buffer whose surrounding bytes are
// all zero and checks that none of them change, for the boundaries at which
// the routines switch step size.
func TestAsmUntouched(t *testing.T) {
	key := [4]byte{0xff, 0xff, 0xff, 0xff}
	for _, impl := range asmImpls(t) {
		for n := 0; n <= 520; n++ {
			for off := 0; off < 40; off++ {
				buf := make([]byte, 64+off+n+64)
				impl.fn(buf[64+off:64+off+n], rotatedKey(key, off))
				for i, c := range buf {
					inside := i >= 64+off && i < 64+off+n
					if inside && c != 0xff || !inside && c != 0 {
						t.Fatalf("%s len %d off %d: byte %d = %#x", impl.name, n, off, i, c)
					}
				}
			}
		}
	}
}

// TestApplySSE2 runs Apply with AVX2 disabled so that the SSE2 path is also
// exercised through the public entry point.
func TestApplySSE2(t *testing.T) {
	defer func(v bool) { useAVX2 = v }(useAVX2)
	useAVX2 = false
	r := rand.New(rand.NewPCG(9, 10))
	for n := 0; n <= 1100; n++ {
		orig := make([]byte, n)
		for i := range orig {
			orig[i] = byte(r.Uint32())
		}
		key := [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
		pos := r.IntN(4)
		got, want := bytes.Clone(orig), bytes.Clone(orig)
		gp := Apply(key, pos, got)
		wp := ApplyBytewise(key, pos, want)
		if gp != wp || !bytes.Equal(got, want) {
			t.Fatalf("len %d pos %d: got %x/%d, want %x/%d", n, pos, got, gp, want, wp)
		}
	}
}

func TestHasAVX2(t *testing.T) {
	t.Logf("AVX2 available: %v", useAVX2)
}

// BenchmarkCrossover compares the portable code with the assembly routines
// around asmMinLen, the length from which Apply switches to assembly.
func BenchmarkCrossover(b *testing.B) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	impls := []struct {
		name string
		fn   func(buf []byte)
	}{
		{"generic", func(buf []byte) { applyGeneric(key, 1, buf) }},
		{"SSE2", func(buf []byte) { maskSSE2(buf, rotatedKey(key, 1)) }},
		{"AVX2", func(buf []byte) { maskAVX2(buf, rotatedKey(key, 1)) }},
	}
	for _, impl := range impls {
		if impl.name == "AVX2" && !useAVX2 {
			continue
		}
		b.Run(impl.name, func(b *testing.B) {
			for _, n := range []int{8, 16, 24, 32, 48, 64, 96, 128, 256} {
				b.Run(strconv.Itoa(n), func(b *testing.B) {
					buf := make([]byte, n)
					b.SetBytes(int64(n))
					for b.Loop() {
						impl.fn(buf)
					}
				})
			}
		})
	}
}
