package server

import (
	"testing"
	"unsafe"
)

// TestSessionSize keeps the per-connection record of a Server within 64
// bytes: every idle connection served through ServeHTTP holds one.
func TestSessionSize(t *testing.T) {
	if n := unsafe.Sizeof(session{}); n > 64 {
		t.Errorf("session is %d bytes, over 64 (the next size class is 80)", n)
	}
}
