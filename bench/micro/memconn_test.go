package micro

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"time"
)

// memConn is an in-memory net.Conn: reads serve one frame over and over,
// frames times (then io.EOF), and writes are counted and dropped. It costs
// next to nothing, so what a benchmark over it measures is the library.
type memConn struct {
	frame  []byte
	frames int // frames left to serve; negative: no end
	off    int
	n      int64 // bytes written
}

func (c *memConn) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 0 && c.frames != 0 {
		k := copy(p, c.frame[c.off:])
		p = p[k:]
		total += k
		c.off += k
		if c.off == len(c.frame) {
			c.off = 0
			if c.frames > 0 {
				c.frames--
			}
		}
	}
	if total == 0 && c.frames == 0 {
		return 0, io.EOF
	}
	return total, nil
}

func (c *memConn) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// hijackWriter is an http.ResponseWriter whose Hijack hands over a
// memConn, so that a library's own server-side Upgrade or Accept can be
// used on it.
type hijackWriter struct {
	h    http.Header
	conn net.Conn
}

func (w *hijackWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}
func (w *hijackWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *hijackWriter) WriteHeader(int)             {}
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, bufio.NewReadWriter(bufio.NewReader(w.conn), bufio.NewWriter(w.conn)), nil
}

// upgradeRequest is a client's opening handshake.
func upgradeRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	r.Header.Set("Sec-WebSocket-Version", "13")
	return r
}

// clientFrame is a masked binary frame carrying payload, as a client sends.
func clientFrame(payload []byte) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	f := []byte{0x82, 0x80}
	switch n := len(payload); {
	case n <= 125:
		f[1] |= byte(n)
	case n <= 0xffff:
		f[1] |= 126
		f = append(f, byte(n>>8), byte(n))
	default:
		f[1] |= 127
		for i := 7; i >= 0; i-- {
			f = append(f, byte(uint64(n)>>(8*i)))
		}
	}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i&3])
	}
	return f
}
