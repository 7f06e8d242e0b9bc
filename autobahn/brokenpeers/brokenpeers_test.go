package brokenpeers

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawClient is a hand-made WebSocket client that can send what a real
// client would not: reserved bits and opcodes, invalid text, split frames.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

// start serves kind on a loopback port for the test's duration.
func start(t *testing.T, kind Kind) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ln, kind) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	io.WriteString(nc, "GET /some/path HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\n"+
		"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte(key + acceptGUID))
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("handshake answered %s %v", resp.Status, resp.Header)
	}
	return &rawClient{t: t, nc: nc, br: br}
}

// send writes one masked frame.
func (c *rawClient) send(fin bool, rsv, opcode byte, payload []byte) {
	c.t.Helper()
	b0 := rsv<<4 | opcode
	if fin {
		b0 |= 0x80
	}
	frame := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		frame = append(frame, 0x80|byte(n))
	case n <= 0xffff:
		frame = append(frame, 0x80|126, byte(n>>8), byte(n))
	default:
		frame = append(frame, 0x80|127)
		frame = binary.BigEndian.AppendUint64(frame, uint64(n))
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	frame = append(frame, key[:]...)
	for i, b := range payload {
		frame = append(frame, b^key[i&3])
	}
	if _, err := c.nc.Write(frame); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one frame from the server, which must be final and unmasked.
func (c *rawClient) read() (opcode byte, payload []byte) {
	c.t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	if h[0]&0xf0 != 0x80 || h[1]&0x80 != 0 {
		c.t.Fatalf("frame header % x: want final, no RSV, unmasked", h)
	}
	n := uint64(h[1] & 0x7f)
	if n >= 126 {
		ext := make([]byte, 2)
		if n == 127 {
			ext = make([]byte, 8)
		}
		io.ReadFull(c.br, ext)
		n = 0
		for _, b := range ext {
			n = n<<8 | uint64(b)
		}
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		c.t.Fatal(err)
	}
	return h[0] & 0xf, payload
}

func (c *rawClient) expect(opcode byte, payload []byte) {
	c.t.Helper()
	op, got := c.read()
	if op != opcode || !bytes.Equal(got, payload) {
		c.t.Fatalf("got opcode %d payload %q, want opcode %d payload %q", op, got, opcode, payload)
	}
}

func (c *rawClient) expectClose(code uint16) {
	c.t.Helper()
	c.expect(opClose, binary.BigEndian.AppendUint16(nil, code))
}

// expectTCPClose checks that the server closes TCP (within d) or not.
func (c *rawClient) expectTCPClose(closes bool, d time.Duration) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	_, err := c.br.ReadByte()
	var ne net.Error
	timedOut := errors.As(err, &ne) && ne.Timeout()
	switch {
	case closes && err != io.EOF:
		c.t.Errorf("after the close handshake: %v, want the server to close TCP", err)
	case !closes && !timedOut:
		c.t.Errorf("after the close handshake: %v, want the server to keep TCP open", err)
	}
}

func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

var invalidText = []byte{0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64}

func TestEveryKindEchoesMessagesAndFragments(t *testing.T) {
	for _, kind := range Kinds {
		t.Run(kind.String(), func(t *testing.T) {
			c := dial(t, start(t, kind))
			c.send(true, 0, opText, []byte("Hello, κόσμε"))
			c.expect(opText, []byte("Hello, κόσμε"))
			c.send(true, 0, opBinary, bytes.Repeat([]byte{0xfe}, 70000))
			c.expect(opBinary, bytes.Repeat([]byte{0xfe}, 70000))
			// κ split between fragments, a pong in between.
			c.send(false, 0, opText, []byte{'a', 0xce})
			c.send(true, 0, opPong, []byte("unsolicited"))
			c.send(true, 0, opContinuation, []byte{0xba, 'b'})
			c.expect(opText, []byte("aκb"))
			c.send(true, 0, opText, nil)
			c.expect(opText, []byte{})
		})
	}
}

