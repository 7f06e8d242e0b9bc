package echo

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net"
)

// floorConn is the cost below which no real library can go: a handshake
// that only finds the key, then one reusable buffer, frames unmasked in
// place and each echo sent with one write whose header is put right before
// the payload. It validates nothing, does not reassemble fragments (each
// frame is echoed as it came) and answers a close frame with a close frame.
func floorConn(nc net.Conn) {
	defer nc.Close()
	buf := make([]byte, 4096)
	n, ok := floorHandshake(nc, buf)
	if !ok {
		return
	}
	floorEcho(nc, buf, n, false, false)
}

// floorEcho echoes the frames that buf[:n] starts and those read after
// them, as floorConn describes. With lazy, it returns true (keep going)
// once every byte read is answered and the last read did not fill the
// buffer (drained says whether the one that read buf[:n] did): the
// connection is idle, and the caller can let go of buf while it waits. It
// returns false when the connection is over.
func floorEcho(nc net.Conn, buf []byte, n int, drained, lazy bool) bool {
	// buf[:n] holds bytes received and not yet answered; start is where
	// the unprocessed ones begin.
	start := 0
	for {
		// Parse as many whole frames as buf[start:n] holds.
		for {
			avail := buf[start:n]
			if len(avail) < 2 {
				break
			}
			hdr := 2
			length := int(avail[1] & 0x7f)
			switch length {
			case 126:
				hdr = 4
			case 127:
				hdr = 10
			}
			masked := avail[1]&0x80 != 0
			if masked {
				hdr += 4
			}
			if len(avail) < hdr {
				break
			}
			switch length {
			case 126:
				length = int(binary.BigEndian.Uint16(avail[2:]))
			case 127:
				length = int(binary.BigEndian.Uint64(avail[2:]))
			}
			if length > ReadLimit {
				return false
			}
			if len(avail) < hdr+length {
				if need := hdr + length; need > len(buf)-start {
					// Grow (or move to the front) so the frame fits.
					if need > len(buf) {
						nb := make([]byte, need)
						n = copy(nb, avail)
						buf = nb
					} else {
						n = copy(buf, avail)
					}
					start = 0
				}
				break
			}
			payload := avail[hdr : hdr+length]
			if masked {
				unmask(payload, avail[hdr-4:hdr])
			}
			// The reply's header is at most as long as the request's
			// (it has no masking key), so it fits right before the payload.
			rh := 2
			switch {
			case length > 0xffff:
				rh = 10
			case length > 125:
				rh = 4
			}
			out := avail[hdr-rh : hdr+length]
			out[0] = avail[0]
			switch rh {
			case 2:
				out[1] = byte(length)
			case 4:
				out[1] = 126
				binary.BigEndian.PutUint16(out[2:], uint16(length))
			case 10:
				out[1] = 127
				binary.BigEndian.PutUint64(out[2:], uint64(length))
			}
			if _, err := nc.Write(out); err != nil {
				return false
			}
			if avail[0]&0x0f == 0x8 { // close: answered above
				return false
			}
			start += hdr + length
		}
		if start == n {
			if lazy && drained {
				return true
			}
			start, n = 0, 0
		} else if n == len(buf) {
			n = copy(buf, buf[start:n])
			start = 0
		}
		m, err := nc.Read(buf[n:])
		if err != nil {
			return false
		}
		drained = m < len(buf)-n
		n += m
	}
}

// websocketGUID is the GUID of RFC 6455 §1.3.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// floorHandshake reads the request into buf until its blank line, answers
// with the key's accept value, and moves the bytes that followed the
// request to the front of buf, returning their count.
func floorHandshake(nc net.Conn, buf []byte) (int, bool) {
	n := 0
	end := -1
	for end < 0 {
		if n == len(buf) {
			return 0, false
		}
		m, err := nc.Read(buf[n:])
		if err != nil {
			return 0, false
		}
		n += m
		end = bytes.Index(buf[:n], []byte("\r\n\r\n"))
	}
	req := buf[:end]
	const name = "\r\nsec-websocket-key:"
	var key []byte
	for i := 0; i+len(name) <= len(req); i++ {
		if req[i] == '\r' && bytes.EqualFold(req[i:i+len(name)], []byte(name)) {
			key = req[i+len(name):]
			if j := bytes.IndexByte(key, '\r'); j >= 0 {
				key = key[:j]
			}
			key = bytes.TrimSpace(key)
			break
		}
	}
	if key == nil {
		return 0, false
	}
	if _, err := nc.Write(floorResponse(key)); err != nil {
		return 0, false
	}
	return copy(buf, buf[end+4:n]), true
}

// floorResponse is the 101 that accepts the handshake of key (RFC 6455
// §4.2.2), and nothing else.
func floorResponse(key []byte) []byte {
	h := sha1.New()
	h.Write(key)
	h.Write([]byte(websocketGUID))
	var sum [sha1.Size]byte
	resp := make([]byte, 0, 160)
	resp = append(resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	resp = base64.StdEncoding.AppendEncode(resp, h.Sum(sum[:0]))
	return append(resp, "\r\n\r\n"...)
}

// unmask XORs p with the 4-byte key, eight bytes at a time.
func unmask(p, key []byte) {
	k32 := uint64(binary.LittleEndian.Uint32(key))
	k := k32 | k32<<32
	for len(p) >= 32 {
		binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)^k)
		binary.LittleEndian.PutUint64(p[8:], binary.LittleEndian.Uint64(p[8:])^k)
		binary.LittleEndian.PutUint64(p[16:], binary.LittleEndian.Uint64(p[16:])^k)
		binary.LittleEndian.PutUint64(p[24:], binary.LittleEndian.Uint64(p[24:])^k)
		p = p[32:]
	}
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, binary.LittleEndian.Uint64(p)^k)
		p = p[8:]
	}
	for i := range p {
		p[i] ^= key[i&3]
	}
}
