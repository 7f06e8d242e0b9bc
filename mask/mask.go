// Package mask implements the WebSocket client-to-server masking transform
// of RFC 6455 §5.3.
//
// Masking XORs each payload octet i with octet (i mod 4) of a 32-bit masking
// key. The same operation unmasks, so Apply serves both directions. Because a
// payload may arrive across several reads, Apply takes and returns the key
// position so that masking can be resumed at any byte.
//
// # Implementation
//
// On amd64, payloads of 8 bytes or more are masked by assembly: AVX2
// (32-byte YMM registers, 128 bytes per iteration) when the CPU and OS
// support it, as detected with CPUID and XGETBV, and SSE2 (16-byte XMM
// registers, always present on amd64) otherwise. Payloads shorter than 8
// bytes are masked bytewise in Go. Other architectures and builds with the
// purego tag use the portable Go code (word-at-a-time XOR), which is also the
// oracle that the assembly is tested against.
package mask

import (
	"encoding/binary"
	"math/bits"
)

// Apply XORs b in place with the 4-byte masking key, starting at key position pos (0..3),
// and returns the key position for the byte after b, so a payload can be (un)masked across reads.
//
// Only the low two bits of pos are used. Apply allocates nothing.
func Apply(key [4]byte, pos int, b []byte) int {
	pos &= 3
	if len(b) < asmMinLen {
		// Short payloads (common for control frames) are cheapest bytewise.
		for i := range b {
			b[i] ^= key[(pos+i)&3]
		}
		return (pos + len(b)) & 3
	}
	if haveAsm {
		maskAsm(b, rotatedKey(key, pos))
		return (pos + len(b)) & 3
	}
	return applyGeneric(key, pos, b)
}

// asmMinLen is the payload length from which Apply leaves the bytewise loop
// for the assembly (or the portable word-at-a-time code). On amd64 the
// assembly call is already cheaper than the portable code at 8 bytes (see
// BenchmarkCrossover), so the crossover is where word steps become possible.
const asmMinLen = 8

// rotatedKey returns the key as a little-endian 32-bit word rotated so that
// its low byte is key[pos&3]: byte i of the word then masks payload byte i.
func rotatedKey(key [4]byte, pos int) uint32 {
	return bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*(pos&3))
}

// applyGeneric is the portable word-at-a-time implementation of Apply. Apply
// uses it where no assembly exists (other architectures, the purego tag),
// and the tests use it as the oracle for the assembly.
func applyGeneric(key [4]byte, pos int, b []byte) int {
	pos &= 3
	n := len(b)
	if n < 8 {
		// Short payloads (common for control frames) are cheapest bytewise.
		for i := range b {
			b[i] ^= key[(pos+i)&3]
		}
		return (pos + n) & 3
	}

	// RFC 6455 §5.3: transformed-octet-i = original-octet-i XOR
	// masking-key-octet-j, where j = i MOD 4. Build the key rotated so that
	// its first octet is key[pos]; in a little-endian word, byte i of the
	// word then lines up with byte i of the payload. Since every word covers
	// a multiple of 4 bytes, the key position does not change across words.
	k32 := uint64(key[pos]) | uint64(key[(pos+1)&3])<<8 |
		uint64(key[(pos+2)&3])<<16 | uint64(key[(pos+3)&3])<<24
	k := k32 | k32<<32

	i := 0
	for ; i+64 <= n; i += 64 {
		s := b[i : i+64 : i+64] // one bounds check for the eight words
		binary.LittleEndian.PutUint64(s[0:8], binary.LittleEndian.Uint64(s[0:8])^k)
		binary.LittleEndian.PutUint64(s[8:16], binary.LittleEndian.Uint64(s[8:16])^k)
		binary.LittleEndian.PutUint64(s[16:24], binary.LittleEndian.Uint64(s[16:24])^k)
		binary.LittleEndian.PutUint64(s[24:32], binary.LittleEndian.Uint64(s[24:32])^k)
		binary.LittleEndian.PutUint64(s[32:40], binary.LittleEndian.Uint64(s[32:40])^k)
		binary.LittleEndian.PutUint64(s[40:48], binary.LittleEndian.Uint64(s[40:48])^k)
		binary.LittleEndian.PutUint64(s[48:56], binary.LittleEndian.Uint64(s[48:56])^k)
		binary.LittleEndian.PutUint64(s[56:64], binary.LittleEndian.Uint64(s[56:64])^k)
	}
	if i+32 <= n {
		s := b[i : i+32 : i+32] // one bounds check for the four words
		binary.LittleEndian.PutUint64(s[0:8], binary.LittleEndian.Uint64(s[0:8])^k)
		binary.LittleEndian.PutUint64(s[8:16], binary.LittleEndian.Uint64(s[8:16])^k)
		binary.LittleEndian.PutUint64(s[16:24], binary.LittleEndian.Uint64(s[16:24])^k)
		binary.LittleEndian.PutUint64(s[24:32], binary.LittleEndian.Uint64(s[24:32])^k)
		i += 32
	}
	for ; i+8 <= n; i += 8 {
		s := b[i : i+8 : i+8]
		binary.LittleEndian.PutUint64(s, binary.LittleEndian.Uint64(s)^k)
	}
	// Tail: fewer than 8 bytes, still starting at key position pos.
	for j := 0; i < n; i, j = i+1, j+1 {
		b[i] ^= byte(k >> (8 * uint(j)))
	}
	return (pos + n) & 3
}

// ApplyBytewise is the reference implementation of Apply: a plain loop that
// XORs one byte at a time (RFC 6455 §5.3, octet i uses key octet (pos+i) mod 4).
// It has exactly the same contract and result as Apply and is kept as a test
// oracle and benchmark baseline.
func ApplyBytewise(key [4]byte, pos int, b []byte) int {
	pos &= 3
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}
