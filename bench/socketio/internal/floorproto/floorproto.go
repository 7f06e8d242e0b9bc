// Package floorproto is the protocol handling of the Socket.IO benchmark's
// floor servers (servers/floor on epoll, servers/flooruring on io_uring):
// the least a server can answer to the load client's echo-with-ack case and
// hold its idle WebSocket sockets. One copy, so that both floors answer
// exactly the same bytes and differ only in how they do their I/O.
//
// It speaks only what the load client sends on the WebSocket transport —
// the opening handshake (the key is found, nothing else is checked), the
// Engine.IO open packet, the Socket.IO CONNECT to "/", and EVENT packets
// with an ack id, each answered with an ACK carrying the event's arguments
// — and validates nothing: no UTF-8 or JSON checks, no fragmentation, no
// heartbeat, no limits, no rooms. It is a measuring stick, not a server to
// use.
package floorproto

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// Conn is one connection's protocol state; it belongs to one event loop.
type Conn struct {
	open bool   // past the WebSocket handshake
	rest []byte // bytes of an incomplete request head or frame, kept across reads
	sid  uint64
}

var sids atomic.Uint64

// Answer handles the bytes of one read, in: it appends their replies to
// out and returns it, with the number of acknowledgements among them and
// whether a close frame came (the connection is to be closed once the
// replies are written). in is modified (unmasked in place); what it holds
// of an incomplete request head or frame is copied and kept for the next
// read.
func (c *Conn) Answer(out, in []byte) (reply []byte, acks int, closing bool) {
	if len(c.rest) > 0 {
		in = append(c.rest, in...)
		c.rest = nil
	}
	var used int
	if !c.open {
		used, out = c.handshake(out, in)
	}
	if c.open {
		var u int
		u, out, acks, closing = c.frames(out, in[used:])
		used += u
	}
	if used < len(in) {
		c.rest = append([]byte(nil), in[used:]...)
	}
	return out, acks, closing
}

// handshake answers the request head at the start of in, if it is whole,
// with the 101 and the Engine.IO open packet; it returns the bytes used.
func (c *Conn) handshake(out, in []byte) (int, []byte) {
	end := bytes.Index(in, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, out
	}
	var key []byte
	for _, line := range bytes.Split(in[:end], []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Sec-WebSocket-Key")) {
			key = bytes.TrimSpace(value)
		}
	}
	if key == nil {
		out = append(out, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"...)
		return len(in), out
	}
	h := sha1.New()
	h.Write(key)
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	out = append(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	out = base64.StdEncoding.AppendEncode(out, h.Sum(nil))
	out = append(out, "\r\n\r\n"...)
	c.sid = sids.Add(1)
	open := fmt.Appendf(nil, `0{"sid":"f%019d","upgrades":[],"pingInterval":300000,"pingTimeout":200000,"maxPayload":1000000}`, c.sid)
	out = appendFrame(out, 0x81, open)
	c.open = true
	return end + 4, out
}

// frames answers the whole client frames at the start of in; it returns
// the bytes used, the replies, the acks among them, and whether a close
// frame came.
func (c *Conn) frames(out, in []byte) (used int, reply []byte, acks int, closing bool) {
	for {
		b := in[used:]
		if len(b) < 2 {
			return used, out, acks, false
		}
		op := b[0] & 0x0f
		size := uint64(b[1] & 0x7f)
		hl := 2
		switch size {
		case 126:
			if len(b) < 4 {
				return used, out, acks, false
			}
			size, hl = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return used, out, acks, false
			}
			size, hl = binary.BigEndian.Uint64(b[2:]), 10
		}
		if b[1]&0x80 != 0 {
			hl += 4
		}
		if uint64(len(b)) < uint64(hl)+size {
			return used, out, acks, false
		}
		p := b[hl : hl+int(size)]
		if b[1]&0x80 != 0 {
			unmask(p, b[hl-4:hl])
		}
		used += hl + int(size)
		switch op {
		case 0x1:
			var acked bool
			out, acked = c.message(out, p)
			if acked {
				acks++
			}
		case 0x8:
			if len(p) > 2 {
				p = p[:2]
			}
			return used, appendFrame(out, 0x88, p), acks, true
		case 0x9:
			out = appendFrame(out, 0x8a, p)
		}
	}
}

// message answers an Engine.IO packet: a Socket.IO CONNECT to "/" with
// the CONNECT reply, an EVENT with an ack id with an ACK of its arguments
// (acked reports that).
func (c *Conn) message(out, p []byte) (reply []byte, acked bool) {
	if len(p) < 2 || p[0] != '4' {
		return out, false // pong, close, noop: nothing to answer
	}
	switch p[1] {
	case '0':
		out = appendFrame(out, 0x81, fmt.Appendf(nil, `40{"sid":"s%019d"}`, c.sid))
	case '2':
		i := 2
		for i < len(p) && p[i] >= '0' && p[i] <= '9' {
			i++
		}
		if i == 2 || i+1 >= len(p) || p[i] != '[' || p[i+1] != '"' {
			return out, false // no ack id, or a name that is not a plain string
		}
		id := p[2:i]
		j := bytes.IndexByte(p[i+2:], '"')
		if j < 0 {
			return out, false
		}
		args := p[i+2+j+1:] // after the event name: "," and the arguments, or "]"
		// The ACK: "43" id "[" arguments "]".
		n := 2 + len(id) + 1 + len(args)
		if len(args) > 0 && args[0] == ',' {
			args = args[1:]
			n--
		}
		out = appendHeader(out, 0x81, n)
		out = append(out, '4', '3')
		out = append(out, id...)
		out = append(out, '[')
		out = append(out, args...)
		return out, true
	}
	return out, false
}

// appendFrame appends an unmasked server frame.
func appendFrame(b []byte, b0 byte, p []byte) []byte {
	return append(appendHeader(b, b0, len(p)), p...)
}

func appendHeader(b []byte, b0 byte, n int) []byte {
	switch {
	case n <= 125:
		return append(b, b0, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, b0, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, b0, 127), uint64(n))
	}
}

// unmask applies the client's masking key to p in place (RFC 6455 §5.3),
// eight bytes at a time.
func unmask(p, key []byte) {
	k := binary.LittleEndian.Uint32(key)
	k8 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k8)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
}
