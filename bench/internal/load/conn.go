// Package load is the load generator: a WebSocket client written directly
// on TCP, so that its cost is the same whatever server it talks to. It
// sends pre-built, pre-masked (and, with permessage-deflate,
// pre-compressed) frames, reads the echoes, checks them and measures the
// round trips.
package load

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// The handshake uses one fixed key: servers must not care, and the
// client then does no work per handshake beyond the bytes themselves.
const (
	handshakeKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	handshakeAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" // RFC 6455 §1.3
)

// Extension offers for permessage-deflate (RFC 7692). The client never
// uses context takeover itself, so that one pre-compressed frame can be
// sent again and again; the server decides about its own side.
const (
	OfferNoTakeover = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	OfferTakeover   = "permessage-deflate; client_no_context_takeover"
)

// maskKey masks every frame the client sends.
var maskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// ErrEcho reports an echo that differs from the message sent.
var ErrEcho = errors.New("load: echo differs from the message sent")

// Message is a message to send, encoded once as a complete client frame.
type Message struct {
	Payload []byte // what the echo must carry
	Op      byte   // 0x1 text or 0x2 binary
	frame   []byte // the masked frame, compressed when deflate is set
	deflate bool
}

// NewMessage builds the frame for payload. With deflate set, the payload
// is compressed (best speed, no context takeover) and RSV1 set (RFC 7692
// §6).
func NewMessage(op byte, payload []byte, deflate bool) *Message {
	body := payload
	b0 := 0x80 | op
	if deflate {
		var cb bytes.Buffer
		fw, _ := flate.NewWriter(&cb, flate.BestSpeed)
		fw.Write(payload)
		fw.Flush()
		body = bytes.TrimSuffix(cb.Bytes(), []byte{0, 0, 0xff, 0xff}) // RFC 7692 §7.2.1
		b0 |= 0x40
	}
	f := []byte{b0, 0x80}
	switch n := len(body); {
	case n <= 125:
		f[1] |= byte(n)
	case n <= 0xffff:
		f[1] |= 126
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f[1] |= 127
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, maskKey[:]...)
	start := len(f)
	f = append(f, body...)
	for i := range f[start:] {
		f[start+i] ^= maskKey[i&3]
	}
	return &Message{Payload: payload, Op: op, frame: f, deflate: deflate}
}

// WireSize is the size of the frame on the wire.
func (m *Message) WireSize() int { return len(m.frame) }

// Conn is one client connection.
type Conn struct {
	nc *net.TCPConn
	br *bufio.Reader

	// Extensions is the server's Sec-WebSocket-Extensions answer.
	Extensions string
	deflate    bool // permessage-deflate accepted
	takeover   bool // the server keeps its window between messages

	hdr  [14]byte
	ctl  [125]byte
	rbuf []byte // the payload of the message read

	// permessage-deflate state
	src  bytes.Reader
	fr   io.ReadCloser
	out  []byte
	hist []byte // the last 32 KiB the server sent, with context takeover
}

// Dial opens a TCP connection to addr and does the opening handshake,
// offering the permessage-deflate extension offer when it is not empty.
func Dial(ctx context.Context, addr, offer string) (*Conn, error) {
	return DialFrom(ctx, addr, offer, nil)
}

// DialFrom is Dial from the local address src (nil: the system's
// choice). The socket is bound to src before it connects, with the port
// left to the connect (IP_BIND_ADDRESS_NO_PORT on Linux), so that every
// source address has the whole ephemeral port range to itself: with k
// loopback source addresses, k times as many connections to one server
// address can be open at once.
func DialFrom(ctx context.Context, addr, offer string, src net.IP) (*Conn, error) {
	var d net.Dialer
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
		d.Control = bindAddressNoPort
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &Conn{nc: nc.(*net.TCPConn), br: bufio.NewReaderSize(nc, 4096)}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
		defer nc.SetDeadline(time.Time{})
	}
	if err := c.handshake(addr, offer); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Conn) handshake(host, offer string) error {
	req := make([]byte, 0, 256)
	req = append(req, "GET / HTTP/1.1\r\nHost: "...)
	req = append(req, host...)
	req = append(req, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "+handshakeKey+"\r\nSec-WebSocket-Version: 13\r\n"...)
	if offer != "" {
		req = append(req, "Sec-WebSocket-Extensions: "...)
		req = append(req, offer...)
		req = append(req, "\r\n"...)
	}
	req = append(req, "\r\n"...)
	if _, err := c.nc.Write(req); err != nil {
		return err
	}
	status, err := c.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 101 ")) {
		return fmt.Errorf("load: handshake answered with %q", bytes.TrimSpace(status))
	}
	accepted := false
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return fmt.Errorf("load: malformed response header %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Accept")):
			accepted = string(value) == handshakeAccept
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Extensions")):
			c.Extensions = string(value)
		}
	}
	if !accepted {
		return errors.New("load: wrong or missing Sec-WebSocket-Accept")
	}
	if c.Extensions != "" {
		if !strings.HasPrefix(c.Extensions, "permessage-deflate") || offer == "" {
			return fmt.Errorf("load: unexpected extensions %q", c.Extensions)
		}
		c.deflate = true
		c.takeover = !strings.Contains(c.Extensions, "server_no_context_takeover")
	}
	return nil
}

