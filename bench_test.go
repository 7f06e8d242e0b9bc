//go:build !js

package ws

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// loopConn serves the same input forever and discards writes, so that a
// benchmark measures the engine, not the network.
type loopConn struct {
	in  []byte
	off int
}

func (c *loopConn) Read(p []byte) (int, error) {
	n := copy(p, c.in[c.off:])
	c.off = (c.off + n) % len(c.in)
	return n, nil
}
func (c *loopConn) Write(p []byte) (int, error)        { return len(p), nil }
func (c *loopConn) Close() error                       { return nil }
func (c *loopConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *loopConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *loopConn) SetDeadline(t time.Time) error      { return nil }
func (c *loopConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *loopConn) SetWriteDeadline(t time.Time) error { return nil }

var benchSizes = []int{16, 1 << 10, 64 << 10}

func sizeLabel(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkReadMessage reads masked client messages on the server side into
// a reused buffer.
func BenchmarkReadMessage(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeLabel(n), func(b *testing.B) {
			c := NewConn(&loopConn{in: clientFrames(n, max(1, (256<<10)/n))}, nil, RoleServer, nil)
			buf := make([]byte, 0, n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if _, buf, err = c.ReadMessage(bg, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadText is BenchmarkReadMessage with UTF-8 validation.
func BenchmarkReadText(b *testing.B) {
	n := 1 << 10
	p := &rawPeer{client: true}
	msg := []byte(string(make([]rune, 0)))
	for len(msg) < n {
		msg = append(msg, "héllo wörld, ok "...)
	}
	in := p.frameBytes(true, 1, msg[:n])
	c := NewConn(&loopConn{in: in}, nil, RoleServer, nil)
	buf := make([]byte, 0, n)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if _, buf, err = c.ReadMessage(bg, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteMessage writes messages on both sides of the connection.
func BenchmarkWriteMessage(b *testing.B) {
	for _, role := range []Role{RoleServer, RoleClient} {
		for _, n := range benchSizes {
			b.Run(role.String()+"/"+sizeLabel(n), func(b *testing.B) {
				c := NewConn(&loopConn{in: []byte{0}}, nil, role, nil)
				payload := make([]byte, n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.WriteMessage(bg, Binary, payload); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEchoLoopback measures a full round trip over loopback TCP.
func BenchmarkEchoLoopback(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeLabel(n), func(b *testing.B) {
			srv, cli := newPair(b)
			go func() {
				var buf []byte
				for {
					typ, msg, err := srv.ReadMessage(bg, buf)
					if err != nil {
						return
					}
					if srv.WriteMessage(bg, typ, msg) != nil {
						return
					}
					buf = msg
				}
			}()
			payload := make([]byte, n)
			buf := make([]byte, 0, n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := cli.WriteMessage(bg, Binary, payload); err != nil {
					b.Fatal(err)
				}
				var err error
				if _, buf, err = cli.ReadMessage(bg, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var _ = io.EOF
