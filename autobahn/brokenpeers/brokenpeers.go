// Package brokenpeers provides WebSocket echo servers that are each broken
// in one known way, to prove that the conformance catalog notices: a
// catalog that passes every peer proves nothing.
//
// The servers are written on raw TCP with a minimal opening handshake and
// framing of their own, independent of this module's WebSocket packages, so
// that a bug shared by the library and the catalog cannot hide. Sound is the
// control: the same server with nothing broken. It validates text frame by
// frame (not within a frame as it arrives), so a few of the suite's
// fail-fast UTF-8 cases rate it NON-STRICT; everything else it does by the
// book.
//
//	ln, _ := net.Listen("tcp", "127.0.0.1:0")
//	go brokenpeers.Serve(ln, brokenpeers.AcceptsInvalidUTF8)
//	// point the catalog at "ws://" + ln.Addr().String()
package brokenpeers

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Kind selects what a server gets wrong.
type Kind int

// The kinds of server.
const (
	// Sound breaks nothing: the control for the broken kinds.
	Sound Kind = iota
	// AcceptsInvalidUTF8 echoes text messages without validating them
	// (RFC 6455 §8.1 requires failing the connection with 1007).
	AcceptsInvalidUTF8
	// WrongCloseCode answers the peer's close frame with 1000 whatever
	// the peer's code was (RFC 6455 §5.5.1: typically echoes it; the
	// suite requires the echo, or 1002 for an invalid code).
	WrongCloseCode
	// IgnoresReserved accepts frames with RSV bits set as if they were
	// clear and silently drops frames with reserved opcodes, where RFC
	// 6455 §5.2 requires failing the connection.
	IgnoresReserved
	// WrongPongPayload answers every ping with a pong whose payload is
	// "pong" instead of the ping's (RFC 6455 §5.5.3).
	WrongPongPayload
	// NeverClosesTCP completes the close handshake but never closes the
	// TCP connection, leaving that to the client (RFC 6455 §7.1.1: the
	// server should close it first).
	NeverClosesTCP
)

// Kinds lists every kind, Sound first.
var Kinds = []Kind{Sound, AcceptsInvalidUTF8, WrongCloseCode, IgnoresReserved, WrongPongPayload, NeverClosesTCP}

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Sound:
		return "Sound"
	case AcceptsInvalidUTF8:
		return "AcceptsInvalidUTF8"
	case WrongCloseCode:
		return "WrongCloseCode"
	case IgnoresReserved:
		return "IgnoresReserved"
	case WrongPongPayload:
		return "WrongPongPayload"
	case NeverClosesTCP:
		return "NeverClosesTCP"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Limits that keep every connection bounded.
const (
	// MaxMessage is the largest message a server accepts; a longer one
	// fails the connection with 1009. The suite's largest is 16 MiB.
	MaxMessage = 32 << 20
	// IdleTimeout bounds every wait for the client.
	IdleTimeout = 30 * time.Second
)

// Serve accepts connections on ln and serves each with an echo server of
// the given kind, on every request path, until ln is closed. It then closes
// the connections still open, waits for their goroutines and returns the
// error that ended the accept loop (net.ErrClosed when ln was closed).
func Serve(ln net.Listener, kind Kind) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	defer func() {
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		mu.Lock()
		conns[nc] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(nc, kind)
			mu.Lock()
			delete(conns, nc)
			mu.Unlock()
		}()
	}
}

// conn is one server connection.
type conn struct {
	nc   net.Conn
	br   *bufio.Reader
	kind Kind
}

func serveConn(nc net.Conn, kind Kind) {
	defer nc.Close()
	c := &conn{nc: nc, br: bufio.NewReaderSize(nc, 4096), kind: kind}
	nc.SetDeadline(time.Now().Add(IdleTimeout))
	if err := c.handshake(); err != nil {
		return
	}
	if !c.loop() {
		return
	}
	// A close frame was sent. RFC 6455 §7.1.1: the server closes TCP
	// first. Half-close, then read until the client closes its side, so
	// that unread input does not turn the close into a reset that could
	// destroy the close frame before the client reads it.
	nc.SetDeadline(time.Now().Add(closeLinger))
	if kind == NeverClosesTCP {
		// Leave the closing to the client: keep reading until it does.
		nc.SetDeadline(time.Now().Add(IdleTimeout))
	} else if tc, ok := nc.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
	io.Copy(io.Discard, c.br)
}

// closeLinger bounds the wait for the client to close TCP after the server
// did.
const closeLinger = 5 * time.Second

