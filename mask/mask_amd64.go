//go:build amd64 && !purego

package mask

// haveAsm reports that maskAsm exists on this platform. SSE2 is part of the
// amd64 baseline, so at least the SSE2 routine is always usable.
const haveAsm = true

// useAVX2 reports whether the CPU supports AVX2 and the OS saves YMM state.
// maskAsm reads it to choose between maskAVX2 and maskSSE2.
var useAVX2 = hasAVX2()

// maskAsm XORs b in place with the 32-bit little-endian key repeated, i.e.
// byte i of b with byte i%4 of key (the key already rotated to the start
// position). It tail-calls maskAVX2 if useAVX2 is set and maskSSE2 otherwise.
//
//go:noescape
func maskAsm(b []byte, key uint32)

// maskAVX2 is maskAsm using 32-byte YMM registers. It requires AVX2.
//
//go:noescape
func maskAVX2(b []byte, key uint32)

// maskSSE2 is maskAsm using 16-byte XMM registers (amd64 baseline).
//
//go:noescape
func maskSSE2(b []byte, key uint32)

// hasAVX2 reports whether CPUID leaf 7 advertises AVX2 and XGETBV shows that
// the OS saves XMM and YMM state (XCR0 bits 1 and 2), with OSXSAVE and AVX
// set in CPUID leaf 1.
func hasAVX2() bool
