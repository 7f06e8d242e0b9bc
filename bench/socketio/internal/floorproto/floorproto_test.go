package floorproto

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// frame is a masked client text frame carrying p.
func frame(p string) []byte {
	key := []byte{1, 2, 3, 4}
	b := []byte{0x81}
	switch n := len(p); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	default:
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(n))
	}
	b = append(b, key...)
	for i := range len(p) {
		b = append(b, p[i]^key[i&3])
	}
	return b
}

// TestAnswer feeds a connection's bytes in pieces of every size and
// checks the replies: the 101 with the key's accept value and the open
// packet, the CONNECT reply, and one ACK per EVENT with an ack id.
func TestAnswer(t *testing.T) {
	head := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	long := strings.Repeat("y", 300)
	var in []byte
	in = append(in, head...)
	in = append(in, frame("40")...)
	in = append(in, frame(`4217["echo","hi",1]`)...)
	in = append(in, frame(`42["noack"]`)...)
	in = append(in, frame(`423["echo"]`)...)
	in = append(in, frame(`424["echo","`+long+`"]`)...)
	for size := 1; size <= len(in); size += 7 {
		var c Conn
		var out []byte
		acks := 0
		for i := 0; i < len(in); i += size {
			piece := append([]byte(nil), in[i:min(i+size, len(in))]...)
			var n int
			var closing bool
			out, n, closing = c.Answer(out, piece)
			acks += n
			if closing {
				t.Fatal("closing without a close frame")
			}
		}
		if acks != 3 {
			t.Fatalf("pieces of %d: %d acks, want 3", size, acks)
		}
		// RFC 6455 §1.3's example key and accept value.
		if !bytes.HasPrefix(out, []byte("HTTP/1.1 101 Switching Protocols\r\n")) || !bytes.Contains(out, []byte("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")) {
			t.Fatalf("pieces of %d: no 101 with the accept value: %q", size, out)
		}
		for _, want := range []string{`0{"sid":"f`, `40{"sid":"s`, "\x81\x0c4317[\"hi\",1]", "\x81\x05433[]", "\x81\x7e\x01\x33434[\"" + long + "\"]"} {
			if !bytes.Contains(out, []byte(want)) {
				t.Fatalf("pieces of %d: no %q in %q", size, want, out)
			}
		}
		if bytes.Contains(out, []byte("noack")) {
			t.Fatalf("pieces of %d: an event without an ack id was answered", size)
		}
	}
}

// TestAnswerClose checks that a close frame is answered with its code and
// ends the connection.
func TestAnswerClose(t *testing.T) {
	var c Conn
	c.open = true
	out, _, closing := c.Answer(nil, []byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8})
	if !closing || !bytes.Equal(out, []byte{0x88, 0x02, 0x03, 0xe8}) {
		t.Fatalf("close: %q, closing %v", out, closing)
	}
}