// acceptGUID is the GUID of RFC 6455 §1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// handshake reads the client's request and answers 101 (RFC 6455 §4.2), or
// 400 to a request that is not a WebSocket handshake.
func (c *conn) handshake() error {
	line, err := c.readLine()
	if err != nil {
		return err
	}
	if f := strings.Fields(line); len(f) != 3 || f[0] != "GET" || f[2] != "HTTP/1.1" {
		return c.reject("bad request line")
	}
	header := map[string]string{}
	for i := 0; ; i++ {
		if i > 100 {
			return c.reject("too many headers")
		}
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return c.reject("bad header line")
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if old, dup := header[name]; dup {
			value = old + ", " + value
		}
		header[name] = value
	}
	key := header["sec-websocket-key"]
	if !hasToken(header["upgrade"], "websocket") || !hasToken(header["connection"], "upgrade") ||
		header["sec-websocket-version"] != "13" || key == "" {
		return c.reject("not a WebSocket handshake")
	}
	sum := sha1.Sum([]byte(key + acceptGUID))
	_, err = io.WriteString(c.nc, "HTTP/1.1 101 Switching Protocols\r\n"+
		"Upgrade: websocket\r\n"+
		"Connection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
	return err
}

func (c *conn) readLine() (string, error) {
	var b strings.Builder
	for b.Len() < 8192 {
		s, err := c.br.ReadSlice('\n')
		b.Write(s)
		if err == nil {
			return strings.TrimRight(b.String(), "\r\n"), nil
		}
		if err != bufio.ErrBufferFull {
			return "", err
		}
	}
	return "", errors.New("brokenpeers: header line too long")
}

func (c *conn) reject(reason string) error {
	io.WriteString(c.nc, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	return errors.New("brokenpeers: " + reason)
}

// hasToken reports whether the comma-separated list holds token, ignoring
// case.
func hasToken(list, token string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// Opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// frameHeader is a parsed frame header.
type frameHeader struct {
	fin    bool
	rsv    byte
	opcode byte
	masked bool
	key    [4]byte
	length uint64
}

func (c *conn) readHeader() (frameHeader, error) {
	var h frameHeader
	var b [8]byte
	if _, err := io.ReadFull(c.br, b[:2]); err != nil {
		return h, err
	}
	h.fin = b[0]&0x80 != 0
	h.rsv = (b[0] >> 4) & 0x7
	h.opcode = b[0] & 0xf
	h.masked = b[1]&0x80 != 0
	h.length = uint64(b[1] & 0x7f)
	switch h.length {
	case 126:
		if _, err := io.ReadFull(c.br, b[:2]); err != nil {
			return h, err
		}
		h.length = uint64(binary.BigEndian.Uint16(b[:2]))
	case 127:
		if _, err := io.ReadFull(c.br, b[:8]); err != nil {
			return h, err
		}
		h.length = binary.BigEndian.Uint64(b[:8])
	}
	if h.masked {
		if _, err := io.ReadFull(c.br, h.key[:]); err != nil {
			return h, err
		}
	}
	return h, nil
}

// writeFrame writes one final, unmasked frame.
func (c *conn) writeFrame(opcode byte, payload []byte) error {
	hdr := make([]byte, 0, 10+len(payload))
	hdr = append(hdr, 0x80|opcode)
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, byte(n))
	case n <= 0xffff:
		hdr = append(hdr, 126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	c.nc.SetWriteDeadline(time.Now().Add(IdleTimeout))
	_, err := c.nc.Write(append(hdr, payload...))
	return err
}

// fail fails the connection with code (RFC 6455 §7.1.7) and returns true:
// a close frame was sent.
func (c *conn) fail(code uint16) bool {
	return c.writeFrame(opClose, binary.BigEndian.AppendUint16(nil, code)) == nil
}

// loop reads frames and echoes messages until the connection is done. It
// reports whether it sent a close frame (false: the connection broke).
func (c *conn) loop() bool {
	var (
		msg        []byte
		msgOpcode  byte // 0: no message in progress
		utf8Tail   []byte
		validating = c.kind != AcceptsInvalidUTF8
	)
	for {
		c.nc.SetReadDeadline(time.Now().Add(IdleTimeout))
		h, err := c.readHeader()
		if err != nil {
			return false
		}
		// RFC 6455 §5.2: RSV bits without a negotiated extension.
		if h.rsv != 0 && c.kind != IgnoresReserved {
			return c.fail(1002)
		}
		// RFC 6455 §5.1: a client masks every frame.
		if !h.masked {
			return c.fail(1002)
		}
		control := h.opcode&0x8 != 0
		reserved := (h.opcode > opBinary && h.opcode < opClose) || h.opcode > opPong
		if reserved && c.kind != IgnoresReserved {
			return c.fail(1002)
		}
		// RFC 6455 §5.5: control frames are final and short.
		if control && (!h.fin || h.length > 125) {
			return c.fail(1002)
		}
		if !control && uint64(len(msg))+h.length > MaxMessage {
			return c.fail(1009)
		}
		payload := make([]byte, h.length)
		if _, err := io.ReadFull(c.br, payload); err != nil {
			return false
		}
		for i := range payload {
			payload[i] ^= h.key[i&3]
		}
		if reserved {
			continue // IgnoresReserved: drop it
		}
		switch h.opcode {
		case opPing:
			pong := payload
			if c.kind == WrongPongPayload {
				pong = []byte("pong")
			}
			if c.writeFrame(opPong, pong) != nil {
				return false
			}
			continue
		case opPong:
			continue
		case opClose:
			return c.closeFrame(payload)
		case opContinuation:
			if msgOpcode == 0 {
				return c.fail(1002) // §5.4: nothing to continue
			}
		default: // text or binary
			if msgOpcode != 0 {
				return c.fail(1002) // §5.4: a new message inside a fragmented one
			}
			msgOpcode = h.opcode
			msg = msg[:0]
			utf8Tail = nil
		}
		msg = append(msg, payload...)
		if msgOpcode == opText && validating {
			// Validate what this frame completes, keeping an
			// incomplete sequence at its end for the next frame.
			var ok bool
			utf8Tail, ok = validateUTF8(utf8Tail, payload, h.fin)
			if !ok {
				return c.fail(1007)
			}
		}
		if h.fin {
			if c.writeFrame(msgOpcode, msg) != nil {
				return false
			}
			msgOpcode = 0
		}
	}
}

// closeFrame answers the peer's close frame (RFC 6455 §5.5.1, §7.4) and
// reports whether the answer was sent.
func (c *conn) closeFrame(payload []byte) bool {
	switch {
	case len(payload) == 0:
		return c.writeFrame(opClose, nil) == nil
	case len(payload) == 1:
		return c.fail(1002)
	}
	code := binary.BigEndian.Uint16(payload)
	switch {
	case c.kind == WrongCloseCode:
		code = 1000
	case !validCloseCode(code):
		code = 1002
	case !utf8.Valid(payload[2:]) && c.kind != AcceptsInvalidUTF8:
		code = 1007
	}
	return c.fail(code)
}

// validCloseCode reports whether a close frame may carry code (RFC 6455
// §7.4.1, §7.4.2 and the IANA registry).
func validCloseCode(code uint16) bool {
	switch {
	case code >= 3000 && code <= 4999:
		return true
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011:
		return true
	}
	return false
}

// validateUTF8 checks the text of one frame, given the incomplete sequence
// the previous frame ended with. It returns the incomplete sequence this
// frame ends with and whether the text so far can still be valid; at the
// end of a message nothing may be left incomplete.
func validateUTF8(tail, payload []byte, fin bool) ([]byte, bool) {
	b := append(append([]byte(nil), tail...), payload...)
	// Find the start of a possibly incomplete last sequence.
	cut := len(b)
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		if b[i]&0xc0 != 0x80 { // a leading byte or ASCII
			if !utf8.FullRune(b[i:]) {
				cut = i
			}
			break
		}
	}
	if !utf8.Valid(b[:cut]) {
		return nil, false
	}
	rest := b[cut:]
	if len(rest) == 0 {
		return nil, true
	}
	if fin || !completable(rest) {
		return nil, false
	}
	return rest, true
}

// completable reports whether p, an incomplete UTF-8 sequence, can still
// become a valid one. Only the byte after the leading one may have a range
// narrower than 0x80–0xBF, so trying each value for it is enough.
func completable(p []byte) bool {
	for second := byte(0x80); second <= 0xbf; second++ {
		full := append([]byte(nil), p...)
		if len(full) == 1 {
			full = append(full, second)
		}
		for len(full) < 4 && !utf8.FullRune(full) {
			full = append(full, 0x80)
		}
		if utf8.Valid(full) {
			return true
		}
		if len(p) > 1 {
			return false // the second byte is given: one try is all
		}
	}
	return false
}
