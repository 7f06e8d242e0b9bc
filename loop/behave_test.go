//go:build linux

package loop

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/internal/behave"
	"github.com/rfc6455/ws/wsproto"
)

// recorder is a Handler that records what a behaviour table case wants to
// know.
type recorder struct {
	mu   sync.Mutex
	o    behave.Observed
	done chan struct{}
}

func (r *recorder) OnOpen(*Conn) {}

func (r *recorder) OnMessage(_ *Conn, typ ws.MessageType, data []byte) {
	r.mu.Lock()
	r.o.Messages = append(r.o.Messages, behave.Msg{Type: wsproto.MessageType(typ), Data: bytes.Clone(data)})
	r.mu.Unlock()
}

func (r *recorder) OnPing(_ *Conn, p []byte) {
	r.mu.Lock()
	r.o.Pings = append(r.o.Pings, bytes.Clone(p))
	r.mu.Unlock()
}

func (r *recorder) OnPong(_ *Conn, p []byte) {
	r.mu.Lock()
	r.o.Pongs = append(r.o.Pongs, bytes.Clone(p))
	r.mu.Unlock()
}

func (r *recorder) OnClose(_ *Conn, err error) {
	r.mu.Lock()
	r.o.End = endOf(err)
	r.mu.Unlock()
	close(r.done)
}

// endOf says how a connection ended, from OnClose's error.
func endOf(err error) behave.End {
	var ce *ws.CloseError
	var ab *abnormalError
	switch {
	case errors.As(err, &ce):
		return behave.End{Kind: behave.PeerClose, Code: ce.Code, Reason: ce.Reason}
	case errors.As(err, &ab):
		return behave.End{Kind: behave.Abnormal, Code: closecode.Abnormal}
	}
	if code, ok := closecode.Of(err); ok {
		return behave.End{Kind: behave.Failed, Code: code}
	}
	return behave.End{Kind: behave.Abnormal, Code: closecode.Abnormal}
}

// TestBehaviourTable runs the protocol core's behaviour table (package
// internal/behave) against the event loop, in the server role: each case's
// input is sent after a real handshake over loopback TCP, read by the loop
// in reads of at most split bytes (its read buffer is that small), the
// write side then shut down; what the loop delivers to the Handler and
// writes is compared with the table.
func TestBehaviourTable(t *testing.T) {
	servers := map[int]*Server{}
	addrs := map[int]string{}
	var cur *behave.Case
	var rec *recorder
	var mu sync.Mutex
	for _, split := range behave.Splits {
		s := &Server{
			Handler: handlerFunc(func() Handler {
				mu.Lock()
				defer mu.Unlock()
				return rec
			}),
			testReadSize: split,
			testConfig: func(cfg *wsproto.Config) {
				mu.Lock()
				defer mu.Unlock()
				cfg.ReadLimit = cur.Limit()
				cfg.Compression = nil
				if cur.Compression != nil {
					cfg.Compression = &wsproto.Compression{Params: *cur.Compression}
				}
			},
		}
		s.Options.Compression = &deflate.ServerConfig{}
		servers[split] = s
		addrs[split] = start(t, s)
	}
	behave.Run(t, func(t *testing.T, c behave.Case, split int) behave.Observed {
		if c.Role != wsproto.Server {
			t.Skip("the event loop serves the server role only")
		}
		r := &recorder{done: make(chan struct{})}
		mu.Lock()
		cur, rec = &c, r
		mu.Unlock()
		written := runCase(t, addrs[split], c)
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Fatal("no OnClose")
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.o.Written = written
		return r.o
	})
}

// runCase opens a connection to addr (offering permessage-deflate), sends
// the case's input, shuts the write side down and returns what the server
// wrote after its 101.
func runCase(t *testing.T, addr string, c behave.Case) []byte {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(15 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	go func() {
		nc.Write(c.Input)
		nc.(*net.TCPConn).CloseWrite()
	}()
	out, err := io.ReadAll(br)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reading what the server wrote: %v", err)
	}
	return out
}

// handlerFunc is a Handler that passes each event to the Handler f
// returns at the time.
type handlerFunc func() Handler

func (f handlerFunc) OnOpen(c *Conn)                                   { f().OnOpen(c) }
func (f handlerFunc) OnMessage(c *Conn, t ws.MessageType, data []byte) { f().OnMessage(c, t, data) }
func (f handlerFunc) OnClose(c *Conn, err error)                       { f().OnClose(c, err) }
func (f handlerFunc) OnPing(c *Conn, p []byte)                         { f().(PingHandler).OnPing(c, p) }
func (f handlerFunc) OnPong(c *Conn, p []byte)                         { f().(PongHandler).OnPong(c, p) }