// Deflate reports whether permessage-deflate was accepted.
func (c *Conn) Deflate() bool { return c.deflate }

// SetDeadline sets the deadline of the underlying connection.
func (c *Conn) SetDeadline(t time.Time) error { return c.nc.SetDeadline(t) }

// Close resets the TCP connection (SO_LINGER 0): no close handshake and
// no TIME_WAIT, so that many thousands of connections opened and closed
// in a row do not run out of ephemeral ports.
func (c *Conn) Close() error {
	c.nc.SetLinger(0)
	return c.nc.Close()
}

// RoundTrip sends m and reads its echo, and checks it.
func (c *Conn) RoundTrip(m *Message) error {
	if m.deflate && !c.deflate {
		return errors.New("load: compressed message on a connection without permessage-deflate")
	}
	if _, err := c.nc.Write(m.frame); err != nil {
		return err
	}
	op, compressed, err := c.readMessage()
	if err != nil {
		return err
	}
	got := c.rbuf
	if compressed {
		if got, err = c.inflate(len(m.Payload)); err != nil {
			return err
		}
	}
	if op != m.Op || !bytes.Equal(got, m.Payload) {
		return ErrEcho
	}
	return nil
}

// readMessage reads the next data message into c.rbuf, reassembling
// fragments; it reports the opcode and whether RSV1 (compressed) was set.
func (c *Conn) readMessage() (op byte, compressed bool, err error) {
	c.rbuf = c.rbuf[:0]
	first := true
	for {
		h := c.hdr[:2]
		if _, err := io.ReadFull(c.br, h); err != nil {
			return 0, false, err
		}
		if h[1]&0x80 != 0 {
			return 0, false, errors.New("load: masked frame from the server")
		}
		n := int64(h[1] & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(c.br, c.hdr[2:4]); err != nil {
				return 0, false, err
			}
			n = int64(binary.BigEndian.Uint16(c.hdr[2:]))
		case 127:
			if _, err := io.ReadFull(c.br, c.hdr[2:10]); err != nil {
				return 0, false, err
			}
			n = int64(binary.BigEndian.Uint64(c.hdr[2:]))
		}
		fop := h[0] & 0x0f
		if fop >= 0x8 { // control frame
			if n > 125 {
				return 0, false, errors.New("load: control frame too long")
			}
			if _, err := io.ReadFull(c.br, c.ctl[:n]); err != nil {
				return 0, false, err
			}
			if fop == 0x8 {
				return 0, false, fmt.Errorf("load: server closed the connection (close payload %q)", c.ctl[:n])
			}
			continue // pings and pongs are not expected; skip them
		}
		if n > 1<<30 {
			return 0, false, errors.New("load: frame too long")
		}
		if first {
			op, compressed, first = fop, h[0]&0x40 != 0, false
		}
		l := len(c.rbuf)
		c.rbuf = grow(c.rbuf, int(n))
		if _, err := io.ReadFull(c.br, c.rbuf[l:]); err != nil {
			return 0, false, err
		}
		if h[0]&0x80 != 0 {
			return op, compressed, nil
		}
	}
}

// inflate decompresses c.rbuf, which must yield want bytes (RFC 7692
// §7.2.2), keeping the server's window when it uses context takeover.
func (c *Conn) inflate(want int) ([]byte, error) {
	c.rbuf = append(c.rbuf, 0, 0, 0xff, 0xff)
	c.src.Reset(c.rbuf)
	var dict []byte
	if c.takeover {
		dict = c.hist
	}
	if c.fr == nil {
		c.fr = flate.NewReaderDict(&c.src, dict)
	} else if err := c.fr.(flate.Resetter).Reset(&c.src, dict); err != nil {
		return nil, err
	}
	c.out = grow(c.out[:0], want+1)
	n, err := io.ReadFull(c.fr, c.out)
	if n != want || !errors.Is(err, io.ErrUnexpectedEOF) {
		// n == want+1: the echo is longer than the message.
		return nil, fmt.Errorf("%w: inflated %d bytes, want %d (%v)", ErrEcho, n, want, err)
	}
	out := c.out[:want]
	if c.takeover {
		c.hist = append(c.hist, out...)
		if over := len(c.hist) - 32<<10; over > 0 {
			c.hist = append(c.hist[:0], c.hist[over:]...)
		}
	}
	return out, nil
}

// grow extends b by n bytes.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}
