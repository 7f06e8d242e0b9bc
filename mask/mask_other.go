//go:build !amd64 || purego

package mask

// No assembly on this platform (or the purego tag is set): Apply always uses
// the portable Go code.
const haveAsm = false

func maskAsm(b []byte, key uint32) { panic("mask: no assembly on this platform") }
