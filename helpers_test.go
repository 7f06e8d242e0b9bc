//go:build !js

package ws

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/frame"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-ch
	if a == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// rawPeer speaks raw frames to a Conn under test, as the other side.
type rawPeer struct {
	t      testing.TB
	nc     net.Conn
	client bool // the peer is a client: it masks what it sends
	p      frame.Parser
	buf    []byte
}

// newRawPair returns a Conn with the given role and a raw peer on the other
// end of a loopback TCP connection.
func newRawPair(t testing.TB, role Role, opts *Options) (*Conn, *rawPeer) {
	t.Helper()
	a, b := tcpPair(t)
	if opts == nil {
		opts = &Options{}
	}
	if opts.CloseTimeout == 0 {
		opts.CloseTimeout = 2 * time.Second
	}
	c := NewConn(a, nil, role, opts)
	peer := &rawPeer{t: t, nc: b, client: role == RoleServer}
	// The peer reads what the Conn sends: masked if the Conn is a client.
	peer.p.Role = frame.Client
	if role == RoleClient {
		peer.p.Role = frame.Server
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, peer
}

// frameBytes encodes a frame as this peer sends it.
func (r *rawPeer) frameBytes(fin bool, op frame.Opcode, payload []byte) []byte {
	return encodeFrame(frame.Header{Fin: fin, Opcode: op, Masked: r.client, Key: [4]byte{0x37, 0xfa, 0x21, 0x3d}}, payload)
}

func encodeFrame(h frame.Header, payload []byte) []byte {
	h.Length = int64(len(payload))
	b := frame.AppendHeader(nil, h)
	start := len(b)
	b = append(b, payload...)
	if h.Masked {
		for i := range payload {
			b[start+i] ^= h.Key[i&3]
		}
	}
	return b
}

func (r *rawPeer) send(fin bool, op frame.Opcode, payload []byte) {
	r.t.Helper()
	r.sendRaw(r.frameBytes(fin, op, payload))
}

func (r *rawPeer) sendRaw(b []byte) {
	r.t.Helper()
	r.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatalf("peer write: %v", err)
	}
}

// next reads the next frame the Conn sent.
func (r *rawPeer) next() (frame.Header, []byte, error) {
	r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var h frame.Header
	var payload []byte
	inFrame := false
	for {
		for len(r.buf) > 0 {
			ev, n, err := r.p.Feed(r.buf)
			if err != nil {
				return h, nil, err
			}
			r.buf = r.buf[n:]
			switch ev.Kind {
			case frame.HeaderEvent:
				h = r.p.Header()
				inFrame = true
				payload = []byte{}
				if ev.FrameEnd {
					return h, payload, nil
				}
			case frame.PayloadEvent:
				for i, c := range ev.Payload {
					if h.Masked {
						c ^= h.Key[(ev.KeyPos+i)&3]
					}
					payload = append(payload, c)
				}
				if ev.FrameEnd {
					return h, payload, nil
				}
			}
		}
		var tmp [4096]byte
		n, err := r.nc.Read(tmp[:])
		r.buf = append(r.buf, tmp[:n]...)
		if n == 0 && err != nil {
			if inFrame {
				err = io.ErrUnexpectedEOF
			}
			return h, nil, err
		}
	}
}

// expectFrame reads the next frame and checks its opcode.
func (r *rawPeer) expectFrame(op frame.Opcode) (frame.Header, []byte) {
	r.t.Helper()
	h, p, err := r.next()
	if err != nil {
		r.t.Fatalf("peer: reading a %v frame: %v", op, err)
	}
	if h.Opcode != op {
		r.t.Fatalf("peer: got a %v frame (%q), want %v", h.Opcode, p, op)
	}
	return h, p
}

// expectClose reads the next frame, checks it is a close with code, and
// returns its reason.
func (r *rawPeer) expectClose(code closecode.Code) string {
	r.t.Helper()
	_, p := r.expectFrame(frame.OpClose)
	got, reason, err := closecode.Parse(p)
	if err != nil {
		r.t.Fatalf("peer: close payload %x: %v", p, err)
	}
	if got != code {
		r.t.Fatalf("peer: close code %d (%q), want %d", got, reason, code)
	}
	return reason
}

// expectEOF checks that the Conn closed the TCP connection.
func (r *rawPeer) expectEOF() {
	r.t.Helper()
	h, p, err := r.next()
	if err == nil {
		r.t.Fatalf("peer: got a %v frame %q, want the connection closed", h.Opcode, p)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		r.t.Fatalf("peer: want EOF, got %v", err)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// closeCodeOf returns the close code an error carries, or 0.
func closeCodeOf(err error) closecode.Code {
	c, _ := closecode.Of(err)
	return c
}

// recConn is an in-memory net.Conn that serves input in fixed-size reads and
// records the writes, for tests that count system calls.
type recConn struct {
	mu      sync.Mutex
	in      []byte
	readMax int
	reads   []int // sizes of the buffers passed to Read
	writes  [][]byte
	closed  bool
	discard bool // count writes without keeping them
	nwrites int
}

func (c *recConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.discard {
		c.reads = append(c.reads, len(p))
	}
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if c.readMax > 0 && n > c.readMax {
		n = c.readMax
	}
	n = copy(p[:n], c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	c.nwrites++
	if c.discard {
		return len(p), nil
	}
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}

func (c *recConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}

func (c *recConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *recConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *recConn) SetDeadline(t time.Time) error      { return nil }
func (c *recConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *recConn) SetWriteDeadline(t time.Time) error { return nil }
