package micro

import (
	"bytes"
	"context"
	"net"
	"testing"

	gobwas "github.com/gobwas/ws"
	"github.com/rfc6455/ws/bench/internal/echo"
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

// BenchmarkHandshakeTCP is a whole opening handshake over loopback TCP, as
// the bench's handshake case runs it: the client connects, sends the
// request, reads the 101 and resets the connection; the server is the
// bench's own (package echo), which accepts, upgrades, waits for the first
// message, meets the reset and closes. Client and listener are the same for
// every library, so differences in allocs/op and B/op are the servers'. The
// time includes the client's and the kernel's work and moves with the
// machine's load; the bench's handshake case gives the server's CPU time.
func BenchmarkHandshakeTCP(b *testing.B) {
	for _, lib := range []string{"oursconn", "gobwas", "ours", "gorilla"} {
		b.Run(lib, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- echo.Serve(ctx, ln, echo.Config{Lib: lib}) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					b.Error(err)
				}
			}()
			addr := ln.Addr().String()
			req := []byte(handshakeRequest)
			buf := make([]byte, 512)
			b.ReportAllocs()
			for b.Loop() {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := nc.Write(req); err != nil {
					b.Fatal(err)
				}
				n := 0
				for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
					m, err := nc.Read(buf[n:])
					if err != nil {
						b.Fatal(err)
					}
					n += m
				}
				if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 101 ")) {
					b.Fatalf("answer: %q", buf[:n])
				}
				nc.(*net.TCPConn).SetLinger(0)
				nc.Close()
			}
		})
	}
}
