package socketio

import (
	"testing"
	"unsafe"
)

// TestSocketSize: every connected socket has a Socket; 176 bytes is a size
// class of the allocator, and state few sockets use goes to socketMore.
func TestSocketSize(t *testing.T) {
	if n := unsafe.Sizeof(Socket{}); n > 176 {
		t.Errorf("socketio.Socket is %d bytes, over 176: move what an idle socket does not use to socketMore", n)
	}
}

// TestConnSize: every Engine.IO session has a conn; 128 bytes is a size
// class of the allocator.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(conn{}); n > 128 {
		t.Errorf("socketio.conn is %d bytes, over 128", n)
	}
}