func TestEachKindBreaksOnlyItsRule(t *testing.T) {
	tests := []struct {
		name string
		// run does the exchange against kind and checks the answer.
		run func(c *rawClient, kind Kind)
	}{
		{"invalid text is failed with 1007 unless accepted", func(c *rawClient, kind Kind) {
			c.send(true, 0, opText, invalidText)
			if kind == AcceptsInvalidUTF8 {
				c.expect(opText, invalidText)
				return
			}
			c.expectClose(1007)
		}},
		{"invalid text fails at its first frame", func(c *rawClient, kind Kind) {
			c.send(false, 0, opText, []byte{'o', 'k', 0xed, 0xa0}) // a surrogate
			if kind == AcceptsInvalidUTF8 {
				c.send(true, 0, opContinuation, []byte{0x80})
				c.expect(opText, []byte{'o', 'k', 0xed, 0xa0, 0x80})
				return
			}
			c.expectClose(1007)
		}},
		{"a close code is echoed unless always 1000", func(c *rawClient, kind Kind) {
			c.send(true, 0, opClose, closePayload(3000, "bye"))
			if kind == WrongCloseCode {
				c.expectClose(1000)
			} else {
				c.expectClose(3000)
			}
			c.expectTCPClose(kind != NeverClosesTCP, 300*time.Millisecond)
		}},
		{"an invalid close code is answered with 1002 unless always 1000", func(c *rawClient, kind Kind) {
			c.send(true, 0, opClose, closePayload(1005, ""))
			if kind == WrongCloseCode {
				c.expectClose(1000)
			} else {
				c.expectClose(1002)
			}
		}},
		{"an empty close is answered with an empty close", func(c *rawClient, kind Kind) {
			c.send(true, 0, opClose, nil)
			c.expect(opClose, []byte{})
			c.expectTCPClose(kind != NeverClosesTCP, 300*time.Millisecond)
		}},
		{"RSV bits fail the connection unless ignored", func(c *rawClient, kind Kind) {
			c.send(true, 4, opText, []byte("rsv1"))
			if kind == IgnoresReserved {
				c.expect(opText, []byte("rsv1"))
				return
			}
			c.expectClose(1002)
		}},
		{"reserved opcodes fail the connection unless dropped", func(c *rawClient, kind Kind) {
			c.send(true, 0, 0x3, []byte("data 3"))
			c.send(true, 0, 0xb, []byte("control 11"))
			c.send(true, 0, opText, []byte("after"))
			if kind == IgnoresReserved {
				c.expect(opText, []byte("after"))
				return
			}
			c.expectClose(1002)
		}},
		{"a ping is answered with its payload unless wrong", func(c *rawClient, kind Kind) {
			c.send(true, 0, opPing, []byte("ping payload"))
			if kind == WrongPongPayload {
				c.expect(opPong, []byte("pong"))
				return
			}
			c.expect(opPong, []byte("ping payload"))
		}},
		{"a protocol error closes TCP after the close unless never", func(c *rawClient, kind Kind) {
			c.send(true, 0, opContinuation, []byte("nothing to continue"))
			c.expectClose(1002)
			c.expectTCPClose(kind != NeverClosesTCP, 300*time.Millisecond)
		}},
		{"a fragmented ping fails the connection", func(c *rawClient, kind Kind) {
			c.send(false, 0, opPing, []byte("half"))
			c.expectClose(1002)
		}},
		{"an unmasked frame fails the connection", func(c *rawClient, kind Kind) {
			c.nc.Write([]byte{0x81, 0x02, 'h', 'i'})
			c.expectClose(1002)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, kind := range Kinds {
				t.Run(kind.String(), func(t *testing.T) {
					tt.run(dial(t, start(t, kind)), kind)
				})
			}
		})
	}
}

func TestHandshakeRejectsWhatIsNotAWebSocketRequest(t *testing.T) {
	addr := start(t, Sound)
	for _, req := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Version: 8\r\n\r\n",
	} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(nc, req)
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		if err != nil || resp.StatusCode != 400 {
			t.Errorf("%q: %v %v, want 400", req, resp, err)
		}
		nc.Close()
	}
}

func TestValidateUTF8AcrossFrames(t *testing.T) {
	tests := []struct {
		frames [][]byte
		ok     bool
	}{
		{[][]byte{[]byte("plain")}, true},
		{[][]byte{{0xf0, 0x90}, {0x80, 0x80}}, true},               // U+10000 split
		{[][]byte{{0xf0}, {0x90}, {0x80}, {0x80}}, true},           // one byte a frame
		{[][]byte{{0xe0, 0x80}}, false},                            // overlong, known at once
		{[][]byte{{0xed}, {0xa0}}, false},                          // surrogate, known at its second byte
		{[][]byte{{0xf4, 0x90}}, false},                            // over U+10FFFF
		{[][]byte{{'a', 0xce}}, false},                             // incomplete at the end
		{[][]byte{{0xff}}, false},                                  // never valid
		{[][]byte{{0xc2}, {'a'}}, false},                           // not a continuation
		{[][]byte{{0xe2, 0x82}, {0xac, 0xe2}, {0x82, 0xac}}, true}, // € €
	}
	for i, tt := range tests {
		var tail []byte
		ok := true
		for j, f := range tt.frames {
			tail, ok = validateUTF8(tail, f, j == len(tt.frames)-1)
			if !ok {
				break
			}
		}
		if ok != tt.ok {
			t.Errorf("%d: % x: valid %t, want %t", i, tt.frames, ok, tt.ok)
		}
	}
}

func TestKindString(t *testing.T) {
	var names []string
	for _, k := range Kinds {
		names = append(names, k.String())
	}
	if got := strings.Join(names, " "); got != "Sound AcceptsInvalidUTF8 WrongCloseCode IgnoresReserved WrongPongPayload NeverClosesTCP" {
		t.Errorf("names %q", got)
	}
	if Kind(99).String() != "Kind(99)" {
		t.Errorf("unknown kind %q", Kind(99).String())
	}
}
