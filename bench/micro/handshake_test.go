package micro

import (
	"testing"

	gobwas "github.com/gobwas/ws"
	"github.com/rfc6455/ws/server"
)

// handshakeRequest is the request the load generator sends.
const handshakeRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// BenchmarkUpgradeRaw is the server side of an opening handshake on a
// connection the server owns (no net/http): read the request, check it,
// write the 101. The connection is in memory, so system calls, which are
// the same for every library (bench's handshake case), are left out.
func BenchmarkUpgradeRaw(b *testing.B) {
	req := []byte(handshakeRequest)
	b.Run("ours-AcceptConn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			nc := &memConn{frame: req, frames: 1}
			if _, _, err := server.AcceptConn(nc, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ours-UpgradeConn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			nc := &memConn{frame: req, frames: 1}
			if _, _, err := server.UpgradeConn(nc, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gobwas", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			nc := &memConn{frame: req, frames: 1}
			if _, err := gobwas.Upgrade(nc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
